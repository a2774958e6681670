"""ember.onnx.load: models exported by torch.onnx.export and by ember come in as Modules
that match the exporter's outputs and train; the ONNX op tables' graphs round-trip."""
import io

import numpy as np
import pytest
import torch

import ember
import tests.onnx.test_export_models as models
import tests.onnx.test_export_ops as ops_cases
from bench.workloads import lenet
from tests.helpers import DEVICE
from tests.onnx.common import assert_matches, export_bytes

pytestmark = [pytest.mark.skipif(DEVICE != 'cpu', reason='ONNX files load on the CPU'),
              pytest.mark.filterwarnings('ignore::UserWarning'),
              pytest.mark.filterwarnings('ignore::DeprecationWarning')]


def torch_onnx(model, x):
    """``torch.onnx.export``'s file (the TorchScript exporter: dynamo=False, which needs no
    packages beyond onnx) as bytes."""
    f = io.BytesIO()
    torch.onnx.export(model, (x,), f, dynamo=False, input_names=['x'], output_names=['y'])
    return f.getvalue()


def torch_mlp():
    return torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(),
                               torch.nn.Linear(32, 32), torch.nn.Tanh(),
                               torch.nn.Linear(32, 5))


TORCH_MODELS = {'mlp': (torch_mlp, (16, 20)), 'lenet': (lambda: lenet(torch), (8, 1, 28, 28))}


@pytest.mark.parametrize('name', TORCH_MODELS)
def test_torch_export_imports_matches_and_fine_tunes(name):
    make, shape = TORCH_MODELS[name]
    torch.manual_seed(0)
    tmodel = make().eval()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 5, shape[0])
    model = ember.onnx.load(io.BytesIO(torch_onnx(tmodel, torch.tensor(x))))
    assert sorted(n for n, _ in model.named_parameters()) == \
        sorted(n for n, _ in tmodel.named_parameters())
    with torch.no_grad():
        want = tmodel(torch.tensor(x)).numpy()
    got = model(ember.tensor(x))
    # torch's and ember's float32 GEMM and convolutions: the op tables' tolerance
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1.3e-4, atol=1e-5)
    opt = ember.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ember.nn.functional.cross_entropy(model(ember.tensor(x)), ember.tensor(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses
    assert all(p.grad is not None for p in model.parameters())


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


EXPORTED = [c for c in ops_cases.CASES if c.values[0].name not in ops_cases.REFUSED]


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
