"""Host microseconds per CuPy call for the calls an ember GPT step makes most (sum, mean,
matmul, elementwise), at W5's and W9's sizes, with CuPy's reduction accelerators as set and
with none; then what one launch costs by each of CuPy's doors, and ember's own kernels
against the composites they replaced (``launches``, and ``windows`` at W4's sizes). The GPU
runs asynchronously: a call's host time is what it costs the step when the host, not the GPU,
is the bottleneck (as ember's profile on the H200 showed).

Usage: python tools/gpu_microbench.py   (on a GPU machine)
"""
import time

import cupy as cp
from cupy._core import _accelerator


def host_us(fn, n=200):
    fn()
    cp.cuda.Device().synchronize()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    host = (time.perf_counter() - t) / n * 1e6
    cp.cuda.Device().synchronize()
    wall = (time.perf_counter() - t) / n * 1e6
    return host, wall


def main():
    try:
        print('cupy', cp.__version__, 'reduction accelerators',
              _accelerator.get_reduction_accelerators(), 'routine accelerators',
              _accelerator.get_routine_accelerators())
    except AttributeError as e:   # a CuPy without these: time the defaults only
        print('cupy', cp.__version__, 'accelerators unknown:', e)
    for name, rows, d in (('W5', 16 * 64, 128), ('W9', 32 * 256, 512)):
        x = cp.random.rand(rows, d, dtype=cp.float32)
        w = cp.random.rand(d, 3 * d, dtype=cp.float32)
        g = cp.random.rand(rows, 3 * d, dtype=cp.float32)
        q = cp.random.rand(32, 8, 256, 64, dtype=cp.float32)
        calls = {
            'x.sum(-1, keepdims)': lambda: x.sum(axis=-1, keepdims=True),
            'x.mean(-1, keepdims)': lambda: x.mean(axis=-1, keepdims=True),
            'g.sum(0)': lambda: g.sum(axis=0),
            'x * x': lambda: x * x,
            'x * 2.0': lambda: x * 2.0,
            'x @ w': lambda: x @ w,
            'g.T @ x (weight grad)': lambda: g.T @ x,
            'cp.matmul(x, w)': lambda: cp.matmul(x, w),
            'batched q @ k^T': lambda: cp.matmul(q, q.swapaxes(-1, -2)),
        }
        for accel in (None, []) if hasattr(_accelerator, 'get_reduction_accelerators') \
                else (None,):
            if accel is not None:
                saved = (_accelerator.get_reduction_accelerators(),
                         _accelerator.get_routine_accelerators())
                _accelerator.set_reduction_accelerators(accel)
                _accelerator.set_routine_accelerators(accel)
            label = 'default' if accel is None else 'no accelerators'
            for k, fn in calls.items():
                h, wl = host_us(fn, 50 if 'batched' in k else 200)
                print(f'{name} {label:16s} {k:24s} host {h:7.1f} us   with GPU {wl:8.1f} us')
            if accel is not None:
                _accelerator.set_reduction_accelerators(saved[0])
                _accelerator.set_routine_accelerators(saved[1])


def launches():
    """Host and GPU microseconds of one launch by each of CuPy's doors (a ufunc, an
    ElementwiseKernel, a RawKernel, cupy.matmul and cuBLAS called directly), and of ember's
    own kernels against the composites they replaced, at W9's sizes: the numbers for
    choosing the next step (fewer or cheaper launches)."""
    import numpy as np
    from ember.backend import cuda
    x = cp.random.rand(32 * 256, 512, dtype=cp.float32)
    w = cp.random.rand(512, 512, dtype=cp.float32)
    n = x.size
    square = cp.ElementwiseKernel('T x', 'T y', 'y = x * x', 'bench_square')
    raw = cp.RawKernel(r'''extern "C" __global__ void bench_square_raw(const float* x,
        float* y, long long n) { long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
        if (i < n) y[i] = x[i] * x[i]; }''', 'bench_square_raw')
    out = cp.empty_like(x)
    rows = (x.shape[0], 1)

    def row_stats():   # (layer norm's row statistics, float64 sums into complex128)
        return cuda.kernel('ember_ln_stats')(x, x[:, :1], 1e-5, out=cp.empty(rows, cp.complex128),
                                             axis=1, keepdims=True)
    calls = {
        'ufunc x * x': lambda: x * x,
        'ElementwiseKernel x * x': lambda: square(x),
        'RawKernel x * x (out given)': lambda: raw(((n + 255) // 256,), (256,),
                                                  (x, out, np.int64(n))),
        'ReductionKernel row statistics': row_stats,
        'cupy.matmul (8192,512)@(512,512)': lambda: cp.matmul(x, w),
    }
    try:
        from cupy_backends.cuda.libs import cublas
        handle = cp.cuda.device.get_cublas_handle()
        one, zero = np.ones((), np.float32), np.zeros((), np.float32)
        c = cp.empty((x.shape[0], w.shape[1]), cp.float32)

        def sgemm():   # row-major c = x @ w as column-major c^T = w^T x^T
            cublas.sgemm(handle, 0, 0, w.shape[1], x.shape[0], x.shape[1],
                         one.ctypes.data, w.data.ptr, w.shape[1], x.data.ptr, x.shape[1],
                         zero.ctypes.data, c.data.ptr, w.shape[1])
        sgemm()
        diff = float(cp.abs(c - x @ w).max())
        print(f'cublas.sgemm direct: max difference from cupy.matmul {diff:.2e}')
        calls['cublas.sgemm direct (out given)'] = sgemm
    except Exception as e:   # noqa: BLE001  (report, go on)
        print(f'cublas.sgemm direct: FAIL {type(e).__name__}: {e}')
    g = cp.random.rand(*x.shape, dtype=cp.float32)
    wt, b = cp.random.rand(512, dtype=cp.float32), cp.random.rand(512, dtype=cp.float32)

    def ln_composite():
        mean = x.mean(axis=1, keepdims=True)
        y = x - mean
        rstd = (y * y).mean(axis=1, keepdims=True)
        rstd += 1e-5
        cp.sqrt(rstd, out=rstd)
        cp.reciprocal(rstd, out=rstd)
        y *= rstd
        y *= wt
        y += b
        return y
    stats = cuda.layer_norm(x, wt, b, 1e-5)[1]
    s = cp.random.rand(32, 8, 256, 256, dtype=cp.float32)
    mask = cp.triu(cp.full((256, 256), -cp.inf, cp.float32), 1)

    def softmax_composite():
        t = s * 0.125
        t += mask
        t -= t.max(axis=-1, keepdims=True)
        cp.exp(t, out=t)
        t /= t.sum(axis=-1, keepdims=True)
        return t
    def two(fn):   # the two-kernel path (other dtypes and layouts than the row kernels')
        def run():
            rows_ok, cuda._rows = cuda._rows, lambda *a: False
            try:
                return fn()
            finally:
                cuda._rows = rows_ok
        return run
    ln = lambda: cuda.layer_norm(x, wt, b, 1e-5)                # noqa: E731
    ln_grad = lambda: cuda.layer_norm_grad(g, x, wt, stats)     # noqa: E731
    soft = lambda: cuda.softmax_scores(s.copy(), mask, 0.125)   # noqa: E731
    calls.update({
        'layer norm, composite (10 launches)': ln_composite,
        'layer norm, ember row kernel (1)': ln,
        'layer norm, ember kernels (2)': two(ln),
        'layer norm backward, ember row kernel (1)': ln_grad,
        'layer norm backward, ember kernels (2)': two(ln_grad),
        'attention softmax, composite (7, a copy)': softmax_composite,
        'attention softmax, ember row kernel (1, a copy)': soft,
        'attention softmax, ember kernels (2, a copy)': two(soft),
        'bias add, ufunc y += b': lambda: x.__iadd__(wt),
        'bias add, RawKernel (add_rows)': lambda: cuda.add_rows(x, wt),
        'bf16 cast, RawKernel (and an empty)': lambda: cuda.to_bfloat16(x),
        'bf16 cast, ElementwiseKernel and a view': lambda: cuda.kernel('ember_bf16')(x).view(
            cuda._bfloat16()),
    })
    params = [cp.random.rand(*shape, dtype=cp.float32) for shape in
              [(1536, 512), (1536,), (512, 512), (512,), (2048, 512), (2048,), (512, 2048),
               (512,), (512,), (512,), (512,), (512,)] * 6]
    state = [(p, cp.random.rand(*p.shape, dtype=cp.float32), cp.zeros_like(p),
              cp.zeros_like(p)) for p in params]
    flat = [tuple(a.reshape(-1) for a in group) for group in state]
    coef = (0.9, 0.999, 1e-3, 0.5, 1e-8, 0.99)

    def adam_each():
        for p, g_, m, v in state:
            cuda.adam_step(p, g_, m, v, *coef)
    calls.update({
        f'Adam, one kernel a parameter ({len(params)} launches)': adam_each,
        f'Adam, ember_adam_multi ({-(-len(params) // cuda.SLOTS)} launches)':
            lambda: cuda.adam_steps(flat, *coef),
    })
    for k, fn in calls.items():
        try:
            h, wl = host_us(fn, 20 if 'Adam' in k or 'softmax' in k else 200)
            print(f'W9 launch  {k:44s} host {h:8.1f} us   with GPU {wl:8.1f} us')
        except Exception as e:   # noqa: BLE001
            print(f'W9 launch  {k:44s} FAIL {type(e).__name__}: {str(e)[:150]}')


def windows():
    """LeNet's (W4's, batch 64) convolution, max pooling and SGD with ember's kernels and with
    their composites (``EMBER_KERNELS=0``'s paths: a copy or add per kernel tap, five
    launches a parameter)."""
    import ember
    import ember.nn.functional as F
    from ember.backend import cuda
    x = ember.randn(64, 6, 14, 14, device='cuda', requires_grad=True)
    w = ember.randn(16, 6, 5, 5, device='cuda', requires_grad=True)
    a = ember.randn(64, 6, 28, 28, device='cuda', requires_grad=True)
    net = ember.nn.Sequential(ember.nn.Conv2d(1, 6, 5, padding=2), ember.nn.Conv2d(6, 16, 5),
                              ember.nn.Linear(400, 120), ember.nn.Linear(120, 84),
                              ember.nn.Linear(84, 10)).to('cuda')
    for p in net.parameters():
        p.grad = ember.randn(*p.shape, device='cuda')
    sgd = ember.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    calls = {
        'conv2d 6->16 5x5 forward': lambda: F.conv2d(x, w),
        'conv2d 6->16 5x5 forward and backward': lambda: F.conv2d(x, w).sum().backward(),
        'max_pool2d 2 forward': lambda: F.max_pool2d(a, 2),
        'max_pool2d 2 forward and backward': lambda: F.max_pool2d(a, 2).sum().backward(),
        'SGD momentum, LeNet\'s 10 parameters': sgd.step,
    }
    for k, fn in calls.items():
        for on in (True, False):
            saved, cuda.KERNELS[0] = cuda.KERNELS[0], on
            label = f'{k}, {"ember kernels" if on else "composite"}'
            try:
                h, wl = host_us(fn, 50)
                print(f'W4 launch  {label:56s} host {h:8.1f} us   with GPU {wl:8.1f} us')
            except Exception as e:   # noqa: BLE001
                print(f'W4 launch  {label:56s} FAIL {type(e).__name__}: {str(e)[:150]}')
            finally:
                cuda.KERNELS[0] = saved


if __name__ == '__main__':
    main()
    launches()
    windows()
