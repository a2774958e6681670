"""Piecewise elementwise ops: abs, sign, maximum and minimum, clamp, lerp, nan_to_num,
positive, and ``Step``, the zero-gradient op that floor, sign and relu's slope are made of."""
from .._tensor import Tensor, method, zeros_like
from ..autograd import Op
from .elementwise import in_float32, operands, where

__all__ = ['abs', 'absolute', 'sign', 'maximum', 'minimum', 'clamp', 'clip', 'clamp_min',
           'clamp_max', 'lerp', 'nan_to_num', 'positive']


class Abs(Op):
    complex_ok = True
    save = (0,)

    def forward(ctx, x):
        return ctx.xp.abs(x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if x.is_complex():   # g * x / |x|: NOTE: 0 at x = 0, as torch's sgn
            return g * x.sgn()
        return g * sign(x)   # NOTE: abs'(0) = sign(0) = 0, as torch.


@method('abs', '__abs__', 'absolute')
def abs(x):
    """Absolute value.

    >>> ember.abs(ember.tensor([-1.5, 2.0]))
    tensor([1.5000, 2.0000])
    """
    if x.dtype.kind == 0:
        raise RuntimeError('abs: not implemented for bool tensors')
    return Abs.apply(x)


absolute = abs


class Step(Op):
    """A piecewise-constant function of x (floor, sign, the slope of relu): its gradient is
    zero, as torch's is, but the output stays in the graph so that gradients of gradients do."""

    def forward(ctx, x, fn):
        return fn(ctx.xp, x)

    def backward(ctx, g):
        return zeros_like(g)


def _step(x, fn):
    if not x.dtype.is_floating_point:   # integers are already whole: torch returns a copy
        return Step.apply(x, fn=lambda xp, a: a.copy())
    return Step.apply(x, fn=fn)


@method('sign')
def sign(x):
    """-1, 0 or 1 by the sign of each element (0 for nan, as torch).

    >>> ember.sign(ember.tensor([-2.0, 0.0, 3.0]))
    tensor([-1.,  0.,  1.])
    """
    if x.dtype.kind == 0:
        return _step(x, None)
    return Step.apply(x, fn=lambda xp, a: xp.where(a == a, xp.sign(a), 0).astype(a.dtype))


class Extremum(Op):
    save = (0, 1)

    def forward(ctx, a, b, fn):
        ctx.fn = fn
        return getattr(ctx.xp, fn)(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        zero = g * 0
        half = where(a == b, g / 2, g)   # NOTE: ties split the gradient in half, as torch.
        a_loses = a < b if ctx.fn == 'maximum' else a > b
        b_loses = a > b if ctx.fn == 'maximum' else a < b
        return where(a_loses, zero, half), where(b_loses, zero, half)


@method('maximum')
def maximum(a, b):
    """The larger of two tensors, elementwise (nan if either is nan).

    >>> ember.maximum(ember.tensor([1.0, 4.0]), ember.tensor([3.0, 2.0]))
    tensor([3., 4.])
    """
    a, b = operands(a, b)
    return Extremum.apply(a, b, fn='maximum')


@method('minimum')
def minimum(a, b):
    """The smaller of two tensors, elementwise (nan if either is nan).

    >>> ember.minimum(ember.tensor([1.0, 4.0]), ember.tensor([3.0, 2.0]))
    tensor([1., 2.])
    """
    a, b = operands(a, b)
    return Extremum.apply(a, b, fn='minimum')


@method('clamp', 'clip')
def clamp(x, min=None, max=None):
    """Limit ``x`` to ``[min, max]``; the bounds are numbers or tensors, either may be None.

    >>> ember.clamp(ember.tensor([-2.0, 0.5, 2.0]), min=-1, max=1)
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    # NOTE: x keeps its gradient at a bound (torch's min <= x <= max); a tensor bound gets the
    # gradient where x lies beyond it. (When min > max torch also gives min a share; not ember.)
    if min is not None:
        x = where(_or_nan(x < min, min), min, x)
    if max is not None:
        x = where(_or_nan(x > max, max), max, x)
    return x


def _or_nan(beyond, bound):
    """``beyond``, and True where the bound is nan: clamp gives nan there, as torch's."""
    if isinstance(bound, Tensor):
        return beyond | (bound != bound) if bound.dtype.is_floating_point else beyond
    return beyond | True if bound != bound else beyond


clip = clamp


@method('clamp_min')
def clamp_min(x, min):
    """``clamp(x, min=min)``.

    >>> ember.clamp_min(ember.tensor([-1.0, 1.0]), 0)
    tensor([0., 1.])
    """
    return clamp(x, min=min)


@method('clamp_max')
def clamp_max(x, max):
    """``clamp(x, max=max)``.

    >>> ember.clamp_max(ember.tensor([-1.0, 1.0]), 0)
    tensor([-1.,  0.])
    """
    return clamp(x, max=max)


@method('lerp')
@in_float32
def lerp(start, end, weight):
    """Linear interpolation ``start + weight * (end - start)``; weight a number or a tensor.

    >>> ember.lerp(ember.tensor([0.0, 1.0]), ember.tensor([10.0, 3.0]), 0.5)
    tensor([5., 2.])
    """
    return start + weight * (end - start)


# ---------------------------------------------------------------- repairs and the identity

class NanToNum(Op):
    save = (0,)

    def forward(ctx, x, nan, posinf, neginf):
        return ctx.xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return where(x.isfinite(), g, zeros_like(g))   # NOTE: replaced entries get 0, as torch.


@method('nan_to_num')
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replace nan, +inf and -inf (by default with 0 and the dtype's largest and smallest).

    >>> ember.nan_to_num(ember.tensor([float('nan'), float('inf'), 1.0]), posinf=9.0)
    tensor([0., 9., 1.])
    """
    return NanToNum.apply(x, nan=nan, posinf=posinf, neginf=neginf)


@method('positive', '__pos__')
def positive(x):
    """``+x``: ``x`` itself.

    >>> +ember.tensor([-1, 2])
    tensor([-1,  2])
    """
    if x.dtype.kind == 0:
        raise RuntimeError('positive: the `+` operator on a bool tensor is not supported')
    return x
