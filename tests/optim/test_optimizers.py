"""RMSprop, Adagrad, Adadelta, LBFGS (and SGD/Adam in groups) against torch."""
import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.helpers import DEVICE, TORCH_DEVICE, host, ulp_spread

SHAPES = [(5,), (2, 3), (4,), (), (0,)]


def on_device(a, m):
    """``a`` as a tensor of framework ``m`` (ember or torch) on its test device."""
    return m.tensor(a, device=DEVICE if m is ember else TORCH_DEVICE)


def _params(m, dtype=np.float32):
    rng = np.random.default_rng(0)
    ws = [on_device(rng.standard_normal(s).astype(dtype), m) for s in SHAPES]
    return [nn.Parameter(w) if m is ember else torch.nn.Parameter(w) for w in ws]


def _targets():
    rng = np.random.default_rng(1)
    return [rng.standard_normal(s).astype(np.float32) for s in SHAPES]


def _one_group(ps):
    return ps


def _two_groups(ps):   # the first group overrides lr; the second keeps the defaults
    return [{'params': ps[:1], 'lr': 0.003}, {'params': ps[1:]}]


def _train(m, ps, opt, steps, sign=1):
    targets = [on_device(t, m) for t in _targets()]
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(((w - t) ** 4).sum() + (w * t).sum() for w, t in zip(ps, targets))
        (sign * loss).backward()
        opt.step()


def _compare(name, kw, groups=_one_group, steps=50):
    pe, pt = _params(ember), _params(torch)
    sign = -1 if kw.get('maximize') else 1   # maximize -loss: a bounded problem
    oe = getattr(ember.optim, name)(groups(pe), **kw)
    ot = getattr(torch.optim, name)(groups(pt), **kw)
    _train(ember, pe, oe, steps, sign)
    _train(torch, pt, ot, steps, sign)
    for a, b in zip(pe, pt):
        np.testing.assert_allclose(host(a), host(b), rtol=2e-5, atol=2e-6)
        assert set(oe.state[id(a)]) == set(ot.state[b])   # torch's names for the state


CASES = [
    ('RMSprop', dict(lr=0.01)),
    ('RMSprop', dict(lr=0.01, alpha=0.9, momentum=0.9)),
    ('RMSprop', dict(lr=0.01, centered=True)),
    ('RMSprop', dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-6)),
    ('RMSprop', dict(lr=0.01, maximize=True, momentum=0.3)),
    ('Adagrad', dict(lr=0.1)),
    ('Adagrad', dict(lr=0.1, lr_decay=0.05, weight_decay=0.1)),
    ('Adagrad', dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ('Adagrad', dict(lr=0.05, maximize=True)),
    ('Adadelta', dict()),
    ('Adadelta', dict(lr=0.5, rho=0.95, eps=1e-5)),
    ('Adadelta', dict(lr=1.0, weight_decay=0.1)),
    ('Adadelta', dict(maximize=True)),
    ('SGD', dict(lr=0.01, momentum=0.9, weight_decay=0.1, maximize=True)),
    ('Adam', dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ('AdamW', dict(lr=0.01, amsgrad=True, maximize=True)),
]


@pytest.mark.parametrize('name,kw', CASES, ids=[f'{n}-{i}' for i, (n, _) in enumerate(CASES)])
def test_matches_torch(name, kw):
    _compare(name, kw)


@pytest.mark.parametrize('kw', [dict(lr=0.01), dict(lr=0.01, amsgrad=True, weight_decay=0.1),
                                dict(lr=0.01, weight_decay=0.1, decoupled=True)],
                         ids=['plain', 'amsgrad-l2', 'adamw'])
def test_adam_on_large_parameters_matches_torch(kw):
    """Parameters past Adam's cache block (65,536 elements: updated blockwise on the CPU, the
    last block partial) beside a small one (updated whole)."""
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((300, 250)).astype(np.float32),
              rng.standard_normal((260, 270)).astype(np.float32).T, rng.standard_normal(7)]
    decoupled = kw.pop('decoupled', False)
    out = []
    for m in (ember, torch):
        ps = [(nn.Parameter if m is ember else torch.nn.Parameter)(on_device(a, m))
              for a in arrays]
        opt = (m.optim.AdamW if decoupled else m.optim.Adam)(ps, **kw)
        for step in range(3):
            opt.zero_grad()
            sum(((w - 0.5) ** 2 * (w.abs() + step)).sum() for w in ps).backward()
            opt.step()
        out.append([host(w) for w in ps])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_adam_on_many_parameters_matches_torch():
    """More parameters than one GPU kernel takes (``backend.cuda.SLOTS``: the queued updates
    go in several launches), in two groups with their own lr and weight decay, of two dtypes
    and shapes from 0-d to 3-d and empty, one with no gradient (skipped), one transposed (not
    contiguous: updated alone), over steps where a parameter joins late (its own step count).
    The moments too, as the state dicts hold them."""
    rng = np.random.default_rng(3)
    shapes = [(), (0,), (3,), (4, 5), (2, 3, 4)] * 8
    arrays = [rng.standard_normal(s).astype(np.float32 if i % 3 else np.float64)
              for i, s in enumerate(shapes)]
    arrays[7] = rng.standard_normal((5, 4)).astype(np.float32).T
    out = []
    for m in (ember, torch):
        ps = [(nn.Parameter if m is ember else torch.nn.Parameter)(on_device(a, m))
              for a in arrays]
        opt = m.optim.AdamW([{'params': ps[:23], 'lr': 0.02},
                             {'params': ps[23:], 'weight_decay': 0.1}], lr=0.01)
        for step in range(3):
            opt.zero_grad()
            used = [w for i, w in enumerate(ps) if i != 5 and (i != 11 or step > 0)]
            sum(((w - 0.5) ** 2 * (w.abs() + step)).sum() for w in used).backward()
            opt.step()
        state = opt.state_dict()['state']
        out.append([host(w) for w in ps] + [host(state[i][k]) for i in range(len(ps))
                                             if i != 5 for k in ('exp_avg', 'exp_avg_sq')])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize('kw', [dict(lr=0.05), dict(lr=0.02, momentum=0.5, dampening=0.3),
                                dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=0.1),
                                dict(lr=0.02, momentum=0.9, maximize=True)],
                         ids=['plain', 'dampening', 'nesterov-decay', 'maximize'])
def test_sgd_on_many_parameters_matches_torch(kw):
    """SGD's variants on more parameters than one GPU kernel takes (``backend.cuda.SLOTS``),
    of two dtypes and shapes from 0-d to 3-d and empty, one transposed (not contiguous:
    updated alone) and one that joins late (its momentum buffer made while the others'
    exist), over four steps: the parameters and momentum buffers as torch's."""
    rng = np.random.default_rng(5)
    shapes = [(), (0,), (3,), (4, 5), (2, 3, 4)] * 4
    arrays = [rng.standard_normal(s).astype(np.float32 if i % 3 else np.float64)
              for i, s in enumerate(shapes)]
    arrays[8] = rng.standard_normal((5, 4)).astype(np.float32).T
    sign = -1 if kw.get('maximize') else 1
    out = []
    for m in (ember, torch):
        ps = [(nn.Parameter if m is ember else torch.nn.Parameter)(on_device(a, m))
              for a in arrays]
        opt = m.optim.SGD(ps, **kw)
        for step in range(4):
            opt.zero_grad()
            used = [w for i, w in enumerate(ps) if i != 6 or step > 1]
            (sign * sum(((w - 0.5) ** 2 * (w.abs() + step)).sum() for w in used)).backward()
            opt.step()
        state = opt.state_dict()['state']
        out.append([host(w) for w in ps] + [host(state[i]['momentum_buffer']) for i in
                                             range(len(ps)) if kw.get('momentum')])
    assert len(out[0]) == len(out[1])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_adam_on_half_parameters_matches_torch(dtype):
    """float16 and bfloat16 parameters with their moments in their own dtype (on the GPU one
    ElementwiseKernel for many parameters; float32 ones take a RawKernel): three AdamW steps
    as torch's in that dtype, within its rounding. (In both, eps = 1e-8 is zero in float16:
    a zero gradient gives nan there, so the gradients here are not.)"""
    if getattr(ember, dtype) is None:
        pytest.skip('bfloat16 needs ml_dtypes')
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(3,), (4, 5), (2, 3, 4)] * 3]
    out = []
    for m in (ember, torch):
        ws = [(nn.Parameter if m is ember else torch.nn.Parameter)(
            on_device(a, m).to(getattr(m, dtype))) for a in arrays]
        opt = m.optim.AdamW(ws, lr=0.01, weight_decay=0.1)
        for step in range(3):
            opt.zero_grad()
            sum(((w - 3.0) ** 2 * (step + 1)).sum() for w in ws).backward()
            opt.step()
        assert all(w.dtype == getattr(m, dtype) for w in ws)
        out.append([host(w.float()) for w in ws])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, *((4e-3, 1e-3) if dtype == 'float16' else (3e-2, 1e-2)))


@pytest.mark.parametrize('name,kw', [('RMSprop', dict(lr=0.01, momentum=0.9, centered=True)),
                                     ('Adagrad', dict(lr=0.1, lr_decay=0.01)),
                                     ('Adadelta', dict(lr=1.0, weight_decay=0.01)),
                                     ('SGD', dict(lr=0.01, momentum=0.9)),
                                     ('Adam', dict(lr=0.01))])
def test_param_groups_match_torch(name, kw):
    _compare(name, kw, groups=_two_groups)


@pytest.mark.parametrize('name,kw', [('RMSprop', dict(lr=0.01, momentum=0.9, centered=True)),
                                     ('Adagrad', dict(lr=0.1, lr_decay=0.01)),
                                     ('Adadelta', dict(lr=1.0))])
def test_state_dict_round_trip_continues_identically(name, kw):
    make = getattr(ember.optim, name)
    p1 = _params(ember)
    o1 = make(_two_groups(p1), **kw)
    _train(ember, p1, o1, 5)
    sd = o1.state_dict()
    assert all(isinstance(v, ember.Tensor) for st in sd['state'].values() for v in st.values()
               if not isinstance(v, (int, float)))
    p2 = _params(ember)
    for a, b in zip(p1, p2):
        b._data[...] = a._data
    o2 = make(_two_groups(p2), **dict(kw, lr=123.0))
    o2.load_state_dict(sd)
    assert [g['lr'] for g in o2.param_groups] == [0.003, kw['lr']]
    _train(ember, p1, o1, 5)
    _train(ember, p2, o2, 5)
    for a, b in zip(p1, p2):
        assert np.array_equal(host(a), host(b))


@pytest.mark.parametrize('name,kw', [('RMSprop', dict(lr=-1)), ('RMSprop', dict(momentum=-1)),
                                     ('Adagrad', dict(lr_decay=-1)),
                                     ('Adagrad', dict(initial_accumulator_value=-1)),
                                     ('Adadelta', dict(rho=1.5)), ('LBFGS', dict(lr=-1)),
                                     ('LBFGS', dict(line_search_fn='armijo'))])
def test_invalid_arguments(name, kw):
    with pytest.raises(ValueError, match=name):
        getattr(ember.optim, name)([nn.Parameter(ember.zeros(2))], **kw)


# ---- L-BFGS, in float64 on a Rosenbrock function of two parameters ----

X0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.3, -0.7, 0.4], dtype=np.float64)


def _rosenbrock(m, ps):
    x = m.cat([p.reshape(-1) for p in ps])
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _rosenbrock_numpy(x):
    r = x[1:] - x[:-1] ** 2
    g = np.zeros_like(x)
    g[1:] += 200 * r
    g[:-1] += -400 * r * x[:-1] - 2 * (1 - x[:-1])
    return (100 * r ** 2 + (1 - x[:-1]) ** 2).sum(), g


def _lbfgs_setup(m, kw):
    params = [on_device(X0[:4].reshape(2, 2).copy(), m), on_device(X0[4:].copy(), m)]
    params = [nn.Parameter(p) if m is ember else torch.nn.Parameter(p) for p in params]
    return params, m.optim.LBFGS(params, **kw)


def _lbfgs_steps(m, params, opt, steps, exact=False):
    """``exact``: loss and gradient from NumPy, the same bits for ember and torch, so that
    only the algorithm is compared; else through autograd."""
    def closure():
        if exact:
            x = np.concatenate([host(p).ravel() for p in params])
            f, g = _rosenbrock_numpy(x)
            params[0].grad = on_device(g[:4].reshape(2, 2), m)
            params[1].grad = on_device(g[4:], m)
            return on_device(f, m)
        opt.zero_grad()
        loss = _rosenbrock(m, params)
        loss.backward()
        return loss
    return [opt.step(closure).item() for _ in range(steps)]


LBFGS_CASES = [dict(lr=0.1), dict(lr=0.5, max_iter=7, history_size=3),
               dict(line_search_fn='strong_wolfe'),
               dict(line_search_fn='strong_wolfe', max_iter=6, history_size=4),
               dict(line_search_fn='strong_wolfe', lr=0.5, max_iter=8),
               dict(line_search_fn='strong_wolfe', max_iter=10, max_eval=12)]


def _lbfgs_run(m, kw, x0, steps=5, exact=True):
    """The losses and the parameters after ``steps`` L-BFGS steps from ``x0``, as one array,
    and the optimizer's state."""
    global X0
    saved, X0 = X0, x0
    try:
        params, opt = _lbfgs_setup(m, kw)
    finally:
        X0 = saved
    losses = _lbfgs_steps(m, params, opt, steps, exact=exact)
    state = opt.state[id(params[0])] if m is ember else opt.state[params[0]]
    return np.concatenate([losses] + [host(p).ravel() for p in params]), state


@pytest.mark.parametrize('kw', LBFGS_CASES)
def test_lbfgs_matches_torch(kw):
    # NOTE: NumPy's and torch's dot products and sums round differently in the last bit (and
    # NumPy's differ between OpenBLAS's kernels for each CPU), and Rosenbrock's valley
    # amplifies that by up to 1e10. The tolerance is that amplification, measured: how far
    # ember's own result moves when the start moves by one ulp (tests/helpers.py), times 4.
    # With the same number of evaluations and iterations, which rounding cannot change.
    e, se = _lbfgs_run(ember, kw, X0)
    t, st = _lbfgs_run(torch, kw, X0)
    spread = ulp_spread(lambda x: _lbfgs_run(ember, kw, x)[0], X0)
    bound = 4 * spread + 8 * np.finfo(np.float64).eps * np.abs(t)
    assert (np.abs(e - t) <= bound).all(), (np.abs(e - t), bound)
    assert (se['func_evals'], se['n_iter']) == (st['func_evals'], st['n_iter'])
    assert len(se['old_dirs']) == len(st['old_dirs'])


def test_lbfgs_through_autograd_matches_torch():
    kw = dict(line_search_fn='strong_wolfe', max_iter=6)
    e, _ = _lbfgs_run(ember, kw, X0, 3, exact=False)
    t, _ = _lbfgs_run(torch, kw, X0, 3, exact=False)
    spread = ulp_spread(lambda x: _lbfgs_run(ember, kw, x, 3, exact=False)[0], X0)
    bound = 4 * spread + 8 * np.finfo(np.float64).eps * np.abs(t)
    assert (np.abs(e - t) <= bound).all(), (np.abs(e - t), bound)


def test_lbfgs_converges_with_strong_wolfe():
    params, opt = _lbfgs_setup(ember, dict(line_search_fn='strong_wolfe'))
    _lbfgs_steps(ember, params, opt, 10)
    assert _rosenbrock(ember, params).item() < 1e-8
    np.testing.assert_allclose(np.concatenate([host(p).reshape(-1) for p in params]), 1.0,
                               atol=1e-4)


@pytest.mark.parametrize('kw', [dict(history_size=3, max_iter=6),
                                dict(line_search_fn='strong_wolfe', max_iter=4)])
def test_lbfgs_state_dict_round_trip(kw):
    p1, o1 = _lbfgs_setup(ember, kw)
    _lbfgs_steps(ember, p1, o1, 2)
    sd = o1.state_dict()
    assert isinstance(sd['state'][0]['old_dirs'][0], ember.Tensor)
    p2, o2 = _lbfgs_setup(ember, kw)
    for a, b in zip(p1, p2):
        b._data[...] = a._data
    o2.load_state_dict(sd)
    assert _lbfgs_steps(ember, p1, o1, 3) == _lbfgs_steps(ember, p2, o2, 3)
    for a, b in zip(p1, p2):
        assert np.array_equal(host(a), host(b))


def test_lbfgs_needs_a_closure_and_one_group():
    w = nn.Parameter(ember.zeros(2))
    with pytest.raises(TypeError, match='LBFGS.*closure'):
        ember.optim.LBFGS([w]).step()
    with pytest.raises(ValueError, match='LBFGS'):
        ember.optim.LBFGS([{'params': [w]}, {'params': [nn.Parameter(ember.zeros(1))]}])


def test_lbfgs_stops_at_an_optimum_without_moving():
    w = nn.Parameter(ember.ones(3))
    opt = ember.optim.LBFGS([w])

    def closure():
        opt.zero_grad()
        loss = ((w - 1) ** 2).sum()
        loss.backward()
        return loss
    assert opt.step(closure).item() == 0 and np.array_equal(w._data, np.ones(3))
