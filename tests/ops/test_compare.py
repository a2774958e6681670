"""Comparison, logical and bitwise ops, the float tests (isnan ...), where, and the extremes
(maximum, minimum, clamp, sign) against PyTorch: values and dtypes over int, bool and float
inputs, every form (function, method, operator, reflected operator, alias), on the shape
menus. Inputs come from one small grid of values shared by every dtype, so ties (equal
elements, across dtypes too) are common, and floats include nan, infinities and -0.0."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import BINARY, NC, TERNARY, UNARY, Case, make_tests

# 0.1 and 1/3 differ between float32 and float64: a comparison made at the wrong precision
# (float64 where torch compares in float32) shows on them
GRID = np.array([-2.0, -1.0, -0.5, 0.0, 0.1, 1 / 3, 0.5, 1.0, 2.0])
SPECIAL = np.array([np.nan, np.inf, -np.inf, -0.0])
INTS = {'int64': (-3, 4), 'int32': (-3, 4), 'int16': (-3, 4), 'int8': (-3, 4),
        'uint8': (0, 4), 'wide': (-200, 200)}   # 'wide': int64 with many bits set
ONCE = ('float32',)      # no float input of the case's dtype: the dtype axis is moot


def draw(rng, kind, shape, dtype):
    """One input: 'f' floats of the case's dtype (grid values and specials), 'g' the same
    without nan (for gradients: see test_nan_input_gradients below), 'float32' or 'float64'
    grid floats of that dtype, 'bool', or an integer dtype (see INTS)."""
    if kind in ('f', 'g'):
        vals = np.concatenate([GRID, SPECIAL if kind == 'f' else SPECIAL[1:]])
        return rng.choice(vals, size=shape).astype(dtype)
    if kind in ('float32', 'float64'):
        return rng.choice(GRID, size=shape).astype(kind)
    if kind == 'bool':
        return rng.random(shape) < 0.5
    lo, hi = INTS[kind]
    return rng.integers(lo, hi, size=shape).astype('int64' if kind == 'wide' else kind)


def typed(*kinds):
    """A ``make`` drawing input i as ``kinds[i]`` (non-contiguous where the menu says)."""
    def make(rng, shapes, dtype):
        out = []
        for s, kind in zip(shapes, kinds):
            shape = tuple(s)[::-1] if isinstance(s, NC) else tuple(s)
            a = np.asarray(draw(rng, kind, shape, dtype))
            out.append(a.T if isinstance(s, NC) else a)
        return out
    return make


def case(name, fn, kinds, shapes=None, **kw):
    """A case on inputs of ``kinds``; no gradients unless asked, both float dtypes only when
    an input is 'f'."""
    shapes = shapes or {1: UNARY, 2: BINARY, 3: TERNARY}[len(kinds)]
    kw.setdefault('grad', False)
    kw.setdefault('dtypes', ('float32', 'float64') if {'f', 'g'} & set(kinds) else ONCE)
    return Case(name, fn, shapes, make=typed(*kinds), **kw)


SCALAR_0D = [((3, 4), ()), ((), ()), ((0, 4), ()), (NC((4, 3)), ())]

# ---------------------------------------------------------------- comparisons
# each op in each form: ember.<op>, Tensor.<op>, the operator, the reflected operator with a
# Python number, and Tensor's aliases (greater ...)
CMP = {'eq': ('__eq__', '__eq__', None), 'ne': ('__ne__', '__ne__', None),
       'lt': ('__lt__', '__gt__', 'less'), 'le': ('__le__', '__ge__', 'less_equal'),
       'gt': ('__gt__', '__lt__', 'greater'), 'ge': ('__ge__', '__le__', 'greater_equal')}


def comparisons(op, dunder, reflected, alias):
    fun = lambda m, a, b: getattr(m, op)(a, b)                      # noqa: E731
    meth = lambda m, a, b: getattr(a, op)(b)                        # noqa: E731
    oper = lambda m, a, b: getattr(a, dunder)(b)                    # noqa: E731
    cases = [
        case(f'{op}_float', fun, 'ff'),
        case(f'{op}_float_op', oper, 'ff'),
        case(f'{op}_int', meth, ('int64', 'int64')),
        case(f'{op}_bool', oper, ('bool', 'bool')),
        case(f'{op}_bool_int', fun, ('bool', 'int32')),
        case(f'{op}_int_float', fun, ('int32', 'f')),
        case(f'{op}_uint8_int8', oper, ('uint8', 'int8')),
        case(f'{op}_int16_float64', meth, ('int16', 'float64')),
        # a 0-d tensor takes no part in the dtype unless of a higher kind: float32 vs a
        # float64 0-d tensor compares in float32, an int tensor vs a 0-d float in float32
        case(f'{op}_float32_0d_float64', fun, ('float32', 'float64'), SCALAR_0D),
        case(f'{op}_int_0d_float', oper, ('int64', 'float64'), SCALAR_0D),
        case(f'{op}_scalar_int', lambda m, a: getattr(a, dunder)(1), ('int64',)),
        case(f'{op}_scalar_float', lambda m, a: getattr(m, op)(a, 0.1), ('f',)),
        case(f'{op}_int_scalar_float', lambda m, a: getattr(a, op)(1 / 3), ('int8',)),
        case(f'{op}_uint8_scalar_neg', lambda m, a: getattr(a, dunder)(-1), ('uint8',)),
        case(f'{op}_scalar_left', lambda m, a: getattr(a, reflected)(0.5), ('f',)),
    ]
    if alias:
        cases.append(case(f'{op}_{alias}', lambda m, a, b: getattr(a, alias)(b), 'ff'))
    return cases


CMP_CASES = [c for op, forms in CMP.items() for c in comparisons(op, *forms)]
CMP_CASES.append(case('eq_operator_literal', lambda m, a, b: a == b, ('int64', 'f')))
CMP_CASES.append(case('ne_operator_literal', lambda m, a, b: a != b, ('bool', 'f')))
CMP_CASES.append(case('lt_operator_literal', lambda m, a: 1 < a, ('f',)))

# ---------------------------------------------------------------- logical and bitwise

LOGIC_KINDS = [('bool', 'bool'), 'ff', ('int64', 'int64'), ('int8', 'bool'), ('f', 'int32'),
               ('uint8', 'float64')]


def logical(op):
    cases = []
    for i, kinds in enumerate(LOGIC_KINDS):
        fn = ((lambda m, a, b: getattr(m, op)(a, b)) if i % 2 == 0 else
              (lambda m, a, b: getattr(a, op)(b)))
        cases.append(case(f'{op}_{"_".join(kinds)}', fn, kinds))
    return cases


BIT_KINDS = [('bool', 'bool'), ('wide', 'wide'), ('int32', 'wide'), ('uint8', 'uint8'),
             ('int8', 'uint8'), ('bool', 'int32'), ('int16', 'int8')]
BIT_OPS = {'bitwise_and': ('__and__', '__rand__'), 'bitwise_or': ('__or__', '__ror__'),
           'bitwise_xor': ('__xor__', '__rxor__')}


def bitwise(op, dunder, reflected):
    cases = []
    for i, kinds in enumerate(BIT_KINDS):
        fn = [lambda m, a, b: getattr(m, op)(a, b), lambda m, a, b: getattr(a, op)(b),
              lambda m, a, b: getattr(a, dunder)(b)][i % 3]
        cases.append(case(f'{op}_{"_".join(kinds)}', fn, kinds))
    cases += [
        case(f'{op}_scalar', lambda m, a: getattr(a, dunder)(0b1011), ('wide',)),
        case(f'{op}_scalar_int8', lambda m, a: getattr(m, op)(a, 5), ('int8',)),
        case(f'{op}_scalar_left', lambda m, a: getattr(a, reflected)(6), ('int32',)),
        case(f'{op}_bool_scalar', lambda m, a: getattr(a, dunder)(True), ('bool',)),
        case(f'{op}_bool_tensor_int_scalar', lambda m, a: getattr(a, dunder)(3), ('bool',)),
    ]
    return cases


LOGIC_CASES = [c for op in ('logical_and', 'logical_or', 'logical_xor') for c in logical(op)]
LOGIC_CASES += [case(f'logical_not_{k}', (lambda m, a: m.logical_not(a)) if i % 2 else
                     (lambda m, a: a.logical_not()), (k,))
                for i, k in enumerate(['bool', 'f', 'int64', 'uint8', 'int8'])]
BIT_CASES = [c for op, forms in BIT_OPS.items() for c in bitwise(op, *forms)]
BIT_CASES += [case(f'bitwise_not_{k}', [lambda m, a: m.bitwise_not(a),
                                        lambda m, a: a.bitwise_not(), lambda m, a: ~a][i % 3],
                   (k,)) for i, k in enumerate(['bool', 'wide', 'uint8', 'int8', 'int32'])]
BIT_CASES.append(case('bitwise_literal', lambda m, a, b, c: (a & b) | (~c ^ a),
                      ('wide', 'int32', 'int16')))

# ---------------------------------------------------------------- float tests

TEST_CASES = [case(f'{name}_{k}', fn, (k,))
              for name in ('isnan', 'isinf', 'isfinite')
              for k, fn in (('f', lambda m, a, n=name: getattr(m, n)(a)),
                            ('float64', lambda m, a, n=name: getattr(a, n)()),
                            ('int32', lambda m, a, n=name: getattr(m, n)(a)),
                            ('bool', lambda m, a, n=name: getattr(a, n)()))]

# ---------------------------------------------------------------- where and the extremes

EXTREME_CASES = [
    case('where_int_float', lambda m, c, a, b: m.where(c, a, b), ('bool', 'int64', 'f')),
    case('where_int32_int64', lambda m, c, a, b: m.where(c, a, b), ('bool', 'int32', 'wide')),
    case('where_bools', lambda m, c, a, b: a.where(c, b), ('bool', 'bool', 'bool')),
    case('where_uint8_int8', lambda m, c, a, b: m.where(c, a, b), ('bool', 'uint8', 'int8')),
    case('where_int_scalar_float', lambda m, c, a: m.where(c, a, 0.5), ('bool', 'int32')),
    case('where_float_scalar_int', lambda m, c, a: m.where(c, 2, a), ('bool', 'f')),
    case('where_scalars', lambda m, c: m.where(c, 1, 0.5) + m.where(c, 2, 0)
         * m.where(c, True, False), ('bool',)),
    case('where_float32_0d_float64', lambda m, c, a, b: m.where(c, a, b),
         ('bool', 'float32', 'float64'), [((3, 4), (3, 4), ()), ((3, 1), (4,), ())]),
    case('where_special', lambda m, c, a, b: m.where(c, a, b), ('bool', 'g', 'g'), grad=True,
         gradcheck=False),   # (nan and infinities: finite differences cannot run there)
    case('maximum_special', lambda m, a, b: m.maximum(a, b), 'gg', grad=True,
         gradcheck=False),
    case('minimum_special', lambda m, a, b: a.minimum(b), 'gg', grad=True, gradcheck=False),
    case('maximum_nan', lambda m, a, b: m.maximum(a, b), 'ff'),
    case('minimum_nan', lambda m, a, b: m.minimum(a, b), 'ff'),
    case('clamp_nan', lambda m, a: m.clamp(a, -0.5, 1.0), ('f',)),
    case('clamp_nan_bounds', lambda m, a, lo, hi: m.clamp(a, lo, hi), 'fff', TERNARY[:2]),
    case('clamp_nan_scalar_bound', lambda m, a: m.clamp(a, max=float('nan')), ('f',)),
    case('maximum_int_float', lambda m, a, b: m.maximum(a, b), ('int64', 'f')),
    case('minimum_uint8_int8', lambda m, a, b: m.minimum(a, b), ('uint8', 'int8')),
    case('maximum_bool', lambda m, a, b: m.maximum(a, b), ('bool', 'bool')),
    case('minimum_int_0d_float', lambda m, a, b: m.minimum(a, b), ('int32', 'float64'),
         SCALAR_0D),
    # ties on the grid: the gradient splits evenly between equal elements, as torch's
    case('maximum_ties', lambda m, a, b: m.maximum(a, b), ('float64', 'float64'), grad=True,
         gradcheck=False, dtypes=('float64',)),
    case('clamp_special', lambda m, a: m.clamp(a, -0.5, 1.0), ('g',), grad=True,
         gradcheck=False),
    case('clamp_int_tensor_bounds', lambda m, a, lo, hi: m.clamp(a, lo, hi),
         ('int64', 'f', 'f'), TERNARY[:2]),
    case('clamp_uint8', lambda m, a: a.clamp(1, 2), ('uint8',)),
    case('clamp_min_int_float_bound', lambda m, a: m.clamp_min(a, 0.5), ('int32',)),
    case('sign_special', lambda m, a: m.sign(a), ('g',), grad=True, gradcheck=False),
    case('sign_int8', lambda m, a: a.sign(), ('int8',)),
    case('sign_uint8', lambda m, a: m.sign(a), ('uint8',)),
    case('sign_bool', lambda m, a: m.sign(a), ('bool',)),
    case('abs_special', lambda m, a: m.abs(a), ('g',), grad=True, gradcheck=False),
    case('abs_int8', lambda m, a: a.abs(), ('int8',)),
    case('neg_int16', lambda m, a: -a, ('int16',)),
]

# ---------------------------------------------------------------- in place

def inplace(name, *rest):
    """``y = a.clone()``, then ``y.<name>(*tensors, *rest)``, which must return ``y``."""
    def fn(m, a, *tensors):
        y = a.clone()
        assert getattr(y, name)(*tensors, *rest) is y
        return y
    return fn


# (the first input has the broadcast shape, as in place needs)
IN_PLACE = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), ()), ((), ()), ((0, 4), (4,)),
            (NC((4, 3)), (4, 3))]
INPLACE_CASES = [
    *[case(f'{op}_', inplace(f'{op}_'), kinds, IN_PLACE) for op, kinds in (
        ('eq', 'ff'), ('ne', ('int64', 'int64')), ('lt', ('float64', 'int32')),
        ('le', ('bool', 'bool')), ('gt', ('int32', 'f')), ('ge', ('uint8', 'int8')),
        ('greater', 'ff'), ('less_equal', ('int64', 'float32')), ('greater_equal', 'ff'),
        ('less', ('int32', 'int32')))],
    case('eq_scalar_', inplace('eq_', 1), ('int64',)),
    case('logical_and_', inplace('logical_and_'), ('bool', 'int64'), IN_PLACE),
    case('logical_or_', inplace('logical_or_'), ('f', 'f'), IN_PLACE),
    case('logical_xor_', inplace('logical_xor_'), ('int8', 'bool'), IN_PLACE),
    case('logical_not_', inplace('logical_not_'), ('f',)),
    case('bitwise_and_', inplace('bitwise_and_'), ('wide', 'int32'), IN_PLACE),
    case('bitwise_or_', inplace('bitwise_or_'), ('bool', 'bool'), IN_PLACE),
    case('bitwise_xor_', inplace('bitwise_xor_'), ('int8', 'wide'), IN_PLACE),
    case('bitwise_not_', inplace('bitwise_not_'), ('uint8',)),
    case('iand', inplace('__iand__'), ('bool', 'bool'), IN_PLACE),
    case('ior', inplace('__ior__'), ('wide', 'int16'), IN_PLACE),
    case('ixor', inplace('__ixor__'), ('int16', 'uint8'), IN_PLACE),
    case('iand_scalar', inplace('__iand__', 6), ('int32',)),
    # on a float tensor in the graph: the written values have a zero gradient, as torch's
    # (torch's logical_*_ pass the gradient through instead, as if nothing were written: not
    # followed)
    *[case(f'{op}_in_graph', inplace(f'{op}_'), 'gg', IN_PLACE, grad=True, gradcheck=False)
      for op in ('eq', 'lt', 'ge', 'greater')],
    case('ne_scalar_in_graph', inplace('ne_', 0.5), ('g',), grad=True, gradcheck=False),
]

CASES = CMP_CASES + LOGIC_CASES + BIT_CASES + TEST_CASES + EXTREME_CASES + INPLACE_CASES
test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


@pytest.mark.parametrize('fn', [
    lambda m, x: m.maximum(x, m.zeros_like(x)), lambda m, x: m.minimum(x, m.ones_like(x)),
    lambda m, x: m.where(x < 1, x, 2 * x), lambda m, x: m.abs(x), lambda m, x: m.sign(x),
    lambda m, x: m.nn.functional.leaky_relu(x, 0.1), lambda m, x: m.relu(x),
    lambda m, x: m.nn.functional.relu6(x), lambda m, x: m.nn.functional.hardtanh(x, -0.5, 0.5),
], ids=['maximum', 'minimum', 'where', 'abs', 'sign', 'leaky_relu', 'relu', 'relu6',
        'hardtanh'])
def test_nan_input_gradients_match_torch(fn):
    """The gradient at a nan input, exactly as torch's (nan or not)."""
    out = []
    for m in (ember, torch):
        x = m.tensor([float('nan'), 0.5, -1.0, 0.0], dtype=m.float64, requires_grad=True)
        (g,) = m.autograd.grad(fn(m, x).sum(), [x])
        out.append(g.detach().numpy())
    np.testing.assert_array_equal(*out)


# ---------------------------------------------------------------- errors

ERRORS = [
    ('bitwise_and_float', lambda m: m.bitwise_and(m.ones(2), m.ones(2))),
    ('bitwise_or_float_int', lambda m: m.ones(2) | m.ones(2, dtype=m.int64)),
    ('bitwise_xor_float_scalar', lambda m: m.ones(2, dtype=m.int64) ^ 1.5),
    ('bitwise_not_float', lambda m: ~m.ones(2)),
    ('compare_shapes', lambda m: m.ones(2, 3) < m.ones(3, 2)),
    ('logical_shapes', lambda m: m.logical_and(m.ones(2), m.ones(3))),
    ('where_shapes', lambda m: m.where(m.ones(2, dtype=m.bool), m.ones(3), m.ones(2))),
    ('iand_bool_int', lambda m: m.ones(2, dtype=m.bool).__iand__(m.ones(2, dtype=m.int64))),
    ('eq_broadcast', lambda m: m.ones(2).eq_(m.ones(3, 2))),
]


@pytest.mark.parametrize('fn', [pytest.param(f, id=n) for n, f in ERRORS])
def test_errors_like_torch(fn):
    """Both refuse, with exceptions of one kind (TypeError or RuntimeError)."""
    with pytest.raises((TypeError, RuntimeError)) as t_err:
        fn(torch)
    with pytest.raises((TypeError, RuntimeError)) as e_err:
        fn(ember)
    assert issubclass(e_err.type, RuntimeError) == issubclass(t_err.type, RuntimeError), \
        f'ember raised {e_err.type.__name__}, torch {t_err.type.__name__}'
