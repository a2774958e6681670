"""The debugger (issue 20): detect_anomaly, watch_nan, the op trace and the model summary."""
import inspect
import json
import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import _State


def _line_of(fn, text):
    """The line number in this file of the line of ``fn`` containing ``text``."""
    lines, start = inspect.getsourcelines(fn)
    return start + next(k for k, line in enumerate(lines) if text in line)


class SqrtModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        h = self.lin(x)
        return h.sqrt().sum()            # NaN for a negative h


class LogModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        h = self.lin(x).relu()
        return h.log().sum()             # log(0) where relu cut


@pytest.mark.parametrize('model_type, line, op, kind', [
    (SqrtModel, 'h.sqrt()', 'sqrt', 'nan'), (LogModel, 'h.log()', 'log', 'inf')])
def test_detect_anomaly_names_the_op_and_the_users_line(model_type, line, op, kind):
    ember.manual_seed(0)
    model = model_type()
    with ember.no_grad():
        model.lin.weight.copy_(ember.tensor([[1.0, 0.0], [0.0, -1.0]]))
        model.lin.bias.zero_()
    x = ember.tensor([[1.0, 2.0]])
    model(x).backward()                  # off: no error, a non-finite gradient
    assert not np.isfinite(model.lin.weight.grad.numpy()).all()
    where = f'test_debug.py:{_line_of(model_type.forward, line)}'
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        with ember.autograd.detect_anomaly():
            assert ember.autograd.is_anomaly_enabled()
            with pytest.raises(RuntimeError) as e:
                model(x).backward()
    msg = str(e.value)
    assert f"Function '{op.capitalize()}Backward' returned {kind} values" in msg
    assert f'backward of {op}' in msg and where in msg, msg
    texts = [str(w.message) for w in seen]
    assert any(t.startswith('Anomaly Detection has been enabled') for t in texts)
    assert any(f'Error detected in {op.capitalize()}Backward' in t and line in t for t in texts)
    assert not ember.autograd.is_anomaly_enabled() and _State.op_hooks == [] and \
        not _State.anomaly


def test_detect_anomaly_passes_a_finite_backward_and_works_as_a_decorator():
    x = ember.tensor([1.0, 4.0], requires_grad=True)

    @ember.autograd.detect_anomaly()
    def step():
        x.sqrt().sum().backward()

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        step()
    assert np.allclose(x.grad.numpy(), [0.5, 0.25])
    _ = ember.autograd.set_detect_anomaly(True, check_nan=False)
    try:
        assert ember.autograd.is_anomaly_enabled() and \
            not ember.autograd.is_anomaly_check_nan_enabled()
        ember.tensor([-1.0], requires_grad=True).sqrt().sum().backward()   # not checked
    finally:
        ember.autograd.set_detect_anomaly(False)
    assert _State.op_hooks == [] and not _State.anomaly


def test_watch_nan_stops_at_the_first_op_that_makes_one():
    x = ember.tensor([1.0, -1.0, 4.0])
    ran = []
    with pytest.raises(ember.debug.NonFiniteError) as e:
        with ember.debug.watch_nan():
            y = x * 2
            ran.append('mul')
            z = y.sqrt()                 # the first NaN
            ran.append('sqrt')
            z.log()
    assert ran == ['mul']
    msg = str(e.value)
    line = _line_of(test_watch_nan_stops_at_the_first_op_that_makes_one, 'y.sqrt()')
    assert msg.startswith('sqrt made nan: 1 of 3 elements of its (3,) result') and \
        f'test_debug.py:{line}' in msg
    assert _State.op_hooks == []
    with ember.debug.watch_nan(inf=False):
        ember.tensor([0.0]).log()        # -inf passes when only NaN is watched
    with pytest.raises(ember.debug.NonFiniteError, match='log made inf'):
        with ember.debug.watch_nan():
            ember.tensor([0.0]).log()


def test_watch_nan_says_when_an_input_already_held_one():
    x = ember.tensor([float('nan'), 1.0])
    with pytest.raises(ember.debug.NonFiniteError, match='an input already held NaN'):
        with ember.debug.watch_nan():
            x + 1


def test_trace_records_each_op_with_shapes_dtypes_device_and_time(tmp_path):
    a, b = ember.randn(4, 8), ember.randn(8, 3)
    with ember.debug.trace(stack=True) as t:
        c = (a @ b).relu()
        d = c.sum(dim=1).argmax()        # argmax: no gradient, still an op
    # ember's ops, as backward names them (PiecewiseLinear runs relu, Arg argmax)
    assert [e['op'] for e in t.events] == ['matmul', 'piecewiselinear', 'sum', 'arg']
    first = t.events[0]
    assert first['inputs'] == [[4, 8], [8, 3]] and first['output'] == [4, 3]
    assert first['dtypes'] == ['float32', 'float32'] and first['dtype'] == 'float32'
    assert first['device'] == 'cpu' and first['ms'] >= 0
    assert t.events[3]['dtype'] == 'int64' and t.events[3]['output'] == [] and d.dim() == 0
    line = _line_of(test_trace_records_each_op_with_shapes_dtypes_device_and_time, '(a @ b)')
    assert t.events[0]['where'].startswith(f'{__file__}:{line}')
    assert [e['op'] for e in t.filter(op=('arg', 'sum')).events] == ['sum', 'arg']
    assert len(t.filter(min_ms=1e9)) == 0
    totals = t.totals()
    assert set(totals) == {'matmul', 'piecewiselinear', 'sum', 'arg'} and \
        all(n == 1 for n, _ in totals.values())
    path = tmp_path / 'trace.json'
    t.save(path)
    assert json.loads(path.read_text()) == t.events
    table = str(t).splitlines()
    assert table[0].split() == ['op', 'inputs', 'output', 'dtype', 'device', 'ms']
    assert table[2].startswith('matmul') and table[-1].startswith('4 ops')
    assert _State.op_hooks == [] and _State.timed == 0


def test_summary_counts_parameters_mult_adds_and_shapes_of_lenet():
    torch = pytest.importorskip('torch')
    from bench.workloads import lenet
    model = lenet(ember)
    stats = ember.utils.summary(model, input_size=(64, 1, 28, 28), verbose=0)
    assert stats.total_params == sum(p.numel() for p in lenet(torch).parameters()) == 61706
    # torchinfo's count: each weight and bias element once per output position of a sample
    convs = 156 * 64 * 28 * 28 + 2416 * 64 * 10 * 10
    linears = 64 * (48120 + 10164 + 850)
    assert stats.total_mult_adds == convs + linears
    shapes = [r['output'] for r in stats.rows]
    assert shapes[0] == (64, 10) and shapes[1] == (64, 6, 28, 28) and shapes[-1] == (64, 10)
    lines = str(stats).splitlines()
    assert lines[4].split() == ['├─Conv2d:', '1-1', '[64,', '6,', '28,', '28]', '156']
    assert 'Total params: 61,706' in lines and 'Total mult-adds (M): 27.07' in lines
    out = ember.utils.summary(model, input_data=ember.randn(2, 1, 28, 28), verbose=0)
    assert out.rows[0]['output'] == (2, 10)
    with pytest.raises(ValueError, match='summary: give input_size'):
        ember.utils.summary(model)


def _steps(accumulate):
    from ember import _leak
    _leak._Watch.done, _leak._Watch.last = False, None
    ember.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    total, kept = 0, []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        for _ in range(3):
            loss = model(ember.randn(8, 3)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if accumulate:
                total += loss            # the leak: each step's graph holds the last one's
            else:
                total += loss.item()
                kept.append(loss)        # holding losses keeps nodes, builds no graph on them
    return [w for w in seen if 'graph of an earlier backward()' in str(w.message)]


def test_a_graph_kept_across_training_steps_warns_once_at_the_users_line():
    found = _steps(accumulate=True)
    assert len(found) == 1 and found[0].filename == __file__
    assert 'total_loss += loss' in str(found[0].message)
    assert _steps(accumulate=False) == []
