"""Host microseconds per CuPy call for the calls an ember GPT step makes most (sum, mean,
matmul, elementwise), at W5's and W9's sizes, with CuPy's reduction accelerators as set and
with none. The GPU runs asynchronously: a call's host time is what it costs the step when the
host, not the GPU, is the bottleneck (as ember's profile on the H200 showed).

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


if __name__ == '__main__':
    main()
