"""The example scripts run from start to finish.

Each example is run as ``python examples/<name>.py`` in a subprocess with ``PYTHONPATH`` set to
the repository. The fast tests set ``EMBER_EXAMPLE_QUICK=1`` (a few batches, one epoch); the
slow ones (``make test-slow``) run the real training and check the results it should reach.
The scripts run with one BLAS thread unless ``OMP_NUM_THREADS`` says otherwise.
"""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCURACY = re.compile(r'test accuracy: (\d+\.\d)%')
LOSS = re.compile(r'validation loss: (\d+\.\d{3}) nats/char \((\d+\.\d{2}) bits/char\)')


def run_example(name, quick, timeout):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    env.pop('EMBER_EXAMPLE_QUICK', None)
    env.setdefault('OMP_NUM_THREADS', '1')      # small matrices: BLAS threads only slow them
    if quick:
        env['EMBER_EXAMPLE_QUICK'] = '1'
    proc = subprocess.run([sys.executable, os.path.join('examples', name)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f'{name} failed:\n{proc.stdout}\n{proc.stderr}'
    return proc.stdout.rstrip('\n').splitlines()


def final_match(lines, pattern):
    m = pattern.fullmatch(lines[-1])
    assert m, f'unexpected final line {lines[-1]!r}'
    return m


@pytest.mark.parametrize('name', ['mnist_mlp.py', 'mnist_lenet.py'])
def test_mnist_quick(name):
    lines = run_example(name, quick=True, timeout=60)
    assert 0 <= float(final_match(lines, ACCURACY).group(1)) <= 100
    assert lines[0].startswith('epoch  1  loss ')


def test_char_lm_quick():
    lines = run_example('char_lm.py', quick=True, timeout=60)
    nats, bits = (float(v) for v in final_match(lines, LOSS).groups())
    assert 0 < nats < 10 and bits == pytest.approx(nats / 0.6931, abs=0.01)
    sample = lines[lines.index('--- sample (temperature 0.8) ---') + 1]
    assert sample.startswith('Shall I compare thee')


@pytest.mark.slow
@pytest.mark.parametrize('name, target', [('mnist_mlp.py', 90.0), ('mnist_lenet.py', 93.0)])
def test_mnist_full(name, target):
    lines = run_example(name, quick=False, timeout=600)
    assert float(final_match(lines, ACCURACY).group(1)) >= target


@pytest.mark.slow
def test_char_lm_full():
    lines = run_example('char_lm.py', quick=False, timeout=600)
    nats, _ = (float(v) for v in final_match(lines, LOSS).groups())
    assert nats < 2.1        # uniform guessing over the 62 characters is 4.13
