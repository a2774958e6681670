"""Selection ops: where, gather, scatter, masks and friends."""
from .._dtype import bool_
from .._tensor import Tensor, method
from ..autograd import Op
from .elementwise import operands

__all__ = ['where']


class Where(Op):
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        return ctx.xp.where(cond, a, b)

    def backward(ctx, g):
        c = Tensor._make(ctx.cond)
        zero = g * 0
        return None, where(c, g, zero), where(c, zero, g)


@method('where')
def where(condition, input, other):
    """``input`` where ``condition`` holds, else ``other`` (broadcast, promoted).

    >>> ember.where(ember.tensor([True, False]), ember.tensor([1.0, 2.0]), 0.0)
    tensor([1., 0.])
    """
    if not isinstance(condition, Tensor) or condition.dtype is not bool_:
        raise RuntimeError(f'where: expected condition to be a bool tensor, got '
                           f'{getattr(condition, "dtype", type(condition).__name__)}')
    a, b = operands(input, other)
    return Where.apply(condition, a, b)
