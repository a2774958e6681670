"""Quantized layers: int8 weights and 8-bit activations, computed as int8 hardware would.

ember has no quantized tensor, so a quantized layer takes and returns float tensors, as a
QDQ graph does: it quantizes its input (``QuantizeLinear``: ``clamp(round(x * (1 /
input_scale)) + input_zero_point)``, half to even, the inverse in float32 as torch), multiplies
the integers exactly (products of 8-bit integers summed in float32 where the sum cannot pass
2**24, else float64: the int32 accumulator's value), adds the float bias at scale
``input_scale * weight_scale[c]`` and requantizes to ``scale``/``zero_point`` (as fbgemm),
and returns the dequantized result.

Everything an exporter needs is a plain attribute or buffer (``docs/quantization.md``):
``weight`` (int8, output channels first), ``weight_scale`` (float32, one per output channel,
or 0-d per tensor), ``weight_zero_point`` (int8, same shape), ``weight_axis`` (0 or None),
``bias`` (float32 or None), ``input_scale``/``input_zero_point`` and ``scale``/``zero_point``
(0-d; the zero points in the activation dtype ``dtype``, uint8 or int8), ``quant_min``,
``quant_max`` (the activation range; 0..127 with ``reduce_range``), ``relu`` (a fused ReLU).

>>> lin = quantization.QuantizedLinear.from_float(ember.nn.Linear(3, 2), (0.02, 128),
...                                                 (0.05, 100))
>>> lin.weight.dtype, lin(ember.ones(4, 3)).shape
(ember.int8, ember.Size([4, 2]))
"""
import numpy as np

from .. import _dtype
from .._tensor import Tensor, tensor
from ..autograd import Op, no_grad
from ..backend import namespace
from ..nn import functional as F
from ..nn.module import Module
from ..nn.rnn import LSTM
from .observer import as_qdtype, qmin_qmax

__all__ = ['QuantizedLinear', 'QuantizedConv2d', 'DynamicQuantizedLinear',
           'DynamicQuantizedLSTM', 'quantize_weight']


def _np(t):
    return t.detach().numpy() if isinstance(t, Tensor) else np.asarray(t)


def quantize_weight(weight, scale, zero_point, axis=0, dtype=_dtype.int8):
    """``clamp(round(weight / scale) + zero_point)`` as an int8 (or uint8) tensor, per
    channel along ``axis`` when ``scale`` has one value per slice (else per tensor); the
    values torch's ``quantize_per_channel(...).int_repr()`` gives.

    >>> quantization.quantize_weight(ember.tensor([[0.5, -1.0], [0.1, 0.2]]),
    ...                              ember.tensor([1 / 127, 0.2 / 127]), ember.tensor([0, 0]))
    tensor([[  64, -127],
            [  64,  127]], dtype=ember.int8)
    """
    dtype = as_qdtype(dtype, 'quantize_weight')
    w = _np(weight).astype(np.float32)
    s, z = _np(scale).astype(np.float32), _np(zero_point).astype(np.int64)
    if s.size > 1:
        shape = [1] * w.ndim
        shape[axis] = -1
        s, z = s.reshape(shape), z.reshape(shape)
    info = np.iinfo(dtype.np)
    q = np.clip(np.round(w * (np.float32(1) / s)) + z, info.min, info.max)   # torch's rounding
    return tensor(q.astype(dtype.np))


def _inverse(scale):
    """``1 / scale`` in float32: quantizing multiplies by it, as torch and fbgemm do (so
    a converted layer rounds as its fake-quantized QAT form did)."""
    return float(np.float32(1) / np.float32(scale))


def _quantize(x, scale, zero_point, quant_min, quant_max, dtype):
    """``clamp(round(x * (1 / scale)) + zero_point) - zero_point``: the integers a quantized
    ``x`` holds, less the zero point, as a ``dtype`` tensor (no graph)."""
    q = x._data.astype(np.float32) * np.float32(_inverse(scale))
    xp = namespace(q)
    xp.round(q, out=q)
    q += np.float32(zero_point)
    xp.clip(q, quant_min, quant_max, out=q)
    q -= np.float32(zero_point)
    return Tensor._make(q.astype(dtype.np, copy=False))


def _exact_dtype(k):
    """float32 when a sum of ``k`` products of 8-bit integers stays below 2**24 (exact),
    else float64 (exact to 2**53)."""
    return _dtype.float32 if k * 255 * 128 <= 2 ** 24 else _dtype.float64


class _QuantizedCall(Op):
    """One static quantized layer's call as one op (quantize, integer product, requantize,
    dequantize): what ``ember.onnx.export`` writes as a QDQ group of nodes."""
    differentiable = False

    def forward(ctx, x, layer):
        return layer._integer_forward(Tensor._make(x))._data


class _Quantized(Module):
    """What the static quantized layers share: the buffers, quantize, requantize."""

    def _setup(self, weight, weight_scale, weight_zero_point, bias, input_qparams,
               output_qparams, dtype, reduce_range, relu):
        self.dtype = as_qdtype(dtype, type(self).__name__)
        self.quant_min, self.quant_max = qmin_qmax(self.dtype, reduce_range)
        ws = np.asarray(_np(weight_scale), np.float32)
        self.weight_axis = 0 if ws.ndim else None
        self.register_buffer('weight', weight)
        self.register_buffer('weight_scale', tensor(ws))
        self.register_buffer('weight_zero_point',
                             tensor(_np(weight_zero_point).astype(np.int8).reshape(ws.shape)))
        self.register_buffer('bias', None if bias is None
                             else tensor(_np(bias).astype(np.float32)))
        for prefix, (s, z) in (('input_', input_qparams), ('', output_qparams)):
            self.register_buffer(prefix + 'scale', tensor(np.float32(np.asarray(_np(s)).item())))
            self.register_buffer(prefix + 'zero_point',
                                 tensor(np.asarray(int(np.asarray(_np(z)).item()),
                                                   self.dtype.np)))
        self.relu = bool(relu)

    @staticmethod
    def _check_input(x, where):
        if not isinstance(x, Tensor) or not x.dtype.is_floating_point:
            what = x.dtype if isinstance(x, Tensor) else type(x).__name__
            raise TypeError(f'{where}: expected a floating-point tensor, got {what}')

    def _quantize_input(self, x, where, dtype):
        return _quantize(x, float(self.input_scale.item()), float(self.input_zero_point.item()),
                         self.quant_min, self.quant_max, dtype)

    def _requantize(self, acc, shape):
        """``acc`` (exact integer sums) to the output's quantized grid, dequantized; in place
        on one float64 array (inference only: no graph)."""
        a = acc._data.astype(np.float64)
        xp = namespace(a)
        a *= (self.weight_scale._data.astype(np.float64) * float(self.input_scale.item())
              ).reshape(shape)
        if self.bias is not None:
            a += self.bias._data.astype(np.float64).reshape(shape)
        scale, zp = float(self.scale.item()), float(self.zero_point.item())
        a /= scale
        xp.round(a, out=a)
        a += zp
        xp.clip(a, max(self.quant_min, zp) if self.relu else self.quant_min, self.quant_max,
                out=a)
        a -= zp
        a *= scale
        return Tensor._make(a.astype(np.float32))

    def _weight_as(self, dtype):
        w = self.weight.to(dtype=dtype)
        zp = self.weight_zero_point.to(dtype=dtype)
        return w - zp.reshape([-1] + [1] * (w.ndim - 1)) if zp.ndim else w - zp

    @classmethod
    def _qparams_of(cls, weight, make_observer=None):
        """The int8 weight and its scale and zero point (0-d per tensor), from a fresh
        observer of ``make_observer`` (per-channel symmetric qint8 by default)."""
        weight_observer = (make_observer or _default_weight_observer)()
        if weight_observer.dtype is not _dtype.int8:
            raise ValueError(f'{cls.__name__}.from_float: weights should be quantized to qint8, '
                             f'the weight observer gives {weight_observer.dtype}')
        with no_grad():
            weight_observer(weight.detach())
        scale, zp = weight_observer.calculate_qparams()
        if not weight_observer.qscheme.startswith('per_channel'):
            scale, zp = scale.reshape(()), zp.reshape(())
        axis = getattr(weight_observer, 'ch_axis', 0)
        return quantize_weight(weight, scale, zp, axis), scale, zp

    def _extra(self):
        return (f'scale={self.scale.item():.6g}, zero_point={self.zero_point.item()}, '
                f'qscheme={"per_channel" if self.weight_axis is not None else "per_tensor"}'
                + (', relu=True' if self.relu else ''))


def _default_weight_observer():
    from .fake_quantize import default_per_channel_weight_observer
    return default_per_channel_weight_observer()


class QuantizedLinear(_Quantized):
    """A static int8 linear layer (torch's ``torch.ao.nn.quantized.Linear``, float in and
    out): the module ``convert`` puts where an observed ``nn.Linear`` was. Build one with
    ``from_float(linear, input_qparams, output_qparams)``, the qparams ``(scale,
    zero_point)`` pairs.

    >>> lin = ember.nn.Linear(2, 1)
    >>> q = quantization.QuantizedLinear.from_float(lin, (1 / 64, 0), (1 / 32, 128))
    >>> x = ember.tensor([[0.5, 1.0]])
    >>> bool((q(x) - lin(x)).abs().max() < 0.05)
    True
    """

    def __init__(self, in_features, out_features, bias=True, dtype=_dtype.uint8,
                 reduce_range=False, relu=False):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._setup(tensor(np.zeros((out_features, in_features), np.int8)),
                    np.ones(out_features, np.float32), np.zeros(out_features, np.int8),
                    np.zeros(out_features, np.float32) if bias else None, (1.0, 0), (1.0, 0),
                    dtype, reduce_range, relu)

    @classmethod
    def from_float(cls, mod, input_qparams, output_qparams, weight_observer=None,
                   dtype=_dtype.uint8, reduce_range=False, relu=False):
        """Quantize ``mod`` (an ``nn.Linear``): its weight by an observer
        ``weight_observer()`` (per-channel symmetric qint8 unless given), activations by the
        given ``(scale, zero_point)``.

        >>> quantization.QuantizedLinear.from_float(ember.nn.Linear(4, 2), (0.1, 0), (0.1, 0))
        QuantizedLinear(in_features=4, out_features=2, scale=0.1, zero_point=0, ...)
        """
        q, scale, zp = cls._qparams_of(mod.weight, weight_observer)
        out = cls(mod.in_features, mod.out_features, mod.bias is not None, dtype, reduce_range,
                  relu)
        out._setup(q, scale, zp, mod.bias, input_qparams, output_qparams, dtype, reduce_range,
                   relu)
        return out

    def forward(self, x):
        where = f'QuantizedLinear(in_features={self.in_features})'
        if not isinstance(x, Tensor) or x.ndim == 0 or x.shape[-1] != self.in_features:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f'{where}: expected an input of shape (*, {self.in_features}), '
                             f'got {shape}')
        self._check_input(x, where)
        return _QuantizedCall.apply(x, layer=self)

    def _integer_forward(self, x):
        with no_grad():
            acc_dtype = _exact_dtype(self.in_features)
            xi = self._quantize_input(x, 'QuantizedLinear', acc_dtype)
            acc = xi @ self._weight_as(acc_dtype).mT
            return self._requantize(acc, (-1,))

    def extra_repr(self):
        return f'in_features={self.in_features}, out_features={self.out_features}, ' \
            + self._extra()


class QuantizedConv2d(_Quantized):
    """A static int8 2-D convolution (torch's ``torch.ao.nn.quantized.Conv2d``, float in and
    out; zero padding is the input zero point, as there). ``from_float(conv,
    input_qparams, output_qparams)`` builds one from an ``nn.Conv2d``.

    >>> conv = ember.nn.Conv2d(1, 2, 3, padding=1)
    >>> q = quantization.QuantizedConv2d.from_float(conv, (1 / 128, 0), (1 / 32, 128))
    >>> q(ember.rand(1, 1, 4, 4)).shape
    ember.Size([1, 2, 4, 4])
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, dtype=_dtype.uint8, reduce_range=False, relu=False):
        super().__init__()
        pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)   # noqa: E731
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.dilation = pair(kernel_size), pair(stride), \
            pair(dilation)
        self.padding = padding if isinstance(padding, str) else pair(padding)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self._setup(tensor(np.zeros(shape, np.int8)), np.ones(out_channels, np.float32),
                    np.zeros(out_channels, np.int8),
                    np.zeros(out_channels, np.float32) if bias else None, (1.0, 0), (1.0, 0),
                    dtype, reduce_range, relu)

    @classmethod
    def from_float(cls, mod, input_qparams, output_qparams, weight_observer=None,
                   dtype=_dtype.uint8, reduce_range=False, relu=False):
        """Quantize ``mod`` (an ``nn.Conv2d`` with zero padding), as
        ``QuantizedLinear.from_float``.

        >>> quantization.QuantizedConv2d.from_float(ember.nn.Conv2d(1, 2, 3), (0.1, 0),
        ...                                         (0.1, 0)).weight.shape
        ember.Size([2, 1, 3, 3])
        """
        if getattr(mod, 'padding_mode', 'zeros') != 'zeros':
            raise ValueError(f'{cls.__name__}.from_float: only padding_mode="zeros" is '
                             f'supported, got {mod.padding_mode!r}')
        q, scale, zp = cls._qparams_of(mod.weight, weight_observer)
        out = cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride, mod.padding,
                  mod.dilation, mod.groups, mod.bias is not None, dtype, reduce_range, relu)
        out._setup(q, scale, zp, mod.bias, input_qparams, output_qparams, dtype, reduce_range,
                   relu)
        return out

    def forward(self, x):
        where = f'QuantizedConv2d(in_channels={self.in_channels})'
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != self.in_channels:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f'{where}: expected an input of shape (N, {self.in_channels}, H, '
                             f'W), got {shape}')
        self._check_input(x, where)
        return _QuantizedCall.apply(x, layer=self)

    def _integer_forward(self, x):
        with no_grad():
            k = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
            acc_dtype = _exact_dtype(k)
            xi = self._quantize_input(x, 'QuantizedConv2d', acc_dtype)
            acc = F.conv2d(xi, self._weight_as(acc_dtype), None, self.stride, self.padding,
                           self.dilation, self.groups)
            return self._requantize(acc, (1, -1, 1, 1))

    def extra_repr(self):
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride={self.stride}, ' + self._extra())


def choose_qparams_dynamic(lo, hi, reduce_range=True):
    """fbgemm's ``ChooseQuantizationParams`` for a quint8 activation of range lo..hi (torch's
    dynamic quantization): the range widened to hold 0, tiny scales raised to 6.1e-5, the
    zero point from the end with the smaller rounding error."""
    qmin, qmax = (0, 127) if reduce_range else (0, 255)
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / (qmax - qmin)
    if np.float32(scale) == 0 or np.isinf(np.float32(1) / np.float32(scale)):
        scale = 0.1
    if scale < 6.1e-5:
        if lo == 0.0:
            hi = 6.1e-5 * (qmax - qmin)
        elif hi == 0.0:
            lo = -6.1e-5 * (qmax - qmin)
        else:
            lo, hi = lo * 6.1e-5 / scale, hi * 6.1e-5 / scale
        scale = 6.1e-5
    from_min, from_max = qmin - lo / scale, qmax - hi / scale
    err_min, err_max = abs(qmin) - abs(lo / scale), abs(qmax) - abs(hi / scale)
    zp = from_min if err_min < err_max else from_max
    zp = qmin if zp < qmin else qmax if zp > qmax else int(np.round(zp))
    return float(np.float32(scale)), zp


class DynamicQuantizedLinear(Module):
    """A dynamically quantized linear layer (torch's ``torch.ao.nn.quantized.dynamic.Linear``):
    int8 weights per output channel, and each call's input quantized to quint8 from its own
    range (0..127 with ``reduce_range``, torch's fbgemm default); integer products, float
    bias, float output. Same buffers as ``QuantizedLinear`` less the activation qparams.

    >>> lin = ember.nn.Linear(3, 2)
    >>> q = quantization.DynamicQuantizedLinear.from_float(lin)
    >>> x = ember.randn(4, 3)
    >>> bool((q(x) - lin(x)).abs().max() < 0.05)
    True
    """

    def __init__(self, in_features, out_features, bias=True, reduce_range=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.reduce_range, self.weight_axis = bool(reduce_range), 0
        self.register_buffer('weight', tensor(np.zeros((out_features, in_features), np.int8)))
        self.register_buffer('weight_scale', tensor(np.ones(out_features, np.float32)))
        self.register_buffer('weight_zero_point', tensor(np.zeros(out_features, np.int8)))
        self.register_buffer('bias', tensor(np.zeros(out_features, np.float32)) if bias
                             else None)

    @classmethod
    def from_float(cls, mod, weight_observer=None, reduce_range=True):
        """Quantize an ``nn.Linear``'s weight (per-channel symmetric qint8 unless
        ``weight_observer`` says otherwise).

        >>> quantization.DynamicQuantizedLinear.from_float(ember.nn.Linear(4, 2)).weight.dtype
        ember.int8
        """
        q, scale, zp = _Quantized._qparams_of(mod.weight, weight_observer)
        out = cls(mod.in_features, mod.out_features, mod.bias is not None, reduce_range)
        out.weight, out.weight_scale = q, tensor(_np(scale).astype(np.float32))
        out.weight_zero_point = tensor(_np(zp).astype(np.int8))
        if out.weight_scale.ndim == 0:   # a per-tensor weight observer
            out.weight_scale = out.weight_scale.expand(out.out_features).contiguous()
            out.weight_zero_point = out.weight_zero_point.expand(out.out_features).contiguous()
        if mod.bias is not None:
            out.bias = tensor(_np(mod.bias).astype(np.float32))
        return out

    def forward(self, x):
        if not isinstance(x, Tensor) or not x.dtype.is_floating_point or x.ndim == 0 \
                or x.shape[-1] != self.in_features:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f'DynamicQuantizedLinear(in_features={self.in_features}): expected '
                             f'a float input of shape (*, {self.in_features}), got {shape}')
        with no_grad():
            a = _np(x)
            scale, zp = choose_qparams_dynamic(a.min(initial=0.0), a.max(initial=0.0),
                                               self.reduce_range)
            qmax = 127 if self.reduce_range else 255
            acc_dtype = _exact_dtype(self.in_features)
            xi = _quantize(x, scale, zp, 0, qmax, acc_dtype)
            w = self.weight.to(dtype=acc_dtype) - self.weight_zero_point.to(
                dtype=acc_dtype).reshape(-1, 1)
            y = (xi @ w.mT)._data.astype(np.float64)
            y *= self.weight_scale._data.astype(np.float64) * scale
            if self.bias is not None:
                y += self.bias._data.astype(np.float64)
            return Tensor._make(y.astype(x.dtype.np))

    def extra_repr(self):
        return (f'in_features={self.in_features}, out_features={self.out_features}, '
                f'dtype=ember.qint8, qscheme=per_channel_symmetric')


class DynamicQuantizedLSTM(LSTM):
    """An LSTM whose weight matrices are stored as int8 per row (gate unit) with float32
    scales: ``weight_ih_l0`` becomes an int8 buffer beside ``weight_ih_l0_scale`` and
    ``weight_ih_l0_zero_point``; biases stay float. The weights are dequantized for each
    call and the recurrence runs in float (torch's dynamic LSTM also quantizes the inputs
    and hidden states per step: ember does not, see docs/differences.md).

    >>> lstm = ember.nn.LSTM(3, 4)
    >>> q = quantization.DynamicQuantizedLSTM.from_float(lstm)
    >>> x = ember.randn(5, 2, 3)
    >>> q.weight_ih_l0.dtype, bool((q(x)[0] - lstm(x)[0]).abs().max() < 0.02)
    (ember.int8, True)
    """

    @classmethod
    def from_float(cls, mod, weight_observer=None):
        """Quantize an ``nn.LSTM``'s weights (per-channel symmetric qint8 unless
        ``weight_observer`` gives another factory).

        >>> quantization.DynamicQuantizedLSTM.from_float(ember.nn.LSTM(2, 3)).weight_hh_l0.shape
        ember.Size([12, 3])
        """
        out = cls(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first,
                  mod.dropout, mod.bidirectional, mod.proj_size)
        for name in mod._flat_weights_names:
            value = getattr(mod, name)
            delattr(out, name)
            if name.startswith('bias'):
                out.register_buffer(name, tensor(_np(value).astype(np.float32)))
                continue
            q, scale, zp = _Quantized._qparams_of(value, weight_observer)
            out.register_buffer(name, q)
            out.register_buffer(name + '_scale', tensor(_np(scale).astype(np.float32)))
            out.register_buffer(name + '_zero_point', tensor(_np(zp).astype(np.int8)))
        return out.train(mod.training)

    def _weights(self, layer, suffix):
        def get(kind):
            name = f'{kind}_l{layer}{suffix}'
            value = getattr(self, name, None)
            if value is None or kind.startswith('bias'):
                return value
            scale = getattr(self, name + '_scale')
            zp = getattr(self, name + '_zero_point').float()
            if scale.numel() > 1:
                scale, zp = scale.reshape(-1, 1), zp.reshape(-1, 1)
            return (value.float() - zp) * scale
        return (get('weight_ih'), get('weight_hh'), get('bias_ih'), get('bias_hh'),
                get('weight_hr'))
