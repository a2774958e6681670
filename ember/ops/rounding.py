"""Rounding and integer division: floor, ceil, trunc, round, frac, floor_divide, remainder,
fmod. Their gradients are zero where torch's are (the outputs stay in the graph through
``Step``), remainder's and fmod's are torch's."""
import builtins

from .._tensor import Tensor, method
from ..autograd import Op
from .elementwise import _check_int_divisor, div, operands
from .inplace_methods import _inplace_method
from .piecewise import _step

__all__ = ['floor', 'ceil', 'trunc', 'fix', 'round', 'frac', 'floor_divide', 'remainder', 'fmod']


@method('floor')
def floor(x):
    """Round down to a whole number (integers stay integers); zero gradient.

    >>> ember.floor(ember.tensor([-1.5, 1.5]))
    tensor([-2.,  1.])
    """
    return _step(x, lambda xp, a: xp.floor(a))


@method('ceil')
def ceil(x):
    """Round up to a whole number; zero gradient.

    >>> ember.ceil(ember.tensor([-1.5, 1.5]))
    tensor([-1.,  2.])
    """
    return _step(x, lambda xp, a: xp.ceil(a))


@method('trunc', 'fix')
def trunc(x):
    """Round towards zero; zero gradient.

    >>> ember.trunc(ember.tensor([-1.5, 1.5]))
    tensor([-1.,  1.])
    """
    return _step(x, lambda xp, a: xp.trunc(a))


fix = trunc


@method('round')
def round(x, decimals=0):
    """Round half to even, to ``decimals`` decimal places; zero gradient.

    >>> ember.round(ember.tensor([0.5, 1.5, 2.567]))
    tensor([0., 2., 3.])
    >>> ember.round(ember.tensor([2.567]), decimals=2)
    tensor([2.5700])
    """
    if decimals == 0:
        return _step(x, lambda xp, a: xp.round(a))
    scale = 10.0 ** builtins.abs(decimals)   # as torch: scale up for decimals > 0, else down
    if decimals > 0:
        return _step(x, lambda xp, a: xp.round(a * scale) / scale)
    return _step(x, lambda xp, a: xp.round(a / scale) * scale)


@method('frac')
def frac(x):
    """The fractional part ``x - trunc(x)``, with the sign of ``x``.

    >>> ember.frac(ember.tensor([-1.25, 2.5]))
    tensor([-0.2500,  0.5000])
    """
    if not x.dtype.is_floating_point:
        raise RuntimeError(f'frac: not implemented for {x.dtype} tensors')
    return x - trunc(x)


# ---------------------------------------------------------------- integer division

class Mod(Op):
    """remainder (the sign of the divisor, Python's %) and fmod (the sign of the dividend)."""
    save = (0, 1)

    def forward(ctx, a, b, fn):
        ctx.fn = fn
        _check_int_divisor(a, b)
        return getattr(ctx.xp, fn)(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        q = div(a, b, rounding_mode='floor' if ctx.fn == 'remainder' else 'trunc')
        return g, -g * q




@method('remainder', '__mod__')
def remainder(a, b):
    """``a - b * floor(a / b)``: Python's ``%``, with the sign of ``b``.

    >>> ember.tensor([-3, 3]) % 2
    tensor([1, 1])
    """
    a, b = operands(a, b)
    return Mod.apply(a, b, fn='remainder')


@method('fmod')
def fmod(a, b):
    """``a - b * trunc(a / b)``: C's ``fmod``, with the sign of ``a``.

    >>> ember.fmod(ember.tensor([-3, 3]), 2)
    tensor([-1,  1])
    """
    a, b = operands(a, b)
    return Mod.apply(a, b, fn='fmod')


@method('floor_divide', '__floordiv__')
def floor_divide(a, b):
    """``floor(a / b)``, Python's ``//``; no gradient.

    >>> ember.tensor([-7, 7]) // 2
    tensor([-4,  3])
    """
    return div(a, b, rounding_mode='floor')


def _rfloordiv(a, b):
    """``b // a``: a number floor-divided by a tensor."""
    return floor_divide(b, a)


def _rmod(a, b):
    """``b % a``: the remainder of a number divided by a tensor."""
    return remainder(b, a)


Tensor.__rfloordiv__, Tensor.__rmod__ = _rfloordiv, _rmod

__test__: dict = {}   # the in-place methods' doctests (inplace_methods.inplace_doc)
for _name in ('floor', 'ceil', 'round', 'trunc', 'fix', 'frac', 'floor_divide', 'remainder',
              'fmod'):
    _inplace_method(_name, '[-1.5, 2.25]', '2' if _name in ('floor_divide', 'remainder',
                                                            'fmod') else '', __test__)
Tensor.__ifloordiv__ = Tensor.floor_divide_
Tensor.__imod__ = Tensor.remainder_
del _name
