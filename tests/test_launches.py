"""Kernel launches of a training step on 'cuda' (the tiny GPT, W5, and LeNet, W4; counted on
CuPy's CPU stand-in by tools/count_launches.py): a budget, so that a change that adds launches
to the step, which cost host time on a GPU (docs/performance.md), is seen and the budget
raised on purpose; views and allocations likewise."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), '..')

# launches, ember ops and other CuPy calls (views, allocations: host time without a launch, a
# CuPy reshape about 5 us) a step at the time of writing (W5: 136, 60 and 147; in bf16 160, 62
# and 170; W4: 61, 25 and 71, its convolutions, pooling and SGD ember's own kernels)
BUDGET = {('W5', None): (144, 64, 155), ('W5', 'bf16'): (168, 66, 178),
          ('W4', None): (66, 27, 76)}


@pytest.mark.parametrize('workload, amp', list(BUDGET))
def test_step_stays_within_its_launch_budget(workload, amp):
    code = ('import json, sys; sys.path.insert(0, "tools"); import count_launches as c; '
            f'n, ops, _, other = c.count({workload!r}, {amp!r}); '
            'print(json.dumps([n, ops, sum(other.values())]))')
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    launches, ops, other = json.loads(out.stdout.strip().splitlines()[-1])
    most_launches, most_ops, most_other = BUDGET[workload, amp]
    step = f'a {workload} step'
    assert 0 < launches <= most_launches, f'{launches} launches {step} (budget {most_launches})'
    assert 0 < ops <= most_ops, f'{ops} ember ops {step} (budget {most_ops})'
    assert 0 < other <= most_other, f'{other} other CuPy calls {step} (budget {most_other})'
