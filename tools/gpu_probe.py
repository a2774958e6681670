"""What CuPy on this GPU machine can do that ember relies on: one line per probe, OK or FAIL.

Run by tools/gpu_check.sh before the tests, so that a failing test can be read against it.
"""
import time

import numpy as np


def probe(name, fn, limit=200):
    try:
        out = fn()
        print(f'OK    {name}' + (f': {out}' if out is not None else ''), flush=True)
    except Exception as e:   # noqa: BLE001  (a probe reports whatever breaks)
        print(f'FAIL  {name}: {type(e).__name__}: {str(e)[:limit]}', flush=True)


def main():
    import cupy as cp
    import cupyx
    print('cupy', cp.__version__, 'numpy', np.__version__)
    probe('device name', lambda: cp.cuda.runtime.getDeviceProperties(0)['name'])
    try:
        import ml_dtypes
        bf = np.dtype(ml_dtypes.bfloat16)
        print('ml_dtypes', ml_dtypes.__version__)
    except ImportError:
        bf = None
        print('FAIL  ml_dtypes missing')
    x = cp.arange(12, dtype=cp.float32).reshape(3, 4)
    probe('put_along_axis', lambda: cp.put_along_axis(cp.zeros((3, 4)), cp.zeros((3, 1), int),
                                                      1.0, 1))
    probe('ufunc add.at', lambda: cp.add.at(cp.zeros(3), cp.array([0, 0, 1]), 1.0))
    for dt in ('float16', 'float32', 'float64'):
        probe(f'cupyx.scatter_add {dt}', lambda dt=dt: cupyx.scatter_add(
            cp.zeros(3, dt), cp.array([0, 0, 1]), cp.ones(3, dt)))
    probe('ndtr float32', lambda: __import__('cupyx.scipy.special').scipy.special.ndtr(x)[0, :2])
    probe('erf float16', lambda: __import__('cupyx.scipy.special').scipy.special.erf(
        x.astype(cp.float16)).dtype)
    probe('sliding_window_view', lambda: cp.lib.stride_tricks.sliding_window_view(
        x, (2, 2)).shape)
    if bf is not None:
        probe('bf16 asarray', lambda: cp.asarray(np.ones(3, bf)).dtype)
        b = None
        try:
            b = cp.asarray(np.arange(12, dtype=np.float32).reshape(3, 4).astype(bf))
        except Exception:
            pass
        if b is not None:
            probe('bf16 add/exp/sum', lambda: ((b + b).dtype, cp.exp(b).dtype, b.sum().dtype))
            probe('bf16 matmul', lambda: ((b @ b.T).dtype, float((b @ b.T)[0, 0])))
            probe('bf16 astype f32', lambda: b.astype(cp.float32)[1, 1].item())
            probe('bf16 maximum/where', lambda: cp.where(b > 1, b, cp.zeros_like(b)).dtype)
            probe('bf16 ndtr', lambda: __import__('cupyx.scipy.special').scipy.special.ndtr(
                b).dtype)
            probe('bf16 scatter_add', lambda: cupyx.scatter_add(
                cp.zeros(3, bf), cp.array([0, 0, 1]), cp.ones(3, bf)))
            probe('bf16 get', lambda: b.get().dtype)

            def add_float32():   # autocast Linear adds a float32 bias to its bf16 product
                y = b.copy()
                y += cp.full(4, 0.1, cp.float32)
                return y.dtype, float(y[1, 1].astype(cp.float32))   # 5.1 in bf16: 5.09375
            probe('bf16 += float32', add_float32)
    from cupy._core import _routines_linalg as linalg
    probe('compute types', lambda: (linalg.COMPUTE_TYPE_DEFAULT, linalg.COMPUTE_TYPE_TF32,
                                    linalg.get_compute_type(np.dtype(np.float32))))
    a = cp.random.rand(8192, 8192, dtype=cp.float32)
    for tf32 in (False, True):
        def gemm(tf32=tf32):
            linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32 if tf32 else
                                    linalg.COMPUTE_TYPE_DEFAULT)
            a @ a
            cp.cuda.Device().synchronize()
            t = time.perf_counter()
            for _ in range(5):
                a @ a
            cp.cuda.Device().synchronize()
            return f'{5 * 2 * 8192 ** 3 / (time.perf_counter() - t) / 1e12:.1f} TFLOP/s'
        probe(f'8192 fp32 GEMM tf32={tf32}', gemm)
    linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_DEFAULT)
    y = cp.ones(1 << 10, cp.float32)
    y * 2.0
    cp.cuda.Device().synchronize()
    t = time.perf_counter()
    for _ in range(2000):
        y * 2.0
    probe('host us per small elementwise op', lambda: round((time.perf_counter() - t) / 2000
                                                              * 1e6, 1))
    t = time.perf_counter()
    for _ in range(200):
        cp.asarray(np.float32(2.0))
    probe('host us per 0-d host->device copy', lambda: round((time.perf_counter() - t) / 200
                                                               * 1e6, 1))
    # CuPy 14 removed its cuDNN bindings (its release notes): expected to fail from 14 on
    probe('cuDNN version (CuPy < 14)',
          lambda: __import__('cupy.cuda.cudnn').cuda.cudnn.getVersion())
    probe('cuDNN conv forward (2, 3, 8, 8) * (4, 3, 3, 3) (CuPy < 14)', _cudnn_conv)
    probe('CUDA graph: host us to replay 100 captured ops vs to launch them', _graph_replay)
    probe('CUDA graph capture with allocations', _graph_alloc)
    kernels(lambda name, fn: probe(name, fn, limit=4000))   # (a compile log is long)


def kernels(probe):
    """Each of ember's own CUDA kernels (backend/cuda.py) run once on small float32 arrays
    against NumPy: a kernel that does not compile or run on this GPU, or answers wrong, shows
    here with CuPy's error before the tests and the benchmark meet it ('kernel ...' lines)."""
    import cupy as cp
    from ember.backend import cuda
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 8)).astype(np.float32) * 3 + 100
    w, b = rng.standard_normal(8).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    g = rng.standard_normal((6, 8)).astype(np.float32)
    d = {k: cp.asarray(v) for k, v in dict(x=x, w=w, b=b, g=g).items()}

    def close(got, want, tol=1e-4):
        got = cp.asnumpy(got).astype(np.float64)
        err = float(np.abs(got - want).max() / max(1.0, np.abs(want).max()))
        if not err <= tol:   # (nan too)
            raise AssertionError(f'off by {err:.2e} (relative)')
        return f'max relative error {err:.1e}'
    x64 = x.astype(np.float64)
    xhat = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + 1e-5)
    probe('kernel layer norm', lambda: close(
        cuda.layer_norm(d['x'], d['w'], d['b'], 1e-5)[0], xhat * w + b))
    gw = g * w
    want_gx = (gw - gw.mean(1, keepdims=True) - xhat * (gw * xhat).mean(1, keepdims=True)) / \
        np.sqrt(x64.var(1, keepdims=True) + 1e-5)
    probe('kernel layer norm backward', lambda: close(cuda.layer_norm_grad(
        d['g'], d['x'], d['w'], cuda.layer_norm(d['x'], d['w'], d['b'], 1e-5)[1])[0], want_gx))
    s = x64 - 100
    soft = np.exp(s - s.max(1, keepdims=True))
    soft /= soft.sum(1, keepdims=True)
    probe('kernel softmax', lambda: close(cuda.softmax(d['x'] - 100, -1), soft))
    probe('kernel log-softmax', lambda: close(cuda.softmax(d['x'] - 100, -1, log=True),
                                              np.log(soft)))
    probe('kernel softmax backward', lambda: close(
        cuda.softmax_grad(cp.asarray(soft.astype(np.float32)), d['g'], -1),
        soft * (g - (g * soft).sum(1, keepdims=True))))
    mask = np.triu(np.full((6, 8), -np.inf, np.float32), 1)
    masked = s * 0.5 + mask
    att = np.exp(masked - masked.max(1, keepdims=True))
    att /= att.sum(1, keepdims=True)
    probe('kernel attention softmax', lambda: close(cuda.softmax_scores(
        d['x'] - 100, cp.asarray(mask), 0.5), att))
    probe('kernel attention softmax backward', lambda: close(cuda.softmax_scores_grad(
        cp.asarray(att.astype(np.float32)), d['g'].copy(), 0.5),
        att * (g - (att * g).sum(1, keepdims=True)) * 0.5))
    rows = cuda._rows   # the same through the two-kernel paths (other dtypes and layouts)
    cuda._rows = lambda *a: False
    try:
        probe('kernel layer norm (two kernels)', lambda: close(
            cuda.layer_norm(d['x'], d['w'], d['b'], 1e-5)[0], xhat * w + b))
        probe('kernel layer norm backward (two kernels)', lambda: close(cuda.layer_norm_grad(
            d['g'], d['x'], d['w'], cuda.layer_norm(d['x'], d['w'], d['b'], 1e-5)[1])[0],
            want_gx))
        probe('kernel attention softmax (two kernels)', lambda: close(cuda.softmax_scores(
            d['x'] - 100, cp.asarray(mask), 0.5), att))
    finally:
        cuda._rows = rows
    long = rng.standard_normal((3, 1030)) * 5   # (the row kernels' blocks: 512 threads)
    probe('kernel softmax, rows of 1030', lambda: close(
        cuda.softmax(cp.asarray(long), -1, log=True),
        long - long.max(1, keepdims=True) - np.log(np.exp(
            long - long.max(1, keepdims=True)).sum(1, keepdims=True)), 1e-10))
    probe('kernel layer norm, rows of 1030', lambda: close(
        cuda.layer_norm(cp.asarray(long), cp.ones(1030), None, 0.0)[0],
        (long - long.mean(1, keepdims=True)) / long.std(1, keepdims=True), 1e-10))
    t = np.array([1, -100, 7, 0, 3, 3])
    logp = np.log(soft)
    nll = -np.mean([logp[i, c] for i, c in enumerate(t) if c != -100])
    probe('kernel nll loss', lambda: close(cuda.nll_loss(
        cp.asarray(logp.astype(np.float32)), cp.asarray(t), -100, True)[0], nll))
    probe('kernel nll loss backward', lambda: close(cuda.nll_loss_grad(
        cp.ones((), cp.float32), cp.asarray(t), cuda.nll_loss(cp.asarray(logp.astype(
            np.float32)), cp.asarray(t), -100, True)[1], 8, -100, True, cp.float32).sum(),
        -1.0))
    from math import erf
    cdf = 0.5 * (1 + np.vectorize(erf)(g / np.sqrt(2)))
    probe('kernel gelu', lambda: close(cuda.kernel('ember_gelu')(d['g']), g * cdf))
    probe('kernel gelu backward', lambda: close(cuda.kernel('ember_gelu_grad')(d['g'], d['g']),
                                                g * (cdf + g * np.exp(-g * g / 2) /
                                                     np.sqrt(2 * np.pi))))

    def adam():
        p, m, v = (cp.asarray(a).reshape(-1).copy() for a in (x, g, np.abs(g)))
        want_m = 0.9 * g.reshape(-1) + 0.1 * g.reshape(-1)
        want_v = 0.999 * np.abs(g).reshape(-1) + 0.001 * (g * g).reshape(-1)
        want = x.reshape(-1) - 0.01 * want_m / (np.sqrt(want_v) / 0.5 + 1e-8)
        cuda.adam_steps([(p, d['g'].reshape(-1), m, v)], 0.9, 0.999, 0.01, 0.5, 1e-8, 1.0)
        return close(p, want)
    probe('kernel adam (16 parameters a launch)', adam)

    def sgd():   # Nesterov momentum with weight decay, a step after the first
        p, b = (cp.asarray(a).reshape(-1).copy() for a in (x, g))
        buf = 0.9 * g.reshape(-1) + (g.reshape(-1) + 0.1 * x.reshape(-1))
        want = x.reshape(-1) - 0.01 * (g.reshape(-1) + 0.1 * x.reshape(-1) + 0.9 * buf)
        cuda.sgd_steps([(p, d['g'].reshape(-1), b)], 0.01, 0.9, 0.0, 0.1, 1)
        return close(p, want) + '; ' + close(b, buf)
    probe('kernel sgd (16 parameters a launch)', sgd)
    probe('kernel bias add', lambda: close(cuda.add_rows(d['g'].copy(), d['w']), g + w))
    probe('kernel bias add, bfloat16 product and float32 bias', lambda: close(cuda.add_rows(
        cuda.to_bfloat16(d['g']), d['w']).astype(cp.float32), g + w, 1e-2))
    probe('kernel bfloat16 rounding', lambda: close(
        cuda.to_bfloat16(d['g']).astype(cp.float32), g, 1e-2))

    def window_ops():   # convolution (im2col, col2im) and max pooling, forward and backward,
        import ember     # by ember's kernels and by the composites
        from ember.ops.conv import Geom
        F = ember.nn.functional
        xi = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
        wi = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
        geom = Geom((2, 2), (1, 1), (1, 1), (1, 1), 1)
        if cuda.im2col(cp.asarray(xi), (3, 3), geom, (5, 4)) is None or cuda.max_pool(
                cp.asarray(xi), (2, 2), geom, (4, 4), np.int8) is None:
            raise AssertionError('a window kernel did not run')
        out = []
        for on in (True, False):
            cuda.KERNELS[0] = on
            xt, wt = (ember.tensor(a, device='cuda', requires_grad=True) for a in (xi, wi))
            y = F.max_pool2d(F.conv2d(xt, wt, stride=2, padding=1), 2, ceil_mode=True)
            (y * y).sum().backward()
            out.append([a.detach().cpu().numpy().astype(np.float64)
                        for a in (y, xt.grad, wt.grad)])
        cuda.KERNELS[0] = True
        return '; '.join(close(cp.asarray(a), b) for a, b in zip(*out))
    probe('kernel convolution and max pooling (im2col, col2im, max_pool and its backward)',
          window_ops)
    probe('kernel index check', lambda: (bool(cuda.kernel('ember_outside')(
        cp.asarray(t), 8, -100, True)), bool(cuda.kernel('ember_outside')(
            cp.asarray(t), 7, -100, True))))   # (False, True)


def _cudnn_conv():
    import cupy as cp
    import cupy.cudnn
    x = cp.ones((2, 3, 8, 8), cp.float32)
    w = cp.ones((4, 3, 3, 3), cp.float32)
    y = cp.empty((2, 4, 6, 6), cp.float32)
    cupy.cudnn.convolution_forward(x, w, None, y, (0, 0), (1, 1), (1, 1), 1,
                                   auto_tune=False, tensor_core='auto')
    return float(y[0, 0, 0, 0])     # 27.0


def _graph_replay():
    """The host cost that CUDA graphs would remove: 100 small ops launched one by one, then
    captured once and replayed (outputs preallocated, so the capture allocates nothing)."""
    import cupy as cp
    y = cp.ones(1 << 10, cp.float32)
    z = cp.empty_like(y)
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        for _ in range(50):
            cp.multiply(y, 1.0001, out=z)
            cp.add(z, 0.0001, out=y)
        graph = stream.end_capture()
        graph.launch()
        stream.synchronize()
        t = time.perf_counter()
        for _ in range(20):
            graph.launch()
        replay = (time.perf_counter() - t) / 20 * 1e6
        stream.synchronize()
        t = time.perf_counter()
        for _ in range(20):
            for _ in range(50):
                cp.multiply(y, 1.0001, out=z)
                cp.add(z, 0.0001, out=y)
        direct = (time.perf_counter() - t) / 20 * 1e6
        stream.synchronize()
    return f'replay {replay:.0f} us, direct {direct:.0f} us'


def _graph_alloc():
    import cupy as cp
    y = cp.ones(1 << 10, cp.float32)
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        z = (y * 2.0 + 1.0).sum()
        graph = stream.end_capture()
        graph.launch()
        stream.synchronize()
    return float(z)                 # 3072.0


if __name__ == '__main__':
    main()
