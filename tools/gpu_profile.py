"""Where an ember training step's time goes on the GPU: forward, backward and optimizer step
timed apart (synchronized), for ember and PyTorch on the same GPT workload, then a cProfile
of ember's host-side Python over a few steps (the GPU runs asynchronously, so a step is as
slow as the slower of the host issuing kernels and the GPU running them).

Usage: python tools/gpu_profile.py [W5|W9] [steps] [bf16]   (prints a report; run on a GPU
machine; ``bf16``: the forward and loss under autocast, as the benchmark's ``--amp bf16``)
"""
import contextlib
import cProfile
import io
import pstats
import statistics
import sys
import time

import numpy as np

from bench import workloads as W


def phases(fw, key, steps, amp=False):
    w = W.WORKLOADS[key]
    c = W.GPT if key == 'W5' else W.GPT_LARGE
    model = W.gpt(fw, c)
    W.load_weights(fw, model, W._gpt_init([(n, tuple(p.shape)) for n, p in
                                           model.named_parameters()], np.random.default_rng(0)))
    model = model.to('cuda')
    opt = fw.optim.AdamW(model.parameters(), lr=1e-3)
    data = w.data(0)['tokens']
    sync = fw.cuda.synchronize
    rng = np.random.default_rng(0)
    times = {'forward': [], 'backward': [], 'step': [], 'total': []}

    def one(record):
        starts = rng.integers(0, len(data) - c['seq'] - 1, c['batch'])
        rows = starts[:, None] + np.arange(c['seq'] + 1)
        x = fw.tensor(data[rows[:, :-1]], device='cuda')
        y = fw.tensor(data[rows[:, 1:]], device='cuda')
        sync()
        t0 = time.perf_counter()
        opt.zero_grad()
        with (fw.autocast(device_type='cuda', dtype=fw.bfloat16) if amp else
              contextlib.nullcontext()):
            loss = fw.nn.functional.cross_entropy(model(x).reshape(-1, c['vocab']),
                                                  y.reshape(-1))
        sync()
        t1 = time.perf_counter()
        loss.backward()
        sync()
        t2 = time.perf_counter()
        opt.step()
        sync()
        t3 = time.perf_counter()
        if record:
            for k, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
                times[k].append(dt * 1e3)
        return loss

    for _ in range(3):
        one(False)
    for _ in range(steps):
        one(True)
    return {k: statistics.median(v) for k, v in times.items()}, (model, opt, one)


def main():
    key = sys.argv[1] if len(sys.argv) > 1 else 'W5'
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    amp = len(sys.argv) > 3 and sys.argv[3] == 'bf16'
    import ember
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print(f'{key}{" bf16 autocast" if amp else ""}: median ms over {steps} steps, each phase '
          'synchronized')
    for fw in (ember, torch):
        med, _ = phases(fw, key, steps, amp)
        print(f"  {fw.__name__:6s} " + '  '.join(f'{k} {v:7.2f}' for k, v in med.items()))
    _, (model, opt, one) = phases(ember, key, 2, amp)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(5):
        one(False)
    ember.cuda.synchronize()
    prof.disable()
    for sort in ('tottime', 'cumulative'):
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats(sort).print_stats(30)
        print(f'---- ember cProfile, 5 steps, by {sort}')
        print('\n'.join(s.getvalue().splitlines()[:45]))


if __name__ == '__main__':
    main()
