"""``ember.compile`` against eager ember: results, guards, graph breaks, randomness, errors,
and the benchmark's training loops.

A compiled program replays the NumPy calls the eager run made, in the same order, so its
results are compared with eager's bit for bit (docs/testing.md: the same computation in the
same process state is defined to the bit).
"""
import inspect
import warnings

import numpy as np
import pytest

import ember
import ember.compiler
from bench.workloads import WORKLOADS, init_weights, load_weights
from ember.compiler import GraphBreak

F = ember.nn.functional


def data(seed, *shape, dtype=np.float32):
    return ember.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


def same(got, want, what=''):
    """Equal to the bit: shape, dtype and values (NaN where NaN)."""
    g, w = np.asarray(got.detach().numpy()), np.asarray(want.detach().numpy())
    assert g.dtype == w.dtype and g.shape == w.shape, f'{what}: {g.dtype}{g.shape} vs ' \
                                                      f'{w.dtype}{w.shape}'
    np.testing.assert_array_equal(g, w, err_msg=what, strict=True)


def line_of(fn, text):
    """'file:line' of the first line of ``fn``'s source that contains ``text``."""
    lines, first = inspect.getsourcelines(fn)
    k = next(i for i, s in enumerate(lines) if text in s)
    return f'{inspect.getsourcefile(fn)}:{first + k}'


# ------------------------------------------------------------------ results equal eager

W = data(100, 5, 3)


def forward_backward(x, b):
    """A function with its own backward inside: the gradient of a loss wrt x and b."""
    x.requires_grad_()
    b.requires_grad_()
    h = ember.tanh(x @ W + b)
    loss = (h.exp() * h).mean() + F.softmax(h, dim=1).max()
    loss.backward()
    return loss.detach(), x.grad, b.grad


def test_results_equal_eager_bit_for_bit_over_calls():
    compiled = ember.compile(forward_backward)
    for seed in range(4):
        args = data(seed, 4, 5), data(seed + 10, 3)
        want = forward_backward(*(a.clone() for a in args))
        got = compiled(*args)
        for g, w, what in zip(got, want, ('loss', 'x.grad', 'b.grad')):
            same(g, w, f'call {seed}: {what}')
    assert compiled.recompiles == 1 and compiled.last.fn is not None   # captured once


def test_module_compiled_equals_eager():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(6, 8), ember.nn.GELU(), ember.nn.LayerNorm(8),
                                ember.nn.Linear(8, 2))
    compiled = ember.compile(model)
    with ember.no_grad():
        for seed in range(3):
            x = data(seed, 5, 6)
            same(compiled(x), model(x), f'call {seed}')
    assert compiled.recompiles == 1


def test_backward_outside_the_compiled_function_gives_eagers_gradients():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(4, 6), ember.nn.ReLU(), ember.nn.Linear(6, 1))
    compiled = ember.compile(model)
    for seed in range(3):
        x = data(seed, 7, 4)
        model.zero_grad()
        model(x).square().sum().backward()
        want = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        compiled(x).square().sum().backward()
        for k, (p, w) in enumerate(zip(model.parameters(), want)):
            same(p.grad, w, f'call {seed}, parameter {k}')


# ------------------------------------------------------------------ guards

def scaled(x):
    return (x * 2 + 1).sum(0)


def test_a_new_shape_recaptures_and_the_old_one_replays():
    compiled = ember.compile(scaled)
    same(compiled(data(0, 3, 4)), scaled(data(0, 3, 4)))
    first = compiled.last
    same(compiled(data(1, 5, 2)), scaled(data(1, 5, 2)))
    assert len(compiled.programs) == 2 and compiled.recompiles == 2
    assert compiled.last is not first
    same(compiled(data(2, 3, 4)), scaled(data(2, 3, 4)))
    assert compiled.last is first and compiled.recompiles == 2


def test_dtype_and_requires_grad_are_guarded():
    compiled = ember.compile(scaled)
    compiled(data(0, 3))
    same(compiled(data(1, 3, dtype=np.float64)), scaled(data(1, 3, dtype=np.float64)))
    assert compiled.recompiles == 2
    x = data(2, 3).requires_grad_()
    with ember.no_grad():
        same(compiled(x), scaled(x))
    assert compiled.recompiles == 3


def test_train_and_eval_switch_recaptures():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(4, 4), ember.nn.BatchNorm1d(4))
    compiled = ember.compile(model)
    x = data(0, 6, 4)
    with ember.no_grad():
        compiled(x)                                  # train: batch statistics, running update
        mean = model[1].running_mean.clone()
        assert not np.array_equal(mean.numpy(), np.zeros(4, np.float32))
        model.eval()
        got = compiled(x)
        assert compiled.recompiles == 2
        same(got, model(x), 'eval')                  # running statistics, not the batch's
        same(model[1].running_mean, mean, 'eval left the running mean alone')
        model.train()
        compiled(x)
        assert compiled.recompiles == 2              # the train program again
        assert not np.array_equal(model[1].running_mean.numpy(), mean.numpy())


def test_grad_mode_is_guarded():
    w = data(3, 3).requires_grad_()
    compiled = ember.compile(lambda x: (x * w).detach())
    same(compiled(data(0, 3)), data(0, 3) * w.detach())
    with ember.no_grad():
        same(compiled(data(1, 3)), data(1, 3) * w.detach())
    assert compiled.recompiles == 2
    same(compiled(data(2, 3)), data(2, 3) * w.detach())
    assert compiled.recompiles == 2


def test_grad_none_or_not_is_guarded_where_backward_adds_to_it():
    def accumulator(w):
        def step(x):
            (x * w).sum().backward()       # no zero_grad: the first .grad is made, later added to
            return w.grad.clone()
        return step

    w, w_eager = data(3, 3).requires_grad_(), data(3, 3).requires_grad_()
    compiled, eager = ember.compile(accumulator(w)), accumulator(w_eager)
    for call in range(4):
        same(compiled(data(call, 3)), eager(data(call, 3)), f'call {call}')
    assert compiled.recompiles == 2                     # .grad None, then a .grad


def test_recompile_limit_warns_naming_the_guard_then_runs_eagerly(monkeypatch):
    monkeypatch.setattr(ember.compiler, 'RECOMPILE_LIMIT', 3)
    w = ember.ones(1)
    compiled = ember.compile(lambda x: x * w)
    for n in range(2, 5):                    # three captures: the closed-over w changes shape
        w.data = data(n, n)
        same(compiled(data(0, 1)), data(0, 1) * w)
    assert compiled.recompiles == 3
    w.data = data(9, 9)
    with pytest.warns(UserWarning, match=r'recompile_limit.*tensor of shape \(4,\) float32 '
                                         r'keeps its shape'):
        out = compiled(data(0, 1))
    same(out, data(0, 1) * w)
    w.data = data(7, 7)
    with warnings.catch_warnings():
        warnings.simplefilter('error')       # eager from now on, silently
        same(compiled(data(0, 1)), data(0, 1) * w)
    assert compiled.recompiles == 3


def test_recompile_limit_on_changing_argument_shapes(monkeypatch):
    monkeypatch.setattr(ember.compiler, 'RECOMPILE_LIMIT', 2)
    compiled = ember.compile(scaled)
    compiled(data(0, 1, 2))
    compiled(data(0, 2, 2))
    with pytest.warns(UserWarning, match='the arguments changed'):
        same(compiled(data(0, 3, 2)), scaled(data(0, 3, 2)))
    assert compiled.recompiles == 2


# ------------------------------------------------------------------ graph breaks

def with_item(x):
    y = x * 2
    s = y.sum().item()
    return y + s


def with_if(x):
    y = x.exp()
    if x.sum() > 0:
        return y * 3
    return y - 1


@pytest.mark.parametrize('fn,shape', [
    (lambda x: x.cumprod(1).sum(), (3, 4)),                       # keeps its output
    (lambda x: (x.exp() * x).sum(), (3,)),
    (lambda x: ember.linalg.inv(x + 3 * ember.eye(3)).sum(), (3, 3)),
    (lambda x: ember.nn.functional.max_pool2d(x, 2).sum(), (1, 1, 4, 4)),   # taps on ctx
], ids=['cumprod', 'exp', 'inv', 'max_pool'])
def test_backward_after_the_call_equals_eager_on_capture_and_replay(fn, shape):
    # the first call returns the capture run's result, whose autograd graph kept arrays the
    # capture traced (an op's saved output, arrays on ctx): backward outside the function
    # must find real arrays there (it failed with a device error), and equal eager's
    x = ember.randn(*shape, requires_grad=True)
    compiled = ember.compile(fn)
    for _ in range(2):
        compiled(x).backward()
        got, x.grad = x.grad, None
        fn(x).backward()
        np.testing.assert_array_equal(got.numpy(), x.grad.numpy())
        x.grad = None


@pytest.mark.parametrize('fn,text', [(with_item, '.item()'), (with_if, 'if x.sum()')])
def test_graph_breaks_give_eagers_result_every_call(fn, text):
    compiled = ember.compile(fn)
    for seed in range(4):            # with_if takes both branches: the sign of the sum varies
        x = data(seed, 3, 2) + (seed % 2) * 2 - 1
        same(compiled(x), fn(x), f'call {seed}')
    assert compiled.last.breaks and compiled.last.fn is None
    explanation = ember.compile.explain(fn, data(0, 3, 2))
    assert explanation.graph_break_count >= 1
    assert explanation.breaks[0][1] == line_of(fn, text)
    assert line_of(fn, text) in str(explanation)


def test_fullgraph_raises_at_the_break():
    compiled = ember.compile(with_item, fullgraph=True)
    with pytest.raises(GraphBreak, match=line_of(with_item, '.item()')):
        compiled(data(0, 3))
    ok = ember.compile(scaled, fullgraph=True)
    same(ok(data(0, 3)), scaled(data(0, 3)))


def test_explain_of_a_whole_graph():
    explanation = ember.compile.explain(scaled, data(0, 3, 4))
    assert explanation.graph_count == 1 and explanation.graph_break_count == 0
    assert 'np.multiply' in str(explanation) and 'np.add' in str(explanation)


# ------------------------------------------------------------------ randomness

def test_dropout_draws_as_eager_with_the_same_seed():
    def build():
        ember.manual_seed(0)
        return ember.nn.Sequential(ember.nn.Linear(8, 16), ember.nn.Dropout(0.5),
                                   ember.nn.Linear(16, 1))

    def trainer(model):
        opt = ember.optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            out = model(x)
            out.square().mean().backward()
            opt.step()
            return out.detach()
        return step

    x = data(0, 4, 8)
    eager_model = build()
    ember.manual_seed(5)
    want = [trainer(eager_model)(x) for _ in range(4)]
    model = build()
    compiled = ember.compile(trainer(model))
    ember.manual_seed(5)
    got = [compiled(x) for _ in range(4)]
    for k, (g, w) in enumerate(zip(got, want)):
        same(g, w, f'step {k}')
    assert compiled.recompiles == 1 and compiled.last.fn is not None
    for p, q in zip(model.parameters(), eager_model.parameters()):
        same(p, q, 'weights after four steps')


def test_each_call_draws_new_numbers():
    compiled = ember.compile(lambda x: F.dropout(x, 0.5, training=True) + ember.rand(3))
    x = ember.ones(3)
    ember.manual_seed(1)
    got = [compiled(x) for _ in range(3)]
    ember.manual_seed(1)
    want = [F.dropout(x, 0.5, training=True) + ember.rand(3) for _ in range(3)]
    for k, (g, w) in enumerate(zip(got, want)):
        same(g, w, f'call {k}')
    assert not np.array_equal(got[1].numpy(), got[2].numpy())
    assert compiled.recompiles == 1


# ------------------------------------------------------------------ the API

def test_decorator_forms():
    @ember.compile
    def f(x):
        return x * 3

    @ember.compile(fullgraph=True, mode='reduce-overhead')
    def g(x):
        return x - 3

    assert isinstance(f, ember.compiler.CompiledFunction) and f.__name__ == 'f'
    same(f(data(0, 2)), data(0, 2) * 3)
    same(g(data(0, 2)), data(0, 2) - 3)
    assert ember.compile(scaled, disable=True) is scaled


def test_keyword_errors():
    with pytest.raises(ValueError, match="'fastest'"):
        ember.compile(scaled, mode='fastest')
    with pytest.raises(ValueError, match="'xla'"):
        ember.compile(scaled, backend='xla')
    with pytest.raises(TypeError, match='int'):
        ember.compile(3)


def test_out_of_range_target_raises_eagers_error_on_a_replay():
    def loss(logits, target):
        return F.cross_entropy(logits, target)

    compiled = ember.compile(loss)
    logits = data(0, 4, 3)
    for seed in range(2):
        target = ember.tensor(np.random.default_rng(seed).integers(0, 3, 4))
        same(compiled(logits, target), loss(logits, target), f'call {seed}')
    bad = ember.tensor(np.array([0, 2, 5, 1]))
    with pytest.raises(IndexError) as eager:
        loss(logits, bad)
    with pytest.raises(IndexError) as replayed:
        compiled(logits, bad)
    assert str(replayed.value) == str(eager.value) and '5' in str(eager.value)
    assert compiled.recompiles == 1
    target = ember.tensor(np.array([2, 2, 0, 1]))       # and it goes on after the error
    same(compiled(logits, target), loss(logits, target))


# ------------------------------------------------------------------ training loops

STEPS = 50


def trained(w, steps, compiled):
    """Losses of ``steps`` steps of workload ``w`` from its initial weights, eager or through
    a compiled ``step(*batch)`` closing over the model and optimizer; and the compiled
    function (or None)."""
    ctx = dict(data=DATA[w.key], device='cpu', amp=None, on_device={})
    if w.model is not None:
        model = w.model(ember)
        load_weights(ember, model, init_weights(model, w.init))
        ctx.update(model=model, optimizer=w.optimizer(ember, model.parameters()))

    def step(*batch):
        return w.step.compute(ember, ctx, *batch).detach()

    run = ember.compile(step) if compiled else step
    losses = [run(*w.step.inputs(ember, ctx, i)).numpy() for i in range(steps)]
    return np.array(losses), run if compiled else None


DATA = {}
TRAINED = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W8']


@pytest.mark.parametrize('key', TRAINED)
def test_training_loop_compiled_equals_eager(key, steps=STEPS):
    w = WORKLOADS[key]
    if key not in DATA:
        DATA[key] = w.data(0)
    want, _ = trained(w, steps, compiled=False)
    got, compiled = trained(w, steps, compiled=True)
    np.testing.assert_array_equal(got, want, strict=True)
    assert compiled.recompiles == 1 and len(compiled.programs) == 1
    assert compiled.last.fn is not None and not compiled.last.breaks
    if w.model is not None:
        assert want[-1] < want[0]              # it trained


def test_a_modules_plain_attributes_are_guards():
    """A number a module's forward reads from its own attributes is baked into the program:
    changing it recaptures (rather than replaying the old value)."""
    class Scaled(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = 2.0
            self.lin = ember.nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x) * self.scale
    model = Scaled()
    compiled = ember.compile(model)
    x = ember.ones(1, 2)
    with ember.no_grad():
        before = compiled(x)
        model.scale = 3.0
        after = compiled(x)
        np.testing.assert_array_equal(after.numpy(), model(x).numpy())
    assert not np.array_equal(after.numpy(), before.numpy())
    assert compiled.recompiles == 2
