"""3-D (volumetric) pooling and transposed convolution over ``(N, C, D, H, W)`` inputs, as
compositions of the 2-D ops: each depth slice goes through the 2-D op (depth folded into the
batch), then the depth axis is reduced (max, sum) or laid out (transposed convolution) with
slices, pads and stacks. Gradients of any order are the 2-D ops'.

The functions are exported by ``ember.nn.functional``, the layers by ``ember.nn``.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..backend import namespace
from ..ops.conv import (_adaptive_matrix, _adaptive_size, _avg_divisor, _check_input,
                        _pool_args, _tuple, avg_pool2d, conv_transpose2d, max_pool2d)
from ..ops.join import stack
from ..ops.movement import pad
from ..ops.window import adaptive_max_pool2d
from .conv import _AdaptiveAvgPool, _ConvTranspose, _MaxPool
from .extra import _AdaptiveMaxPool
from .module import Module

__all__ = ['max_pool3d', 'avg_pool3d', 'adaptive_avg_pool3d', 'adaptive_max_pool3d',
           'conv_transpose3d']


def _batched(x):
    return (x, True) if x.ndim == 5 else (x.unsqueeze(0), False)


def _depth_taps(y, k, s, d, before, after, out, fill):
    """``(k, N, C, out, ...)``: for each kernel depth tap, the slices of ``y``'s depth (padded
    with ``fill``) that tap meets, one per output depth."""
    y = pad(y, (0, 0, 0, 0, before, after), value=fill)
    return stack([y[:, :, i * d:i * d + s * (out - 1) + 1:s] for i in range(k)])


def max_pool3d(input: Tensor, kernel_size: int | tuple[int, int, int],
               stride: int | tuple[int, int, int] | None = None,
               padding: int | tuple[int, int, int] = 0, dilation: int | tuple[int, int, int] = 1,
               ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """3-D max pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``; ``stride`` defaults to
    the kernel. ``return_indices`` also gives each maximum's flat position ``d * H * W +
    h * W + w`` in its volume. NOTE: ties go to the first maximum in (d, h, w) order, as torch.

    >>> x = ember.arange(8.0).reshape(1, 1, 2, 2, 2)
    >>> ember.nn.functional.max_pool3d(x, 2, return_indices=True)
    (tensor([[[[[7.]]]]]), tensor([[[[[7]]]]]))
    """
    op = 'max_pool3d'
    k, geom, out = _pool_args(op, 3, input, kernel_size, stride, padding, dilation, ceil_mode)
    x, batched = _batched(input)
    n, c, d, h, w = x.shape
    y, idx = max_pool2d(x.reshape(n, c * d, h, w), k[1:], geom.stride[1:], geom.before[1:],
                        geom.dilation[1:], ceil_mode, return_indices=True)
    y, idx = y.reshape((n, c, d) + out[1:]), idx.reshape((n, c, d) + out[1:])
    depth = (k[0], geom.stride[0], geom.dilation[0], geom.before[0], geom.after[0], out[0])
    value, tap = _depth_taps(y, *depth, float('-inf')).max(0)
    if not return_indices:
        return value if batched else value.squeeze(0)
    kd, sd, dd, pd = depth[:4]
    taps = _depth_taps(idx, *depth, 0)._data
    xp, t = namespace(taps), tap._data
    plane = xp.take_along_axis(taps, t[None], 0)[0]
    first = (xp.arange(out[0]) * sd - pd).reshape(-1, 1, 1)
    flat = Tensor._make(((first + t * dd) * (h * w) + plane).astype(np.int64))
    return (value, flat) if batched else (value.squeeze(0), flat.squeeze(0))


def avg_pool3d(input: Tensor, kernel_size: int | tuple[int, int, int],
               stride: int | tuple[int, int, int] | None = None,
               padding: int | tuple[int, int, int] = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """3-D average pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``: window sums divided
    by the window size (clipped to input + padding), by the count of real elements if
    ``count_include_pad=False``, or by ``divisor_override``.

    >>> ember.nn.functional.avg_pool3d(ember.arange(8.0).reshape(1, 1, 2, 2, 2), 2)
    tensor([[[[[3.5000]]]]])
    """
    op = 'avg_pool3d'
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f'{op}: divisor must be not zero')
    k, geom, out = _pool_args(op, 3, input, kernel_size, stride, padding, 1, ceil_mode)
    x, batched = _batched(input)
    n, c, d, h, w = x.shape
    sums = avg_pool2d(x.reshape(n, c * d, h, w), k[1:], geom.stride[1:], geom.before[1:],
                      ceil_mode, True, 1).reshape((n, c, d) + out[1:])
    y = _depth_taps(sums, k[0], geom.stride[0], 1, geom.before[0], geom.after[0], out[0],
                    0.0).sum(0)
    if divisor_override:
        div = np.full(out, float(divisor_override))
    else:
        per_axis = [_avg_divisor(m, kk, ss, pp, o, count_include_pad)
                    for m, kk, ss, pp, o in zip((d, h, w), k, geom.stride, geom.before, out)]
        div = np.einsum('i,j,k->ijk', *per_axis)
    y = y / Tensor._make(np.asarray(div, dtype=x._data.dtype)).to(x.device)
    return y if batched else y.squeeze(0)


def adaptive_avg_pool3d(input: Tensor, output_size: int | tuple[int | None, ...]) -> Tensor:
    """3-D adaptive average pooling to ``output_size`` (an int or a triple; None keeps a
    side): window ``i`` of an axis of length ``n`` pooled to ``out`` covers
    ``floor(i n / out) : ceil((i + 1) n / out)``.

    >>> ember.nn.functional.adaptive_avg_pool3d(ember.ones(1, 2, 3, 5, 7), (1, 2, None)).shape
    ember.Size([1, 2, 1, 2, 7])
    """
    size, out = _adaptive_size('adaptive_avg_pool3d', 3, input, output_size, 0)
    dt = input._data.dtype
    md, mh, mw = (Tensor._make(np.asarray(_adaptive_matrix(m, o), dtype=dt)).to(input.device)
                  for m, o in zip(size, out))
    y = mh @ (input @ mw.mT)
    return (md @ y.movedim(-3, -2)).movedim(-2, -3)


def adaptive_max_pool3d(input: Tensor, output_size: int | tuple[int | None, ...],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """3-D adaptive max pooling to ``output_size`` (an int or a triple; None keeps a side),
    with the windows of ``adaptive_avg_pool3d``; ``return_indices`` also gives each maximum's
    flat position ``d * H * W + h * W + w`` in its volume (the first, on ties).

    >>> x = ember.arange(8.0).reshape(1, 2, 2, 2)
    >>> ember.nn.functional.adaptive_max_pool3d(x, (1, 2, 1))
    tensor([[[[5.],
              [7.]]]])
    """
    (d, h, w), out = _adaptive_size('adaptive_max_pool3d', 3, input, output_size, 1)
    x, batched = _batched(input)
    n, c = x.shape[:2]
    y, idx = adaptive_max_pool2d(x.reshape(n, c * d, h, w), out[1:], return_indices=True)
    y, idx = y.reshape((n, c, d) + out[1:]), idx.reshape((n, c, d) + out[1:])
    values, flats = [], []
    for i in range(out[0]):
        start, end = (i * d) // out[0], -(-((i + 1) * d) // out[0])
        v, tap = y[:, :, start:end].max(2)
        plane = idx[:, :, start:end].gather(2, tap.unsqueeze(2)).squeeze(2)
        values.append(v)
        flats.append((tap + start) * (h * w) + plane)
    value, flat = stack(values, 2), stack(flats, 2)
    if not batched:
        value, flat = value.squeeze(0), flat.squeeze(0)
    return (value, flat) if return_indices else value


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: int | tuple[int, int, int] = 1,
                     padding: int | tuple[int, int, int] = 0,
                     output_padding: int | tuple[int, int, int] = 0, groups: int = 1,
                     dilation: int | tuple[int, int, int] = 1) -> Tensor:
    """3-D transposed convolution (the gradient of ``conv3d`` for its input), weight
    ``(C_in, C_out / groups, kd, kh, kw)``: ``D_out = (D - 1) stride - 2 padding + dilation
    (kd - 1) + output_padding + 1`` (and so for H, W). Per kernel depth tap, one
    ``conv_transpose2d`` of the depth slices, laid out along depth with the stride.

    >>> x = ember.ones(1, 1, 2, 2, 2)
    >>> y = ember.nn.functional.conv_transpose3d(x, ember.ones(1, 1, 2, 2, 2))
    >>> y.shape, y[0, 0, 1].tolist()
    (ember.Size([1, 1, 3, 3, 3]), [[2.0, 4.0, 2.0], [4.0, 8.0, 4.0], [2.0, 4.0, 2.0]])
    """
    fn = 'conv_transpose3d'
    _check_input(fn, 3, input)
    if weight.ndim != 5:
        raise RuntimeError(f'{fn}: expected a 5-D weight, got weight of shape '
                           f'{list(weight.shape)}')
    st, pd = _tuple(stride, 3, 'stride', fn), _tuple(padding, 3, 'padding', fn)
    op, dil = _tuple(output_padding, 3, 'output_padding', fn), _tuple(dilation, 3, 'dilation', fn)
    x, batched = _batched(input)
    n, c, d, h, w = x.shape
    if c != weight.shape[0]:
        raise RuntimeError(f'{fn}: weight of size {list(weight.shape)} expects an input with '
                           f'{weight.shape[0]} channels, but got input of size '
                           f'{list(input.shape)} with {c} channels')
    if op[0] >= max(st[0], dil[0]):
        raise RuntimeError(f'{fn}: output padding must be smaller than either stride or '
                           f'dilation, got output_padding={op}, stride={st}, dilation={dil}')
    kd, s, full = weight.shape[2], st[0], (d - 1) * st[0] + dil[0] * (weight.shape[2] - 1) + 1
    planes = x.transpose(1, 2).reshape(n * d, c, h, w)
    y = None
    for i in range(kd):
        z = conv_transpose2d(planes, weight[:, :, i], None, st[1:], pd[1:], op[1:], groups,
                             dil[1:])
        z = z.reshape((n, d) + tuple(z.shape[1:])).transpose(1, 2)   # (N, C_out, D, H', W')
        if s > 1:   # s - 1 zero slices after each depth slice, the last ones dropped
            z = stack([z] + [z * 0] * (s - 1), 3).flatten(2, 3)[:, :, :(d - 1) * s + 1]
        lo = i * dil[0]
        z = pad(z, (0, 0, 0, 0, lo - pd[0], full - lo - z.shape[2] + op[0] - pd[0]))
        y = z if y is None else y + z
    assert y is not None   # (kd >= 1)
    if bias is not None:
        y = y + bias.reshape(-1, 1, 1, 1)
    return y if batched else y.squeeze(0)


# ---------------------------------------------------------------- layers

class MaxPool3d(_MaxPool):
    """3-D max pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``; ``return_indices`` also
    gives each maximum's flat position in its volume.

    >>> pool = ember.nn.MaxPool3d(2)
    >>> pool(ember.ones(1, 1, 4, 4, 4)).shape, pool
    (ember.Size([1, 1, 2, 2, 2]), MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, \
ceil_mode=False))
    """

    _pool = staticmethod(max_pool3d)


class AvgPool3d(Module):
    """3-D average pooling; ``divisor_override`` replaces the window size as the divisor.

    >>> ember.nn.AvgPool3d(2)(ember.ones(1, 1, 4, 4, 4)).shape
    ember.Size([1, 1, 2, 2, 2])
    """

    def __init__(self, kernel_size: int | tuple[int, int, int],
                 stride: int | tuple[int, int, int] | None = None,
                 padding: int | tuple[int, int, int] = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f'kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}'


class AdaptiveAvgPool3d(_AdaptiveAvgPool):
    """Average pooling to a fixed ``output_size`` (an int or a triple; None keeps that side).

    >>> ember.nn.AdaptiveAvgPool3d(1)(ember.ones(2, 3, 4, 5, 6)).shape
    ember.Size([2, 3, 1, 1, 1])
    """

    def forward(self, input):
        return adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """Max pooling to a fixed ``output_size`` (an int or a triple; None keeps that side);
    ``return_indices`` also gives the maxima's flat positions in their volumes.

    >>> ember.nn.AdaptiveMaxPool3d((1, 2, 2))(ember.ones(2, 3, 4, 5, 6)).shape
    ember.Size([2, 3, 1, 2, 2])
    """

    def forward(self, input):
        return adaptive_max_pool3d(input, self.output_size, self.return_indices)


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution, weight ``(C_in, C_out / groups, kd, kh, kw)``;
    ``forward(input, output_size=None)`` may ask for a size, which picks output_padding.

    >>> ember.nn.ConvTranspose3d(4, 2, 3, stride=2)(ember.ones(1, 4, 3, 3, 3)).shape
    ember.Size([1, 2, 7, 7, 7])
    """
    _nd = 3

    def forward(self, input, output_size=None):
        self._check_input(input)
        return conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups,
                                self.dilation)
