"""Observers (``torch.ao.quantization.observer``'s): modules that watch the tensors passing
through them and compute the scale and zero point to quantize them with.

An observer's ``forward`` records statistics and returns its input unchanged;
``calculate_qparams()`` gives ``(scale, zero_point)`` by torch's formulas, in float32 as torch:
affine ``scale = (max - min) / (quant_max - quant_min)``, ``zero_point = quant_min -
round(min / scale)``, with the range widened to hold 0; symmetric ``scale = max(|min|, |max|) /
((quant_max - quant_min) / 2)``, ``zero_point`` 0 (128 for ``quint8``).

ember has no quantized tensor dtype: quantized values live in ``uint8``/``int8`` arrays, and
``ember.quint8`` / ``ember.qint8`` are other names of ``ember.uint8`` / ``ember.int8``. An
observer's ``dtype`` is one of those or the strings ``'quint8'``, ``'qint8'``, ``'uint8'``,
``'int8'``. ``qscheme`` is a string: ``'per_tensor_affine'``, ``'per_tensor_symmetric'``,
``'per_channel_affine'``, ``'per_channel_symmetric'``.

>>> obs = quantization.MinMaxObserver()
>>> _ = obs(ember.tensor([-1.0, 0.5, 3.0]))
>>> scale, zero_point = obs.calculate_qparams()
>>> round(scale.item(), 6), zero_point.item()
(0.015686, 64)
"""
import numpy as np

from .. import _dtype
from .._tensor import Tensor, tensor
from ..nn.module import Module

__all__ = ['ObserverBase', 'MinMaxObserver', 'MovingAverageMinMaxObserver',
           'PerChannelMinMaxObserver', 'MovingAveragePerChannelMinMaxObserver',
           'HistogramObserver', 'PlaceholderObserver', 'QSCHEMES']

QSCHEMES = ('per_tensor_affine', 'per_tensor_symmetric', 'per_channel_affine',
            'per_channel_symmetric')
_EPS = float(np.finfo(np.float32).eps)
_DTYPES = {'quint8': _dtype.uint8, 'uint8': _dtype.uint8, 'qint8': _dtype.int8,
           'int8': _dtype.int8}


def as_qdtype(dtype, where):
    """``dtype`` (an ember dtype or a name) as ``ember.uint8`` or ``ember.int8``."""
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    if dtype is _dtype.uint8 or dtype is _dtype.int8:
        return dtype
    raise ValueError(f'{where}: dtype={dtype!r} is not a quantized dtype; use ember.quint8 '
                     f'(uint8), ember.qint8 (int8) or one of the names {sorted(_DTYPES)}')


def _check_qscheme(qscheme, where, per_channel=None):
    if qscheme not in QSCHEMES:
        raise ValueError(f'{where}: qscheme={qscheme!r} is not one of {QSCHEMES}')
    if per_channel is not None and qscheme.startswith('per_channel') != per_channel:
        kind = 'per_channel' if per_channel else 'per_tensor'
        raise ValueError(f'{where}: qscheme={qscheme!r}; this observer needs a {kind}_* qscheme')
    return qscheme


def qmin_qmax(dtype, reduce_range, quant_min=None, quant_max=None, where='observer'):
    """torch's ``calculate_qmin_qmax``: the integer range of ``dtype`` (halved by
    ``reduce_range``), or the custom ``quant_min``/``quant_max`` (also halved)."""
    if (quant_min is None) != (quant_max is None):
        raise ValueError(f'{where}: give both quant_min and quant_max or neither, got '
                         f'quant_min={quant_min}, quant_max={quant_max}')
    if quant_min is not None:
        if not quant_min <= 0 <= quant_max or quant_min >= quant_max:
            raise ValueError(f'{where}: the range quant_min={quant_min}, quant_max={quant_max} '
                             f'must hold 0 and have quant_min < quant_max')
        info = np.iinfo(dtype.np)
        if quant_max - quant_min + 1 > 256 or (dtype is _dtype.uint8 and quant_min < 0):
            raise ValueError(f'{where}: quant_min={quant_min}, quant_max={quant_max} do not fit '
                             f'{dtype} ({info.min}..{info.max})')
        return (quant_min // 2, quant_max // 2) if reduce_range else (quant_min, quant_max)
    if dtype is _dtype.int8:
        return (-64, 63) if reduce_range else (-128, 127)
    return (0, 127) if reduce_range else (0, 255)


def calculate_qparams(min_val, max_val, quant_min, quant_max, qscheme, dtype,
                      custom_range=False, eps=_EPS):
    """torch's ``_calculate_qparams`` on float32 arrays of minima and maxima (0-d or per
    channel): ``(scale float32, zero_point int64)`` as NumPy arrays of the same shape."""
    f = np.float32
    min_neg = np.minimum(np.asarray(min_val, f), f(0))
    max_pos = np.maximum(np.asarray(max_val, f), f(0))
    zero_point = np.zeros(min_neg.shape, np.int64)
    if qscheme.endswith('symmetric'):
        max_pos = np.maximum(-min_neg, max_pos)
        scale = np.maximum(max_pos / f((quant_max - quant_min) / 2), f(eps)).astype(f)
        if dtype is _dtype.uint8:
            zero_point[...] = (quant_min + quant_max) // 2 if custom_range else 128
    else:
        scale = np.maximum((max_pos - min_neg) / f(quant_max - quant_min), f(eps)).astype(f)
        zero_point = quant_min - np.round(min_neg / scale).astype(np.int64)
        zero_point = np.clip(zero_point, quant_min, quant_max)
    return scale, zero_point


class ObserverBase(Module):
    """What every observer shares: ``dtype``, ``qscheme``, ``reduce_range``, the range
    ``quant_min``..``quant_max`` and ``calculate_qparams()``. ``with_args(**kw)`` gives a
    factory (for ``QConfig``), as torch's.

    >>> make = quantization.MinMaxObserver.with_args(dtype=ember.qint8)
    >>> make().dtype, make().quant_min, make().quant_max
    (ember.int8, -128, 127)
    """
    _per_channel = False

    def __init__(self, dtype=_dtype.uint8, qscheme='per_tensor_affine', reduce_range=False,
                 quant_min=None, quant_max=None, eps=_EPS):
        super().__init__()
        where = type(self).__name__
        self.dtype = as_qdtype(dtype, where)
        self.qscheme = _check_qscheme(qscheme, where, self._per_channel)
        if reduce_range and qscheme == 'per_tensor_symmetric' and self.dtype is _dtype.uint8:
            raise NotImplementedError(f'{where}: cannot reduce range for symmetric '
                                      f'quantization for quint8')
        self.reduce_range, self.eps = bool(reduce_range), float(eps)
        self._custom_range = quant_min is not None
        self.quant_min, self.quant_max = qmin_qmax(self.dtype, reduce_range, quant_min,
                                                   quant_max, where)

    @classmethod
    def with_args(cls, **kwargs):
        """A factory making ``cls(**kwargs)`` (torch's ``with_args``).

        >>> quantization.MovingAverageMinMaxObserver.with_args(averaging_constant=0.5)()
        MovingAverageMinMaxObserver(dtype=ember.uint8, qscheme=per_tensor_affine, ...)
        """
        return _Factory(cls, kwargs)

    def _qparams(self, min_val, max_val):
        if np.any(np.isinf(min_val)) or np.any(np.isinf(max_val)):
            raise RuntimeError(f'{type(self).__name__}.calculate_qparams: the observer has seen '
                               f'no data; run some batches through it first')
        scale, zp = calculate_qparams(min_val, max_val, self.quant_min, self.quant_max,
                                      self.qscheme, self.dtype, self._custom_range, self.eps)
        return tensor(np.atleast_1d(scale)), tensor(np.atleast_1d(zp))

    def calculate_qparams(self):
        """``(scale, zero_point)`` from what was seen: float32 and int64 tensors, of one
        element per tensor or one per channel (torch's shapes).

        >>> obs = quantization.MinMaxObserver(qscheme='per_tensor_symmetric', dtype='qint8')
        >>> _ = obs(ember.tensor([-2.0, 1.0])); obs.calculate_qparams()
        (tensor([0.0157]), tensor([0]))
        """
        return self._qparams(self.min_val.numpy(), self.max_val.numpy())

    def _check(self, x):
        if not isinstance(x, Tensor) or not x.dtype.is_floating_point:
            what = x.dtype if isinstance(x, Tensor) else type(x).__name__
            raise TypeError(f'{type(self).__name__}: expected a floating-point tensor, got '
                            f'{what}')
        return x.detach().numpy().astype(np.float32, copy=False)

    def extra_repr(self):
        return (f'dtype={self.dtype}, qscheme={self.qscheme}, quant_min={self.quant_min}, '
                f'quant_max={self.quant_max}')


class _Factory:
    """``cls.with_args(**kw)``: calling it makes ``cls(**kw, **more)``."""

    def __init__(self, cls, kwargs):
        self.cls, self.kwargs = cls, kwargs

    def __call__(self, **more):
        return self.cls(**{**self.kwargs, **more})

    def with_args(self, **kwargs):
        return _Factory(self.cls, {**self.kwargs, **kwargs})

    def __repr__(self):
        args = ', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())
        return f'{self.cls.__name__}.with_args({args})'


class MinMaxObserver(ObserverBase):
    """The running minimum and maximum of everything seen (torch's ``MinMaxObserver``).

    >>> obs = quantization.MinMaxObserver()
    >>> _ = obs(ember.tensor([0.0, 2.0])); _ = obs(ember.tensor([-1.0]))
    >>> obs.min_val.item(), obs.max_val.item()
    (-1.0, 2.0)
    """

    def __init__(self, dtype=_dtype.uint8, qscheme='per_tensor_affine', reduce_range=False,
                 quant_min=None, quant_max=None, eps=_EPS):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps)
        self.register_buffer('min_val', tensor(np.float32(np.inf)))
        self.register_buffer('max_val', tensor(np.float32(-np.inf)))

    def _update(self, lo, hi):
        self.min_val = tensor(np.minimum(self.min_val.numpy(), lo))
        self.max_val = tensor(np.maximum(self.max_val.numpy(), hi))

    def forward(self, x):
        a = self._check(x)
        if a.size:
            self._update(a.min(), a.max())
        return x


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Minimum and maximum as moving averages: ``min += c * (batch_min - min)`` with
    ``c = averaging_constant`` (0.01), the first batch taken as is (torch's).

    >>> obs = quantization.MovingAverageMinMaxObserver(averaging_constant=0.5)
    >>> _ = obs(ember.tensor([0.0, 2.0])); _ = obs(ember.tensor([0.0, 4.0])); obs.max_val.item()
    3.0
    """

    def __init__(self, averaging_constant=0.01, dtype=_dtype.uint8,
                 qscheme='per_tensor_affine', reduce_range=False, quant_min=None,
                 quant_max=None, eps=_EPS):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps)
        self.averaging_constant = float(averaging_constant)

    def _update(self, lo, hi):
        old_lo, old_hi = self.min_val.numpy(), self.max_val.numpy()
        if np.all(np.isinf(old_lo)):
            self.min_val, self.max_val = tensor(np.asarray(lo)), tensor(np.asarray(hi))
            return
        c = np.float32(self.averaging_constant)
        self.min_val = tensor((old_lo + c * (lo - old_lo)).astype(np.float32))
        self.max_val = tensor((old_hi + c * (hi - old_hi)).astype(np.float32))


class PerChannelMinMaxObserver(MinMaxObserver):
    """Minimum and maximum of each slice along ``ch_axis`` (0: a weight's output channels);
    qscheme ``'per_channel_affine'`` (default) or ``'per_channel_symmetric'``.

    >>> obs = quantization.PerChannelMinMaxObserver(dtype='qint8',
    ...                                              qscheme='per_channel_symmetric')
    >>> _ = obs(ember.tensor([[1.0, -0.5], [0.25, 0.0]])); obs.calculate_qparams()[0]
    tensor([0.0078, 0.0020])
    """
    _per_channel = True

    def __init__(self, ch_axis=0, dtype=_dtype.uint8, qscheme='per_channel_affine',
                 reduce_range=False, quant_min=None, quant_max=None, eps=_EPS):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps)
        self.ch_axis = int(ch_axis)

    def forward(self, x):
        a = self._check(x)
        if a.ndim == 0 or not -a.ndim <= self.ch_axis < a.ndim:
            raise ValueError(f'{type(self).__name__}: ch_axis={self.ch_axis} is out of range for '
                             f'an input of shape {tuple(x.shape)}')
        if a.size:
            a = np.moveaxis(a, self.ch_axis, 0).reshape(a.shape[self.ch_axis], -1)
            lo, hi = a.min(1), a.max(1)
            if self.min_val.ndim and self.min_val.shape[0] != lo.shape[0]:
                raise ValueError(f'{type(self).__name__}: saw {self.min_val.shape[0]} channels '
                                 f'before, now {lo.shape[0]} (shape {tuple(x.shape)})')
            self._update(lo, hi)
        return x


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """``PerChannelMinMaxObserver`` with moving averages (``averaging_constant`` 0.01).

    >>> obs = quantization.MovingAveragePerChannelMinMaxObserver(averaging_constant=0.5)
    >>> _ = obs(ember.tensor([[2.0], [4.0]])); _ = obs(ember.tensor([[4.0], [4.0]]))
    >>> obs.max_val
    tensor([3., 4.])
    """

    def __init__(self, averaging_constant=0.01, ch_axis=0, dtype=_dtype.uint8,
                 qscheme='per_channel_affine', reduce_range=False, quant_min=None,
                 quant_max=None, eps=_EPS):
        super().__init__(ch_axis, dtype, qscheme, reduce_range, quant_min, quant_max, eps)
        self.averaging_constant = float(averaging_constant)

    _update = MovingAverageMinMaxObserver._update


class PlaceholderObserver(ObserverBase):
    """Records nothing: the activation "observer" of dynamic quantization, whose
    activations are quantized from each call's own range (torch's).

    >>> quantization.PlaceholderObserver(is_dynamic=True).is_dynamic
    True
    """

    def __init__(self, dtype=_dtype.uint8, is_dynamic=False, reduce_range=False):
        super().__init__(dtype, 'per_tensor_affine', reduce_range)
        self.is_dynamic = bool(is_dynamic)

    def forward(self, x):
        return x

    def calculate_qparams(self):
        raise RuntimeError('PlaceholderObserver.calculate_qparams: a placeholder has no '
                           'quantization parameters')


class HistogramObserver(ObserverBase):
    """A histogram of everything seen (``bins`` 2048 over the running min..max, re-binned as
    the range grows), and torch's search for the range whose 8-bit quantization has the
    least L2 error over it (``_non_linear_param_search``, from caffe2's norm minimization):
    outliers are clipped. The same algorithm as torch's, ported to NumPy in float32.

    >>> obs = quantization.HistogramObserver()
    >>> _ = obs(ember.linspace(-1, 3, 1000))
    >>> obs.calculate_qparams()
    (tensor([0.0157]), tensor([64]))
    """

    def __init__(self, bins=2048, dtype=_dtype.uint8, qscheme='per_tensor_affine',
                 reduce_range=False, quant_min=None, quant_max=None, eps=_EPS):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps)
        self.bins = int(bins)
        self.register_buffer('histogram', tensor(np.zeros(self.bins, np.float32)))
        self.register_buffer('min_val', tensor(np.float32(np.inf)))
        self.register_buffer('max_val', tensor(np.float32(-np.inf)))
        self.dst_nbins = 256
        self.upsample_rate = 16

    def _histc(self, a, lo, hi):
        if lo == hi:
            lo, hi = lo - 1, hi + 1   # torch.histc's rule for an empty range
        f = np.float32   # torch.histc's arithmetic, in float32 and in this order
        idx = ((a.astype(f) - f(lo)) / (f(hi) - f(lo)) * f(self.bins)).astype(np.int64)
        counts = np.bincount(np.clip(idx, 0, self.bins - 1), minlength=self.bins)
        return counts.astype(np.float32)

    def forward(self, x):
        a = self._check(x)
        a = a[np.isfinite(a)]
        if not a.size:
            return x
        lo, hi = a.min(), a.max()
        cur_lo, cur_hi = self.min_val.numpy(), self.max_val.numpy()
        if np.isinf(cur_lo):
            hist = self._histc(a, lo, hi)
            new_lo, new_hi = lo, hi
        else:
            new_lo, new_hi = np.minimum(cur_lo, lo), np.maximum(cur_hi, hi)
            hist = self._histc(a, new_lo, new_hi)
            old = self.histogram.numpy()
            if new_lo == cur_lo and new_hi == cur_hi:
                hist = hist + old
            elif cur_lo == cur_hi:
                hist = hist + self._histc(np.asarray([cur_lo]), new_lo, new_hi) * old.sum()
            else:
                hist = hist + self._upscale(old, cur_lo, cur_hi, new_lo, new_hi)
        self.histogram = tensor(hist.astype(np.float32))
        self.min_val, self.max_val = tensor(np.float32(new_lo)), tensor(np.float32(new_hi))
        return x

    def _upscale(self, hist, lo, hi, new_lo, new_hi):
        """torch's ``_upscale_histogram``: the old counts spread over ``upsample_rate``
        sub-bins each, whose centres fall into the new bins."""
        n = self.bins * self.upsample_rate
        hist = np.repeat(hist, self.upsample_rate) / np.float32(self.upsample_rate)
        mids = np.linspace(lo, hi, n + 1, dtype=np.float32)[:-1] + np.float32(0.5) * (
            (hi - lo) / np.float32(n))
        edges = np.linspace(new_lo, new_hi, self.bins + 1, dtype=np.float32)
        where = np.clip(np.searchsorted(edges, mids, side='right') - 1, 0, self.bins - 1)
        return np.bincount(where, weights=hist, minlength=self.bins).astype(np.float32)

    def _error(self, start, end):
        """torch's ``_compute_quantization_error``: the L2 error of quantizing the histogram
        to ``dst_nbins`` levels over bins ``start``..``end``."""
        width = (float(self.max_val.item()) - float(self.min_val.item())) / self.bins
        dst = width * (end - start + 1) / self.dst_nbins
        if dst == 0.0:
            return 0.0
        f = np.float32
        src_begin = ((np.arange(self.bins) - start) * width).astype(f)
        src_end = src_begin + f(width)
        begin_bin = np.clip(np.floor(src_begin / f(dst)), 0, self.dst_nbins - 1)
        end_bin = np.clip(np.floor(src_end / f(dst)), 0, self.dst_nbins - 1)
        density = self.histogram.numpy() / f(width)

        def norm(b, e):
            return density * ((e * e * e - b * b * b) / f(3))
        half = f(dst / 2)
        total = norm(src_begin - (begin_bin + f(0.5)) * f(dst), half)
        total = total + (end_bin - begin_bin - 1) * norm(-half, half)
        total = total + norm(-half, src_end - (end_bin * f(dst) + half))
        return float(total.astype(f).sum())

    def _search(self):
        """torch's ``_non_linear_param_search``: shrink the range from whichever end frees
        more mass per step of 1e-5 of the total, while the error goes down."""
        hist = self.histogram.numpy()
        csum, total = np.cumsum(hist), float(hist.sum())
        alpha, beta, start, end = 0.0, 1.0, 0, self.bins - 1
        best = float('inf')
        while alpha < beta:
            next_alpha, next_beta = alpha + 1e-5, beta - 1e-5
            left = min(max(start, int(np.searchsorted(csum, next_alpha * total, 'left'))), end)
            right = max(min(end, int(np.searchsorted(csum, next_beta * total, 'right')) - 1),
                        start)
            new_start, new_end = start, end
            if left - start > end - right:
                new_start, alpha = left, next_alpha
            else:
                new_end, beta = right, next_beta
            if new_start == start and new_end == end:
                continue
            err = self._error(new_start, new_end)
            if err > best:
                break
            best, start, end = err, new_start, new_end
        lo, hi = self.min_val.numpy(), self.max_val.numpy()
        width = (hi - lo) / np.float32(self.bins)
        return lo + width * np.float32(start), lo + width * np.float32(end + 1)

    def calculate_qparams(self):
        if np.isinf(self.min_val.item()):
            return self._qparams(self.min_val.numpy(), self.max_val.numpy())
        return self._qparams(*self._search())
