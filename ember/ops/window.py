"""Ops on sliding windows beside the convolutions: ``unfold`` (im2col) and ``fold`` (col2im),
each the other's adjoint, and adaptive max pooling, a gather of each window's maximum.

``unfold`` is the convolution's own im2col (``conv._columns``) laid out as torch's
``(N, C * kh * kw, L)``; ``fold`` sums the columns back into the planes, the loop the
transposed convolution runs after its product.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor, get_xp
from ..autograd import Op
from .conv import Geom, PlaneGather, _adaptive_size, _check_input, _columns, _shape, _tuple

__all__ = ['unfold', 'fold', 'adaptive_max_pool1d', 'adaptive_max_pool2d']


class Im2Col(Op):
    """``y[n, (c, i, j), (p, q)] = x[n, c, s p + d i - pad, s q + d j - pad]`` (zero outside)."""

    def forward(ctx, x, k, geom):
        ctx.k, ctx.geom, ctx.size = k, geom, x.shape[2:]
        cols, (ho, wo) = _columns(ctx.xp, x, k, geom)        # (1, C kh kw, ho wo n)
        cols = cols.reshape(-1, ho * wo, x.shape[0]).transpose(2, 0, 1)
        return ctx.xp.ascontiguousarray(cols)

    def backward(ctx, g):
        return Col2Im.apply(g, k=ctx.k, geom=ctx.geom, size=ctx.size)


class Col2Im(Op):
    """The adjoint of ``Im2Col``: each column's values added back at their window's place
    in planes of ``size``."""

    def forward(ctx, g, k, geom, size):
        ctx.k, ctx.geom, xp = k, geom, ctx.xp
        (sh, sw), (dh, dw), (ph, pw) = geom.stride, geom.dilation, geom.before
        ho, wo = _blocks(size, k, geom)
        n, c = g.shape[0], g.shape[1] // (k[0] * k[1])
        cols = g.transpose(1, 2, 0).reshape(c, k[0], k[1], ho, wo, n)
        buf = xp.zeros((c, ph + size[0] + geom.after[0], pw + size[1] + geom.after[1], n),
                       dtype=g.dtype)
        for i in range(k[0]):     # one strided add per kernel tap
            for j in range(k[1]):
                buf[:, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                    j * dw:j * dw + sw * (wo - 1) + 1:sw] += cols[:, i, j]
        buf = buf[:, ph:ph + size[0], pw:pw + size[1]].transpose(3, 0, 1, 2)
        return xp.ascontiguousarray(buf)

    def backward(ctx, gy):
        return Im2Col.apply(gy, k=ctx.k, geom=ctx.geom)


def _blocks(size, k, geom):
    """How many windows fit along each axis of the padded planes."""
    return tuple((n + b + a - d * (kk - 1) - 1) // s + 1 for n, kk, s, d, b, a
                 in zip(size, k, geom.stride, geom.dilation, geom.before, geom.after))


def _window_args(op, kernel_size, dilation, padding, stride):
    k = _tuple(kernel_size, 2, 'kernel_size', op)
    d = _tuple(dilation, 2, 'dilation', op)
    p = _tuple(padding, 2, 'padding', op)
    s = _tuple(stride, 2, 'stride', op)
    if min(k) < 1 or min(d) < 1 or min(s) < 1 or min(p) < 0:
        raise RuntimeError(f'{op}: kernel_size {k}, dilation {d} and stride {s} must be '
                           f'positive and padding {p} non-negative')
    return k, Geom(s, d, p, p, 1)


def unfold(input: Tensor, kernel_size: int | tuple[int, int], dilation: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0, stride: int | tuple[int, int] = 1) -> Tensor:
    """The sliding windows of an (N, C, H, W) (or unbatched (C, H, W)) input as columns:
    ``(N, C * kh * kw, L)``, L the number of windows, each column one window's values,
    channel by channel, row by row (im2col). ``fold`` is its adjoint.

    >>> x = ember.arange(9.0).reshape(1, 1, 3, 3)
    >>> ember.nn.functional.unfold(x, 2)
    tensor([[[0., 1., 3., 4.],
             [1., 2., 4., 5.],
             [3., 4., 6., 7.],
             [4., 5., 7., 8.]]])
    """
    op = 'unfold'
    _check_input(op, 2, input)
    k, geom = _window_args(op, kernel_size, dilation, padding, stride)
    batched = input.ndim == 4
    x = input if batched else input.unsqueeze(0)
    out = _blocks(x.shape[2:], k, geom)
    if min(out) < 1:
        raise RuntimeError(f'{op}: given input of size {_shape(input)}, kernel_size={k}, '
                           f'dilation={geom.dilation}, padding={geom.before} and '
                           f'stride={geom.stride}, the calculated number of sliding blocks '
                           f'{out[0]} * {out[1]} must be positive')
    y = Im2Col.apply(x, k=k, geom=geom)
    return y if batched else y.squeeze(0)


def fold(input: Tensor, output_size: int | tuple[int, int], kernel_size: int | tuple[int, int],
         dilation: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
         stride: int | tuple[int, int] = 1) -> Tensor:
    """Columns of sliding windows ``(N, C * kh * kw, L)`` (or unbatched ``(C * kh * kw, L)``)
    summed back into ``(N, C, *output_size)`` planes, overlapping values adding up (col2im):
    ``unfold``'s adjoint. ``fold(unfold(x))`` is ``x`` times how many windows cover each place.

    >>> x = ember.ones(1, 1, 3, 3)
    >>> F = ember.nn.functional
    >>> F.fold(F.unfold(x, 2), (3, 3), 2)
    tensor([[[[1., 2., 1.],
              [2., 4., 2.],
              [1., 2., 1.]]]])
    """
    op = 'fold'
    if not isinstance(input, Tensor):
        raise TypeError(f'{op}: expected input to be a Tensor, got {type(input).__name__}')
    if input.ndim not in (2, 3) or not input.dtype.is_floating_point:
        raise RuntimeError(f'{op}: expected a 2-D (unbatched) or 3-D (batched) floating point '
                           f'input, got input of shape {_shape(input)} and dtype {input.dtype}')
    size = _tuple(output_size, 2, 'output_size', op)
    k, geom = _window_args(op, kernel_size, dilation, padding, stride)
    batched = input.ndim == 3
    x = input if batched else input.unsqueeze(0)
    out = _blocks(size, k, geom)
    if x.shape[1] % (k[0] * k[1]):
        raise RuntimeError(f'{op}: expected size of input\'s dimension 1 to be divisible by '
                           f'the product of kernel_size {k}, but got input of size '
                           f'{_shape(input)}')
    if min(out) < 1 or x.shape[2] != out[0] * out[1]:
        raise RuntimeError(f'{op}: given output_size={size}, kernel_size={k}, '
                           f'dilation={geom.dilation}, padding={geom.before}, '
                           f'stride={geom.stride}, expected size of input\'s last dimension to '
                           f'match the calculated number of sliding blocks {out[0]} * {out[1]} '
                           f'= {out[0] * out[1]}, but got input of size {_shape(input)}')
    y = Col2Im.apply(x, k=k, geom=geom, size=size)
    return y if batched else y.squeeze(0)


# ---------------------------------------------------------------- adaptive max pooling

def _adaptive_taps(n, out):
    """``(out, kmax)`` source positions of each window ``floor(i n / out) : ceil((i + 1) n /
    out)``, the short windows padded by repeating their last position (which leaves a
    maximum, and its first position, as they are)."""
    i = np.arange(out)
    start, end = (i * n) // out, -(-((i + 1) * n) // out)
    kmax = int((end - start).max()) if out else 1
    return np.minimum(start[:, None] + np.arange(kmax), end[:, None] - 1)


def _adaptive_max_poolnd(op, nd, x, output_size, return_indices):
    out = _adaptive_size(op, nd, x, output_size, 1)[1]
    x2 = x.unsqueeze(-2) if nd == 1 else x
    (h, w), (oh, ow) = x2.shape[-2:], ((1,) + out if nd == 1 else out)
    xp = get_xp(x2)
    rows, cols = xp.asarray(_adaptive_taps(h, oh)), xp.asarray(_adaptive_taps(w, ow))
    # every window's values (..., oh, ow, kh * kw), taps row by row; the first maximum wins
    win = x2._data[..., rows[:, None, :, None], cols[None, :, None, :]]
    tap = xp.argmax(win.reshape(win.shape[:-2] + (-1,)), axis=-1)
    kw = cols.shape[1]
    r = rows[xp.arange(oh)[:, None], tap // kw]
    c = cols[xp.arange(ow), tap % kw]
    idx = (r * w + c).astype(xp.int64)
    y = PlaneGather.apply(x2, idx=idx)
    if nd == 1:
        y, idx = y.squeeze(-2), idx.reshape(idx.shape[:-2] + idx.shape[-1:])
    return (y, Tensor._make(idx)) if return_indices else y


def adaptive_max_pool1d(input: Tensor, output_size: int | tuple[int],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """1-D adaptive max pooling of ``(N, C, L)`` or ``(C, L)`` to length ``output_size``:
    ``y[..., i] = max x[..., floor(i L / out) : ceil((i + 1) L / out)]``;
    ``return_indices`` also gives each maximum's position (the first, on ties).

    >>> x = ember.tensor([[1.0, 3.0, 2.0, 5.0, 4.0]])
    >>> ember.nn.functional.adaptive_max_pool1d(x, 2, return_indices=True)
    (tensor([[3., 5.]]), tensor([[1, 3]]))
    """
    return _adaptive_max_poolnd('adaptive_max_pool1d', 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: int | tuple[int | None, int | None],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """2-D adaptive max pooling of ``(N, C, H, W)`` or ``(C, H, W)`` to ``output_size`` (an
    int, or a pair; None keeps that side): window ``i`` of an axis of length ``n`` covers
    ``floor(i n / out) : ceil((i + 1) n / out)``. ``return_indices`` also gives each
    maximum's flat position ``h * W + w`` in its plane, as torch does.

    >>> x = ember.arange(9.0).reshape(1, 1, 3, 3)
    >>> ember.nn.functional.adaptive_max_pool2d(x, 2)
    tensor([[[[4., 5.],
              [7., 8.]]]])
    """
    return _adaptive_max_poolnd('adaptive_max_pool2d', 2, input, output_size, return_indices)
