"""Reductions: sum, mean, and friends, over one dimension, a tuple of them, or everything."""
from .._dtype import int64
from .._tensor import Tensor, _wrap_dim, method
from ..autograd import Op
from .elementwise import floating

__all__ = ['sum', 'mean', 'sum_to_size']


def dims(dim, ndim, op):
    """Normalise ``dim`` (None, an int, or a sequence) to a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    axes = tuple(sorted(_wrap_dim(d, ndim, op) for d in dim))
    if len(set(axes)) != len(axes):
        raise RuntimeError(f'{op}: dim {tuple(dim)} appears multiple times in the list of dims')
    return axes if ndim else ()


def kept_shape(shape, axes):
    """The shape with the reduced axes kept as size 1 (for broadcasting gradients back)."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Op):
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        dt = 'int64' if x.dtype.kind in 'biu' else None
        return ctx.xp.sum(x, axis=axes, keepdims=keepdim, dtype=dt)

    def backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(kept_shape(ctx.shape, ctx.axes))
        return g.expand(ctx.shape)


class SumTo(Op):
    """Sum a broadcast gradient back to a shape: the one reducing step autograd uses."""

    def forward(ctx, x, shape):
        ctx.shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                         if s == 1 and x.shape[lead + i] != 1)
        out = x.sum(axis=axes, keepdims=True) if axes else x
        return out.reshape(shape)

    def backward(ctx, g):
        return g.expand(ctx.shape)


@method('sum')
def sum(x, dim=None, keepdim=False, dtype=None):
    """Sum over ``dim`` (an int, a tuple, or all). Integers and bools sum to int64.

    >>> ember.tensor([[1, 2], [3, 4]]).sum(0)
    tensor([4, 6])
    >>> ember.ones(2, 3).sum((0, 1), keepdim=True)
    tensor([[6.]])
    """
    if dtype is not None:
        x = x.to(dtype)
    return Sum.apply(x, axes=dims(dim, x.ndim, 'sum'), keepdim=keepdim)


@method('mean')
def mean(x, dim=None, keepdim=False, dtype=None):
    """Mean over ``dim``; needs a floating-point input (or ``dtype=``), as in torch.

    >>> ember.tensor([[1.0, 2.0], [3.0, 4.0]]).mean(1)
    tensor([1.5000, 3.5000])
    """
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f'mean(): could not infer output dtype. Input dtype must be either '
                           f'a floating point or complex dtype. Got: {x.dtype.name}')
    axes = dims(dim, x.ndim, 'mean')
    n = 1
    for a in axes:
        n *= x.shape[a]
    return Sum.apply(x, axes=axes, keepdim=keepdim) / n if n else \
        Sum.apply(x, axes=axes, keepdim=keepdim) * float('nan')


@method('sum_to_size')
def sum_to_size(x, *size):
    """Sum a tensor down to a shape it broadcasts to.

    >>> ember.ones(2, 3).sum_to_size(1, 3)
    tensor([[2., 2., 2.]])
    """
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    if tuple(x.shape) == shape:
        return x
    return SumTo.apply(x, shape=shape)


_ = (int64, Tensor, floating)
