"""Peak memory of one training step of W3, W4 and W5 (bench/workloads.py, as the benchmark
runs them) eager and through ``ember.compile`` after its capture, counted by tracemalloc as
tools/checkpoint_memory.py counts checkpointing (NumPy reports its arrays to it); with each
compiled step's first call (the capture: the compile time) and the step times.

Each run builds the model from the benchmark's initial weights, runs steps 0 and 1 (the
optimizer's state made; the compiled step captured at step 0 and replayed at step 1), then
measures step 2: its peak over what was allocated when it began (weights, optimizer state,
the last step's gradients), and its loss (eager and compiled must agree).

Usage: PYTHONPATH=. python tools/compile_memory.py [W3 W4 W5]   (from the repository root)
"""
import gc
import statistics
import sys
import time
import tracemalloc

import ember
from bench import workloads as W

MEASURED_STEP = 2


def setup(key):
    """Workload ``key``'s step and a fresh run context (model, optimizer, data), as the
    benchmark's worker makes them."""
    w = W.WORKLOADS[key]
    model = w.model(ember)
    W.load_weights(ember, model, W.init_weights(model, w.init))
    return w.step, dict(data=w.data(0), device='cpu', amp=None, on_device={}, model=model,
                        optimizer=w.optimizer(ember, model.parameters()))


def traced_peak(fn, *args):
    """(bytes ``fn(*args)`` allocated at its peak over what was allocated before, result)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    out = fn(*args)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, out


def run(key, compiled):
    """One run of ``key``: the measured step's peak and loss, the step times (s), the first
    call's time and, compiled, whether it replays a program (else its first graph break)."""
    step, ctx = setup(key)

    def train(*tensors):
        return step.compute(ember, ctx, *tensors)
    fn = ember.compile(train) if compiled else train
    times = []
    for i in range(MEASURED_STEP):
        t = time.perf_counter()
        float(fn(*step.inputs(ember, ctx, i)))
        times.append(time.perf_counter() - t)
    peak, loss = traced_peak(lambda: float(fn(*step.inputs(ember, ctx, MEASURED_STEP))))
    for i in range(MEASURED_STEP + 1, MEASURED_STEP + 6):
        t = time.perf_counter()
        float(fn(*step.inputs(ember, ctx, i)))
        times.append(time.perf_counter() - t)
    eager = None
    if compiled and (fn.last is None or fn.last.fn is None):
        eager = fn.last.breaks[0][0] if fn.last and fn.last.breaks else 'no program'
    return dict(peak=peak, loss=loss, first=times[0], step=statistics.median(times[1:]),
                eager=eager)


def main(keys):
    mb = 2.0 ** 20
    print('| workload | eager peak MiB | compiled peak MiB | compiled/eager | loss eager / '
          'compiled | first call s (compile) | step ms eager / compiled |')
    print('|---|---|---|---|---|---|---|')
    notes = []
    for key in keys:
        e, c = run(key, False), run(key, True)
        same = 'same' if e['loss'] == c['loss'] else f"{e['loss']:.8g} / {c['loss']:.8g}"
        print(f"| {key} {W.WORKLOADS[key].name} | {e['peak'] / mb:.2f} | {c['peak'] / mb:.2f} | "
              f"{c['peak'] / e['peak']:.2f} | {same} | {c['first']:.3f} (eager step "
              f"{e['first']:.3f}) | {1e3 * e['step']:.2f} / {1e3 * c['step']:.2f} |")
        if c['eager']:
            notes.append(f'{key}: ember.compile ran eagerly (graph break: {c["eager"]}), so '
                         'its compiled column is eager')
    for n in notes:
        print(f'note: {n}')
    print(f'(tracemalloc; step {MEASURED_STEP} of a fresh model, 1 thread as set by the '
          'environment; the first row\'s first call also pays the process\'s one-time set-up)')


if __name__ == '__main__':
    main([k.upper() for k in sys.argv[1:]] or ['W3', 'W4', 'W5'])
