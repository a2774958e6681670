"""ember.onnx.load: models exported by torch.onnx.export and by ember come in as Modules
that match the exporter's outputs and train; the ONNX op tables' graphs round-trip."""
import io

import numpy as np
import pytest
import torch

import ember
import tests.onnx.test_export_models as models
import tests.onnx.test_export_ops as ops_cases
from bench.workloads import GPT, gpt, lenet
from tests.helpers import DEVICE
from tests.onnx.common import assert_matches, export_bytes

pytestmark = [pytest.mark.skipif(DEVICE != 'cpu', reason='ONNX files load on the CPU'),
              pytest.mark.filterwarnings('ignore::UserWarning'),
              pytest.mark.filterwarnings('ignore::DeprecationWarning')]


def torch_onnx(model, x):
    """``torch.onnx.export``'s file (the TorchScript exporter: dynamo=False, which needs no
    packages beyond onnx) as bytes."""
    f = io.BytesIO()
    torch.onnx.export(model, (x,), f, dynamo=False, input_names=['x'])
    return f.getvalue()


def torch_mlp():
    return torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(),
                               torch.nn.Linear(32, 32), torch.nn.Tanh(),
                               torch.nn.Linear(32, 5))


class TorchCharLSTM(torch.nn.Module):
    """examples/char_lm.py's model, in torch (its logits only)."""

    def __init__(self, vocab=5):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, 8)
        self.lstm = torch.nn.LSTM(8, 16, batch_first=True)
        self.head = torch.nn.Linear(16, vocab)

    def forward(self, x):
        return self.head(self.lstm(self.embed(x))[0]).reshape(-1, 5)


TORCH_MODELS = {'mlp': (torch_mlp, (16, 20)), 'lenet': (lambda: lenet(torch), (8, 1, 28, 28)),
                'char_lstm': (TorchCharLSTM, ('i', 5, (2, 8))),
                'gpt': (lambda: gpt(torch, dict(GPT, vocab=5, d_model=32, seq=8)),
                        ('i', 5, (2, 8)))}


@pytest.mark.parametrize('name', TORCH_MODELS)
def test_torch_export_imports_matches_and_fine_tunes(name):
    make, shape = TORCH_MODELS[name]
    torch.manual_seed(0)
    tmodel = make().eval()
    rng = np.random.default_rng(0)
    x = rng.integers(0, shape[1], shape[2]) if shape[0] == 'i' else \
        rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 5, int(np.prod(x.shape[:2])) if shape[0] == 'i' else shape[0])
    model = ember.onnx.load(io.BytesIO(torch_onnx(tmodel, torch.tensor(x))))
    if name in ('mlp', 'lenet'):   # the same names (torch renames what it rearranges:
        assert sorted(n for n, _ in model.named_parameters()) == \
            sorted(n for n, _ in tmodel.named_parameters())   # LSTM gates, transposed weights)
    # (the GPT's position embedding of arange(T) is folded by torch into a Constant node)
    folded = tmodel.pos.weight.numel() if name == 'gpt' else 0
    assert sum(p.numel() for p in model.parameters()) == \
        sum(p.numel() for p in tmodel.parameters()) - folded
    with torch.no_grad():
        want = tmodel(torch.tensor(x)).numpy()
    got = model(ember.tensor(x))
    # torch's and ember's float32 GEMM and convolutions: the op tables' tolerance
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1.3e-4, atol=1e-5)
    opt = ember.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        logits = model(ember.tensor(x))
        loss = ember.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 ember.tensor(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses
    assert all(p.grad is not None for p in model.parameters())


RNNS = [('GRU', {}), ('GRU', dict(num_layers=2, bidirectional=True, batch_first=True)),
        ('LSTM', dict(bidirectional=True)), ('LSTM', dict(num_layers=2, batch_first=True)),
        ('RNN', {})]


class TorchRNN(torch.nn.Module):
    def __init__(self, kind, kw):
        super().__init__()
        self.rnn = getattr(torch.nn, kind)(4, 6, **kw)

    def forward(self, x):
        y, state = self.rnn(x)
        return (y,) + (state if isinstance(state, tuple) else (state,))


@pytest.mark.parametrize('kind,kw', RNNS, ids=[f'{k}-{i}' for i, (k, _) in enumerate(RNNS)])
def test_torch_rnn_operators_import(kind, kw):
    """torch writes its RNNs as ONNX's LSTM, GRU and RNN operators (load reads the first
    two, unrolled in ember ops; RNN is refused by name)."""
    torch.manual_seed(0)
    tmodel = TorchRNN(kind, kw).eval()
    x = np.random.default_rng(0).standard_normal((5, 3, 4)).astype(np.float32)
    data = torch_onnx(tmodel, torch.tensor(x))
    if kind == 'RNN':
        with pytest.raises(ember.onnx.OnnxError, match='the ONNX operator RNN, which'):
            ember.onnx.load(io.BytesIO(data))
        return
    got = ember.onnx.load(io.BytesIO(data))(ember.tensor(x))
    with torch.no_grad():
        want = tmodel(torch.tensor(x))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.detach().numpy(), w.numpy(), rtol=1.3e-4, atol=1e-5)


@pytest.mark.parametrize('name', models.MODELS)
def test_ember_export_round_trips(name):
    make, spec = models.MODELS[name]
    ember.manual_seed(0)
    model = make().eval()
    x = ember.tensor(models.model_input(spec, 3))
    loaded = ember.onnx.load(io.BytesIO(export_bytes(model, (x,))))
    want = models.first(model(x))
    got = loaded(x)
    got = list(got) if isinstance(got, tuple) else [got]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1.3e-4,
                                   atol=1e-5)
    named = dict(loaded.named_parameters())
    for k, p in model.named_parameters():
        np.testing.assert_array_equal(named[k].detach().numpy(), p.detach().numpy())


@pytest.mark.parametrize('name,factory,specs', [c for c in models.LAYERS
                                                if c[0] not in models.REFUSED],
                         ids=[c[0] for c in models.LAYERS if c[0] not in models.REFUSED])
def test_exported_layers_load_back(name, factory, specs):
    ember.manual_seed(0)
    model = factory(ember.nn).eval()
    args = tuple(ember.tensor(a) for a in models.inputs(specs))
    loaded = ember.onnx.load(io.BytesIO(export_bytes(model, args)))
    want = models.first(model(*args))
    got = loaded(*args)
    got = list(got) if isinstance(got, tuple) else [got]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1.3e-4,
                                   atol=1e-5, err_msg=name)


EXPORTED = [c for c in ops_cases.CASES if ops_cases.refusal(c.values[0]) is None]


@pytest.mark.parametrize('case', EXPORTED)
def test_exported_op_cases_load_back(case):
    """Every op-table case that exports, read back by ember.onnx.load: its graph (the ONNX
    operators ember writes) computes ember's result again, in ember."""
    fn, arrs = ops_cases.exported(case)
    args = tuple(ember.tensor(a) for a in arrs)
    loaded = ember.onnx.load(io.BytesIO(export_bytes(fn, args)))
    got = loaded(*args)
    got = list(got) if isinstance(got, tuple) else [got]
    want = fn(*args)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert_matches(g.detach().numpy(), w, f'{case.name} output {k}')
