"""ember.nn's layers and the example models exported and run in ONNX Runtime, against ember
in eval mode; and what export refuses, with its message."""
import io

import numpy as np
import pytest

import ember
import tests.nn.test_layers as layers
import tests.nn.test_layers_extra as layers_extra
from bench.workloads import GPT, gpt, lenet
from ember import nn
from tests.helpers import DEVICE
from tests.onnx.common import assert_matches, export_bytes, onnx, run_ort

pytestmark = [pytest.mark.skipif(DEVICE != 'cpu', reason='export runs on CPU tensors'),
              pytest.mark.filterwarnings('ignore::UserWarning')]

RNN = [(f'{kind}-{i}', kind, kw, case) for kind, kw in (('RNN', {}), ('LSTM', {}), ('GRU', {}))
       for i, case in enumerate([dict(num_layers=1), dict(num_layers=2, bidirectional=True,
                                                          batch_first=True)])]


def _rnn(kind, kw, case):
    def make(m):
        return getattr(m, kind)(4, 5, **kw, **case)
    shape = (2, 3, 4)
    return make, [shape]


MORE = [(name, *_rnn(kind, kw, case)) for name, kind, kw, case in RNN] + [
    ('mha', lambda m: m.MultiheadAttention(8, 2, batch_first=True), [(2, 5, 8)] * 3),
    ('transformer_encoder_layer', lambda m: m.TransformerEncoderLayer(
        8, 2, dim_feedforward=16, batch_first=True), [(2, 5, 8)]),
    ('dropout', lambda m: m.Dropout(0.5), [(3, 4)]),
]
# what a layer cannot export, and why (each asserted)
HOST = 'computed from the inputs outside'
REFUSED = {
    'embedding_max_norm': 'index assignment',       # renormalises weight rows in place
    'adaptive_maxpool1d': 'op PlaneGather .*' + HOST,   # the windows' argmax, on the host
    'adaptive_maxpool2d': 'op PlaneGather .*' + HOST,
    'embedding_bag': 'op GetItem .*' + HOST,        # the bags' offsets, on the host
    'embedding_bag_max': 'op GetItem .*' + HOST, 'embedding_bag_sum_norm': 'index assignment',
}
LAYERS = layers.CASES + layers_extra.LAYERS + MORE


def inputs(specs, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, s[1], s[2]) if s[0] == 'i'
            else rng.uniform(-2, 2, s).astype(np.float32) for s in specs]


def first(out):
    """The tensors of a layer's result, flat (an RNN's output and state)."""
    if isinstance(out, ember.Tensor):
        return [out]
    return [t for o in out if o is not None for t in first(o)]


@pytest.mark.parametrize('name,factory,specs', LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_exports(name, factory, specs):
    ember.manual_seed(0)
    model = factory(nn).eval()
    arrs = inputs(specs)
    args = tuple(ember.tensor(a) for a in arrs)
    if name in REFUSED:
        with pytest.raises(ember.onnx.ExportError, match=REFUSED[name]):
            export_bytes(model, args)
        return
    got = run_ort(export_bytes(model, args), arrs)
    want = first(model(*args))
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert_matches(g, w, f'{name} output {k}')


class CharLSTM(nn.Module):
    """examples/char_lm.py's model."""

    def __init__(self, vocab_size=65, embed_size=32, hidden_size=128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state


def mlp():
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


MODELS = {'mlp': (mlp, (784,)), 'lenet': (lambda: lenet(ember), (1, 28, 28)),
          'char_lstm': (CharLSTM, ('i', 65, 16)),
          'gpt': (lambda: gpt(ember), ('i', GPT['vocab'], 16))}


def model_input(spec, batch, seed=0):
    rng = np.random.default_rng(seed)
    if spec[0] == 'i':
        return rng.integers(0, spec[1], (batch, spec[2]))
    return rng.standard_normal((batch,) + spec).astype(np.float32)


@pytest.mark.parametrize('name', MODELS)
def test_model_exports_and_matches(name):
    make, spec = MODELS[name]
    ember.manual_seed(0)
    model = make().eval()
    x = model_input(spec, 4)
    got = run_ort(export_bytes(model, (ember.tensor(x),)), [x])
    want = first(model(ember.tensor(x)))
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert_matches(g, w, f'{name} output {k}')


def lstm_state(batch, seed=0):
    """An initial (h, c) for CharLSTM: given, not made inside the model, so the batch axis
    of the state is an input's (zeros made inside would be constants of the traced shape)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((1, batch, 128)).astype(np.float32) for _ in range(2)]


@pytest.mark.parametrize('name', ['mlp', 'lenet', 'char_lstm'])
def test_dynamic_batch_axis(name):
    make, spec = MODELS[name]
    ember.manual_seed(0)
    model = make().eval()

    def args(batch, seed):
        arrs = [model_input(spec, batch, seed)] + (
            lstm_state(batch, seed) if name == 'char_lstm' else [])
        ts = [ember.tensor(a) for a in arrs]
        return arrs, (ts[0], tuple(ts[1:])) if name == 'char_lstm' else (ts[0],)
    arrs, traced = args(2, 0)
    n_in, n_out = len(arrs), len(first(model(*traced)))
    ins, outs = [f'in{i}' for i in range(n_in)], [f'out{i}' for i in range(n_out)]
    axes = {n: {0 if i == 0 else 1: 'batch'} for names in (ins, outs)
            for i, n in enumerate(names)}
    data = export_bytes(model, traced, input_names=ins, output_names=outs, dynamic_axes=axes)
    graph = onnx.load_from_string(data).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    arrs, other = args(5, 1)   # another batch size than the traced one
    for k, (g, w) in enumerate(zip(run_ort(data, arrs), first(model(*other)))):
        assert_matches(g, w, f'{name} output {k} at batch 5')


def test_export_to_a_path_names_and_initializers(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh()).eval()
    path = tmp_path / 'm.onnx'
    ember.onnx.export(model, ember.randn(2, 3), str(path), input_names=['x'],
                      output_names=['y'], opset_version=17)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 17
    assert [i.name for i in proto.graph.input] == ['x']
    assert [o.name for o in proto.graph.output] == ['y']
    assert {i.name for i in proto.graph.initializer} >= {
        '0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var'}
    assert model.training is False
    model.train()
    ember.onnx.export(model, ember.randn(2, 3), io.BytesIO())
    assert model.training is True   # exported in eval mode, then put back


class Twice(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


def branchy(x):
    return x * 2 if bool(x[0] > 0) else x - 1


REFUSALS = [
    (lambda x: Twice.apply(x), 'custom autograd Function Twice'),
    (branchy, 'runs other ops for other input values'),
    (lambda x: 3, 'returned int, no tensors'),
]


@pytest.mark.parametrize('fn,message', REFUSALS, ids=['function', 'control_flow', 'no_tensor'])
def test_export_refuses_with_a_message(fn, message):
    x = ember.tensor([3.0, -1.0, -2.0, -4.0, -5.0, -6.0])
    with pytest.raises(ember.onnx.ExportError, match=message):
        ember.onnx.export(fn, (x,), io.BytesIO())


@pytest.mark.parametrize('kw,message', [
    (dict(opset_version=16), 'opset_version 16 is not supported'),
    (dict(training='TrainingMode.TRAINING'), 'training=TrainingMode.TRAINING'),
    (dict(input_names=[1]), 'input_names must be strings'),
    (dict(output_names=['a', 'b']), '2 output_names for 1 outputs'),
    (dict(dynamic_axes={'z': [0]}), "dynamic_axes names 'z'"),
    (dict(dynamic_axes={'input_0': [2]}), 'names axis 2 of a 2-d value'),
])
def test_export_arguments_checked(kw, message):
    with pytest.raises(ember.onnx.ExportError, match=message):
        ember.onnx.export(nn.Linear(3, 2), ember.ones(1, 3), io.BytesIO(), **kw)


def test_export_params_false_and_initializers_as_inputs():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh()).eval()
    x = np.ones((2, 3), np.float32)
    bare = onnx.load_from_string(export_bytes(model, ember.tensor(x), export_params=False))
    assert [i.name for i in bare.graph.input] == ['input_0', '0.weight', '0.bias']
    assert all(not i.name.startswith('0.') for i in bare.graph.initializer)
    weights = [p.detach().numpy() for p in model.parameters()]
    got = run_ort(bare.SerializeToString(), [x] + weights)[0]
    assert_matches(got, model(ember.tensor(x)), 'export_params=False')
    kept = onnx.load_from_string(export_bytes(model, ember.tensor(x),
                                              keep_initializers_as_inputs=True))
    assert [i.name for i in kept.graph.input] == ['input_0', '0.weight', '0.bias']
    assert {'0.weight', '0.bias'} <= {i.name for i in kept.graph.initializer}


@pytest.mark.parametrize('kw', [dict(dynamo=True), dict(operator_export_type='ONNX_ATEN'),
                                dict(custom_opsets={'x': 1}),
                                dict(export_modules_as_functions=True)])
def test_torch_only_arguments_refused(kw):
    with pytest.raises(ember.onnx.ExportError, match=f'{next(iter(kw))}=.* is not supported'):
        ember.onnx.export(nn.Linear(3, 2), ember.ones(1, 3), io.BytesIO(), **kw)
