"""Fake quantization (quantize then dequantize, in float) with the straight-through
estimator, ``FakeQuantize``, and the ``QConfig`` that tells ``prepare`` which observers or fake
quantizers to use (``torch.ao.quantization``'s names).

>>> x = ember.tensor([0.04, 0.26, 9.0], requires_grad=True)
>>> y = ember.fake_quantize_per_tensor_affine(x, 0.1, 0, 0, 255); y
tensor([0.0000, 0.3000, 9.0000], grad_fn=<FakeQuantizeAffineBackward>)
"""
from collections import namedtuple

import numpy as np

from .. import _dtype
from .._tensor import Tensor, tensor
from ..autograd import Function
from ..nn.module import Module
from .observer import (HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver,
                       MovingAveragePerChannelMinMaxObserver, PerChannelMinMaxObserver,
                       PlaceholderObserver, _Factory)

__all__ = ['fake_quantize_per_tensor_affine', 'fake_quantize_per_channel_affine',
           'FakeQuantize', 'QConfig', 'get_default_qconfig', 'get_default_qat_qconfig',
           'default_dynamic_qconfig', 'default_per_channel_weight_observer',
           'default_per_channel_weight_fake_quant']


class FakeQuantizeAffine(Function):
    """``(clamp(round(x / scale) + zp, qmin, qmax) - zp) * scale`` with torch's rounding
    (``x * (1 / scale)`` in float32, half to even); the gradient passes where
    ``round(x / scale) + zp`` is inside ``qmin..qmax`` and is zero outside (the STE)."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, quant_min, quant_max):
        inv = 1.0 / scale if isinstance(scale, Tensor) else float(1 / np.float32(scale))
        q = (x * inv).round() + zero_point
        inside = (q >= quant_min) & (q <= quant_max)
        ctx.save_for_backward(inside)
        return (q.clamp(quant_min, quant_max) - zero_point) * scale

    @staticmethod
    def backward(ctx, g):
        (inside,) = ctx.saved_tensors
        return g * inside.to(dtype=g.dtype), None, None, None, None


def _check_range(where, quant_min, quant_max):
    if not (isinstance(quant_min, int) and isinstance(quant_max, int)) or quant_min > quant_max:
        raise ValueError(f'{where}: expected integers quant_min <= quant_max, got '
                         f'quant_min={quant_min!r}, quant_max={quant_max!r}')


def _as_array(value, dtype, where, what):
    a = value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)
    if a.dtype.kind not in 'iuf':
        raise TypeError(f'{where}: {what} should be a number or a tensor, got {a.dtype}')
    if dtype == np.float32 and np.any(a <= 0):
        raise ValueError(f'{where}: {what} should be positive, got {a.tolist()}')
    return a.astype(dtype)


def fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min, quant_max):
    """Quantize ``input`` with one ``scale`` and ``zero_point`` to ``quant_min..quant_max``
    and dequantize, as ``torch.fake_quantize_per_tensor_affine`` (forward and gradient).

    >>> x = ember.tensor([-2.0, 0.5, 2.0], requires_grad=True)
    >>> ember.fake_quantize_per_tensor_affine(x, 0.25, 4, 0, 10).sum().backward(); x.grad
    tensor([0., 1., 0.])
    """
    where = 'fake_quantize_per_tensor_affine'
    _check_range(where, quant_min, quant_max)
    if not isinstance(input, Tensor) or not input.dtype.is_floating_point:
        raise TypeError(f'{where}: expected a floating-point tensor, got '
                        f'{input.dtype if isinstance(input, Tensor) else type(input).__name__}')
    s, z = _as_array(scale, np.float32, where, 'scale'), _as_array(zero_point, np.int64, where,
                                                                    'zero_point')
    if s.size != 1 or z.size != 1:
        raise ValueError(f'{where}: scale and zero_point should hold one value each, got '
                         f'shapes {s.shape} and {z.shape}')
    return FakeQuantizeAffine.apply(input, float(s.reshape(())), int(z.reshape(())),
                                    quant_min, quant_max)


def fake_quantize_per_channel_affine(input, scale, zero_point, axis, quant_min, quant_max):
    """Fake-quantize each slice of ``input`` along ``axis`` with its own ``scale[c]`` and
    ``zero_point[c]``, as ``torch.fake_quantize_per_channel_affine``.

    >>> w = ember.tensor([[0.3, -0.3], [0.3, 2.0]])
    >>> ember.fake_quantize_per_channel_affine(w, ember.tensor([0.25, 0.5]),
    ...                                        ember.tensor([0, 0]), 0, -2, 2)
    tensor([[ 0.2500, -0.2500],
            [ 0.5000,  1.0000]])
    """
    where = 'fake_quantize_per_channel_affine'
    _check_range(where, quant_min, quant_max)
    if not isinstance(input, Tensor) or not input.dtype.is_floating_point:
        raise TypeError(f'{where}: expected a floating-point tensor, got '
                        f'{input.dtype if isinstance(input, Tensor) else type(input).__name__}')
    if not -input.ndim <= axis < input.ndim:
        raise ValueError(f'{where}: axis={axis} is out of range for an input of shape '
                         f'{tuple(input.shape)}')
    axis = axis % input.ndim
    s, z = _as_array(scale, np.float32, where, 'scale'), _as_array(zero_point, np.int64, where,
                                                                    'zero_point')
    if s.shape != (input.shape[axis],) or z.shape != s.shape:
        raise ValueError(f'{where}: scale and zero_point should have shape '
                         f'({input.shape[axis]},) (input.shape[{axis}]), got {s.shape} and '
                         f'{z.shape}')
    shape = [1] * input.ndim
    shape[axis] = -1
    s = tensor(s.reshape(shape), device=input.device).to(dtype=input.dtype)
    z = tensor(z.reshape(shape), device=input.device).to(dtype=input.dtype)
    return FakeQuantizeAffine.apply(input, s, z, quant_min, quant_max)


class FakeQuantize(Module):
    """Observe, then fake-quantize with the observer's current ``scale`` and ``zero_point``
    (torch's ``FakeQuantize``): the module quantization-aware training puts on weights and
    activations. ``observer`` is an observer class or factory, its arguments the rest;
    ``enable_observer``/``disable_observer`` and ``enable_fake_quant``/``disable_fake_quant``
    switch the two halves (torch's ``fake_quant_enabled``, ``observer_enabled`` buffers).

    >>> fq = quantization.FakeQuantize(quant_min=0, quant_max=255)
    >>> fq(ember.tensor([0.0, 0.3, 1.0])), fq.scale
    (tensor([0.0000, 0.2980, 1.0000]), tensor([0.0039]))
    """

    def __init__(self, observer=MovingAverageMinMaxObserver, quant_min=None, quant_max=None,
                 **observer_kwargs):
        super().__init__()
        self.activation_post_process = observer(quant_min=quant_min, quant_max=quant_max,
                                                **observer_kwargs)
        obs = self.activation_post_process
        self.quant_min, self.quant_max = obs.quant_min, obs.quant_max
        self.dtype, self.qscheme = obs.dtype, obs.qscheme
        self.ch_axis = getattr(obs, 'ch_axis', -1)
        self.is_per_channel = self.qscheme.startswith('per_channel')
        self.register_buffer('scale', tensor([1.0]))
        self.register_buffer('zero_point', tensor([0]))
        self.register_buffer('fake_quant_enabled', tensor([1], dtype=_dtype.uint8))
        self.register_buffer('observer_enabled', tensor([1], dtype=_dtype.uint8))

    @classmethod
    def with_args(cls, **kwargs):
        """A factory making ``FakeQuantize(**kwargs)`` (for ``QConfig``), as torch's.

        >>> quantization.FakeQuantize.with_args(quant_min=0, quant_max=15)().quant_max
        15
        """
        return _Factory(cls, kwargs)

    def enable_fake_quant(self, enabled=True):
        """Fake-quantize in forward (True) or pass through (False); returns self.

        >>> quantization.FakeQuantize().disable_fake_quant().fake_quant_enabled
        tensor([0], dtype=ember.uint8)
        """
        self.fake_quant_enabled = tensor([int(enabled)], dtype=_dtype.uint8)
        return self

    def disable_fake_quant(self):
        """``enable_fake_quant(False)``.

        >>> quantization.FakeQuantize().disable_fake_quant()(ember.tensor([0.123])).item()
        0.123...
        """
        return self.enable_fake_quant(False)

    def enable_observer(self, enabled=True):
        """Update the observer (and so the scale) in forward (True) or freeze it; returns
        self.

        >>> quantization.FakeQuantize().disable_observer().observer_enabled
        tensor([0], dtype=ember.uint8)
        """
        self.observer_enabled = tensor([int(enabled)], dtype=_dtype.uint8)
        return self

    def disable_observer(self):
        """``enable_observer(False)``: freeze the scale and zero point.

        >>> quantization.FakeQuantize().disable_observer().observer_enabled.item()
        0
        """
        return self.enable_observer(False)

    def calculate_qparams(self):
        """The observer's ``(scale, zero_point)``.

        >>> fq = quantization.FakeQuantize(); _ = fq(ember.tensor([0.0, 2.55]))
        >>> fq.calculate_qparams()
        (tensor([0.0100]), tensor([0]))
        """
        return self.activation_post_process.calculate_qparams()

    def forward(self, x):
        if self.observer_enabled.item():
            self.activation_post_process(x.detach())
            self.scale, self.zero_point = self.calculate_qparams()
        if not self.fake_quant_enabled.item():
            return x
        if self.is_per_channel:
            return fake_quantize_per_channel_affine(x, self.scale, self.zero_point,
                                                    self.ch_axis, self.quant_min,
                                                    self.quant_max)
        return fake_quantize_per_tensor_affine(x, self.scale, self.zero_point, self.quant_min,
                                               self.quant_max)

    def extra_repr(self):
        return (f'fake_quant_enabled={self.fake_quant_enabled.item()}, observer_enabled='
                f'{self.observer_enabled.item()}, quant_min={self.quant_min}, quant_max='
                f'{self.quant_max}, dtype={self.dtype}, qscheme={self.qscheme}, ch_axis='
                f'{self.ch_axis}')


class QConfig(namedtuple('QConfig', ['activation', 'weight'])):
    """How to quantize a layer: ``activation`` and ``weight`` are factories (observer or
    ``FakeQuantize`` classes, or their ``with_args(...)``), each call making a fresh one, as
    torch's ``QConfig``.

    >>> qc = quantization.QConfig(activation=quantization.MinMaxObserver,
    ...                           weight=quantization.default_per_channel_weight_observer)
    >>> type(qc.activation()).__name__, qc.weight().qscheme
    ('MinMaxObserver', 'per_channel_symmetric')
    """
    __slots__ = ()

    def __new__(cls, activation, weight):
        for name, f in (('activation', activation), ('weight', weight)):
            if isinstance(f, Module) or not callable(f):
                raise ValueError(f'QConfig: {name} should be an observer class or factory '
                                 f'(e.g. MinMaxObserver.with_args(...)), not an instance of '
                                 f'{type(f).__name__}')
        return super().__new__(cls, activation, weight)


default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(
    dtype=_dtype.int8, qscheme='per_channel_symmetric')
default_per_channel_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=_dtype.int8, qscheme='per_channel_symmetric')
_default_weight_observer = MinMaxObserver.with_args(dtype=_dtype.int8,
                                                    qscheme='per_tensor_symmetric')
_default_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=_dtype.int8,
    qscheme='per_tensor_symmetric')
default_dynamic_qconfig = QConfig(
    activation=PlaceholderObserver.with_args(is_dynamic=True),
    weight=default_per_channel_weight_observer)
_BACKENDS = ('x86', 'fbgemm', 'qnnpack', 'onednn')


def _check_backend(backend, where):
    if backend not in _BACKENDS:
        raise ValueError(f'{where}: backend={backend!r} is not one of {_BACKENDS}')


def get_default_qconfig(backend='x86'):
    """torch's default post-training qconfig for ``backend``: a ``HistogramObserver`` on
    activations (quint8; ``reduce_range`` for x86 and fbgemm) and per-channel symmetric
    qint8 weights (per tensor for qnnpack).

    >>> qc = quantization.get_default_qconfig()
    >>> qc.activation().quant_max, qc.weight().qscheme
    (127, 'per_channel_symmetric')
    """
    _check_backend(backend, 'get_default_qconfig')
    reduce = backend in ('x86', 'fbgemm')
    weight = _default_weight_observer if backend == 'qnnpack' \
        else default_per_channel_weight_observer
    return QConfig(activation=HistogramObserver.with_args(reduce_range=reduce), weight=weight)


def get_default_qat_qconfig(backend='x86'):
    """torch's default quantization-aware-training qconfig: ``FakeQuantize`` over a
    ``MovingAverageMinMaxObserver`` on activations (0..255, halved for x86 and fbgemm) and
    over a per-channel moving-average observer on weights (per tensor for qnnpack).

    >>> qc = quantization.get_default_qat_qconfig()
    >>> qc.activation().quant_max, qc.weight().qscheme
    (127, 'per_channel_symmetric')
    """
    _check_backend(backend, 'get_default_qat_qconfig')
    weight = _default_weight_fake_quant if backend == 'qnnpack' \
        else default_per_channel_weight_fake_quant
    act = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0,
                                 quant_max=255, reduce_range=backend in ('x86', 'fbgemm'))
    return QConfig(activation=act, weight=weight)
