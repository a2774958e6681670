"""Indexing and selection ops against PyTorch: op tables for getitem, setitem, where,
gather/scatter, index_* and masks, then errors."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import NC, Case, make_tests

MASK = np.array([[True, False, True, True], [False, False, False, False],
                 [True, True, False, True]])


def distinct(rng, n, shape):
    """Integer indices in [0, n) with no repeats along the last dimension (scatter is then
    deterministic)."""
    return np.argsort(rng.random(tuple(shape[:-1]) + (n,)), -1)[..., :shape[-1]]


def floats(rng, shape, dtype):
    a = rng.uniform(-2, 2, tuple(shape)[::-1] if isinstance(shape, NC) else tuple(shape))
    return a.astype(dtype).T if isinstance(shape, NC) else a.astype(dtype)


def with_bools(*positions):
    """Float inputs with bool ones at ``positions`` (as arrays even when 0-d)."""
    def make(rng, shapes, dtype):
        return [np.asarray(rng.random(tuple(s)) < 0.5) if i in positions
                else floats(rng, s, dtype) for i, s in enumerate(shapes)]
    return make


def make_scatter(rng, shapes, dtype):
    """x, an index with distinct positions along the last dim, and src."""
    x, index, src = shapes
    return [floats(rng, x, dtype), distinct(rng, x[-1], index), floats(rng, src, dtype)]


def make_vector(n, size, low=0):
    """x (and more float inputs) with a 1-d index of ``size`` entries in [low, n)."""
    def make(rng, shapes, dtype):
        xs = [floats(rng, s, dtype) for s in shapes]
        return xs[:1] + [rng.integers(low, n, size)] + xs[1:]
    return make


def getitem(name, index, shapes, **kw):
    """A case for ``a[index(m)]``; ``index`` builds the index for ember or torch."""
    return Case(f'getitem_{name}', lambda m, a: a[index(m)], [(s,) for s in shapes], **kw)


def setitem(name, index, shapes, **kw):
    """A case for ``y[index(m)] = v`` on a copy of ``a``: gradients reach ``a`` and ``v``."""
    def fn(m, a, v):
        y = a * 1
        y[index(m)] = v
        return y
    return Case(f'setitem_{name}', fn, shapes, **kw)


def setitem_scalar(name, index, shapes):
    def fn(m, a):
        y = a * 1
        y[index(m)] = 2.5
        return y
    return Case(f'setitem_scalar_{name}', fn, [(s,) for s in shapes])


S = (3, 4)
GETITEM = [
    getitem('int', lambda m: 1, [S, (2, 3, 4), NC((4, 3))]),
    getitem('neg_int', lambda m: -1, [S, (5,)]),
    getitem('slice', lambda m: slice(1, None), [S, (0, 3), NC((4, 3))]),
    getitem('neg_slice', lambda m: (slice(-3, -1), slice(None, None, 2)), [S, (2, 3, 4)]),
    getitem('step', lambda m: (slice(None, None, 2), slice(3, 0, -1) and slice(1, 4, 3)), [S]),
    getitem('none', lambda m: (None, 1, None), [S, (2, 3, 4)]),
    getitem('ellipsis', lambda m: (Ellipsis, 0), [S, (2, 3, 4), NC((4, 3))]),
    getitem('ellipsis_none', lambda m: (None, Ellipsis, None), [S, ()]),
    getitem('0d_none', lambda m: None, [()]),
    getitem('0d_ellipsis', lambda m: Ellipsis, [()]),
    getitem('int_tensor', lambda m: m.tensor([2, 0, 2]), [S, (3,), NC((4, 3))]),
    getitem('int_tensor_2d', lambda m: m.tensor([[0, 1], [2, 2]]), [S, (3,)]),
    getitem('0d_int_tensor', lambda m: m.tensor(1), [S]),
    getitem('list', lambda m: [0, 2], [S, (4, 3, 2)]),
    getitem('empty_list', lambda m: [], [S]),
    getitem('bool_mask', lambda m: m.tensor(MASK), [S]),
    getitem('bool_rows', lambda m: m.tensor([True, False, True]), [S, (3,)]),
    getitem('bool_list', lambda m: [False, True, True], [S]),
    getitem('bool_scalar', lambda m: True, [S, ()]),
    getitem('two_tensors', lambda m: (m.tensor([0, 2]), m.tensor([1, 3])), [S, (3, 4, 2)]),
    getitem('broadcast_tensors', lambda m: (m.tensor([[0], [2]]), m.tensor([1, 3, 3])), [S]),
    getitem('slice_tensor', lambda m: (slice(None), m.tensor([3, 0])), [S, NC((4, 4))]),
    getitem('separated', lambda m: (m.tensor([0, 1]), slice(None), m.tensor([1, 2])),
            [(2, 3, 4)]),
    getitem('mask_slice', lambda m: (m.tensor([True, False, True]), slice(1, 3)), [S]),
    getitem('int_list', lambda m: (1, [0, 3]), [S, (2, 4, 3)]),
    getitem('ellipsis_tensor', lambda m: (Ellipsis, m.tensor([1, 1])), [S, (2, 3, 4)]),
    getitem('none_tensor', lambda m: (None, m.tensor([0, 2]), None), [S]),
    getitem('empty_input', lambda m: (slice(1), m.tensor([0, 1])), [(0, 3), (2, 3)]),
]

SETITEM = [
    setitem('slice', lambda m: slice(1, 3), [(S, (2, 4)), (S, (4,)), (S, ()), (NC((4, 3)), (3,))]),
    setitem('int', lambda m: (1, 2), [(S, ()), ((2, 3, 4), (4,))]),
    setitem('ellipsis', lambda m: (Ellipsis, 1), [(S, (3,)), (S, ())]),
    setitem('step', lambda m: (slice(None, None, 2), slice(1, None, 2)), [(S, (2, 2))]),
    setitem('int_tensor', lambda m: m.tensor([2, 0]), [(S, (2, 4)), (S, (4,)), (S, ())]),
    setitem('two_tensors', lambda m: (m.tensor([0, 2]), m.tensor([1, 3])), [(S, (2,))]),
    setitem('mask', lambda m: m.tensor(MASK), [(S, ()), (S, (6,))]),
    setitem('mask_rows', lambda m: m.tensor([True, False, True]), [(S, (4,)), (S, (2, 4))]),
    setitem('none', lambda m: (None, 0), [(S, (4,))]),
    setitem('empty', lambda m: slice(0), [(S, (4,))]),
    setitem_scalar('slice', lambda m: (slice(None), 0), [S, (0, 3)]),
    setitem_scalar('mask', lambda m: m.tensor(MASK), [S]),
    setitem_scalar('0d', lambda m: Ellipsis, [()]),
]


def _inplace(name):
    def fn(m, a, *rest):
        y = a * 1
        getattr(y, name)(*rest)
        return y
    return fn


TABLE = [
    # where
    Case('where', lambda m, c, a, b: m.where(c, a, b), [((3, 4), (3, 4), (3, 4)),
                                                        ((3, 1), (4,), (3, 4)), ((), (2,), ())],
         make=with_bools(0)),
    Case('where_scalar', lambda m, c, a: m.where(c, a, 0.5), [((3, 4), (3, 4)), ((4,), (3, 1))],
         bools=(0,)),
    Case('where_method', lambda m, a, c, b: a.where(c, b), [((3, 4), (3, 4), (4,))], bools=(1,)),
    Case('where_1arg', lambda m, c: m.where(c), [((3, 4),), ((),), ((0, 2),)],
         make=with_bools(0)),
    # gather and scatter
    Case('gather', lambda m, a, i: m.gather(a, 1, i), [((3, 4), (3, 5)), ((3, 4), (2, 2)),
                                                       ((2, 3, 4), (2, 3, 2)),
                                                       (NC((4, 3)), (4, 2)), ((0, 3), (0, 2))],
         ints=((1, 0, 3),)),
    Case('gather_dim0', lambda m, a, i: a.gather(0, i), [((3, 4), (5, 4)), ((3,), (2,))],
         ints=((1, 0, 3),)),
    Case('gather_0d', lambda m, a, i: a.gather(0, i), [((), ())], ints=((1, 0, 1),)),
    Case('scatter', lambda m, a, i, s: a.scatter(-1, i, s),
         [((3, 4), (3, 2), (3, 2)), ((2, 3, 5), (2, 3, 5), (2, 3, 5)),
          (NC((4, 3)), (4, 1), (4, 1))], make=make_scatter),
    # torch has no gradient for a src larger than the index (its backward raises)
    Case('scatter_big_src', lambda m, a, i, s: a.scatter(-1, i, s), [((3, 4), (2, 3), (3, 4))],
         make=make_scatter, grad=False),
    Case('scatter_value', lambda m, a, i: m.scatter(a, 1, i, 1.5),
         [((3, 4), (3, 2)), ((3, 4), (2, 4))], ints=((1, 0, 4),)),
    Case('scatter_add', lambda m, a, i, s: a.scatter_add(1, i, s),
         [((3, 4), (3, 6), (3, 6)), (NC((4, 3)), (4, 2), (4, 2))],
         ints=((1, 0, 3),)),
    Case('scatter_add_big_src', lambda m, a, i, s: a.scatter_add(1, i, s),
         [((3, 4), (2, 2), (3, 3))], ints=((1, 0, 3),), grad=False),
    Case('scatter_add_dim0', lambda m, a, i, s: m.scatter_add(a, 0, i, s),
         [((3, 4), (5, 4), (5, 4)), ((4,), (6,), (6,))], ints=((1, 0, 3),)),
    Case('scatter_', lambda m, a, i, s: _inplace('scatter_')(m, a, 1, i, s),
         [((3, 4), (3, 2), (3, 2))], make=make_scatter),
    Case('scatter_add_', lambda m, a, i, s: _inplace('scatter_add_')(m, a, 1, i, s),
         [((3, 4), (3, 5), (3, 5))], ints=((1, 0, 4),)),
    Case('take_along_dim', lambda m, a, i: m.take_along_dim(a, i, 1),
         [((3, 4), (3, 2)), ((3, 4), (1, 5)), ((1, 4), (3, 2))], ints=((1, 0, 4),)),
    Case('take_along_dim_flat', lambda m, a, i: a.take_along_dim(i),
         [((3, 4), (5,)), ((2, 3, 4), (2, 2))], ints=((1, 0, 12),)),
    # index_*
    Case('index_select', lambda m, a, i: m.index_select(a, 0, i), [((3, 4),), ((3,),),
                                                                   (NC((3, 4)),)],
         make=make_vector(3, 5)),
    Case('index_select_dim1', lambda m, a, i: a.index_select(-1, i), [((3, 4),), ((2, 3, 4),)],
         make=make_vector(4, 3, low=0)),
    Case('index_select_empty', lambda m, a, i: a.index_select(0, i), [((3, 4),)],
         make=make_vector(3, 0)),
    Case('index_add', lambda m, a, i, s: m.index_add(a, 1, i, s, alpha=2.0),
         [((3, 4), (3, 5)), ((2, 4, 2), (2, 5, 2))], make=make_vector(4, 5)),
    Case('index_add_', lambda m, a, i, s: _inplace('index_add_')(m, a, 0, i, s),
         [((3, 4), (5, 4))], make=make_vector(3, 5)),
    Case('index_fill', lambda m, a, i: a.index_fill(1, i, -1.0), [((3, 4),), ((2, 4, 3),)],
         make=make_vector(4, 2)),
    Case('index_fill_tensor', lambda m, a, i, v: m.index_fill(a, 0, i, v), [((3, 4), ())],
         make=make_vector(3, 2)),
    Case('index_fill_', lambda m, a, i: _inplace('index_fill_')(m, a, 0, i, 3.0), [((3, 4),)],
         make=make_vector(3, 2)),
    # masks
    Case('masked_fill', lambda m, a, k: a.masked_fill(k, 0.5),
         [((3, 4), (3, 4)), ((3, 4), (4,)), ((), ()), ((0, 2), (2,)), (NC((4, 3)), (4, 3)),
          ((4,), (3, 4))], make=with_bools(1)),
    Case('masked_fill_tensor', lambda m, a, k, v: m.masked_fill(a, k, v),
         [((3, 4), (3, 4), ()), ((3, 4), (3, 1), ())], bools=(1,)),
    Case('masked_fill_int', lambda m, a, k: a.masked_fill(k, 2.7), [((3, 4), (3, 4))],
         ints=((0, -5, 5),), bools=(1,)),
    Case('masked_fill_', lambda m, a, k: _inplace('masked_fill_')(m, a, k, -1.0),
         [((3, 4), (3, 4)), ((3, 4), (4,))], bools=(1,)),
    Case('masked_select', lambda m, a, k: m.masked_select(a, k),
         [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((), ()), (NC((4, 3)), (4, 3))],
         make=with_bools(1)),
    Case('nonzero', lambda m, a: m.nonzero(a), [((3, 4),), ((),), ((0, 3),), ((2, 3, 4),)],
         ints=((0, 0, 2),), grad=False),
    Case('nonzero_tuple', lambda m, a: a.nonzero(as_tuple=True), [((3, 4),), ((),), ((5,),)],
         ints=((0, 0, 2),), grad=False),
    Case('argwhere', lambda m, a: m.argwhere(a), [((3, 4),)], bools=(0,), grad=False),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(
    GETITEM + SETITEM + TABLE)


# ---------------------------------------------------------------- behaviour

def test_basic_index_is_a_view_and_advanced_a_copy():
    x = ember.arange(12.0).reshape(3, 4)
    v, c = x[1:, ::2], x[[1, 2]]
    x._data[...] = 0
    assert v.sum().item() == 0 and c.sum().item() != 0
    assert v._version is x._version


def test_setitem_through_a_view_reaches_the_base_like_torch():
    res = []
    for m in (ember, torch):
        a = m.ones(3, 4, requires_grad=True, dtype=m.float64)
        v = m.tensor([5.0, 6.0], requires_grad=True, dtype=m.float64)
        b = a * 2
        b[1][1:3] = v * 3
        (b * m.arange(12.0, dtype=m.float64).reshape(3, 4)).sum().backward()
        res.append((b.tolist(), a.grad.tolist(), v.grad.tolist()))
    assert res[0] == res[1]


def test_setitem_without_grad_on_int_tensor():
    x = ember.zeros(3, dtype=ember.int64)
    x[ember.tensor([True, False, True])] = ember.tensor(2.7, requires_grad=True)
    assert x.tolist() == [2, 0, 2] and not x.requires_grad


def test_gather_backward_accumulates_repeated_indices():
    for m in (ember, torch):
        x = m.ones(2, 3, requires_grad=True)
        x.gather(1, m.tensor([[0, 0, 0], [2, 1, 2]])).sum().backward()
        assert x.grad.tolist() == [[3.0, 0.0, 0.0], [0.0, 1.0, 2.0]]


def test_masked_fill_in_place_with_autograd():
    res = []
    for m in (ember, torch):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = a * 2
        y.masked_fill_(m.tensor([True, False, False]), 0.0)
        y.sum().backward()
        res.append(a.grad.tolist())
    assert res[0] == res[1] == [0.0, 2.0, 2.0]


# ---------------------------------------------------------------- errors

def _set(m, idx, v):
    x = m.zeros(3, 4)
    x[idx] = v


ERRORS = [
    ('float_index', lambda m: m.zeros(3)[m.tensor([0.0])], IndexError, 'long, int, byte'),
    ('negative_step', lambda m: m.zeros(3)[::-1], ValueError, 'step must be greater than zero'),
    ('out_of_range', lambda m: m.zeros(3, 4)[5], IndexError, 'out of bounds'),
    ('tensor_out_of_range', lambda m: m.zeros(3)[m.tensor([0, 3])], IndexError, 'bounds'),
    ('mask_shape', lambda m: m.zeros(3, 4)[m.ones(4, dtype=m.bool)], IndexError,
     'boolean index did not match'),
    ('setitem_shape', lambda m: _set(m, slice(0, 2), m.ones(3)), RuntimeError, r'\(3, 4\)'),
    ('gather_dtype', lambda m: m.zeros(3).gather(0, m.tensor([0.0])), RuntimeError, 'int64'),
    ('gather_ndim', lambda m: m.zeros(3, 4).gather(1, m.zeros(3, dtype=m.int64)),
     RuntimeError, 'same number of dimensions'),
    ('gather_size', lambda m: m.zeros(3, 4).gather(1, m.zeros(4, 4, dtype=m.int64)),
     RuntimeError, 'no larger than self'),
    ('gather_bounds', lambda m: m.zeros(3, 4).gather(1, m.full((3, 4), 7)),
     RuntimeError, 'index 7 is out of bounds for dimension 1 with size 4'),
    ('gather_negative', lambda m: m.zeros(3, 4).gather(1, m.full((3, 4), -1)),
     RuntimeError, 'index -1 is out of bounds'),
    ('scatter_dtype', lambda m: m.zeros(3).scatter(0, m.tensor([0]), m.ones(1, dtype=m.int64)),
     RuntimeError, 'dtype'),
    ('index_select_2d', lambda m: m.zeros(3, 4).index_select(0, m.tensor([[1]])),
     IndexError, 'supposed to be a vector'),
    ('index_select_range', lambda m: m.zeros(3, 4).index_select(0, m.tensor([3])),
     IndexError, 'index out of range'),
    ('masked_fill_mask', lambda m: m.zeros(3).masked_fill(m.ones(3), 1.0), RuntimeError,
     'boolean masks'),
    ('masked_fill_value', lambda m: m.zeros(3).masked_fill(m.ones(3, dtype=m.bool),
                                                           m.zeros(2)),
     RuntimeError, '0-dimensional value tensor'),
    ('where_cond', lambda m: m.where(m.ones(2), m.ones(2), m.ones(2)), RuntimeError, 'bool'),
]


@pytest.mark.parametrize('fn,kind,pattern', [pytest.param(f, k, p, id=n)
                                             for n, f, k, p in ERRORS])
def test_errors_like_torch(fn, kind, pattern):
    """Both raise; ember raises ``kind`` with a message carrying ``pattern``."""
    with pytest.raises(Exception):
        fn(torch)
    with pytest.raises(kind, match=pattern):
        fn(ember)
