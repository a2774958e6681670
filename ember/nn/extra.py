"""More layers, each a thin Module over its ``ember.nn.functional`` function with PyTorch's
arguments, state and printed form: InstanceNorm1d/2d, Dropout1d/2d and AlphaDropout, Upsample,
PixelShuffle/PixelUnshuffle, EmbeddingBag, Fold/Unfold, AdaptiveMaxPool1d/2d, CTCLoss and
Conv3d (and InstanceNorm3d, UpsamplingNearest2d, UpsamplingBilinear2d)."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from . import functional as F
from .loss import _Loss
from .conv import _Conv
from .layers import Embedding, _lookup_table
from .module import Module
from .normalization import _BatchNorm

if TYPE_CHECKING:
    from .._tensor import Tensor
    from .._typing import DeviceLike, DTypeLike


# ---------------------------------------------------------------- instance norm

class _InstanceNorm(_BatchNorm):
    """What InstanceNorm1d/2d share: _BatchNorm's state with instance statistics."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input):
        if input.ndim not in self._ranks:
            raise ValueError(f'{self!r}: expected {self._ranks[0]}D or {self._ranks[1]}D input '
                             f'(got {input.ndim}D input of shape {list(input.shape)})')
        batched = input.ndim == self._ranks[1]
        c = input.shape[1 if batched else 0]
        if c != self.num_features:
            if self.affine:
                raise ValueError(f'{self!r}: expected input\'s size at dim={int(batched)} to '
                                 f'match num_features ({self.num_features}), but got input of '
                                 f'shape {list(input.shape)}')
            warnings.warn(f'{self!r}: input\'s size at dim={int(batched)} does not match '
                          f'num_features, which is not used because affine=False', stacklevel=2)
        x = input if batched else input.unsqueeze(0)
        # (torch's: momentum None is 0, no cumulative average, and no batches counted)
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return out if batched else out.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) (or unbatched (C, L)) inputs: each sample's
    channels normalised over their own length. ``affine`` adds per-channel weight and bias;
    ``track_running_stats`` keeps running statistics, used in eval.

    >>> norm = ember.nn.InstanceNorm1d(2)
    >>> norm(ember.tensor([[[1.0, 3.0], [2.0, 6.0]]])).round(decimals=3).tolist(), norm
    ([[[-1.0, 1.0], [-1.0, 1.0]]], InstanceNorm1d(2, eps=1e-05, momentum=0.1, affine=False, \
bias=False, track_running_stats=False))
    """
    _ranks = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) (or unbatched (C, H, W)) inputs: each sample's
    channels normalised over their own plane (style transfer's normalisation).

    >>> norm = ember.nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    >>> norm(ember.randn(2, 3, 4, 4)).shape, list(norm.state_dict())
    (ember.Size([2, 3, 4, 4]), ['weight', 'bias', 'running_mean', 'running_var', \
'num_batches_tracked'])
    """
    _ranks = (3, 4)


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) (or unbatched (C, D, H, W)) inputs: each
    sample's channels normalised over their own volume.

    >>> ember.nn.InstanceNorm3d(2)(ember.randn(1, 2, 3, 3, 3)).shape
    ember.Size([1, 2, 3, 3, 3])
    """
    _ranks = (4, 5)


# ---------------------------------------------------------------- dropout variants

class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f'{type(self).__name__}: dropout probability has to be between 0 '
                             f'and 1, but got {p}')
        self.p, self.inplace = p, inplace

    def extra_repr(self):
        return f'p={self.p}, inplace={self.inplace}'


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p`` in training,
    scaling the rest by ``1 / (1 - p)``; the identity in eval.

    >>> ember.nn.Dropout1d(0.2).eval()(ember.ones(1, 2, 2))
    tensor([[[1., 1.],
             [1., 1.]]])
    """

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels (feature maps) of (N, C, H, W) inputs with probability ``p`` in
    training, scaling the rest by ``1 / (1 - p)``; the identity in eval.

    >>> ember.nn.Dropout2d(0.2)
    Dropout2d(p=0.2, inplace=False)
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU's self-normalisation: dropped values go to SELU's saturation
    and an affine map keeps zero mean and unit variance (``F.alpha_dropout``); the identity in
    eval.

    >>> _ = ember.manual_seed(0)
    >>> y = ember.nn.AlphaDropout(0.5)(ember.randn(100_000))
    >>> abs(round(float(y.mean()), 1)), round(float(y.std()), 1)
    (0.0, 1.0)
    """

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training, self.inplace)


class FeatureAlphaDropout(_DropoutNd):
    """AlphaDropout of whole channels of (N, C, ...) inputs (``F.feature_alpha_dropout``);
    the identity in eval.

    >>> ember.nn.FeatureAlphaDropout(0.2)
    FeatureAlphaDropout(p=0.2, inplace=False)
    """

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training, self.inplace)


# ---------------------------------------------------------------- resampling

class Upsample(Module):
    """Resample to ``size`` or by ``scale_factor`` (``F.interpolate``): modes 'nearest',
    'linear' and 'bilinear'.

    >>> up = ember.nn.Upsample(scale_factor=2)
    >>> up(ember.tensor([[[1.0, 2.0]]])), up
    (tensor([[[1., 1., 2., 2.]]]), Upsample(scale_factor=2.0, mode='nearest'))
    """

    def __init__(self, size: int | tuple[int, ...] | None = None,
                 scale_factor: float | tuple[float, ...] | None = None, mode: str = 'nearest',
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor: float | tuple[float, ...] | None = tuple(
                float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            return f'scale_factor={self.scale_factor!r}, mode={self.mode!r}'
        return f'size={self.size!r}, mode={self.mode!r}'


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode='nearest')`` for (N, C, H, W) inputs.

    >>> ember.nn.UpsamplingNearest2d(scale_factor=2)(ember.ones(1, 1, 2, 2)).shape
    ember.Size([1, 1, 4, 4])
    """

    def __init__(self, size: int | tuple[int, int] | None = None,
                 scale_factor: float | tuple[float, float] | None = None) -> None:
        super().__init__(size, scale_factor, mode='nearest')


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode='bilinear', align_corners=True)`` for (N, C, H, W)
    inputs.

    >>> ember.nn.UpsamplingBilinear2d(size=3)(ember.tensor([[[[0.0, 2.0]]]]))
    tensor([[[[0., 1., 2.],
              [0., 1., 2.],
              [0., 1., 2.]]]])
    """

    def __init__(self, size: int | tuple[int, int] | None = None,
                 scale_factor: float | tuple[float, float] | None = None) -> None:
        super().__init__(size, scale_factor, mode='bilinear', align_corners=True)


class PixelShuffle(Module):
    """(*, C r^2, H, W) to (*, C, H r, W r) (``F.pixel_shuffle``).

    >>> ember.nn.PixelShuffle(2)(ember.ones(1, 8, 3, 3)).shape
    ember.Size([1, 2, 6, 6])
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f'upscale_factor={self.upscale_factor}'


class PixelUnshuffle(Module):
    """(*, C, H r, W r) to (*, C r^2, H, W) (``F.pixel_unshuffle``), PixelShuffle's inverse.

    >>> ember.nn.PixelUnshuffle(2)(ember.ones(1, 2, 6, 6)).shape
    ember.Size([1, 8, 3, 3])
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f'downscale_factor={self.downscale_factor}'


# ---------------------------------------------------------------- embedding bags

class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings (``F.embedding_bag``): ``forward(input,
    offsets=None, per_sample_weights=None)`` with a (B, N) input, or a 1-D one and the
    bags' ``offsets``. ``weight`` is drawn from N(0, 1), the ``padding_idx`` row zeroed.

    >>> bag = ember.nn.EmbeddingBag(10, 3, mode='sum')
    >>> bag(ember.tensor([1, 2, 4, 5, 4]), ember.tensor([0, 2])).shape, bag
    (ember.Size([2, 3]), EmbeddingBag(10, 3, mode='sum'))
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = 'mean',
                 sparse: bool = False, _weight: Tensor | None = None,
                 include_last_offset: bool = False, padding_idx: int | None = None,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        if mode not in ('sum', 'mean', 'max'):
            raise ValueError(f"EmbeddingBag: mode has to be one of sum, mean or max, got "
                             f"{mode!r}")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset = include_last_offset
        _lookup_table(self, num_embeddings, embedding_dim, padding_idx, _weight, False)
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    reset_parameters = Embedding.reset_parameters

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode='mean', sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag holding the 2-D ``embeddings`` (frozen unless ``freeze=False``).

        >>> bag = ember.nn.EmbeddingBag.from_pretrained(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> bag(ember.tensor([[0, 1]])), bag.weight.requires_grad
        (tensor([[2., 3.]]), False)
        """
        if embeddings.ndim != 2:
            raise ValueError(f'EmbeddingBag.from_pretrained: embeddings parameter is expected '
                             f'to be 2-dimensional, got shape {list(embeddings.shape)}')
        rows, cols = embeddings.shape
        bag = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  embeddings, include_last_offset, padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        s = f'{self.num_embeddings}, {self.embedding_dim}'
        if self.max_norm is not None:
            s += f', max_norm={self.max_norm}'
        if self.norm_type != 2:
            s += f', norm_type={self.norm_type}'
        if self.scale_grad_by_freq:
            s += f', scale_grad_by_freq={self.scale_grad_by_freq}'
        s += f', mode={self.mode!r}'
        if self.padding_idx is not None:
            s += f', padding_idx={self.padding_idx}'
        return s


# ---------------------------------------------------------------- windows and pooling

class Fold(Module):
    """Sum columns of sliding windows back into planes of ``output_size`` (``F.fold``).

    >>> fold = ember.nn.Fold((3, 3), 2)
    >>> fold(ember.ones(1, 4, 4)), fold
    (tensor([[[[1., 2., 1.],
              [2., 4., 2.],
              [1., 2., 1.]]]]), Fold(output_size=(3, 3), kernel_size=2, dilation=1, padding=0, \
stride=1))
    """

    def __init__(self, output_size: int | tuple[int, int], kernel_size: int | tuple[int, int],
                 dilation: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 stride: int | tuple[int, int] = 1) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self):
        return (f'output_size={self.output_size}, kernel_size={self.kernel_size}, '
                f'dilation={self.dilation}, padding={self.padding}, stride={self.stride}')


class Unfold(Module):
    """The sliding windows of (N, C, H, W) inputs as columns (N, C kh kw, L) (``F.unfold``).

    >>> ember.nn.Unfold(2)(ember.ones(2, 3, 4, 5)).shape
    ember.Size([2, 12, 12])
    """

    def __init__(self, kernel_size: int | tuple[int, int], dilation: int | tuple[int, int] = 1,
                 padding: int | tuple[int, int] = 0, stride: int | tuple[int, int] = 1) -> None:
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f'kernel_size={self.kernel_size}, dilation={self.dilation}, '
                f'padding={self.padding}, stride={self.stride}')


class _AdaptiveMaxPool(Module):
    def __init__(self, output_size: int | tuple[int | None, ...],
                 return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def extra_repr(self):
        return f'output_size={self.output_size}'


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Max pooling to a fixed length ``output_size``, whatever the input's length;
    ``return_indices`` also gives the maxima's positions.

    >>> ember.nn.AdaptiveMaxPool1d(2)(ember.tensor([[1.0, 3.0, 2.0, 5.0, 4.0]]))
    tensor([[3., 5.]])
    """

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max pooling to a fixed ``output_size`` (an int or a pair; None keeps that side);
    ``return_indices`` also gives the maxima's flat positions in their planes.

    >>> ember.nn.AdaptiveMaxPool2d((1, None))(ember.ones(2, 3, 5, 7)).shape
    ember.Size([2, 3, 1, 7])
    """

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


# ---------------------------------------------------------------- CTC

class CTCLoss(_Loss):
    """The connectionist temporal classification loss (``F.ctc_loss``): ``forward(log_probs,
    targets, input_lengths, target_lengths)`` with ``log_probs`` (T, N, C) from a
    log-softmax.

    >>> lp = ember.randn(6, 2, 4).log_softmax(2)
    >>> ember.nn.CTCLoss()(lp, ember.tensor([[1, 2], [3, 3]]), [6, 5], [2, 2]).shape
    ember.Size([])
    """

    def __init__(self, blank: int = 0, reduction: str = 'mean',
                 zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)


# ---------------------------------------------------------------- 3-D convolution

class Conv3d(_Conv):
    """3-D convolution (cross-correlation) over ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``
    inputs, with weight ``(C_out, C_in / groups, kd, kh, kw)`` (``F.conv3d``).

    >>> conv = ember.nn.Conv3d(2, 4, 3, padding=1)
    >>> conv(ember.ones(1, 2, 5, 6, 7)).shape, conv
    (ember.Size([1, 4, 5, 6, 7]), Conv3d(2, 4, kernel_size=(3, 3, 3), stride=(1, 1, 1), \
padding=(1, 1, 1)))
    """
    _nd = 3

    def forward(self, input):
        self._check_input(input)
        if self.padding_mode != 'zeros':
            input = F.pad(input, self._reversed_padding_repeated_twice(), mode=self.padding_mode)
            return F.conv3d(input, self.weight, self.bias, self.stride, 0, self.dilation,
                            self.groups)
        return F.conv3d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)
