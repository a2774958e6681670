"""Transforms (ember.distributions' and torch's): the forward map, the inverse, the log-Jacobian,
the shapes, and their gradients against torch's in float64; the log-Jacobian against the
determinant of a finite-difference Jacobian (an independent check); second order by finite
differences; TransformedDistributions built on them against torch's (log_prob, shapes,
rsample's gradients); samples through them as samples (Kolmogorov-Smirnov against torch's
Weibull and HalfNormal cdfs, which fails for a wrong parameter)."""
import math

import numpy as np
import pytest
import torch

import ember
import ember.distributions as ED
import torch.distributions as TD
from tests.test_distributions import KS_C, RTOL, _ks_stat, close

rng = np.random.default_rng(20261210)
B = (3, 4)
_X = rng.standard_normal(B)
_POS = rng.uniform(0.3, 2.5, B)
_EXP = rng.uniform(-2.0, 2.0, B)
_MAT = rng.standard_normal((2, 3, 3))
_LOC, _SCALE = rng.standard_normal(B), rng.uniform(0.5, 2.0, B)

# name: (make(D, params), params, input x (float64), has a log-Jacobian)
CASES = {
    'Exp': (lambda D, p: D.ExpTransform(), {}, _X, True),
    'Affine_tensor': (lambda D, p: D.AffineTransform(p['loc'], p['scale']),
                      dict(loc=_LOC, scale=_SCALE), _X, True),
    'Affine_event': (lambda D, p: D.AffineTransform(p['loc'], p['scale'], event_dim=1),
                     dict(loc=_LOC, scale=-_SCALE), _X, True),
    'Sigmoid': (lambda D, p: D.SigmoidTransform(), {}, _X, True),
    'Tanh': (lambda D, p: D.TanhTransform(), {}, _X * 0.5, True),
    'Power': (lambda D, p: D.PowerTransform(p['exponent']), dict(exponent=_EXP), _POS, True),
    'Softplus': (lambda D, p: D.SoftplusTransform(), {}, _X, True),
    'Abs': (lambda D, p: D.AbsTransform(), {}, _X, False),
    'Softmax': (lambda D, p: D.SoftmaxTransform(), {}, _X, False),
    'StickBreaking': (lambda D, p: D.StickBreakingTransform(), {}, _X, True),
    'LowerCholesky': (lambda D, p: D.LowerCholeskyTransform(), {}, _MAT, False),
    'PositiveDefinite': (lambda D, p: D.PositiveDefiniteTransform(), {}, _MAT, False),
    'Independent': (lambda D, p: D.IndependentTransform(D.AffineTransform(p['loc'], 2.0), 1),
                    dict(loc=_LOC), _X, True),
    'Compose': (lambda D, p: D.ComposeTransform([D.AffineTransform(p['loc'], p['scale']),
                                                 D.ExpTransform(),
                                                 D.PowerTransform(p['exponent'])]),
                dict(loc=_LOC, scale=_SCALE, exponent=_EXP), _X * 0.3, True),
    'Compose_simplex': (lambda D, p: D.ComposeTransform([D.AffineTransform(p['loc'], 0.5),
                                                         D.StickBreakingTransform()]),
                        dict(loc=_LOC), _X, True),
    'CDF': (lambda D, p: D.CumulativeDistributionTransform(D.Normal(p['loc'], p['scale'])),
            dict(loc=_LOC, scale=_SCALE), _X, True),
    'Inverse_StickBreaking': (lambda D, p: D.StickBreakingTransform().inv, {},
                              rng.dirichlet(np.ones(5), 3), True),
}


def build(name):
    make, params, x, jac = CASES[name]
    ep = {k: ember.tensor(v, requires_grad=True) for k, v in params.items()}
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    return (make(ED, ep), ep, ember.tensor(x, requires_grad=True), make(TD, tp), tp,
            torch.tensor(x, requires_grad=True), jac)


def _grad(out, wrt, mod):
    w = np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape))
    s = (out * mod.tensor(w)).sum()
    return (torch.autograd.grad if mod is torch else ember.autograd.grad)(
        s, wrt, allow_unused=True, retain_graph=True)


@pytest.mark.parametrize('name', CASES)
def test_transform_against_torch(name):
    et, ep, ex, tt, tp, tx, jac = build(name)
    assert et.event_dim == tt.domain.event_dim == tt.codomain.event_dim
    assert et.bijective == tt.bijective
    shape = tuple(tx.shape)
    assert tuple(et.forward_shape(shape)) == tuple(tt.forward_shape(shape))
    ey, ty = et(ex), tt(tx)
    close(ey, ty, f'{name} forward')
    assert tuple(et.inverse_shape(tuple(ty.shape))) == tuple(tt.inverse_shape(ty.shape))
    close(et.inv(ey), tt.inv(ty), f'{name} inverse')
    outs = [(ey, ty, 'forward'), (et.inv(ey.detach()), tt.inv(ty.detach()), 'inverse')]
    if jac:
        outs.append((et.log_abs_det_jacobian(ex, ey), tt.log_abs_det_jacobian(tx, ty),
                     'log_abs_det_jacobian'))
        close(*outs[-1][:2], f'{name} log_abs_det_jacobian')
    else:
        with pytest.raises(NotImplementedError):
            tt.log_abs_det_jacobian(tx, ty)
        with pytest.raises(NotImplementedError):
            et.log_abs_det_jacobian(ex, ey)
    keys = list(ep)
    for e, t, what in outs:
        if not t.requires_grad:
            continue
        te = [tx] + [tp[k] for k in keys] if what != 'inverse' else [tp[k] for k in keys]
        ee = [ex] + [ep[k] for k in keys] if what != 'inverse' else [ep[k] for k in keys]
        for a, b in zip(_grad(e, ee, ember), _grad(t, te, torch)):
            if b is None:
                assert a is None or not np.any(a.numpy()), f'{name} {what}'
            else:
                close(a, b, f'{name} {what}: gradient')


JACOBIAN = ['Exp', 'Affine_tensor', 'Sigmoid', 'Tanh', 'Power', 'Softplus', 'StickBreaking',
            'Compose', 'Compose_simplex', 'CDF']


@pytest.mark.parametrize('name', JACOBIAN)
def test_log_abs_det_jacobian_by_finite_differences(name):
    """log |det dy/dx| from central differences: per element, or per row for the vector
    transforms (a square Jacobian: StickBreaking's y without its last coordinate, which the
    others fix), each coordinate moved in every row at once (the rows are independent)."""
    et = build(name)[0]
    x = CASES[name][2]
    n = x.shape[-1]

    def f(v):
        return et(ember.tensor(v)).detach().numpy()[..., :n]

    h = 1e-6
    xe = ember.tensor(x)
    got = et.log_abs_det_jacobian(xe, et(xe)).detach().numpy()
    if et.event_dim == 0:
        want = np.log(np.abs((f(x + h) - f(x - h)) / (2 * h)))
    else:
        cols = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(n)]
        want = np.log(np.abs(np.linalg.det(np.stack(cols, -1))))
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize('name', ['Power', 'StickBreaking', 'Softplus', 'LowerCholesky',
                                  'PositiveDefinite', 'Compose_simplex'])
def test_second_order(name):
    make, params, x, jac = CASES[name]
    keys = list(params)
    inputs = (ember.tensor(x, requires_grad=True),) + tuple(
        ember.tensor(params[k], requires_grad=True) for k in keys)

    def f(xx, *ps):
        t = make(ED, dict(zip(keys, ps)))
        y = t(xx)
        return (y, t.log_abs_det_jacobian(xx, y)) if jac else y

    assert ember.autograd.gradgradcheck(f, inputs, atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------- TransformedDistribution

DISTS = {
    'Power': (lambda D, p: D.TransformedDistribution(D.Exponential(p['rate']),
                                                     [D.PowerTransform(p['exponent'])]),
              dict(rate=_SCALE, exponent=_EXP), _POS),
    'Softplus': (lambda D, p: D.TransformedDistribution(D.Normal(p['loc'], p['scale']),
                                                        D.SoftplusTransform()),
                 dict(loc=_LOC, scale=_SCALE), _POS),
    'StickBreaking': (lambda D, p: D.TransformedDistribution(
        D.Normal(p['loc'], p['scale']), [D.StickBreakingTransform()]),
        dict(loc=_LOC, scale=_SCALE), rng.dirichlet(np.ones(5), 3)),
    'Affine_broadcast': (lambda D, p: D.TransformedDistribution(
        D.Normal(p['loc'], 1.0), [D.AffineTransform(0.5, p['scale'])]),
        dict(loc=_LOC[0], scale=_SCALE), _X),
    'Independent': (lambda D, p: D.TransformedDistribution(
        D.Normal(p['loc'], p['scale']), [D.IndependentTransform(D.ExpTransform(), 1)]),
        dict(loc=_LOC, scale=_SCALE), _POS),
}


@pytest.mark.parametrize('name', DISTS)
def test_transformed_distribution(name):
    make, params, value = DISTS[name]
    ep = {k: ember.tensor(v, requires_grad=True) for k, v in params.items()}
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    ed, td = make(ED, ep), make(TD, tp)
    assert (tuple(ed.batch_shape), tuple(ed.event_shape)) == (tuple(td.batch_shape),
                                                              tuple(td.event_shape))
    assert ed.has_rsample == td.has_rsample
    assert ed.support.event_dim == td.support.event_dim
    for shape in [(), (2,)]:
        s = ed.rsample(shape)
        assert tuple(s.shape) == tuple(td.rsample(shape).shape) and s.requires_grad
        assert bool(ed.support.check(s.detach()).all())
    e, t = ed.log_prob(ember.tensor(value)), td.log_prob(torch.tensor(value))
    close(e, t, f'{name} log_prob')
    keys = list(ep)
    for a, b in zip(_grad(e, [ep[k] for k in keys], ember), _grad(t, [tp[k] for k in keys],
                                                                   torch)):
        close(a, b, f'{name} log_prob: gradient', rtol=RTOL)

    def draw(*ts):
        ember.manual_seed(13)
        return make(ED, dict(zip(keys, ts))).rsample((2,))

    inputs = tuple(ember.tensor(params[k], requires_grad=True) for k in keys)
    assert ember.autograd.gradcheck(draw, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


N = 20000
GOF = [('Weibull', lambda D, c: D.TransformedDistribution(
    D.Exponential(1.0), [D.PowerTransform(ember.tensor(1 / c)), D.AffineTransform(0.0, 1.7)]),
    lambda x, c: TD.Weibull(1.7, c).cdf(torch.tensor(x)).numpy(), 1.5, 1.65),
       ('HalfNormal', lambda D, s: D.TransformedDistribution(D.Normal(0.0, s),
                                                             D.AbsTransform()),
        lambda x, s: TD.HalfNormal(s).cdf(torch.tensor(x)).numpy(), 1.3, 1.43)]


@pytest.mark.parametrize('name, make, cdf, good, wrong', GOF, ids=[g[0] for g in GOF])
def test_samples_goodness_of_fit(name, make, cdf, good, wrong):
    """Kolmogorov-Smirnov at 1 - 1e-4 against torch's cdf of the same distribution, which
    the cdf with a parameter 10% off fails."""
    ember.manual_seed(77)
    x = make(ED, good).sample((N,)).numpy().astype(np.float64)
    assert _ks_stat(cdf(x, good)) < KS_C / math.sqrt(N)
    assert _ks_stat(cdf(x, wrong)) > KS_C / math.sqrt(N)


def test_errors():
    for D in (ED, TD):
        with pytest.raises(ValueError, match='(?i)too few dimensions'):
            D.StickBreakingTransform().forward_shape(())
        with pytest.raises(ValueError, match='at least 1'):
            D.TransformedDistribution(D.Normal(0.0, 1.0), [D.StickBreakingTransform()])
    with pytest.raises(TypeError, match='IndependentTransform'):
        ED.IndependentTransform(ED.Normal(0.0, 1.0), 1)
    from ember.distributions.constraint_registry import ConstraintRegistry
    from torch.distributions.constraint_registry import ConstraintRegistry as TRegistry
    for reg in (ConstraintRegistry(), TRegistry()):
        with pytest.raises(TypeError, match='Expected constraint to be either'):
            reg.register(3, lambda c: None)
    reg = ConstraintRegistry()
    reg.register(ED.constraints.positive)(lambda c: ED.ExpTransform())
    assert reg(ED.constraints.greater_than(1.0)) == ED.ExpTransform()   # (by type, as torch)


# ---------------------------------------------------------------- biject_to, transform_to

def _constraints(C):
    return [('real', C.real, (3, 4)), ('positive', C.positive, (3, 4)),
            ('nonnegative', C.nonnegative, (3, 4)),
            ('greater_than', C.greater_than(2.0), (3, 4)),
            ('less_than', C.less_than(-1.0), (3, 4)),
            ('unit_interval', C.unit_interval, (3, 4)),
            ('interval', C.interval(-1.0, 3.0), (3, 4)),
            ('half_open_interval', C.half_open_interval(0.0, 2.0), (3, 4)),
            ('simplex', C.simplex, (3, 4)), ('real_vector', C.real_vector, (3, 4)),
            ('independent_positive', C.independent(C.positive, 1), (3, 4)),
            ('lower_cholesky', C.lower_cholesky, (2, 3, 3)),
            ('positive_definite', C.positive_definite, (2, 3, 3))]


@pytest.mark.parametrize('i', range(13), ids=[c[0] for c in _constraints(TD.constraints)])
@pytest.mark.parametrize('which', ['biject_to', 'transform_to'])
def test_constraint_registry(i, which):
    """The same transform as torch's (its type and numbers: forward, log-Jacobian), onto
    values that satisfy the constraint; where torch has none, the same error."""
    name, tc, shape = _constraints(TD.constraints)[i]
    ec = _constraints(ED.constraints)[i][1]
    x = np.random.default_rng(i).standard_normal(shape)
    try:
        tt = getattr(TD, which)(tc)
    except NotImplementedError as err:
        with pytest.raises(NotImplementedError, match=str(err).replace('_', '_?')):
            getattr(ED, which)(ec)
        return
    et = getattr(ED, which)(ec)
    assert type(et).__name__ == type(tt).__name__, name
    ey, ty = et(ember.tensor(x)), tt(torch.tensor(x))
    close(ey, ty, f'{which}({name})')
    assert bool(ec.check(ey).all()), name
    if tt.bijective:
        close(et.log_abs_det_jacobian(ember.tensor(x), ey),
              tt.log_abs_det_jacobian(torch.tensor(x), ty), f'{which}({name}) Jacobian')
    assert ED.identity_transform(ember.tensor(x)).tolist() == x.tolist()
