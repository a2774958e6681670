"""The timing harness: one worker process per framework per workload, driven in turns.

For each workload the parent starts two workers, ``python -m bench.run --worker W3 ember``
and ``... torch``, with the same thread settings in their environment (set before NumPy or
PyTorch is imported). A worker imports only its framework (and NumPy; ember too for the
datasets that ship with it), builds the workload's data, and then answers commands on a
pipe: each ``run`` rebuilds the model from the same NumPy initial weights and trains
``steps`` steps, returning the wall seconds and the loss after every step. The parent sends
one warm-up run to each, then alternates measured runs ember, torch, ember, torch... so
that a busy neighbour slows both alike, and reports medians over the repeats.

Peak memory: after imports and data setup a worker resets the kernel's high-water mark of
its resident set (``/proc/self/clear_refs``, Linux) and records its resident set as the
baseline; the peak is ``VmHWM`` minus that baseline, over all its runs (warm-up included),
i.e. the most memory training ever added on top of the framework and the data. Where
``clear_refs`` cannot be written the high-water mark is ``ru_maxrss`` and the baseline the
resident set then (a lower bound if imports peaked higher). PyTorch's own allocator and
NumPy's allocations are both counted, as both come out of the process's RSS.

With ``--device cuda`` the workers put models and inputs on the GPU, synchronize the device
before reading the clock at the start and end of a run, and measure peak memory as device
memory from each framework's allocator (``fw.cuda.reset_peak_memory_stats`` and
``fw.cuda.max_memory_allocated``: PyTorch's caching allocator, ember's CuPy memory pool).
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

THREAD_VARS = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS',
               'VECLIB_MAXIMUM_THREADS', 'NUMEXPR_NUM_THREADS')
# Set on some processors; they slow a current NumPy, so benchmark processes drop them.
BLAS_TUNING_VARS = ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE')
FRAMEWORKS = ('ember', 'torch')
# the compiled runners: the same step through the framework's compile (batch as arguments)
COMPILED = {'ember_compiled': 'ember', 'torch_compiled': 'torch'}
LABEL = dict(ember='ember', torch='torch', ember_compiled='ember.compile',
             torch_compiled='torch.compile')
SCHEMA = 1
LOSS_FLAG = 1e-4   # compiled vs eager losses over the first steps: more than float32 rounding


def worker_env(threads, memory=False):
    """The environment of a worker: pinned threads, no OpenBLAS core-type overrides; for a
    memory worker, glibc's malloc hands every block over 64 KiB straight back to the OS."""
    env = dict(os.environ)
    if memory:
        env.update(MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0')
    for k in THREAD_VARS:
        env[k] = str(threads)
    for k in BLAS_TUNING_VARS:
        env.pop(k, None)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env['PYTHONPATH'] = os.pathsep.join(p for p in (root, env.get('PYTHONPATH')) if p)
    return env


# ------------------------------------------------------------------ memory

def _status_kib(field):
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class PeakMemory:
    """Peak resident-set growth of this process since ``start()``, in MiB."""

    def start(self):
        import resource
        self.method = 'VmHWM after clear_refs'
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        except OSError:
            self.method = 'ru_maxrss'
        rss = _status_kib('VmRSS')
        if rss is None:   # not Linux: the high-water mark so far is the best baseline
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            rss = rss // 1024 if sys.platform == 'darwin' else rss
        self.base_kib = rss

    def peak_mib(self):
        import resource
        hwm = _status_kib('VmHWM') if self.method != 'ru_maxrss' else None
        if hwm is None:
            hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            hwm = hwm // 1024 if sys.platform == 'darwin' else hwm
        return max(0, hwm - self.base_kib) / 1024


class DeviceMemory:
    """Peak growth of the device memory ``fw`` has allocated since ``start()``, in MiB, read
    from its allocator: ``fw.cuda.reset_peak_memory_stats()`` sets the peak to what is
    allocated now (the baseline), ``fw.cuda.max_memory_allocated()`` reads the peak.
    None where ``fw.cuda`` lacks these (the method says so)."""

    def __init__(self, fw):
        self.cuda = fw.cuda
        name = f'{fw.__name__}.cuda.max_memory_allocated'
        self.ok = all(hasattr(fw.cuda, f)
                      for f in ('reset_peak_memory_stats', 'max_memory_allocated'))
        self.method = name if self.ok else f'none: {name} missing'

    def start(self):
        if self.ok:
            self.cuda.synchronize()
            self.cuda.reset_peak_memory_stats()
            self.base = self.cuda.max_memory_allocated()

    def peak_mib(self):
        if not self.ok:
            return None
        return max(0, self.cuda.max_memory_allocated() - self.base) / 2**20


# ------------------------------------------------------------------ the worker

def _blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{'note': 'threadpoolctl is not installed'}]
    keys = ('user_api', 'internal_api', 'version', 'architecture', 'num_threads',
            'threading_layer')
    return [{k: i.get(k) for k in keys} for i in threadpool_info()]


def worker(key, framework, threads, device='cpu', amp=None, compiled=False):
    """Serve ``run`` commands for workload ``key`` on ``framework`` and ``device``, with
    ``amp`` (None, 'bf16' or 'fp16') where the workload honours it, the step through
    ``fw.compile`` if ``compiled``; JSON lines on a pipe. An error is sent as
    ``{"error": traceback}`` before the worker exits."""
    reply = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)               # stray prints go to stderr, not into the protocol
    try:
        _serve(reply, key, framework, threads, device, amp, compiled)
    except Exception:
        import traceback
        reply.write(json.dumps(dict(error=traceback.format_exc())) + '\n')
        reply.flush()
        raise


def _serve(reply, key, framework, threads, device, amp, compiled):
    import gc

    import numpy as np
    if framework == 'torch':
        import torch as fw
        fw.set_num_threads(threads)
        try:
            fw.set_num_interop_threads(threads)
        except RuntimeError:
            pass
    else:
        import ember as fw
        from ember.backend import mkl
        mkl.available()   # loads MKL now (ember does at its first product), so BLAS lists it
    from bench.workloads import WORKLOADS, amp_dtype
    w = WORKLOADS[key]
    amp = amp if w.amp else None
    amp_fw_dtype = amp_dtype(fw, amp)    # fails here, clearly, if fw lacks autocast or dtype
    data = w.data(0)
    on_device = {}                          # the inputs _whole copied to the GPU, kept
    if device == 'cpu':
        mem, sync = PeakMemory(), None
    else:
        mem, sync = DeviceMemory(fw), fw.cuda.synchronize
    gc.collect()
    mem.start()
    hello = dict(framework=framework, version=fw.__version__, numpy=np.__version__,
                 blas=_blas_info(), memory_method=mem.method, device=device, amp=amp,
                 compiled=compiled)
    if compiled and framework == 'torch':
        hello['cxx'] = _torch_cxx()
    if framework == 'torch':
        hello['torch_threads'] = fw.get_num_threads()
        if device != 'cpu':
            hello['device_name'] = fw.cuda.get_device_name()
            hello['cuda'] = fw.version.cuda
            hello['tf32'] = _torch_without_tf32(fw)
    elif device != 'cpu':
        import cupy
        hello['cupy'] = cupy.__version__
    reply.write(json.dumps(hello) + '\n')
    reply.flush()
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd['cmd'] == 'quit':
            break
        if cmd.get('reset_memory'):
            gc.collect()
            mem.start()
        ctx = dict(data=data, device=device, amp=amp_fw_dtype, on_device=on_device)
        out = _run(fw, w, ctx, cmd, sync, mem, compiled)
        del ctx     # and _run has returned: this run's model and optimizer are gone
        gc.collect()
        reply.write(json.dumps(out) + '\n')
        reply.flush()


def _torch_without_tf32(torch):
    """Turn off TF32 for cuDNN convolutions (on by default; matmuls are IEEE by default), so
    that float32 is IEEE float32 in torch as in ember; returns the settings, or the error."""
    import warnings
    try:
        with warnings.catch_warnings():   # torch >= 2.9 warns that allow_tf32 will go
            warnings.simplefilter('ignore')
            torch.backends.cudnn.allow_tf32 = False
            return dict(matmul=torch.backends.cuda.matmul.allow_tf32,
                        cudnn=torch.backends.cudnn.allow_tf32)
    except Exception as e:  # a future torch without the flags: run with its defaults
        return dict(error=repr(e))


def _torch_cxx():
    """The C++ compiler torch.compile's default backend (Inductor) would use on the CPU, or
    why there is none (the first call then fails with that reason)."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler
        return get_cpp_compiler()
    except Exception as e:   # noqa: BLE001  (any failure is the answer)
        return f'none: {type(e).__name__}: {e}'.strip()


def _compiled_step(fw, w, ctx):
    """(``step(i)``: ``w``'s step with its compute through ``fw.compile``, the batch as its
    tensor arguments; ``compiles()``: a count that grows when a call compiles; ``graphs()``:
    what was compiled). A fresh compile: ember captures per compiled function; torch's
    caches are reset."""
    def train_step(*tensors):
        return w.step.compute(fw, ctx, *tensors)
    if fw.__name__ == 'torch':
        from torch._dynamo.utils import counters
        fw._dynamo.reset()
        counters.clear()     # reset() keeps them: graphs() counts this run's alone
        fn = fw.compile(train_step)
        return (lambda i: fn(*w.step.inputs(fw, ctx, i))), \
            (lambda: counters['frames']['total']), (lambda: _torch_graphs(counters))
    fn = fw.compile(train_step)
    return (lambda i: fn(*w.step.inputs(fw, ctx, i))), (lambda: fn.recompiles), \
        (lambda: _ember_graphs(fn))


def _ember_graphs(fn):
    """Whether ember's compiled step replays a program, and the graph breaks if not."""
    p = fn.last
    breaks = [] if p is None else [f'{why} ({where})' for why, where in p.breaks]
    return dict(replays=p is not None and p.fn is not None and not fn.given_up,
                recompiles=fn.recompiles, given_up=fn.given_up,
                breaks=list(dict.fromkeys(breaks))[:3], graph_breaks=len(breaks))


def _torch_graphs(counters):
    return dict(graphs=counters['stats']['unique_graphs'],
                graph_breaks=sum(counters['graph_break'].values()))


def _run(fw, w, ctx, cmd, sync, mem, compiled=False):
    """One run in a worker: a fresh model from the NumPy weights, ``cmd['steps']`` steps
    (through ``fw.compile`` if ``compiled``), each timed too, with the steps that compiled
    (``compile_steps``: the steps that captured or compiled, not to be timed)."""
    import numpy as np

    from bench.workloads import init_weights, load_weights
    checksum = None
    if w.model is not None:
        model = w.model(fw)
        weights = init_weights(model, w.init)
        load_weights(fw, model, weights)
        if ctx['device'] != 'cpu':
            model.to(ctx['device'])
        checksum = float(sum(np.float64(a).sum() for a in weights.values()))
        ctx['model'] = model
        ctx['optimizer'] = w.optimizer(fw, model.parameters())
    if compiled:
        step, compiles, graphs = _compiled_step(fw, w, ctx)
    else:
        def step(i):
            return w.step(fw, ctx, i)
        compiles, graphs = (lambda: 0), None
    losses, times, compile_steps = [], [], []
    clock = time.perf_counter
    if sync:
        sync()
    t0 = clock()
    c0 = time.process_time()
    for i in range(cmd['steps']):
        n, t = compiles(), clock()
        losses.append(float(step(i).item()))
        times.append(clock() - t)
        if compiles() != n:
            compile_steps.append(i)
    if sync:
        sync()
    seconds = clock() - t0
    cpu = time.process_time() - c0
    out = dict(seconds=seconds, cpu_seconds=cpu, steps=cmd['steps'], losses=losses,
               step_times=times, compile_steps=compile_steps,
               init_checksum=checksum, peak_mib=mem.peak_mib())
    if graphs is not None:
        out['graphs'] = graphs()
    if w.evaluate is not None and cmd.get('evaluate'):
        out.update(w.evaluate(fw, ctx))
    return out


class WorkerDied(RuntimeError):
    """A worker failed; ``detail`` is its traceback where it could send one, ``reason`` the
    exception's line in it."""

    def __init__(self, message, detail=None, reason=None):
        super().__init__(message)
        self.detail, self.reason = detail, reason or message


def _exception_line(tb):
    """The last 'Type: message' line of a traceback (torch ends some with advice after it)."""
    lines = tb.strip().splitlines()
    found = [ln for ln in lines if re.match(r'[A-Za-z_][\w.]*: \S', ln)]
    return found[-1] if found else lines[-1]


class Worker:
    """The parent's handle on one worker process."""

    def __init__(self, key, framework, threads, memory=False, device='cpu', amp=None,
                 compiled=False, env=None):
        self.name = f"{key} {framework}{'.compile' if compiled else ''}"
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'bench.run', '--worker', key, framework,
             '--threads', str(threads), '--device', device] +
            (['--amp', amp] if amp else []) + (['--compiled'] if compiled else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=dict(worker_env(threads, memory), **(env or {})))
        self._hello = None

    @property
    def hello(self):
        """The worker's greeting (versions, BLAS), read once it has imported and set up."""
        if self._hello is None:
            self._hello = self._read()
        return self._hello

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerDied(f'worker {self.name} died (exit {self.proc.wait()}); see its '
                             'stderr')
        msg = json.loads(line)
        if 'error' in msg:
            last = _exception_line(msg['error'])
            raise WorkerDied(f'worker {self.name} failed: {last}', msg['error'], last)
        return msg

    def run(self, steps, evaluate=False, reset_memory=False):
        self.hello  # noqa: B018  (wait for the set-up)
        cmd = dict(cmd='run', steps=steps, evaluate=evaluate, reset_memory=reset_memory)
        self.proc.stdin.write(json.dumps(cmd) + '\n')
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.proc.stdin.write('{"cmd": "quit"}\n')
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait(timeout=60)


# ------------------------------------------------------------------ the parent

def _quartiles(xs):
    if len(xs) < 2:
        return xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method='inclusive')
    return q[0], q[2]


def _trend(losses):
    """+1 rising, -1 falling, 0 flat (within 1e-6 relative) from first to last loss."""
    a, b = losses[0], losses[-1]
    if abs(b - a) <= 1e-6 * max(1.0, abs(a)):
        return 0
    return 1 if b > a else -1


MEMORY_STEPS = 5


def measure_memories(key, threads, steps):
    """Peak RSS growth (MiB) of one run of ``steps`` steps per framework, each in a fresh
    memory worker, after a one-step warm-up run whose model is freed (so the frameworks'
    one-time lazy set-up, such as loading kernels, is in the baseline and not charged to
    the workload). The frameworks take turns; the second imports while the first runs."""
    workers = {fw: Worker(key, fw, threads, memory=True) for fw in FRAMEWORKS}
    try:
        out = {}
        for fw, wk in workers.items():
            wk.run(1)
            out[fw] = wk.run(steps, reset_memory=True)['peak_mib']
            wk.close()
        return out
    finally:
        for wk in workers.values():
            if wk.proc.poll() is None:
                wk.close()


def bench_workload(w, steps=None, repeats=None, threads=1, warmup_steps=None, memory=True,
                   log=print, device='cpu', amp=None, compiled=()):
    """Warm up, then alternate ember and torch runs; return the workload's result dict.

    ``compiled``: the frameworks (``'ember'``, ``'torch'``) whose compiled step also runs,
    in its own worker, in turn after the eager ones (``_compiled``: its timed steps are the
    ones that did not compile). A compiled worker that fails is recorded with its error
    (``res['torch_compiled']['error']``) and the others go on.

    On a GPU the peak memory comes from the allocators' exact counters, so it is measured
    in the same workers, by one more run of ``min(steps, 5)`` steps after the timed ones;
    on the CPU in fresh memory workers (``measure_memories``). Not for the compiled runs."""
    steps = steps or w.steps
    repeats = w.repeats if (w.repeats and repeats is None) else (repeats or 3)
    warmup = warmup_steps if warmup_steps is not None else min(steps, 3)
    amp = amp if w.amp else None
    runners = list(FRAMEWORKS) + [f'{fw}_compiled' for fw in compiled]
    # torch.compile's first compile in a fresh worker is cold: no on-disk cache from before
    cache = tempfile.mkdtemp(prefix='bench-torch-cache-') if 'torch' in compiled else None
    env = dict(TORCHINDUCTOR_CACHE_DIR=cache, TRITON_CACHE_DIR=os.path.join(cache, 'triton')) \
        if cache else None
    workers = {r: Worker(w.key, COMPILED.get(r, r), threads, device=device, amp=amp,
                         compiled=r in COMPILED, env=env if r == 'torch_compiled' else None)
               for r in runners}
    peaks = {fw: None for fw in FRAMEWORKS}
    failed = {}

    def attempt(r, *a, **k):
        try:
            return workers[r].run(*a, **k)
        except WorkerDied as e:
            if r not in COMPILED:
                raise
            failed[r] = e
            log(f'  {w.key} {LABEL[r]} FAILED: {e}')

    try:
        cold = {r: attempt(r, warmup) for r in runners} if warmup else {}
        runs = {r: [] for r in runners}
        for k in range(repeats):
            for r in runners:
                if r not in failed:
                    runs[r].append(attempt(r, steps, evaluate=(k == 0 and r in FRAMEWORKS)))
            log(f'  {w.key} repeat {k + 1}/{repeats}: ' + ', '.join(
                f"{LABEL[r]} {1e3 * _timed_step_s(runs[r][-1]):.3f} ms/step"
                for r in runners if r not in failed))
        if memory and device != 'cpu':
            for fw in FRAMEWORKS:
                peaks[fw] = workers[fw].run(min(steps, MEMORY_STEPS),
                                            reset_memory=True)['peak_mib']
    finally:
        for wk in workers.values():
            if wk.proc.poll() is None:
                wk.close()
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
    if memory and device == 'cpu':
        peaks = measure_memories(w.key, threads, min(steps, MEMORY_STEPS))
    res = dict(key=w.key, name=w.name, about=w.about, steps=steps, repeats=repeats,
               warmup_steps=warmup, amp=amp, compiled=list(compiled))
    for fw in FRAMEWORKS:
        rs = runs[fw]
        per_step = [r['seconds'] / steps for r in rs]
        first = rs[0]
        d = dict(step_seconds=per_step, median_step_s=statistics.median(per_step),
                 median_run_s=statistics.median(r['seconds'] for r in rs),
                 cpu_over_wall=statistics.median(r['cpu_seconds'] / r['seconds'] for r in rs),
                 losses=first['losses'], final_loss=first['losses'][-1],
                 init_checksum=first['init_checksum'],
                 peak_mib=peaks[fw], cold_peak_mib=_max_or_none(r['peak_mib'] for r in rs),
                 worker=workers[fw].hello)
        for k in ('test_accuracy',):
            if k in first:
                d[k] = first[k]
        res[fw] = d
    for r in runners[len(FRAMEWORKS):]:
        res[r] = dict(error=failed[r].reason, traceback=failed[r].detail,
                      worker=workers[r]._hello) if r in failed \
            else _compiled(runs[r], runs, res[COMPILED[r]], workers[r].hello, cold.get(r))
    e, t = res['ember'], res['torch']
    ratios = [a / b for a, b in zip(e['step_seconds'], t['step_seconds'])]
    res['ratio'] = _spread(ratios)
    tl, el = t['final_loss'], e['final_loss']
    res['loss_rel_diff'] = abs(el - tl) / max(abs(tl), 1e-12)
    # long runs drift apart by float32 rounding (W8): compare the mean of the last 10 losses
    n = min(10, steps)
    et, tt = statistics.fmean(e['losses'][-n:]), statistics.fmean(t['losses'][-n:])
    res['tail_rel_diff'] = abs(et - tt) / max(abs(tt), 1e-12)
    res['same_init'] = e['init_checksum'] == t['init_checksum']
    res['trend_agrees'] = _trend(e['losses']) == _trend(t['losses'])
    # below 1 MiB the page-granular RSS says little: no ratio
    res['memory_ratio'] = e['peak_mib'] / t['peak_mib'] \
        if None not in (e['peak_mib'], t['peak_mib']) and t['peak_mib'] >= 1 else None
    return res


def _timed_step_s(run):
    """Seconds per step of a run, over the steps that did not compile (all, eager)."""
    times = [t for i, t in enumerate(run['step_times']) if i not in run['compile_steps']]
    return statistics.fmean(times) if times else float('nan')


def _compile_s(run):
    return sum(run['step_times'][i] for i in run['compile_steps'])


def _spread(ratios):
    lo, hi = _quartiles(ratios)
    return dict(median=statistics.median(ratios), per_repeat=ratios, min=min(ratios),
                max=max(ratios), q1=lo, q3=hi)


def _compiled(rs, runs, eager, hello, cold=None):
    """A compiled runner's result from its runs ``rs``. Its timed steps are those that did
    not compile (the first call captures or compiles; a new batch shape, W8's last batch of
    an epoch, compiles again); its ratios (``ratio``: to torch eager, ``over_eager``: to its
    own framework's eager) compare the same steps of the same repeat. ``loss_rel_diff``: the
    largest relative difference from eager over the steps (0: the same bits); ``losses_part``:
    the first 10 steps differ by more than ``LOSS_FLAG``, or the runs part as the eager
    table's (!) says (trend, the mean of the last 10 losses by 5 %): rounding differences
    grow over hundreds of steps (W8), a wrong program shows at once.
    ``compile_s``: the time of the steps that compiled; ``cold_compile_s`` the same in the
    warm-up run ``cold``, the worker's first compile (the timed runs' compiles find the
    framework's lazy set-up and in-process caches done: ember's Numba kernels, torch's)."""
    ratio, over_eager, per_step = [], [], []
    for k, run in enumerate(rs):
        timed = [i for i in range(run['steps']) if i not in run['compile_steps']]
        if not timed:
            continue

        def mean(times):
            return statistics.fmean(times[i] for i in timed)
        per_step.append(mean(run['step_times']))
        ratio.append(per_step[-1] / mean(runs['torch'][k]['step_times']))
        over_eager.append(per_step[-1] / mean(runs[hello['framework']][k]['step_times']))
    first = rs[0]
    diffs = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(first['losses'], eager['losses'])]
    n = min(10, len(diffs))
    tail = abs(statistics.fmean(first['losses'][-n:]) - statistics.fmean(eager['losses'][-n:]))
    part = max(diffs[:n]) > LOSS_FLAG or _trend(first['losses']) != _trend(eager['losses']) \
        or tail > 0.05 * max(abs(statistics.fmean(eager['losses'][-n:])), 1e-12)
    d = dict(step_seconds=per_step,
             median_step_s=statistics.median(per_step) if per_step else None,
             first_call_s=[r['step_times'][0] for r in rs],
             compile_s=[_compile_s(r) for r in rs],
             cold_first_call_s=cold['step_times'][0] if cold else None,
             cold_compile_s=_compile_s(cold) if cold else None,
             compile_steps=first['compile_steps'], graphs=first.get('graphs'),
             ratio=_spread(ratio) if ratio else None,
             over_eager=_spread(over_eager) if ratio else None,
             losses=first['losses'], final_loss=first['losses'][-1],
             loss_rel_diff=max(diffs), losses_part=part, worker=hello)
    d['median_first_call_s'] = statistics.median(d['first_call_s'])
    d['median_compile_s'] = statistics.median(d['compile_s'])
    return d


def _max_or_none(xs):
    xs = list(xs)
    return None if None in xs else max(xs)


def machine():
    """A description of this machine and its software, recorded with every table."""
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    here = os.path.dirname(__file__)
    try:
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True,
                                text=True, cwd=here).stdout.strip()
        changed = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no', '--',
                                  'ember', 'bench'], capture_output=True, text=True,
                                 cwd=os.path.dirname(here)).stdout.strip()
        if commit and changed:   # the run measured uncommitted code
            commit += '+dirty'
    except OSError:
        commit = ''
    return dict(cpu=cpu, logical_cpus=os.cpu_count(), platform=platform.platform(),
                python=platform.python_version(), commit=commit or None)


def run_all(keys, steps=None, repeats=None, threads=1, out='bench/results', memory=True,
            log=print, device='cpu', amp=None, compiled=()):
    """Benchmark the workloads ``keys`` on ``device`` ('cpu' or 'cuda'), the GPT ones under
    ``amp`` (None, 'bf16' or 'fp16'), with the compiled steps of the frameworks in
    ``compiled`` (of 'ember', 'torch'); write JSON and the chart under ``out``. A workload
    whose worker fails is recorded with its ``error`` and the others still run; the JSON is
    rewritten after each workload, so a run cut short keeps what it finished."""
    from bench.workloads import WORKLOADS
    head = dict(schema=SCHEMA, started=time.strftime('%Y-%m-%dT%H:%M:%S%z'), threads=threads,
                device=device, amp=amp, compiled=list(compiled), machine=machine())
    results, report = [], None
    path = os.path.join(out, 'bench.json') if out else None
    for key in keys:
        w = WORKLOADS[key]
        log(f'{key} {w.name} ...')
        try:
            results.append(bench_workload(w, steps=steps, repeats=repeats, threads=threads,
                                          memory=memory, log=log, device=device, amp=amp,
                                          compiled=compiled))
        except WorkerDied as e:
            log(f'  {key} FAILED: {e}')
            results.append(dict(key=key, name=w.name, about=w.about, error=str(e),
                                traceback=e.detail))
        report = _report(head, results) or report
        if path and report:
            os.makedirs(out, exist_ok=True)
            with open(path, 'w') as f:
                json.dump(report, f, indent=1)
    if report is None:
        raise WorkerDied('every workload failed: ' + '; '.join(r['error'] for r in results))
    if path:
        report['json_path'] = path
        report['chart_path'] = chart(report, os.path.join(out, 'bench.png'))
    return report


def _report(head, results):
    """The report on ``results`` so far, with the software the first good workload's workers
    reported (None while every workload has failed)."""
    done = [r for r in results if 'error' not in r]
    if not done:
        return None
    hello = {fw: done[0][fw]['worker'] for fw in FRAMEWORKS}
    methods = {fw: h['memory_method'] for fw, h in hello.items()}
    return dict(head, device_name=hello['torch'].get('device_name', head['machine']['cpu']),
                software=dict(ember=hello['ember']['version'],
                              torch=hello['torch']['version'],
                              numpy=hello['ember']['numpy'],
                              blas=hello['ember']['blas'],
                              torch_threads=hello['torch'].get('torch_threads'),
                              cuda=hello['torch'].get('cuda'),
                              cupy=hello['ember'].get('cupy'),
                              torch_tf32=hello['torch'].get('tf32')),
                memory_method=methods['ember'] if len(set(methods.values())) == 1 else
                '; '.join(f'{fw}: {m}' for fw, m in methods.items()),
                workloads=list(results))


# ------------------------------------------------------------------ output

def table(report):
    """The results as a fixed-width text table (a Markdown table, too)."""
    m, s = report['machine'], report['software']
    blas = ', '.join(f"{b.get('internal_api')} {b.get('version')} {b.get('architecture')} "
                     f"({b.get('num_threads')} thr)" for b in s['blas'] if 'internal_api' in b)
    amp = f"{report['amp']} (GPT workloads only; the others float32)" if report['amp'] \
        else 'none (float32)'
    memory = 'peak RSS growth over the post-setup baseline' if report['device'] == 'cpu' \
        else "peak device memory allocated over the run's baseline"
    lines = [f"machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['platform']}, "
             f"Python {m['python']}",
             f"software: ember {s['ember']} ({m['commit']}), torch {s['torch']}, numpy "
             f"{s['numpy']}, BLAS {blas or '?'}" +
             (f", CUDA {s['cuda']}, CuPy {s['cupy']}" if report['device'] != 'cpu' else ''),
             f"device: {report['device']} ({report['device_name']}); amp: {amp}",
             f"threads: {report['threads']} (torch.set_num_threads and OMP/OpenBLAS/MKL "
             f"variables); memory: {memory} ({report['memory_method']})", '']
    head = ('| workload | steps x reps | ember ms/step | torch ms/step | ember/torch '
            '(min-max) | ember loss | torch loss | ember MiB | torch MiB | MiB ratio |')
    lines += [head, '|' + '|'.join('---' for _ in range(10)) + '|']
    for r in report['workloads']:
        if 'error' in r:
            lines.append(f"| {r['key']} {r['name']} | FAILED: {r['error']} |")
            continue
        e, t, q = r['ember'], r['torch'], r['ratio']
        flag = '' if r['trend_agrees'] and r['tail_rel_diff'] < 0.05 else ' (!)'
        name = f"{r['key']} {r['name']}" + (f" {r['amp']}" if r.get('amp') else '')
        lines.append(
            f"| {name} | {r['steps']} x {r['repeats']} | "
            f"{_ms(e['median_step_s'])} | {_ms(t['median_step_s'])} | "
            f"{q['median']:.2f} ({q['min']:.2f}-{q['max']:.2f}) | "
            f"{e['final_loss']:.5g} | {t['final_loss']:.5g}{flag} | "
            f"{_mib(e['peak_mib'])} | {_mib(t['peak_mib'])} | {_ratio(r['memory_ratio'])} |")
    if any(r.get('compiled') for r in report['workloads']):
        lines += [''] + compiled_table(report)
    for r in report['workloads']:
        if 'test_accuracy' in r.get('ember', {}):
            e, t = r['ember'], r['torch']
            lines.append('')
            lines.append(f"{r['key']} {r['name']}: {r['steps']} steps, wall "
                         f"{e['median_run_s']:.2f} s ember vs {t['median_run_s']:.2f} s "
                         f"torch; test accuracy {100 * e['test_accuracy']:.1f} % ember vs "
                         f"{100 * t['test_accuracy']:.1f} % torch")
    return '\n'.join(lines)


def compiled_table(report):
    """The compiled steps' lines: time per step over the steps that did not compile, ratios
    to torch eager over the same steps, compile time, losses against eager; notes below."""
    lines = ['compiled (ember.compile; torch.compile, default backend): ms/step and ratios over '
             "each run's steps that did not compile, against the same steps of the eager "
             'runs; compile s: the steps that compiled (ember: the first call), in a fresh '
             'worker; later runs in brackets; loss diff: the largest relative difference from '
             'the same framework eager over the steps (0: the same bits; (!) where the first 10 '
             f'steps differ by over {LOSS_FLAG:g} or the runs part as (!) above says)', '',
             '| workload | ember.compile ms/step | torch.compile ms/step | ember.compile/torch '
             '(min-max) | torch.compile/torch (min-max) | ember.compile/ember | ember compile s '
             '| torch compile s | loss diff ember / torch |', '|' + '---|' * 9]
    notes = []
    for r in report['workloads']:
        if 'error' in r or not r.get('compiled'):
            continue
        cells = {fw: _compiled_cells(r, fw, notes) for fw in ('ember', 'torch')}
        e, t = cells['ember'], cells['torch']
        lines.append(f"| {r['key']} {r['name']} | {e['ms']} | {t['ms']} | {e['ratio']} | "
                     f"{t['ratio']} | {e['over']} | {e['compile']} | {t['compile']} | "
                     f"{e['diff']} / {t['diff']} |")
    return lines + [f'note: {n}' for n in notes]


def _compiled_cells(r, fw, notes):
    """The table cells of workload ``r``'s compiled runner of ``fw``; notes appended."""
    d, label = r.get(f'{fw}_compiled'), LABEL[f'{fw}_compiled']
    cells = dict(ms='-', ratio='-', over='-', compile='-', diff='-')
    if d is None:
        return cells
    if 'error' in d:
        cxx = (d.get('worker') or {}).get('cxx', '')
        notes.append(f"{r['key']}: {label} failed: {d['error']}" +
                     (f' (C++ compiler: {cxx})' if cxx.startswith('none') and
                      'C++ compiler' not in d['error'] else ''))
        return dict(cells, ms='failed')
    g = d.get('graphs') or {}
    eager = ' (eager)' if fw == 'ember' and not g.get('replays', True) else ''
    if eager:
        why = '; '.join(g.get('breaks') or [g.get('given_up') or '?'])
        notes.append(f"{r['key']}: {label} ran eagerly ({g.get('graph_breaks')} graph "
                     f'breaks): {why}')
    flag = ' (!)' if d.get('losses_part', d['loss_rel_diff'] > LOSS_FLAG) else ''
    if flag:
        notes.append(f"{r['key']}: {label}'s losses part from eager's (up to "
                     f"{d['loss_rel_diff']:.2g} relative)")
    if d['median_step_s'] is None:
        notes.append(f"{r['key']}: {label} compiled at every step: no step to time")
    q = d['ratio']
    cold = d.get('cold_compile_s')
    return dict(
        ms='-' if d['median_step_s'] is None else _ms(d['median_step_s']) + eager,
        ratio='-' if q is None else f"{_r(q['median'])} ({_r(q['min'])}-{_r(q['max'])})",
        over='-' if q is None else _r(d['over_eager']['median']),
        compile=('-' if cold is None else f'{cold:.3g}') + f" ({d['median_compile_s']:.3g})",
        diff=f"{d['loss_rel_diff']:.1g}{flag}")


def _r(x):
    """A ratio: two decimals, or two significant digits below 0.1."""
    return f'{x:.2f}' if x >= 0.1 else f'{x:.2g}'


def _mib(x):
    return '-' if x is None else f'{x:.1f}'


def _ratio(x):
    return '-' if x is None else f'{x:.2f}'


def _ms(s):
    ms = 1e3 * s
    return f'{ms:.3f}' if ms < 10 else f'{ms:.1f}'


def chart(report, path):
    """A bar chart of the step-time ratios to torch eager per workload: ember/torch, and
    ember.compile/torch and torch.compile/torch where they ran (log scale, line at 1)."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rs = [r for r in report['workloads'] if 'error' not in r]
    series = [('ember/torch', lambda r: r['ratio'], 'tab:blue')] + [
        (f'{LABEL[c]}/torch', lambda r, c=c: (r.get(c) or {}).get('ratio'), color)
        for c, color in (('ember_compiled', 'tab:green'), ('torch_compiled', 'tab:gray'))
        if any((r.get(c) or {}).get('ratio') for r in rs)]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(5, (0.6 + 0.5 * len(series)) * len(rs) + 2), 4))
    for k, (name, get, color) in enumerate(series):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(rs))]
        qs = [get(r) for r in rs]
        pts = [(x, q) for x, q in zip(xs, qs) if q]
        med = [q['median'] for _, q in pts]
        err = [[m - q['min'] for m, (_, q) in zip(med, pts)],
               [q['max'] - m for m, (_, q) in zip(med, pts)]]
        ax.bar([x for x, _ in pts], med, width, yerr=err, color=color, capsize=3, label=name)
        for (x, _), m in zip(pts, med):
            ax.annotate(f'{_r(m)}x', (x, m), ha='center', va='bottom', fontsize=7,
                        xytext=(0, 2), textcoords='offset points')
    ax.set_yscale('log')
    ax.axhline(1.0, color='k', lw=1)
    ax.set_xticks(range(len(rs)))
    ax.set_xticklabels([f"{r['key']}\n{r['name']}" for r in rs])
    ax.set_ylabel('time per step / PyTorch eager')
    if len(series) > 1:
        ax.legend(fontsize=8)
    amp = f", amp {report['amp']}" if report.get('amp') else ''
    ax.set_title(f"ember vs PyTorch, {report['threads']} thread(s), "
                 f"{report.get('device_name', report['machine']['cpu'])}{amp}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _worker_main(argv):
    p = argparse.ArgumentParser(prog='bench.run')
    p.add_argument('--worker', nargs=2, metavar=('KEY', 'FRAMEWORK'), required=True)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    p.add_argument('--amp', default=None, choices=('bf16', 'fp16'))
    p.add_argument('--compiled', action='store_true')
    a = p.parse_args(argv)
    worker(a.worker[0], a.worker[1], a.threads, a.device, a.amp, a.compiled)


if __name__ == '__main__':
    _worker_main(sys.argv[1:])
