"""Elementwise ops: arithmetic, math functions, activations, comparisons.

Each op is one small ``Op`` class (forward on arrays, backward in ember ops) and a function
that promotes its operands as PyTorch does and calls ``apply``.
"""
import numpy as np

from .._dtype import get_default_dtype, result_type
from .._tensor import Tensor, method
from ..autograd import Op
from ..backend import namespace, to_device

__all__ = ['add', 'sub', 'subtract', 'mul', 'multiply', 'div', 'divide', 'true_divide',
           'neg', 'negative', 'pow', 'exp', 'log']


# ---------------------------------------------------------------- operand handling

def _as(x, dt, ref):
    if isinstance(x, Tensor):
        return x if x.data.dtype == dt.np else x.to(dt)
    if ref is None or type(ref.data) is np.ndarray:
        return Tensor._make(np.asarray(x, dtype=dt.np))
    return Tensor._make(namespace(ref.data).asarray(x, dtype=dt.np))


def operands(a, b):
    """Two operands (tensors or numbers) promoted to their common dtype, as tensors."""
    dt = result_type(a, b)
    ref = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    return _as(a, dt, ref), _as(b, dt, ref)


def floating(x):
    """``x`` itself if floating point, else ``x`` cast to the default dtype (as torch's
    unary float ops do for integer inputs)."""
    if not isinstance(x, Tensor):
        from .._tensor import tensor
        x = tensor(x)
    return x if x.dtype.is_floating_point else x.to(get_default_dtype())


# ---------------------------------------------------------------- dtype and device moves

class Cast(Op):
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype.np)

    def backward(ctx, g):
        return g.to(ctx.src)

    @classmethod
    def apply(cls, x, dtype):
        if not dtype.is_floating_point:   # casting to an integer type cuts the graph
            return Tensor._make(x.data.astype(dtype.np))
        return super().apply(x, dtype=dtype)


class Move(Op):
    def forward(ctx, x, device):
        from ..backend import array_device
        ctx.src = array_device(x)
        return to_device(x, device)

    def backward(ctx, g):
        return g.to(ctx.src)

    @classmethod
    def apply(cls, x, device):   # the output lives elsewhere: no same-device check here
        ctx = cls.__new__(cls)
        from ..autograd import _record
        return _record(ctx, [x], ctx.forward(x.data, device))


# ---------------------------------------------------------------- arithmetic

class Add(Op):
    def forward(ctx, a, b):
        return a + b

    def backward(ctx, g):
        return g, g


class Sub(Op):
    def forward(ctx, a, b):
        return a - b

    def backward(ctx, g):
        return g, -g


class Mul(Op):
    save = (0, 1)

    def forward(ctx, a, b):
        return a * b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, g * a


class Div(Op):
    save = (0, 1)

    def forward(ctx, a, b):
        return a / b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g / b, -g * a / (b * b)


class RoundedDiv(Op):
    differentiable = False   # piecewise constant: torch's gradient is zero

    def forward(ctx, a, b, mode):
        if mode == 'floor':
            return ctx.xp.floor_divide(a, b)
        if mode == 'trunc':
            q = a / b
            return ctx.xp.trunc(q).astype(q.dtype if a.dtype.kind == 'f' else a.dtype)
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{mode}'")


class Neg(Op):
    def forward(ctx, x):
        return -x

    def backward(ctx, g):
        return -g


class PowScalar(Op):
    save = (0,)

    def forward(ctx, x, p):
        ctx.p = p
        return x ** p

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.p == 0:
            return g * 0
        return g * ctx.p * x ** (ctx.p - 1)


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

    def forward(ctx, x):
        return ctx.xp.exp(x)

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Log(Op):
    save = (0,)

    def forward(ctx, x):
        return ctx.xp.log(x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


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
        b = mul(b, alpha)
    a, b = operands(a, b)
    return Add.apply(a, b)


@method('sub', '__sub__')
def sub(a, b, alpha=1):
    """``a - alpha * b``.

    >>> ember.sub(ember.tensor([3.0]), ember.tensor([1.0]))
    tensor([2.])
    """
    if alpha != 1:
        b = mul(b, alpha)
    a, b = operands(a, b)
    if a.dtype.kind == 0:
        raise RuntimeError('sub: subtracting two bool tensors is not supported; use '
                           'logical_xor() instead')
    return Sub.apply(a, b)


@method('mul', '__mul__', '__rmul__')
def mul(a, b):
    """Elementwise product.

    >>> ember.tensor([1, 2]) * ember.tensor([3, 4])
    tensor([3, 8])
    """
    a, b = operands(a, b)
    return Mul.apply(a, b)


@method('div', '__truediv__', 'true_divide')
def div(a, b, rounding_mode=None):
    """True division (integers give floats), or ``rounding_mode='floor'``/``'trunc'``.

    >>> ember.tensor([1, 2]) / 2
    tensor([0.5000, 1.0000])
    """
    a, b = operands(a, b)
    if rounding_mode is not None:
        return RoundedDiv.apply(a, b, mode=rounding_mode)
    if not a.dtype.is_floating_point:
        a, b = a.to(get_default_dtype()), b.to(get_default_dtype())
    return Div.apply(a, b)


@method('neg', '__neg__', 'negative')
def neg(x):
    """``-x``. ``-ember.tensor([1, -2])`` is ``tensor([-1, 2])``."""
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
    if not isinstance(a, Tensor):
        return _rpow(b, a)
    if not isinstance(b, Tensor):
        dt = result_type(a, b)
        a = a if a.dtype is dt else a.to(dt)
        if not dt.is_floating_point and b < 0:
            raise RuntimeError('pow: integers to negative integer powers are not allowed')
        return PowScalar.apply(a, p=b)
    a, b = operands(a, b)
    return Pow.apply(a, b)


def _rpow(x, base):
    a, b = operands(base, x)
    return Pow.apply(a, b)


@method('exp')
def exp(x):
    """``e ** x``. ``ember.exp(ember.tensor([0.0]))`` is ``tensor([1.])``."""
    return Exp.apply(floating(x))


@method('log')
def log(x):
    """Natural logarithm. ``ember.log(ember.tensor([1.0]))`` is ``tensor([0.])``."""
    return Log.apply(floating(x))


subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg
Tensor.__rsub__ = lambda a, b: sub(b, a)
Tensor.__rtruediv__ = lambda a, b: div(b, a)
Tensor.__rpow__ = lambda a, b: _rpow(a, b)
for _name, _fn in (('add', add), ('sub', sub), ('mul', mul), ('div', div), ('pow', pow)):
    setattr(Tensor, f'__i{_name}__' if _name != 'div' else '__itruediv__',
            (lambda f, n: lambda self, other: self._inplace(f'{n}_', f, other))(_fn, _name))
    setattr(Tensor, f'{_name}_', (lambda f, n: lambda self, other, **kw: self._inplace(
        f'{n}_', lambda s, o: f(s, o, **kw), other))(_fn, _name))
Tensor.neg_ = lambda self: self._inplace('neg_', neg)
Tensor.exp_ = lambda self: self._inplace('exp_', exp)
Tensor.log_ = lambda self: self._inplace('log_', log)


# ---------------------------------------------------------------- comparisons and logic

class Compare(Op):
    """Comparisons and logical ops: bool results, no gradient."""
    differentiable = False

    def forward(ctx, a, b, ufunc):
        return getattr(ctx.xp, ufunc)(a, b)


class LogicalNot(Op):
    differentiable = False

    def forward(ctx, x):
        return ctx.xp.logical_not(x) if x.dtype.kind == 'b' else ctx.xp.invert(x)


def _compare(ufunc, name):
    def fn(a, b):
        a, b = operands(a, b)
        return Compare.apply(a, b, ufunc=ufunc)
    fn.__name__ = name
    fn.__doc__ = (f'Elementwise ``{ufunc}`` with broadcasting; no gradient.\n\n'
                  f'    >>> ember.{name}(ember.tensor([0, 1]), 1).tolist()\n'
                  f'    {getattr(np, ufunc)(np.array([0, 1]), 1).tolist()}\n    ')
    return fn


eq = _compare('equal', 'eq')
ne = _compare('not_equal', 'ne')
lt = _compare('less', 'lt')
le = _compare('less_equal', 'le')
gt = _compare('greater', 'gt')
ge = _compare('greater_equal', 'ge')
logical_and = _compare('logical_and', 'logical_and')
logical_or = _compare('logical_or', 'logical_or')
logical_xor = _compare('logical_xor', 'logical_xor')
bitwise_and = _compare('bitwise_and', 'bitwise_and')
bitwise_or = _compare('bitwise_or', 'bitwise_or')
bitwise_xor = _compare('bitwise_xor', 'bitwise_xor')


def logical_not(x):
    """Elementwise not, as a bool tensor.

    >>> ember.logical_not(ember.tensor([True, False]))
    tensor([False,  True])
    """
    return LogicalNot.apply(x.bool())


def bitwise_not(x):
    """``~x``: logical not for bool tensors, bitwise not for integers.

    >>> ~ember.tensor([True, False])
    tensor([False,  True])
    """
    if x.dtype.is_floating_point:
        raise TypeError(f'bitwise_not: not defined for floating-point tensors ({x.dtype})')
    return LogicalNot.apply(x)


for _n, _f in (('eq', eq), ('ne', ne), ('lt', lt), ('le', le), ('gt', gt), ('ge', ge),
               ('logical_and', logical_and), ('logical_or', logical_or),
               ('logical_xor', logical_xor), ('logical_not', logical_not),
               ('bitwise_and', bitwise_and), ('bitwise_or', bitwise_or),
               ('bitwise_xor', bitwise_xor), ('bitwise_not', bitwise_not)):
    setattr(Tensor, _n, _f)
Tensor.__eq__, Tensor.__ne__ = eq, ne
Tensor.__lt__, Tensor.__le__, Tensor.__gt__, Tensor.__ge__ = lt, le, gt, ge
Tensor.greater, Tensor.less, Tensor.greater_equal, Tensor.less_equal = gt, lt, ge, le
Tensor.__and__, Tensor.__or__, Tensor.__xor__ = bitwise_and, bitwise_or, bitwise_xor
Tensor.__rand__, Tensor.__ror__, Tensor.__rxor__ = bitwise_and, bitwise_or, bitwise_xor
Tensor.__invert__ = bitwise_not
__all__ += ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logical_and', 'logical_or', 'logical_xor',
            'logical_not', 'bitwise_and', 'bitwise_or', 'bitwise_xor', 'bitwise_not']
