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
TRAIN_LOSS = re.compile(r'training-set loss: (\d+\.\d{4}) -> (\d+\.\d{4})')
# Timeouts only catch a hang: a quick run takes 3-5 s on this project's machine, a full one
# minutes; a loaded machine may be many times slower, and no test here measures speed.
QUICK_TIMEOUT, FULL_TIMEOUT = 900, 3600
LOSS = re.compile(r'validation loss: (\d+\.\d{3}) nats/char \((\d+\.\d{2}) bits/char\)')


def run_example(name, quick, timeout, *args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    env.pop('EMBER_EXAMPLE_QUICK', None)
    env.setdefault('OMP_NUM_THREADS', '1')      # small matrices: BLAS threads only slow them
    if quick:
        env['EMBER_EXAMPLE_QUICK'] = '1'
    proc = subprocess.run([sys.executable, os.path.join('examples', name), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f'{name} failed:\n{proc.stdout}\n{proc.stderr}'
    return proc.stdout.rstrip('\n').splitlines()


def final_match(lines, pattern):
    m = pattern.fullmatch(lines[-1])
    assert m, f'unexpected final line {lines[-1]!r}'
    return m


# NOTE: the quick runs are seeded, so on any machine they are the same run up to rounding
# (1e-6 relative): each bound holds with a margin thousands of times that. LeNet's 4 SGD
# steps only start it off (2.309 -> 2.306, test accuracy at chance); the MLP's 4 Adam steps
# take its training loss from 2.313 to 2.020 and its test accuracy to 59%, chance being 10%.
@pytest.mark.parametrize('name, drop, accuracy', [('mnist_mlp.py', 0.1, 30.0),
                                                  ('mnist_lenet.py', 0.001, 0.0)])
def test_mnist_quick(name, drop, accuracy):
    lines = run_example(name, quick=True, timeout=QUICK_TIMEOUT)
    assert lines[0].startswith('epoch  1  loss ')
    before, after = (float(v) for v in
                     next(m for m in map(TRAIN_LOSS.fullmatch, lines) if m).groups())
    assert 2.2 < before < 2.4                     # a fresh classifier: about ln 10 = 2.303
    assert after < before - drop, (before, after)
    assert accuracy <= float(final_match(lines, ACCURACY).group(1)) <= 100


def test_char_lm_quick():
    lines = run_example('char_lm.py', quick=True, timeout=QUICK_TIMEOUT)
    nats, bits = (float(v) for v in final_match(lines, LOSS).groups())
    assert bits == pytest.approx(nats / 0.6931, abs=0.01)
    # 5 seeded steps: training loss from about uniform guessing (ln 62 = 4.127) down by 0.1
    steps = re.search(r'train loss (\d+\.\d{3}) \(step 1\) -> (\d+\.\d{3}) \(step 5\)',
                      '\n'.join(lines))
    first, last = (float(v) for v in steps.groups())
    assert 4.0 < first < 4.3 and last < first - 0.1, (first, last)
    assert nats < 4.127 - 0.1                      # and on held-out text
    sample = lines[lines.index('--- sample (temperature 0.8) ---') + 1]
    assert sample.startswith('Shall I compare thee')


def test_explain_mnist_quick(tmp_path):
    pytest.importorskip('matplotlib')
    from matplotlib.image import imread
    out = tmp_path / 'maps.png'
    lines = run_example('explain_mnist.py', True, QUICK_TIMEOUT, '--out', str(out))
    assert lines[-1] == f'wrote {out}'
    picture = imread(out)[..., :3]                       # RGB in [0, 1]
    assert picture.shape[:2] == (960, 800)      # 6 rows, 5 columns of 2-inch panels at 80 dpi
    red = (picture[..., 0] > 0.8) & (picture[..., 2] < 0.5)
    blue = (picture[..., 2] > 0.8) & (picture[..., 0] < 0.5)
    assert red.sum() > 500 and blue.sum() > 50, (red.sum(), blue.sum())   # heatmaps, drawn


@pytest.mark.slow
@pytest.mark.parametrize('name, target', [('mnist_mlp.py', 90.0), ('mnist_lenet.py', 93.0)])
def test_mnist_full(name, target):
    lines = run_example(name, quick=False, timeout=FULL_TIMEOUT)
    assert float(final_match(lines, ACCURACY).group(1)) >= target


@pytest.mark.slow
def test_char_lm_full():
    lines = run_example('char_lm.py', quick=False, timeout=FULL_TIMEOUT)
    nats, _ = (float(v) for v in final_match(lines, LOSS).groups())
    assert nats < 2.1        # uniform guessing over the 62 characters is 4.13


@pytest.mark.parametrize('name, tags', [
    ('mnist_lenet.py', {'loss', 'test_accuracy'}), ('classification.py', {'loss', 'test_accuracy'}),
    ('regression.py', {'loss'}), ('char_lm.py', {'train_loss'})])
def test_examples_log_to_tensorboard(name, tags, tmp_path):
    reader = pytest.importorskip('tensorboard.backend.event_processing.event_accumulator')
    pytest.importorskip('tensorboardX')
    run_example(name, True, QUICK_TIMEOUT, '--tensorboard', str(tmp_path))
    acc = reader.EventAccumulator(str(tmp_path))
    acc.Reload()
    assert set(acc.Tags()['scalars']) == tags
    assert all(len(acc.Scalars(t)) >= 1 and all(e.step >= 1 for e in acc.Scalars(t))
               for t in tags)
    if name == 'mnist_lenet.py':
        assert any(n.op == 'conv' for n in acc.Graph().node)


DISTILL = re.compile(r'student distilled from the teacher: (\d+\.\d)%')
ALONE = re.compile(r'student \(MLP, 25,450 parameters\) on the labels alone: (\d+\.\d)%')


def test_distill_quick():
    lines = run_example('distill_mnist.py', quick=True, timeout=QUICK_TIMEOUT)
    assert lines[0].startswith('teacher (LeNet-5, 61,706 parameters): ')
    assert any(ALONE.fullmatch(line) for line in lines)
    assert 0 <= float(final_match(lines, DISTILL).group(1)) <= 100


@pytest.mark.slow
def test_distill_full():
    # measured (AMD EPYC, 1 thread): teacher 95.8%, the student alone 90.6%, distilled 92.3%
    lines = run_example('distill_mnist.py', quick=False, timeout=FULL_TIMEOUT)
    alone = float(next(m for m in map(ALONE.fullmatch, lines) if m).group(1))
    distilled = float(final_match(lines, DISTILL).group(1))
    assert distilled >= alone + 0.5 and distilled >= 90.0, (alone, distilled)


@pytest.mark.parametrize('name, args', [('ddp_mnist.py', []), ('ddp_gpt.py', ['--accumulate',
                                                                            '2'])])
def test_ddp_examples_quick_on_two_processes(name, args):
    """The data-parallel examples, started by the launcher on 2 processes (MPI)."""
    pytest.importorskip('mpi4py')
    env = dict(os.environ, PYTHONPATH=ROOT, EMBER_EXAMPLE_QUICK='1', OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-m', 'ember.distributed.run', '--nproc', '2',
                           os.path.join('examples', name), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=QUICK_TIMEOUT)
    assert proc.returncode == 0, f'{name} failed:\n{proc.stdout}\n{proc.stderr}'
    lines = proc.stdout.rstrip('\n').splitlines()
    if name == 'ddp_mnist.py':   # 2 ranks x 2 steps of 2 x 32: loss from about ln 10
        assert '(2 processes)' in lines[0]
        assert float(lines[0].split()[3]) < 2.3
        assert 30.0 <= float(final_match(lines, ACCURACY).group(1)) <= 100
    else:   # 4 AdamW steps from ln 63 = 4.14 nats/char of a fresh model: going down
        losses = [float(l.split()[3]) for l in lines if l.startswith('step')]
        assert len(losses) == 4 and losses[-1] < losses[0] - 0.3, losses
        assert final_match(lines, LOSS)
