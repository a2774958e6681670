"""ember.debug_compare.compare_with_torch: agreement on the benchmark's models, the first
diverging module found where a test plants one (forward and backward), and the command."""
import os
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.debug_compare import compare_with_torch

torch = pytest.importorskip('torch')

from bench.workloads import GPT, _w2_model, _w3_model, gpt, lenet  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL_GPT = dict(GPT, blocks=2, d_model=32, heads=4, seq=16)


def images(n=2):
    return np.random.default_rng(0).standard_normal((n, 1, 28, 28)).astype(np.float32)


@pytest.mark.parametrize('build, inputs', [
    (_w3_model, lambda fw: np.random.default_rng(1).standard_normal((4, 784)).astype(
        np.float32)),
    (_w2_model, lambda fw: np.random.default_rng(2).standard_normal((5, 2)).astype(
        np.float32)),
    (lenet, lambda fw: images()),
    (lambda fw: gpt(fw, SMALL_GPT),
     lambda fw: np.random.default_rng(3).integers(0, 65, (2, 16)).astype(np.int64)),
], ids=['mlp', 'spiral', 'lenet', 'gpt'])
def test_zoo_models_agree(build, inputs):
    result = compare_with_torch(build, inputs)
    assert result.ok, str(result)
    assert result.first_divergence is None
    whats = {r.what for r in result.rows}
    assert {'output', 'grad of output'} <= whats
    assert any(w.startswith('grad of ') and w not in ('grad of output', 'grad of input')
               for w in whats)   # parameters' gradients are compared too
    assert 'agree' in str(result)


def test_planted_activation_is_the_first_divergence():
    def build(fw):   # LeNet with its second ReLU (module 4) changed on ember's side only
        model = lenet(fw)
        if fw is ember:
            model[4] = ember.nn.LeakyReLU(0.1)
        return model
    result = compare_with_torch(build, images())
    assert not result.ok
    first = result.first_forward
    assert (first.module, first.what) == ('4', 'output')
    assert first.max_abs > 1e-3 and first.max_rel > 1e-3
    # everything before it agrees; the model's output differs too
    rows = [r for r in result.rows if r.what == 'output']
    assert all(r.ok for r in rows[:rows.index(first)])
    assert not next(r for r in rows if r.module == '').ok
    assert 'first divergence in the forward pass: 4, output' in str(result)


def test_planted_weight_change_is_found():
    class Scaled(ember.nn.Linear):   # ember's Linear 2 computes with its weight times 1.001
        def forward(self, x):
            return ember.nn.functional.linear(x, self.weight * 1.001, self.bias)

    def build(fw):
        model = _w3_model(fw)
        if fw is ember:
            scaled = Scaled(512, 512)
            scaled.load_state_dict(model[2].state_dict())
            model[2] = scaled
        return model
    x = np.random.default_rng(4).standard_normal((4, 784)).astype(np.float32)
    first = compare_with_torch(build, x).first_forward
    assert (first.module, first.what) == ('2', 'output')
    assert 1e-4 < first.max_rel < 1e-2


class _DoubleGrad(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, g):
        return g * 2


class _WrongBackward(ember.nn.Module):
    def forward(self, x):
        return _DoubleGrad.apply(x)


def test_planted_backward_is_the_first_divergence_in_backward():
    def build(fw):   # the same outputs; ember's module 3 doubles the gradient it passes back
        model = fw.nn.Sequential(fw.nn.Linear(6, 8), fw.nn.Tanh(), fw.nn.Linear(8, 8),
                                 fw.nn.Identity(), fw.nn.Tanh(), fw.nn.Linear(8, 3))
        if fw is ember:
            model[3] = _WrongBackward()
        return model
    result = compare_with_torch(build, np.ones((2, 6), np.float32))
    assert result.first_forward is None
    first = result.first_backward
    assert (first.module, first.what) == ('3', 'grad of input')
    assert first.max_rel == pytest.approx(1.0, rel=1e-5)   # twice the gradient
    assert 'first divergence in the backward pass: 3, grad of input' in str(result)


def test_custom_loss_and_builder_pair():
    pair = (lambda: ember.nn.Linear(3, 2), lambda: torch.nn.Linear(3, 2))
    result = compare_with_torch(pair, np.ones((4, 3), np.float32),
                                loss=lambda fw, out: (out ** 2).mean())
    assert result.ok
    assert {r.what for r in result.rows} >= {'grad of weight', 'grad of bias', 'grad of input'}


def test_bad_models_are_named():
    with pytest.raises(KeyError, match=r"state_dict names differ: only in ember \['extra'\]"):
        def build(fw):
            model = fw.nn.Linear(3, 2)
            if fw is ember:
                model.register_buffer('extra', ember.zeros(1))
            return model
        compare_with_torch(build, np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match=r'weight has shape \(2, 3\) in ember and \(3, 3\)'):
        compare_with_torch((lambda: ember.nn.Linear(3, 2), lambda: torch.nn.Linear(3, 3)),
                           np.ones((1, 3), np.float32))
    with pytest.raises(TypeError, match='build must be build'):
        compare_with_torch('lenet', images())


SCRIPT = '''
import numpy as np
import torch  # noqa: F401  (compare_with_torch takes the script's PyTorch)

def build(fw):
    act = fw.nn.ReLU() if fw.__name__ == 'torch' or not {planted} else fw.nn.ELU()
    return fw.nn.Sequential(fw.nn.Linear(5, 7), act, fw.nn.Linear(7, 2))

def inputs(fw):
    return np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
'''


@pytest.mark.parametrize('planted, command', [(False, ['ember.debug_compare']),
                                              (True, ['ember.debug_compare']),
                                              (True, ['ember.debug', 'compare'])])
def test_command(tmp_path, planted, command):
    script = tmp_path / 'model.py'
    script.write_text(SCRIPT.format(planted=planted))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    run = subprocess.run([sys.executable, '-m', *command, str(script)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == (1 if planted else 0), run.stdout + run.stderr
    if planted:
        assert 'first divergence in the forward pass: 1, output' in run.stdout
    else:
        assert 'ember and PyTorch agree' in run.stdout
    assert run.stdout.splitlines()[0].split()[:2] == ['module', 'what']
    assert ('1 ELU' if planted else '1 ReLU') in run.stdout


def test_command_needs_build_and_inputs(tmp_path):
    script = tmp_path / 'empty.py'
    script.write_text('x = 1\n')
    from ember.debug_compare import main
    assert main([str(script)]) == 2
