"""Checkpoints, DLPack and pinned host memory across devices. On a GPU, tools/gpu_check.sh runs
this file; `make test` runs it on CuPy's CPU stand-in (tests/fakecupy.py) in its second pass; on
a plain CPU run there is no 'cuda' device and it is skipped. The exchange with PyTorch's CUDA
tensors needs a real device."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import assert_sum_close

pytestmark = pytest.mark.skipif(not ember.cuda.is_available(),
                                reason="no 'cuda' device (CuPy and a GPU, or the stand-in)")


def test_a_checkpoint_saved_on_cuda_loads_anywhere(tmp_path):
    w = ember.randn(3, 4, device='cuda')
    obj = {'w': w, 'n': ember.arange(5, device='cuda'), 'c': ember.ones(2)}
    path = tmp_path / 'ckpt.safetensors'
    ember.save(obj, path)

    back = ember.load(path)                     # each tensor where it was saved
    assert back['w'].device.type == 'cuda' and back['n'].device.type == 'cuda'
    assert back['c'].device.type == 'cpu'
    for loc in ('cpu', ember.device('cpu'), {'cuda:0': 'cpu'}):
        moved = ember.load(path, map_location=loc)
        assert all(t.device.type == 'cpu' for t in moved.values()), loc
        np.testing.assert_array_equal(moved['w'].numpy(), w.cpu().numpy())
        assert moved['n'].tolist() == [0, 1, 2, 3, 4] and moved['n'].dtype == ember.int64
    on_gpu = ember.load(path, map_location='cuda')
    assert all(t.device.type == 'cuda' for t in on_gpu.values())
    np.testing.assert_array_equal(on_gpu['c'].cpu().numpy(), [1.0, 1.0])


def test_a_module_state_dict_moves_between_devices(tmp_path):
    net = ember.nn.Linear(4, 3).to('cuda')
    ember.save(net.state_dict(), tmp_path / 'net.safetensors')
    cpu_net = ember.nn.Linear(4, 3)
    cpu_net.load_state_dict(ember.load(tmp_path / 'net.safetensors', map_location='cpu'))
    x = ember.randn(2, 4)
    # the same weights on two devices: the same sums of 4 products and a bias, rounded by two
    # BLAS libraries (OpenBLAS, cuBLAS): within their rounding bound, relative to the terms
    w, b = (p.detach().numpy().astype(np.float64) for p in (cpu_net.weight, cpu_net.bias))
    magnitude = np.abs(x.numpy()) @ np.abs(w).T + np.abs(b)
    assert_sum_close(cpu_net(x).detach().numpy(), net(x.to('cuda')).detach().cpu().numpy(),
                     np.float32, 5, magnitude)


def test_dlpack_shares_memory_with_cupy():
    import cupy
    e = ember.zeros(2, 3, device='cuda')
    c = cupy.from_dlpack(e)
    c[0, 1] = 7.0                               # no copy: the write shows in the tensor
    assert e[0, 1].item() == 7.0
    a = cupy.arange(4, dtype=cupy.float32)
    t = ember.from_dlpack(a)
    assert t.device.type == 'cuda' and t.dtype == ember.float32
    a[2] = -1.0
    assert t.tolist() == [0.0, 1.0, -1.0, 3.0]


def test_tensor_of_a_cupy_array_is_a_copy_on_its_device():
    import cupy
    for dt, want in ((cupy.float64, ember.float64), (cupy.int32, ember.int32),
                     (cupy.float32, ember.float32)):
        a = cupy.arange(6, dtype=dt).reshape(2, 3).T   # (a strided view)
        t = ember.tensor(a)
        assert t.device.type == 'cuda' and t.dtype == want and t.shape == (3, 2)
        a[0, 0] = 9                                  # a copy, as torch.tensor makes
        assert t.tolist() == [[0, 3], [1, 4], [2, 5]]
    assert ember.tensor(cupy.ones(2), dtype=ember.float16).dtype == ember.float16


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs PyTorch's CUDA tensors")
def test_dlpack_shares_memory_with_torch_cuda():
    t = torch.arange(6.0, device='cuda').reshape(2, 3)
    e = ember.from_dlpack(t)
    assert e.device.type == 'cuda' and e.shape == (2, 3)
    t[1, 2] = 42.0
    assert e[1, 2].item() == 42.0
    back = torch.from_dlpack(e)
    assert back.is_cuda
    back[0, 0] = -5.0
    assert e[0, 0].item() == -5.0


def test_pinned_memory_and_non_blocking_copies():
    x = ember.arange(6.0).reshape(2, 3)
    p = x.pin_memory()
    assert p.is_pinned() and not x.is_pinned() and p.device.type == 'cpu'
    assert p.pin_memory() is p and p[1:].is_pinned()   # a view of pinned memory is pinned
    assert p.dtype == x.dtype and p.tolist() == x.tolist()
    for t in (p, x):   # from pinned memory the copy is queued; from the rest it is waited for
        for moved in (t.to('cuda', non_blocking=True), t.cuda(non_blocking=True)):
            assert moved.device.type == 'cuda' and moved.cpu().tolist() == x.tolist()
    w = ember.ones(3, requires_grad=True)   # the gradient passes through pin_memory
    (w.pin_memory().cuda(non_blocking=True) * 2).sum().backward()
    assert w.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match='pin_memory: only CPU tensors'):
        ember.ones(2, device='cuda').pin_memory()


def test_data_loader_pins_its_batches():
    ds = ember.data.TensorDataset(ember.arange(10.0), ember.arange(10))
    loader = ember.data.DataLoader(ds, batch_size=4, pin_memory=True)
    batches = list(loader)
    assert len(loader) == 3 and [len(x) for x, _ in batches] == [4, 4, 2]
    assert all(x.is_pinned() and y.is_pinned() for x, y in batches)
    assert batches[1][0].tolist() == [4.0, 5.0, 6.0, 7.0]
    as_dict = ember.data.DataLoader(ds, batch_size=5, pin_memory=True,
                                    collate_fn=lambda b: {'x': ember.stack([x for x, _ in b])})
    assert all(b['x'].is_pinned() for b in as_dict)


def test_products_through_cublas_directly_match_for_every_layout():
    """Products go to cuBLAS called directly (backend.cuda.gemm: gemmEx, and
    gemmStridedBatchedEx for batches): each dtype and layout (either operand transposed, a
    batch of transposed views, a column slice, batch axes that need a copy) against NumPy,
    float16/bfloat16 operands also into float32, and none fell back to cupy.matmul; likewise
    gemm_t (a2^T b2 with the rows folded: weight gradients and bias sums)."""
    import warnings

    import cupy
    from ember.backend import cuda
    from ember.ops.linalg import _column_sums
    rng = np.random.default_rng(0)
    dtypes = [np.float32, np.float64, np.float16]
    if ember._dtype.bfloat16 is not None:   # (with ml_dtypes)
        dtypes.append(ember._dtype.bfloat16.np)

    def check(a, b, a_view, b_view, out_dtype=None):
        got = cuda.gemm(a_view(cupy.asarray(a)), b_view(cupy.asarray(b)), out_dtype=out_dtype)
        assert got is not None and got.dtype == (out_dtype or a.dtype)
        want = a_view(a).astype(np.float64) @ b_view(b).astype(np.float64)
        tol = 0.05 if a.dtype.itemsize == 2 and out_dtype is None else 1e-5
        np.testing.assert_allclose(got.get().astype(np.float64), want, rtol=tol, atol=tol)
    flip = lambda x: x.swapaxes(-1, -2)   # noqa: E731
    same = lambda x: x                    # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter('error')   # a disagreement or a failed call warns
        for dt in dtypes:
            for ta in (False, True):
                for tb in (False, True):
                    for batch in ((), (3,), (2, 3)):
                        for m, k, n in ((5, 3, 4), (1, 7, 2), (6, 1, 3), (4, 4, 1)):
                            a = rng.standard_normal(batch + ((k, m) if ta else (m, k)))
                            b = rng.standard_normal(batch + ((n, k) if tb else (k, n)))
                            check(a.astype(dt), b.astype(dt), flip if ta else same,
                                  flip if tb else same)
                            if np.dtype(dt).itemsize == 2:
                                check(a.astype(dt), b.astype(dt), flip if ta else same,
                                      flip if tb else same, np.dtype(np.float32))
            wide = rng.standard_normal((5, 9)).astype(dt)   # a column slice: leading dim 9
            check(wide, rng.standard_normal((4, 3)).astype(dt), lambda x: x[:, 2:6], same)
            heads = rng.standard_normal((3, 2, 5, 4)).astype(dt)   # batch axes that do not
            check(heads, rng.standard_normal((2, 3, 4, 6)).astype(dt),   # fold into one
                  lambda x: x.swapaxes(0, 1), same)                       # stride: copied
            for tb in (same, flip):   # (..., k) @ (k, n): the rows folded into one product
                check(heads, rng.standard_normal((4, 6) if tb is same else (6, 4)).astype(dt),
                      same, tb)
            assert cuda.gemm(cupy.asarray(heads).swapaxes(0, 1), cupy.asarray(  # (not
                rng.standard_normal((4, 6)).astype(dt))) is None   # foldable: the caller's)
            g, x = (rng.standard_normal((2, 3, c)).astype(dt) for c in (5, 4))   # gemm_t: a
            want = g.reshape(6, 5).T.astype(np.float64) @ x.reshape(6, 4)   # weight gradient
            for out_dtype in (None, np.dtype(np.float32)) if g.itemsize == 2 else (None,):
                got = cuda.gemm_t(cupy.asarray(g), cupy.asarray(x), out_dtype=out_dtype)
                assert got.shape == (5, 4) and got.dtype == (out_dtype or g.dtype)
                tol = 0.05 if g.itemsize == 2 and out_dtype is None else 1e-5
                np.testing.assert_allclose(got.get().astype(np.float64), want, rtol=tol,
                                           atol=tol)
            assert cuda.gemm_t(cupy.asarray(g).swapaxes(0, 1), cupy.asarray(x)) is None
            assert cuda.gemm_t(cupy.asarray(g), cupy.asarray(x[:1])) is None   # (rows differ)
        for dt in dtypes[2:]:   # a low-precision bias gradient summed into float32: a row
            g = rng.standard_normal((7, 2, 5)).astype(dt)   # of ones times g (its leading
            # axes folded), into a float32 out
            got = _column_sums(cupy.asarray(g), np.dtype(np.float32))
            assert got.dtype == np.float32 and got.shape == (5,)
            np.testing.assert_allclose(got.get(), g.astype(np.float64).sum((0, 1)), rtol=1e-5,
                                       atol=1e-5)
    assert cuda._direct[0] and cuda._checked and all(cuda._checked.values())
    assert any(key[-1] for key in cuda._checked)   # batched products were among them


@pytest.mark.parametrize('dtype', ['float32', 'bfloat16'])
def test_attention_without_the_direct_products_agrees(monkeypatch, dtype):
    """With cuBLAS's direct path off (EMBER_CUBLAS=0, or after a failed check) every product
    goes through cupy.matmul, in float32 for bfloat16: attention's forward and gradients agree
    with the direct path's."""
    from ember.backend import cuda
    if dtype == 'bfloat16' and ember._dtype.bfloat16 is None:
        pytest.skip('bfloat16 needs ml_dtypes')
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((2, 3, 6, 4)).astype(np.float32) for _ in range(4)]
    out = []
    for direct in (True, False):
        monkeypatch.setattr(cuda, '_direct', [direct])
        q, k, v = (ember.tensor(a, device='cuda').to(getattr(ember, dtype)).requires_grad_()
                   for a in arrays[:3])
        o = ember.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        grads = ember.autograd.grad(o, (q, k, v), ember.tensor(arrays[3], device='cuda').to(
            o.dtype))
        out.append([t.float().detach().cpu().numpy() for t in (o,) + grads])
    tol = 2e-2 if dtype == 'bfloat16' else 1e-5
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize('amp', [None, 'bfloat16'])
def test_gpt_steps_agree_without_the_direct_products(monkeypatch, amp):
    """With cuBLAS's direct path off (EMBER_CUBLAS=0, or after a failed check) every product
    goes through cupy.matmul (bf16 ones through float32, the autocast Linear's float32
    gradients from widened operands, bias sums by reduction): a small GPT's first gradients
    and three losses agree with the direct path's."""
    _agree_with_switch_off(monkeypatch, amp, '_direct')


@pytest.mark.parametrize('amp', [None, 'bfloat16'])
def test_gpt_steps_agree_with_ember_kernels_off(monkeypatch, amp):
    """EMBER_KERNELS=0 (``backend.cuda.KERNELS``) sends every op with an ember kernel (layer
    norm, GELU, softmax, attention, NLL, AdamW, bf16 casts, index checks) to its composite of
    CuPy calls: a small GPT's first step gives the same gradients, and three steps (AdamW's
    updates between them) the same losses. (Weights are not compared: AdamW turns the noise in
    a gradient that is zero in exact arithmetic, as the key bias's, into whole steps.)"""
    _agree_with_switch_off(monkeypatch, amp, 'KERNELS')


def _agree_with_switch_off(monkeypatch, amp, switch):
    """A small GPT's first gradients and three losses with ``backend.cuda``'s ``switch``
    on and off."""
    import bench.workloads as W
    from ember.backend import cuda
    if amp and ember._dtype.bfloat16 is None:
        pytest.skip('bfloat16 needs ml_dtypes')
    c = dict(W.GPT, blocks=1, d_model=16, heads=2, seq=8, batch=3)
    out = []
    for on in (True, False):
        monkeypatch.setattr(cuda, switch, [on])
        ember.manual_seed(0)
        model = W.gpt(ember, c).to('cuda')
        ctx = dict(data=W._w5_data(0, 512), model=model, device='cuda', amp=amp and ember.bfloat16,
                   optimizer=ember.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01))
        step = W._gpt_step(c)
        losses = [step(ember, ctx, 0).item()]
        grads = [p.grad.float().cpu().numpy() for p in model.parameters()]
        losses += [step(ember, ctx, i).item() for i in (1, 2)]
        out.append((losses, grads))
    tol = 2e-2 if amp else 1e-5
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=tol, atol=tol)
    for a, b in zip(out[0][1], out[1][1]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * np.abs(b).max())
