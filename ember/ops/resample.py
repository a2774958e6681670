"""Resampling: ``interpolate`` (nearest, linear, bilinear) as gathers of source positions
(``conv.PlaneGather``), weighted and summed for the linear modes, so its gradients of any
order are the gathers' (``PlaneScatter``)."""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor, get_xp
from .conv import PlaneGather, _lift, _shape, _tuple

__all__ = ['interpolate']


def _source_index(n, out, scale, mode, align_corners):
    """Per output position: the nearest source index, or two source indices and weights."""
    dst = np.arange(out)
    if mode == 'nearest':
        # torch computes this in float32: floorf(dst * (float) scale)
        src = np.floor(dst.astype(np.float32) * np.float32(scale)).astype(np.int64)
        return np.minimum(src, n - 1)
    if align_corners:
        src = dst * ((n - 1) / (out - 1) if out > 1 else 0.0)
    else:
        src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    w1 = src - i0
    return i0, i1, 1.0 - w1, w1


def interpolate(input: Tensor, size: int | tuple[int, ...] | None = None,
                scale_factor: float | tuple[float, ...] | None = None, mode: str = 'nearest',
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resample ``(N, C, L)`` or ``(N, C, H, W)`` inputs to ``size`` or by ``scale_factor``.

    Modes 'nearest' (``src = floor(dst * in / out)``), 'linear' (3-D) and 'bilinear' (4-D):
    ``src = (dst + 0.5) in / out - 0.5``, or ``dst (in - 1) / (out - 1)`` with
    ``align_corners=True``, mixing the two neighbours linearly.

    >>> x = ember.tensor([[[1.0, 2.0]]])
    >>> ember.nn.functional.interpolate(x, scale_factor=2)
    tensor([[[1., 1., 2., 2.]]])
    >>> ember.nn.functional.interpolate(x, size=4, mode='linear')
    tensor([[[1.0000, 1.2500, 1.7500, 2.0000]]])
    """
    op = 'interpolate'
    if not isinstance(input, Tensor):
        raise TypeError(f'{op}: expected input to be a Tensor, got {type(input).__name__}')
    nd = input.ndim - 2
    need = {'nearest': (1, 2), 'linear': (1,), 'bilinear': (2,)}
    if mode not in need:
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported; ember has 'nearest', "
                                  f"'linear' (3-D input) and 'bilinear' (4-D input)")
    if nd not in need[mode]:
        raise NotImplementedError(f'{op}: got {input.ndim}-D input of size {_shape(input)}, '
                                  f'but {mode} mode needs a '
                                  f'{" or ".join(str(n + 2) for n in need[mode])}-D input')
    if mode == 'nearest' and align_corners is not None:
        raise ValueError(f'{op}: align_corners option can only be set with the interpolating '
                         f'modes: linear | bilinear')
    if antialias:
        raise NotImplementedError(f'{op}: antialias=True is not supported')
    if not input.dtype.is_floating_point:
        raise RuntimeError(f'{op}: expected a floating point input, got {input.dtype}')
    if (size is None) == (scale_factor is None):
        raise ValueError(f'{op}: exactly one of size or scale_factor should be defined, got '
                         f'size={size} and scale_factor={scale_factor}')
    n_in = input.shape[2:]
    if size is not None:
        out = _tuple(size, nd, 'size', op)
        scales = [n / o for n, o in zip(n_in, out)]
    else:
        assert scale_factor is not None   # (exactly one is given: checked above)
        sf = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * nd
        if len(sf) != nd:
            raise ValueError(f'{op}: scale_factor must have {nd} elements for input of size '
                             f'{_shape(input)}, got {scale_factor}')
        out = tuple(int(math.floor(n * f)) for n, f in zip(n_in, sf))
        scales = [n / o if recompute_scale_factor else 1.0 / f
                  for n, o, f in zip(n_in, out, sf)]
    if min(out) < 1:
        raise ValueError(f'{op}: output size {out} must be positive (input of size '
                         f'{_shape(input)})')
    x = _lift(input, nd)
    n_in, out = x.shape[2:], ((1,) + out) if nd == 1 else out
    scales = ([1.0] + scales) if nd == 1 else scales
    xp = get_xp(x)
    src = [_source_index(n, o, s, mode, bool(align_corners)) for n, o, s in zip(n_in, out, scales)]
    w = n_in[1]
    if mode == 'nearest':
        idx = xp.asarray(src[0][:, None] * w + src[1][None, :])
        y = PlaneGather.apply(x, idx=idx)
    else:
        (h0, h1, a0, a1), (w0, w1, b0, b1) = src
        y = None
        for hi, hw in ((h0, a0), (h1, a1)):
            for wi, ww in ((w0, b0), (w1, b1)):
                idx = xp.asarray(hi[:, None] * w + wi[None, :])
                weight = Tensor._make(xp.asarray(np.outer(hw, ww), dtype=x._data.dtype))
                term = PlaneGather.apply(x, idx=idx) * weight
                y = term if y is None else y + term
    return y.squeeze(-2) if nd == 1 else y
