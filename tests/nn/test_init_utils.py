"""ember.nn.init against torch.nn.init's formulas (sample statistics, bounds, orthogonality,
seeding) and ember.nn.utils against torch.nn.utils (clipped norms and gradients, vectors)."""
import math

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.helpers import DEVICE, TORCH_DEVICE, host

init = nn.init


# ---------------------------------------------------------------- init

@pytest.mark.parametrize('name,param', [('linear', None), ('conv2d', None), ('sigmoid', None),
                                        ('tanh', None), ('relu', None), ('leaky_relu', None),
                                        ('leaky_relu', 0.2), ('leaky_relu', 3), ('selu', None),
                                        ('conv_transpose1d', None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param))


@pytest.mark.parametrize('shape', [(3, 4), (8, 3, 5, 5), (2, 6, 3), (0, 3)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(ember.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_init_argument_errors():
    with pytest.raises(ValueError, match='fewer than 2 dimensions'):
        init.xavier_uniform_(ember.empty(5))
    with pytest.raises(ValueError, match='unsupported nonlinearity'):
        init.calculate_gain('swish')
    with pytest.raises(ValueError, match='not a valid number'):
        init.calculate_gain('leaky_relu', True)
    with pytest.raises(ValueError, match="mode 'fan_avg' not supported"):
        init.kaiming_normal_(ember.empty(3, 3), mode='fan_avg')
    with pytest.raises(ValueError, match='2 or more dimensions'):
        init.orthogonal_(ember.empty(4))
    with pytest.raises(ValueError, match='2 dimensions'):
        init.eye_(ember.empty(2, 2, 2))
    with pytest.warns(UserWarning, match='zero-element'):
        init.kaiming_uniform_(ember.empty(0, 3))


# (function, shape, kwargs, (lower, upper) bounds the samples must respect, or None)
SAMPLERS = [
    ('uniform_', (200, 300), dict(a=-2.0, b=3.0), (-2.0, 3.0)),
    ('normal_', (200, 300), dict(mean=1.0, std=2.0), None),
    ('trunc_normal_', (200, 300), dict(mean=0.5, std=1.0, a=-1.0, b=2.0), (-1.0, 2.0)),
    ('trunc_normal_', (200, 300), dict(std=0.02, a=-0.04, b=0.04), (-0.04, 0.04)),
    ('trunc_normal_', (200, 300), dict(mean=0.0, std=1.0, a=1.0, b=4.0), (1.0, 4.0)),
    ('xavier_uniform_', (64, 32, 3, 3), dict(gain=2.0), 'bound'),
    ('xavier_normal_', (64, 32, 3, 3), dict(gain=0.5), None),
    ('kaiming_uniform_', (64, 32, 3, 3), dict(a=math.sqrt(5)), 'bound'),
    ('kaiming_uniform_', (64, 32, 3, 3), dict(mode='fan_out', nonlinearity='relu'), 'bound'),
    ('kaiming_normal_', (64, 32, 3, 3), dict(mode='fan_out'), None),
    ('kaiming_normal_', (300, 200), dict(a=0.1, nonlinearity='leaky_relu'), None),
]


@pytest.mark.parametrize('name,shape,kw,bounds', SAMPLERS,
                         ids=[f'{s[0]}-{i}' for i, s in enumerate(SAMPLERS)])
def test_sample_statistics_match_torch(name, shape, kw, bounds):
    ember.manual_seed(0)
    torch.manual_seed(0)
    e = getattr(init, name)(ember.empty(*shape), **kw).numpy().astype(np.float64)
    t = getattr(torch.nn.init, name)(torch.empty(*shape), **kw).numpy().astype(np.float64)
    scale = t.std()
    n = e.size
    assert abs(e.mean() - t.mean()) < 6 * scale / math.sqrt(n)
    assert abs(e.std() / t.std() - 1) < 0.02
    if bounds == 'bound':   # uniform inits: the bound is sqrt(3) std, per torch's formula
        b = math.sqrt(3) * scale
        assert np.abs(e).max() <= b * 1.01 and np.abs(e).max() > b * 0.99
    elif bounds is not None:
        assert e.min() >= bounds[0] and e.max() <= bounds[1]
    # two-sample Kolmogorov-Smirnov: the same distribution (0.01 level)
    e, t = np.sort(e.ravel()), np.sort(t.ravel())
    grid = np.concatenate([e, t])
    gap = np.abs(np.searchsorted(e, grid, 'right') - np.searchsorted(t, grid, 'right')) / n
    assert gap.max() < 1.63 * math.sqrt(2 / n)


def test_trunc_normal_erfinv_is_exact():
    y = np.concatenate([np.linspace(-0.999999, 0.999999, 2001), [0.0, 1e-300, -0.5]])
    np.testing.assert_allclose(init._erfinv(y), torch.special.erfinv(torch.tensor(y)).numpy(),
                               rtol=1e-12, atol=1e-14)
    assert init._erfinv(np.array([1.0]))[0] == np.inf


def test_fills_match_torch():
    for name, args in (('constant_', (0.3,)), ('ones_', ()), ('zeros_', ()), ('eye_', ())):
        for shape in ((3, 4), (4, 2)):
            e = getattr(init, name)(ember.full(shape, float('nan')), *args)
            t = getattr(torch.nn.init, name)(torch.full(shape, float('nan')), *args)
            np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize('shape,gain', [((5, 3), 1.0), ((3, 5), 2.0), ((4, 2, 3), 0.5),
                                        ((6, 6), 1.0)])
def test_orthogonal(shape, gain):
    w = init.orthogonal_(ember.empty(*shape), gain=gain).numpy().astype(np.float64)
    flat = w.reshape(shape[0], -1)
    rows, cols = flat.shape
    gram = flat @ flat.T if rows <= cols else flat.T @ flat
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-5)
    # torch gives the same property for the same shape
    tw = torch.nn.init.orthogonal_(torch.empty(*shape), gain=gain).reshape(rows, -1).double()
    tgram = tw @ tw.T if rows <= cols else tw.T @ tw
    np.testing.assert_allclose(tgram.numpy(), gram, atol=1e-5)


def test_seeding_reproduces_and_generator_is_independent():
    fns = [lambda t: init.uniform_(t, -1, 1), init.normal_, init.trunc_normal_,
           init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_]
    for fn in fns:
        ember.manual_seed(7)
        a = fn(ember.empty(4, 5)).numpy().copy()
        ember.manual_seed(7)
        b = fn(ember.empty(4, 5)).numpy().copy()
        ember.manual_seed(8)
        c = fn(ember.empty(4, 5)).numpy().copy()
        assert np.array_equal(a, b) and not np.array_equal(a, c)
    ember.manual_seed(0)
    before = ember.get_rng_state()
    g = ember.Generator().manual_seed(3)
    a = init.normal_(ember.empty(6), generator=g).numpy().copy()
    assert np.array_equal(ember.get_rng_state().numpy(), before.numpy())   # default untouched
    g.manual_seed(3)
    assert np.array_equal(a, init.normal_(ember.empty(6), generator=g).numpy())


def test_init_is_in_place_and_unrecorded():
    p = nn.Parameter(ember.zeros(4, 3))
    for fn in (init.kaiming_uniform_, init.xavier_normal_, init.trunc_normal_,
               init.orthogonal_, init.ones_, init.eye_):
        out = fn(p)
        assert out is p and p.is_leaf and p.requires_grad and p.grad_fn is None
    w = init.uniform_(ember.empty(3, dtype=ember.float64))
    assert w.dtype == ember.float64


# ---------------------------------------------------------------- clip_grad_norm_ and friends

def on_device(a, m):
    """``a`` as a tensor of framework ``m`` (ember or torch) on its test device."""
    return m.tensor(a, device=DEVICE if m is ember else TORCH_DEVICE)


def _params(rng, grads=True):
    """The same parameters and gradients in both frameworks, on the test device."""
    shapes = [(3, 4), (5,), (2, 2, 2)]
    vals = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    gs = [rng.standard_normal(s).astype(np.float32) * 3 for s in shapes]
    pe = [nn.Parameter(on_device(v, ember)) for v in vals]
    pt = [torch.nn.Parameter(on_device(v, torch)) for v in vals]
    for i, (a, b, g) in enumerate(zip(pe, pt, gs)):
        if i != 1 or grads:   # the second parameter has no gradient unless asked
            a.grad, b.grad = on_device(g, ember), on_device(g, torch)
    return pe, pt


@pytest.mark.parametrize('norm_type', [2, 1, math.inf, 'inf', 3.0, 0.5])
@pytest.mark.parametrize('max_norm', [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    pe, pt = _params(np.random.default_rng(0), grads=False)
    ne = nn.utils.clip_grad_norm_(pe, max_norm, norm_type)
    nt = torch.nn.utils.clip_grad_norm_(pt, max_norm, norm_type)
    np.testing.assert_allclose(ne.cpu().numpy(), nt.cpu().numpy(), rtol=1e-5)
    assert ne.ndim == 0 and ne.dtype == ember.float32
    for a, b in zip(pe, pt):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.cpu().numpy(), rtol=1e-5,
                                       atol=1e-7)


def test_clip_grad_norm_single_tensor_empty_and_total_norm():
    pe, pt = _params(np.random.default_rng(1))
    ne = nn.utils.clip_grad_norm_(pe[0], 1.0, foreach=True)
    nt = torch.nn.utils.clip_grad_norm_(pt[0], 1.0, foreach=True)
    np.testing.assert_allclose(ne.cpu().numpy(), nt.cpu().numpy(), rtol=1e-5)
    np.testing.assert_allclose(pe[0].grad.cpu().numpy(), pt[0].grad.cpu().numpy(), rtol=1e-5,
                               atol=1e-7)
    assert nn.utils.clip_grad_norm_([nn.Parameter(ember.ones(2))], 1.0).item() == 0.0
    tot_e = nn.utils.get_total_norm([p.grad for p in pe], 3)
    tot_t = torch.nn.utils.get_total_norm([p.grad for p in pt], 3)
    np.testing.assert_allclose(tot_e.cpu().numpy(), tot_t.cpu().numpy(), rtol=1e-5)


@pytest.mark.filterwarnings('ignore:invalid value:RuntimeWarning')   # inf * 0, as in torch
@pytest.mark.parametrize('bad', [math.inf, math.nan])
@pytest.mark.parametrize('norm_type', [2, 1, math.inf])
def test_clip_grad_norm_non_finite(bad, norm_type):
    pe, pt = _params(np.random.default_rng(2))
    for p, m in zip((pe[0], pt[0]), (ember, torch)):
        g = p.grad.cpu().numpy().copy()
        g[0, 0] = bad
        p.grad = on_device(g, m)
    with pytest.raises(RuntimeError, match='non-finite'):
        torch.nn.utils.clip_grad_norm_(pt, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match=f'The total norm of order {float(norm_type)} for '
                                           f'gradients from `parameters` is non-finite'):
        nn.utils.clip_grad_norm_(pe, 1.0, norm_type, error_if_nonfinite=True)
    for a, b in zip(pe, pt):   # raising leaves the gradients alone
        np.testing.assert_array_equal(a.grad.cpu().numpy(), b.grad.cpu().numpy())
    ne = nn.utils.clip_grad_norm_(pe, 1.0, norm_type)
    nt = torch.nn.utils.clip_grad_norm_(pt, 1.0, norm_type)
    np.testing.assert_array_equal(ne.cpu().numpy(), nt.cpu().numpy())
    for a, b in zip(pe, pt):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.cpu().numpy(), rtol=1e-6,
                                   equal_nan=True)


def test_clip_grad_value_matches_torch():
    pe, pt = _params(np.random.default_rng(3), grads=False)
    assert nn.utils.clip_grad_value_(pe, 0.7) is None
    torch.nn.utils.clip_grad_value_(pt, 0.7)
    for a, b in zip(pe, pt):
        if b.grad is not None:
            np.testing.assert_array_equal(a.grad.cpu().numpy(), b.grad.cpu().numpy())


def test_parameters_to_vector_round_trip_matches_torch():
    pe, pt = _params(np.random.default_rng(4))
    ve = nn.utils.parameters_to_vector(pe)
    vt = torch.nn.utils.parameters_to_vector(pt)
    np.testing.assert_array_equal(host(ve), host(vt))
    new = np.arange(ve.numel(), dtype=np.float32)
    nn.utils.vector_to_parameters(on_device(new, ember), pe)
    torch.nn.utils.vector_to_parameters(on_device(new, torch), pt)
    for a, b in zip(pe, pt):
        np.testing.assert_array_equal(host(a), host(b))
        assert a.is_leaf and a.requires_grad
    with pytest.raises(RuntimeError, match='1-D vector of 25 elements'):
        nn.utils.vector_to_parameters(ember.zeros(24, device=DEVICE), pe)
    # a gradient flows from the vector to the parameters
    for p in pe:
        p.grad = None
    ve = nn.utils.parameters_to_vector(pe)
    (ve * 2).sum().backward()
    assert np.all(pe[0].grad.cpu().numpy() == 2)
