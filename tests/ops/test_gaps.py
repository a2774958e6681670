"""The ops docs/differences.md listed as missing, against PyTorch: scatter_reduce (and
scatter's reduce=), nansum, nanmean, rot90, bernoulli, norm(p='nuc'), finfo/iinfo,
set_printoptions and ember.device as a context manager."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import NC, Case, make_tests

# torch warns that scatter's reduce= is deprecated (scatter_reduce replaces it)
pytestmark = pytest.mark.filterwarnings('ignore:The reduce argument of torch.scatter')

REDUCES = ('sum', 'prod', 'mean', 'amax', 'amin')
SCATTER_SHAPES = [((3, 4), (3, 6), (3, 6)), ((), (), ()), ((0, 3), (0, 2), (0, 2)),
                  ((2, 3, 4), (2, 3, 5), (2, 3, 5)), (NC((4, 3)), (4, 2), (4, 2))]


def floats(rng, shape, dtype):
    a = rng.uniform(-2, 2, tuple(shape)[::-1] if isinstance(shape, NC) else tuple(shape))
    return a.astype(dtype).T if isinstance(shape, NC) else a.astype(dtype)


def make_scatter(rng, shapes, dtype):
    """x, an index with repeats along the last dim (into x's last dim), and src."""
    x, index, src = shapes
    n = tuple(x)[-1] if len(tuple(x)) else 1
    return [floats(rng, x, dtype), rng.integers(0, n, tuple(index)), floats(rng, src, dtype)]


def make_ints(rng, shapes, dtype):
    x, index, src = make_scatter(rng, shapes, dtype)
    return [rng.integers(-9, 9, x.shape), index, rng.integers(-9, 9, src.shape)]


def with_nans(rng, shapes, dtype):
    a = floats(rng, shapes[0], dtype)
    a[rng.random(a.shape) < 0.3] = np.nan
    return [a]


def reduce_case(reduce, include_self):
    return Case(f'scatter_reduce_{reduce}_{include_self}',
                lambda m, a, i, s: a.scatter_reduce(-1, i, s, reduce, include_self=include_self),
                SCATTER_SHAPES, make=make_scatter)


def _inplace(m, a, i, s):
    y = a * 1
    return y.scatter_reduce_(1, i, s, 'amax', include_self=False)


CASES = [reduce_case(r, k) for r in REDUCES for k in (True, False)] + [
    Case('scatter_reduce_fn', lambda m, a, i, s: m.scatter_reduce(a, 0, i, s, 'prod'),
         [((3, 4), (5, 4), (5, 4)), ((4,), (6,), (6,))],
         make=lambda rng, sh, dt: [floats(rng, sh[0], dt), rng.integers(0, 3, sh[1]),
                                   floats(rng, sh[2], dt)]),
    Case('scatter_reduce_', _inplace, [((3, 4), (3, 5), (3, 5))], make=make_scatter),
    *[Case(f'scatter_reduce_int_{r}', lambda m, a, i, s, r=r: a.scatter_reduce(
        1, i, s, r, include_self=r != 'mean'), [((3, 4), (3, 6), (3, 6))], make=make_ints,
        grad=False) for r in REDUCES],
    Case('scatter_add_reduce', lambda m, a, i, s: a.scatter(1, i, s, reduce='add'),
         [((3, 4), (3, 6), (3, 6))], make=make_scatter, grad=False),
    Case('scatter_multiply_value', lambda m, a, i, s: m.scatter(a, 1, i, 1.5,
                                                               reduce='multiply'),
         [((3, 4), (3, 6), (3, 6))], make=make_scatter, grad=False),
    Case('nansum', lambda m, a: m.nansum(a), make=with_nans),
    Case('nansum_dim', lambda m, a: a.nansum(-1, keepdim=True), make=with_nans),
    Case('nanmean', lambda m, a: m.nanmean(a, 0), [((3, 4),), ((2, 3, 4),), (NC((4, 3)),)],
         make=with_nans),
    Case('nanmean_all', lambda m, a: a.nanmean(), make=with_nans),
    Case('rot90', lambda m, a: m.rot90(a), [((3, 4),), ((2, 3, 4),), (NC((4, 3)),), ((0, 3),)]),
    *[Case(f'rot90_k{k}', lambda m, a, k=k: a.rot90(k, [2, 0]), [((2, 3, 4),)])
      for k in (-1, 2, 3, 4)],
    Case('norm_nuc', lambda m, a: m.norm(a, p='nuc'), [((3, 4),), ((4, 2),)]),
    Case('norm_nuc_dims', lambda m, a: a.norm('nuc', dim=(0, 2), keepdim=True),
         [((3, 2, 4),)]),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


def test_nansum_ints_and_dtype():
    x = [[1, 2], [3, 4]]
    assert ember.nansum(ember.tensor(x)).item() == 10
    e = ember.nanmean(ember.tensor([0.1, 0.2, 0.7]), dtype=ember.float64)
    assert e.dtype == ember.float64 and e.item() == torch.nanmean(
        torch.tensor([0.1, 0.2, 0.7]), dtype=torch.float64).item()


def test_scatter_reduce_ties_share_the_gradient():
    # NOTE: two maxima at one position split the gradient evenly, as torch's rule
    x = ember.tensor([1.0, 0.0], requires_grad=True)
    s = ember.tensor([1.0, 1.0, -1.0], requires_grad=True)
    x.scatter_reduce(0, ember.tensor([0, 0, 1]), s, 'amax').sum().backward()
    tx = torch.tensor([1.0, 0.0], requires_grad=True)
    ts = torch.tensor([1.0, 1.0, -1.0], requires_grad=True)
    tx.scatter_reduce(0, torch.tensor([0, 0, 1]), ts, 'amax').sum().backward()
    assert x.grad.tolist() == tx.grad.tolist() and s.grad.tolist() == ts.grad.tolist()


def test_scatter_reduce_prod_zeros():
    # torch's exclusive products where input or src holds a zero
    for xv, sv in (([0.0, 2.0], [3.0, 0.5, 4.0]), ([1.5, 2.0], [0.0, 5.0, 4.0])):
        grads = []
        for m in (ember, torch):
            x = m.tensor(xv, requires_grad=True)
            s = m.tensor(sv, requires_grad=True)
            x.scatter_reduce(0, m.tensor([0, 0, 1]), s, 'prod').sum().backward()
            grads.append((x.grad.tolist(), s.grad.tolist()))
        assert grads[0] == grads[1]


def test_scatter_reduce_device_loop():
    """The GPU path (one round per repeated position) gives ufunc.at's result."""
    from ember.ops.gaps import _reduce_at
    rng = np.random.default_rng(0)
    idx = (rng.integers(0, 4, (3, 9)),)
    vals = rng.uniform(-2, 2, (3, 9))
    for name in ('multiply', 'maximum', 'minimum'):
        want, got = np.ones(4), np.ones(4)
        getattr(np, name).at(want, idx, vals)

        class XP:   # NumPy dressed as another namespace, so the loop runs
            def __getattr__(self, n):
                return getattr(np, n)
        _reduce_at(XP(), name, got, idx, vals)
        np.testing.assert_array_equal(got, want)


def test_scatter_reduce_no_grad_with_reduce_arg():
    x = ember.ones(3, requires_grad=True)
    y = x.scatter(0, ember.tensor([0, 0]), 2.0, reduce='add')
    with pytest.raises(RuntimeError, match='not implemented'):
        y.sum().backward()


ERRORS = [
    ('reduce_name', lambda m: m.zeros(3).scatter_reduce(0, m.tensor([0]), m.ones(1), 'maxx'),
     RuntimeError, 'reduce argument'),
    ('scatter_reduce_name', lambda m: m.zeros(3).scatter(0, m.tensor([0]), 1.0, reduce='max'),
     RuntimeError, 'add or multiply'),
    ('reduce_dtype', lambda m: m.zeros(3).scatter_reduce(0, m.tensor([0]),
                                                         m.ones(1, dtype=m.int64), 'sum'),
     RuntimeError, 'dtype'),
    ('reduce_bounds', lambda m: m.zeros(3).scatter_reduce(0, m.tensor([3]), m.ones(1), 'sum'),
     RuntimeError, 'out of bounds'),
    ('nanmean_int', lambda m: m.nanmean(m.tensor([1, 2])), RuntimeError, 'floating point'),
    ('rot90_dims', lambda m: m.rot90(m.zeros(2, 2), 1, [0, 0]), RuntimeError, 'different'),
    ('rot90_1d', lambda m: m.rot90(m.zeros(2)), RuntimeError, 'total dims'),
    ('bernoulli_p', lambda m: m.bernoulli(m.tensor([1.5])), RuntimeError, r'\[0, 1\]'),
]


@pytest.mark.parametrize('fn,kind,pattern', [pytest.param(f, k, p, id=n)
                                             for n, f, k, p in ERRORS])
def test_errors_like_torch(fn, kind, pattern):
    with pytest.raises(Exception):
        fn(torch)
    with pytest.raises(kind, match=pattern):
        fn(ember)


def test_bernoulli():
    ember.manual_seed(0)
    p = ember.tensor([[0.0, 1.0], [0.3, 0.7]], dtype=ember.float64, requires_grad=True)
    b = ember.bernoulli(p)
    assert b.dtype == ember.float64 and not b.requires_grad and b.shape == p.shape
    assert b[0].tolist() == [0.0, 1.0]
    draws = ember.bernoulli(ember.full((20000,), 0.3))
    assert set(draws.unique().tolist()) <= {0.0, 1.0}
    assert abs(draws.mean().item() - 0.3) < 0.02   # 6 standard deviations: sqrt(.21/2e4)
    assert ember.bernoulli(ember.zeros(4), 1.0).tolist() == [1.0] * 4   # p= overrides
    g = ember.Generator().manual_seed(5)
    a = ember.bernoulli(ember.full((8,), 0.5), generator=g)
    g.manual_seed(5)
    assert ember.bernoulli(ember.full((8,), 0.5), generator=g).tolist() == a.tolist()


@pytest.mark.parametrize('name', ['float16', 'bfloat16', 'float32', 'float64'])
def test_finfo(name):
    if not hasattr(ember, name):
        pytest.skip('bfloat16 needs ml_dtypes')
    e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    for field in ('bits', 'eps', 'max', 'min', 'tiny', 'smallest_normal', 'resolution', 'dtype'):
        assert getattr(e, field) == getattr(t, field), field
        assert type(getattr(e, field)) is type(getattr(t, field)), field
    assert repr(e) == repr(t)
    assert ember.finfo().dtype == 'float32' and ember.finfo(getattr(ember, name)) == e


@pytest.mark.parametrize('name', ['uint8', 'int8', 'int16', 'int32', 'int64'])
def test_iinfo(name):
    e, t = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    assert (e.bits, e.max, e.min, e.dtype) == (t.bits, t.max, t.min, t.dtype)
    assert repr(e) == repr(t)


def test_info_errors():
    with pytest.raises(TypeError, match='floating point'):
        ember.finfo(ember.int32)
    for dt in (ember.float32, ember.bool):
        with pytest.raises(TypeError, match='integer'):
            ember.iinfo(dt)


PRINT_CASES = [dict(precision=2), dict(precision=6), dict(sci_mode=True), dict(sci_mode=False),
               dict(threshold=5), dict(threshold=5, edgeitems=1), dict(linewidth=40),
               dict(profile='short'), dict(profile='full'), dict(precision=1, sci_mode=True)]
PRINT_VALUES = [[1.23456, -2.5, 3.0], [1.0, 2.0], [1e-9, 1.0], (np.arange(30.0) * 1.5).tolist(),
                [[0.5, 1.25], [3.0, 4.5]], list(range(12))]


@pytest.mark.parametrize('options', PRINT_CASES, ids=lambda o: '-'.join(map(str, o.values())))
def test_set_printoptions_like_torch(options):
    try:
        ember.set_printoptions(**options)
        torch.set_printoptions(**options)
        for v in PRINT_VALUES:
            assert repr(ember.tensor(v)) == repr(torch.tensor(v)), v
    finally:
        ember.set_printoptions(profile='default')
        torch.set_printoptions(profile='default')
    assert repr(ember.tensor([1.23456])) == 'tensor([1.2346])'


def test_device_context_manager():
    assert ember.get_default_device() == 'cpu'
    with ember.device('cuda:1') as d:   # (nothing made: this machine may have no GPU)
        assert d == 'cuda:1' and ember.get_default_device() == 'cuda:1'
        with ember.device('cpu'):
            assert ember.zeros(1).device == 'cpu' and ember.get_default_device() == 'cpu'
        assert ember.get_default_device() == 'cuda:1'
    assert ember.get_default_device() == 'cpu' and ember.ones(2).device == 'cpu'
    try:
        with ember.device('cuda'):
            raise KeyError
    except KeyError:
        pass
    assert ember.get_default_device() == 'cpu'
