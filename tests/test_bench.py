"""The benchmark harness runs end to end on the two cheapest workloads (no timing checks)."""
import json
import math

import pytest

pytest.importorskip('torch')

from bench.run import SCHEMA, run_all, table  # noqa: E402
from bench.workloads import WORKLOADS, batch_index  # noqa: E402


def test_bench_w1_w6_schema_and_losses(tmp_path):
    report = run_all(['W1', 'W6'], steps=2, repeats=1, out=str(tmp_path), log=lambda s: None)
    with open(tmp_path / 'bench.json') as f:
        saved = json.load(f)
    assert saved['schema'] == SCHEMA and saved['threads'] == 1
    assert {'cpu', 'logical_cpus', 'platform', 'python'} <= set(saved['machine'])
    assert {'ember', 'torch', 'numpy', 'blas'} <= set(saved['software'])
    assert [r['key'] for r in saved['workloads']] == ['W1', 'W6']
    for r in saved['workloads']:
        assert r['steps'] == 2 and r['repeats'] == 1
        assert {'median', 'min', 'max', 'q1', 'q3', 'per_repeat'} <= set(r['ratio'])
        assert r['ratio']['median'] > 0
        for fw in ('ember', 'torch'):
            d = r[fw]
            assert len(d['losses']) == 2 and all(math.isfinite(x) for x in d['losses'])
            assert d['median_step_s'] > 0 and d['peak_mib'] >= 0
        assert r['trend_agrees'] and r['same_init']
        assert r['loss_rel_diff'] < 1e-4
    text = table(report)
    assert 'W1 regression' in text and 'threads: 1' in text


def test_workloads_defined_once_and_batches_deterministic():
    assert list(WORKLOADS) == [f'W{i}' for i in range(1, 9)]
    a, b = batch_index(200, 20, 13), batch_index(200, 20, 13)
    assert (a == b).all() and len(a) == 20
    epoch = [i for s in range(10) for i in batch_index(200, 20, s)]
    assert sorted(epoch) == list(range(200))
