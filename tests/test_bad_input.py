"""Bad input a PyTorch user would give, each beside PyTorch's behaviour (issue 15): ember gives
the same answer, or a clear error naming the op or module, shapes, dtypes or devices, and
changes nothing."""
import numpy as np
import pytest
import torch

import ember


def snapshot(*tensors):
    return [(t._data.copy(), t._version[0], None if t.grad is None else t.grad._data.copy(),
             t.grad_fn) for t in tensors]


def unchanged(before, *tensors):
    for (data, version, grad, fn), t in zip(before, tensors):
        assert np.array_equal(data, t._data) and version == t._version[0] and t.grad_fn is fn
        assert (grad is None and t.grad is None) or np.array_equal(grad, t.grad._data)
    return True


def both_raise(exc, pattern, fn, *tensors, torch_exc=None):
    """``fn(ember)`` raises ``exc`` matching ``pattern`` and leaves ``tensors`` as they were;
    ``fn(torch)`` raises too (``torch_exc``, by default the same class)."""
    with pytest.raises(torch_exc or exc):
        fn(torch)
    before = snapshot(*tensors)
    with pytest.raises(exc, match=pattern):
        fn(ember)
    assert unchanged(before, *tensors)


# ---------------------------------------------------------------- 1: negative indices

X = {m: m.arange(6.).reshape(3, 2) for m in (ember, torch)}


@pytest.mark.parametrize('name,fn', [
    ('index_select', lambda m, x, i: x.index_select(0, i)),
    ('index_add', lambda m, x, i: x.index_add(0, i, m.ones(1, 2))),
    ('index_add', lambda m, x, i: x.index_add_(0, i, m.ones(1, 2))),
])
def test_negative_index_is_refused_as_in_torch(name, fn):
    x = ember.arange(6.).reshape(3, 2)
    both_raise(IndexError, rf'{name}\(\): index out of range .*\[-1\], dimension 0 of size 3',
               lambda m: fn(m, x if m is ember else X[torch].clone(), m.tensor([-1])), x,
               torch_exc=(IndexError, RuntimeError))


def test_index_fill_wraps_negative_indices_as_torch():
    for i in ([-1], [-3, 0]):
        e = X[ember].index_fill(0, ember.tensor(i), 5.0)
        t = X[torch].index_fill(0, torch.tensor(i), 5.0)
        assert e.tolist() == t.tolist()
    x = X[ember].clone()
    both_raise(IndexError, r'index_fill\(\): index out of range',
               lambda m: (x if m is ember else X[torch].clone()).index_fill_(0, m.tensor([-4]),
                                                                              1.0), x)


@pytest.mark.parametrize('fn', [lambda m, x: x.gather(0, m.tensor([[-1, 0]])),
                                lambda m, x: x.scatter(0, m.tensor([[-1, 0]]), 7.0)])
def test_gather_scatter_refuse_negative_indices_as_torch(fn):
    both_raise(RuntimeError, r'index -1 is out of bounds for dimension 0 with size 3',
               lambda m: fn(m, X[m]), X[ember])
