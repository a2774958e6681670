"""Elementwise ops against PyTorch: one table entry per op."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import BINARY, TERNARY, UNARY, Case, make_tests

def fn(name, **kw):
    """``m.nn.functional.<name>(x, **kw)`` for both frameworks."""
    return lambda m, x: getattr(m.nn.functional, name)(x, **kw)


POS = (0.1, 3.0)        # log, sqrt, rsqrt
INT = ((0, -5, 6),)     # an integer input in [-5, 6)
ONCE = ('float32',)     # integer inputs: the float dtype axis is moot

CASES = [
    Case('add', lambda m, a, b: m.add(a, b), BINARY),
    Case('add_alpha', lambda m, a, b: m.add(a, b, alpha=2.5), BINARY[:3]),
    Case('add_scalar', lambda m, a: a + 1.5, UNARY),
    Case('radd_scalar', lambda m, a: 1.5 + a, UNARY),
    Case('sub', lambda m, a, b: a - b, BINARY),
    Case('rsub_scalar', lambda m, a: 2 - a, UNARY),
    Case('mul', lambda m, a, b: a * b, BINARY),
    Case('div', lambda m, a, b: a / b, BINARY, domain=(0.5, 2.0)),
    Case('rdiv_scalar', lambda m, a: 2 / a, UNARY, domain=(0.5, 2.0)),
    Case('neg', lambda m, a: -a, UNARY),
    Case('pow_scalar', lambda m, a: a ** 3, UNARY),
    Case('pow_frac', lambda m, a: a ** 0.5, UNARY, domain=(0.5, 2.0)),
    Case('pow_tensor', lambda m, a, b: a ** b, BINARY, domain=(0.5, 2.0)),
    Case('rpow_scalar', lambda m, a: 2 ** a, UNARY),
    Case('exp', lambda m, a: m.exp(a), UNARY),
    Case('log', lambda m, a: m.log(a), UNARY, domain=(0.1, 3.0)),
    Case('int_add_float', lambda m, a: a + 2.5, UNARY, ints=((0, -5, 5),)),
    Case('int_true_div', lambda m, a, b: a / b, BINARY[:3], ints=((0, -5, 5), (1, 1, 4))),
    Case('floor_div', lambda m, a, b: m.div(a, b, rounding_mode='floor'), BINARY[:3],
         ints=((0, -9, 9), (1, 1, 4)), grad=False),
    Case('trunc_div', lambda m, a, b: m.div(a, b, rounding_mode='trunc'), BINARY[:3],
         domain=(0.5, 3.0), grad=False),

    # math functions
    Case('abs', lambda m, a: m.abs(a), UNARY),
    # (abs's own second derivative is zero: times x, its first derivative shows in it)
    Case('abs_times_x', lambda m, a: m.abs(a) * a, UNARY),
    Case('abs_op', lambda m, a: abs(a), UNARY[:2]),
    Case('abs_int', lambda m, a: a.abs(), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('sign', lambda m, a: m.sign(a), UNARY),
    Case('sign_int', lambda m, a: m.sign(a), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('exp2', lambda m, a: m.exp2(a), UNARY),
    Case('exp2_int', lambda m, a: m.exp2(a), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('expm1', lambda m, a: m.expm1(a), UNARY),
    Case('log2', lambda m, a: m.log2(a), UNARY, domain=POS),
    Case('log10', lambda m, a: m.log10(a), UNARY, domain=POS),
    Case('log1p', lambda m, a: m.log1p(a), UNARY, domain=(-0.5, 2.0)),
    Case('sqrt', lambda m, a: m.sqrt(a), UNARY, domain=POS),
    Case('sqrt_int', lambda m, a: m.sqrt(a), UNARY[:2], ints=((0, 0, 9),), dtypes=ONCE),
    Case('rsqrt', lambda m, a: m.rsqrt(a), UNARY, domain=POS),
    Case('reciprocal', lambda m, a: m.reciprocal(a), UNARY, domain=(0.5, 2.0)),
    Case('reciprocal_int', lambda m, a: m.reciprocal(a), UNARY[:2], ints=((0, 1, 6),), dtypes=ONCE),
    Case('square', lambda m, a: m.square(a), UNARY),
    Case('square_int', lambda m, a: m.square(a), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('sin', lambda m, a: m.sin(a), UNARY),
    Case('sin_int', lambda m, a: m.sin(a), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('cos', lambda m, a: m.cos(a), UNARY),
    Case('tan', lambda m, a: m.tan(a), UNARY, domain=(-1.2, 1.2)),
    Case('asin', lambda m, a: m.asin(a), UNARY, domain=(-0.9, 0.9)),
    Case('acos', lambda m, a: m.acos(a), UNARY, domain=(-0.9, 0.9)),
    Case('atan', lambda m, a: m.atan(a), UNARY),
    Case('arcsin', lambda m, a: a.arcsin(), UNARY[:2], domain=(-0.9, 0.9)),
    Case('atan2', lambda m, a, b: m.atan2(a, b), BINARY),
    Case('atan2_int', lambda m, a, b: m.atan2(a, b), BINARY[:3], ints=(INT[0], (1, 1, 5)),
         dtypes=ONCE),
    Case('sinh', lambda m, a: m.sinh(a), UNARY),
    Case('cosh', lambda m, a: m.cosh(a), UNARY),
    Case('tanh', lambda m, a: m.tanh(a), UNARY),
    Case('erf', lambda m, a: m.erf(a), UNARY),
    Case('erfc', lambda m, a: m.erfc(a), UNARY),
    Case('erf_int', lambda m, a: m.erf(a), UNARY[:2], ints=INT, dtypes=ONCE),

    # activations (domains keep random inputs off the kinks by chance only: ties are tested
    # exactly in test_subgradients_match_torch below)
    Case('sigmoid', lambda m, a: m.sigmoid(a), UNARY, domain=(-6, 6)),
    Case('sigmoid_int', lambda m, a: m.sigmoid(a), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('logsigmoid', fn('logsigmoid'), UNARY, domain=(-6, 6)),
    Case('relu', lambda m, a: m.relu(a), UNARY),
    Case('relu_int', lambda m, a: m.relu(a), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('relu6', fn('relu6'), UNARY, domain=(-2, 8)),
    Case('leaky_relu', fn('leaky_relu', negative_slope=0.2), UNARY),
    Case('elu', fn('elu', alpha=1.5), UNARY, domain=(-3, 3)),
    Case('selu', fn('selu'), UNARY, domain=(-3, 3)),
    Case('celu', fn('celu', alpha=0.7), UNARY, domain=(-3, 3)),
    Case('gelu', fn('gelu'), UNARY, domain=(-3, 3)),
    Case('gelu_tanh', fn('gelu', approximate='tanh'), UNARY, domain=(-3, 3)),
    Case('silu', fn('silu'), UNARY, domain=(-4, 4)),
    Case('mish', fn('mish'), UNARY, domain=(-4, 4)),
    Case('softplus', fn('softplus'), UNARY, domain=(-4, 4)),
    Case('softplus_beta', fn('softplus', beta=2.0, threshold=3.0), UNARY, domain=(-4, 4)),
    Case('softsign', fn('softsign'), UNARY),
    Case('hardtanh', fn('hardtanh'), UNARY),
    Case('hardtanh_bounds', fn('hardtanh', min_val=-0.5, max_val=1.5), UNARY),
    Case('hardtanh_int', fn('hardtanh'), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('hardsigmoid', fn('hardsigmoid'), UNARY, domain=(-5, 5),
         second_order=False),   # torch: no double backward (ember's: gradgradcheck below)
    Case('hardswish', fn('hardswish'), UNARY, domain=(-5, 5)),

    # clamping, extremes, interpolation
    Case('clamp', lambda m, a: m.clamp(a, -0.5, 1.0), UNARY),
    Case('clamp_min', lambda m, a: m.clamp(a, min=-0.5), UNARY),
    Case('clamp_max', lambda m, a: a.clamp(max=0.5), UNARY),
    Case('clamp_min_fn', lambda m, a: m.clamp_min(a, 0.3), UNARY[:2]),
    Case('clamp_max_fn', lambda m, a: m.clamp_max(a, 0.3), UNARY[:2]),
    Case('clip', lambda m, a: m.clip(a, -1, 1), UNARY[:2]),
    # (torch cannot broadcast x itself up to the bounds' shape in backward: no () for x)
    Case('clamp_tensor', lambda m, a, lo, hi: m.clamp(a, -lo.abs() - 0.1, hi.abs() + 0.1),
         [s for s in TERNARY if s[0] != ()]),
    Case('clamp_tensor_min', lambda m, a, lo: m.clamp(a, min=lo), BINARY),
    Case('clamp_tensor_max', lambda m, a, hi: m.clamp(a, max=hi), BINARY),
    Case('clamp_int', lambda m, a: m.clamp(a, -2, 3), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('clamp_int_float_bound', lambda m, a: m.clamp(a, 0.5), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('maximum', lambda m, a, b: m.maximum(a, b), BINARY),
    Case('minimum', lambda m, a, b: m.minimum(a, b), BINARY),
    Case('maximum_int', lambda m, a, b: m.maximum(a, b), BINARY[:3], ints=(INT[0],), dtypes=ONCE),
    Case('lerp', lambda m, a, b: m.lerp(a, b, 0.3), BINARY[:6]),
    Case('lerp_tensor', lambda m, a, b, w: m.lerp(a, b, w), TERNARY),

    # rounding, tests, repairs
    Case('floor', lambda m, a: m.floor(a), UNARY, domain=(-3, 3)),
    Case('floor_int', lambda m, a: m.floor(a), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('ceil', lambda m, a: m.ceil(a), UNARY, domain=(-3, 3)),
    Case('round', lambda m, a: m.round(a), UNARY, domain=(-3, 3)),
    Case('round_decimals', lambda m, a: m.round(a, decimals=2), UNARY, domain=(-3, 3)),
    Case('round_neg_decimals', lambda m, a: m.round(a, decimals=-1), UNARY, domain=(-80, 80)),
    Case('trunc', lambda m, a: m.trunc(a), UNARY, domain=(-3, 3)),
    Case('frac', lambda m, a: m.frac(a), UNARY, domain=(-3, 3)),
    Case('isnan', lambda m, a: m.isnan(m.log(a)), UNARY, grad=False),
    Case('isinf', lambda m, a: m.isinf(1 / m.floor(a)), UNARY, grad=False),
    Case('isfinite', lambda m, a: m.isfinite(m.log(a)), UNARY, grad=False),
    Case('isnan_int', lambda m, a: m.isnan(a), UNARY[:2], ints=INT, dtypes=ONCE),
    Case('nan_to_num', lambda m, a: m.nan_to_num(a), UNARY),

    # integer division and remainders
    Case('floor_divide', lambda m, a, b: m.floor_divide(a, b), BINARY[:3],
         ints=((0, -9, 9), (1, 1, 4)), grad=False),
    Case('floordiv_op', lambda m, a, b: a // b, BINARY, domain=(0.5, 5.0), grad=False),
    Case('rfloordiv_op', lambda m, a: 7 // a, UNARY[:2], ints=((0, 1, 5),), dtypes=ONCE),
    Case('remainder', lambda m, a, b: m.remainder(a, b), BINARY, domain=(0.5, 5.0)),
    Case('remainder_scalar', lambda m, a: m.remainder(a, 0.7), UNARY),
    Case('remainder_int', lambda m, a, b: a % b, BINARY[:3], ints=((0, -9, 9), (1, -4, -1)),
         dtypes=ONCE),
    Case('mod_op', lambda m, a: a % 1.5, UNARY, domain=(-5, 5)),
    Case('rmod_op', lambda m, a: 7.5 % a, UNARY, domain=(0.5, 5.0), grad=False),  # torch: none
    Case('fmod', lambda m, a, b: m.fmod(a, b), BINARY, domain=(0.5, 5.0)),
    Case('fmod_neg', lambda m, a: m.fmod(-a, 0.7), UNARY),
    Case('fmod_int', lambda m, a, b: m.fmod(a, b), BINARY[:3], ints=((0, -9, 9), (1, 1, 4)),
         dtypes=ONCE),
    Case('pos_op', lambda m, a: +a, UNARY[:2]),

    # torch's other names for the ops above, each by its own name (a wrong alias fails)
    Case('absolute', lambda m, a: m.absolute(a) * a.absolute(), UNARY[:2]),
    Case('arccos', lambda m, a: m.arccos(a) + a.arccos(), UNARY[:2], domain=(-0.9, 0.9)),
    Case('arcsin_fn', lambda m, a: m.arcsin(a), UNARY[:2], domain=(-0.9, 0.9)),
    Case('arctan', lambda m, a: m.arctan(a) + a.arctan(), UNARY[:2]),
    Case('arctan2', lambda m, a, b: m.arctan2(a, b) + a.arctan2(b), BINARY[:3]),
    Case('divide', lambda m, a, b: m.divide(a, b) + a.divide(b), BINARY[:3], domain=(0.5, 2)),
    Case('divide_floor', lambda m, a, b: m.divide(a, b, rounding_mode='floor'), BINARY[:3],
         domain=(0.5, 5.0), grad=False),
    Case('true_divide', lambda m, a, b: m.true_divide(a, b) + a.true_divide(b), BINARY[:3],
         domain=(0.5, 2)),
    Case('multiply', lambda m, a, b: m.multiply(a, b) + a.multiply(b) + m.mul(a, 2.0),
         BINARY[:3]),
    Case('floor_divide_method', lambda m, a, b: a.floor_divide(b), BINARY[:3],
         domain=(0.5, 3.0), grad=False),   # torch: no derivative for floor_divide
    Case('subtract', lambda m, a, b: m.subtract(a, b, alpha=2) + a.subtract(b) + m.sub(a, b),
         BINARY[:3]),
    Case('add_method', lambda m, a, b: a.add(b, alpha=0.5) + a.div(b), BINARY[:3],
         domain=(0.5, 2)),
    Case('negative', lambda m, a: m.negative(a) + a.negative() + m.neg(a) + a.neg(), UNARY[:2]),
    Case('positive', lambda m, a: m.positive(a) + a.positive(), UNARY[:2]),
    Case('pow_fn', lambda m, a, b: m.pow(a, b) + a.pow(2) + m.pow(2.0, b), BINARY[:3],
         domain=(0.5, 2.0)),
    Case('fix', lambda m, a: m.fix(a) + a.fix(), UNARY[:2], domain=(-3, 3)),
    Case('clip_method', lambda m, a: a.clip(-0.5, 0.5) + a.clamp_min(0.1) + a.clamp_max(0.2),
         UNARY[:2]),
    Case('exp_method', lambda m, a: a.exp() + a.exp2() + a.expm1(), UNARY[:2]),
    Case('log_methods', lambda m, a: a.log() + a.log2() + a.log10() + a.log1p(), UNARY[:2],
         domain=POS),
    Case('root_methods', lambda m, a: a.sqrt() + a.rsqrt() + a.reciprocal() + a.square(),
         UNARY[:2], domain=POS),
    Case('trig_methods', lambda m, a: a.sin() + a.cos() + a.tan() + a.asin() + a.acos()
         + a.atan() + a.sinh() + a.cosh() + a.tanh(), UNARY[:2], domain=(-0.9, 0.9)),
    Case('special_methods', lambda m, a: a.erf() + a.erfc() + a.sigmoid() + a.sign()
         + a.abs() + a.relu(), UNARY[:2]),
    Case('rounding_methods', lambda m, a: a.floor() + a.ceil() + a.round() + a.trunc()
         + a.frac(), UNARY[:2], domain=(-3, 3)),
    Case('division_methods', lambda m, a, b: a.fmod(b) + a.remainder(b) + a.lerp(b, 0.25)
         + a.atan2(b) + a.maximum(b) + a.minimum(b), BINARY[:3], domain=(0.5, 3.0)),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


# ---------------------------------------------------------------- special values, exactly

def both(values, dtype=np.float64, requires_grad=True):
    a = np.array(values, dtype=dtype)
    return (ember.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def check_same(f, values, dtype=np.float64, tol=1e-6):
    """``f(m, x)`` and its gradient (seed of ones) agree with torch, exactly at ``values``."""
    e, t = both(values, dtype)
    eo, to = f(ember, e), f(torch, t)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=tol, atol=tol)
    assert np.isfinite(eo.detach().numpy()).all() == np.isfinite(to.detach().numpy()).all()
    (eg,) = ember.autograd.grad(eo.sum(), [e])
    (tg,) = torch.autograd.grad(to.sum(), [t])
    np.testing.assert_allclose(eg.numpy(), tg.numpy(), rtol=tol, atol=tol,
                               err_msg='gradient')
    return eo, eg


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_nan_to_num_special_values(dtype):
    vals = [np.nan, np.inf, -np.inf, 1.5, -0.0]
    for kw in ({}, {'nan': 2.0}, {'nan': -1.0, 'posinf': 9.0, 'neginf': -9.0}):
        out, grad = check_same(lambda m, x: m.nan_to_num(x, **kw), vals, dtype)
        assert out.dtype.name == np.dtype(dtype).name
        assert grad.tolist() == [0, 0, 0, 1, 1]   # replaced entries get no gradient
    ints = ember.tensor([1, 2])
    assert ember.nan_to_num(ints).tolist() == [1, 2] and ints.nan_to_num().dtype == ember.int64


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('name', ['sigmoid', 'softplus', 'logsigmoid', 'silu', 'mish', 'tanh',
                                  'gelu', 'elu', 'selu', 'celu'])
def test_large_inputs_stay_finite(name, dtype):
    vals = [-1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0]
    if name in ('elu', 'selu', 'celu'):
        vals = vals[:-1]    # torch's elu backward is nan at 1000 in float32 (exp overflows)
    out, grad = check_same(lambda m, x: getattr(m.nn.functional, name)(x), vals, dtype)
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(grad.numpy()).all()


def test_softplus_threshold_and_beta():
    check_same(lambda m, x: m.nn.functional.softplus(x, beta=3.0, threshold=5.0),
               [-10.0, 0.0, 1.0, 5.0 / 3 + 1e-3, 50.0])


@pytest.mark.parametrize('f', [
    lambda m, x: m.relu(x),                                   # relu'(0) = 0
    lambda m, x: m.abs(x),                                    # abs'(0) = 0
    lambda m, x: m.sign(x),
    lambda m, x: m.clamp(x, -1.0, 1.0),                       # bounds pass the gradient
    lambda m, x: m.clamp(x, min=0.0),
    lambda m, x: m.clamp(x, max=0.0),
    lambda m, x: m.nn.functional.relu6(x),                    # 0 at 0 and 6
    lambda m, x: m.nn.functional.hardtanh(x),                 # 0 at -1 and 1
    lambda m, x: m.nn.functional.hardtanh(x, -3.0, 3.0),
    lambda m, x: m.nn.functional.leaky_relu(x, 0.3),          # slope at 0
    lambda m, x: m.nn.functional.elu(x, 0.5),                 # alpha at 0
    lambda m, x: m.nn.functional.celu(x, 2.0),
    lambda m, x: m.nn.functional.selu(x),
    lambda m, x: m.nn.functional.hardsigmoid(x),              # 0 at -3 and 3
    lambda m, x: m.nn.functional.hardswish(x),                # 0 at -3, 1 at 3
    lambda m, x: m.nn.functional.logsigmoid(x),
    lambda m, x: m.nn.functional.softsign(x),
    lambda m, x: m.maximum(x, m.zeros_like(x)),               # ties: half each
    lambda m, x: m.minimum(x, m.zeros_like(x)),
    lambda m, x: m.floor(x) + m.ceil(x) + m.round(x) + m.trunc(x),
    lambda m, x: m.frac(x),
], ids=['relu', 'abs', 'sign', 'clamp', 'clamp_min', 'clamp_max', 'relu6', 'hardtanh',
        'hardtanh3', 'leaky_relu', 'elu', 'celu', 'selu', 'hardsigmoid', 'hardswish',
        'logsigmoid', 'softsign', 'maximum', 'minimum', 'rounding', 'frac'])
def test_subgradients_match_torch(f):
    check_same(f, [-6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 7.0])


def test_tensor_bounds_and_ties_give_torch_gradients():
    x, lo, hi = [both(v) for v in ([-2.0, 0.0, 1.0, 2.0], [-1.0, 0.0, 0.0, 0.0],
                                   [1.0, 1.0, 1.0, 1.0])]
    eo, to = ember.clamp(x[0], lo[0], hi[0]), torch.clamp(x[1], lo[1], hi[1])
    eg = ember.autograd.grad(eo.sum(), [x[0], lo[0], hi[0]])
    tg = torch.autograd.grad(to.sum(), [x[1], lo[1], hi[1]])
    for e, t in zip(eg, tg):
        assert e.tolist() == t.tolist()
    a, b = both([1.0, 2.0, 3.0]), both([1.0, 0.0, 3.0])
    for name in ('maximum', 'minimum'):
        eg = ember.autograd.grad(getattr(ember, name)(a[0], b[0]).sum(), [a[0], b[0]])
        tg = torch.autograd.grad(getattr(torch, name)(a[1], b[1]).sum(), [a[1], b[1]])
        assert [g.tolist() for g in eg] == [g.tolist() for g in tg]


def test_nan_passes_through_like_torch():
    vals = [np.nan, -1.0, 2.0]
    for name in ('relu', 'abs', 'sign', 'sigmoid', 'floor', 'clamp', 'maximum'):
        f = {'clamp': lambda m, x: m.clamp(x, 0.0, 1.0),
             'maximum': lambda m, x: m.maximum(x, m.zeros_like(x))}.get(
            name, lambda m, x, n=name: getattr(m, n)(x))
        e, t = both(vals, requires_grad=False)
        np.testing.assert_array_equal(f(ember, e).numpy(), f(torch, t).numpy(), err_msg=name)


@pytest.mark.parametrize('name,args', [
    ('relu', ()), ('sigmoid', ()), ('tanh', ()), ('abs', ()), ('sqrt', ()), ('floor', ()),
    ('clamp', (-0.5, 0.5)), ('clamp_min', (0.1,)), ('exp2', ()), ('sin', ()), ('round', ()),
    ('nan_to_num', ()), ('lerp', ('end', 0.25)), ('remainder', (0.7,)), ('atan2', ('end',)),
])
def test_inplace_methods(name, args):
    outs = []
    for x, m in zip(both([0.3, -0.6, 1.7, 0.9]), (ember, torch)):
        y = x * 1.0                                    # a non-leaf, so in place is allowed
        end = m.tensor(np.array([1.0, 2.0, -1.0, 0.5]))
        real = tuple(end if arg == 'end' else arg for arg in args)
        r = getattr(y, f'{name}_')(*real)
        assert r is y
        y.sum().backward()
        outs.append((y.detach().numpy(), x.grad.numpy()))
    (ey, eg), (ty, tg) = outs
    np.testing.assert_allclose(ey, ty, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(eg, tg, rtol=1e-7, atol=1e-12)


def test_inplace_operators_and_functional_inplace():
    for op in ('__ifloordiv__', '__imod__'):
        e, t = ember.tensor([7, -7, 5]), torch.tensor([7, -7, 5])
        assert getattr(e, op)(3).tolist() == getattr(t, op)(3).tolist()
    x = ember.tensor([-1.0, 2.0])
    assert ember.nn.functional.relu(x, inplace=True) is x and x.tolist() == [0.0, 2.0]
    y = ember.tensor([-1.0, 2.0])
    y.clamp_(min=ember.tensor(0.5))
    assert y.tolist() == [0.5, 2.0]
    with pytest.raises(RuntimeError):
        ember.tensor([1, 2]).sqrt_()   # a float result cannot go into an integer tensor


def test_errors_match_torch():
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match='ZeroDivisionError'):
            m.tensor([3, 4]) // m.tensor([1, 0])
        with pytest.raises(RuntimeError, match='ZeroDivisionError'):
            m.remainder(m.tensor([3]), 0)
        with pytest.raises(RuntimeError):
            m.clamp(m.tensor([1.0]))
        with pytest.raises(RuntimeError):
            m.nn.functional.gelu(m.tensor([1.0]), approximate='exact')
        with pytest.raises(RuntimeError):
            m.nn.functional.elu(m.tensor([1, 2]))
    assert (ember.tensor([0.5]) // 0).tolist() == (torch.tensor([0.5]) // 0).tolist()


def test_first_gradients_stay_differentiable_like_torch():
    """Whether a gradient taken with create_graph=True itself requires grad matches torch."""
    fns = {'relu': lambda m, x: m.relu(x), 'leaky_relu': lambda m, x: m.nn.functional
           .leaky_relu(x), 'abs': lambda m, x: m.abs(x), 'clamp': lambda m, x: m.clamp(x, 0, 1),
           'floor': lambda m, x: m.floor(x), 'tanh': lambda m, x: m.tanh(x),
           'hardtanh': lambda m, x: m.nn.functional.hardtanh(x)}
    for name, f in fns.items():
        e, t = both([-0.5, 0.5, 2.0])
        (eg,) = ember.autograd.grad(f(ember, e).sum(), [e], create_graph=True)
        (tg,) = torch.autograd.grad(f(torch, t).sum(), [t], create_graph=True)
        assert eg.requires_grad == tg.requires_grad, name


@pytest.mark.parametrize('f', [
    lambda x, lo, hi: ember.clamp(x, lo, hi) * x,
    lambda x, lo, hi: ember.nn.functional.hardsigmoid(x) * x,
    lambda x, lo, hi: ember.abs(x) * lo,
    lambda x, lo, hi: ember.remainder(x, hi) * lo,
], ids=['clamp_tensor', 'hardsigmoid', 'abs', 'remainder'])
def test_second_order_where_torch_cannot(f):
    rng = np.random.default_rng(0)
    x, lo, hi = (ember.tensor(rng.uniform(a, b, 6), requires_grad=True)
                 for a, b in ((-3, 3), (-2, -0.5), (0.5, 2)))
    assert ember.autograd.gradgradcheck(f, (x, lo, hi))
