"""ember.compile on 'cuda' end to end: CuPy's stand-in in `make test` (tests/fakecupy.py), a
GPU where there is one. The parts of ember/compiler/gpu.py alone: tests/test_compile_gpu.py."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.compiler import capture

pytestmark = pytest.mark.skipif(not ember.cuda.is_available(),
                                reason="needs 'cuda' (a GPU, or EMBER_FAKE_CUPY=1)")


@pytest.fixture(autouse=True)
def gpu_capture(monkeypatch):
    """CUDA capture is off by default (EMBER_COMPILE_GPU=1 turns it on): on here."""
    monkeypatch.setattr(capture, 'GPU', True)


def test_off_by_default_a_cuda_tensor_is_a_graph_break(monkeypatch):
    monkeypatch.setattr(capture, 'GPU', False)
    compiled = ember.compile(lambda x: x * 2)
    x = ember.ones(3, device='cuda')
    assert compiled(x).cpu().tolist() == [2.0, 2.0, 2.0]
    assert compiled.last.fn is None
    assert 'EMBER_COMPILE_GPU=1' in compiled.last.breaks[0][0]


def build():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(6, 16), ember.nn.GELU(), ember.nn.LayerNorm(16),
                                ember.nn.Linear(16, 3)).to('cuda')
    return model, ember.optim.AdamW(model.parameters(), lr=1e-2)


def test_a_training_step_with_the_backends_kernels_equals_eager():
    """GELU, layer norm, softmax and the NLL loss run ember's own kernels on 'cuda' (each one
    node of the program), AdamW is a host step; losses and weights equal eager's bits."""
    (m1, o1), (m2, o2) = build(), build()

    def step(model, opt, x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    compiled = ember.compile(lambda x, y: step(m2, o2, x, y))
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = ember.tensor(rng.standard_normal((8, 6)).astype(np.float32), device='cuda')
        y = ember.tensor(rng.integers(0, 3, 8), device='cuda')
        assert step(m1, o1, x, y).item() == compiled(x, y).item()
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.detach().cpu().numpy(), q.detach().cpu().numpy())
    assert compiled.recompiles == 1 and not compiled.last.breaks
    names = {getattr(n.fn, '__name__', '') for n in compiled.last.graph.nodes}
    assert {'layer_norm', 'nll_loss', 'AdamW.step'} <= names


@pytest.mark.parametrize('mode', [None, 'reduce-overhead'])
def test_an_elementwise_chain_is_fused_into_cuda_kernels(mode):
    def step(x):
        y = x
        for k in range(40):
            y = y * 1.0001 if k % 2 == 0 else y + 0.0001
        loss = y.sum()
        loss.backward()
        return loss
    compiled = ember.compile(step, mode=mode)
    data = np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32)
    for i in range(3):
        a = ember.tensor(data + i, device='cuda', requires_grad=True)
        b = ember.tensor(data + i, device='cuda', requires_grad=True)
        assert step(a).item() == compiled(b).item()
        np.testing.assert_array_equal(a.grad.cpu().numpy(), b.grad.cpu().numpy())
    assert compiled.recompiles == 1
    assert 'FusedGPU' in [type(n.fn).__name__ for n in compiled.last.graph.nodes]
    if mode == 'reduce-overhead':   # a CUDA graph (the stand-in, with no stream capture,
        assert type(compiled.last.fn).__name__ == 'CudaGraphRunner'   # replays instead)
