"""Kernel launches of a GPT training step on 'cuda' (counted on CuPy's CPU stand-in by
tools/count_launches.py): a budget, so that a change that adds launches to the step, which
cost host time on a GPU (docs/performance.md), is seen and the budget raised on purpose."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), '..')

# launches and ember ops a step at the time of writing (W5: 152 and 60; in bf16 176 and 62)
BUDGET = {None: (160, 64), 'bf16': (184, 66)}


@pytest.mark.parametrize('amp', [None, 'bf16'])
def test_tiny_gpt_step_stays_within_its_launch_budget(amp):
    code = ('import json, sys; sys.path.insert(0, "tools"); import count_launches as c; '
            f'n, ops, sites = c.count("W5", {amp!r}); print(json.dumps([n, ops]))')
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    launches, ops = json.loads(out.stdout.strip().splitlines()[-1])
    most_launches, most_ops = BUDGET[amp]
    assert 0 < launches <= most_launches, f'{launches} launches a W5 step (budget {most_launches})'
    assert 0 < ops <= most_ops, f'{ops} ember ops a W5 step (budget {most_ops})'
