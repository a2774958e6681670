"""ember on every Python 3 this machine has: install, import, the demos, the doctests.

For each ``python3.X`` found on PATH (pyenv shims included: an uninstalled shim is skipped,
one that needs a version chosen is run with all of pyenv's versions offered) whose version
``requires-python`` in pyproject.toml admits, this makes a virtual environment
``.venv-py3.X/`` (kept between runs; ``--fresh`` makes it anew), installs ember into it with
``pip install -e .`` plus pytest and hypothesis (the root conftest.py imports it), and runs
what needs no PyTorch:

1. ``python -c "import ember"``;
2. ``python -m ember demo all --epochs 2`` (pictures into a temporary folder; without
   matplotlib there are none, and the demos say so);
3. ``python -m pytest ember --doctest-modules`` (the docstrings' examples), less those in
   ``NEEDS``, whose examples need a package that is not installed there (bfloat16's need
   ml_dtypes: ``Tensor.bfloat16`` and amp.py's; ``compare_with_torch``'s needs torch).

NumPy is whatever pip picks for that Python (no constraints.txt: its NumPy may not support an
older Python), and the table shows it. PyTorch is never installed here: its wheel on this
disk is for one Python only, and pip would download a multi-GB CUDA build for the others.

    python3 tools/test_pythons.py                  # every version found (make test-pythons)
    python3 tools/test_pythons.py 3.12 3.13        # some of them
    python3 tools/test_pythons.py --fresh 3.10     # a new virtual environment first

Each step's output is kept in ``.venv-py3.X/log-<step>.txt``; the exit status is 1 when a
step failed on some version.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ['pytest', 'hypothesis']
# doctests (pytest's node ids, or a prefix of them) -> the optional package they need;
# deselected where it is missing. amp.py: autocast on the CPU is bfloat16 (3 of its 5 examples);
# compare_with_torch runs PyTorch; ember/onnx: export and load write and read ONNX files with
# the onnx package; ember.distributed's examples make a process group (world size 1) on MPI.
NEEDS = {'ember/_tensor.py::ember._tensor.Tensor.bfloat16': 'ml_dtypes',
         'ember/amp.py': 'ml_dtypes',
         'ember/debug_compare.py::ember.debug_compare.compare_with_torch': 'torch',
         'ember/onnx': 'onnx', 'ember/distributed': 'mpi4py', 'ember/nn/parallel': 'mpi4py'}
PROBE = 'import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3])'


def requires_python():
    """The lowest (major, minor) that pyproject.toml's ``requires-python = ">=3.X"`` admits."""
    with open(os.path.join(ROOT, 'pyproject.toml')) as f:
        m = re.search(r'^requires-python\s*=\s*">=\s*(\d+)\.(\d+)', f.read(), re.M)
    return (int(m.group(1)), int(m.group(2))) if m else (3, 0)


def pythons(wanted=()):
    """``[(minor version '3.X', full version, executable)]`` for each python3.X on PATH."""
    env = dict(os.environ)
    if shutil.which('pyenv'):   # a shim runs a version only when one is chosen: offer them all
        bare = subprocess.run(['pyenv', 'versions', '--bare'], capture_output=True, text=True)
        env['PYENV_VERSION'] = ':'.join(bare.stdout.split())
    found = []
    for minor in range(6, 30):
        name = f'3.{minor}'
        exe = shutil.which(f'python{name}')
        if exe is None or (wanted and name not in wanted):
            continue
        out = subprocess.run([exe, '-c', PROBE], capture_output=True, text=True, env=env)
        if out.returncode == 0:
            real, version = out.stdout.split()
            found.append((name, version, real))
    return found


def run(log, cmd, **kw):
    """Run ``cmd`` with its output into ``log``; True when it exits 0."""
    with open(log, 'w') as f:
        f.write('$ ' + ' '.join(cmd) + '\n')
        f.flush()
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, **kw,
                              stdin=subprocess.DEVNULL).returncode == 0


def check(name, exe, fresh, epochs):
    """Install and test ember under one Python; ``(numpy version, {step: ok}, seconds)``."""
    t0 = time.perf_counter()
    venv = os.path.join(ROOT, f'.venv-py{name}')
    if fresh and os.path.isdir(venv):
        shutil.rmtree(venv)
    py = os.path.join(venv, 'bin', 'python')
    log = lambda step: os.path.join(venv, f'log-{step}.txt')   # noqa: E731
    steps = {}
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYENV_VERSION')}
    if not os.path.exists(py) and subprocess.run([exe, '-m', 'venv', venv]).returncode:
        return '-', {'install': False}, time.perf_counter() - t0
    steps['install'] = run(log('install'), [py, '-m', 'pip', 'install', '-q', '-e', '.']
                           + PACKAGES, env=env)
    numpy = subprocess.run([py, '-c', 'import numpy; print(numpy.__version__)'],
                           capture_output=True, text=True)
    numpy = numpy.stdout.strip() if numpy.returncode == 0 else '-'
    if not steps['install']:
        return numpy, steps, time.perf_counter() - t0
    steps['import'] = run(log('import'), [py, '-c', 'import ember; print(ember.__version__)'],
                          env=env)
    with tempfile.TemporaryDirectory() as out:
        steps['demos'] = run(log('demos'), [py, '-m', 'ember', 'demo', 'all', '--epochs',
                                            str(epochs), '--out', out], env=env)
    have = subprocess.run([py, '-c', 'import importlib.util as u, sys; print(" ".join(n for n '
                           'in sys.argv[1:] if u.find_spec(n)))', *set(NEEDS.values())],
                          capture_output=True, text=True).stdout.split()
    ignore = [f'--deselect={t}' for t, pkg in NEEDS.items() if pkg not in have]
    steps['doctests'] = run(log('doctests'), [py, '-m', 'pytest', 'ember', '--doctest-modules',
                                              *ignore], env=env)
    return numpy, steps, time.perf_counter() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('versions', nargs='*', help="the versions to check, e.g. 3.12 (default: "
                   "every python3.X on PATH that requires-python admits)")
    p.add_argument('--fresh', action='store_true',
                   help="remove and make anew each version's .venv-py3.X first (default: "
                        "reuse it)")
    p.add_argument('--epochs', type=int, default=2,
                   help='epochs of each demo (default: %(default)s)')
    args = p.parse_args(argv)
    floor = requires_python()
    rows, failed = [], False
    for name, version, exe in pythons(args.versions):
        if tuple(map(int, name.split('.'))) < floor:
            print(f'(Python {version}: below requires-python >= {floor[0]}.{floor[1]}, skipped)')
            continue
        print(f'== Python {version} ({exe}) ...', flush=True)
        numpy, steps, seconds = check(name, exe, args.fresh, args.epochs)
        bad = [s for s, ok in steps.items() if not ok]
        failed |= bool(bad)
        result = 'passed' if not bad else 'FAILED: ' + ', '.join(
            f'{s} (.venv-py{name}/log-{s}.txt)' for s in bad)
        counts = ''
        if steps.get('doctests'):
            with open(os.path.join(ROOT, f'.venv-py{name}', 'log-doctests.txt')) as f:
                tail = f.read().strip().splitlines()[-1:]
            counts = re.sub(r'=+|\s+in\s+[\d.]+s.*', '', tail[0]).strip() if tail else ''
        rows.append((version, numpy, result + (f' ({counts})' if counts else ''),
                     f'{seconds:.0f} s'))
    if not rows:
        print(f'no python3.X >= {floor[0]}.{floor[1]} found on PATH', file=sys.stderr)
        return 1
    head = ('python', 'numpy', 'import, demos, doctests', 'time')
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    for r in [head, tuple('-' * w for w in widths)] + rows:
        print(' | '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
