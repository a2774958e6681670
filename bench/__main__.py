"""``python -m bench [--only W1,W3] [--steps N] [--threads T] [--repeats R] [--out DIR]
[--device cpu|cuda] [--amp bf16|fp16] [--compiled both|ember|none]``."""
import argparse
import sys

from bench.run import WorkerDied, run_all, table
from bench.workloads import WORKLOADS

COMPILED_CHOICES = dict(both=('ember', 'torch'), ember=('ember',), none=())


def parse_args(argv=None):
    """The command line, with ``keys``: the workloads to run in order."""
    p = argparse.ArgumentParser(
        prog='python -m bench',
        description='Time ember against PyTorch on the same workloads, weights and data.')
    p.add_argument('--only', action='append', default=None, metavar='W1,W3',
                   help='workloads to run (comma-separated or repeated; default: all, '
                        'except W9 on the CPU)')
    p.add_argument('--steps', type=int, default=None,
                   help="timed steps per run (default: each workload's own; for W8 it "
                        'cuts training short of its 5 epochs)')
    p.add_argument('--threads', type=int, default=1,
                   help='threads for both frameworks (default 1; 2 only on a quiet machine)')
    p.add_argument('--repeats', type=int, default=None,
                   help='measured runs per framework, alternated (default 3; W8 1, W9 2)')
    p.add_argument('--out', default='bench/results',
                   help="folder for bench.json and bench.png ('' to write nothing)")
    p.add_argument('--device', default='cpu', choices=('cpu', 'cuda'),
                   help='where both frameworks run (default cpu)')
    p.add_argument('--amp', default=None, choices=('bf16', 'fp16'),
                   help='mixed precision: the GPT workloads (W5, W9) run forward and loss '
                        'under autocast with this dtype (fp16 without loss scaling); the '
                        'others ignore it (default: none, float32)')
    p.add_argument('--compiled', default='both', choices=tuple(COMPILED_CHOICES),
                   help='also time the compiled step: ember.compile and torch.compile '
                        "(both, the default), ember.compile alone (ember: torch.compile "
                        'takes seconds to minutes to compile each run), or none')
    a = p.parse_args(argv)
    a.compile = COMPILED_CHOICES[a.compiled]
    keys = [k for k, w in WORKLOADS.items() if w.cpu_suite or a.device != 'cpu']
    if a.only:
        keys = [k.strip().upper() for arg in a.only for k in arg.split(',') if k.strip()]
        unknown = [k for k in keys if k not in WORKLOADS]
        if unknown:
            p.error(f"unknown workload(s) {', '.join(unknown)}; choose from "
                    f"{', '.join(WORKLOADS)}")
    if a.steps is not None and a.steps < 1 or a.repeats is not None and a.repeats < 1 \
            or a.threads < 1:
        p.error('--steps, --repeats and --threads must be positive')
    a.keys = keys
    return a


def main(argv=None):
    a = parse_args(argv)
    try:
        report = run_all(a.keys, steps=a.steps, repeats=a.repeats, threads=a.threads, out=a.out,
                         log=lambda s: print(s, file=sys.stderr, flush=True),
                         device=a.device, amp=a.amp, compiled=a.compile)
    except WorkerDied as e:
        print(f'python -m bench: {e}', file=sys.stderr)
        return 1
    print(table(report))
    if a.out:
        print(f"\nwrote {report['json_path']}" +
              (f" and {report['chart_path']}" if report.get('chart_path') else ''))
    return 1 if any('error' in r for r in report['workloads']) else 0


if __name__ == '__main__':
    sys.exit(main())
