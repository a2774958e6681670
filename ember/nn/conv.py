"""Convolution and pooling layers: Conv1d, Conv2d, ConvTranspose1d/2d, MaxPool1d/2d,
AvgPool1d/2d, AdaptiveAvgPool1d/2d, over ``ember.nn.functional``'s convolutions."""
from __future__ import annotations

from typing import TYPE_CHECKING
import math

from . import functional as F
from . import init
from .._tensor import empty
from .module import Module, Parameter

if TYPE_CHECKING:
    from typing import Any, Callable

    from .._typing import DeviceLike, DTypeLike

_PADDING_MODES = ('zeros', 'reflect', 'replicate', 'circular')


def _ntuple(v, n):
    if isinstance(v, (tuple, list)):
        return tuple(v) if len(v) != 1 else tuple(v) * n
    return (v,) * n


class _ConvNd(Module):
    """What convolutions share: arguments, weight and bias, their init, the input check."""
    _nd = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, ...],
                 stride: int | tuple[int, ...], padding: int | tuple[int, ...] | str,
                 dilation: int | tuple[int, ...], groups: int, bias: bool, padding_mode: str,
                 output_padding: int | tuple[int, ...] = 0, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f'{name}: groups must be a positive integer, got {groups!r}')
        if in_channels % groups:
            raise ValueError(f'{name}: in_channels ({in_channels}) must be divisible by groups '
                             f'({groups})')
        if out_channels % groups:
            raise ValueError(f'{name}: out_channels ({out_channels}) must be divisible by '
                             f'groups ({groups})')
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f'{name}: padding_mode must be one of {list(_PADDING_MODES)}, got '
                             f'{padding_mode!r}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, nd)
        self.stride = _ntuple(stride, nd)
        self.dilation = _ntuple(dilation, nd)
        if isinstance(padding, str):
            if padding not in ('same', 'valid'):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one "
                                 f"of 'valid' or 'same'")
            if padding == 'same' and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride={self.stride})")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, nd)
        self.transposed = self._transposed
        self.output_padding = _ntuple(output_padding, nd)
        self.groups, self.padding_mode = groups, padding_mode
        shape = (in_channels, out_channels // groups) if self._transposed else \
            (out_channels, in_channels // groups)
        self.weight = Parameter(empty(*shape, *self.kernel_size))
        self.bias = Parameter(empty(out_channels)) if bias else None
        self.reset_parameters()
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def reset_parameters(self):
        """torch's default: kaiming_uniform(a=sqrt(5)) for the weight, which is
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and that same range for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _reversed_padding_repeated_twice(self):
        """``F.pad``'s amounts (last dimension first) for a non-zero padding_mode."""
        out = []
        for i in reversed(range(self._nd)):
            if self.padding == 'same':
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                out += [total // 2, total - total // 2]
            elif self.padding == 'valid':
                out += [0, 0]
            else:
                out += [self.padding[i], self.padding[i]]
        return tuple(out)

    def _check_input(self, x):
        nd = self._nd
        if not hasattr(x, 'ndim') or x.ndim not in (nd + 1, nd + 2):
            shape = list(x.shape) if hasattr(x, 'shape') else type(x).__name__
            raise RuntimeError(f'{self!r}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D '
                               f'(batched) input, got input of shape {shape}')
        c = x.shape[1] if x.ndim == nd + 2 else x.shape[0]
        if c != self.in_channels:
            raise RuntimeError(f'{self!r}: expected input with {self.in_channels} channels, '
                               f'but got input of shape {list(x.shape)} with {c} channels '
                               f'(weight of shape {list(self.weight.shape)}, '
                               f'groups={self.groups})')

    def extra_repr(self):
        s = f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, ' \
            f'stride={self.stride}'
        if self.padding != (0,) * len(self.padding):
            s += f', padding={self.padding}'
        if self.dilation != (1,) * len(self.dilation):
            s += f', dilation={self.dilation}'
        if self.output_padding != (0,) * len(self.output_padding):
            s += f', output_padding={self.output_padding}'
        if self.groups != 1:
            s += f', groups={self.groups}'
        if self.bias is None:
            s += ', bias=False'
        if self.padding_mode != 'zeros':
            s += f', padding_mode={self.padding_mode}'
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, ...],
                 stride: int | tuple[int, ...] = 1, padding: int | tuple[int, ...] | str = 0,
                 dilation: int | tuple[int, ...] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = 'zeros', device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, device, dtype)

    def forward(self, input):
        self._check_input(input)
        conv = F.conv1d if self._nd == 1 else F.conv2d
        if self.padding_mode != 'zeros':
            input = F.pad(input, self._reversed_padding_repeated_twice(), mode=self.padding_mode)
            return conv(input, self.weight, self.bias, self.stride, 0, self.dilation,
                        self.groups)
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                    self.groups)


class Conv1d(_Conv):
    """1-D convolution (cross-correlation) over ``(N, C_in, L)`` or ``(C_in, L)`` inputs, with
    weight ``(C_out, C_in / groups, k)``; ``padding`` may be an int, 'same' or 'valid', and
    ``padding_mode`` 'zeros', 'reflect', 'replicate' or 'circular'.

    >>> conv = ember.nn.Conv1d(2, 4, kernel_size=3, padding=1)
    >>> conv(ember.ones(8, 2, 10)).shape, conv
    (ember.Size([8, 4, 10]), Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=(1,)))
    """
    _nd = 1


class Conv2d(_Conv):
    """2-D convolution (cross-correlation) over ``(N, C_in, H, W)`` or ``(C_in, H, W)``
    inputs, with weight ``(C_out, C_in / groups, kh, kw)``.

    >>> conv = ember.nn.Conv2d(1, 8, 3, stride=2, padding=1)
    >>> conv(ember.ones(4, 1, 28, 28)).shape
    ember.Size([4, 8, 14, 14])
    >>> conv(ember.ones(4, 3, 28, 28))
    Traceback (most recent call last):
    RuntimeError: Conv2d(1, 8, ...): expected input with 1 channels, but got input of shape
    [4, 3, 28, 28] with 3 channels (weight of shape [8, 1, 3, 3], groups=1)
    """
    _nd = 2


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, ...],
                 stride: int | tuple[int, ...] = 1, padding: int | tuple[int, ...] = 0,
                 output_padding: int | tuple[int, ...] = 0, groups: int = 1, bias: bool = True,
                 dilation: int | tuple[int, ...] = 1, padding_mode: str = 'zeros',
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        if padding_mode != 'zeros':
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f'{type(self).__name__}, got {padding_mode!r}')
        if isinstance(padding, str):
            raise ValueError(f'{type(self).__name__}: padding must be an int or a tuple, got '
                             f'{padding!r}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device, dtype)

    def _output_padding(self, input, output_size):
        """The output_padding that gives ``output_size`` (torch's rule), else the set one."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        size = list(output_size)
        if len(size) == input.ndim:   # (N, C, ...) or (C, ...) given: keep the spatial part
            size = size[input.ndim - nd:]
        if len(size) != nd:
            raise ValueError(f'{self!r}: output_size must have {nd} or {input.ndim} elements '
                             f'(got {len(output_size)})')
        lo = [(input.shape[input.ndim - nd + d] - 1) * self.stride[d] - 2 * self.padding[d]
              + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(nd)]
        hi = [m + s - 1 for m, s in zip(lo, self.stride)]
        if any(not a <= s <= b for s, a, b in zip(size, lo, hi)):
            raise ValueError(f'{self!r}: requested an output size of {size}, but valid sizes '
                             f'range from {lo} to {hi} (for an input of '
                             f'{list(input.shape[input.ndim - nd:])})')
        return tuple(s - a for s, a in zip(size, lo))

    def forward(self, input, output_size=None):
        self._check_input(input)
        conv = F.conv_transpose1d if self._nd == 1 else F.conv_transpose2d
        return conv(input, self.weight, self.bias, self.stride, self.padding,
                    self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution (the gradient of Conv1d for its input), weight
    ``(C_in, C_out / groups, k)``; ``L_out = (L - 1) stride - 2 padding + dilation (k - 1) +
    output_padding + 1``.

    >>> ember.nn.ConvTranspose1d(4, 2, 3, stride=2)(ember.ones(1, 4, 5)).shape
    ember.Size([1, 2, 11])
    """
    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution ("deconvolution"), weight ``(C_in, C_out / groups, kh, kw)``;
    ``forward(input, output_size=None)`` may ask for a size, which picks output_padding.

    >>> up = ember.nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1)
    >>> up(ember.ones(1, 8, 7, 7)).shape, up(ember.ones(1, 8, 7, 7), output_size=(14, 14)).shape
    (ember.Size([1, 3, 13, 13]), ember.Size([1, 3, 14, 14]))
    """
    _nd = 2


# ---------------------------------------------------------------- pooling

class _MaxPool(Module):
    def __init__(self, kernel_size: int | tuple[int, ...],
                 stride: int | tuple[int, ...] | None = None, padding: int | tuple[int, ...] = 0,
                 dilation: int | tuple[int, ...] = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    # each subclass's function (MaxPool1d, MaxPool3d)
    _pool: Callable[..., Any] = staticmethod(F.max_pool2d)

    def forward(self, input):
        return self._pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f'kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}'
                f', dilation={self.dilation}, ceil_mode={self.ceil_mode}')


class MaxPool1d(_MaxPool):
    """1-D max pooling over ``(N, C, L)`` or ``(C, L)``; ``stride`` defaults to the kernel size.

    >>> ember.nn.MaxPool1d(2)(ember.tensor([[[1.0, 3.0, 2.0, 5.0]]]))
    tensor([[[3., 5.]]])
    """
    _pool = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPool):
    """2-D max pooling over ``(N, C, H, W)`` or ``(C, H, W)``; ``return_indices`` also gives
    each maximum's flat position in its plane.

    >>> pool = ember.nn.MaxPool2d(2)
    >>> pool(ember.arange(16.0).reshape(1, 1, 4, 4)).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    >>> pool
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    """


class AvgPool1d(Module):
    """1-D average pooling; the zero padding counts in the mean unless
    ``count_include_pad=False``.

    >>> ember.nn.AvgPool1d(2)(ember.tensor([[[1.0, 3.0, 2.0, 6.0]]]))
    tensor([[[2., 4.]]])
    """

    def __init__(self, kernel_size: int | tuple[int], stride: int | tuple[int] | None = None,
                 padding: int | tuple[int] = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, 1)
        self.stride = _ntuple(stride if stride is not None else kernel_size, 1)
        self.padding = _ntuple(padding, 1)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f'kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}'


class AvgPool2d(Module):
    """2-D average pooling; ``divisor_override`` replaces the window size as the divisor.

    >>> ember.nn.AvgPool2d(2)(ember.arange(16.0).reshape(1, 1, 4, 4)).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """

    def __init__(self, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None, padding: int | tuple[int, int] = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f'kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}'


class _AdaptiveAvgPool(Module):
    def __init__(self, output_size: int | tuple[int | None, ...]) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f'output_size={self.output_size}'


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    """Average pooling to a fixed length ``output_size``, whatever the input's length.

    >>> ember.nn.AdaptiveAvgPool1d(2)(ember.tensor([[1.0, 2.0, 3.0, 5.0]]))
    tensor([[1.5000, 4.0000]])
    """

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """Average pooling to a fixed ``output_size`` (an int or a pair; None keeps that side);
    ``AdaptiveAvgPool2d(1)`` is global average pooling.

    >>> ember.nn.AdaptiveAvgPool2d(1)(ember.ones(2, 3, 5, 7)).shape
    ember.Size([2, 3, 1, 1])
    """

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)
