"""The multi-process jobs the tests start (``python -m ember.distributed.run --nproc N
tests/distributed/jobs.py JOB --out FILE ...``). Each rank runs the job; rank 0 writes what
the test checks to ``--out`` as JSON. Nothing runs on import (pytest imports it for doctests).
"""
import argparse
import contextlib
import json
import os
import signal
import sys
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _setup(key):
    """A bench workload's data, model (rank-dependent weights before the wrap, so that the
    wrap's broadcast is what makes them equal) and step inputs."""
    sys.path.insert(0, ROOT)
    import ember
    from bench.workloads import WORKLOADS, init_weights, load_weights
    w = WORKLOADS[key]
    data = w.data(0)

    def model(seed=0):
        m = w.model(ember)
        load_weights(ember, m, init_weights(m, w.init, seed))
        return m

    ctx = dict(device='cpu', data=data, amp=None, on_device={})
    vocab = 65

    def loss_fn(m, x, y):
        out = m(x)
        if key == 'W5':
            return ember.nn.functional.cross_entropy(out.reshape(-1, vocab), y.reshape(-1))
        return ember.nn.functional.cross_entropy(out, y)
    return w, model, lambda i: w.step.inputs(ember, ctx, i), loss_fn


def _crc(params):
    return zlib.crc32(b''.join(p.detach().numpy().tobytes() for p in params))


def ddp(a):
    """DDP against one process on the whole batch: at every step rank 0 also computes the
    full batch's loss and gradient at the same parameters (a probe model), and every rank's
    parameters are compared bit for bit (a CRC gathered from all). ``--trajectory``: rank 0
    also trains two one-process models on the whole batch, the second started one ulp away,
    to measure how much the training amplifies rounding."""
    import ember
    import ember.distributed as dist
    dist.init_process_group('mpi')
    rank, world = dist.get_rank(), dist.get_world_size()
    w, make, inputs, loss_fn = _setup(a.workload)
    model = ember.nn.parallel.DistributedDataParallel(make(seed=rank), bucket_cap_mb=a.bucket_mb)
    opt = w.optimizer(ember, model.parameters())
    probe = make() if rank == 0 else None
    singles = [make(), make()] if rank == 0 and a.trajectory else []
    if singles:   # the second one-process run starts one ulp up in every weight
        with ember.no_grad():
            for p in singles[1].parameters():
                p.copy_(ember.from_numpy(np.nextafter(p.detach().numpy(), np.float32(np.inf))))
    single_opts = [w.optimizer(ember, m.parameters()) for m in singles]
    rec = dict(loss=[], probe_loss=[], grad_err=[], grad_scale=[], same_params=[],
               single_loss=[], nudged_loss=[], buckets=len(model._bucket_list))
    for i in range(a.steps):
        x, y = inputs(i)
        b = len(x) // world
        xs, ys = x[rank * b:(rank + 1) * b], y[rank * b:(rank + 1) * b]
        if probe is not None:
            with ember.no_grad():
                for p, q in zip(probe.parameters(), model.module.parameters()):
                    p.copy_(q)
            probe.zero_grad()
            pl = loss_fn(probe, x, y)
            pl.backward()
            rec['probe_loss'].append(float(pl))
        opt.zero_grad()
        total = 0.0
        m = len(xs) // a.accum
        for k in range(a.accum):
            sync = contextlib.nullcontext() if k == a.accum - 1 else model.no_sync()
            with sync:
                loss = loss_fn(model, xs[k * m:(k + 1) * m], ys[k * m:(k + 1) * m]) / a.accum
                loss.backward()
            total += float(loss)
        t = ember.tensor([total], dtype=ember.float64)
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        if probe is not None:
            rec['loss'].append(float(t[0]))
            errs = [float((q.grad - p.grad).abs().max()) for p, q in
                    zip(probe.parameters(), model.module.parameters())]
            scales = [float(p.grad.abs().max()) for p in probe.parameters()]
            rec['grad_err'].append(errs)
            rec['grad_scale'].append(scales)
        opt.step()
        crcs = ember.zeros(world, dtype=ember.int64)
        dist.all_gather_into_tensor(crcs, ember.tensor([_crc(model.parameters())]))
        for m, o, key in zip(singles, single_opts, ('single_loss', 'nudged_loss')):
            o.zero_grad()
            sl = loss_fn(m, x, y)
            sl.backward()
            o.step()
            rec[key].append(float(sl))
        rec['same_params'].append(len(set(crcs.tolist())) == 1)
    if rank == 0:
        _write(a.out, rec)


def collectives(a):
    """Every collective at world size N against NumPy's answer (each rank knows what every
    rank sends: rank r's tensor is a function of r)."""
    import ember
    import ember.distributed as dist
    dist.init_process_group('mpi')
    r, n = dist.get_rank(), dist.get_world_size()
    R = dist.ReduceOp
    vals = [np.arange(6, dtype=np.float32).reshape(2, 3) * (k + 1) - k for k in range(n)]
    checks = {}

    def mine():
        return ember.from_numpy(vals[r].copy())
    for op, want in ((R.SUM, sum(vals)), (R.AVG, sum(vals) / n),
                     (R.MAX, np.max(vals, 0)), (R.MIN, np.min(vals, 0))):
        t = mine()
        dist.all_reduce(t, op=op)
        checks[f'all_reduce {op.name}'] = bool(np.allclose(t.numpy(), want, rtol=1e-6))
    t = ember.tensor([r, 2 * r], dtype=ember.int64)
    work = dist.all_reduce(t, async_op=True)
    work.wait()
    checks['async int64 all_reduce'] = t.tolist() == [sum(range(n)), 2 * sum(range(n))]
    t = mine()
    dist.broadcast(t, src=n - 1)
    checks['broadcast'] = bool(np.array_equal(t.numpy(), vals[n - 1]))
    out = [ember.zeros(2, 3) for _ in range(n)]
    dist.all_gather(out, mine())
    checks['all_gather'] = all(np.array_equal(o.numpy(), v) for o, v in zip(out, vals))
    big = ember.zeros(2 * n, 3)
    dist.all_gather_into_tensor(big, mine())
    checks['all_gather_into_tensor'] = bool(np.array_equal(big.numpy(), np.concatenate(vals)))
    o = ember.zeros(3)
    dist.reduce_scatter(o, [ember.from_numpy(vals[r][0] + k) for k in range(n)])
    checks['reduce_scatter'] = bool(np.allclose(o.numpy(), sum(v[0] for v in vals) + n * r))
    o = ember.zeros(1, 3)
    dist.reduce_scatter_tensor(o, ember.from_numpy(np.concatenate([vals[r][:1]] * n)),
                               op=R.MAX)
    checks['reduce_scatter_tensor'] = bool(np.array_equal(o.numpy(), np.max(vals, 0)[:1]))
    t = mine()
    dist.reduce(t, dst=1, op=R.MAX)
    checks['reduce'] = bool(np.array_equal(t.numpy(), np.max(vals, 0) if r == 1 else vals[r]))
    got = [ember.zeros(2, 3) for _ in range(n)] if r == n - 1 else None
    dist.gather(mine(), got, dst=n - 1)
    checks['gather'] = r != n - 1 or all(np.array_equal(o.numpy(), v)
                                         for o, v in zip(got, vals))
    t = ember.zeros(2, 3)
    dist.scatter(t, [ember.from_numpy(v) for v in vals] if r == 0 else None, src=0)
    checks['scatter'] = bool(np.array_equal(t.numpy(), vals[r]))
    nxt, prv = (r + 1) % n, (r - 1) % n
    w = dist.isend(ember.full((4,), float(r)), dst=nxt)
    got = ember.zeros(4)
    sender = dist.recv(got, src=prv)
    w.wait()
    checks['send/recv ring'] = sender == prv and got.tolist() == [float(prv)] * 4
    dist.barrier()
    for name, fn in (('shape', lambda: dist.all_reduce(ember.zeros(2 + (r == 1)))),
                     ('dtype', lambda: dist.all_reduce(
                         ember.zeros(2, dtype=ember.float64 if r == 1 else ember.float32))),
                     ('call', lambda: dist.broadcast(ember.zeros(2)) if r == 1
                      else dist.all_reduce(ember.zeros(2)))):
        try:
            fn()
            checks[f'mismatched {name} raises'] = False
        except RuntimeError as e:
            checks[f'mismatched {name} raises'] = str(e)
    t = ember.zeros(3)
    dist.all_reduce(t)   # the group still works after the mismatches
    checks.update(unused())
    if r == 0:
        _write(a.out, checks)


def unused():
    """find_unused_parameters: a branch used only on rank 0, one used nowhere; against the
    full batch on one process. Then the same without the flag: the next forward raises."""
    import ember
    import ember.distributed as dist
    rank, world = dist.get_rank(), dist.get_world_size()
    nn = ember.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.never = nn.Linear(4, 2), nn.Linear(4, 2), nn.Linear(4, 2)

        def forward(self, x, use_b):
            return self.a(x) + (self.b(x) if use_b else 0)

    def make():
        ember.manual_seed(0)
        return Net()
    rng = np.random.default_rng(0)
    x = ember.from_numpy(rng.standard_normal((world * 3, 4)).astype(np.float32))
    model = nn.parallel.DistributedDataParallel(make(), find_unused_parameters=True)
    out = model(x[rank * 3:(rank + 1) * 3], use_b=rank == 0)
    (out.sum() / 3).backward()   # each rank's mean; DDP averages them
    ref = make()
    want = (ref.a(x).sum() + ref.b(x[:3]).sum()) / (3 * world)
    want.backward()
    rec = {}   # (the largest difference of each gradient)
    for name in ('a', 'b'):
        for p in ('weight', 'bias'):
            g = getattr(getattr(model.module, name), p).grad
            r_ = getattr(getattr(ref, name), p).grad
            rec[f'unused {name}.{p}'] = float((g - r_).abs().max())
    rec['unused: never has no grad'] = model.module.never.weight.grad is None
    plain = nn.parallel.DistributedDataParallel(make())
    plain(x[:3], use_b=False).sum().backward()
    try:
        plain(x[:3], use_b=False)
        rec['unused without the flag raises'] = False
    except RuntimeError as e:
        rec['unused without the flag raises'] = str(e)
    try:
        nn.parallel.DistributedDataParallel(nn.Linear(4, 2 + (rank == 1)))
        rec['different models raise'] = False
    except RuntimeError as e:
        rec['different models raise'] = str(e)
    bn = nn.parallel.DistributedDataParallel(nn.BatchNorm1d(4))
    bn(x[rank * 3:(rank + 1) * 3] + rank)        # each rank's own statistics...
    bn(x[:3])                                    # ...replaced by rank 0's before this one
    crcs = ember.zeros(world, dtype=ember.int64)
    dist.all_gather_into_tensor(crcs, ember.tensor([_crc(bn.module.buffers())]))
    rec['buffers broadcast'] = len(set(crcs.tolist())) == 1
    return rec


def checkpoint(a):
    """Train W3 with DDP; rank 0 saves model and optimizer after ``--save-at`` steps; with
    ``--load``, start from that checkpoint instead (at whatever world size this job has)."""
    import ember
    import ember.distributed as dist
    dist.init_process_group('mpi')
    rank, world = dist.get_rank(), dist.get_world_size()
    w, make, inputs, loss_fn = _setup('W3')
    model = ember.nn.parallel.DistributedDataParallel(make())
    opt = w.optimizer(ember, model.parameters())
    first = 0
    if a.load:
        state = ember.load(a.load)
        model.load_state_dict(state['model'])
        opt.load_state_dict(state['optimizer'])
        first = a.save_at
    losses = []
    for i in range(first, a.steps):
        x, y = inputs(i)
        b = len(x) // world
        opt.zero_grad()
        loss = loss_fn(model, x[rank * b:(rank + 1) * b], y[rank * b:(rank + 1) * b])
        loss.backward()
        opt.step()
        t = ember.tensor([float(loss)], dtype=ember.float64)
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        losses.append(float(t[0]))
        if i + 1 == a.save_at and not a.load and rank == 0:
            ember.save({'model': model.state_dict(), 'optimizer': opt.state_dict()}, a.save)
    if rank == 0:
        _write(a.out, dict(losses=losses, world=world))


def zero(a):
    """ZeroRedundancyOptimizer(Adam) against Adam, both under DDP on W3 from the same
    weights: the parameters after each step bit for bit, the state each rank keeps, the
    consolidated state against Adam's, and a run resumed from it."""
    import ember
    import ember.distributed as dist
    from ember.distributed.optim import ZeroRedundancyOptimizer
    dist.init_process_group('mpi')
    rank, world = dist.get_rank(), dist.get_world_size()
    w, make, inputs, loss_fn = _setup('W3')
    plain = ember.nn.parallel.DistributedDataParallel(make())
    sharded = ember.nn.parallel.DistributedDataParallel(make())
    adam = ember.optim.Adam(plain.parameters(), lr=1e-3)
    zero = ZeroRedundancyOptimizer(sharded.parameters(), ember.optim.Adam, lr=1e-3)

    def train(model, opt, i):
        x, y = inputs(i)
        b = len(x) // world
        opt.zero_grad()
        loss_fn(model, x[rank * b:(rank + 1) * b], y[rank * b:(rank + 1) * b]).backward()
        opt.step()
    rec = dict(same=[])
    for i in range(a.steps):
        train(plain, adam, i)
        train(sharded, zero, i)
        rec['same'].append(_crc(plain.parameters()) == _crc(sharded.parameters()))
    mine = sum(st['exp_avg'].size for st in zero.optim.state.values())
    sizes = ember.zeros(world, dtype=ember.int64)
    dist.all_gather_into_tensor(sizes, ember.tensor([mine]))
    rec['state elements per rank'] = sizes.tolist()
    rec['parameter elements'] = sum(p.numel() for p in plain.parameters())
    zero.consolidate_state_dict(to=0)
    if rank == 0:
        full, want = zero.state_dict(), adam.state_dict()
        rec['consolidated equals Adam\'s'] = (
            full['param_groups'] == want['param_groups'] and sorted(full['state']) ==
            sorted(want['state']) and all(
                bool((full['state'][k][n] == v).all()) if isinstance(v, ember.Tensor)
                else full['state'][k][n] == v for k, st in want['state'].items()
                for n, v in st.items()))
    again = ZeroRedundancyOptimizer(sharded.parameters(), ember.optim.Adam, lr=1e-3)
    again.load_state_dict(adam.state_dict())
    train(plain, adam, a.steps)
    train(sharded, again, a.steps)
    rec['resumed same'] = _crc(plain.parameters()) == _crc(sharded.parameters())
    if rank == 0:
        _write(a.out, rec)


def kill(a):
    """Rank 1 kills itself (SIGKILL) in the middle of training; the others are in DDP's
    all-reduce or the next collective when it dies."""
    import ember
    import ember.distributed as dist
    dist.init_process_group('mpi')
    rank = dist.get_rank()
    model = ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(8, 8))
    for step in range(1000):
        if step == 3 and rank == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        model(ember.ones(4, 8)).sum().backward()


def _write(path, rec):
    with open(path, 'w') as f:
        json.dump(rec, f)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument('job', choices=['ddp', 'collectives', 'checkpoint', 'kill', 'zero'])
    p.add_argument('--out')
    p.add_argument('--workload', default='W3')
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--accum', type=int, default=1)
    p.add_argument('--bucket-mb', type=float, default=25)
    p.add_argument('--trajectory', action='store_true')
    p.add_argument('--save')
    p.add_argument('--save-at', type=int, default=2)
    p.add_argument('--load')
    a = p.parse_args(argv)
    globals()[a.job](a)


if __name__ == '__main__':
    main()
