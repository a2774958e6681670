"""How much of DDP's gradient all-reduce hides behind backward, on W5 (the 2-block GPT).

    python -m ember.distributed.run --nproc 2 bench/ddp_overlap.py [--steps 20]

Times, per rank, the median over ``--steps`` of: a DDP step (forward and backward, the
buckets' all-reduce overlapped with backward and waited for at its end); the same step
under ``no_sync()`` (compute alone); and the buckets' all-reduce alone (each bucket's buffer
through ``Iallreduce``, as DDP sends it). ``hidden`` is the share of the all-reduce the step
did not pay for: (compute + all-reduce - step) / all-reduce. Ranks line up with a barrier
before each timed part. Also prints the communication volume of a step: the bytes all-reduced
(the gradients, once) and what a ring all-reduce sends per rank, 2 (n - 1) / n of that.
"""
import argparse
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import ember  # noqa: E402
import ember.distributed as dist  # noqa: E402
from bench.workloads import WORKLOADS, init_weights, load_weights  # noqa: E402


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            return next(line.split(':', 1)[1].strip() for line in f
                        if line.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor() or 'unknown CPU'


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps', type=int, default=20)
    steps = p.parse_args().steps
    dist.init_process_group('mpi')
    rank, world = dist.get_rank(), dist.get_world_size()
    w = WORKLOADS['W5']
    model = w.model(ember)
    load_weights(ember, model, init_weights(model, w.init))
    ddp = ember.nn.parallel.DistributedDataParallel(model)
    ctx = dict(device='cpu', data=w.data(0), amp=None, on_device={})

    def loss_of(i):
        x, y = w.step.inputs(ember, ctx, i)
        b = len(x) // world
        out = ddp(x[rank * b:(rank + 1) * b])
        return ember.nn.functional.cross_entropy(out.reshape(-1, 65),
                                                 y[rank * b:(rank + 1) * b].reshape(-1))

    def timed(fn):
        dist.barrier()
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    def step(i):
        ddp.zero_grad()
        loss_of(i).backward()

    def compute(i):
        ddp.zero_grad()
        with ddp.no_sync():
            loss_of(i).backward()

    g = dist._state['group']
    buffers = [b.buf for b in ddp._bucket_list]

    def allreduce():
        g.wait([g.comm.Iallreduce(g.MPI.IN_PLACE, a, g.MPI.SUM) for a in buffers], 'buckets')

    step(0)   # warm-up (and the buckets' first fill)
    t = {'step': [], 'compute': [], 'allreduce': []}
    for i in range(steps):
        t['step'].append(timed(lambda: step(i)))
        t['compute'].append(timed(lambda: compute(i)))
        t['allreduce'].append(timed(allreduce))
    med = {k: float(np.median(v)) for k, v in t.items()}
    hidden = (med['compute'] + med['allreduce'] - med['step']) / med['allreduce']
    volume = sum(a.nbytes for a in buffers)
    rows = ember.zeros(world, 4, dtype=ember.float64)
    dist.all_gather_into_tensor(rows, ember.tensor(
        [[med['step'], med['compute'], med['allreduce'], hidden]], dtype=ember.float64))
    if rank == 0:
        print(f'W5 (2-block GPT, batch 16 x 64 tokens) on {world} ranks, {steps} steps; '
              f'{cpu_name()}, {os.cpu_count()} CPUs; OMP_NUM_THREADS='
              f'{os.environ.get("OMP_NUM_THREADS", "unset")}')
        print(f'gradients all-reduced per step: {volume / 1e6:.2f} MB in '
              f'{len(buffers)} buckets; a ring all-reduce sends '
              f'{2 * (world - 1) / world * volume / 1e6:.2f} MB per rank')
        print('| rank | DDP step (ms) | compute alone (ms) | all-reduce alone (ms) | '
              'compute + all-reduce (ms) | all-reduce hidden |')
        print('| --- | --- | --- | --- | --- | --- |')
        for r, (s, c, a, h) in enumerate(rows.tolist()):
            print(f'| {r} | {1e3 * s:.1f} | {1e3 * c:.1f} | {1e3 * a:.2f} | '
                  f'{1e3 * (c + a):.1f} | {100 * h:.0f}% |')
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
