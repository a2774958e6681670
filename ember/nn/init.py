"""``ember.nn.init``: fill a tensor in place, without recording gradients, from ember's seeded
generator (``ember.manual_seed`` or a ``generator=``), with PyTorch's formulas for the scales.
"""
from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import random
from .._dtype import float64
from .._tensor import Tensor, as_tensor
from ..autograd import no_grad

if TYPE_CHECKING:   # (for annotations only: the module's namespace stays torch's)
    from ..random import Generator

__all__ = ['calculate_gain', 'uniform_', 'normal_', 'trunc_normal_', 'constant_', 'ones_',
           'zeros_', 'eye_', 'xavier_uniform_', 'xavier_normal_', 'kaiming_uniform_',
           'kaiming_normal_', 'orthogonal_']


def _write(tensor, values):
    """Copy ``values`` (a Tensor or an array) into ``tensor`` in place, unrecorded."""
    values = values if isinstance(values, Tensor) else as_tensor(np.asarray(values))
    with no_grad():
        tensor.fill_(0)   # NOTE: copy_ keeps old NaN/inf (it adds ``old * 0``); clear them first
        tensor.copy_(values)
    return tensor


def _host(tensor):
    return tuple(tensor.shape)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope**2)) for leaky_relu (slope ``param``, default 0.01),
    3/4 for selu.

    >>> ember.nn.init.calculate_gain('relu'), ember.nn.init.calculate_gain('tanh')
    (1.4142135623730951, 1.6666666666666667)
    """
    linear = ('linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d',
              'conv_transpose3d')
    if nonlinearity in linear or nonlinearity == 'sigmoid':
        return 1
    if nonlinearity == 'tanh':
        return 5.0 / 3
    if nonlinearity == 'relu':
        return math.sqrt(2.0)
    if nonlinearity == 'leaky_relu':
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f'calculate_gain: negative_slope {param} not a valid number')
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == 'selu':
        return 3.0 / 4
    raise ValueError(f'calculate_gain: unsupported nonlinearity {nonlinearity!r}')


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight: ``size(1)`` and ``size(0)`` times the receptive field
    (the product of the dimensions after the first two).

    >>> ember.nn.init._calculate_fan_in_and_fan_out(ember.zeros(8, 3, 5, 5))
    (75, 200)
    """
    if tensor.ndim < 2:
        raise ValueError(f'init: fan in and fan out can not be computed for a tensor with fewer '
                         f'than 2 dimensions, got shape {list(tensor.shape)}')
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ('fan_in', 'fan_out'):
        raise ValueError(f"init: mode {mode!r} not supported, please use one of 'fan_in', "
                         f"'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == 'fan_in' else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Generator | None = None) -> Tensor:
    """Fill with samples from U(a, b).

    >>> w = ember.nn.init.uniform_(ember.empty(1000), -2, 2)
    >>> bool((w >= -2).all() and (w < 2).all())
    True
    """
    u = random.rand(*_host(tensor), generator=generator, dtype=float64)
    return _write(tensor, u * (b - a) + a)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    """Fill with samples from N(mean, std**2).

    >>> _ = ember.manual_seed(0)
    >>> w = ember.nn.init.normal_(ember.empty(10000), 3.0, 0.5)
    >>> round(float(w.mean()), 1), round(float(w.std()), 1)
    (3.0, 0.5)
    """
    return _write(tensor, random.normal(mean, std, _host(tensor), generator=generator,
                                        dtype=float64))


_ERFINV_SMALL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_LARGE = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
_erf = np.frompyfunc(math.erf, 1, 1)


def _erfinv(y):
    """Inverse error function on a float64 array: Giles' approximation, then two Newton
    steps (which bring it to double precision)."""
    with np.errstate(divide='ignore', invalid='ignore'):
        w = -np.log((1 - y) * (1 + y))
        small, large = w - 2.5, np.sqrt(w) - 3
        ps, pl = np.zeros_like(y), np.zeros_like(y)
        for c_s, c_l in zip(_ERFINV_SMALL, _ERFINV_LARGE):
            ps, pl = ps * small + c_s, pl * large + c_l
        x = np.where(w < 5, ps, pl) * y
        for _ in range(2):
            step = (_erf(x).astype(np.float64) - y) / (2 / math.sqrt(math.pi) * np.exp(-x * x))
            x = np.where(np.isfinite(step), x - step, x)
    return np.where(np.abs(y) >= 1, np.copysign(np.inf, y), x)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Generator | None = None) -> Tensor:
    """Fill with samples from N(mean, std**2) truncated to [a, b] (by the inverse CDF, as torch
    does: uniform samples between the CDF at a and at b, mapped back through ``erfinv``).

    >>> w = ember.nn.init.trunc_normal_(ember.empty(1000), std=0.02, a=-0.04, b=0.04)
    >>> bool((w.abs() <= 0.04).all())
    True
    """
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn('trunc_normal_: mean is more than 2 std from [a, b] in nn.init.'
                      'trunc_normal_; the distribution of values may be incorrect.',
                      stacklevel=2)

    def cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0
    lo, hi = cdf((a - mean) / std), cdf((b - mean) / std)
    u = random.rand(*_host(tensor), generator=generator, dtype=float64).numpy()
    x = _erfinv(u * (2 * hi - 2 * lo) + (2 * lo - 1)) * (std * math.sqrt(2.0)) + mean
    return _write(tensor, np.clip(x, a, b))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    >>> ember.nn.init.constant_(ember.empty(3), 0.5)
    tensor([0.5000, 0.5000, 0.5000])
    """
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones.

    >>> ember.nn.init.ones_(ember.empty(2))
    tensor([1., 1.])
    """
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros.

    >>> ember.nn.init.zeros_(ember.empty(2))
    tensor([0., 0.])
    """
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the diagonal, zeros elsewhere).

    >>> ember.nn.init.eye_(ember.empty(2, 3))
    tensor([[1., 0., 0.],
            [0., 1., 0.]])
    """
    if tensor.ndim != 2:
        raise ValueError(f'eye_: only tensors with 2 dimensions are supported, got shape '
                         f'{list(tensor.shape)}')
    return _write(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Generator | None = None) -> Tensor:
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    >>> w = ember.nn.init.xavier_uniform_(ember.empty(30, 20))
    >>> bool((w.abs() <= (6 / 50) ** 0.5).all())
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Glorot normal: N(0, std**2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    >>> ember.nn.init.xavier_normal_(ember.empty(30, 20)).shape
    ember.Size([30, 20])
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def _empty_warning(tensor):
    if 0 in tuple(tensor.shape):
        warnings.warn('Initializing zero-element tensors is a no-op', stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = 'fan_in',
                     nonlinearity: str = 'leaky_relu',
                     generator: Generator | None = None) -> Tensor:
    """He uniform: U(-bound, bound) with ``bound = gain * sqrt(3 / fan)``; ``a`` is the
    leaky_relu slope, ``mode`` picks fan_in (keeps forward variance) or fan_out (backward).
    ``a=sqrt(5)`` is the default init of Linear and Conv: ``bound = 1 / sqrt(fan_in)``.

    >>> w = ember.nn.init.kaiming_uniform_(ember.empty(4, 25), a=5 ** 0.5)
    >>> bool((w.abs() <= 0.2).all())
    True
    """
    if _empty_warning(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = 'fan_in',
                    nonlinearity: str = 'leaky_relu',
                    generator: Generator | None = None) -> Tensor:
    """He normal: N(0, std**2) with ``std = gain / sqrt(fan)``.

    >>> _ = ember.manual_seed(0)
    >>> w = ember.nn.init.kaiming_normal_(ember.empty(200, 50), nonlinearity='relu')
    >>> round(float(w.std()), 1)   # sqrt(2 / 50)
    0.2
    """
    if _empty_warning(tensor):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Generator | None = None) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain``, from the QR decomposition of a normal matrix
    (signs fixed by R's diagonal, so the result is uniformly distributed); dimensions after
    the first are flattened.

    >>> w = ember.nn.init.orthogonal_(ember.empty(3, 5))
    >>> bool(((w @ w.T - ember.eye(3)).abs() < 1e-5).all())
    True
    """
    if tensor.ndim < 2:
        raise ValueError(f'orthogonal_: only tensors with 2 or more dimensions are supported, '
                         f'got shape {list(tensor.shape)}')
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = random.randn(rows, cols, generator=generator, dtype=float64).numpy()
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (gain * q).reshape(tuple(tensor.shape)))
