"""dtype conversions against PyTorch through the op tables (values, dtypes, gradients through
float-to-float casts to second order), then the tensor's plain facts (size, dim, element
size ...) and the ``*_like`` constructors beside torch's."""
import copy

import numpy as np
import pytest
import torch

import ember
from tests.helpers import UNARY, Case, make_tests

WIDE = (-300.0, 300.0)    # integer casts truncate toward zero (and wrap: avoided below)

CASES = [
    Case('double', lambda m, a: a.double(), UNARY),
    # gradcheck=False: float64 finite differences (eps 1e-6) of a rounding to float32 or half
    # precision are not its gradient (1)
    Case('float', lambda m, a: a.float(), UNARY, gradcheck=False),
    Case('half', lambda m, a: a.half().float(), UNARY, atol=1e-3, rtol=1e-3, gradcheck=False),
    Case('bfloat16', lambda m, a: a.bfloat16().float(), UNARY, atol=1e-2, rtol=1e-2,
         gradcheck=False),
    Case('to_dtype', lambda m, a: a.to(m.float64) * a.to(dtype=m.float32), UNARY,
         gradcheck=False),
    Case('type_dtype', lambda m, a: a.type(m.float64), UNARY),
    Case('long', lambda m, a: a.long(), UNARY, domain=WIDE),
    Case('int', lambda m, a: a.int(), UNARY, domain=WIDE),
    Case('short', lambda m, a: a.short(), UNARY, domain=WIDE),
    Case('char', lambda m, a: a.char(), UNARY, domain=(-120.0, 120.0)),
    Case('byte', lambda m, a: a.byte(), UNARY, domain=(0.0, 250.0)),
    Case('bool', lambda m, a: a.bool(), UNARY, domain=(-1.0, 1.0)),
    Case('int_to_float', lambda m, a: a.float() / 3 + a.double(), UNARY[:2],
         ints=((0, -9, 9),), dtypes=('float32',)),
    Case('int_to_int', lambda m, a: a.to(m.int8) + a.to(m.int16) * a.short(), UNARY[:2],
         ints=((0, -9, 9),), dtypes=('float32',)),
    Case('bool_to', lambda m, a: a.to(m.float32) + a.long() + a.byte(), UNARY[:2], bools=(0,),
         dtypes=('float32',)),
    Case('to_like', lambda m, a, b: a.to(b), [((3, 4), ()), ((2,), (5,))], ints=((1, 0, 3),)),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


# ---------------------------------------------------------------- plain facts

@pytest.mark.parametrize('dtype', ['float32', 'float64', 'float16', 'int64', 'int32', 'int16',
                                   'int8', 'uint8', 'bool'])
def test_tensor_facts_like_torch(dtype):
    facts = []
    for m in (ember, torch):
        x = m.zeros((2, 3, 4), dtype=getattr(m, dtype))
        facts.append((x.element_size(), x.itemsize, x.is_floating_point(), x.dim(),
                      x.ndimension(), x.ndim, x.numel(), x.nelement(), m.numel(x),
                      tuple(x.size()), x.size(1), x.size(-1), x.is_contiguous(),
                      x.transpose(0, 2).is_contiguous(), m.is_tensor(x), m.is_tensor(3)))
    assert facts[0] == facts[1]


def test_python_numbers_from_tensors_like_torch():
    for m in (ember, torch):
        t = m.tensor(5)
        assert [1, 2, 3, 4, 5, 6][t] == 6 and int(m.tensor(-2.7)) == -2 and t.__index__() == 5
        assert float(m.tensor([1.5])) == 1.5 and bool(m.tensor([0.0])) is False
        with pytest.raises(TypeError):
            [1, 2][m.tensor(1.0)]      # a float tensor is no index


@pytest.mark.parametrize('name', ['empty_like', 'zeros_like', 'ones_like', 'rand_like',
                                  'randn_like'])
def test_like_constructors_like_torch(name):
    """Shape, dtype and requires_grad as torch's (the values of zeros/ones exactly)."""
    out = []
    for m in (ember, torch):
        x = m.ones((2, 0, 3) if name == 'empty_like' else (2, 3), dtype=m.float64)
        a = getattr(m, name)(x)
        b = getattr(m, name)(x, dtype=m.float32, requires_grad=True)
        vals = a.tolist() if name in ('zeros_like', 'ones_like') else None
        out.append((tuple(a.shape), str(a.dtype)[-7:], str(b.dtype)[-7:], b.requires_grad,
                    b.is_leaf, vals))
    assert out[0] == out[1]
    if name == 'rand_like':
        r = ember.rand_like(ember.ones(1000)).numpy()
        assert 0 <= r.min() and r.max() < 1 and 0.4 < r.mean() < 0.6


def test_full_like_and_default_dtype_like_torch():
    for m in (ember, torch):
        x = m.ones(2, 3, dtype=m.int32)
        assert m.full_like(x, 7).tolist() == [[7] * 3] * 2 and m.full_like(x, 7).dtype == m.int32
        assert m.full_like(x, 2.5, dtype=m.float64).dtype == m.float64
        assert m.get_default_dtype() == m.float32


def test_deepcopy_like_torch():
    res = []
    for m in (ember, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = copy.deepcopy(x)
        with m.no_grad():
            y.add_(1)
        res.append((x.tolist(), y.tolist(), y.requires_grad, y.is_leaf, y is not x))
    assert res[0] == res[1]
    with pytest.raises(RuntimeError):      # torch copies only graph leaves
        copy.deepcopy(torch.ones(2, requires_grad=True) * 2)
    with pytest.raises(RuntimeError):
        copy.deepcopy(ember.ones(2, requires_grad=True) * 2)


def test_seed_functions_restore_a_stream():
    ember.manual_seed(123)
    assert ember.initial_seed() == 123
    a = ember.rand(3).numpy()
    ember.manual_seed(123)
    np.testing.assert_array_equal(ember.rand(3).numpy(), a)
    s = ember.seed()
    assert ember.initial_seed() == s
