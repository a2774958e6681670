"""Convolution, pooling and resampling ops.

Three primitives carry every convolution, and each one's backward is made of the other two, so
gradients of any order come out of the same code:

- ``Conv``: ``y = x (*) w``, the cross-correlation, as one windowed GEMM per group;
- ``ConvTranspose``: its adjoint in ``x`` (the gradient of ``Conv`` for its input);
- ``ConvWeight``: its adjoint in ``w`` (the gradient of ``Conv`` for its weight).

They work on 2-D planes with a ``Geom`` (stride, dilation, padding before and after, groups);
the 1-D functions run them on planes of height 1. Max pooling is a gather of the window
maxima (``PlaneGather``, whose adjoint is ``PlaneScatter``); average pooling is a convolution
with a kernel of ones; adaptive pooling is a fixed linear map (resampling, the same gathers:
``ops/resample.py``).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._tensor import Tensor, get_xp
from ..autograd import Op
from .linalg import gemm
from .. import amp as _amp
from ..backend import cuda   # (its GPU functions; reached only with CuPy arrays)

__all__ = ['conv1d', 'conv2d', 'conv_transpose1d', 'conv_transpose2d', 'max_pool1d',
           'max_pool2d', 'avg_pool1d', 'avg_pool2d', 'adaptive_avg_pool1d',
           'adaptive_avg_pool2d']

# The shape of a convolution over the last two axes; each field but ``groups`` is a pair.
# ``after`` may be negative: that many trailing rows (columns) are cut off instead.
Geom = namedtuple('Geom', 'stride dilation before after groups')


# ---------------------------------------------------------------- windows on arrays

def _pad(xp, x, before, after, value=0.0):
    """Pad the last two axes of ``x`` (or cut them where ``after`` is negative)."""
    h, w = x.shape[-2:]
    x = x[..., :h + min(after[0], 0), :w + min(after[1], 0)]
    if not any(before) and after[0] <= 0 and after[1] <= 0:
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(before[0], max(after[0], 0)),
                                        (before[1], max(after[1], 0))]
    return xp.pad(x, widths, constant_values=value)


def _columns(xp, x, k, geom, out=None):
    """im2col, transposed: ``(groups, C / groups * kh * kw, Ho * Wo * N)`` and the output
    size. The columns run over (p, q, n), the batch innermost: each kernel tap is one strided
    copy from the padded input laid out as (C, H, W, N), whose contiguous runs are then a
    whole output row of every image (Wo * N values) rather than one row of one image (Wo).
    LeNet's second convolution: 657 -> 280 us; a window view reshaped is slower still."""
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    n, c = x.shape[:2]
    if out is None:   # (the padded size: cut where ``after`` is negative)
        hp, wp = (s + b + a for s, b, a in zip(x.shape[2:], geom.before, geom.after))
        out = ((hp - dh * (k[0] - 1) - 1) // sh + 1, (wp - dw * (k[1] - 1) - 1) // sw + 1)
    ho, wo = out
    cols = None if xp is np else cuda.im2col(x, k, geom, out)   # (one GPU kernel)
    if cols is None:
        xt = xp.ascontiguousarray(_pad(xp, x, geom.before, geom.after).transpose(1, 2, 3, 0))
        cols = xp.empty((c, k[0], k[1], ho, wo, n), dtype=x.dtype)
        for i in range(k[0]):
            for j in range(k[1]):
                cols[:, i, j] = xt[:, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                                   j * dw:j * dw + sw * (wo - 1) + 1:sw]
    g = geom.groups
    return cols.reshape(g, c // g * k[0] * k[1], ho * wo * n), (ho, wo)


def _by_pixel(g, groups):
    """An (N, O, Ho, Wo) gradient as ``(groups, O / groups, Ho * Wo * N)``: the columns'
    order (p, q, n)."""
    n, o, ho, wo = g.shape
    return g.transpose(1, 2, 3, 0).reshape(groups, o // groups, ho * wo * n)


# ---------------------------------------------------------------- the convolution primitives

class Conv(Op):
    """``y[n, o] = sum_c,i,j w[o, c, i, j] x[n, c, s*p + d*i, s*q + d*j]`` per group."""
    save = (0, 1)

    def forward(ctx, x, w, geom):
        ctx.geom = geom
        cols, (ho, wo) = _columns(ctx.xp, x, w.shape[2:], geom)
        ctx.cols = cols            # kept for the weight gradient (the im2col is the cost)
        g, n, o = geom.groups, x.shape[0], w.shape[0]
        y = gemm(ctx.xp, w.reshape(g, o // g, -1), cols)       # (g, o/g, ho*wo*n)
        y = y.reshape(o, ho, wo, n).transpose(3, 0, 1, 2)
        return ctx.xp.ascontiguousarray(y)

    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad
        gx = ConvTranspose.apply(g, w, geom=ctx.geom, size=x.shape[2:]) if need_x else None
        gw = ConvWeight.apply(x, g, geom=ctx.geom, ksize=w.shape[2:],
                              cols=ctx.cols) if need_w else None
        return gx, gw

    def release(self):
        Op.release(self)
        self.cols = None


class ConvTranspose(Op):
    """The adjoint of ``Conv`` in ``x``: ``y`` of spatial ``size`` from ``g`` and ``w``."""
    save = (0, 1)

    def forward(ctx, g, w, geom, size):
        ctx.geom, xp = geom, ctx.xp
        n, o, ho, wo = g.shape
        grp, c_g, kh, kw = geom.groups, w.shape[1], w.shape[2], w.shape[3]
        wm = w.reshape(grp, o // grp, c_g * kh * kw).transpose(0, 2, 1)
        cols = gemm(xp, wm, _by_pixel(g, grp)).reshape(grp, c_g, kh, kw, ho, wo, n)
        gx = None if xp is np else cuda.col2im(cols.reshape(grp * c_g, kh, kw, ho, wo, n),
                                               size, geom)   # (one GPU kernel)
        if gx is not None:
            return gx
        (sh, sw), (dh, dw), (ph, pw) = geom.stride, geom.dilation, geom.before
        buf = xp.zeros((grp, c_g, ph + size[0] + max(geom.after[0], 0),
                        pw + size[1] + max(geom.after[1], 0), n), dtype=cols.dtype)
        for i in range(kh):     # col2im: one strided add per kernel tap, (Wo * N) runs
            for j in range(kw):
                buf[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                    j * dw:j * dw + sw * (wo - 1) + 1:sw] += cols[:, :, i, j]
        buf = buf[:, :, ph:ph + size[0], pw:pw + size[1]].transpose(4, 0, 1, 2, 3)
        return xp.ascontiguousarray(buf).reshape(n, grp * c_g, size[0], size[1])

    def backward(ctx, gy):
        g, w = ctx.saved_tensors
        need_g, need_w = ctx.needs_input_grad
        gg = Conv.apply(gy, w, geom=ctx.geom) if need_g else None
        gw = ConvWeight.apply(gy, g, geom=ctx.geom, ksize=w.shape[2:]) if need_w else None
        return gg, gw


class ConvWeight(Op):
    """The adjoint of ``Conv`` in ``w``: ``dw[o, c, i, j] = sum_n,p,q g[n, o, p, q] x[...]``."""
    save = (0, 1)

    def forward(ctx, x, g, geom, ksize, cols=None):
        ctx.geom = geom
        n, o, ho, wo = g.shape
        grp = geom.groups
        if cols is None:
            cols, _ = _columns(ctx.xp, x, ksize, geom, out=(ho, wo))
        dw = gemm(ctx.xp, _by_pixel(g, grp), cols.transpose(0, 2, 1))   # (g, o/g, c/g*kh*kw)
        return ctx.xp.ascontiguousarray(dw.reshape(o, -1, *ksize))

    def backward(ctx, gdw):
        x, g = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad
        gx = ConvTranspose.apply(g, gdw, geom=ctx.geom, size=x.shape[2:]) if need_x else None
        gg = Conv.apply(x, gdw, geom=ctx.geom) if need_g else None
        return gx, gg


# ---------------------------------------------------------------- gathers on planes

def _flat_index(xp, idx, lead, hw):
    """Indices into the flattened array: ``idx`` (per plane) shifted to each plane."""
    idx = xp.broadcast_to(idx, lead + idx.shape[-2:]).reshape(-1, idx.shape[-2] * idx.shape[-1])
    return idx + (xp.arange(idx.shape[0], dtype=idx.dtype) * hw)[:, None]


class PlaneGather(Op):
    """``y[..., p, q] = x[..., idx[..., p, q]]`` with ``idx`` flat in the last two axes."""

    def forward(ctx, x, idx):
        ctx.idx, ctx.size = idx, x.shape[-2:]
        lead = x.shape[:-2]
        flat = _flat_index(ctx.xp, idx, lead, x.shape[-2] * x.shape[-1])
        return x.reshape(-1)[flat].reshape(lead + idx.shape[-2:])

    def backward(ctx, g):
        return PlaneScatter.apply(g, idx=ctx.idx, size=ctx.size)


class PlaneScatter(Op):
    """The adjoint of ``PlaneGather``: zeros of plane ``size`` with ``g`` added at ``idx``."""

    def forward(ctx, g, idx, size):
        ctx.idx, xp = idx, ctx.xp
        lead, hw = g.shape[:-2], size[0] * size[1]
        flat = _flat_index(xp, idx, lead, hw)
        n = flat.shape[0] * hw
        out = xp.bincount(flat.reshape(-1), weights=g.reshape(-1), minlength=n)
        return out.astype(g.dtype).reshape(lead + tuple(size))

    def backward(ctx, gg):
        return PlaneGather.apply(gg, idx=ctx.idx)


# ---------------------------------------------------------------- argument handling

def _tuple(v, n, name, op):
    """An int or a sequence as an ``n``-tuple of ints."""
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise RuntimeError(f'{op}: expected {name} to be a single integer or a tuple of {n} '
                           f'integers, got {v}')
    return v


def _x(sizes):
    return ' x '.join(map(str, sizes))


def _shape(t):
    return list(t.shape)


def _check_input(op, nd, x, what='input'):
    if not isinstance(x, Tensor):
        raise TypeError(f'{op}: expected {what} to be a Tensor, got {type(x).__name__}')
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f'{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) '
                           f'{what}, got {what} of shape {_shape(x)}')
    if not x.dtype.is_floating_point:
        raise RuntimeError(f'{op}: expected a floating point {what}, got {x.dtype}')


def _check_weight(op, nd, x, w, bias, groups, out_channels):
    if w.ndim != nd + 2:
        raise RuntimeError(f'{op}: expected a {nd + 2}-D weight, got weight of shape '
                           f'{_shape(w)}')
    if w.dtype is not x.dtype or (bias is not None and bias.dtype is not x.dtype):
        extra = '' if bias is None else f' and bias {bias.dtype}'
        raise RuntimeError(f'{op}: input ({x.dtype}), weight ({w.dtype}){extra} must have '
                           f'the same dtype')
    if not isinstance(groups, int) or groups < 1:
        raise RuntimeError(f'{op}: groups must be a positive integer, got {groups!r}')
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise RuntimeError(f'{op}: expected bias of shape [{out_channels}] (one per output '
                           f'channel), got {_shape(bias)}')


def _lift(t, nd):
    """Run 1-D ops on planes of height 1."""
    return t.unsqueeze(-2) if nd == 1 else t


def _geom(nd, stride, dilation, before, after, groups):
    if nd == 1:
        return Geom((1,) + stride, (1,) + dilation, (0,) + before, (0,) + after, groups)
    return Geom(stride, dilation, before, after, groups)


def _finish(y, nd, bias, batched):
    if nd == 1:
        y = y.squeeze(-2)
    if bias is not None:
        y = y + bias.reshape((-1,) + (1,) * nd)
    return y if batched else y.squeeze(0)


# ---------------------------------------------------------------- convolutions

def _convnd(op, nd, x, weight, bias, stride, padding, dilation, groups):
    if _amp._State.on:   # autocast: low precision
        x, weight, bias = _amp.low(x, weight, bias)
    _check_input(op, nd, x)
    _check_weight(op, nd, x, weight, bias, groups, weight.shape[0])
    batched = x.ndim == nd + 2
    x = x if batched else x.unsqueeze(0)
    c, k = x.shape[1], tuple(weight.shape[2:])
    if c != weight.shape[1] * groups or weight.shape[0] % groups:
        raise RuntimeError(
            f'{op}: given groups={groups}, weight of size {_shape(weight)} expects an input '
            f'with {weight.shape[1] * groups} channels (in_channels / groups = '
            f'{weight.shape[1]}, out_channels divisible by groups), but got input of size '
            f'{_shape(x)} with {c} channels')
    stride = _tuple(stride, nd, 'stride', op)
    dilation = _tuple(dilation, nd, 'dilation', op)
    if min(stride) < 1 or min(dilation) < 1:
        raise RuntimeError(f'{op}: stride {stride} and dilation {dilation} must be positive')
    if isinstance(padding, str):
        if padding == 'valid':
            before = after = (0,) * nd
        elif padding == 'same':
            if max(stride) != 1:
                raise RuntimeError(f"{op}: padding='same' is not supported for strided "
                                   f"convolutions (stride={stride}); use an integer padding")
            total = [d * (kk - 1) for d, kk in zip(dilation, k)]
            before = tuple(t // 2 for t in total)        # torch puts the odd one after
            after = tuple(t - b for t, b in zip(total, before))
        else:
            raise RuntimeError(f"{op}: invalid padding string {padding!r}, should be one of "
                             f"'valid' or 'same'")
    else:
        before = after = _tuple(padding, nd, 'padding', op)
        if min(before) < 0:
            raise RuntimeError(f'{op}: negative padding {before} is not supported')
    padded = [s + b + a for s, b, a in zip(x.shape[2:], before, after)]
    span = [d * (kk - 1) + 1 for d, kk in zip(dilation, k)]
    if any(p < s for p, s in zip(padded, span)):
        raise RuntimeError(
            f'{op}: calculated padded input size per channel: ({_x(padded)}) for input of size '
            f'{_shape(x)}. Kernel size: ({_x(span)}) (dilated). Kernel size can\'t be greater '
            f'than actual input size; pad the input or use a smaller kernel or dilation')
    geom = _geom(nd, stride, dilation, before, after, groups)
    y = Conv.apply(_lift(x, nd), _lift(weight, nd), geom=geom)
    return _finish(y, nd, bias, batched)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: int | tuple[int] = 1, padding: int | tuple[int] | str = 0,
           dilation: int | tuple[int] = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation over ``(N, C, L)`` (or unbatched ``(C, L)``) inputs.

    ``y[n, o, t] = b[o] + sum_{c, i} w[o, c, i] x[n, c, stride * t + dilation * i - padding]``

    >>> x = ember.arange(5.0).reshape(1, 1, 5)
    >>> ember.nn.functional.conv1d(x, ember.ones(1, 1, 2), padding=1)
    tensor([[[0., 1., 3., 5., 7., 4.]]])
    """
    return _convnd('conv1d', 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
           dilation: int | tuple[int, int] = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation over ``(N, C, H, W)`` (or unbatched ``(C, H, W)``) inputs.

    ``y[n, o, p, q] = b[o] + sum_{c, i, j} w[o, c, i, j] x[n, c, s p + d i - pad, s q + d j
    - pad]``, with channels split into ``groups``; ``padding`` may be 'same' or 'valid'.

    >>> x = ember.arange(16.0).reshape(1, 1, 4, 4)
    >>> ember.nn.functional.conv2d(x, ember.ones(1, 1, 2, 2), stride=2)
    tensor([[[[10., 18.],
              [42., 50.]]]])
    """
    return _convnd('conv2d', 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(op, nd, x, weight, bias, stride, padding, output_padding, groups,
                      dilation):
    if _amp._State.on:   # autocast: low precision
        x, weight, bias = _amp.low(x, weight, bias)
    _check_input(op, nd, x)
    _check_weight(op, nd, x, weight, bias, groups, weight.shape[1] * groups)
    batched = x.ndim == nd + 2
    x = x if batched else x.unsqueeze(0)
    if x.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise RuntimeError(
            f'{op}: given groups={groups}, weight of size {_shape(weight)} expects an input '
            f'with {weight.shape[0]} channels (divisible by groups), but got input of size '
            f'{_shape(x)} with {x.shape[1]} channels')
    stride = _tuple(stride, nd, 'stride', op)
    padding = _tuple(padding, nd, 'padding', op)
    out_pad = _tuple(output_padding, nd, 'output_padding', op)
    dilation = _tuple(dilation, nd, 'dilation', op)
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or min(out_pad) < 0:
        raise RuntimeError(f'{op}: stride {stride} and dilation {dilation} must be positive, '
                           f'padding {padding} and output_padding {out_pad} non-negative')
    if any(op_ >= s and op_ >= d for op_, s, d in zip(out_pad, stride, dilation)):
        raise RuntimeError(f'{op}: output padding must be smaller than either stride or '
                           f'dilation, but got output_padding={out_pad}, stride={stride}, '
                           f'dilation={dilation}')
    k = weight.shape[2:]
    size = tuple((i - 1) * s - 2 * p + d * (kk - 1) + o + 1 for i, s, p, d, kk, o
                 in zip(x.shape[2:], stride, padding, dilation, k, out_pad))
    if min(size) < 1:
        raise RuntimeError(f'{op}: given input of size {_shape(x)} and weight of size '
                           f'{_shape(weight)}, the calculated output size ({_x(size)}) is too '
                           f'small; reduce padding {padding}')
    after = tuple(p - o for p, o in zip(padding, out_pad))
    geom = _geom(nd, stride, dilation, padding, after, groups)
    y = ConvTranspose.apply(_lift(x, nd), _lift(weight, nd), geom=geom,
                            size=((1,) + size) if nd == 1 else size)
    return _finish(y, nd, bias, batched)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: int | tuple[int] = 1, padding: int | tuple[int] = 0,
                     output_padding: int | tuple[int] = 0, groups: int = 1,
                     dilation: int | tuple[int] = 1) -> Tensor:
    """1-D transposed convolution (the gradient of ``conv1d`` for its input).

    ``L_out = (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1``;
    ``weight`` is ``(C_in, C_out / groups, k)``.

    >>> x = ember.tensor([[[1.0, 2.0, 3.0]]])
    >>> ember.nn.functional.conv_transpose1d(x, ember.ones(1, 1, 2), stride=2)
    tensor([[[1., 1., 2., 2., 3., 3.]]])
    """
    return _conv_transposend('conv_transpose1d', 1, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                     output_padding: int | tuple[int, int] = 0, groups: int = 1,
                     dilation: int | tuple[int, int] = 1) -> Tensor:
    """2-D transposed convolution (the gradient of ``conv2d`` for its input).

    ``H_out = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1`` (and so
    for W); ``weight`` is ``(C_in, C_out / groups, kh, kw)``.

    >>> x = ember.ones(1, 1, 2, 2)
    >>> ember.nn.functional.conv_transpose2d(x, ember.ones(1, 1, 2, 2), stride=1)
    tensor([[[[1., 2., 1.],
              [2., 4., 2.],
              [1., 2., 1.]]]])
    """
    return _conv_transposend('conv_transpose2d', 2, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


# ---------------------------------------------------------------- pooling

def _pool_size(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling output length (a ceil-mode window must start inside input+pad)."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_args(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode):
    """Checked pooling arguments as 2-D tuples, with the padding after and output size."""
    _check_input(op, nd, x)
    k = _tuple(kernel_size, nd, 'kernel_size', op)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _tuple(stride, nd, 'stride', op)
    p = _tuple(padding, nd, 'padding', op)
    d = _tuple(dilation, nd, 'dilation', op)
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise RuntimeError(f'{op}: kernel_size {k}, stride {s} and dilation {d} must be '
                           f'positive and padding {p} non-negative')
    if any(pp > (dd * (kk - 1) + 1) // 2 for pp, kk, dd in zip(p, k, d)):
        raise RuntimeError(f'{op}: pad should be at most half of effective kernel size, but '
                           f'got pad={p}, kernel_size={k} and dilation={d}')
    size = x.shape[-nd:]
    out = tuple(_pool_size(n, kk, ss, pp, dd, ceil_mode)
                for n, kk, ss, pp, dd in zip(size, k, s, p, d))
    if min(out) < 1:
        raise RuntimeError(f'{op}: given input of size {_shape(x)}, the calculated output '
                           f'size ({_x(out)}) is too small for kernel_size={k}, stride={s}, '
                           f'padding={p}, dilation={d}')
    after = tuple((o - 1) * ss + dd * (kk - 1) + 1 - n - pp
                  for o, ss, dd, kk, n, pp in zip(out, s, d, k, size, p))

    def lift(t, fill):
        return (fill,) + t if nd == 1 else t
    geom = Geom(lift(s, 1), lift(d, 1), lift(p, 0), lift(after, 0), 1)
    return lift(k, 1), geom, lift(out, 1)


def _window_argmax(xp, x, k, geom, out):
    """The tap (i * kw + j) of each window's maximum, by a running max over the kernel's taps
    (strided slices of the padded input): much faster than an argmax over window views.
    NOTE: ties go to the first maximum in the window; a NaN wins over any number and over an
    earlier NaN, so the last NaN is taken (as in torch's CPU and CUDA kernels)."""
    index = xp.int8 if k[0] * k[1] < 128 else xp.int64   # (the backward compares it often)
    found = None if xp is np else cuda.max_pool(x, k, geom, out, index)   # (one GPU kernel)
    if found is not None:
        return found
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    size = x.shape[-2:]
    x = _pad(xp, x, geom.before, geom.after, -np.inf)
    best = arg = None
    for i in range(k[0]):
        for j in range(k[1]):
            t = x[..., i * dh:i * dh + sh * (out[0] - 1) + 1:sh,
                  j * dw:j * dw + sw * (out[1] - 1) + 1:sw]
            if best is None:
                best = t.copy()
                arg = xp.zeros(t.shape, dtype=index)
                continue
            better = xp.greater(t, best)
            better |= xp.not_equal(t, t)              # every NaN wins: the last one is taken
            arg += (i * k[1] + j - arg) * better     # arithmetic: masks are slow here
            xp.maximum(best, t, out=best)            # NaN propagates, as it wins
    first = _first_inside(size, k, geom, out)
    if first.any():   # a window of -inf only keeps its first tap inside the input, as torch
        xp.copyto(arg, xp.asarray(first, dtype=index), where=best == -np.inf)
    return arg, best


def _first_inside(size, k, geom, out):
    """(Ho, Wo): the first tap (i * kw + j) of each window that lies inside the unpadded
    input of ``size``: 0 unless padding comes first."""
    def axis(n, kk, s, d, b, o):
        return np.array([next((i for i in range(kk) if 0 <= p * s - b + i * d < n), 0)
                         for p in range(o)])
    rows, cols = (axis(*a) for a in zip(size, k, geom.stride, geom.dilation, geom.before, out))
    return rows[:, None] * k[1] + cols


def _taps(k, geom, out):
    """Each kernel tap's number and its strided slice of the padded plane."""
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    for i in range(k[0]):
        for j in range(k[1]):
            yield i * k[1] + j, (Ellipsis, slice(i * dh, i * dh + sh * (out[0] - 1) + 1, sh),
                                 slice(j * dw, j * dw + sw * (out[1] - 1) + 1, sw))


class TapGather(Op):
    """``y[..., p, q]`` = the padded input at the kernel tap ``arg[..., p, q]`` of window
    (p, q): max pooling's forward, given the taps of the maxima."""

    def forward(ctx, x, arg, k, geom, out):
        ctx.params = dict(arg=arg, k=k, geom=geom, out=out)
        ctx.size = x.shape[-2:]
        xp = _pad(ctx.xp, x, geom.before, geom.after)
        y = ctx.xp.zeros(x.shape[:-2] + tuple(out), dtype=x.dtype)
        for tap, sl in _taps(k, geom, out):
            y += (arg == tap) * xp[sl]
        return y

    def backward(ctx, g):
        return TapScatter.apply(g, size=ctx.size, **ctx.params)


class MaxPool(TapGather):
    """Max pooling's forward: each window's maximum (``_window_argmax``: a NaN wins), and
    the tap of each kept for backward (``TapGather``'s)."""

    def forward(ctx, x, k, geom, out):
        arg, best = _window_argmax(ctx.xp, x, k, geom, out)
        ctx.params = dict(arg=arg, k=k, geom=geom, out=out)
        ctx.size = x.shape[-2:]
        return best


class TapScatter(Op):
    """The adjoint of ``TapGather``: each ``g`` added back at its tap's input position."""

    def forward(ctx, g, arg, k, geom, out, size):
        ctx.params = dict(arg=arg, k=k, geom=geom, out=out)
        gx = None if ctx.xp is np else cuda.max_pool_grad(g, arg, k, geom, size)
        if gx is not None:   # (one GPU kernel)
            return gx
        (bh, bw), (ah, aw) = geom.before, geom.after
        buf = ctx.xp.zeros(g.shape[:-2] + (bh + size[0] + max(ah, 0), bw + size[1] + max(aw, 0)),
                           dtype=g.dtype)
        (sh, sw), (dh, dw) = geom.stride, geom.dilation
        apart = sh > dh * (k[0] - 1) and sw > dw * (k[1] - 1)   # windows do not overlap
        for tap, sl in _taps(k, geom, out):
            if apart:   # each position in one window: written once, nothing to add to
                ctx.xp.multiply(arg == tap, g, out=buf[sl])
            else:
                buf[sl] += (arg == tap) * g
        return ctx.xp.ascontiguousarray(buf[..., bh:bh + size[0], bw:bw + size[1]])

    def backward(ctx, gg):
        return TapGather.apply(gg, **ctx.params)


def _max_poolnd(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    k, geom, out = _pool_args(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode)
    x2 = _lift(x, nd)
    if not return_indices:
        y = MaxPool.apply(x2, k=k, geom=geom, out=out)
        return y.squeeze(-2) if nd == 1 else y
    xp = get_xp(x2)
    a, _ = _window_argmax(xp, x2._data, k, geom, out)
    a = a.astype(xp.int64)
    rows = (xp.arange(out[0], dtype=a.dtype) * geom.stride[0] - geom.before[0])[:, None] \
        + (a // k[1]) * geom.dilation[0]
    cols = xp.arange(out[1], dtype=a.dtype) * geom.stride[1] - geom.before[1] \
        + (a % k[1]) * geom.dilation[1]
    idx = (rows * x2.shape[-1] + cols).astype(xp.int64)
    y = PlaneGather.apply(x2, idx=idx)
    if nd == 1:
        y, idx = y.squeeze(-2), idx.reshape(idx.shape[:-2] + idx.shape[-1:])
    return (y, Tensor._make(idx)) if return_indices else y


def max_pool1d(input: Tensor, kernel_size: int | tuple[int],
               stride: int | tuple[int] | None = None, padding: int | tuple[int] = 0,
               dilation: int | tuple[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """1-D max pooling over ``(N, C, L)`` or ``(C, L)``; ``stride`` defaults to the kernel.

    ``y[..., t] = max_i x[..., stride * t + dilation * i - padding]`` (padding is -inf);
    ``return_indices`` also gives the position of each maximum in ``L``.

    >>> x = ember.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]])
    >>> ember.nn.functional.max_pool1d(x, 2, return_indices=True)
    (tensor([[[3., 5.]]]), tensor([[[1, 3]]]))
    """
    return _max_poolnd('max_pool1d', 1, input, kernel_size, stride, padding, dilation,
                       ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: int | tuple[int, int],
               stride: int | tuple[int, int] | None = None,
               padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1,
               ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """2-D max pooling over ``(N, C, H, W)`` or ``(C, H, W)``; ``stride`` defaults to the kernel.

    ``y[..., p, q] = max_{i, j} x[..., s p + d i - pad, s q + d j - pad]``; ``return_indices``
    also gives each maximum's flat position ``h * W + w`` in its plane, as torch does.

    >>> x = ember.arange(16.0).reshape(1, 1, 4, 4)
    >>> ember.nn.functional.max_pool2d(x, 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_poolnd('max_pool2d', 2, input, kernel_size, stride, padding, dilation,
                       ceil_mode, return_indices)


def _avg_divisor(n, k, s, p, out, include_pad):
    """How many elements each output of one axis averages (PyTorch's rule)."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


def _avg_poolnd(op, nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
    k, geom, out = _pool_args(op, nd, x, kernel_size, stride, padding, 1, ceil_mode)
    lead, size = x.shape[:-nd], _lift(x, nd).shape[-2:]
    xp = get_xp(x)
    planes = _lift(x, nd).reshape((-1, 1) + tuple(size))
    ones = Tensor._make(xp.ones((1, 1) + k, dtype=x._data.dtype))
    y = Conv.apply(planes, ones, geom=geom)
    if divisor_override:
        div = np.full(out, float(divisor_override))
    else:
        div = np.outer(*[_avg_divisor(n, kk, ss, pp, o, count_include_pad) for n, kk, ss, pp, o
                         in zip(size, k, geom.stride, geom.before, out)])
    y = y / Tensor._make(xp.asarray(div, dtype=x._data.dtype))
    return y.reshape(tuple(lead) + out[2 - nd:])


def avg_pool1d(input: Tensor, kernel_size: int | tuple[int],
               stride: int | tuple[int] | None = None, padding: int | tuple[int] = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over ``(N, C, L)`` or ``(C, L)``; ``stride`` defaults to the kernel.

    ``y[..., t] = mean_i x[..., stride * t + i - padding]``, the zero padding counted in the
    mean unless ``count_include_pad=False``.

    >>> x = ember.tensor([[[1.0, 3.0, 2.0, 6.0]]])
    >>> ember.nn.functional.avg_pool1d(x, 2)
    tensor([[[2., 4.]]])
    """
    return _avg_poolnd('avg_pool1d', 1, input, kernel_size, stride, padding, ceil_mode,
                       count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size: int | tuple[int, int],
               stride: int | tuple[int, int] | None = None,
               padding: int | tuple[int, int] = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-D average pooling over ``(N, C, H, W)`` or ``(C, H, W)``.

    ``y[..., p, q] = sum_{i, j} x[..., s p + i - pad, s q + j - pad] / divisor``, the divisor
    being the window size (clipped to input + padding), the count of real elements if
    ``count_include_pad=False``, or ``divisor_override``.

    >>> x = ember.arange(16.0).reshape(1, 1, 4, 4)
    >>> ember.nn.functional.avg_pool2d(x, 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _avg_poolnd('avg_pool2d', 2, input, kernel_size, stride, padding, ceil_mode,
                       count_include_pad, divisor_override)


def _adaptive_matrix(n, out):
    """``(out, n)`` averaging matrix: row i averages ``floor(i n / out) : ceil((i+1) n / out)``."""
    a = np.zeros((out, n))
    for i in range(out):
        start, end = (i * n) // out, -(-((i + 1) * n) // out)
        a[i, start:end] = 1.0 / (end - start)
    return a


def _adaptive_size(op, nd, x, output_size, least):
    """Adaptive pooling's checked (input size, output size) over the last ``nd`` axes; an
    output size of None keeps the input's; each must be at least ``least`` (0 or 1)."""
    _check_input(op, nd, x)
    size = x.shape[-nd:]
    out = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    if len(out) != nd:
        raise RuntimeError(f'{op}: output_size must have {nd} elements, got {output_size}')
    out = tuple(n if o is None else int(o) for n, o in zip(size, out))
    if min(out) < least or min(size) < 1:
        raise RuntimeError(f'{op}: expected a non-empty input and a '
                           f'{"positive" if least else "non-negative"} output_size, got input '
                           f'of size {_shape(x)} and output_size {out}')
    return size, out


def _adaptive_avg_poolnd(op, nd, x, output_size):
    size, out = _adaptive_size(op, nd, x, output_size, 0)
    xp = get_xp(x)
    mats = [Tensor._make(xp.asarray(_adaptive_matrix(n, o), dtype=x._data.dtype))
            for n, o in zip(size, out)]
    y = x @ mats[-1].mT
    return mats[0] @ y if nd == 2 else y


def adaptive_avg_pool1d(input: Tensor, output_size: int | tuple[int]) -> Tensor:
    """1-D adaptive average pooling to length ``output_size``.

    ``y[..., i] = mean x[..., floor(i L / out) : ceil((i + 1) L / out)]``

    >>> ember.nn.functional.adaptive_avg_pool1d(ember.tensor([[1.0, 2.0, 3.0, 5.0]]), 2)
    tensor([[1.5000, 4.0000]])
    """
    return _adaptive_avg_poolnd('adaptive_avg_pool1d', 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor,
                        output_size: int | tuple[int | None, int | None]) -> Tensor:
    """2-D adaptive average pooling to ``output_size`` (an int, or a pair; None keeps a side).

    Window ``i`` of an axis of length ``n`` pooled to ``out`` covers
    ``floor(i n / out) : ceil((i + 1) n / out)``, so any sizes work (windows may overlap).

    >>> x = ember.arange(9.0).reshape(1, 1, 3, 3)
    >>> ember.nn.functional.adaptive_avg_pool2d(x, 2)
    tensor([[[[2., 3.],
              [5., 6.]]]])
    """
    return _adaptive_avg_poolnd('adaptive_avg_pool2d', 2, input, output_size)
