"""Reductions against PyTorch: tables of cases over shape menus, and plain tests for the rules
(ties, zeros, errors) a table cannot show."""
import math

import numpy as np
import pytest
import torch

import ember
from tests.helpers import NC, Case, make_tests

# shape menus for reductions: the dims each case reduces must exist in every entry
ALL = [((3, 4),), ((2, 3, 4),), ((),), ((0, 3),), (NC((4, 3)),)]
LAST = FIRST = ALL                                  # dim=-1 and dim=0 work on 0-d too
PAIR = [((3, 4),), ((2, 3, 4),), ((0, 3),), (NC((4, 3)),)]  # dim=(0, -1)
NONEMPTY = [((3, 4),), ((2, 3, 4),), ((),), (NC((4, 3)),)]
NONEMPTY_LAST = ALL     # max(-1) of a (0, 3) tensor is empty, not an error


def _shape(s):
    return tuple(s)[::-1] if isinstance(s, NC) else tuple(s)


def distinct(rng, shapes, dtype):
    """Inputs without ties (a permutation, spaced by 0.25), for max/min/argmax cases."""
    out = []
    for s in shapes:
        n = math.prod(_shape(s))
        a = ((rng.permutation(n) - n / 2) / 4).reshape(_shape(s)).astype(dtype)
        out.append(a.T if isinstance(s, NC) else a)
    return out


def with_zeros(rng, shapes, dtype):
    """Uniform inputs with some exact zeros: one in some rows, two in others."""
    out = []
    for s in shapes:
        a = np.asarray(rng.uniform(0.5, 1.5, size=_shape(s)) * rng.choice([-1, 1], _shape(s)))
        flat = a.reshape(-1)
        flat[::5] = 0
        flat[1:2] = 0
        a = a.astype(dtype)
        out.append(a.T if isinstance(s, NC) else a)
    return out


def bools(rng, shapes, dtype):
    """Bool inputs (as ndarrays, also for 0-d)."""
    return [np.asarray(rng.random(_shape(s)) < 0.5) for s in shapes]


def reduction(name, fn, variants, **kw):
    """One case per (suffix, function of (m, x), shape menu)."""
    return [Case(f'{name}_{suffix}', (lambda f: lambda m, a: fn(m, a, f))(arg), menu, **kw)
            for suffix, arg, menu in variants]


DIMS = [('all', {}, ALL), ('last', dict(dim=-1), LAST),
        ('first_keep', dict(dim=0, keepdim=True), FIRST),
        ('pair', dict(dim=(0, -1)), PAIR)]
ONE_DIM = [('all', {}, ALL), ('last', dict(dim=-1), LAST),
           ('first_keep', dict(dim=0, keepdim=True), FIRST)]

CASES = [
    *reduction('sum', lambda m, a, kw: a.sum(**kw), DIMS),
    *reduction('mean', lambda m, a, kw: m.mean(a, **kw), DIMS),
    *reduction('var', lambda m, a, kw: a.var(**kw), DIMS),
    *reduction('std', lambda m, a, kw: m.std(a, **kw), DIMS[1:]),
    Case('var_unbiased_false', lambda m, a: m.var(a, 1, unbiased=False), PAIR),
    Case('var_unbiased_positional', lambda m, a: a.var(False), ALL),
    Case('var_correction2', lambda m, a: a.var(dim=(0, -1), correction=2, keepdim=True),
         PAIR),
    Case('std_correction0', lambda m, a: a.std(correction=0), ALL),
    *reduction('prod', lambda m, a, kw: a.prod(**kw), ONE_DIM),
    Case('prod_zeros_all', lambda m, a: a.prod(), ALL[:2], make=with_zeros),
    Case('prod_zeros_dim', lambda m, a: m.prod(a, 1), ALL[:2], make=with_zeros),
    Case('sum_int', lambda m, a: a.sum(-1), ALL, ints=((0, -5, 5),), grad=False),
    Case('sum_bool', lambda m, a: a.sum(), ALL, make=bools, grad=False),
    Case('sum_dtype', lambda m, a: m.sum(a, 0, dtype=m.float64), FIRST),
    Case('prod_int', lambda m, a: a.prod(-1), ALL, ints=((0, -3, 3),), grad=False),
    Case('max_all', lambda m, a: a.max(), NONEMPTY, make=distinct),
    Case('min_all', lambda m, a: m.min(a), NONEMPTY, make=distinct),
    Case('max_dim', lambda m, a: m.max(a, -1), NONEMPTY_LAST, make=distinct),
    Case('max_dim_keep', lambda m, a: a.max(0, keepdim=True), NONEMPTY, make=distinct),
    Case('min_dim', lambda m, a: a.min(dim=-1), NONEMPTY_LAST, make=distinct),
    Case('amax_pair', lambda m, a: a.amax((0, -1)), PAIR[:2] + PAIR[3:], make=distinct),
    Case('amax_last_keep', lambda m, a: m.amax(a, -1, keepdim=True), NONEMPTY_LAST,
         make=distinct),
    Case('amin_all', lambda m, a: a.amin(), NONEMPTY, make=distinct),
    Case('argmax_all', lambda m, a: a.argmax(), NONEMPTY, make=distinct, grad=False),
    Case('argmax_all_keep', lambda m, a: m.argmax(a, keepdim=True), NONEMPTY, make=distinct,
         grad=False),
    Case('argmax_last', lambda m, a: a.argmax(-1), NONEMPTY_LAST, make=distinct, grad=False),
    Case('argmin_first_keep', lambda m, a: m.argmin(a, 0, keepdim=True), NONEMPTY,
         make=distinct, grad=False),
    Case('logsumexp_last', lambda m, a: a.logsumexp(-1), LAST),
    # (empty: ember's composite log(sum(exp)) divides by the sum 0 before it broadcasts, so
    # the output gradient's second-order gradient is 0 * inf = nan where torch's is 0)
    Case('logsumexp_pair_keep', lambda m, a: m.logsumexp(a, (0, -1), keepdim=True), PAIR,
         empty_second_order=False),
    Case('logsumexp_int', lambda m, a: m.logsumexp(a, 0), FIRST[:2], ints=((0, -3, 3),),
         grad=False),
    Case('norm', lambda m, a: a.norm(), ALL),
    Case('norm_fro_pair', lambda m, a: m.norm(a, 'fro', dim=(0, -1)), PAIR),
    Case('norm_2_last_keep', lambda m, a: a.norm(2, dim=-1, keepdim=True), LAST),
    Case('norm_1', lambda m, a: a.norm(1), ALL),
    Case('norm_1_last', lambda m, a: a.norm(p=1, dim=-1), LAST),
    Case('norm_inf', lambda m, a: a.norm(float('inf')), NONEMPTY, make=distinct),
    Case('norm_neg_inf_last', lambda m, a: a.norm(-float('inf'), dim=-1), NONEMPTY,
         make=distinct),
    Case('norm_3', lambda m, a: a.norm(3, dim=-1), NONEMPTY, domain=(0.5, 2.0)),
    Case('norm_0', lambda m, a: a.norm(0), ALL),
    Case('cumsum_last', lambda m, a: a.cumsum(-1), LAST),
    Case('cumsum_first', lambda m, a: m.cumsum(a, 0), FIRST),
    Case('cumsum_int', lambda m, a: a.cumsum(0), FIRST, ints=((0, -5, 5),), grad=False),
    Case('cumprod_last', lambda m, a: a.cumprod(-1), LAST),
    Case('cumprod_first', lambda m, a: m.cumprod(a, 0), FIRST),
    Case('cumprod_zeros', lambda m, a: a.cumprod(-1), ALL[:2], make=with_zeros),
    Case('all', lambda m, a: a.all(), ALL, make=bools, grad=False),
    Case('all_last_keep', lambda m, a: m.all(a, -1, keepdim=True), LAST, make=bools,
         grad=False),
    Case('any_first', lambda m, a: a.any(0), FIRST, make=bools, grad=False),
    Case('any_float', lambda m, a: m.any(a, -1), LAST, make=with_zeros, grad=False),
    Case('all_uint8', lambda m, a: a.to(m.uint8).all(-1), LAST, ints=((0, 0, 3),),
         grad=False),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


# ---------------------------------------------------------------- plain tests: the rules

def both(values):
    a = np.array(values, dtype=np.float64)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def grads_match(e, t, fn):
    """Forward and first-order gradient of ``fn`` agree with torch on the inputs."""
    eo, to = fn(ember, e), fn(torch, t)
    np.testing.assert_allclose(eo._data, to.detach().numpy())
    (eg,) = ember.autograd.grad(eo.sum(), e)
    (tg,) = torch.autograd.grad(to.sum(), t)
    np.testing.assert_allclose(eg._data, tg.numpy())
    return eg


@pytest.mark.parametrize('fn', [lambda m, x: x.max(), lambda m, x: m.min(x),
                                lambda m, x: x.amax(1), lambda m, x: m.amin(x, (0, 1)),
                                lambda m, x: x.norm(float('inf'), dim=1)])
def test_ties_share_the_gradient_evenly(fn):
    e, t = both([[3.0, 1.0, 3.0], [-3.0, 3.0, 0.0]])
    grads_match(e, t, fn)


@pytest.mark.parametrize('name', ['max', 'min'])
def test_max_dim_gradient_goes_to_the_returned_index(name):
    e, t = both([[2.0, 2.0, 1.0], [1.0, 1.0, 1.0]])
    er, tr = getattr(e, name)(1), getattr(t, name)(1)
    np.testing.assert_array_equal(er.indices._data, tr.indices.numpy())
    np.testing.assert_array_equal(er[1]._data, tr[1].numpy())
    er.values.sum().backward()
    tr.values.sum().backward()
    np.testing.assert_array_equal(e.grad._data, t.grad.numpy())
    assert type(er).__name__ == name and er.indices.dtype is ember.int64


def test_max_of_0d_with_dim():
    r = ember.tensor(3.0).max(0)
    assert r.values.shape == () and r.indices.shape == () and r.indices.item() == 0


@pytest.mark.parametrize('values', [[2.0, 0.0, 3.0, 4.0], [0.0, 2.0, 0.0, 3.0],
                                    [[0.0, 2.0], [3.0, 0.0]]])
def test_prod_gradient_with_zeros(values):
    e, t = both(values)
    grads_match(e, t, lambda m, x: x.prod())
    (eg,) = ember.autograd.grad(e.prod(), e, create_graph=True)
    (tg,) = torch.autograd.grad(t.prod(), t, create_graph=True)
    w = np.arange(1.0, 1 + e.numel()).reshape(e.shape)
    (egg,) = ember.autograd.grad((eg * ember.tensor(w)).sum(), e)
    (tgg,) = torch.autograd.grad((tg * torch.tensor(w)).sum(), t)
    np.testing.assert_allclose(egg._data, tgg.numpy())


def test_cumprod_gradient_with_zeros():
    e, t = both([[2.0, 0.0, 3.0, 0.0], [1.0, 2.0, 0.0, 4.0]])
    grads_match(e, t, lambda m, x: x.cumprod(1) * m.tensor([1.0, 2.0, 3.0, 4.0],
                                                           dtype=m.float64))


@pytest.mark.parametrize('fn', [lambda m, x: x.norm(), lambda m, x: m.norm(x, 1),
                                lambda m, x: x.norm(dim=1), lambda m, x: x.std(correction=0),
                                lambda m, x: m.std(x, 1)])
def test_gradient_at_zero_is_zero(fn):
    e, t = both([[0.0, 0.0], [0.0, 0.0]])
    eg = grads_match(e, t, fn)
    assert not np.isnan(eg._data).any()


def test_logsumexp_is_stable():
    e, t = both([[1000.0, 1000.0], [-1000.0, -float('inf')], [-float('inf'), -float('inf')]])
    grads_match(e, t, lambda m, x: x.logsumexp(1)[:2])
    np.testing.assert_array_equal(e.logsumexp(1)[2]._data, -np.inf)


def test_argmax_flattens_without_dim():
    x = ember.tensor([[1.0, 7.0], [9.0, 2.0]])
    assert x.argmax().item() == 2 and x.argmin().item() == 0
    assert x.argmax(keepdim=True).shape == (1, 1)


def test_dtypes_of_integer_reductions():
    i32 = ember.tensor([1, 2, 3], dtype=ember.int32)
    assert i32.sum().dtype is ember.int64 and i32.prod().dtype is ember.int64
    assert ember.tensor([True, True]).sum().item() == 2
    assert i32.cumsum(0).dtype is ember.int64
    assert i32.sum(dtype=ember.float32).dtype is ember.float32
    assert ember.tensor([1, 0], dtype=ember.uint8).any().dtype is ember.uint8
    assert ember.tensor([1.0, 0.0]).all().dtype is ember.bool


def test_empty_tuple_dim_reduces_everything():
    assert ember.ones(2, 3).sum(()).shape == () and ember.ones(2, 3).amax(()).shape == ()


def test_max_with_a_tensor_is_elementwise_like_torch():
    for m in (ember, torch):
        a, b = m.tensor([1.0, 4.0]), m.tensor([3.0, 2.0])
        assert a.max(b).tolist() == [3.0, 4.0] and m.min(a, b).tolist() == [1.0, 2.0]


@pytest.mark.parametrize('fn,err,match', [
    (lambda: ember.ones(0, 3).max(), RuntimeError, r'max\(\): Expected reduction dim'),
    (lambda: ember.ones(0, 3).argmax(), RuntimeError, r'argmax\(\): Expected reduction dim'),
    (lambda: ember.ones(0, 3).amax(0), IndexError, r'amax\(\): Expected reduction dim 0'),
    (lambda: ember.ones(0, 3).min(0), IndexError, r'min\(\): Expected reduction dim 0'),
    (lambda: ember.ones(3, 4).sum(2), IndexError, r'sum: Dimension out of range'),
    (lambda: ember.ones(3, 4).var((1, -1)), RuntimeError, r'var: dim .* multiple times'),
    (lambda: ember.tensor([1, 2]).var(), RuntimeError, r'var: .*floating point.*int64'),
    (lambda: ember.tensor([1, 2]).norm(), RuntimeError, r'norm: .*floating-point.*int64'),
    (lambda: ember.ones(3).var(unbiased=True, correction=0), RuntimeError, 'either'),
    (lambda: ember.ones(3).norm('nuc'), RuntimeError, "p='nuc' needs two dims"),
    (lambda: ember.ones(3).norm('foo'), NotImplementedError, 'foo'),
    (lambda: ember.ones(3).cumsum(1), IndexError, 'cumsum: Dimension out of range'),
])
def test_errors_name_the_op(fn, err, match):
    with pytest.raises(err, match=match):
        fn()
