"""The export table: each ember op class (``ember/ops/``) and the ONNX nodes that compute it.

An entry is ``emit(b, call, *inputs, **params) -> name``: ``b`` the graph being written
(``export.Builder``), ``inputs`` the op's input tensors as they ran, ``params`` its keyword
parameters, the result the ONNX name of its output. Shapes are the traced ones (a static
graph; ``export``'s ``dynamic_axes`` relabel a dimension, and reshapes copy the leading
dimensions they keep, so a batch dimension stays free). Layers and composites need no entry:
they are made of these ops. Ops with no entry are refused with ``NOT_EXPORTABLE``'s reason.
"""
import math

import numpy as np

import functools
import importlib

from . import ops_nn


def _module(name):
    # (importlib: some op modules share a name with a function ember.ops exports, as sort)
    return importlib.import_module(f'ember.ops.{name}')

INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1


def _dt(t):
    return t._data.dtype


def _as(b, t, dtype):
    """``t``'s name, cast to ``dtype`` where it is another dtype."""
    name = b.value(t)
    return name if _dt(t) == np.dtype(dtype) else b.cast(name, dtype)


def _binary(op_type):
    def emit(b, call, x, y):
        dt = _dt(call.out)
        return b.node(op_type, [_as(b, x, dt), _as(b, y, dt)])
    return emit


def _number(op_type, swap=False):
    def emit(b, call, x, c):
        dt = _dt(call.out)
        pair = [_as(b, x, dt), b.scalar(c, dt)]
        return b.node(op_type, pair[::-1] if swap else pair)
    return emit


def _add_scaled(b, call, x, y, alpha):
    dt = _dt(call.out)
    return b.node('Add', [_as(b, x, dt), b.node('Mul', [_as(b, y, dt), b.scalar(alpha, dt)])])


def _pow_scalar(b, call, x, p):
    dt = _dt(call.out)
    if p == 2:    # as NumPy: x * x, exact
        name = _as(b, x, dt)
        return b.node('Mul', [name, name])
    return b.node('Pow', [_as(b, x, dt), b.scalar(p, dt)])


def _rounded_div(b, call, x, y, mode):
    dt = _dt(call.out)
    a, d = _as(b, x, dt), _as(b, y, dt)
    if dt.kind in 'iu':   # ONNX's integer Div truncates; Mod(fmod=0) has the divisor's sign
        if mode == 'trunc':
            return b.node('Div', [a, d])
        return b.node('Div', [b.node('Sub', [a, b.node('Mod', [a, d], fmod=0)]), d])
    q = b.node('Div', [a, d])
    return b.node('Floor', [q]) if mode == 'floor' else _trunc(b, q)


def _trunc(b, name):
    return b.node('Mul', [b.node('Sign', [name]), b.node('Floor', [b.node('Abs', [name])])])


def _mod(b, call, x, y, fn):
    dt = _dt(call.out)
    a, d = _as(b, x, dt), _as(b, y, dt)
    if dt.kind in 'iu':
        return b.node('Mod', [a, d], fmod=0 if fn == 'remainder' else 1)
    r = b.node('Mod', [a, d], fmod=1)
    if fn == 'fmod':
        return r
    zero = b.scalar(0, dt)   # NumPy's remainder: fmod moved to the divisor's sign
    fix = b.node('And', [b.node('Not', [b.node('Equal', [r, zero])]),
                         b.node('Xor', [b.node('Less', [r, zero]),
                                        b.node('Less', [d, zero])])])
    return b.node('Where', [fix, b.node('Add', [r, d]), r])


UNARY = {'exp': 'Exp', 'log': 'Log', 'sqrt': 'Sqrt', 'sin': 'Sin', 'cos': 'Cos', 'tan': 'Tan',
         'arcsin': 'Asin', 'arccos': 'Acos', 'arctan': 'Atan', 'sinh': 'Sinh', 'cosh': 'Cosh',
         'tanh': 'Tanh', 'sigmoid': 'Sigmoid', 'erf': 'Erf', 'arcsinh': 'Asinh',
         'arccosh': 'Acosh', 'arctanh': 'Atanh'}


def _unary(b, call, x, fn):
    dt = _dt(call.out)
    a = _as(b, x, dt)
    if fn in UNARY:
        return b.node(UNARY[fn], [a])
    if fn == 'exp2':
        return b.node('Pow', [b.scalar(2, dt), a])
    if fn == 'expm1':   # NOTE: exp(x) - 1 loses relative precision near 0 (ONNX has no expm1)
        return b.node('Sub', [b.node('Exp', [a]), b.scalar(1, dt)])
    if fn == 'log1p':   # NOTE: as expm1, near 0
        return b.node('Log', [b.node('Add', [a, b.scalar(1, dt)])])
    if fn in ('log2', 'log10'):
        return b.node('Div', [b.node('Log', [a]), b.scalar(math.log(int(fn[3:])), dt)])
    if fn == 'erfc':
        return b.node('Sub', [b.scalar(1, dt), b.node('Erf', [a])])
    raise b.error(f'the math function {fn} has no ONNX form')


def _atan2(b, call, y, x):
    dt = _dt(call.out)
    ny, nx = _as(b, y, dt), _as(b, x, dt)
    zero, pi = b.scalar(0, dt), b.scalar(math.pi, dt)
    base = b.node('Atan', [b.node('Div', [ny, nx])])   # right for x > 0
    ypos = b.node('Not', [b.node('Less', [ny, zero])])
    left = b.node('Where', [ypos, b.node('Add', [base, pi]), b.node('Sub', [base, pi])])
    axis = b.node('Mul', [b.node('Sign', [ny]), b.scalar(math.pi / 2, dt)])
    out = b.node('Where', [b.node('Less', [nx, zero]), left, base])
    return b.node('Where', [b.node('Equal', [nx, zero]), axis, out])


def _nan_to_num(b, call, x, nan, posinf, neginf):
    dt = _dt(call.out)
    info = np.finfo(dt)
    a = b.value(x)
    out = b.node('Where', [b.node('IsNaN', [a]), b.scalar(nan, dt), a])
    out = b.node('Where', [b.node('IsInf', [a], detect_negative=0),
                           b.scalar(info.max if posinf is None else posinf, dt), out])
    return b.node('Where', [b.node('IsInf', [a], detect_positive=0),
                            b.scalar(info.min if neginf is None else neginf, dt), out])


COMPARE = {'equal': 'Equal', 'less': 'Less', 'less_equal': 'LessOrEqual',
           'greater': 'Greater', 'greater_equal': 'GreaterOrEqual', 'logical_and': 'And',
           'logical_or': 'Or', 'logical_xor': 'Xor', 'bitwise_and': 'BitwiseAnd',
           'bitwise_or': 'BitwiseOr', 'bitwise_xor': 'BitwiseXor'}


def _compare(b, call, x, y, ufunc):
    if ufunc.startswith('logical'):
        a, c = (_truth(b, t) for t in (x, y))
    else:
        dt = np.result_type(_dt(x), _dt(y))
        if dt == np.bool_ and ufunc not in ('equal', 'not_equal') \
                and not ufunc.startswith('bitwise'):
            dt = np.dtype(np.int32)   # (ONNX orders no bools)
        a, c = _as(b, x, dt), _as(b, y, dt)
    if ufunc.startswith('bitwise') and _dt(call.out) != np.bool_:
        b.need_opset(18, ufunc)
    if ufunc == 'not_equal':
        return b.node('Not', [b.node('Equal', [a, c])])
    if ufunc.startswith('bitwise') and _dt(call.out) == np.bool_:
        return b.node(COMPARE['logical' + ufunc[7:]], [a, c])
    return b.node(COMPARE[ufunc], [a, c])


def _truth(b, t):
    """``t != 0`` as a bool value."""
    if _dt(t) == np.bool_:
        return b.value(t)
    return b.node('Not', [b.node('Equal', [b.value(t), b.scalar(0, _dt(t))])])


def _logical_not(b, call, x):
    if _dt(x) != np.bool_:
        b.need_opset(18, 'bitwise_not')
    return b.node('Not' if _dt(x) == np.bool_ else 'BitwiseNot', [b.value(x)])


def _predicate(b, call, x, fn):
    if _dt(x).kind != 'f':
        return b.const(np.full(x.shape, fn == 'isfinite'))
    a = b.value(x)
    if fn == 'isnan':
        return b.node('IsNaN', [a])
    if fn == 'isinf':
        return b.node('IsInf', [a])
    return b.node('Not', [b.node('Or', [b.node('IsNaN', [a]), b.node('IsInf', [a])])])


def _closure(fn):
    """A lambda's name (``'relu.<locals>.<lambda>'`` -> ``'relu'``) and its closure values."""
    owner = fn.__qualname__.split('.<locals>')[0]
    cells = dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))
    return owner, cells


def _piecewise(b, call, x, value, slope=None, mask=None):
    owner, cells = _closure(value)
    dt = _dt(call.out)
    a = _as(b, x, dt)
    if owner == 'relu':
        return b.node('Relu' if dt.kind == 'f' else 'Max', [a] + (
            [] if dt.kind == 'f' else [b.scalar(0, dt)]))
    if owner == 'leaky_relu':
        return b.node('LeakyRelu', [a], alpha=float(cells['s']))
    if owner == 'hardtanh':
        return b.node('Clip', [a, b.scalar(cells['lo'], dt), b.scalar(cells['hi'], dt)])
    if owner == 'hardsigmoid':   # relu6(x + 3) / 6, in ember's order of rounding
        six = b.node('Clip', [b.node('Add', [a, b.scalar(3, dt)]), b.scalar(0, dt),
                              b.scalar(6, dt)])
        return b.node('Div', [six, b.scalar(6, dt)])
    raise b.error(f'the piecewise linear function {owner} has no entry in ember.onnx')


STEP = {'floor': 'Floor', 'ceil': 'Ceil'}


def _step(b, call, x, fn):
    owner, cells = _closure(fn)
    a = b.value(x)
    if owner == '_step':   # an integer's floor, ceil, round...: a copy
        return b.node('Identity', [a])
    if owner in STEP:
        return b.node(STEP[owner], [a])
    if owner == 'trunc':
        return _trunc(b, a)
    if owner == 'sign':
        dt = _dt(x)
        if dt.kind != 'f':
            return b.node('Sign', [a])
        return b.node('Where', [b.node('IsNaN', [a]), b.scalar(0, dt), b.node('Sign', [a])])
    if owner == 'round':
        if 'scale' not in cells:
            return b.node('Round', [a])
        s = b.scalar(cells['scale'], _dt(x))
        # decimals > 0: round(x * scale) / scale, else round(x / scale) * scale (a probe
        # tells the two lambdas apart)
        up = fn(np, np.array([0.26])) == np.round(0.26 * cells['scale']) / cells['scale']
        inner, outer = ('Mul', 'Div') if bool(up[0]) else ('Div', 'Mul')
        return b.node(outer, [b.node('Round', [b.node(inner, [a, s])]), s])
    raise b.error(f'the step function {owner} has no entry in ember.onnx (values computed '
                  f'on the host)')


def _softplus(b, call, x, beta, threshold):
    dt = _dt(call.out)
    a = b.value(x)
    bx = b.node('Mul', [a, b.scalar(beta, dt)])
    soft = b.node('Div', [b.node('Softplus', [bx]), b.scalar(beta, dt)])
    return b.node('Where', [b.node('Greater', [bx, b.scalar(threshold, dt)]), a, soft])


def _gelu(b, call, x):
    dt = _dt(call.out)
    a = b.value(x)
    if b.opset >= 20:
        return b.node('Gelu', [a])
    cdf = b.node('Add', [b.node('Erf', [b.node('Mul', [a, b.scalar(math.sqrt(0.5), dt)])]),
                         b.scalar(1, dt)])
    return b.node('Mul', [b.node('Mul', [a, b.scalar(0.5, dt)]), cdf])


def _cast(b, call, x, dtype):
    # NOTE: a float to an integer truncates toward 0 in NumPy and in ONNX; nan and values out
    # of the integer's range are undefined in both
    return b.cast(b.value(x), np.dtype(dtype.np))


def _identity(b, call, x, *args, **kw):
    return b.node('Identity', [b.value(x)])


def _reduce(b, op_type, name, axes, keepdim, ndim):
    """A Reduce* node over ``axes`` (None: all), in the opset's form (axes an input since
    ReduceSum 13 and the others 18)."""
    if axes is not None and len(axes) == 0:
        return b.node('Identity', [name])
    axes = list(range(ndim)) if axes is None else [int(a) for a in axes]
    if ndim == 0:
        return b.node('Identity', [name])
    if op_type == 'ReduceSum' or b.opset >= 18:
        return b.node(op_type, [name, b.ints(axes)], keepdims=int(keepdim))
    return b.node(op_type, [name], axes=axes, keepdims=int(keepdim))


def _sum(b, call, x, axes, keepdim):
    return _reduce(b, 'ReduceSum', _as(b, x, _dt(call.out)), axes, keepdim, x.ndim)


def _mean(b, call, x, axes, keepdim, n):
    dt = _dt(call.out)
    total = _reduce(b, 'ReduceSum', _as(b, x, dt), axes, keepdim, x.ndim)
    return b.node('Div', [total, b.scalar(n, dt)])


def _sum_to(b, call, x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                     if s == 1 and x.shape[lead + i] != 1)
    out = _reduce(b, 'ReduceSum', b.value(x), axes, True, x.ndim)
    return b.node('Reshape', [out, b.ints(list(shape))])


def _prod(b, call, x, axes, keepdim):
    return _reduce(b, 'ReduceProd', _as(b, x, _dt(call.out)), axes, keepdim, x.ndim)


def _amax(b, call, x, axes, keepdim, fn):
    a = b.value(x)
    if _dt(x) == np.bool_:
        a = b.cast(a, np.int32)
    out = _reduce(b, 'ReduceMax' if fn == 'amax' else 'ReduceMin', a, axes, keepdim, x.ndim)
    return b.cast(out, np.bool_) if _dt(x) == np.bool_ else out


def _arg(b, call, x, axis, keepdim, fn):
    return b.node('ArgMax' if fn == 'argmax' else 'ArgMin', [b.value(x)], axis=int(axis),
                  keepdims=int(keepdim))


def _select(b, call, x, idx, axis, keepdim):
    """``max(dim)``/``min(dim)``'s values: ``idx`` is the host's argmax or argmin of ``x``;
    the graph computes it again (ArgMax/ArgMin keep the first of ties, as NumPy). Which one
    must agree in both runs (ties everywhere could be either)."""
    runs = [(x._data, idx), (b.twin.get(('in', 0)), b.twin.get(('param', 'idx')))]
    found = {'ArgMax', 'ArgMin'}
    for data, i in runs:
        if data is None or i is None:
            continue
        found &= {name for name, fn in (('ArgMax', np.argmax), ('ArgMin', np.argmin))
                  if np.array_equal(i, fn(data, axis=axis, keepdims=True))}
    if len(found) != 1:
        raise b.error('values picked at indices the host computed, which are neither the '
                      'argmax nor the argmin alone (ties everywhere?)')
    b.exempt(idx)
    node = b.node(found.pop(), [b.value(x)], axis=int(axis), keepdims=1)
    out = b.node('GatherElements', [b.value(x), node], axis=int(axis))
    return out if keepdim else b.node('Squeeze', [out, b.ints([axis])])


def _cumsum(b, call, x, axis):
    a = _as(b, x, _dt(call.out))
    if x.ndim == 0:
        return b.node('Identity', [a])
    return b.node('CumSum', [a, b.const(np.asarray(axis, dtype=np.int64))])


def _logical_reduce(b, call, x, axes, keepdim, fn):
    t = b.cast(_truth(b, x), np.int32)
    out = _reduce(b, 'ReduceMin' if fn == 'all' else 'ReduceMax', t, axes, keepdim, x.ndim)
    return b.cast(out, _dt(call.out))


def _extremum(b, call, x, y, fn):
    dt = _dt(call.out)
    if dt == np.bool_:   # (ONNX's Max and Min take no bools)
        return b.node('Or' if fn in ('maximum', 'fmax') else 'And', [b.value(x), b.value(y)])
    if dt.kind in 'iu' and dt.itemsize < 4:   # (ONNX Runtime: int32 and wider)
        both = b.node('Max' if fn in ('maximum', 'fmax') else 'Min',
                      [_as(b, x, np.int32), _as(b, y, np.int32)])
        return b.cast(both, dt)
    a, c = _as(b, x, dt), _as(b, y, dt)
    both = b.node('Max' if fn in ('maximum', 'fmax') else 'Min', [a, c])
    if dt.kind != 'f':
        return both
    if fn in ('maximum', 'minimum'):   # NaN wins, as NumPy (ONNX leaves it open)
        nan = b.scalar(np.nan, dt)
        either = b.node('Or', [b.node('IsNaN', [a]), b.node('IsNaN', [c])])
        return b.node('Where', [either, nan, both])
    out = b.node('Where', [b.node('IsNaN', [a]), c, both])   # fmax/fmin: NaN loses
    return b.node('Where', [b.node('IsNaN', [c]), a, out])


def _where(b, call, cond, x, y):
    dt = _dt(call.out)
    c = b.value(cond)
    if _dt(cond) != np.bool_:
        c = b.cast(c, np.bool_)
    if dt == np.bool_:   # (ONNX Runtime has no bool Where)
        out = b.node('Where', [c, _as(b, x, np.int32), _as(b, y, np.int32)])
        return b.cast(out, np.bool_)
    if dt.itemsize < 4 and dt.kind in 'iu':   # (nor int8/16 Where: in int32)
        out = b.node('Where', [c, _as(b, x, np.int32), _as(b, y, np.int32)])
        return b.cast(out, dt)
    return b.node('Where', [c, _as(b, x, dt), _as(b, y, dt)])


def _cat(b, call, *xs, axis):
    dt = _dt(call.out)
    return b.node('Concat', [_as(b, x, dt) for x in xs], axis=int(axis))


def _matmul(b, call, x, y):
    return b.node('MatMul', [b.value(x), b.value(y)])


def _linear(b, call, x, w, bias=None, low=None, cache=()):
    if low is not None:
        raise b.error('autocast (float16/bfloat16) products; export outside autocast')
    out = b.node('MatMul', [b.value(x), b.node('Transpose', [b.value(w)], perm=[1, 0])])
    return out if bias is None else b.node('Add', [out, b.value(bias)])


def _einsum(b, call, *xs, specs, out, sizes, spare):
    return b.node('Einsum', [b.value(x) for x in xs], equation=','.join(specs) + '->' + out)


def _nan_to_zero(b, call, x):
    a = b.value(x)
    return b.node('Where', [b.node('IsNaN', [a]), b.scalar(0, _dt(x)), a])


def _is_close(b, call, x, y, rtol, atol, equal_nan):
    a, c = b.value(x), b.value(y)
    dt = _dt(x)
    if dt == np.bool_:
        return b.node('Equal', [a, c])
    if dt.kind != 'f':
        a, c, dt = b.cast(a, np.float64), b.cast(c, np.float64), np.dtype(np.float64)
    diff = b.node('Abs', [b.node('Sub', [a, c])])
    bound = b.node('Add', [b.scalar(atol, dt), b.node('Mul', [b.scalar(rtol, dt),
                                                              b.node('Abs', [c])])])
    close = b.node('Or', [b.node('LessOrEqual', [diff, bound]), b.node('Equal', [a, c])])
    if equal_nan:
        close = b.node('Or', [close, b.node('And', [b.node('IsNaN', [a]),
                                                    b.node('IsNaN', [c])])])
    return close


def _take_along(b, call, x, idx, axis):
    return b.node('GatherElements', [b.value(x), b.value(idx)], axis=int(axis))


def _scatter_reduce(b, call, x, src, dim, index, reduce, include_self):
    kinds = {'sum': 'add', 'prod': 'mul', 'amax': 'max', 'amin': 'min'}
    if not include_self or reduce not in kinds:
        raise b.error(f"scatter_reduce(reduce={reduce!r}, include_self={include_self}) has no "
                      f"ONNX form (ScatterElements reduces into the input, by add, mul, max "
                      f"or min)")
    return b.node('ScatterElements', [b.value(x), b.value(index), b.value(src)],
                  axis=int(dim), reduction=kinds[reduce])


def _xlogy(b, call, x, y, fn):
    """In float64 and rounded once, as ember: 0 where x is 0 (unless y is nan)."""
    wide = np.float64
    a, c = _as(b, x, wide), _as(b, y, wide)
    arg = c if fn == 'xlogy' else b.node('Add', [c, b.scalar(1, wide)])
    out = b.node('Mul', [a, b.node('Log', [arg])])
    zero = b.node('And', [b.node('Equal', [a, b.scalar(0, wide)]),
                          b.node('Not', [b.node('IsNaN', [c])])])
    return b.cast(b.node('Where', [zero, b.scalar(0, wide), out]), _dt(call.out))


def _hypot(b, call, x, y):
    """``sqrt(a^2 + b^2)``, float32 in float64 (no overflow, rounded once); NOTE: float64
    overflows past 1e154, where NumPy's hypot scales."""
    dt = _dt(call.out)
    wide = np.float64 if dt.itemsize < 8 else dt
    a, c = _as(b, x, wide), _as(b, y, wide)
    out = b.node('Sqrt', [b.node('Add', [b.node('Mul', [a, a]), b.node('Mul', [c, c])])])
    return out if wide == dt else b.cast(out, dt)


def _nonzero(b, call, x):
    return b.node('Transpose', [b.node('NonZero', [b.value(x)])], perm=[1, 0])


@functools.cache
def table():
    """{op class: emit}, for every op ember.onnx writes."""
    _special = importlib.import_module('ember.special')
    (e, a, r, compare, convert, extra, gaps, index, join, linalg, movement, piecewise,
     rounding, sort) = map(_module, (
         'elementwise', 'activation', 'reduce', 'compare', 'convert', 'extra', 'gaps',
         'index', 'join', 'linalg', 'movement', 'piecewise', 'rounding', 'sort'))
    return {
        e.Add: _binary('Add'), e.Sub: _binary('Sub'), e.Mul: _binary('Mul'),
        e.Div: _binary('Div'), e.Pow: _binary('Pow'), e.AddScaled: _add_scaled,
        e.Scaled: _number('Mul'), e.Divided: _number('Div'), e.Shifted: _number('Add'),
        e.RoundedDiv: _rounded_div, e.Neg: lambda b, c, x: b.node('Neg', [b.value(x)]),
        e.PowScalar: _pow_scalar, e.Exp: lambda b, c, x: _unary(b, c, x, 'exp'),
        e.Log: lambda b, c, x: _unary(b, c, x, 'log'), e.Unary: _unary, e.UnaryOut: _unary,
        e.Atan2: _atan2, piecewise.NanToNum: _nan_to_num, rounding.Mod: _mod,
        piecewise.Abs: lambda b, c, x: b.node('Abs', [b.value(x)]), piecewise.Step: _step,
        piecewise.Extremum: _extremum,
        compare.Compare: _compare, compare.LogicalNot: _logical_not,
        compare.Predicate: _predicate, extra.IsClose: _is_close,
        a.PiecewiseLinear: _piecewise, a.Softplus: _softplus, a.Gelu: _gelu,
        convert.Cast: _cast, convert.Move: _identity, convert.Pin: _identity,
        r.Sum: _sum, r.Mean: _mean, r.SumTo: _sum_to, r.Prod: _prod, r.Amax: _amax,
        r.Arg: _arg, r.Select: _select, r.Cumsum: _cumsum, r.Logical: _logical_reduce,
        r.SafeSqrt: lambda b, c, x: b.node('Sqrt', [b.value(x)]),
        index.Where: _where, index.IndexPut: _where, index.Nonzero: _nonzero,
        join.Cat: _cat, linalg.MatMul: _matmul, linalg.Linear: _linear,
        linalg.Einsum: _einsum, gaps.NanToZero: _nan_to_zero,
        gaps.ScatterReduce: _scatter_reduce, gaps.ScatterLegacy: _scatter_reduce,
        sort.TakeAlong: _take_along, _module('movement').ReshapeCopy: ops_nn._reshape,
        _special.XLogY: _xlogy, _special.Hypot: _hypot,
        importlib.import_module('ember.linalg._ops').Det:
            lambda b, c, x: b.node('Det', [b.value(x)]),
        movement.Clone: _identity,
        **ops_nn.table(),
    }


def lookup(op):
    """The entry of ``op`` or of the nearest class it derives from (a subclass keeps its
    base's forward: ``View`` is ``GetItem``'s, einsum makes a subclass per call)."""
    found = table()
    return next((found[c] for c in op.__mro__ if c in found), None)


# Ops with no ONNX form, and why (each is refused with this reason, naming the op).
NOT_EXPORTABLE = {
    'Cumprod': 'ONNX has no cumulative product',
    'Logcumsumexp': 'ONNX has no cumulative log-sum-exp',
    'Median': 'the median is found on the host (a sort of the data)',
    'CtcLoss': 'ONNX has no CTC loss',
    'Special': 'ONNX has no special functions beyond erf (gamma, bessel, zeta ...)',
    'Zeta': 'ONNX has no zeta function', 'IncompleteGamma': 'ONNX has no incomplete gamma',
    'IndexAdd': 'index_add/index_copy accumulate at repeated indices (ScatterND does not)',
    'Bessel': 'ONNX has no Bessel functions', 'Erfinv': 'ONNX has no inverse erf',
}
LINALG = 'ONNX has no linear algebra beyond matmul and det (no inverse, solve or factorizations)'
GRADIENT_OPS = ('ConvWeight', 'TapScatter', 'PlaneScatter', 'PutAlong', 'DiagonalScatter',
                'GeluGrad', 'CtcLossBackward', 'ViewAssign')


def why_not(op):
    name = getattr(op, '__name__', str(op))
    if name in NOT_EXPORTABLE:
        return NOT_EXPORTABLE[name]
    if op.__module__.endswith('linalg._ops') or name in ('Cholesky', 'TriangularSolve'):
        return LINALG
    if name in GRADIENT_OPS:
        return 'a gradient op: export a forward pass, not a backward one'
    return 'no entry in the export table, ember/onnx/ops.py'
