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


def _doors(monkeypatch, cuda, names, fn):
    """``fn()``'s arrays (as NumPy arrays) by ember's window kernels ``names`` (each checked
    to have run), then by the composites (ember's kernels off)."""
    ran = []
    for name in names:
        def spy(*args, _f=getattr(cuda, name), _n=name):
            out = _f(*args)
            ran.append(_n if out is not None else None)
            return out
        monkeypatch.setattr(cuda, name, spy)
    got = [a.get() for a in fn()]
    assert set(ran) == set(names), f'kernels run: {ran}'
    monkeypatch.setattr(cuda, 'KERNELS', [False])
    return got, [a.get() for a in fn()]


# (shape, kernel, stride, padding, dilation, ceil_mode): windows apart and overlapping, padded,
# the last window part outside (ceil mode), dilated, more than 127 taps (int64 taps), unbatched
POOLS = [((2, 3, 7, 6), 2, 2, 0, 1, False), ((2, 3, 7, 6), 3, 2, 1, 1, True),
         ((1, 2, 9, 8), (2, 3), (1, 2), (1, 0), (2, 1), True),
         ((3, 12, 13), (12, 11), 1, (0, 5), 1, False)]


@pytest.mark.parametrize('layout', ['contiguous', 'transposed'])
@pytest.mark.parametrize('case', range(len(POOLS)))
def test_max_pool_kernels(monkeypatch, cuda, case, layout):
    """Max pooling (values, indices and the input's gradient) by ember's two kernels and by
    the composite, exactly: inputs of few values (ties: the first in window order wins), with
    nan (which wins) and -inf, read in place when transposed."""
    shape, k, s, p, d, ceil = POOLS[case]
    rng = np.random.default_rng(case)
    x = rng.integers(-2, 3, shape).astype(np.float32)
    x.reshape(-1)[rng.choice(x.size, 3, replace=False)] = [np.nan, -np.inf, np.nan]
    g = rng.standard_normal(x.shape[:-2] + (40, 40)).astype(np.float32)

    def run():
        t = ember.tensor(x.swapaxes(-1, -2).copy() if layout == 'transposed' else x,
                         device='cuda', requires_grad=True)
        xin = t.transpose(-1, -2) if layout == 'transposed' else t
        y, idx = ember.nn.functional.max_pool2d(xin, k, s, p, d, ceil, return_indices=True)
        y2 = ember.nn.functional.max_pool2d(xin, k, s, p, d, ceil)
        gy = ember.tensor(g[..., :y2.shape[-1], :y2.shape[-2]], device='cuda')
        if layout == 'transposed':   # (the gradient reaching the pool: a transposed view)
            (y2.transpose(-1, -2) * gy).sum().backward()
        else:
            (y2 * gy.transpose(-1, -2)).sum().backward()
        return y._data, idx._data, y2._data, t.grad._data
    new, old = _doors(monkeypatch, cuda, ['max_pool', 'max_pool_grad'], run)
    for a, b in zip(new, old):
        np.testing.assert_array_equal(a, b)
    assert np.isnan(new[0]).any() and np.isneginf(x).any()


# (input, weight, stride, padding, dilation, groups) of conv2d; conv_transpose2d runs on the
# same shapes as its input and weight, with an output padding (rows cut from the columns)
CONVS = [((2, 3, 7, 6), (4, 3, 3, 2), 1, 0, 1, 1), ((2, 3, 8, 9), (4, 3, 3, 3), 2, 1, 1, 1),
         ((1, 4, 9, 7), (6, 2, 2, 3), (2, 1), (1, 2), (2, 1), 2),
         ((3, 1, 6, 6), (2, 1, 5, 5), 1, 2, 1, 1)]


@pytest.mark.parametrize('layout', ['contiguous', 'transposed'])
@pytest.mark.parametrize('case', range(len(CONVS)))
def test_conv_kernels(monkeypatch, cuda, case, layout):
    """Convolution and transposed convolution, forward and both gradients, with ember's im2col
    and col2im kernels and with the composites: the same float64 numbers (the same products;
    the column sums in the same order)."""
    xs, ws, s, p, d, groups = CONVS[case]
    rng = np.random.default_rng(case)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    F = ember.nn.functional

    def run():
        xt = ember.tensor(x.swapaxes(-1, -2).copy() if layout == 'transposed' else x,
                          device='cuda', requires_grad=True)
        wt = ember.tensor(w, device='cuda', requires_grad=True)
        y = F.conv2d(xt.transpose(-1, -2) if layout == 'transposed' else xt, wt, stride=s,
                     padding=p, dilation=d, groups=groups)
        (y * y).sum().backward()
        yt = ember.tensor(y._data.get(), device='cuda', requires_grad=True)   # (adjoint shapes)
        wt2 = ember.tensor(w, device='cuda', requires_grad=True)
        z = F.conv_transpose2d(yt, wt2, stride=s, padding=p, dilation=d, groups=groups,
                               output_padding=tuple(int(k > 1) for k in np.broadcast_to(s, 2)))
        (z * z).sum().backward()
        return y._data, xt.grad._data, wt.grad._data, z._data, yt.grad._data, wt2.grad._data
    new, old = _doors(monkeypatch, cuda, ['im2col', 'col2im'], run)
    for a, b in zip(new, old):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_im2col_half(monkeypatch, cuda, dtype):
    """im2col copies any dtype by its bits: the columns of a half-precision input as the
    composite makes them, zeros for the padding."""
    import cupy
    from ember.ops.conv import Geom
    if dtype == 'bfloat16' and ember._dtype.bfloat16 is None:
        pytest.skip('bfloat16 needs ml_dtypes')
    dt = ember._dtype.bfloat16.np if dtype == 'bfloat16' else np.dtype(dtype)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6)).astype(dt)
    geom = Geom((2, 1), (1, 2), (1, 1), (0, 1), 1)
    got = cuda.im2col(cupy.asarray(x), (3, 2), geom, (2, 6)).get()
    pad = np.pad(x.astype(np.float32), ((0, 0), (0, 0), (1, 0), (1, 1)))
    want = np.stack([np.stack([pad[:, :, i:i + 3:2, 2 * j:2 * j + 6] for j in range(2)])
                     for i in range(3)])   # (kh, kw, n, c, ho, wo)
    np.testing.assert_array_equal(got.astype(np.float32), want.transpose(3, 0, 1, 4, 5, 2))
