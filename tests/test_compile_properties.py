"""Property-based tests of ember.compile: random programs of ops (with in-place updates,
views, constants and a parameter), compiled and eager, on new data each call.

A compiled program is the array calls of the eager run, so its results and gradients must be
eager's to the bit on every call, and it must replay (no new capture) while the shapes stay.
"""
import numpy as np
from hypothesis import example, given, settings, strategies as st

import ember
import ember.nn.functional as F

SETTINGS = settings(deadline=None)

# each step takes the running tensor y (shape (4, 6)) and a parameter w (6, 6) and gives a new y
STEPS = {
    'add': lambda y, w: y + 0.5,
    'mul_param': lambda y, w: y * w[0],
    'matmul': lambda y, w: y @ w,
    'sub_rsub': lambda y, w: 1.0 - y,
    'div': lambda y, w: y / 3.0,
    'square': lambda y, w: y * y,
    'tanh': lambda y, w: y.tanh(),
    'sigmoid': lambda y, w: y.sigmoid(),
    'relu': lambda y, w: F.relu(y),
    'gelu': lambda y, w: F.gelu(y),
    'exp_clamp': lambda y, w: y.clamp(-3, 3).exp(),
    'softmax': lambda y, w: y.softmax(-1),
    'log_softmax': lambda y, w: F.log_softmax(y, dim=0),
    'layer_norm': lambda y, w: F.layer_norm(y, (6,)),
    'transpose_back': lambda y, w: y.t().contiguous().t(),
    'reshape': lambda y, w: y.reshape(6, 4).reshape(4, 6),
    'slice_cat': lambda y, w: ember.cat([y[:, 3:], y[:, :3]], dim=1),
    'sum_keep': lambda y, w: y - y.sum(1, keepdim=True) / 6,
    'mean_max': lambda y, w: y - y.mean(0) + y.max(1, keepdim=True)[0],
    'where': lambda y, w: ember.where(y > 0, y, y * 0.1),
    'inplace_view': lambda y, w: _inplace_view(y),
    'index_put': lambda y, w: _index_put(y),
    'detach_mix': lambda y, w: y + y.detach() * 0.25,
    'zeros_like': lambda y, w: y + ember.zeros_like(y) + ember.ones(4, 6),
}


def _inplace_view(y):
    z = y.clone()
    z[1:3] += 1.0          # an in-place update through a view
    return z


def _index_put(y):
    z = y * 1.0
    z[:, 0] = y[:, 1]
    return z


def program(names, w):
    def fn(x):
        y = x
        for name in names:
            y = STEPS[name](y, w)
        loss = (y * y).sum()
        gx, gw = ember.autograd.grad(loss, [x, w], allow_unused=True)
        return loss.detach(), y.detach(), gx, ember.zeros(1) if gw is None else gw
    return fn


@SETTINGS
@given(st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=6),
       st.integers(0, 2 ** 16))
# a fused run over transposed (F-ordered) arrays: NumPy's results keep that layout, and the
# sum after it adds in that order; a fused loop writing C order gave a different last bit
@example(names=['add', 'transpose_back', 'detach_mix', 'add'], seed=0)
def test_a_random_program_compiled_equals_eager_on_every_call(names, seed):
    rng = np.random.default_rng(seed)
    w = ember.tensor(rng.standard_normal((6, 6)).astype(np.float32) * 0.3, requires_grad=True)
    eager, compiled = program(names, w), ember.compile(program(names, w))
    for call in range(3):
        x = ember.tensor(rng.standard_normal((4, 6)).astype(np.float32), requires_grad=True)
        want, got = eager(x), compiled(x)
        for a, b in zip(want, got):
            np.testing.assert_array_equal(b.numpy(), a.numpy(), strict=True,
                                          err_msg=f'{names}, call {call}')
    assert compiled.recompiles == 1
    assert compiled.last.fn is not None, compiled.last.breaks


@SETTINGS
@given(st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=4),
       st.integers(0, 2 ** 16))
def test_a_random_training_step_compiled_equals_eager(names, seed):
    """The same program as a model's forward, with backward and an SGD step inside."""
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal((6, 6)).astype(np.float32) * 0.3

    def build():
        w = ember.nn.Parameter(ember.tensor(w0.copy()))
        return w, ember.optim.SGD([w], lr=0.01)

    def step(w, opt, x):
        opt.zero_grad()
        y = x @ w   # (so that the loss depends on the parameter)
        for name in names:
            y = STEPS[name](y, w)
        loss = (y * y).mean()
        loss.backward()
        opt.step()
        return loss
    (w1, o1), (w2, o2) = build(), build()
    compiled = ember.compile(lambda x: step(w2, o2, x))
    for _ in range(3):
        x = ember.tensor(rng.standard_normal((4, 6)).astype(np.float32))
        got, want = compiled(x), step(w1, o1, x)   # (NaN equals NaN here: a run may diverge)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy(), strict=True)
        np.testing.assert_array_equal(w2.detach().numpy(), w1.detach().numpy())
    assert compiled.recompiles == 1 and compiled.last.fn is not None
