"""Linear layers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
import math

from .. import random
from .._tensor import Tensor
from ..ops.linalg import linear
from .module import Module, Parameter

if TYPE_CHECKING:
    from .._typing import DeviceLike, DTypeLike


def _uniform(shape, bound):
    """U(-bound, bound), PyTorch's default for Linear and Conv (kaiming_uniform, a=sqrt(5))."""
    return Parameter(random.rand(*shape) * (2 * bound) - bound)


class Identity(Module):
    """Returns its input; any constructor arguments are ignored, as torch's.

    >>> x = ember.ones(2); ember.nn.Identity(54, unused=1)(x) is x
    True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """``y = x @ weight.T + bias``, with weight of shape (out_features, in_features).

    >>> layer = ember.nn.Linear(3, 2)
    >>> layer(ember.ones(4, 3)).shape
    ember.Size([4, 2])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        for name, n in (('in_features', in_features), ('out_features', out_features)):
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ValueError(f'Linear: {name} must be a non-negative int, got {n!r}')
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features) if in_features else 0
        self.weight = _uniform((out_features, in_features), bound)
        self.bias = _uniform((out_features,), bound) if bias else None
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f'{self!r}: expected a Tensor input, got {type(x).__name__}')
        if x.ndim == 0:
            raise RuntimeError(f'{self!r}: input of shape () is 0-d; expected at least 1 '
                               f'dimension, the last of {self.in_features} features')
        if x.shape[-1] != self.in_features:
            raise RuntimeError(f'Linear(in_features={self.in_features}, out_features='
                               f'{self.out_features}): input of shape {tuple(x.shape)} has '
                               f'{x.shape[-1]} features in its last dimension, expected '
                               f'{self.in_features}')
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f'in_features={self.in_features}, out_features={self.out_features}, '
                f'bias={self.bias is not None}')


def line(in_features, out_features):
    """The talk's API: ``nn.Tensor.line(1, 1)`` is a ``Linear(1, 1)`` layer.

    >>> ember.nn.Tensor.line(1, 1)
    Linear(in_features=1, out_features=1, bias=True)
    """
    return Linear(in_features, out_features)


def uniform(*shape):
    """The talk's API: a trainable tensor drawn from U(-1, 1) / sqrt(prod(shape)).

    >>> w = ember.nn.Tensor.uniform(3, 4); w.shape, w.requires_grad
    (ember.Size([3, 4]), True)
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    n = math.prod(shape)
    return Parameter((random.rand(*shape) * 2 - 1) / math.sqrt(n))


Tensor.line = staticmethod(line)   # type: ignore[attr-defined]  # the talk's API, set here
Tensor.uniform = staticmethod(uniform)   # type: ignore[attr-defined]  # (as ops set methods)
