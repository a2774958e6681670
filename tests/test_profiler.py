"""ember.profiler (issue 20): torch.profiler's shape, a trace Perfetto opens, totals that
account for the step."""
import json
import time

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import _State


def mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 10))


def step(model, opt, x, y):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def test_profile_records_ops_backward_nodes_ranges_and_the_optimizer():
    model = mlp()
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    x, y = ember.randn(128, 256), ember.randint(0, 10, (128,))
    with ember.profiler.profile(record_shapes=True, profile_memory=True) as prof:
        with ember.profiler.record_function('train_step'):
            step(model, opt, x, y)
    names = [e.name for e in prof.events()]
    assert names[0] == 'train_step'
    assert {'ember::linear', 'autograd::backward', 'Optimizer.step#SGD.step'} <= set(names)
    assert any(n.endswith('Backward') for n in names)
    linear = [e for e in prof.events() if e.name == 'ember::linear']
    assert [e.input_shapes for e in linear] == [[[128, 256], [512, 256], [512]],
                                                [[128, 512], [10, 512], [10]]]
    assert [e.cpu_memory_usage for e in linear] == [128 * 512 * 4, 128 * 10 * 4]
    outer = prof.events()[0]            # the range: its self time excludes what it holds
    inner = sum(e.cpu_time_total for e in prof.events()[1:]
                if e.start >= outer.start and e.end <= outer.end and
                not any(p.start <= e.start and e.end <= p.end and p is not outer and
                        p is not e for p in prof.events()[1:]))
    assert outer.self_cpu_time_total == pytest.approx(outer.cpu_time_total - inner)
    assert _State.op_hooks == [] and _State.node_hooks == [] and _State.timed == 0


def test_key_averages_table_sums_by_name_and_by_shape():
    a, b = ember.randn(32, 16), ember.randn(16, 8)
    with ember.profiler.profile(record_shapes=True) as prof:
        for _ in range(3):
            a @ b
        a[:4] @ b
    avg = {e.key: e for e in prof.key_averages()}
    assert avg['ember::matmul'].count == 4
    total = sum(e.cpu_time_total for e in prof.events() if e.name == 'ember::matmul')
    assert avg['ember::matmul'].cpu_time_total == pytest.approx(total)
    by_shape = {str(e.input_shapes): e.count for e in
                prof.key_averages(group_by_input_shape=True) if e.key == 'ember::matmul'}
    assert by_shape == {'[[32, 16], [16, 8]]': 3, '[[4, 16], [16, 8]]': 1}
    table = prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=5)
    lines = table.splitlines()
    assert lines[1].split()[:3] == ['Name', 'Self', 'CPU'] and 'ember::matmul' in table
    assert lines[-1].startswith('Self CPU time total:')


def test_chrome_trace_is_the_trace_event_json_perfetto_reads(tmp_path):
    model = mlp()
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    x, y = ember.randn(64, 256), ember.randint(0, 10, (64,))
    with ember.profiler.profile() as prof:
        step(model, opt, x, y)
    path = tmp_path / 'trace.json'
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    events = trace['traceEvents']
    assert len(events) == len(prof.events()) > 10
    for e in events:   # complete events: name, phase X, microsecond start and duration
        assert e['ph'] == 'X' and isinstance(e['name'], str) and e['cat'] in (
            'cpu_op', 'user_annotation')
        assert isinstance(e['ts'], (int, float)) and e['ts'] >= 0
        assert isinstance(e['dur'], (int, float)) and e['dur'] >= 0
        assert isinstance(e['pid'], int) and isinstance(e['tid'], int)
    starts = [e['ts'] for e in events]
    assert starts == sorted(starts) and starts[0] == 0


def test_the_events_account_for_the_step():
    # an MLP step large enough that its ops are the step (on a tiny model, Python around the
    # ops is most of it: docs/tools.md); the top-level events against the wall clock
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    opt = ember.optim.Adam(model.parameters(), lr=1e-3)
    x, y = ember.randn(128, 784), ember.randint(0, 10, (128,))
    step(model, opt, x, y)
    shares = []
    for _ in range(5):
        with ember.profiler.profile() as prof:
            start = time.perf_counter()
            step(model, opt, x, y)
            wall = time.perf_counter() - start
        covered, end = 0.0, -np.inf
        for e in prof.events():
            if e.start >= end:
                covered, end = covered + (e.end - e.start), e.end
        shares.append(covered / wall)
    assert 0.9 <= max(shares) <= 1.0, shares


def test_schedule_records_the_active_steps_and_hands_each_cycle_over():
    s = ember.profiler.schedule(wait=1, warmup=1, active=2, repeat=2, skip_first=1)
    assert [s(k).name for k in range(10)] == [
        'NONE', 'NONE', 'WARMUP', 'RECORD', 'RECORD_AND_SAVE',
        'NONE', 'WARMUP', 'RECORD', 'RECORD_AND_SAVE', 'NONE']
    ready = []
    x = ember.ones(4)
    with ember.profiler.profile(schedule=s, on_trace_ready=lambda p: ready.append(
            (p.step_num, len(p.events())))) as prof:
        for _ in range(10):
            x * 2
            prof.step()
    assert ready == [(4, 2), (8, 2)]     # steps 3-4 and 7-8: one op each
    with pytest.raises(ValueError, match='schedule: .*active > 0'):
        ember.profiler.schedule(wait=0, warmup=0, active=0)


def test_record_function_outside_a_profile_costs_nothing_and_decorates():
    @ember.profiler.record_function('f')
    def f(v):
        return v + 1

    assert f(1) == 2
    with ember.profiler.profile() as prof:
        f(ember.ones(2))
    assert [e.name for e in prof.events()] == ['f', 'ember::add']
