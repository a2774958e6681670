"""ember's row kernels (``backend.kernels.RAW``: a block of threads for each row) against NumPy in
float64 and against the two-kernel paths they replace, for rows short and long (one warp to
a thousand threads). On a GPU tools/gpu_check.sh runs this file; `make test` runs it on CuPy's
CPU stand-in, whose blocks run here on all their threads (fibers switched at each barrier,
warp shuffles through memory) rather than the one thread of its other tests."""
import numpy as np
import pytest

import ember

pytestmark = pytest.mark.skipif(not ember.cuda.is_available(),
                                reason="no 'cuda' device (CuPy and a GPU, or the stand-in)")

# row lengths: one warp (32 threads) with fewer or more elements than threads, 4 warps, 8
COLS = [1, 5, 70, 300, 1030]


@pytest.fixture
def cuda(monkeypatch):
    """``backend.cuda``, with the stand-in's blocks run on all their threads."""
    import cupy
    from ember.backend import cuda
    if hasattr(cupy.RawKernel, 'threads'):   # (the stand-in)
        monkeypatch.setattr(cupy.RawKernel, 'threads', [True])
    return cuda


def _both(monkeypatch, cuda, fn):
    """``fn()``'s arrays by the row kernels and by the two-kernel path, as NumPy arrays."""
    out = []
    for rows in (True, False):
        if not rows:
            monkeypatch.setattr(cuda, '_rows', lambda *a: False)
        res = fn()
        out.append([a.get() for a in (res if isinstance(res, tuple) else (res,))])
    return out


@pytest.mark.parametrize('cols', COLS)
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_layer_norm_rows(monkeypatch, cuda, cols, dtype):
    import cupy
    rng = np.random.default_rng(cols)
    x = (rng.standard_normal((3, cols)) * 2 + 50).astype(dtype)   # (rows far from zero)
    w, b, g = (rng.standard_normal(s).astype(dtype) for s in ((cols,), (cols,), (3, cols)))
    xd, wd, bd, gd = (cupy.asarray(a) for a in (x, w, b, g))

    def run():
        y, st = cuda.layer_norm(xd, wd, bd, 1e-5)
        return (y, *cuda.layer_norm_grad(gd, xd, wd, st))
    (y, gx, gxhat), old = _both(monkeypatch, cuda, run)
    x64, w64, g64 = (a.astype(np.float64) for a in (x, w, g))
    xhat = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + 1e-5)
    rstd = 1 / np.sqrt(x64.var(1, keepdims=True) + 1e-5)
    gw = g64 * w64
    want = [xhat * w64 + b, rstd * (gw - gw.mean(1, keepdims=True)
                                    - xhat * (gw * xhat).mean(1, keepdims=True)), g64 * xhat]
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for got, ref, two in zip((y, gx, gxhat), want, old):
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
        np.testing.assert_allclose(got, two, rtol=tol, atol=tol)


def _softmax(z, log=False):
    top = z.max(-1, keepdims=True)
    e = np.exp(z - top)
    return z - top - np.log(e.sum(-1, keepdims=True)) if log else e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize('cols', COLS)
@pytest.mark.parametrize('mask', ['none', 'causal', 'causal_transposed', 'row'])
def test_attention_softmax_rows(monkeypatch, cuda, cols, mask):
    """Softmax of scaled, masked scores (a causal mask read by rows or down columns, or one
    row broadcast), a row masked whole giving zeros, and its backward."""
    import cupy
    rng = np.random.default_rng(cols)
    L = 4
    s = rng.standard_normal((2, L, cols)).astype(np.float32)
    gw = rng.standard_normal(s.shape).astype(np.float32)
    m = np.where(np.arange(L)[:, None] >= np.arange(cols) + 1, 0, -np.inf).astype(np.float32)
    m = {'none': None, 'causal': m, 'causal_transposed': m, 'row': m[-1:]}[mask]
    md = None if m is None else cupy.asarray(m) if mask != 'causal_transposed' else \
        cupy.asarray(np.ascontiguousarray(m.T)).swapaxes(0, 1)

    def run():
        w = cuda.softmax_scores(cupy.asarray(s), md, 0.5)
        return w, cuda.softmax_scores_grad(w, cupy.asarray(gw), 0.5)
    (w, gs), old = _both(monkeypatch, cuda, run)
    z = s.astype(np.float64) * 0.5 + (0 if m is None else m)
    with np.errstate(invalid='ignore'):
        want = np.nan_to_num(_softmax(z))   # (row 0 of the causal mask: every score -inf)
    want_gs = want * (gw - (gw * want).sum(-1, keepdims=True)) * 0.5
    for got, ref, two in zip((w, gs), (want, want_gs), old):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got, two, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('cols', COLS)
@pytest.mark.parametrize('log', [False, True])
def test_softmax_rows(monkeypatch, cuda, cols, log):
    import cupy
    rng = np.random.default_rng(cols)
    x = rng.standard_normal((3, cols)) * 10
    g = rng.standard_normal(x.shape)
    x[1] = -np.inf   # a row of -inf: nan, as torch

    def run():
        y = cuda.softmax(cupy.asarray(x), -1, log=log)
        return y, cuda.softmax_grad(y, cupy.asarray(g), -1, log=log)
    (y, gx), old = _both(monkeypatch, cuda, run)
    with np.errstate(invalid='ignore'):
        want = _softmax(x, log)
        p = np.exp(want) if log else want
        want_gx = g - p * g.sum(-1, keepdims=True) if log else \
            p * (g - (g * p).sum(-1, keepdims=True))
    for got, ref, two in zip((y, gx), (want, want_gx), old):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got, two, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('layout', ['contiguous', 'strided'])
def test_bfloat16_rounding(cuda, layout):
    """float32 -> bfloat16 to nearest even on the bits (ties, nan, infinities, subnormals, the
    largest finite values), as ml_dtypes rounds: the RawKernel for C-contiguous arrays (700
    elements: three blocks of 256 threads, the last one part full), the ElementwiseKernel
    for others."""
    import cupy
    if ember._dtype.bfloat16 is None:
        pytest.skip('bfloat16 needs ml_dtypes')
    bf16 = ember._dtype.bfloat16.np
    bits = np.array([0x3F808000, 0x3F818000, 0x3F80FFFF, 0x7F7FFFFF, 0x7F7F8000, 0x00000001,
                     0x80008000, 0x7FC00001, 0xFF800000, 0x80000000], np.uint32)
    rng = np.random.default_rng(0)
    x = np.concatenate([bits.view(np.float32), rng.standard_normal(690).astype(np.float32)])
    xd = cupy.asarray(x) if layout == 'contiguous' else cupy.asarray(np.repeat(x, 2))[::2]
    got = cuda.to_bfloat16(xd).get()
    assert got.dtype == bf16 and got.shape == x.shape
    want = x.astype(bf16)
    np.testing.assert_array_equal(got.view(np.uint16)[~np.isnan(x)],
                                  want.view(np.uint16)[~np.isnan(x)])
    assert np.isnan(got.astype(np.float32)[np.isnan(x)]).all()


@pytest.mark.parametrize('case', ['float32', 'float64', 'bfloat16+float32', 'float16+float32',
                                  'strided'])
def test_add_rows(cuda, case):
    """A bias added to rows in place (``Linear``'s): the RawKernel for float32/float64 and for
    a bfloat16 product with a float32 bias (each sum rounded once to nearest even, as ml_dtypes
    rounds it), CuPy's add for other dtypes and layouts; the same array comes back."""
    import cupy
    if 'bfloat16' in case and ember._dtype.bfloat16 is None:
        pytest.skip('bfloat16 needs ml_dtypes')
    rng = np.random.default_rng(7)
    y_dt, b_dt = (case.split('+') * 2)[:2] if case != 'strided' else ('float32', 'float32')
    y_dt = ember._dtype.bfloat16.np if y_dt == 'bfloat16' else np.dtype(y_dt)
    y = (rng.standard_normal((3, 100, 7)) * 4).astype(y_dt)   # (700 elements: 3 blocks)
    b = (rng.standard_normal(7) * 4).astype(b_dt)
    y[..., 0], b[0] = 1.0, 2 ** -7 + 2 ** -8   # (in bfloat16 a tie between odd and even)
    yd = cupy.asarray(y) if case != 'strided' else cupy.asarray(np.repeat(y, 2, 1))[:, ::2]
    out = cuda.add_rows(yd, cupy.asarray(b))
    assert out is yd and out.dtype == y_dt
    want = (y.astype(np.float64) + b.astype(np.float64)).astype(np.float32).astype(y_dt) \
        if y_dt != b.dtype else y + b
    np.testing.assert_array_equal(out.get().astype(np.float64), want.astype(np.float64))
