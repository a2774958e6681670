"""The test matrix: the main pytest pass under every BLAS setting this CPU can run.

Runs ``pytest ember tests -m "not slow and not machine"`` (``make test``'s first pass) once
for each combination of

- OpenBLAS's kernel type: pinned with ``OPENBLAS_CORETYPE`` to each type this CPU's flags
  allow (from /proc/cpuinfo; types that resolve to the same kernels are run once), and unset
  (``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` both removed: OpenBLAS picks for itself);
- ``EMBER_MKL=0`` and ``1`` (ember's MKL GEMM off, and on whatever the threads);
- 1 and 2 threads (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``),

each in a random order (pytest-random-order, one shuffle over the whole suite) whose seed is
printed, and prints a table. The kernels NumPy's OpenBLAS really uses under each setting are
read with threadpoolctl in a fresh interpreter with the cell's environment, and shown.

    python tools/test_matrix.py                       # the whole matrix (make test-matrix)
    python tools/test_matrix.py -- -k lbfgs tests/optim     # a subset: pytest's arguments
    python tools/test_matrix.py --kernels Haswell --mkl 1 --threads 2 --seed 1234  # a cell

Each cell's output is kept in ``--logs`` (default .matrix/); the exit status is 1 when a
cell failed.
"""
import argparse
import os
import random
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# OpenBLAS's x86-64 kernel types, oldest first, with the CPU flags each needs
KERNELS = [('Prescott', {'pni'}), ('Nehalem', {'ssse3', 'sse4_2'}),
           ('Sandybridge', {'avx'}), ('Haswell', {'avx2', 'fma'}), ('Zen', {'avx2', 'fma'}),
           ('SkylakeX', {'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'}),
           ('Cooperlake', {'avx512f', 'avx512bw', 'avx512vl', 'avx512_bf16'})]
DEFAULT_KERNELS = ('unset', 'Prescott', 'Sandybridge', 'Haswell', 'SkylakeX', 'Cooperlake')
THREAD_VARS = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')
# what the machine's environment may set and a cell must control
CLEARED = ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'GOTO_NUM_THREADS', 'EMBER_MKL',
           'HYPOTHESIS_PROFILE') + THREAD_VARS
PROBE = ('import json, numpy, threadpoolctl\n'
         'print(json.dumps([(i["internal_api"], i.get("architecture"), i["num_threads"])\n'
         '                  for i in threadpoolctl.threadpool_info()]))')


def cpu_flags():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


def cell_env(kernel, mkl, threads):
    """The environment of one cell: the machine's, less what the matrix controls."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    if kernel is not None:
        env['OPENBLAS_CORETYPE'] = kernel
    env['EMBER_MKL'] = str(mkl)
    for name in THREAD_VARS:
        env[name] = str(threads)
    return env


def probe(env):
    """What NumPy's BLAS libraries report in a fresh interpreter with ``env``:
    'openblas SkylakeX x2', and MKL's thread count once ember has loaded it."""
    import json
    out = subprocess.run([sys.executable, '-c', PROBE], env=env, capture_output=True,
                         text=True, check=True, cwd=ROOT)
    libs = json.loads(out.stdout)
    return ', '.join(f'{api} {arch or ""} x{n}'.replace('  ', ' ') for api, arch, n in libs)


def kernels_to_run(names, flags):
    """(name, BLAS seen) for each kernel type in ``names`` this CPU runs, one per kernel set
    seen ('unset', OpenBLAS's own choice, first: a pinned type that resolves to it is
    skipped)."""
    out, seen, needs = [], set(), dict(KERNELS)
    if 'unset' in names:
        out.append((None, probe(cell_env(None, 0, 1))))
        seen.add(out[0][1])
    for name in names:
        if name == 'unset':
            continue
        if name not in needs:
            raise SystemExit(f'unknown kernel type {name!r}: unset or one of '
                             f'{", ".join(needs)}')
        if not needs[name] <= flags:
            print(f'  {name}: skipped, this CPU lacks {" ".join(sorted(needs[name] - flags))}')
            continue
        arch = probe(cell_env(name, 0, 1))
        if arch in seen:
            print(f'  {name}: skipped, the same kernels as a type already in ({arch})')
            continue
        seen.add(arch)
        out.append((name, arch))
    return out


def summary(text):
    """Counts from pytest's closing line: {'passed': n, 'failed': n, ...}."""
    counts = {}
    for line in reversed(text.splitlines()):
        found = re.findall(r'(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)', line)
        if found:
            for n, what in found:
                counts['error' if what.startswith('error') else what] = int(n)
            break
    return counts


def run_cell(kernel, mkl, threads, seed, pytest_args, logs):
    env = cell_env(kernel, mkl, threads)
    libs = probe(env)
    cmd = [sys.executable, '-m', 'pytest', *pytest_args, '-p', 'random_order',
           '--random-order-bucket=global', f'--random-order-seed={seed}', '-rfE',
           '-o', 'console_output_style=classic']
    name = f'{kernel or "unset"}-mkl{mkl}-t{threads}'
    print(f'== {name}: seed {seed}, BLAS {libs}', flush=True)
    start = time.time()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    took = time.time() - start
    text = proc.stdout + proc.stderr
    os.makedirs(logs, exist_ok=True)
    with open(os.path.join(logs, name + '.log'), 'w') as f:
        f.write(f'$ {" ".join(cmd)}\n# {name}, BLAS {libs}\n{text}')
    counts = summary(text)
    failures = [line for line in text.splitlines() if line.startswith(('FAILED', 'ERROR'))]
    for line in failures:
        print('   ', line)
    ok = proc.returncode == 0
    print(f'   {counts} in {took:.0f} s{"" if ok else f" (exit {proc.returncode})"}',
          flush=True)
    return dict(kernel=kernel or 'unset', libs=libs, mkl=mkl, threads=threads, seed=seed,
                passed=counts.get('passed', 0),
                failed=counts.get('failed', 0) + counts.get('error', 0),
                ok=ok, seconds=took)


def table(rows):
    head = ('OPENBLAS_CORETYPE', 'BLAS in use (threadpoolctl)', 'EMBER_MKL', 'threads',
            'passed', 'failed', 'seed', 'time')
    body = [(r['kernel'], r['libs'], str(r['mkl']), str(r['threads']), str(r['passed']),
             str(r['failed']) + ('' if r['ok'] or r['failed'] else ' (exit!=0)'),
             str(r['seed']), f'{r["seconds"]:.0f} s') for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ['| ' + ' | '.join(x.ljust(w) for x, w in zip(row, widths)) + ' |'
             for row in [head] + body]
    lines.insert(1, '|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--kernels', nargs='+', default=list(DEFAULT_KERNELS),
                    help='OpenBLAS kernel types to pin, "unset" for none (default: %(default)s)')
    ap.add_argument('--mkl', nargs='+', type=int, default=[0, 1], choices=[0, 1])
    ap.add_argument('--threads', nargs='+', type=int, default=[1, 2])
    ap.add_argument('--seed', type=int, help='one seed for every cell (default: a new '
                    'random one each, printed)')
    ap.add_argument('--logs', default=os.path.join(ROOT, '.matrix'))
    ap.add_argument('pytest_args', nargs=argparse.REMAINDER,
                    help='pytest arguments after -- (default: make test\'s first pass)')
    args = ap.parse_args(argv)
    pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ['--'] else args.pytest_args
    pytest_args = pytest_args or ['ember', 'tests', '-m', 'not slow and not machine']
    flags = cpu_flags()
    model = next((line.split(':', 1)[1].strip() for line in open('/proc/cpuinfo')
                  if line.startswith('model name')), 'unknown CPU') \
        if os.path.exists('/proc/cpuinfo') else 'unknown CPU'
    print(f'CPU: {model}, {os.cpu_count()} CPUs; pytest {" ".join(pytest_args)}')
    print(f'environment cleared in each cell: {" ".join(CLEARED)}')
    print('OpenBLAS kernel types:')
    kernels = kernels_to_run(args.kernels, flags)
    for name, arch in kernels:
        print(f'  {name or "unset"}: {arch}')
    rng = random.SystemRandom()
    rows = []
    for kernel, _ in kernels:
        for mkl in args.mkl:
            for threads in args.threads:
                seed = args.seed if args.seed is not None else rng.randrange(10 ** 6)
                rows.append(run_cell(kernel, mkl, threads, seed, pytest_args, args.logs))
    print(f'\nCPU: {model}')
    print(table(rows))
    bad = [r for r in rows if not r['ok']]
    if bad:
        print(f'{len(bad)} of {len(rows)} cells failed; logs in {args.logs}; rerun one with '
              '--kernels NAME --mkl M --threads T --seed S')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
