"""``python -m bench [--only W1,W3] [--steps N] [--threads T] [--repeats R] [--out DIR]``."""
import argparse
import sys

from bench.run import run_all, table
from bench.workloads import WORKLOADS


def main(argv=None):
    p = argparse.ArgumentParser(
        prog='python -m bench',
        description='Time ember against PyTorch on the same workloads, weights and data.')
    p.add_argument('--only', action='append', default=None, metavar='W1,W3',
                   help='workloads to run (comma-separated or repeated; default: all)')
    p.add_argument('--steps', type=int, default=None,
                   help="timed steps per run (default: each workload's own; for W8 it "
                        'cuts training short of its 5 epochs)')
    p.add_argument('--threads', type=int, default=1,
                   help='threads for both frameworks (default 1; 2 only on a quiet machine)')
    p.add_argument('--repeats', type=int, default=None,
                   help='measured runs per framework, alternated (default 3; W8 1)')
    p.add_argument('--out', default='bench/results',
                   help="folder for bench.json and bench.png ('' to write nothing)")
    a = p.parse_args(argv)
    keys = list(WORKLOADS)
    if a.only:
        keys = [k.strip().upper() for arg in a.only for k in arg.split(',') if k.strip()]
        unknown = [k for k in keys if k not in WORKLOADS]
        if unknown:
            p.error(f"unknown workload(s) {', '.join(unknown)}; choose from "
                    f"{', '.join(WORKLOADS)}")
    if a.steps is not None and a.steps < 1 or a.repeats is not None and a.repeats < 1 \
            or a.threads < 1:
        p.error('--steps, --repeats and --threads must be positive')
    report = run_all(keys, steps=a.steps, repeats=a.repeats, threads=a.threads, out=a.out,
                     log=lambda s: print(s, file=sys.stderr, flush=True))
    print(table(report))
    if a.out:
        print(f"\nwrote {report['json_path']}" +
              (f" and {report['chart_path']}" if report.get('chart_path') else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
