"""The eager-mode flows, with torch's names: ``prepare`` (observers in), calibrate,
``convert`` (quantized layers in); ``prepare_qat`` (fake quantization in), train, ``convert``;
``quantize_dynamic``.

Unlike torch, the model needs no ``QuantStub``/``DeQuantStub`` edits: ``prepare`` finds each
``nn.Linear`` and ``nn.Conv2d`` and observes its input (a forward pre-hook) and its output (a
forward hook), the output after the ``nn.ReLU`` that follows it in an ``nn.Sequential`` when
there is one (the ReLU is then fused into the quantized layer). Every other layer (pooling,
flatten, ...) stays float and sees dequantized values, as in an ONNX QDQ graph.

>>> model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
>>> prepared = quantization.prepare(model)
>>> _ = prepared(ember.randn(16, 4))             # calibration
>>> q = quantization.convert(prepared)
>>> [type(m).__name__ for m in q]
['QuantizedLinear', 'ReLU', 'QuantizedLinear']
"""
import copy

from .._tensor import Tensor
from ..autograd import no_grad
from ..nn import functional as F
from ..nn.container import Sequential
from ..nn.conv import Conv2d
from ..nn.layers import ReLU
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.rnn import LSTM
from .fake_quantize import QConfig, default_dynamic_qconfig, get_default_qat_qconfig, \
    get_default_qconfig
from .modules import DynamicQuantizedLinear, DynamicQuantizedLSTM, QuantizedConv2d, \
    QuantizedLinear
from .observer import as_qdtype

__all__ = ['prepare', 'prepare_qat', 'convert', 'quantize_dynamic', 'QATLinear', 'QATConv2d']


class QATLinear(Linear):
    """``nn.Linear`` whose weight passes through ``weight_fake_quant`` in forward
    (torch's ``torch.ao.nn.qat.Linear``); ``prepare_qat`` puts it in, ``convert`` takes it out.

    >>> qat = quantization.QATLinear.from_float(ember.nn.Linear(3, 2),
    ...                                         quantization.get_default_qat_qconfig())
    >>> qat(ember.ones(1, 3)).shape
    ember.Size([1, 2])
    """

    @classmethod
    def from_float(cls, mod, qconfig):
        """A QAT copy of an ``nn.Linear`` sharing its parameters.

        >>> quantization.QATLinear.from_float(ember.nn.Linear(3, 2),
        ...     quantization.get_default_qat_qconfig()).weight_fake_quant.qscheme
        'per_channel_symmetric'
        """
        out = cls.__new__(cls)
        Module.__init__(out)
        out.in_features, out.out_features = mod.in_features, mod.out_features
        out.weight, out.bias = mod.weight, mod.bias
        out.weight_fake_quant = qconfig.weight()
        return out.train(mod.training)

    def forward(self, x):
        return F.linear(x, self.weight_fake_quant(self.weight), self.bias)


class QATConv2d(Conv2d):
    """``nn.Conv2d`` with a fake-quantized weight (torch's ``torch.ao.nn.qat.Conv2d``).

    >>> qat = quantization.QATConv2d.from_float(ember.nn.Conv2d(1, 2, 3),
    ...                                         quantization.get_default_qat_qconfig())
    >>> qat(ember.ones(1, 1, 5, 5)).shape
    ember.Size([1, 2, 3, 3])
    """

    @classmethod
    def from_float(cls, mod, qconfig):
        """A QAT copy of an ``nn.Conv2d`` sharing its parameters.

        >>> quantization.QATConv2d.from_float(ember.nn.Conv2d(1, 2, 3),
        ...     quantization.get_default_qat_qconfig()).kernel_size
        (3, 3)
        """
        out = cls.__new__(cls)
        Module.__init__(out)
        out.__dict__.update({k: v for k, v in mod.__dict__.items()
                             if k not in ('_buffers', '_non_persistent', '_forward_pre_hooks',
                                          '_forward_hooks', '_backward_hooks', 'training')})
        out.weight_fake_quant = qconfig.weight()
        return out.train(mod.training)

    def forward(self, input):
        self._check_input(input)
        if self.padding_mode != 'zeros':
            raise ValueError(f'QATConv2d: only padding_mode="zeros" is supported, got '
                             f'{self.padding_mode!r}')
        return F.conv2d(input, self.weight_fake_quant(self.weight), self.bias, self.stride,
                        self.padding, self.dilation, self.groups)


def _targets(model, kinds):
    """(parent, name, module, the ReLU after it or None) for each layer of ``kinds``."""
    out = []
    for _, parent in model.named_modules():
        children = list(parent._child_items())
        for i, (name, child) in enumerate(children):
            if type(child) in kinds:
                nxt = children[i + 1][1] if i + 1 < len(children) else None
                relu = nxt if isinstance(parent, Sequential) and type(nxt) is ReLU else None
                out.append((parent, name, child, relu))
    return out


def _check_model(model, where):
    if not isinstance(model, Module):
        raise TypeError(f'{where}: expected an ember.nn.Module, got {type(model).__name__}')


def _pre_hook(mod, args):
    if args and isinstance(args[0], Tensor):
        return (mod.input_observer(args[0]),) + tuple(args[1:])
    return None


def _post_hook(mod, args, out):
    return mod.activation_post_process(out)


def _attach(mod, relu, qconfig):
    """Observers (or fake quantizers) on the input of ``mod`` and on the output of ``mod``,
    or of the ReLU after it (which then owns that observer)."""
    owner = relu if relu is not None else mod
    mod.qconfig = qconfig
    mod.input_observer = qconfig.activation()
    owner.activation_post_process = qconfig.activation()
    mod._quant_handles = (mod.register_forward_pre_hook(_pre_hook),
                          owner.register_forward_hook(_post_hook))


def _prepare(model, qconfig, inplace, where, swap):
    _check_model(model, where)
    if not isinstance(qconfig, QConfig):
        raise TypeError(f'{where}: qconfig should be a QConfig, got {type(qconfig).__name__}')
    if not inplace:
        model = copy.deepcopy(model)
    targets = _targets(model, (Linear, Conv2d))
    if not targets:
        raise ValueError(f'{where}: found no nn.Linear or nn.Conv2d to quantize in '
                         f'{type(model).__name__} (its layers: '
                         f'{sorted({type(m).__name__ for m in model.modules()})})')
    for parent, name, mod, relu in targets:
        if swap:
            mod = (QATLinear if type(mod) is Linear else QATConv2d).from_float(mod, qconfig)
            setattr(parent, name, mod)
        _attach(mod, relu, qconfig)
    return model


def prepare(model, qconfig=None, inplace=False):
    """Put observers on the inputs and outputs of the model's ``nn.Linear`` and ``nn.Conv2d``
    layers (a copy of the model unless ``inplace``) for post-training static quantization;
    run calibration batches through the result, then ``convert`` it. ``qconfig`` defaults to
    ``get_default_qconfig('x86')`` (torch puts the qconfig on ``model.qconfig`` instead).

    >>> p = quantization.prepare(ember.nn.Sequential(ember.nn.Linear(2, 2)))
    >>> type(p[0].input_observer).__name__
    'HistogramObserver'
    """
    return _prepare(model, get_default_qconfig() if qconfig is None else qconfig, inplace,
                    'prepare', swap=False)


def prepare_qat(model, qconfig=None, inplace=False):
    """Quantization-aware training: swap ``nn.Linear``/``nn.Conv2d`` for ``QATLinear``/
    ``QATConv2d`` (fake-quantized weights) and fake-quantize their inputs and outputs; train
    (gradients pass by the straight-through estimator), then ``convert``. ``qconfig``
    defaults to ``get_default_qat_qconfig('x86')``.

    >>> model = ember.nn.Sequential(ember.nn.Linear(2, 2))
    >>> type(quantization.prepare_qat(model)[0]).__name__
    'QATLinear'
    """
    return _prepare(model, get_default_qat_qconfig() if qconfig is None else qconfig, inplace,
                    'prepare_qat', swap=True)


def _qparams(obs, where, what):
    try:
        scale, zp = obs.calculate_qparams()
    except RuntimeError as e:
        raise RuntimeError(f'convert: the {what} observer of layer {where!r} has no '
                           f'statistics ({e}); run calibration batches through the prepared '
                           f'model before convert') from None
    return scale, zp


def convert(model, inplace=False):
    """Replace each prepared layer by its quantized form (``QuantizedLinear``,
    ``QuantizedConv2d``) with the qparams its observers found; the model is then for
    inference. Works on ``prepare``'s and ``prepare_qat``'s models.

    >>> p = quantization.prepare(ember.nn.Sequential(ember.nn.Conv2d(1, 2, 3)))
    >>> _ = p(ember.rand(2, 1, 6, 6))
    >>> quantization.convert(p)[0].weight.dtype
    ember.int8
    """
    _check_model(model, 'convert')
    found = [(n, m) for n, m in model.named_modules() if hasattr(m, '_quant_handles')]
    if not found:
        raise RuntimeError(f'convert: {type(model).__name__} has no prepared layers; call '
                           f'ember.quantization.prepare (or prepare_qat) on it and calibrate '
                           f'(or train) first')
    if not inplace:
        model = copy.deepcopy(model)
    for parent, name, mod, relu in _targets(model, (Linear, Conv2d, QATLinear, QATConv2d)):
        if not hasattr(mod, '_quant_handles'):
            continue
        owner = relu if relu is not None and hasattr(relu, 'activation_post_process') else mod
        path = next(n for n, m in model.named_modules() if m is mod)
        act = owner.activation_post_process
        in_q = _qparams(mod.input_observer, path, 'input')
        out_q = _qparams(act, path, 'output')
        obs = getattr(mod, 'weight_fake_quant', None)
        if obs is None:
            obs = mod.qconfig.weight()
        elif hasattr(obs, 'activation_post_process'):
            obs = obs.activation_post_process
        kind = QuantizedLinear if isinstance(mod, Linear) else QuantizedConv2d
        q = kind.from_float(mod, in_q, out_q, weight_observer=lambda o=obs: o, dtype=act.dtype,
                            relu=owner is relu)
        q.quant_min, q.quant_max = act.quant_min, act.quant_max
        for h in mod._quant_handles:
            h.remove()
        if owner is relu:
            del relu.activation_post_process
        setattr(parent, name, q)
    return model.eval()


def quantize_dynamic(model, qconfig_spec=None, dtype='qint8', inplace=False):
    """Dynamic quantization: the weights of the given layer types (``{nn.Linear,
    nn.LSTM}`` by default) stored as int8 per output channel; a ``DynamicQuantizedLinear``
    quantizes its input on each call, a ``DynamicQuantizedLSTM`` dequantizes its weights
    (torch's default weight quantization is per tensor: ember's is per channel).

    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 4), ember.nn.ReLU())
    >>> q = quantization.quantize_dynamic(model, {ember.nn.Linear}, dtype=ember.qint8)
    >>> type(q[0]).__name__
    'DynamicQuantizedLinear'
    """
    _check_model(model, 'quantize_dynamic')
    if as_qdtype(dtype, 'quantize_dynamic') is not as_qdtype('qint8', ''):
        raise ValueError(f'quantize_dynamic: only dtype=ember.qint8 is supported, got {dtype}')
    spec = {Linear: default_dynamic_qconfig, LSTM: default_dynamic_qconfig}
    if qconfig_spec is not None:
        items = qconfig_spec.items() if isinstance(qconfig_spec, dict) \
            else ((k, default_dynamic_qconfig) for k in qconfig_spec)
        spec = {}
        for kind, qconfig in items:
            if kind not in (Linear, LSTM):
                raise ValueError(f'quantize_dynamic: can quantize nn.Linear and nn.LSTM, not '
                                 f'{getattr(kind, "__name__", kind)!r}')
            spec[kind] = qconfig
    if not inplace:
        model = copy.deepcopy(model)
    targets = _targets(model, tuple(spec))
    if not targets:
        raise ValueError(f'quantize_dynamic: found no {sorted(k.__name__ for k in spec)} in '
                         f'{type(model).__name__}')
    with no_grad():
        for parent, name, mod, _ in targets:
            qconfig = spec[type(mod)]
            kind = DynamicQuantizedLinear if type(mod) is Linear else DynamicQuantizedLSTM
            setattr(parent, name, kind.from_float(mod, weight_observer=qconfig.weight))
    return model
