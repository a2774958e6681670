"""Quantization (``torch.ao.quantization``'s names): observers, fake quantization, static
post-training quantization (``prepare``, calibrate, ``convert``), quantization-aware training
(``prepare_qat``, train, ``convert``) and dynamic quantization (``quantize_dynamic``), to
int8 weights and 8-bit activations. See docs/quantization.md.

ember has no quantized tensor: int8 values live in ``int8``/``uint8`` tensors
(``ember.qint8`` is ``ember.int8``, ``ember.quint8`` is ``ember.uint8``), and quantized layers
take and return float tensors.

>>> model = ember.nn.Sequential(ember.nn.Linear(4, 3))
>>> q = quantization.quantize_dynamic(model)
>>> q[0].weight.dtype
ember.int8
"""
from .fake_quantize import (FakeQuantize, QConfig, default_dynamic_qconfig,  # noqa: F401
                            default_per_channel_weight_fake_quant,
                            default_per_channel_weight_observer, fake_quantize_per_channel_affine,
                            fake_quantize_per_tensor_affine, get_default_qat_qconfig,
                            get_default_qconfig)
from .modules import (DynamicQuantizedLinear, DynamicQuantizedLSTM, QuantizedConv2d,  # noqa: F401
                      QuantizedLinear, quantize_weight)
from .observer import (HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver,  # noqa: F401
                       MovingAveragePerChannelMinMaxObserver, ObserverBase,
                       PerChannelMinMaxObserver, PlaceholderObserver)
from .quantize import (QATConv2d, QATLinear, convert, prepare, prepare_qat,  # noqa: F401
                       quantize_dynamic)

__all__ = ['MinMaxObserver', 'MovingAverageMinMaxObserver', 'PerChannelMinMaxObserver',
           'MovingAveragePerChannelMinMaxObserver', 'HistogramObserver', 'PlaceholderObserver',
           'ObserverBase', 'FakeQuantize', 'fake_quantize_per_tensor_affine',
           'fake_quantize_per_channel_affine', 'QConfig', 'get_default_qconfig',
           'get_default_qat_qconfig', 'default_dynamic_qconfig',
           'prepare', 'prepare_qat', 'convert', 'quantize_dynamic', 'QATLinear', 'QATConv2d',
           'QuantizedLinear', 'QuantizedConv2d', 'DynamicQuantizedLinear',
           'DynamicQuantizedLSTM', 'quantize_weight']
