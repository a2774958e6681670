"""Elementwise ops: arithmetic and math functions, and half precision's float32 rules (the
piecewise ones are in ``piecewise.py``, comparisons in ``compare.py``, rounding in
``rounding.py``, activations in ``activation.py``).

Each op is one small ``Op`` class (forward on arrays, backward in ember ops) and a function
that promotes its operands as PyTorch does and calls ``apply``.
"""
import functools
import math

import numpy as np

from .._dtype import bfloat16 as _bfloat16, float32 as _float32, get_default_dtype, result_type
from .._tensor import Tensor, method, zeros_like
from ..autograd import Op
from ..backend import namespace, traced_cpu
from .convert import astype
from .inplace_methods import _binary_inplace, _unary_inplace
from .. import amp as _amp

__all__ = ['add', 'sub', 'subtract', 'mul', 'multiply', 'div', 'divide', 'true_divide',
           'neg', 'negative', 'pow', 'exp', 'log']


# ---------------------------------------------------------------- half precision

# float16 and bfloat16 arrays are computed in float32 and rounded once at the end, as torch's
# CPU kernels do ("opmath"): a Python number meets them as a float32 (``x * 1e5`` is 100.06
# for x = 1e-3, not inf), and sums accumulate in float32 (a mean of 65,536 ones is 1, not nan).
HALF = frozenset([np.dtype(np.float16)] + ([_bfloat16.np] if _bfloat16 is not None else []))
FLOAT32 = np.dtype(np.float32)


def wide(a):
    """A float16/bfloat16 array as float32 (exactly); any other array as it is."""
    return a.astype(FLOAT32) if a.dtype in HALF else a


def narrow(xp, a, dtype):
    """A float32 result rounded once to ``dtype`` (no-op when it is already ``dtype``);
    beyond the range it is inf (silently: ops run with NumPy's warnings off, at the door)."""
    if a.dtype == dtype:
        return a
    return astype(xp, xp.asarray(a), dtype)


def scaled(xp, a, c):
    """``a * c`` for a Python number ``c``: in float32 for a half array (torch's mul.Scalar)."""
    if a.dtype in HALF:
        return narrow(xp, a.astype(FLOAT32) * c, a.dtype)
    return a * c   # NumPy and CuPy take a Python number at the array's dtype


def divided(xp, a, c):
    """``a / c`` for a Python number ``c``: in float32 for a half array (torch's div by a
    scalar divides; it does not multiply by ``1 / c``)."""
    if a.dtype in HALF:
        return narrow(xp, a.astype(FLOAT32) / c, a.dtype)
    return a / c   # (by 0: inf and nan, silently as in torch, the door's NumPy state)


def in_float32(fn=None, *, autocast=False):
    """Decorate a composite of several ops so that float16/bfloat16 tensor arguments are
    computed in float32 and the result rounded once to the first argument's dtype, as torch's
    fused CPU kernels do (activations, losses); its gradient then flows through the two casts.
    ``autocast=True``: under autocast the composite runs as it is (it casts to float32 itself
    and answers float32)."""
    if fn is None:
        return functools.partial(in_float32, autocast=autocast)

    @functools.wraps(fn)
    def run(x, *args, **kwargs):
        if type(x) not in TENSOR_TYPES or x._data.dtype not in HALF or \
                (autocast and _amp._State.on):
            return fn(x, *args, **kwargs)
        args = [a.float() if type(a) in TENSOR_TYPES and a._data.dtype in HALF else a
                for a in args]
        kwargs = {k: a.float() if type(a) in TENSOR_TYPES and a._data.dtype in HALF else a
                  for k, a in kwargs.items()}
        return fn(x.float(), *args, **kwargs).to(x.dtype)
    return run


# ---------------------------------------------------------------- operand handling

def _scalar(x, ref):
    """A Python number as a 0-d tensor of ``ref``'s dtype, on its device."""
    try:
        arr = np.array(x, dtype=ref._data.dtype)
    except OverflowError:   # an int outside the dtype's range wraps around, as in torch
        arr = np.array(x).astype(ref._data.dtype)
    return Tensor._make(arr if type(ref._data) is np.ndarray or traced_cpu(ref._data)
                        else _on_device(arr, ref._data))


_DEVICE_SCALARS = {}


def _on_device(arr, like):
    """A 0-d host array on ``like``'s GPU, cached: each copy to the GPU costs a transfer, and
    models use the same few constants (0, 1, eps, scales) over and over. Ops never write into
    their inputs, so a shared 0-d constant stays what it is."""
    key = (arr.tobytes(), arr.dtype.str, like.device.id)
    hit = _DEVICE_SCALARS.get(key)
    if hit is None:
        if len(_DEVICE_SCALARS) > 4096:
            _DEVICE_SCALARS.clear()
        hit = _DEVICE_SCALARS[key] = namespace(like).asarray(arr)
    return hit


def _as(x, dt, ref):
    if isinstance(x, Tensor):
        return x if x._data.dtype == dt.np else x.to(dt)
    if ref is None or type(ref._data) is np.ndarray or traced_cpu(ref._data):
        return Tensor._make(np.asarray(x, dtype=dt.np))
    arr = np.asarray(x, dtype=dt.np)
    return Tensor._make(_on_device(arr, ref._data) if arr.ndim == 0 else
                        namespace(ref._data).asarray(arr))


# and nn.Parameter, which adds itself: type checks beat isinstance
TENSOR_TYPES: set[type] = {Tensor}


def operands(a, b, like=None):
    """Two operands (tensors or numbers) promoted to their common dtype, as tensors (on
    ``like``'s device when both are numbers)."""
    ta, tb = type(a), type(b)
    a_t, b_t = ta in TENSOR_TYPES, tb in TENSOR_TYPES
    if a_t and b_t:   # the common cases first, without the full rules
        if a._data.dtype is b._data.dtype:
            return a, b
    elif a_t and (tb is float or tb is int):
        kind = a._data.dtype.kind
        if kind == 'f' or (kind in 'iu' and tb is int):
            return a, _scalar(b, a)
    elif b_t and (ta is float or ta is int):
        kind = b._data.dtype.kind
        if kind == 'f' or (kind in 'iu' and ta is int):
            return _scalar(a, b), b
    dt = result_type(a, b)
    ref = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else like
    return _as(a, dt, ref), _as(b, dt, ref)


def floating(x):
    """``x`` itself if floating point or complex, else ``x`` cast to the default dtype (as
    torch's unary float ops do for integer inputs)."""
    if not isinstance(x, Tensor):
        from .._tensor import tensor
        x = tensor(x)
    return x if x._data.dtype.kind in 'fc' or x.dtype.is_floating_point else \
        x.to(get_default_dtype())


def cj(x):
    """The complex conjugate of a complex tensor or array; anything else as it is. Backward
    rules multiply by the conjugate of the local derivative (PyTorch's convention: the
    gradient of a real loss is dL/dRe z + i dL/dIm z), which for real values is a no-op."""
    d = x._data if type(x) in TENSOR_TYPES else x
    return x.conj() if getattr(d, 'dtype', None) is not None and d.dtype.kind == 'c' else x


# ---------------------------------------------------------------- arithmetic

class Add(Op):
    complex_ok = True

    def forward(ctx, a, b):
        return a + b

    def backward(ctx, g):
        return g, g


class AddScaled(Op):
    """``a + alpha * b`` of two float16/bfloat16 tensors as torch's add with ``alpha``: alpha
    rounded to their dtype, the rest in float32, rounded once."""
    name = 'AddBackward'
    complex_ok = True

    def forward(ctx, a, b, alpha):
        ctx.alpha = alpha
        return narrow(ctx.xp, wide(a) + alpha * wide(b), a.dtype)

    def backward(ctx, g):
        return g, g * ctx.alpha if ctx.needs(1) else None


class Scaled(Op):
    """``a * c`` for a Python number ``c`` and a float tensor ``a`` (torch's mul.Scalar): the
    number stays a number, with no tensor, node input or gradient made for it."""
    name = 'MulBackward'   # as torch names mul.Scalar's node
    complex_ok = True

    def forward(ctx, a, c):
        ctx.c = c
        return scaled(ctx.xp, a, c)

    def backward(ctx, g):
        return g * ctx.c

    def fast_backward(ctx, g):
        return scaled(ctx.xp, g, ctx.c)


class Divided(Op):
    """``a / c`` for a Python number ``c`` and a float tensor ``a`` (torch's div by a scalar),
    with no tensor made for the number."""
    name = 'DivBackward'
    complex_ok = True

    def forward(ctx, a, c):
        ctx.c = c
        return divided(ctx.xp, a, c)

    def backward(ctx, g):
        return g / ctx.c

    def fast_backward(ctx, g):
        return divided(ctx.xp, g, ctx.c)


class Shifted(Op):
    """``a + c`` for a Python number ``c`` and a float tensor ``a`` (torch's add.Scalar)."""
    arithmetic = True
    name = 'AddBackward'
    complex_ok = True

    def forward(ctx, a, c):
        return a + c   # a half ``a``: NumPy rounds c to its dtype first, as torch does

    def backward(ctx, g):
        return g


def _number_and_float(a, b):
    """``b`` is a Python int or float and ``a`` a floating-point tensor: the result is ``a``'s
    dtype, so the number needs no tensor of its own."""
    tb = type(b)
    return (tb is float or tb is int) and type(a) in TENSOR_TYPES and \
        (a._data.dtype.kind == 'f' or a._data.dtype in HALF)


class Sub(Op):
    arithmetic = True
    complex_ok = True

    def forward(ctx, a, b):
        return a - b

    def backward(ctx, g):
        return g, -g if ctx.needs(1) else None


class Mul(Op):
    save = (0, 1)
    save_only_for = {0: 1, 1: 0}   # x * constant keeps the constant only
    arithmetic = True
    complex_ok = True

    def forward(ctx, a, b):
        return a * b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * cj(b) if ctx.needs(0) else None, g * cj(a) if ctx.needs(1) else None


class Div(Op):
    save = (0, 1)
    save_only_for = {0: 1}   # x / constant keeps the constant only
    arithmetic = True
    complex_ok = True

    def forward(ctx, a, b):
        return a / b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a, b = cj(a), cj(b)
        return g / b if ctx.needs(0) else None, -g * a / (b * b) if ctx.needs(1) else None


class RoundedDiv(Op):
    differentiable = False   # piecewise constant: torch's gradient is zero

    def forward(ctx, a, b, mode):
        _check_int_divisor(a, b)
        if a.dtype in HALF and (mode == 'floor' or b.dtype not in HALF):
            # in float32 (a number divisor as a float32), rounded once, as torch; its trunc
            # of two half tensors truncates their quotient rounded to their dtype (below)
            return narrow(ctx.xp, RoundedDiv.forward(ctx, wide(a), wide(b), mode), a.dtype)
        if mode == 'floor':
            return ctx.xp.floor_divide(a, b)
        if mode == 'trunc':
            q = a / b
            return ctx.xp.trunc(q).astype(q.dtype if a.dtype.kind == 'f' else a.dtype)
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{mode}'")


class Neg(Op):
    arithmetic = True
    complex_ok = True

    def forward(ctx, x):
        return -x

    def backward(ctx, g):
        return -g


class PowScalar(Op):
    save = (0,)
    arithmetic = True
    complex_ok = True

    def forward(ctx, x, p):
        ctx.p = p
        if x.dtype.kind == 'c':   # (np.power: a complex ``x ** 2`` is np.square, whose last
            return ctx.xp.power(x, p)   # bit differs, and ember.compile replays np.power)
        return x ** p

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.p == 0:
            return g * 0
        return g * cj(ctx.p * _power(x, ctx.p - 1))


def _power(x, p):
    """``x ** p``; a complex array's through np.power, as PowScalar's forward."""
    if type(x) not in TENSOR_TYPES and x.dtype.kind == 'c':
        return namespace(x).power(x, p)
    return x ** p


class Pow(Op):
    save = (0, 1)
    save_output = True

    def forward(ctx, a, b):
        return a ** b

    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = g * b * a ** (b - 1)
        # NOTE: d(a**b)/db = a**b * log(a); where a == 0 and b >= 0 torch takes 0, not nan.
        safe = where(a == 0, ones_like_(a), a)
        gb = where((a == 0) & (b >= 0), a * 0, g * out * log(safe))
        return ga, gb


class Exp(Op):
    save_output = True
    arithmetic = True
    complex_ok = True

    def forward(ctx, x):
        return ctx.xp.exp(x)

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * cj(y)


class Log(Op):
    save = (0,)
    arithmetic = True
    complex_ok = True

    def forward(ctx, x):
        return ctx.xp.log(x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / cj(x)


def ones_like_(t):
    from .._tensor import ones_like
    return ones_like(t)


def where(cond, a, b):
    from .index import where as _where
    return _where(cond, a, b)


# ---------------------------------------------------------------- functions and methods

@method('add', '__add__', '__radd__')
def add(a, b, alpha=1):
    """``a + alpha * b`` with broadcasting and type promotion.

    >>> ember.add(ember.tensor([1, 2]), 0.5)
    tensor([1.5000, 2.5000])
    """
    if alpha != 1:
        if type(a) in TENSOR_TYPES and type(b) in TENSOR_TYPES and \
                a._data.dtype in HALF and b._data.dtype is a._data.dtype:
            return AddScaled.apply(a, b, alpha=_half_number(alpha, a, 'add'))
        b = mul(b, alpha)
    if _number_and_float(a, b):
        return Shifted.apply(a, c=b)
    if _number_and_float(b, a):
        return Shifted.apply(b, c=a)
    if type(a) in TENSOR_TYPES and type(b) in TENSOR_TYPES and \
            a._data.dtype != b._data.dtype and a.ndim and b.ndim and \
            {a.dtype.name, b.dtype.name} in _HALF_AND_SINGLE:
        return Add.apply(a, b)   # float32 + bfloat16 (autocast's residuals): the array library
    a, b = operands(a, b)        # promotes as torch does (neither is 0-d) in its one kernel,
    return Add.apply(a, b)       # with no cast op in front


def _half_number(c, t, op):
    """A Python number rounded to the half tensor ``t``'s dtype, which must hold it (torch)."""
    with np.errstate(over='ignore'):
        r = float(np.asarray(c, dtype=t._data.dtype))
    if math.isinf(r) and not math.isinf(c):
        raise RuntimeError(f'{op}: alpha={c} cannot be converted to {t.dtype.name} without '
                           f'overflow')
    return r


_HALF_AND_SINGLE = ({'float32', 'bfloat16'}, {'float32', 'float16'})


@method('sub', '__sub__', 'subtract')
def sub(a, b, alpha=1):
    """``a - alpha * b``.

    >>> ember.sub(ember.tensor([3.0]), ember.tensor([1.0]))
    tensor([2.])
    """
    if any(x is True or x is False or (isinstance(x, Tensor) and x.dtype.kind == 0)
           for x in (a, b)):   # as torch: a bool on either side, tensor or number
        raise RuntimeError('sub: subtraction with a bool tensor is not supported; to invert '
                           'a mask, use ~ or logical_not()')
    if alpha != 1:
        if type(a) in TENSOR_TYPES and type(b) in TENSOR_TYPES and \
                a._data.dtype in HALF and b._data.dtype is a._data.dtype:
            return AddScaled.apply(a, b, alpha=-_half_number(alpha, a, 'sub'))
        b = mul(b, alpha)
    if _number_and_float(a, b):   # a - c is a + (-c) exactly
        return Shifted.apply(a, c=-b)
    a, b = operands(a, b)
    return Sub.apply(a, b)


@method('mul', '__mul__', '__rmul__', 'multiply')
def mul(a, b):
    """Elementwise product.

    >>> ember.tensor([1, 2]) * ember.tensor([3, 4])
    tensor([3, 8])
    """
    if _number_and_float(a, b):
        return Scaled.apply(a, c=b)
    if _number_and_float(b, a):
        return Scaled.apply(b, c=a)
    a, b = operands(a, b)
    return Mul.apply(a, b)


@method('div', '__truediv__', 'true_divide', 'divide')
def div(a, b, rounding_mode=None):
    """True division (integers give floats), or ``rounding_mode='floor'``/``'trunc'``.

    >>> ember.tensor([1, 2]) / 2
    tensor([0.5000, 1.0000])
    """
    if rounding_mode is None and _number_and_float(a, b):
        return Divided.apply(a, c=b)
    if rounding_mode is None and _number_and_float(b, a) and b._data.dtype in HALF and a != 1:
        return Scaled.apply(div(1, b), c=a)   # torch's c / x for a half x: (1 / x) * c
    if rounding_mode is not None and _number_and_float(a, b) and a._data.dtype in HALF:
        return RoundedDiv.apply(a, _as(b, _float32, a), mode=rounding_mode)   # (as torch)
    a, b = operands(a, b)
    if rounding_mode is not None:
        return RoundedDiv.apply(a, b, mode=rounding_mode)
    if a.dtype.kind < 2:
        a, b = a.to(get_default_dtype()), b.to(get_default_dtype())
    return Div.apply(a, b)


@method('neg', '__neg__', 'negative')
def neg(x):
    """``-x``, elementwise (``negative`` is the same function).

    >>> -ember.tensor([1, -2])
    tensor([-1,  2])
    """
    if x.dtype.kind == 0:
        raise RuntimeError('neg: negation, the `-` operator, on a bool tensor is not '
                           'supported; use the `~` or logical_not() operator instead')
    return Neg.apply(x)


@method('pow', '__pow__')
def pow(a, b):
    """``a ** b`` for tensors and numbers.

    >>> ember.tensor([1.0, 2.0, 3.0]) ** 2
    tensor([1., 4., 9.])
    """
    if _amp._State.on:   # autocast: float32
        a, b = _amp.full(a, b)
    if not isinstance(a, Tensor):
        return _rpow(b, a)
    if not isinstance(b, Tensor):
        dt = result_type(a, b)
        a = a if a.dtype is dt else a.to(dt)
        if dt.kind < 2 and b < 0:
            raise RuntimeError('pow: integers to negative integer powers are not allowed')
        return PowScalar.apply(a, p=b)
    a, b = operands(a, b)
    return Pow.apply(a, b)


def _rpow(x, base):
    a, b = operands(base, x)
    return Pow.apply(a, b)


@method('exp')
def exp(x):
    """``e ** x``, elementwise; integer inputs give floats.

    >>> ember.exp(ember.tensor([0.0, 1.0]))
    tensor([1.0000, 2.7183])
    """
    if _amp._State.on:   # autocast: float32
        x, = _amp.full(x)
    return Exp.apply(floating(x))


@method('log')
def log(x):
    """Natural logarithm, elementwise; integer inputs give floats.

    >>> ember.log(ember.tensor([1.0, 4.0]))
    tensor([0.0000, 1.3863])
    """
    if _amp._State.on:   # autocast: float32
        x, = _amp.full(x)
    return Log.apply(floating(x))


subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg


def _rsub(a, b):
    """``b - a``: a number minus a tensor."""
    return sub(b, a)


def _rtruediv(a, b):
    """``b / a``: a number divided by a tensor."""
    return div(b, a)


Tensor.__rsub__, Tensor.__rtruediv__, Tensor.__rpow__ = _rsub, _rtruediv, _rpow


# ---------------------------------------------------------------- in-place methods

for _name, _fn, _dunder in (('add', add, '__iadd__'), ('sub', sub, '__isub__'),
                            ('mul', mul, '__imul__'), ('div', div, '__itruediv__'),
                            ('pow', pow, '__ipow__')):
    _binary_inplace(_name, _fn, _dunder)
for _name, _fn in (('neg', neg), ('exp', exp), ('log', log)):
    _unary_inplace(_name, _fn)
del _name, _fn, _dunder


# ---------------------------------------------------------------- math functions

LN2, LN10 = math.log(2.0), math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _special(xp, fn, x):
    """erf and erfc, which NumPy lacks: Cody's approximations on the CPU (backend/cpu.py),
    CuPy's kernels on the GPU."""
    if xp is np:
        from ..backend import cpu
        return getattr(cpu, fn)(x)
    from cupyx.scipy import special   # answers float64 for float16, float32 for bfloat16
    return getattr(special, fn)(x).astype(x.dtype, copy=False)


def _sigmoid(xp, x):
    # 1 / (1 + exp(-x)) keeps full relative precision in both tails; exp overflows to inf for
    # very negative x, which gives the right limit 0 (the warning is silenced). It is several
    # times faster than the where-based form.
    with np.errstate(over='ignore'):
        y = xp.negative(x, out=xp.empty_like(x))   # in place from here (an array also when 0-d)
        xp.exp(y, out=y)
        y += 1
        return xp.divide(1, y, out=y)


FORWARD = {'erf': lambda xp, x: _special(xp, 'erf', x),
           'erfc': lambda xp, x: _special(xp, 'erfc', x),
           'sigmoid': _sigmoid}

# The derivative of each math function, in ember ops (so gradients of gradients work): of the
# input x for Unary, of the output y for UnaryOut.
DERIVATIVE = {
    'log2': lambda x: 1 / (x * LN2),
    'log10': lambda x: 1 / (x * LN10),
    'log1p': lambda x: 1 / (1 + x),
    'sin': lambda x: cos(x),
    'cos': lambda x: -sin(x),
    'arcsin': lambda x: rsqrt(1 - x * x),
    'arccos': lambda x: -rsqrt(1 - x * x),
    'arctan': lambda x: 1 / (1 + x * x),
    'sinh': lambda x: cosh(x),
    'cosh': lambda x: sinh(x),
    'erf': lambda x: TWO_OVER_SQRT_PI * exp(-x * x),
    'erfc': lambda x: -TWO_OVER_SQRT_PI * exp(-x * x),
    'exp2': lambda y: y * LN2,
    'expm1': lambda y: y + 1,
    'sqrt': lambda y: 0.5 / y,
    'tan': lambda y: 1 + y * y,
    'tanh': lambda y: 1 - y * y,
    'sigmoid': lambda y: y * (1 - y),
}


# the math functions that take complex inputs (their derivatives hold for complex too)
COMPLEX = frozenset(('sqrt', 'sin', 'cos', 'tanh'))


class Unary(Op):
    """A math function ``xp.<fn>`` whose derivative is a rule of its input."""
    save = (0,)
    complex_ok = True   # for the functions in COMPLEX (forward refuses the others)

    @property
    def name(self):
        return f'{self.fn.title()}Backward'

    def forward(ctx, x, fn):
        ctx.fn = fn
        if x.dtype.kind == 'c' and fn not in COMPLEX:
            raise RuntimeError(f'{fn}: not implemented for complex tensors (dtype {x.dtype}); '
                               f'the complex math functions are {", ".join(sorted(COMPLEX))}')
        if x.dtype in HALF:   # in float32, rounded once (sigmoid's steps, erf's polynomial)
            return narrow(ctx.xp, Unary.forward(ctx, wide(x), fn), x.dtype)
        return FORWARD[fn](ctx.xp, x) if fn in FORWARD else getattr(ctx.xp, fn)(x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * cj(DERIVATIVE[ctx.fn](x))


class UnaryOut(Unary):
    """A math function whose derivative reads best from its output (exp2, sqrt, tanh...)."""
    save = ()
    save_output = True

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * cj(DERIVATIVE[ctx.fn](y))

    def fast_backward(ctx, g):
        if ctx.fn not in ('sigmoid', 'tanh'):    # their rules are plain arithmetic
            return NotImplemented
        (y,) = ctx.saved_arrays
        if y.dtype.kind == 'c':
            return NotImplemented
        if y.dtype in HALF:   # in float32, rounded once (as torch)
            return narrow(ctx.xp, ctx._grad(wide(y), wide(g)), g.dtype)
        return ctx._grad(y, g)

    def _grad(ctx, y, g):
        xp = ctx.xp
        if ctx.fn == 'sigmoid':                   # g y (1 - y), in one new array
            d = xp.subtract(1, y, out=xp.empty_like(y))
            d *= y
        else:                                     # g (1 - y^2)
            d = xp.multiply(y, y, out=xp.empty_like(y))
            xp.subtract(1, d, out=d)
        d *= g
        return d


def _math(name, op, fn, summary, example, result):
    """A public math function: float results (integers are cast), a Tensor method, a doctest."""
    def math_fn(x):
        return op.apply(floating(x), fn=fn)
    math_fn.__name__ = math_fn.__qualname__ = name
    math_fn.__doc__ = (f'{summary}, elementwise; integer inputs give floats.\n\n'
                       f'    >>> ember.{name}(ember.tensor({example}))\n    {result}\n    ')
    setattr(Tensor, name, math_fn)
    return math_fn


exp2 = _math('exp2', UnaryOut, 'exp2', '``2 ** x``', '[0, 3]', 'tensor([1., 8.])')
expm1 = _math('expm1', UnaryOut, 'expm1', '``exp(x) - 1``, exact near 0', '[0.0]',
              'tensor([0.])')
log2 = _math('log2', Unary, 'log2', 'Base-2 logarithm', '[1, 8]', 'tensor([0., 3.])')
log10 = _math('log10', Unary, 'log10', 'Base-10 logarithm', '[1, 10]', 'tensor([0., 1.])')
log1p = _math('log1p', Unary, 'log1p', '``log(1 + x)``, exact near 0', '[0.0]', 'tensor([0.])')
sqrt = _math('sqrt', UnaryOut, 'sqrt', 'Square root', '[4, 9]', 'tensor([2., 3.])')
sin = _math('sin', Unary, 'sin', 'Sine', '[0.0]', 'tensor([0.])')
cos = _math('cos', Unary, 'cos', 'Cosine', '[0.0]', 'tensor([1.])')
tan = _math('tan', UnaryOut, 'tan', 'Tangent', '[0.0]', 'tensor([0.])')
asin = _math('asin', Unary, 'arcsin', 'Inverse sine', '[0.0, 1.0]', 'tensor([0.0000, 1.5708])')
acos = _math('acos', Unary, 'arccos', 'Inverse cosine', '[1.0]', 'tensor([0.])')
atan = _math('atan', Unary, 'arctan', 'Inverse tangent', '[0.0, 1.0]',
             'tensor([0.0000, 0.7854])')
sinh = _math('sinh', Unary, 'sinh', 'Hyperbolic sine', '[0.0]', 'tensor([0.])')
cosh = _math('cosh', Unary, 'cosh', 'Hyperbolic cosine', '[0.0]', 'tensor([1.])')
tanh = _math('tanh', UnaryOut, 'tanh', 'Hyperbolic tangent', '[0.0, 100.0]', 'tensor([0., 1.])')
sigmoid = _math('sigmoid', UnaryOut, 'sigmoid', 'The logistic ``1 / (1 + exp(-x))``, stable '
                'for large ``|x|``', '[0.0]', 'tensor([0.5000])')
erf = _math('erf', Unary, 'erf', 'The error function', '[0.0, 10.0]', 'tensor([0., 1.])')
erfc = _math('erfc', Unary, 'erfc', 'The complementary error function ``1 - erf(x)``',
             '[0.0]', 'tensor([1.])')
arcsin, arccos, arctan = asin, acos, atan
Tensor.arcsin, Tensor.arccos, Tensor.arctan = asin, acos, atan


@method('rsqrt')
def rsqrt(x):
    """``1 / sqrt(x)``; integer inputs give floats.

    >>> ember.rsqrt(ember.tensor([4.0]))
    tensor([0.5000])
    """
    return pow(floating(x), -0.5)


@method('reciprocal')
def reciprocal(x):
    """``1 / x``; integer inputs give floats.

    >>> ember.reciprocal(ember.tensor([2, 4]))
    tensor([0.5000, 0.2500])
    """
    return div(1, floating(x))


@method('square')
def square(x):
    """``x * x`` (integers stay integers).

    >>> ember.square(ember.tensor([-2, 3]))
    tensor([4, 9])
    """
    return mul(x, x)


class Atan2(Op):
    save = (0, 1)

    def forward(ctx, a, b):
        return ctx.xp.arctan2(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        # NOTE: at (0, 0) the rule's 1 / (a^2 + b^2) is inf; torch takes it as 0 there (and
        # wherever a^2 + b^2 underflows to 0), so the gradients are zeros signed by b and -a.
        d = a * a + b * b
        zero = d == 0
        recip = reciprocal(where(zero, ones_like_(d), d))   # (1 / 0 would warn)
        recip = where(zero | recip.isinf(), zeros_like(recip), recip)
        return g * b * recip, g * -a * recip


@method('atan2', 'arctan2')
def atan2(a, b):
    """The angle of the point ``(b, a)``: ``atan(a / b)`` in the right quadrant.

    >>> ember.atan2(ember.tensor([1.0]), ember.tensor([-1.0]))
    tensor([2.3562])
    """
    a, b = operands(a, b)
    return Atan2.apply(floating(a), floating(b))


arctan2 = atan2


def _check_int_divisor(a, b):
    if a.dtype.kind in 'biu' and (b == 0).any():   # NumPy would give 0 and a warning
        raise RuntimeError('ZeroDivisionError: integer division or modulo by zero')


__all__ += ['exp2', 'expm1', 'log2', 'log10', 'log1p', 'sqrt',
            'rsqrt', 'reciprocal', 'square', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan',
            'arcsin', 'arccos', 'arctan', 'atan2', 'arctan2', 'sinh', 'cosh', 'tanh',
            'sigmoid', 'erf', 'erfc']
