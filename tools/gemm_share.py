"""How much of torch eager's training step is matrix products: the floor under any
``ember.compile/torch`` ratio that keeps the same products.

For each workload (bench/workloads.py, as the benchmark builds it, 1 thread) this times
PyTorch's eager step, then profiles it with ``torch.profiler`` and sums the self time of its
product and convolution ops (``aten::mm``, ``addmm``, ``bmm``, ``mkldnn_convolution``,
``convolution_backward``). ember runs the same products through the same MKL sgemm
(measured alike on this machine), so a compiled ember step takes at least that share of
torch's step, plus whatever else it does (the optimizer, elementwise passes).

Usage: PYTHONPATH=. python tools/gemm_share.py [W3 W4 W5]   (from the repository root; needs
torch, the test oracle)
"""
import os
import sys
import time

for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ[_var] = '1'   # (before torch is imported: the benchmark's one thread)

PRODUCTS = ('aten::mm', 'aten::bmm', 'aten::addmm', 'aten::mkldnn_convolution',
            'aten::convolution_backward')


def share(key, steps=20):
    """(torch's ms per eager step of workload ``key``, ms of it in products)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from bench import workloads as W
    torch.set_num_threads(1)
    w = W.WORKLOADS[key]
    model = w.model(torch)
    W.load_weights(torch, model, W.init_weights(model, w.init))
    ctx = dict(data=w.data(0), device='cpu', amp=None, on_device={}, model=model,
               optimizer=w.optimizer(torch, model.parameters()))
    for i in range(3):
        w.step(torch, ctx, i).item()
    start = time.perf_counter()
    for i in range(steps):
        w.step(torch, ctx, i).item()
    step_ms = (time.perf_counter() - start) / steps * 1e3
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(steps):
            w.step(torch, ctx, i).item()
    product_us = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in PRODUCTS)
    return step_ms, product_us / steps / 1e3


def main(keys):
    print('| workload | torch eager ms/step | of it in products, ms | share |')
    print('|---|---|---|---|')
    for key in keys:
        step_ms, product_ms = share(key)
        print(f'| {key} | {step_ms:.2f} | {product_ms:.2f} | {product_ms / step_ms:.2f} |')


if __name__ == '__main__':
    main(sys.argv[1:] or ['W3', 'W4', 'W5'])
