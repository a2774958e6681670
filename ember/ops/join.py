"""Joining and splitting: cat, stack (and hstack, vstack), split, chunk, unbind, atleast_*.

unbind, split and chunk return their pieces from one multi-output node, whose backward joins
the pieces' gradients with one cat or stack."""
import numpy as np

from .._dtype import result_type
from .._tensor import Tensor, _wrap_dim, method
from ..autograd import Function, Op, _State
from .movement import _shape_arg, reshape, unsqueeze

__all__ = ['cat', 'concat', 'concatenate', 'stack', 'hstack', 'vstack', 'split', 'chunk',
           'unbind', 'atleast_1d', 'atleast_2d']


# ---------------------------------------------------------------- joining and splitting

class Cat(Op):
    complex_ok = True   # (moves or picks elements: any dtype)

    def forward(ctx, *xs, axis):
        ctx.axis, ctx.sizes = axis, [a.shape[axis] for a in xs]
        return ctx.xp.concatenate(xs, axis)

    def backward(ctx, g):
        return split(g, ctx.sizes, ctx.axis)


def _tensors(tensors, op):
    if isinstance(tensors, Tensor) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f'{op}: expected a sequence of Tensors, got '
                        f'{[type(t).__name__ for t in tensors]}')
    if not tensors:
        raise ValueError(f'{op}: expected a non-empty list of Tensors')
    return list(tensors)


@method('cat')
def cat(tensors, dim=0):
    """Join tensors along an existing dimension (dtypes are promoted).

    >>> ember.cat([ember.zeros(1, 2), ember.ones(2, 2)]).shape
    ember.Size([3, 2])
    """
    tensors = _tensors(tensors, 'cat')
    dt = result_type(*tensors)
    tensors = [t if t.dtype is dt else t.to(dt) for t in tensors]
    # as in torch, 1-d empty tensors are allowed beside tensors of any shape
    ref = next((t for t in tensors if t.shape != (0,)), tensors[0])
    if ref.ndim == 0:
        raise RuntimeError(f'cat: zero-dimensional tensor (at position {tensors.index(ref)}) '
                           f'cannot be concatenated')
    d = _wrap_dim(dim, ref.ndim, 'cat')
    for i, t in enumerate(tensors):
        if t.shape == (0,) and ref.ndim > 1:
            tensors[i] = reshape(t, ref.shape[:d] + (0,) + ref.shape[d + 1:])
            continue
        if t.ndim != ref.ndim:
            raise RuntimeError(f'cat: Tensors must have same number of dimensions: got '
                               f'{ref.ndim} and {t.ndim} (tensor number {i} has shape '
                               f'{tuple(t.shape)})')
        for k in range(t.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                raise RuntimeError(f'cat: Sizes of tensors must match except in dimension {d}. '
                                   f'Expected size {ref.shape[k]} but got size {t.shape[k]} for '
                                   f'tensor number {i} in the list (shapes '
                                   f'{[tuple(s.shape) for s in tensors]})')
    return Cat.apply(*tensors, axis=d)


concat = concatenate = cat


def stack(tensors, dim=0):
    """Join equal-shaped tensors along a new dimension.

    >>> ember.stack([ember.zeros(2), ember.ones(2)], 1)
    tensor([[0., 1.],
            [0., 1.]])
    """
    tensors = _tensors(tensors, 'stack')
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f'stack expects each tensor to be equal size, but got '
                               f'{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at '
                               f'entry {i}')
    d = _wrap_dim(dim, tensors[0].ndim + 1, 'stack')
    return cat([unsqueeze(t, d) for t in tensors], d)


def atleast_1d(x):
    """``x`` with at least one dimension.

    >>> ember.atleast_1d(ember.tensor(1.0))
    tensor([1.])
    """
    return reshape(x, 1) if x.ndim == 0 else x


def atleast_2d(x):
    """``x`` with at least two dimensions (new ones in front).

    >>> ember.atleast_2d(ember.tensor([1, 2])).shape
    ember.Size([1, 2])
    """
    return reshape(x, (1,) * (2 - x.ndim) + tuple(x.shape)) if x.ndim < 2 else x


def hstack(tensors):
    """Join along dimension 1 (dimension 0 for 1-d tensors).

    >>> ember.hstack([ember.tensor([1, 2]), ember.tensor([3])])
    tensor([1, 2, 3])
    """
    tensors = [atleast_1d(t) for t in _tensors(tensors, 'hstack')]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Join along dimension 0, making 0-d and 1-d tensors rows first.

    >>> ember.vstack([ember.tensor([1, 2]), ember.tensor([3, 4])])
    tensor([[1, 2],
            [3, 4]])
    """
    return cat([atleast_2d(t) for t in _tensors(tensors, 'vstack')], 0)


@method('split')
def split(x, split_size_or_sections, dim=0):
    """Views of consecutive pieces of ``dim``: all of one size (the last may be smaller) or
    of the sizes in a list.

    >>> [t.tolist() for t in ember.arange(5).split(2)]
    [[0, 1], [2, 3], [4]]
    >>> [t.tolist() for t in ember.arange(5).split([1, 4])]
    [[0], [1, 2, 3, 4]]
    """
    if x.ndim == 0:
        raise RuntimeError('split expects at least a 1-dimensional tensor')
    d = _wrap_dim(dim, x.ndim, 'split')
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        s = int(split_size_or_sections)
        if s < 0 or (s == 0 and n):
            raise RuntimeError(f'split expects split_size be non-negative (and 0 only for an '
                               f'empty dimension), but got split_size={s} for dimension {d} of '
                               f'size {n}')
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if s else []
        sizes = sizes or [0]
    else:
        sizes = list(_shape_arg((split_size_or_sections,), 'split'))
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f'split_sizes={sizes}')
    idx, start = [], 0
    for s in sizes:
        idx.append((slice(None),) * d + (slice(start, start + s),))
        start += s
    return _pieces(x, d, idx, 'cat')


@method('chunk')
def chunk(x, chunks, dim=0):
    """Split into ``chunks`` pieces of equal size (the last may be smaller, or fewer pieces).

    >>> [t.tolist() for t in ember.arange(5).chunk(2)]
    [[0, 1, 2], [3, 4]]
    """
    if chunks <= 0:
        raise RuntimeError(f'chunk expects `chunks` to be greater than 0, got: {chunks}')
    if x.ndim == 0:
        raise RuntimeError('chunk expects at least a 1-dimensional tensor')
    n = x.shape[_wrap_dim(dim, x.ndim, 'chunk')]
    if n == 0:
        return split(x, [0] * chunks, dim)
    return split(x, -(-n // chunks), dim)


@method('unbind')
def unbind(x, dim=0):
    """The slices of ``x`` along ``dim``, as a tuple of views.

    >>> ember.unbind(ember.tensor([[1, 2], [3, 4]]), 1)
    (tensor([1, 3]), tensor([2, 4]))
    """
    if x.ndim == 0:
        raise IndexError('unbind: Dimension specified as 0 but tensor has no dimensions')
    d = _wrap_dim(dim, x.ndim, 'unbind')
    return _pieces(x, d, [(slice(None),) * d + (i,) for i in range(x.shape[d])], 'stack')


class _Pieces(Function):
    """Views of ``x`` at ``index`` entries, as one multi-output node whose backward joins the
    pieces' gradients with one ``cat`` or ``stack`` (one node per piece would make backward
    quadratic in their number)."""

    @staticmethod
    def forward(ctx, x, dim, index, join):
        ctx.dim, ctx.join = dim, join
        return tuple(x[i] for i in index)

    @staticmethod
    def backward(ctx, *grads):
        return (cat if ctx.join == 'cat' else stack)(grads, ctx.dim), None, None, None


def _pieces(x, dim, index, join):
    if not (_State.grad_enabled and x.requires_grad):
        return tuple(x[i] for i in index)
    out = _Pieces.apply(x, dim, index, join)
    out = out if isinstance(out, tuple) else (out,)
    for t in out:   # views of x, but in-place changes to them are refused (as in torch)
        t._base, t._view_chain = x if x._base is None else x._base, 'multi'
    return out
