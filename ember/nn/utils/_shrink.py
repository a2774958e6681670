"""``prune.remove_channels``: take the output channels a structured pruning zeroed out of
``Conv``/``Linear`` layers for good, and the matching inputs out of the layers that read them.

What reads what is learned from one forward call (``ember.viz.capture``). A layer's output
may reach the next ``Conv``/``Linear`` through ops that keep channels apart: the elementwise
activations, pooling, dropout, a flatten (each channel a block of features), and sums and
products with per-channel parameters (the layer's own bias, a batch norm in eval mode, whose
statistics shrink too). Anything else on the way (a residual sum, a concatenation,
attention) keeps the layer whole. A channel goes only where it reaches every reading layer
as zeros in the example call (a zero channel through a batch norm may become a constant), so
the smaller model computes the same function.
"""
import numpy as np

from ..._tensor import Tensor
from ...autograd import no_grad
from ..module import Parameter

# ops that act on each channel alone (ember's op names, as backward names them)
_PER_CHANNEL = {'piecewiselinear', 'relu', 'sigmoid', 'tanh', 'gelu', 'silu', 'elu',
                'leakyrelu', 'maxpool', 'avgpool', 'pool', 'dropout', 'identity', 'clone'}
_RESHAPE = {'reshape', 'view', 'flatten'}
_ARITH = {'add', 'sub', 'mul', 'div'}
_CONSTANT_OPS = _ARITH | {'reshape', 'powscalar', 'sqrt', 'rsqrt', 'neg', 'addscalar',
                          'mulscalar'}
_LAYERS = ('Conv1d', 'Conv2d', 'Conv3d', 'Linear')


def _dead_outputs(layer):
    """Output channels whose weights are all zero."""
    w = layer.weight._data
    return np.flatnonzero(~w.reshape(w.shape[0], -1).any(axis=1))


def remove_channels(model, *example_inputs):
    """Remove the output channels of ``model``'s ``Conv``/``Linear`` layers whose weights are
    all zero and which reach the next layers as zeros (prune the bias of the same channels
    too: ``custom_from_mask(layer, 'bias', ...)``), and the inputs that read them; learned from
    one call ``model(*example_inputs)`` (in ``eval()`` mode for batch norms). The model
    computes the same function; returns ``{layer name: channels removed}``. Layers with a
    pruning parametrization still on are refused: ``prune.remove`` them first.

    >>> from ember import nn
    >>> m = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    >>> with ember.no_grad():
    ...     m[0].weight[:3] = 0; m[0].bias[:3] = 0
    >>> x = ember.randn(5, 4); before = m(x)
    >>> prune.remove_channels(m, x), m[0].out_features, m[2].in_features
    ({'0': 3}, 3, 3)
    >>> bool(ember.allclose(m(x), before, atol=1e-6))
    True
    """
    from ...viz import capture
    from .prune import is_pruned
    if is_pruned(model):
        raise ValueError('remove_channels: the model still has pruning parametrizations; '
                         'call prune.remove(module, name) on each first')
    modules = dict(model.named_modules())
    layers = {name: m for name, m in modules.items() if type(m).__name__ in _LAYERS}
    owner = {(f'{name}.weight' if name else 'weight'): name for name in layers}
    records = capture(model, *example_inputs, keep_outputs=True)
    op_layer = {k: owner[ref] for k, r in enumerate(records) for kind, ref in r.inputs
                if kind == 'param' and ref in owner}
    removed = {}
    with no_grad():
        for k, name in op_layer.items():
            layer = layers[name]
            n = layer.weight.shape[0]
            dead = _dead_outputs(layer)
            if not len(dead) or len(dead) == n:
                continue
            found = _follow(records, k, op_layer, n)
            if found is None:
                continue
            readers, params = found
            for j, block in readers:      # only channels that arrive as zeros
                x = records[records[j].inputs[0][1]].output
                x = x.reshape(x.shape[0], n, -1) if block > 1 else x.reshape(
                    x.shape[0], n, -1)
                dead = dead[~x[:, dead].any(axis=(0, 2))]
            if not len(dead):
                continue
            keep = np.setdiff1d(np.arange(n), dead)
            _take(layer, keep, out=True)
            for j, block in readers:
                cols = (keep[:, None] * block + np.arange(block)).reshape(-1)
                _take(layers[op_layer[j]], cols, out=False)
            for ref in params:
                _take_vector(modules, ref, keep)
            removed[name] = int(len(dead))
    return removed


def _channel_constant(records, j, n, seen=()):
    """The parameters (dotted names) that op ``j``'s value comes from when it is made of
    1-D parameters of length ``n`` only (reshaped, combined by arithmetic): a per-channel
    constant; None otherwise."""
    r = records[j]
    if r.op not in _CONSTANT_OPS:
        return None
    params = []
    for kind, ref in r.inputs:
        if kind == 'param':
            if r.op != 'reshape' or int(np.prod(r.shape)) != n:
                return None
            params.append(ref)
        elif kind == 'op':
            inner = _channel_constant(records, ref, n)
            if inner is None:
                return None
            params += inner
        elif kind != 'const':
            return None
    return params


def _follow(records, start, op_layer, n):
    """Where op ``start``'s result goes: ([(reading layer's op, features per channel)],
    [per-channel parameters on the way]), or None where it also goes anywhere else."""
    readers, params, stack, seen = [], [], [(start, 1)], set()
    while stack:
        k, block = stack.pop()
        for j, r in enumerate(records):
            if j in seen or ('op', k) not in r.inputs:
                continue
            seen.add(j)
            if j in op_layer:
                if r.inputs[0] != ('op', k) or ('op', k) in r.inputs[1:]:
                    return None
                readers.append((j, block))
            elif r.op in _PER_CHANNEL and len(r.inputs) == 1:
                stack.append((j, block))
            elif r.op in _ARITH and len(r.inputs) == 2 and r.inputs[0] == ('op', k) and \
                    r.inputs[1][0] == 'op':
                constant = _channel_constant(records, r.inputs[1][1], n)
                if constant is None:
                    return None
                params += constant
                stack.append((j, block))
            elif r.op in _RESHAPE and len(r.shape) == 2 and r.shape[1] % n == 0 and block == 1:
                stack.append((j, r.shape[1] // n))
            else:
                return None
    return readers, params


def _take(layer, idx, out):
    """Keep rows (``out``, and the bias's) or input columns ``idx`` of a layer's weight."""
    w = layer.weight._data
    layer.weight = Parameter(Tensor._make(np.ascontiguousarray(
        w[idx] if out else w[:, idx])))
    if out and getattr(layer, 'bias', None) is not None:
        layer.bias = Parameter(Tensor._make(np.ascontiguousarray(layer.bias._data[idx])))
    if type(layer).__name__ == 'Linear':
        layer.out_features, layer.in_features = layer.weight.shape
    else:
        layer.out_channels = layer.weight.shape[0]
        layer.in_channels = layer.weight.shape[1] * getattr(layer, 'groups', 1)


def _take_vector(modules, ref, keep):
    """Keep entries ``keep`` of the 1-D parameter or buffer named ``ref`` (a layer's own bias
    is done already; a batch norm's ``num_features`` follows)."""
    path, _, attr = ref.rpartition('.')
    module = modules[path]
    value = getattr(module, attr)
    if value.shape[0] == len(keep):
        return
    new = Tensor._make(np.ascontiguousarray(value._data[keep]))
    setattr(module, attr, Parameter(new) if isinstance(value, Parameter) else new)
    if hasattr(module, 'num_features'):
        module.num_features = len(keep)
