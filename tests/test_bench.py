"""The benchmark harness runs end to end on the two cheapest workloads (no timing checks)."""
import json
import math

import pytest

pytest.importorskip('torch')

from bench.__main__ import parse_args  # noqa: E402
from bench.run import SCHEMA, run_all, table  # noqa: E402
from bench.workloads import GPT_LARGE, WORKLOADS, amp_dtype, batch_index, gpt  # noqa: E402


def test_bench_w1_w6_schema_and_losses(tmp_path):
    report = run_all(['W1', 'W6'], steps=2, repeats=1, out=str(tmp_path), log=lambda s: None)
    with open(tmp_path / 'bench.json') as f:
        saved = json.load(f)
    assert saved['schema'] == SCHEMA and saved['threads'] == 1
    assert saved['device'] == 'cpu' and saved['amp'] is None and saved['device_name']
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
    assert 'W1 regression' in text and 'threads: 1' in text and 'device: cpu' in text
    # a workload whose worker failed gets a row saying so, and is left out of the rest
    report['workloads'].append(dict(key='W9', name='gpt-large', error='worker W9 ember '
                                    'failed: RuntimeError: no kernel'))
    assert '| W9 gpt-large | FAILED: worker W9 ember failed: RuntimeError: no kernel |' \
        in table(report)


def test_workloads_defined_once_and_batches_deterministic():
    assert list(WORKLOADS) == [f'W{i}' for i in range(1, 10)]
    a, b = batch_index(200, 20, 13), batch_index(200, 20, 13)
    assert (a == b).all() and len(a) == 20
    epoch = [i for s in range(10) for i in batch_index(200, 20, s)]
    assert sorted(epoch) == list(range(200))


def test_device_amp_and_default_workloads_parse():
    a = parse_args([])
    assert a.device == 'cpu' and a.amp is None and a.keys == [f'W{i}' for i in range(1, 9)]
    a = parse_args(['--device', 'cuda', '--amp', 'bf16'])
    assert a.device == 'cuda' and a.amp == 'bf16' and a.keys[-1] == 'W9'
    assert parse_args(['--only', 'w9,W5']).keys == ['W9', 'W5']
    for bad in (['--device', 'tpu'], ['--amp', 'fp8']):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_amp_dtype_is_the_frameworks_or_a_clear_error():
    import torch

    class NoBfloat16:
        __name__ = 'nobf16'
        autocast = torch.autocast
    assert amp_dtype(torch, None) is None and amp_dtype(torch, 'bf16') is torch.bfloat16
    assert amp_dtype(torch, 'fp16') is torch.float16
    with pytest.raises(RuntimeError, match='--amp bf16.*bfloat16'):
        amp_dtype(NoBfloat16(), 'bf16')
    assert WORKLOADS['W5'].amp and WORKLOADS['W9'].amp and not WORKLOADS['W3'].amp


def test_w9_is_w5_larger():
    import torch
    assert GPT_LARGE == dict(vocab=65, blocks=6, d_model=512, heads=8, seq=256, batch=32)
    w9 = WORKLOADS['W9']
    assert not w9.cpu_suite and w9.steps == 10 and w9.repeats == 2
    model = w9.model(torch)
    assert len(model.blocks) == 6 and model.pos.weight.shape == (256, 512)
    assert sum(p.numel() for p in model.parameters()) == 19_113_025
    # W5's code at a tiny size of the same shape family runs forward in both frameworks
    import ember
    tiny = dict(GPT_LARGE, blocks=1, d_model=16, heads=8, seq=8, batch=2)
    for fw in (ember, torch):
        out = gpt(fw, tiny)(fw.zeros(2, 8, dtype=fw.int64))
        assert tuple(out.shape) == (2, 8, 65)
