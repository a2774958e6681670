"""Linear algebra: matmul and the products built on it."""
from .._tensor import Tensor, method
from ..autograd import Op
from .elementwise import operands

__all__ = ['matmul']


class MatMul(Op):
    save = (0, 1)

    def forward(ctx, a, b):
        return ctx.xp.matmul(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        if a.ndim == 1 and b.ndim == 1:
            return g * b, g * a
        if a.ndim == 1:      # (k) @ (..., k, n): a is a row vector
            ga = (g.unsqueeze(-2) @ b.mT).squeeze(-2)
            gb = a.unsqueeze(-1) * g.unsqueeze(-2)
            return ga, gb
        if b.ndim == 1:      # (..., m, k) @ (k): b is a column vector
            return g.unsqueeze(-1) * b, (a.mT @ g.unsqueeze(-1)).squeeze(-1)
        return g @ b.mT, a.mT @ g


@method('matmul', '__matmul__')
def matmul(a, b):
    """Matrix product with PyTorch's rules for 1-D, 2-D and batched (broadcast) operands.

    >>> ember.ones(2, 3) @ ember.ones(3)
    tensor([3., 3.])
    """
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f'matmul: both arguments need at least 1 dimension, got '
                           f'{tuple(a.shape)} and {tuple(b.shape)}')
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise RuntimeError(f'matmul: {tuple(a.shape)} @ {tuple(b.shape)}: inner dimensions '
                           f'{ka} and {kb} differ')
    a, b = operands(a, b)
    return MatMul.apply(a, b)


Tensor.__rmatmul__ = lambda b, a: matmul(a, b)
