"""The talk's two applications: targets reached, pictures written, the command works."""
import os
import subprocess
import sys

from ember.datasets import synthetic
from ember.demos import classification, regression

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_regression_recovers_generating_line_within_2_percent(tmp_path):
    r = regression.run(out=str(tmp_path), bars=False)
    assert abs(r['slope'] / synthetic.PARTS_SLOPE - 1) < 0.02
    assert abs(r['intercept'] / synthetic.PARTS_INTERCEPT - 1) < 0.02
    assert os.path.getsize(tmp_path / 'regression.png') > 10_000


def test_classification_reaches_90_percent_on_fresh_points(tmp_path):
    r = classification.run(out=str(tmp_path), bars=False)
    assert r['epochs'] == 10 and r['test_accuracy'] >= 0.9
    assert r['accuracy_before'] < 0.5
    assert os.path.getsize(tmp_path / 'classification.png') > 10_000


def test_ember_demo_command(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, '-m', 'ember', 'demo', 'all', '--out', str(tmp_path),
                          '--epochs', '3'], capture_output=True, text=True, env=env,
                         timeout=900)     # a hang guard: ~20 s here, more when loaded
    assert out.returncode == 0, out.stderr
    assert 'slope' in out.stdout and 'test accuracy' in out.stdout
    assert (tmp_path / 'regression.png').exists() and (tmp_path / 'classification.png').exists()
