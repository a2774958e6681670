"""Normalisation layers: BatchNorm1d/2d/3d (running statistics as buffers), LayerNorm and
GroupNorm, over ``ember.nn.functional``'s batch_norm, layer_norm and group_norm."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence
from . import functional as F
from . import init
from .._tensor import ones, tensor, zeros
from ..autograd import no_grad
from .module import Module, Parameter

if TYPE_CHECKING:
    from .._typing import DeviceLike, DTypeLike


def _reset_affine(m):
    """A normalisation layer's affine parameters back to weight 1, bias 0."""
    if m.weight is not None:
        init.ones_(m.weight)
    if m.bias is not None:
        init.zeros_(m.bias)

class _BatchNorm(Module):
    """What BatchNorm1d/2d/3d share; subclasses say which input ranks they take."""
    _ranks: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features)) if affine else None
        self.bias = Parameter(zeros(num_features)) if affine and bias else None
        if track_running_stats:
            self.register_buffer('running_mean', zeros(num_features))
            self.register_buffer('running_var', ones(num_features))
            self.register_buffer('num_batches_tracked', tensor(0))
        else:
            for name in ('running_mean', 'running_var', 'num_batches_tracked'):
                self.register_buffer(name, None)
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches counted."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        """Reset the running statistics, and weight to 1 and bias to 0."""
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input(self, x):
        if x.ndim not in self._ranks:
            ranks = ' or '.join(f'{r}D' for r in self._ranks)
            raise ValueError(f'{self!r}: expected {ranks} input (got {x.ndim}D input of shape '
                             f'{list(x.shape)})')
        if x.shape[1] != self.num_features:
            raise RuntimeError(f'{self!r}: expected input with {self.num_features} features '
                               f'(channels) in dimension 1, got input of shape '
                               f'{list(x.shape)}')

    def forward(self, input):
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:   # a cumulative average over every batch seen
                factor = 1.0 / float(self.num_batches_tracked.item())
        # batch statistics in training, and in eval when there are no running statistics
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if keep else None,
                            self.running_var if keep else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def extra_repr(self):
        return (f'{self.num_features}, eps={self.eps}, momentum={self.momentum}, '
                f'affine={self.affine}, bias={self.bias is not None}, '
                f'track_running_stats={self.track_running_stats}')


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs: batch statistics (and an update of
    ``running_mean``/``running_var`` with ``momentum``, or a cumulative average when it is
    None) in training, running statistics in eval.

    >>> bn = ember.nn.BatchNorm1d(2)
    >>> bn(ember.tensor([[1.0, 2.0], [3.0, 6.0]])).detach().round(decimals=3).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    >>> bn.running_mean, bn.num_batches_tracked
    (tensor([0.2000, 0.4000]), tensor(1))
    """
    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel.

    >>> bn = ember.nn.BatchNorm2d(3)
    >>> bn(ember.randn(4, 3, 5, 5)).shape
    ember.Size([4, 3, 5, 5])
    >>> list(bn.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """
    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs, per channel.

    >>> ember.nn.BatchNorm3d(2)(ember.randn(2, 2, 3, 3, 3)).shape
    ember.Size([2, 2, 3, 3, 3])
    """
    _ranks = (5,)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dimensions, then scale by ``weight``
    (ones) and shift by ``bias`` (zeros), both of that shape.

    >>> ln = ember.nn.LayerNorm(2)
    >>> ln(ember.tensor([[1.0, 3.0]])).detach(), ln
    (tensor([[-1.0000,  1.0000]]), LayerNorm((2,), eps=1e-05, elementwise_affine=True, bias=True))
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(ones(*self.normalized_shape)) if elementwise_affine else None
        self.bias = Parameter(zeros(*self.normalized_shape)) \
            if elementwise_affine and bias else None
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def reset_parameters(self):
        """Weight 1, bias 0."""
        _reset_affine(self)

    def forward(self, input):
        k = len(self.normalized_shape)
        if input.ndim < k or tuple(input.shape[input.ndim - k:]) != self.normalized_shape:
            raise RuntimeError(f'{self!r}: expected input with shape [*, '
                               f'{", ".join(map(str, self.normalized_shape))}], but got input '
                               f'of shape {list(input.shape)}')
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f'{self.normalized_shape}, eps={self.eps}, '
                f'elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}')


class GroupNorm(Module):
    """Split the channels of an (N, C, ...) input into ``num_groups`` groups, normalise each,
    then apply a per-channel ``weight`` (ones) and ``bias`` (zeros).

    >>> gn = ember.nn.GroupNorm(2, 4)
    >>> gn(ember.tensor([[[1.0], [3.0], [5.0], [9.0]]])).detach().reshape(-1)
    tensor([-1.0000,  1.0000, -1.0000,  1.0000])
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f'GroupNorm: num_channels ({num_channels}) must be divisible by '
                             f'num_groups ({num_groups})')
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        self.weight = Parameter(ones(num_channels)) if affine else None
        self.bias = Parameter(zeros(num_channels)) if affine and bias else None
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def reset_parameters(self):
        """Weight 1, bias 0."""
        _reset_affine(self)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise RuntimeError(f'{self!r}: expected input of shape (N, {self.num_channels}, '
                               f'...), got input of shape {list(input.shape)}')
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f'{self.num_groups}, {self.num_channels}, eps={self.eps}, '
                f'affine={self.affine}, bias={self.bias is not None}')
