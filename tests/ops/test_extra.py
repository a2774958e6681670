"""The rest of the everyday API (ember/ops/extra.py) against PyTorch: the fused multiply-adds,
diagonals, grids, products, distances, repeat_interleave, trapezoid and moments (a table);
closeness, index builders, out=, the new_* factories and the legacy constructors (exact);
and the in-place random fills (their distributions, at a fixed seed)."""
import math

import numpy as np
import pytest
import torch

import ember
from tests.helpers import NC, Case, make_tests

MM = [((3, 5), (3, 4), (4, 5)), ((5,), (3, 4), (4, 5)), ((), (3, 4), (4, 5)),
      ((0, 5), (0, 4), (4, 5)), (NC((3, 5)), NC((3, 4)), (4, 5))]
MV = [((3,), (3, 4), (4,)), ((), (3, 4), (4,)), ((0,), (0, 4), (4,))]
BMM = [((3, 5), (2, 3, 4), (2, 4, 5)), ((5,), (2, 3, 4), (2, 4, 5)),
       ((3, 5), (0, 3, 4), (0, 4, 5))]
BADD = [((2, 3, 5), (2, 3, 4), (2, 4, 5)), ((3, 1), (2, 3, 4), (2, 4, 5)),
        ((0, 3, 5), (0, 3, 4), (0, 4, 5))]
TERN = [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((), (3, 4), ()),
        ((0, 4), (4,), (1,)), (NC((4, 3)), (4, 3), (4, 3))]
VEC = [((4,),), ((1,),), ((0,),)]
MAT = [((3, 4),), ((4, 4),), ((0, 3),), (NC((4, 3)),)]
BATCH = [((2, 3),), ((3,),), ((2, 0),), (NC((3, 2)),)]
PAIRS = [((2, 3), (3, 2)), ((3,), (2, 2)), ((), (2, 3)), ((0, 2), (2, 1)), (NC((2, 3)), (2,))]
CDIST = [((3, 4), (5, 4)), ((2, 3, 4), (2, 5, 4)), ((2, 3, 4), (5, 4)), ((0, 4), (5, 4)),
         (NC((4, 3)), (5, 3))]
Y = [((3, 5),), ((5,),), ((2, 3, 4),), ((3, 0),), (NC((5, 3)),)]


def _xs(rng, shapes, dtype):
    """Sorted sample points (for trapezoid's x), after the samples."""
    y = rng.uniform(-2, 2, shapes[0]).astype(dtype)
    return [y, np.sort(rng.uniform(-2, 2, shapes[1]), -1).astype(dtype)]


def _distinct(rng, shapes, dtype):
    """Two sets of points, the second shifted (cdist, dist: no distance near 0)."""
    out = []
    for i, s in enumerate(shapes):
        a = (rng.uniform(-2, 2, tuple(s)[::-1] if isinstance(s, NC) else s) + i).astype(dtype)
        out.append(a.T if isinstance(s, NC) else a)
    return out


CASES = [
    Case('addmm', lambda m, i, a, b: m.addmm(i, a, b), MM),
    Case('addmm_beta_alpha', lambda m, i, a, b: i.addmm(a, b, beta=0.5, alpha=-2), MM[:2]),
    # beta=0: input is ignored, nan included; its gradient is zero (None in ember)
    Case('addmm_beta0', lambda m, i, a, b: m.addmm(i, a, b, beta=0), MM[:1]),
    Case('addmv', lambda m, i, a, v: m.addmv(i, a, v, beta=2, alpha=0.5), MV),
    Case('addbmm', lambda m, i, a, b: m.addbmm(i, a, b, alpha=3), BMM),
    Case('baddbmm', lambda m, i, a, b: i.baddbmm(a, b, beta=-1), BADD),
    Case('addcmul', lambda m, i, a, b: m.addcmul(i, a, b, value=0.5), TERN),
    Case('addcdiv', lambda m, i, a, b: i.addcdiv(a, b, value=-2), TERN, domain=(0.5, 2)),
    Case('diag_vector', lambda m, x: m.diag(x, 1), VEC),
    Case('diag_matrix', lambda m, x: x.diag(-1), MAT),
    Case('diag_embed', lambda m, x: m.diag_embed(x), BATCH),
    Case('diag_embed_dims', lambda m, x: x.diag_embed(-1, 0, 2), [((2, 3),), ((2, 0),)]),
    Case('diag_embed_dims_swapped', lambda m, x: m.diag_embed(x, 2, dim1=-1, dim2=0),
         BATCH[:1]),
    Case('diagflat', lambda m, x: m.diagflat(x, -2), BATCH),
    Case('trace', lambda m, x: m.trace(x), MAT),
    Case('meshgrid_ij', lambda m, a, b: m.meshgrid(a, b, indexing='ij'),
         [((3,), (4,)), ((), (2,)), ((0,), (2,))]),
    Case('meshgrid_xy', lambda m, a, b, c: m.meshgrid([a, b, c], indexing='xy'),
         [((3,), (4,), (2,))]),
    Case('cartesian_prod', lambda m, a, b: m.cartesian_prod(a, b), [((3,), (4,)), ((0,), (2,))]),
    Case('combinations', lambda m, x: m.combinations(x, 2), VEC),
    Case('combinations_r3_replacement', lambda m, x: m.combinations(x, 3, True), VEC[:2]),
    Case('block_diag', lambda m, a, b, c: m.block_diag(a, b, c),
         [((2, 3), (3,), ()), ((0, 2), (1, 0), (2, 2))]),
    Case('kron', lambda m, a, b: m.kron(a, b), PAIRS),
    Case('kron_method', lambda m, a, b: a.kron(b), PAIRS[:1]),
    Case('tensordot', lambda m, a, b: m.tensordot(a, b), [((2, 3, 4), (3, 4, 5)),
                                                         ((0, 3, 4), (3, 4, 2))]),
    Case('tensordot_lists', lambda m, a, b: m.tensordot(a, b, ([0, 2], [2, 0])),
         [((3, 2, 4), (4, 5, 3))]),
    Case('tensordot_0', lambda m, a, b: m.tensordot(a, b, 0), [((2, 3), (4,))]),
    # torch has no second derivative of cdist (_cdist_backward): gradgradcheck below
    Case('cdist', lambda m, a, b: m.cdist(a, b), CDIST, make=_distinct, second_order=False),
    Case('cdist_p1', lambda m, a, b: m.cdist(a, b, p=1), CDIST[:2], make=_distinct,
         second_order=False),
    Case('cdist_p3', lambda m, a, b: m.cdist(a, b, p=3), CDIST[:2], make=_distinct,
         second_order=False),
    Case('cdist_pinf', lambda m, a, b: m.cdist(a, b, p=float('inf')), CDIST[:2],
         make=_distinct, second_order=False),
    Case('dist', lambda m, a, b: m.dist(a, b), [((3, 4), (3, 4)), ((3, 4), (4,))],
         make=_distinct),
    Case('dist_p3', lambda m, a, b: a.dist(b, 3), [((3, 4), (3, 4))], make=_distinct),
    Case('repeat_interleave', lambda m, x: m.repeat_interleave(x, 2), Y),
    Case('repeat_interleave_dim', lambda m, x: x.repeat_interleave(
        m.tensor([1, 0, 3]), dim=-2), [((3, 2),), ((2, 3, 4),)]),
    # over an empty dim: zeros with no gradient in torch (nothing to check at second order)
    Case('trapezoid', lambda m, y: m.trapezoid(y), Y, empty_second_order=False),
    Case('trapezoid_dx_dim', lambda m, y: m.trapezoid(y, dx=0.5, dim=0), Y[:3]),
    Case('trapezoid_x', lambda m, y, x: m.trapezoid(y, x), [((3, 5), (5,)), ((3, 5), (3, 5))],
         make=_xs),
    Case('var_mean', lambda m, x: m.var_mean(x, 1), MAT),
    Case('var_mean_all', lambda m, x: m.var_mean(x, correction=0), MAT[:2]),
    Case('std_mean', lambda m, x: m.std_mean(x, (0,), keepdim=True), MAT[:2]),
    # the in-place forms, on a non-leaf: their history through Tensor._inplace
    Case('addmm_', lambda m, i, a, b: (i * 1).addmm_(a, b, alpha=2), MM[:1]),
    Case('baddbmm_', lambda m, i, a, b: (i * 1).baddbmm_(a, b), BADD[:1]),
    Case('addcdiv_', lambda m, i, a, b: (i * 1).addcdiv_(a, b, value=3), TERN[:1],
         domain=(0.5, 2)),
    Case('t', lambda m, x: m.t(x), [((3, 4),), ((4,),), ((),)]),
    Case('type_as', lambda m, x, y: x.type_as(y), [((3,), (2,))], ints=((1, 0, 3),)),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


# ---------------------------------------------------------------- exact results

def both(fn):
    """``fn(m)`` for ember and torch, as NumPy arrays (or Python values)."""
    e, t = fn(ember), fn(torch)
    return [(x.numpy() if isinstance(x, ember.Tensor) else x,
             y.numpy() if isinstance(y, torch.Tensor) else y)
            for x, y in zip(e if isinstance(e, tuple) else (e,),
                            t if isinstance(t, tuple) else (t,))]


def same(fn):
    for e, t in both(fn):
        if isinstance(t, np.ndarray):
            assert e.dtype == t.dtype and e.shape == t.shape, (e.dtype, t.dtype, e.shape)
            np.testing.assert_array_equal(e, t)
        else:
            assert type(e) is type(t) and e == t, (e, t)


A = [1.0, 2.0, float('inf'), float('nan'), -float('inf'), 1e-9, 0.0]
B = [1.0 + 1e-6, 2.1, float('inf'), float('nan'), float('inf'), 0.0, -1e-9]


@pytest.mark.parametrize('kw', [{}, {'equal_nan': True}, {'rtol': 0.1, 'atol': 0},
                                {'rtol': 0, 'atol': 1e-8}])
def test_isclose_allclose(kw):
    same(lambda m: m.isclose(m.tensor(A), m.tensor(B), **kw))
    same(lambda m: m.tensor(A).isclose(m.tensor(B[:1]), **kw))
    same(lambda m: (m.allclose(m.tensor(A[:2]), m.tensor(B[:2]), **kw),
                    m.tensor(A[:1]).allclose(m.tensor(B[:1]), **kw)))
    same(lambda m: m.isclose(m.tensor([1, 2, 3]), m.tensor([1, 3, 3]), **kw))
    same(lambda m: m.isclose(m.tensor([True, False]), m.tensor([True, True]), **kw))


def test_isclose_errors():
    with pytest.raises(RuntimeError, match='did not match'):
        ember.isclose(ember.tensor([1.0]), ember.tensor([1.0], dtype=ember.float64))
    with pytest.raises(RuntimeError, match='non-negative'):
        ember.isclose(ember.tensor([1.0]), ember.tensor([1.0]), rtol=-1)


def test_equal():
    same(lambda m: (m.equal(m.tensor([1, 2]), m.tensor([1, 2])),
                    m.equal(m.tensor([1, 2]), m.tensor([[1, 2]])),
                    m.tensor([1.0, float('nan')]).equal(m.tensor([1.0, float('nan')])),
                    m.equal(m.ones(0), m.ones(0))))


@pytest.mark.parametrize('fn', ['tril_indices', 'triu_indices'])
@pytest.mark.parametrize('args', [(3, 3), (3, 4, 1), (4, 3, -2), (0, 3), (3, 0), (2, 5, 9)])
def test_tri_indices(fn, args):
    same(lambda m: getattr(m, fn)(*args))
    same(lambda m: getattr(m, fn)(*args, dtype=m.int32))


def test_integer_and_bool_results():
    same(lambda m: m.diag(m.tensor([1, 2, 3]), -1))
    same(lambda m: m.trace(m.arange(12).reshape(3, 4)))
    same(lambda m: m.kron(m.tensor([[1, 2]]), m.tensor([[True], [False]])))
    same(lambda m: m.block_diag(m.tensor([[1, 2]]), m.tensor([3.5], dtype=m.float64)))
    same(lambda m: m.block_diag())
    same(lambda m: m.combinations(m.tensor([1, 2, 3]), 0))
    same(lambda m: m.combinations(m.tensor([1, 2, 3]), 4))
    same(lambda m: m.cartesian_prod(m.tensor([1, 2])))
    same(lambda m: m.repeat_interleave(m.tensor([2, 0, 1])))
    same(lambda m: m.repeat_interleave(m.tensor(5), 3))
    same(lambda m: m.tensor([[1, 2], [3, 4]]).repeat_interleave(m.tensor([2]), dim=1))
    same(lambda m: m.cdist(m.tensor([[0.0, 1.0], [2.0, 2.0]]), m.tensor([[0.0, 0.0]]), p=0))
    same(lambda m: m.dist(m.tensor([0.0, 1.0]), m.tensor([0.0, 0.0]), 0))
    same(lambda m: m.meshgrid(m.tensor([1, 2]), m.tensor([3, 4, 5]), indexing='xy'))


def test_zero_distance_has_zero_gradient():
    """cdist(x, x) and dist(x, x) are 0 on the diagonal, with gradient 0 there (not nan), as
    torch."""
    grads = []
    for m in (ember, torch):
        x = m.tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True)
        grads.append([g.numpy() for g in m.autograd.grad(m.cdist(x, x).sum(), x)])
        (g,) = m.autograd.grad(m.dist(x, x), x)
        np.testing.assert_array_equal(g.numpy(), np.zeros((2, 2), np.float32))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-6)


@pytest.mark.parametrize('p', [1.0, 2.0, 3.0, float('inf')])
def test_cdist_second_order(p):
    """torch has no second derivative of cdist: ember's, against finite differences."""
    rng = np.random.default_rng(0)
    a = ember.tensor(rng.uniform(-2, 2, (3, 4)), requires_grad=True)
    b = ember.tensor(rng.uniform(-2, 2, (2, 4)) + 1, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda a, b: ember.cdist(a, b, p=p), (a, b))


@pytest.mark.parametrize('call, match', [
    (lambda m: m.addmm(m.ones(2), m.ones(2, 3, 1), m.ones(3, 2)), 'must be a 2-D'),
    (lambda m: m.addmm(m.ones(3), m.ones(2, 3), m.ones(3, 2)), 'broadcast'),
    (lambda m: m.addcdiv(m.ones(2), m.tensor([1, 2]), m.tensor([1, 2])), 'nteger division'),
    (lambda m: m.diag(m.ones(2, 2, 2)), 'Supports 1D or 2D'),
    (lambda m: m.trace(m.ones(2)), 'expected a matrix'),
    (lambda m: m.meshgrid(m.ones(2, 2), m.ones(2), indexing='ij'), 'Expected 0D or 1D'),
    (lambda m: m.combinations(m.ones(2, 2)), 'Expect a 1D vector'),
    (lambda m: m.block_diag(m.ones(1, 1, 1)), '2 or fewer dimensions'),
    (lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), 1), 'contracted dimensions need'),
    (lambda m: m.cdist(m.ones(2, 3), m.ones(2, 4)), 'same number of columns'),
    (lambda m: m.repeat_interleave(m.ones(3), m.tensor([1, 2])), 'repeats must have'),
    (lambda m: m.repeat_interleave(m.ones(2), m.tensor([1, -1])), 'negative'),
    (lambda m: m.t(m.ones(2, 2, 2)), r't\(\) expects a tensor with <= 2 dimensions'),
])
def test_errors(call, match):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match=match):
        call(ember)


# ---------------------------------------------------------------- out=

def test_out():
    for m in (ember, torch):
        a, b = m.ones(3, 4), m.ones(4, 2)
        out = m.empty(3, 2)
        assert m.matmul(a, b, out=out) is out and out.tolist() == [[4.0] * 2] * 3
        empty = m.empty(0)
        assert m.add(a, 1, out=empty) is empty and tuple(empty.shape) == (3, 4)
        assert m.mul(a, 2, out=m.empty(3, 4, dtype=m.float64)).dtype == m.float64
        assert m.addmm(m.zeros(3, 2), a, b, out=out).tolist() == [[4.0] * 2] * 3
        a.requires_grad_()
        with pytest.raises(RuntimeError, match="out=... arguments don't support automatic "
                                               "differentiation"):
            m.matmul(a, b, out=out)
        with m.no_grad():
            assert m.matmul(a, b, out=out) is out
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="can't be cast"):
            m.add(m.ones(2), 1.5, out=m.empty(2, dtype=m.int64))
        for fn in (lambda o: m.matmul(m.ones(2, 2), m.ones(2, 2), out=o),
                   lambda o: m.addmm(m.ones(2), m.ones(2, 2), m.ones(2, 2), out=o)):
            with pytest.raises(RuntimeError, match='(?i)expected out tensor to have dtype'):
                fn(m.empty(2, 2, dtype=m.float64))
    with pytest.warns(UserWarning, match='resized'):
        ember.mul(ember.ones(2), 2, out=ember.empty(3))


# ---------------------------------------------------------------- factories

def test_new_factories():
    for dt in ('int32', 'float64'):
        same(lambda m: m.ones(2, dtype=getattr(m, dt)).new_zeros(2, 3))
        same(lambda m: m.ones(2, dtype=getattr(m, dt)).new_ones((3,)))
        same(lambda m: m.ones(2, dtype=getattr(m, dt)).new_full((2, 2), 3))
        same(lambda m: m.ones(2, dtype=getattr(m, dt)).new_tensor([1.5, 2]))
        same(lambda m: m.ones(2, dtype=getattr(m, dt)).new_zeros(2, dtype=m.int8))
        same(lambda m: m.ones(2, dtype=getattr(m, dt)).new_empty(0, 2).shape)
        same(lambda m: m.ones(2).type_as(m.ones(1, dtype=getattr(m, dt))))
    x = ember.ones(2).new_ones(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.device == ember.device('cpu')


@pytest.mark.parametrize('name', ['FloatTensor', 'DoubleTensor', 'HalfTensor', 'LongTensor',
                                  'IntTensor', 'ShortTensor', 'CharTensor', 'ByteTensor',
                                  'BoolTensor'])
def test_legacy_constructors(name):
    same(lambda m: getattr(m, name)([[1, 0], [1, 1]]))
    same(lambda m: getattr(m, name)(np.array([1, 0])))
    same(lambda m: getattr(m, name)(2, 3).shape)
    same(lambda m: getattr(m, name)(m.Size([2])).shape)
    same(lambda m: getattr(m, name)())
    same(lambda m: (isinstance(getattr(m, name)([1]), getattr(m, name)),
                    isinstance(m.ones(1), getattr(m, name))))
    for m in (ember, torch):
        with pytest.raises(TypeError, match='sequence'):
            getattr(m, name)(2.5)


def test_default_device_and_accelerator():
    assert ember.get_default_device() == ember.device('cpu')
    ember.set_default_device('cpu')
    try:
        assert ember.zeros(1).device == ember.device('cpu')
    finally:
        ember.set_default_device(None)
    assert ember.accelerator.is_available() is ember.cuda.is_available()
    assert ember.accelerator.device_count() == (ember.cuda.device_count()
                                                if ember.cuda.is_available() else 0)
    assert (ember.accelerator.current_accelerator() is None) is \
        (not ember.accelerator.is_available())
    assert ember.backends.mps.is_available() is False and ember.backends.mps.is_built() is False


def test_default_device_reaches_every_factory(monkeypatch):
    """With a default device, each factory sends its array there (stubbed: no GPU needed)."""
    import ember._creation as creation
    sent = []
    monkeypatch.setattr(creation, 'to_device', lambda arr, dev: sent.append(str(dev)) or arr)
    monkeypatch.setattr(creation, '_default_device', ember.device('cuda'))
    ember.tensor([1.0]), ember.zeros(2), ember.full((2,), 3.0), ember.arange(3)
    ember.rand(2), ember.randn(2), ember.eye(2), ember.linspace(0, 1, 3)
    ember.as_tensor(np.zeros(2))
    assert sent == ['cuda'] * 9
    sent.clear()
    ember.zeros(2, device='cpu'), ember.from_numpy(np.zeros(2))
    assert sent == ['cpu']


# ---------------------------------------------------------------- in-place random

N = 20000


def _ks(x, cdf):
    """The Kolmogorov-Smirnov statistic of sample ``x`` against ``cdf``, and the critical
    value at significance 1e-3 (Kolmogorov's limit: sqrt(-ln(alpha / 2) / 2) / sqrt(n))."""
    x = np.sort(np.asarray(x, np.float64))
    n = x.size
    f = cdf(x)
    d = max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))
    return d, math.sqrt(-math.log(1e-3 / 2) / 2) / math.sqrt(n)


def _chi2(counts, probs):
    """Pearson's statistic and its critical value at significance 1e-3 (Wilson-Hilferty)."""
    counts, expected = np.asarray(counts, np.float64), np.asarray(probs) * np.sum(counts)
    stat = np.sum((counts - expected) ** 2 / expected)
    k = len(counts) - 1
    return stat, k * (1 - 2 / (9 * k) + 3.0902 * math.sqrt(2 / (9 * k))) ** 3


_erf = np.vectorize(math.erf)
CONTINUOUS = [
    ('uniform_', (-2.0, 3.0), lambda x: np.clip((x + 2) / 5, 0, 1), 0.5, 25 / 12),
    ('normal_', (1.5, 2.0), lambda x: 0.5 * (1 + _erf((x - 1.5) / (2 * math.sqrt(2)))), 1.5, 4),
    ('exponential_', (2.0,), lambda x: 1 - np.exp(-2 * x), 0.5, 0.25),
    ('cauchy_', (1.0, 0.5), lambda x: 0.5 + np.arctan((x - 1) / 0.5) / math.pi, None, None),
    ('log_normal_', (0.5, 0.25), lambda x: 0.5 * (1 + _erf((np.log(x) - 0.5) /
                                                             (0.25 * math.sqrt(2)))),
     math.exp(0.5 + 0.25 ** 2 / 2), (math.exp(0.25 ** 2) - 1) * math.exp(1 + 0.25 ** 2)),
]


@pytest.mark.parametrize('name, args, cdf, mean, variance', CONTINUOUS,
                         ids=[c[0] for c in CONTINUOUS])
def test_continuous_fills(name, args, cdf, mean, variance):
    ember.manual_seed(0)
    x = getattr(ember.zeros(N, dtype=ember.float64), name)(*args)
    d, crit = _ks(x.numpy(), cdf)
    assert d < crit, f'{name}: KS statistic {d:.4f} >= {crit:.4f}'
    if mean is not None:   # moments within 4 standard errors (the variance's: from the 4th)
        a = x.numpy()
        assert abs(a.mean() - mean) < 4 * math.sqrt(variance / N), (a.mean(), mean)
        assert abs(a.var() - variance) < 4 * variance * math.sqrt(2 / N) * 2, (a.var(), variance)
    # the same seed, the same numbers; float32 draws stay in range
    ember.manual_seed(0)
    assert getattr(ember.zeros(N, dtype=ember.float64), name)(*args).equal(x)
    y = getattr(ember.zeros(N), name)(*args)
    assert y.dtype == ember.float32 and bool(ember.isfinite(y).all())


def test_uniform_float32_half_open():
    g = ember.Generator().manual_seed(1)
    x = ember.zeros(100000).uniform_(generator=g)
    assert float(x.min()) >= 0 and float(x.max()) < 1


@pytest.mark.parametrize('dtype', ['float32', 'int64', 'bool', 'uint8'])
def test_bernoulli_fill(dtype):
    ember.manual_seed(0)
    x = ember.zeros(N, dtype=getattr(ember, dtype)).bernoulli_(0.3)
    ones = int((x != 0).sum())
    stat, crit = _chi2([N - ones, ones], [0.7, 0.3])
    assert stat < crit and set(np.unique(x.numpy()).tolist()) <= {0, 1}
    p = ember.tensor([0.0, 1.0]).repeat(N // 2)
    assert ember.zeros(N).bernoulli_(p).equal(p)


def test_geometric_fill():
    ember.manual_seed(0)
    p = 0.3
    x = ember.zeros(N, dtype=ember.int64).geometric_(p).numpy()
    assert x.min() >= 1
    top = 12   # k = 1..11 and the tail
    counts = [np.sum(x == k) for k in range(1, top)] + [np.sum(x >= top)]
    probs = [(1 - p) ** (k - 1) * p for k in range(1, top)] + [(1 - p) ** (top - 1)]
    stat, crit = _chi2(counts, probs)
    assert stat < crit, (stat, crit)
    assert abs(x.mean() - 1 / p) < 4 * math.sqrt((1 - p) / p ** 2 / N)


@pytest.mark.parametrize('dtype, args, lo, hi', [
    ('int64', (3, 9), 3, 9), ('float32', (5,), 0, 5), ('uint8', (), 0, 256),
    ('int8', (-4, None), -4, 128), ('bool', (), 0, 2)])
def test_random_fill(dtype, args, lo, hi):
    ember.manual_seed(0)
    x = ember.zeros(N, dtype=getattr(ember, dtype)).random_(*args).numpy().astype(np.int64)
    assert x.min() >= lo and x.max() < hi
    counts = np.bincount(x - lo, minlength=hi - lo)
    stat, crit = _chi2(counts, np.full(hi - lo, 1 / (hi - lo)))
    assert stat < crit, (stat, crit)


def test_random_fill_full_range():
    ember.manual_seed(0)
    x = ember.zeros(N).random_().numpy()
    assert x.min() >= 0 and x.max() <= 2 ** 24 and np.all(x == np.round(x))
    d, crit = _ks(x, lambda v: np.clip(v / 2 ** 24, 0, 1))
    assert d < crit


@pytest.mark.parametrize('call, match', [
    (lambda m: m.zeros(2).uniform_(1, 0), 'from'),
    (lambda m: m.zeros(2).normal_(0, -1), 'std'),
    (lambda m: m.zeros(2).exponential_(0), 'lambda'),
    (lambda m: m.zeros(2).geometric_(1.5), 'p'),
    (lambda m: m.zeros(2).bernoulli_(1.5), 'p'),
    (lambda m: m.zeros(2).random_(5, 5), 'from'),
    (lambda m: m.zeros(2, dtype=m.int64).normal_(), 'floating-point'),
    (lambda m: m.ones(2, requires_grad=True).uniform_(), 'leaf'),
])
def test_random_fill_errors(call, match):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match=match):
        call(ember)


def test_random_fill_in_graph_and_views():
    """A fill under autograd cuts the gradient of the old values (zero, as torch); a fill of
    a view writes through to its base."""
    x = ember.ones(4, requires_grad=True)
    y = x * 2
    y.normal_()
    (g,) = ember.autograd.grad(y.sum() + (x * 0).sum(), x)
    assert g.tolist() == [0.0] * 4
    base = ember.zeros(2, 3)
    base[0].uniform_(5, 6)
    assert bool((base[0] >= 5).all()) and base[1].tolist() == [0.0] * 3
    g1, g2 = ember.Generator().manual_seed(4), ember.Generator().manual_seed(4)
    assert ember.zeros(5).cauchy_(generator=g1).equal(ember.zeros(5).cauchy_(generator=g2))


@pytest.mark.skipif(not ember.cuda.is_available(),
                    reason="needs 'cuda' (a GPU, or EMBER_FAKE_CUPY=1)")
def test_on_cuda():
    """The fills, the default device, out= and the index builders on 'cuda'."""
    x = ember.zeros(5, device='cuda')
    for name in ('uniform_', 'normal_', 'bernoulli_', 'random_', 'exponential_', 'cauchy_',
                 'log_normal_'):
        assert getattr(x, name)() is x and x.device.type == 'cuda'
    ember.manual_seed(3)
    a = ember.zeros(4, device='cuda').normal_()
    ember.manual_seed(3)
    assert a.cpu().equal(ember.zeros(4).normal_())   # one seed, the same numbers everywhere
    ember.set_default_device('cuda')
    try:
        assert str(ember.get_default_device()) == 'cuda'
        for t in (ember.zeros(2), ember.tensor([1.0]), ember.rand(2), ember.arange(3),
                  ember.ones(2).new_ones(3), ember.combinations(ember.arange(3.0)),
                  ember.tril_indices(3, 3), ember.eye(2)):
            assert t.device.type == 'cuda'
        out = ember.empty(3, 2)
        assert ember.matmul(ember.ones(3, 4), ember.ones(4, 2), out=out) is out
        assert out.device.type == 'cuda' and out.cpu().tolist() == [[4.0] * 2] * 3
    finally:
        ember.set_default_device(None)
    assert ember.zeros(1).device.type == 'cpu'
