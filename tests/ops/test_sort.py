"""Sorting and selection against PyTorch: a table of cases over shape menus, and plain tests for
what a table cannot show (stable ties, NaN, unsorted topk, multinomial's distribution, errors).

NOTE: where torch leaves the choice among tied values open (topk, kthvalue, median along a dim),
the cases draw inputs without ties (``distinct``, as tests/ops/test_conv.py); where it documents
or fixes it on the CPU (sort is stable; mode and cummax/cummin pick the last position; median()
shares the gradient), the cases have ties on purpose (``ties``).
"""
import math

import numpy as np
import pytest
import torch

import ember
from tests.helpers import NC, Case, make_tests

ALL = [((3, 4),), ((2, 3, 4),), ((),), ((0, 3),), (NC((4, 3)),)]
NONEMPTY = [((3, 4),), ((2, 3, 4),), ((),), (NC((4, 3)),)]
ONE_UP = [((3, 4),), ((2, 3, 4),), ((0, 3),), (NC((4, 3)),)]   # at least 1-d, last dim >= 3


def _shape(s):
    return tuple(s)[::-1] if isinstance(s, NC) else tuple(s)


def _made(s, a):
    return a.T if isinstance(s, NC) else a


def distinct(rng, shapes, dtype):
    """Inputs without ties (a shuffled ramp spaced by 0.25)."""
    out = []
    for s in shapes:
        n = math.prod(_shape(s))
        out.append(_made(s, ((rng.permutation(n) - n / 2) / 4).reshape(_shape(s)).astype(dtype)))
    return out


def ties(rng, shapes, dtype):
    """Inputs with many ties: small integers as floats."""
    return [_made(s, rng.integers(-2, 3, _shape(s)).astype(dtype)) for s in shapes]


def nans(rng, shapes, dtype, full_row=True):
    """Distinct inputs with NaN at every fourth element (and a row of NaN where one fits)."""
    out = []
    for a in distinct(rng, shapes, dtype):
        b = a.copy(order='K')   # (keeps a transposed input non-contiguous)
        b.flat[::4] = np.nan
        if b.ndim == 2 and b.shape[0] > 2 and full_row:
            b[2] = np.nan
        out.append(b)
    return out


def some_nans(rng, shapes, dtype):
    """``nans`` without a row of NaN only: torch's nanmedian(dim) index for one is whatever
    its nth_element leaves there."""
    return nans(rng, shapes, dtype, full_row=False)


def with_zeros(rng, shapes, dtype):
    return [_made(s, np.asarray(rng.integers(0, 3, _shape(s)) * rng.uniform(0.5, 1, _shape(s)))
                  .astype(dtype)) for s in shapes]


def sorted_pair(rng, shapes, dtype):
    """A sequence sorted along its last dimension with repeats, and values hitting it."""
    seq = np.sort(rng.integers(-5, 6, _shape(shapes[0])), axis=-1).astype(dtype)
    return [seq, rng.integers(-6, 7, _shape(shapes[1])).astype(dtype)]


def shuffled_pair(rng, shapes, dtype):
    seq, v = sorted_pair(rng, shapes, dtype)
    return [rng.permuted(seq, axis=-1), v]


def counts(rng, shapes, dtype):
    """Non-negative integers for bincount, with float weights of the same length."""
    s = _shape(shapes[0])
    return [rng.integers(0, 6, s), rng.uniform(0, 2, s).astype(dtype)][:len(shapes)]


# NOTE: gradcheck is off where the input has ties or NaN on purpose: there the selection is
# not differentiable (a step of eps moves an element past its tie), so finite differences
# cannot agree with any subgradient; the gradient is still compared with torch's.
TIES = dict(make=ties, gradcheck=False)
NANS = dict(make=nans, gradcheck=False)

CASES = [
    Case('sort', lambda m, a: a.sort(), ALL),
    Case('sort_first_desc', lambda m, a: m.sort(a, 0, descending=True), ALL),
    Case('sort_stable_ties', lambda m, a: m.sort(a, stable=True), ALL, **TIES),
    Case('sort_stable_ties_desc', lambda m, a: a.sort(dim=0, descending=True, stable=True),
         ALL, **TIES),
    Case('sort_nan', lambda m, a: a.sort(-1), NONEMPTY, **NANS),
    Case('sort_nan_desc', lambda m, a: a.sort(0, True), NONEMPTY, **NANS),
    Case('sort_int', lambda m, a: a.sort(dim=0, stable=True), ALL, ints=((0, -3, 3),), grad=False),
    Case('argsort', lambda m, a: a.argsort(), ALL, grad=False),
    Case('argsort_ties_desc', lambda m, a: m.argsort(a, dim=0, descending=True, stable=True), ALL,
         make=ties, grad=False),
    Case('msort', lambda m, a: m.msort(a), ALL),
    Case('topk', lambda m, a: a.topk(2), ONE_UP, make=distinct),
    Case('topk_smallest_first', lambda m, a: m.topk(a, 1, 0, largest=False), NONEMPTY,
         make=distinct),
    Case('topk_0d', lambda m, a: a.topk(1), [((),)]),
    Case('topk_all_smallest', lambda m, a: a.topk(a.shape[-1], largest=False), ONE_UP,
         make=distinct),
    Case('topk_nan', lambda m, a: a.topk(2), ONE_UP, make=some_nans, gradcheck=False),
    Case('topk_nan_smallest', lambda m, a: a.topk(2, largest=False), ONE_UP, make=some_nans,
         gradcheck=False),
    Case('kthvalue', lambda m, a: a.kthvalue(2), ONE_UP, make=distinct),
    Case('kthvalue_first_keep', lambda m, a: m.kthvalue(a, 1, 0, keepdim=True), NONEMPTY,
         make=distinct),
    # (empty: ember's gradient is g times a constant share of nothing, whose gradient with
    # respect to g is a sum of nothing, 0; torch's divides by the count 0 after, nan)
    Case('kthvalue_nan', lambda m, a: a.kthvalue(a.shape[-1]), ONE_UP, make=some_nans,
         gradcheck=False),
    Case('median_all', lambda m, a: a.median(), ALL, make=distinct, empty_second_order=False),
    Case('median_all_ties', lambda m, a: m.median(a), NONEMPTY, **TIES),
    Case('median_all_nan', lambda m, a: a.median(), NONEMPTY, **NANS),
    Case('median_dim', lambda m, a: a.median(-1), ALL, make=distinct),
    Case('median_dim_keep', lambda m, a: m.median(a, 0, keepdim=True), NONEMPTY,
         make=distinct),
    Case('median_dim_nan', lambda m, a: a.median(1), [((3, 4),), (NC((4, 3)),)], **NANS),
    Case('median_int', lambda m, a: a.median(), NONEMPTY, ints=((0, -5, 5),), grad=False),
    Case('nanmedian_all', lambda m, a: a.nanmedian(), NONEMPTY, **NANS),
    Case('nanmedian_dim', lambda m, a: m.nanmedian(a, -1), [((3, 4),), ((2, 3, 4),),
                                                            (NC((4, 3)),)],
         make=some_nans, gradcheck=False),
    Case('nanmedian_clean', lambda m, a: a.nanmedian(0, True), NONEMPTY, make=distinct),
    Case('mode', lambda m, a: a.mode(), NONEMPTY, **TIES),
    Case('mode_first_keep', lambda m, a: m.mode(a, 0, keepdim=True), NONEMPTY, **TIES),
    Case('mode_int', lambda m, a: a.mode(0), NONEMPTY, ints=((0, 0, 3),), grad=False),
    Case('unique', lambda m, a: a.unique(), ALL, ints=((0, -3, 3),), grad=False),
    Case('unique_all', lambda m, a: m.unique(a, return_inverse=True, return_counts=True), ALL,
         ints=((0, -3, 3),), grad=False),
    Case('unique_float', lambda m, a: m.unique(a, return_counts=True), NONEMPTY, make=ties,
         grad=False),
    Case('unique_dim', lambda m, a: m.unique(a, dim=0, return_inverse=True,
                                             return_counts=True),
         [((6, 2),), ((5, 2, 2),)], ints=((0, 0, 2),), grad=False),
    Case('unique_consecutive', lambda m, a: a.unique_consecutive(return_inverse=True,
                                                                 return_counts=True),
         ALL, ints=((0, 0, 2),), grad=False),
    Case('unique_consecutive_dim', lambda m, a: m.unique_consecutive(a, True, True, dim=1),
         [((2, 6),), ((2, 5, 2),)], ints=((0, 0, 2),), grad=False),
    Case('searchsorted_1d', lambda m, s, v: m.searchsorted(s, v),
         [((8,), (3, 4)), ((8,), ()), ((0,), (3,)), ((8,), (0,))], make=sorted_pair,
         grad=False),
    Case('searchsorted_right', lambda m, s, v: m.searchsorted(s, v, right=True),
         [((8,), (3, 4)), ((3, 8), (3, 5)), ((2, 3, 8), (2, 3, 2))], make=sorted_pair,
         grad=False),
    Case('searchsorted_side_int32', lambda m, s, v: m.searchsorted(s, v, side='right',
                                                                   out_int32=True),
         [((3, 8), (3, 5))], make=sorted_pair, grad=False),
    Case('searchsorted_sorter', lambda m, s, v: m.searchsorted(s, v, sorter=m.argsort(s)),
         [((8,), (3, 4)), ((3, 8), (3, 5))], make=shuffled_pair, grad=False),
    Case('bucketize', lambda m, v, s: m.bucketize(v, s), [((3, 4), (8,)), ((), (8,))],
         make=lambda rng, sh, dt: sorted_pair(rng, sh[::-1], dt)[::-1], grad=False),
    Case('bucketize_right', lambda m, v, s: m.bucketize(v, s, right=True), [((3, 4), (8,))],
         make=lambda rng, sh, dt: sorted_pair(rng, sh[::-1], dt)[::-1], grad=False),
    Case('histc', lambda m, a: a.histc(bins=7, min=-1.5, max=1.5), ALL, grad=False),
    Case('histc_data_range', lambda m, a: m.histc(a, 5), ALL, grad=False),
    Case('histc_ties', lambda m, a: m.histc(a, 4, -2, 2), NONEMPTY, make=ties, grad=False),
    Case('bincount', lambda m, a: a.bincount(), [((12,),), ((0,),)], make=counts, grad=False),
    Case('bincount_minlength', lambda m, a: m.bincount(a, minlength=9), [((12,),)],
         make=counts, grad=False),
    Case('bincount_weights', lambda m, a, w: m.bincount(a, w), [((12,), (12,))], make=counts,
         grad=False),
    Case('cummax', lambda m, a: a.cummax(-1), ALL, make=distinct),
    Case('cummin_first', lambda m, a: m.cummin(a, 0), ALL, make=distinct),
    Case('cummax_ties', lambda m, a: m.cummax(a, 0), ALL, **TIES),
    Case('cummin_ties', lambda m, a: a.cummin(-1), ALL, **TIES),
    Case('cummax_nan', lambda m, a: a.cummax(-1), NONEMPTY, **NANS),
    Case('cummin_nan', lambda m, a: a.cummin(0), NONEMPTY, **NANS),
    Case('cummax_int', lambda m, a: a.cummax(0), ALL, ints=((0, -3, 3),), grad=False),
    Case('logcumsumexp', lambda m, a: a.logcumsumexp(-1), ALL),
    Case('logcumsumexp_first', lambda m, a: m.logcumsumexp(a, 0), ALL, domain=(-30.0, 30.0)),
    Case('diff', lambda m, a: a.diff(), ONE_UP),
    Case('diff_2_first', lambda m, a: m.diff(a, n=2, dim=0), ONE_UP),
    Case('diff_past_the_end', lambda m, a: a.diff(5), ONE_UP),
    Case('diff_prepend_append', lambda m, a, p, q: m.diff(a, prepend=p, append=q),
         [((3, 4), (3, 2), (3, 1)), ((2, 3, 4), (2, 3, 1), (2, 3, 2))]),
    Case('diff_int', lambda m, a: a.diff(dim=0), ONE_UP, ints=((0, -9, 9),), grad=False),
    Case('diff_bool', lambda m, a: a.diff(), ONE_UP, bools=(0,), grad=False),
    Case('count_nonzero', lambda m, a: a.count_nonzero(), ALL, make=with_zeros, grad=False),
    Case('count_nonzero_dims', lambda m, a: m.count_nonzero(a, (0, -1)),
         [((3, 4),), ((2, 3, 4),), ((0, 3),), (NC((4, 3)),)], make=with_zeros, grad=False),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


# ---------------------------------------------------------------- plain tests

def both(values, **kw):
    a = np.array(values, dtype=kw.pop('dtype', np.float64))
    return ember.tensor(a, **kw), torch.tensor(a, **kw)


def same(e, t):
    for x, y in zip(e if isinstance(e, tuple) else (e,), t if isinstance(t, tuple) else (t,)):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), strict=True)


def test_results_are_named_like_torchs():
    e, t = both([[3.0, 1.0, 2.0]])
    for name, fn in [('sort', lambda x: x.sort()), ('topk', lambda x: x.topk(1)),
                     ('kthvalue', lambda x: x.kthvalue(1)), ('median', lambda x: x.median(1)),
                     ('nanmedian', lambda x: x.nanmedian(1)), ('mode', lambda x: x.mode()),
                     ('cummax', lambda x: x.cummax(1)), ('cummin', lambda x: x.cummin(1))]:
        r, tr = fn(e), fn(t)
        assert type(r).__name__ == name == type(tr).__name__
        assert r._fields == ('values', 'indices') and r.indices.dtype is ember.int64
        same(tuple(r), tuple(tr))


def test_sort_is_stable_and_puts_nan_last_as_torch():
    nan = float('nan')
    e, t = both([2.0, nan, 1.0, 2.0, nan, -0.0, 0.0, 1.0])
    for kw in ({}, dict(descending=True)):
        same(tuple(e.sort(stable=True, **kw)), tuple(t.sort(stable=True, **kw)))
    assert e.sort().values.isnan().tolist()[-2:] == [True, True]


def test_topk_unsorted_gives_the_same_set():
    e, t = both(np.random.default_rng(0).permutation(20).reshape(4, 5))
    r, tr = e.topk(3, sorted=False), t.topk(3, sorted=False)
    np.testing.assert_array_equal(np.sort(r.values.numpy(), 1), np.sort(tr.values.numpy(), 1))
    np.testing.assert_array_equal(np.sort(r.indices.numpy(), 1),
                                  np.sort(tr.indices.numpy(), 1))


def test_median_is_the_lower_one_and_nan_wins():
    e, t = both([4.0, 1.0, 3.0, 2.0])
    assert e.median().item() == t.median().item() == 2.0
    e, t = both([1.0, float('nan'), 3.0])
    assert math.isnan(e.median().item()) and e.nanmedian().item() == t.nanmedian().item()
    e, t = both([float('nan')] * 2)
    assert math.isnan(e.nanmedian().item()) and math.isnan(e.median().item())
    assert math.isnan(ember.tensor([]).median().item())


def test_median_ties_share_the_gradient():
    e, t = both([2.0, 1.0, 2.0, 3.0, 2.0], requires_grad=True)
    e.median().backward()
    t.median().backward()
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


def test_cummax_gradient_adds_up_at_repeated_indices():
    e, t = both([1.0, 3.0, 2.0, 2.5, 0.0], requires_grad=True)
    e.cummax(0).values.sum().backward()
    t.cummax(0).values.sum().backward()
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())
    assert e.grad.tolist() == [1.0, 4.0, 0.0, 0.0, 0.0]


def test_unique_sorted_false_and_nan():
    e, t = both([3, 1, 3, 2], dtype=np.int64)
    same(e.unique(sorted=False), t.unique(sorted=True))
    e, t = both([float('nan'), 1.0, float('nan')])
    same(e.unique(), t.unique())   # each NaN is its own value
    assert not ember.tensor([1.0], requires_grad=True).unique().requires_grad


def test_searchsorted_takes_a_number_and_side():
    s = ember.tensor([1.0, 2.0, 2.0, 3.0])
    assert ember.searchsorted(s, 2.0).item() == torch.searchsorted(torch.tensor(s.numpy()),
                                                                   2.0).item() == 1
    assert ember.searchsorted(s, 2.0, side='right').shape == ()
    assert ember.bucketize(2, s, right=True).item() == 3


@pytest.mark.parametrize('right', [False, True])
def test_searchsorted_with_nan_follows_torchs_binary_search(right):
    nan = float('nan')
    for seq in ([1.0, 2.0, nan], [nan, nan, 1.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0, nan, nan]):
        e, t = both(seq)
        ev, tv = both([nan, 0.5, 1.5, 2.0, 3.0, 9.0])
        same(ember.searchsorted(e, ev, right=right), torch.searchsorted(t, tv, right=right))


def test_bincount_weight_dtypes_as_torch():
    for dt in (np.float32, np.float64, np.int64):
        x, tx = both([0, 2, 2], dtype=np.int64)
        w, tw = both([1, 2, 3], dtype=dt)
        same(ember.bincount(x, w), torch.bincount(tx, tw))


def test_logcumsumexp_is_stable():
    e, t = both([[-1000.0, 1000.0, 1000.0], [-np.inf, -np.inf, 0.0]], requires_grad=True)
    eo, to = e.logcumsumexp(1), t.logcumsumexp(1)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy())
    w = [[1.0, -2.0, 3.0], [0.5, 1.0, -1.0]]
    (eo * ember.tensor(w, dtype=ember.float64)).sum().backward()
    (to * torch.tensor(w, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), atol=1e-12)


def test_diff_n0_and_empty():
    e, t = both([[1.0, 2.0, 4.0]])
    same(e.diff(0), t.diff(0))
    same(e.diff(3), t.diff(3))
    same(ember.ones(0).diff(), torch.ones(0).diff())


# ---------------------------------------------------------------- multinomial

def g_test(observed, expected):
    """The p-value of a G-test of ``observed`` counts against ``expected`` ones."""
    observed, expected = np.asarray(observed, float), np.asarray(expected, float)
    keep = expected > 0
    assert observed[~keep].sum() == 0, 'a category of probability 0 was drawn'
    o, x = observed[keep], expected[keep]
    g = 2 * np.sum(np.where(o > 0, o * np.log(np.where(o > 0, o, 1) / x), 0))
    dof = keep.sum() - 1
    return float(torch.special.gammaincc(torch.tensor(dof / 2, dtype=torch.float64),
                                         torch.tensor(g / 2, dtype=torch.float64)))


P = np.array([0.05, 0.0, 0.3, 0.15, 0.5])


def test_multinomial_with_replacement_has_the_right_distribution():
    g = ember.Generator().manual_seed(1234)
    draws = ember.multinomial(ember.tensor(np.stack([P, P[::-1]]) * 3), 20000, True,
                              generator=g)
    assert draws.shape == (2, 20000) and draws.dtype is ember.int64
    for row, p in zip(draws.numpy(), (P, P[::-1])):
        counts = np.bincount(row, minlength=5)
        assert g_test(counts, p * row.size) > 1e-4


def test_multinomial_without_replacement_never_repeats_and_is_sequential():
    g = ember.Generator().manual_seed(99)
    rows = 20000
    draws = ember.tensor(np.tile(P, (rows, 1))).multinomial(3, generator=g).numpy()
    assert all(len(set(r)) == 3 for r in draws)
    assert g_test(np.bincount(draws[:, 0], minlength=5), P * rows) > 1e-4
    # the second draw: sum_i p_i p_j / (1 - p_i) over i != j
    second = np.array([sum(P[i] * P[j] / (1 - P[i]) for i in range(5) if i != j)
                       for j in range(5)])
    assert g_test(np.bincount(draws[:, 1], minlength=5), second * rows) > 1e-4


def test_multinomial_follows_the_seed():
    x = ember.tensor([0.2, 0.3, 0.5])
    ember.manual_seed(5)
    a = x.multinomial(10, replacement=True)
    ember.manual_seed(5)
    assert a.tolist() == x.multinomial(10, replacement=True).tolist()
    assert ember.multinomial(ember.tensor([1.0, 0.0]), 2).tolist() == [0, 1]   # as torch


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize('fn,err,match', [
    (lambda m: m.ones(3).topk(4), RuntimeError, r'topk: selected index k out of range'),
    (lambda m: m.ones(3).kthvalue(0), RuntimeError, r'kthvalue\(\): selected number k=0'),
    (lambda m: m.ones(2, 3).sort(2), IndexError, r'sort: Dimension out of range'),
    (lambda m: m.ones(0, 3).median(0), IndexError, r'median\(\): Expected reduction dim 0'),
    (lambda m: m.ones(0, 3).mode(0), IndexError, r'mode\(\): Expected reduction dim 0'),
    (lambda m: m.tensor(1.0).diff(), RuntimeError, r'diff\(\): expects input to be at least'),
    (lambda m: m.ones(3).diff(-1), RuntimeError, r'diff\(\): order must be non-negative'),
    (lambda m: m.ones(3).diff(prepend=m.ones(1, 1)), RuntimeError, r'diff\(\): expects prep'),
    (lambda m: m.tensor([1, -1]).bincount(), RuntimeError, r'bincount\(\): only supports 1-d'),
    (lambda m: m.tensor([1.0]).bincount(), RuntimeError, r'bincount\(\): .*float32'),
    (lambda m: m.tensor([1, 2]).bincount(m.ones(3)), RuntimeError, r'bincount\(\): weights'),
    (lambda m: m.tensor([1, 2]).histc(), NotImplementedError, r'histc\(\): .*int64'),
    (lambda m: m.ones(2).histc(0), RuntimeError, r'histc\(\): bins must be > 0'),
    (lambda m: m.ones(2).histc(4, 2, 1), RuntimeError, r'histc\(\): max must be larger'),
    (lambda m: m.tensor([1, 2]).logcumsumexp(0), NotImplementedError, r'logcumsumexp\(\)'),
    (lambda m: m.searchsorted(m.ones(2, 3), m.ones(3, 1)), RuntimeError,
     r'searchsorted\(\): boundaries tensor should be 1 dimension or .*\[2, 3\]'),
    (lambda m: m.searchsorted(m.ones(3), m.ones(2), right=True, side='left'), RuntimeError,
     r"searchsorted\(\): side and right can't be set to opposites"),
    (lambda m: m.bucketize(m.ones(2), m.ones(2, 2)), RuntimeError,
     r'bucketize\(\): boundaries tensor must be 1 dimension'),
    (lambda m: m.ones(2, 2, 2).multinomial(1), RuntimeError, r'multinomial\(\): prob_dist'),
    (lambda m: m.tensor([1, 2]).multinomial(1), RuntimeError, r'multinomial\(\): .*int64'),
    (lambda m: m.ones(3).multinomial(4), RuntimeError, r'multinomial\(\): cannot sample n'),
    (lambda m: m.ones(3).multinomial(0), RuntimeError, r'multinomial\(\): cannot sample n'),
    (lambda m: m.tensor([1.0, -1.0]).multinomial(1), RuntimeError,
     r'multinomial\(\): probability tensor contains'),
    (lambda m: m.zeros(2).multinomial(1), RuntimeError, r'multinomial\(\): invalid multinom'),
])
def test_errors_name_the_op_as_torch_refuses(fn, err, match):
    with pytest.raises(Exception):
        fn(torch)
    with pytest.raises(err, match=match):
        fn(ember)


def test_bad_input_changes_nothing():
    x = ember.tensor([3.0, 1.0, 2.0], requires_grad=True)
    before = x.detach().numpy().copy()
    for bad in (lambda: x.topk(5), lambda: x.kthvalue(4), lambda: x.multinomial(9),
                lambda: x.diff(-1), lambda: ember.searchsorted(x, x, right=True, side='left')):
        with pytest.raises(RuntimeError):
            bad()
    assert (x.detach().numpy() == before).all() and x.grad is None and x._version[0] == 0
    with pytest.raises(TypeError, match=r"sort\(\): argument 'input' must be Tensor"):
        ember.sort([3, 1])


def test_nanmedian_of_a_row_of_nan_is_nan():
    e, t = both([[np.nan] * 4, [1.0, np.nan, 3.0, 2.0]])
    np.testing.assert_array_equal(e.nanmedian(1).values.numpy(), t.nanmedian(1).values.numpy())
