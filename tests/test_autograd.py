"""The autograd engine: accumulation, graph freeing, deep graphs, hooks, grad(), Function."""
import gc
import weakref

import numpy as np
import pytest
import torch

import ember
from ember.autograd import Function


def test_reused_node_accumulates():
    a = ember.tensor(1.5, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_grads_accumulate_across_backward_calls():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    (a * 3).sum().backward()
    (a * a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [3 + 2, 3 + 4])


def test_leaf_grads_are_independent_tensors():
    a = ember.ones(2, requires_grad=True)
    b = ember.ones(2, requires_grad=True)
    (a + b).sum().backward()
    a.grad.add_(1)
    assert b.grad.tolist() == [1.0, 1.0]


def test_chain_of_100000_ops_has_no_recursion_error():
    x = ember.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_intermediate_buffers_freed_after_backward():
    x = ember.randn(100, requires_grad=True)
    h = x.exp()          # Exp saves its output
    y = h * x            # Mul saves h and x
    buf = weakref.ref(h._data)
    loss = y.sum()
    del h, y
    gc.collect()
    assert buf() is not None      # the graph keeps it alive before backward
    loss.backward()
    gc.collect()
    assert buf() is None          # and lets go after
    assert loss.grad_fn is not None


def test_graph_kept_with_retain_graph():
    x = ember.tensor(2.0, requires_grad=True)
    y = x.exp() * x
    y.backward(retain_graph=True)
    y.backward()
    expected = 2 * (np.exp(2.0) + 2 * np.exp(2.0))
    assert abs(x.grad.item() - expected) < 1e-3


def test_accumulated_loss_does_not_keep_buffers():
    w = ember.randn(10, requires_grad=True)
    total = 0.0
    refs = []
    for _ in range(3):
        h = w.exp()
        refs.append(weakref.ref(h._data))
        loss = (h * w).sum()
        loss.backward()
        total += loss.item()
        del h, loss
    gc.collect()
    assert all(r() is None for r in refs)


def test_backward_twice_raises_and_grad_unchanged():
    x = ember.tensor(2.0, requires_grad=True)
    y = x.exp() * x
    y.backward()
    before = x.grad.item()
    with pytest.raises(RuntimeError, match='backward through the graph a second time'):
        y.backward()
    assert x.grad.item() == before


def test_create_graph_second_and_third_order():
    x = ember.tensor(0.7, dtype=ember.float64, requires_grad=True)
    (d1,) = ember.autograd.grad(x ** 4, x, create_graph=True)
    (d2,) = ember.autograd.grad(d1, x, create_graph=True)
    (d3,) = ember.autograd.grad(d2, x)
    assert np.isclose(d1.item(), 4 * 0.7 ** 3)
    assert np.isclose(d2.item(), 12 * 0.7 ** 2)
    assert np.isclose(d3.item(), 24 * 0.7)


def test_backward_create_graph_matches_torch():
    data = np.array([0.3, -1.2, 2.0])
    xe = ember.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    for x, m in ((xe, ember), (xt, torch)):
        y = (m.exp(x) * x * x).sum()
        y.backward(create_graph=True)
        x.grad.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.detach().numpy(), rtol=1e-12)


def test_grad_does_not_touch_dot_grad_and_allow_unused():
    x = ember.tensor(1.0, requires_grad=True)
    z = ember.tensor(1.0, requires_grad=True)
    y = x * 2
    (gx, gz) = ember.autograd.grad(y, [x, z], allow_unused=True)
    assert gx.item() == 2.0 and gz is None and x.grad is None
    with pytest.raises(RuntimeError, match='was not used'):
        ember.autograd.grad(x * 2, [x, z])


def test_grad_of_non_leaf_input():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    (gh,) = ember.autograd.grad(y, h)
    assert gh.tolist() == [6.0, 12.0]


def test_backward_inputs_argument():
    x = ember.tensor(1.0, requires_grad=True)
    w = ember.tensor(2.0, requires_grad=True)
    (x * w).backward(inputs=[w])
    assert w.grad.item() == 1.0 and x.grad is None


def test_non_scalar_backward_needs_gradient():
    x = ember.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match='implicitly created only for scalar outputs'):
        y.backward()
    assert x.grad is None
    y.backward(ember.tensor([1.0, 2.0, 3.0]))
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_gradient_shape_mismatch():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match='Mismatch in shape'):
        (x * 2).backward(ember.ones(2))
    assert x.grad is None


def test_backward_without_grad_raises():
    with pytest.raises(RuntimeError, match='does not require grad'):
        ember.ones(2).sum().backward()


def test_broadcast_gradient_reduced_to_input_shape():
    a = ember.ones(3, 1, requires_grad=True)
    b = ember.ones(4, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    assert a.grad.tolist() == [[4.0]] * 3 and b.grad.tolist() == [3.0] * 4


def test_mixed_dtype_gradient_comes_back_in_input_dtype():
    a = ember.ones(2, dtype=ember.float32, requires_grad=True)
    b = ember.ones(2, dtype=ember.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype is ember.float32 and b.grad.dtype is ember.float64


def test_no_grad_and_decorators():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        assert not (x * 2).requires_grad
        with ember.enable_grad():
            assert (x * 2).requires_grad

    @ember.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad and ember.is_grad_enabled()
    ember.set_grad_enabled(False)
    assert not ember.is_grad_enabled()
    ember.set_grad_enabled(True)
    with ember.inference_mode():
        assert not (x * 2).requires_grad
    assert ember.is_grad_enabled()


def test_hooks_modify_and_remove():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    seen = []
    h1 = y.register_hook(lambda g: seen.append(g.tolist()))
    h2 = x.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert seen == [[1.0, 1.0]] and x.grad.tolist() == [20.0, 20.0]
    h1.remove()
    h2.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0] and len(seen) == 1


def test_retain_grad():
    x = ember.ones(2, requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = y * y
    z.sum().backward()
    assert y.grad.tolist() == [6.0, 6.0]
    assert y.retains_grad


def test_leaf_and_grad_fn_attributes():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf and y.grad_fn.name == 'MulBackward'
    assert ember.ones(2).is_leaf
    assert y.detach().is_leaf and not y.detach().requires_grad


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * g


class SplitScale(Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        idx = (x > 0)
        ctx.mark_non_differentiable(idx)
        return x * k, idx

    @staticmethod
    def backward(ctx, g, _):
        assert ctx.needs_input_grad == (True, False)
        return g * ctx.k, None


def test_custom_function_first_and_second_order():
    x = ember.tensor(2.0, dtype=ember.float64, requires_grad=True)
    y = Cube.apply(x)
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    (gg,) = ember.autograd.grad(g, x)
    assert g.item() == 12.0 and gg.item() == 12.0
    assert ember.autograd.gradcheck(Cube.apply, (ember.randn(3, dtype=ember.float64,
                                                             requires_grad=True),))


def test_custom_function_multiple_outputs_and_non_differentiable():
    x = ember.tensor([-1.0, 2.0], requires_grad=True)
    y, idx = SplitScale.apply(x, 3.0)
    assert not idx.requires_grad and idx.tolist() == [False, True]
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_function_wrong_number_of_gradients():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return (g,)
    a = ember.ones(1, requires_grad=True)
    b = ember.ones(1, requires_grad=True)
    with pytest.raises(RuntimeError, match='incorrect number of gradients'):
        Bad.apply(a, b).sum().backward()


def test_gradcheck_catches_a_wrong_gradient():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g   # should be 2 x g
    x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    with pytest.raises(ember.autograd.GradcheckError):
        ember.autograd.gradcheck(Wrong.apply, (x,))
    assert not ember.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False)


def test_gradgradcheck_on_composite():
    x = ember.randn(4, dtype=ember.float64, requires_grad=True)
    w = ember.randn(4, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda x, w: (x * w).exp() / (x * x + 1), (x, w))


def test_next_functions_show_the_graph():
    x = ember.ones(2, requires_grad=True)
    y = (x * 2).exp()
    (node, nr), = y.grad_fn.next_functions
    assert node.name == 'MulBackward' and nr == 0
    assert repr(node.next_functions[0][0]) == '<AccumulateGrad>'


def test_backward_order_is_deterministic():
    def run():
        x = ember.tensor([0.1, 0.2, 0.3], requires_grad=True)
        a, b = x.exp(), x * 3.0
        ((a * b) + a / (b + 1)).sum().backward()
        return x.grad.numpy().tobytes()
    assert run() == run()


def test_no_two_grads_share_memory():
    x = ember.ones(3, requires_grad=True)
    z = ember.ones(3, requires_grad=True)
    y = x.clone()
    y.retain_grad()
    (y + z).sum().backward()
    for a, b in ((x, y), (x, z), (y, z)):
        assert not np.shares_memory(a.grad._data, b.grad._data)
    g = ember.ones(3)
    w = ember.ones(3, requires_grad=True)
    w.backward(g)
    assert not np.shares_memory(w.grad._data, g._data)


def test_product_with_a_constant_keeps_only_what_backward_reads():
    """``h * c`` for a constant ``c`` does not keep ``h`` (only ``c``'s gradient reads it);
    ``h * w`` for a ``w`` that wants a gradient does."""
    x = ember.randn(1000, requires_grad=True)
    w = ember.randn(1000, requires_grad=True)
    h1, h2 = x + 1, x + 2
    kept = {'const': weakref.ref(h1._data), 'param': weakref.ref(h2._data)}
    y = (h1 * 3.0).sum() + (h2 / ember.tensor(4.0)).sum() + (h2 * w).sum()
    del h1, h2
    gc.collect()
    assert kept['const']() is None and kept['param']() is not None
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 + 0.25 + w.detach().numpy(), rtol=1e-6)


def test_outputs_an_op_keeps_are_freed_without_the_cycle_collector():
    """An op that keeps its output for backward keeps the array, not the tensor (which would
    make a tensor -> node -> tensor cycle, freed only by the cyclic GC): a forward without
    backward frees its memory as soon as the outputs are dropped."""
    x = ember.randn(100, requires_grad=True)
    fns = [ember.sigmoid, ember.exp, ember.tanh, lambda t: t.softmax(0),
           lambda t: t.log_softmax(0), ember.nn.functional.gelu, ember.sqrt]
    gc.disable()
    try:
        for fn in fns:
            y = fn(x.abs() + 1)
            alive = weakref.ref(y._data)
            del y
            assert alive() is None, fn
    finally:
        gc.enable()


def test_a_training_step_leaves_no_cyclic_garbage():
    """Graphs are freed by reference counting alone (the cycle collector finds nothing after
    forward, backward and an optimizer step through LSTM, attention, softmax and GELU)."""
    ember.manual_seed(0)
    lstm = ember.nn.LSTM(4, 8, batch_first=True)
    attn = ember.nn.MultiheadAttention(8, 2, batch_first=True)
    head = ember.nn.Linear(8, 3)
    params = list(lstm.parameters()) + list(attn.parameters()) + list(head.parameters())
    opt = ember.optim.Adam(params, lr=1e-3)
    x, y = ember.randn(2, 5, 4), ember.tensor([[0, 1, 2, 0, 1], [2, 2, 1, 0, 0]])

    def step():
        opt.zero_grad()
        h, _ = lstm(x)
        a, _ = attn(h, h, h)
        logits = head(ember.nn.functional.gelu(a + h)).softmax(-1).log()
        ember.nn.functional.nll_loss(logits.reshape(-1, 3), y.reshape(-1)).backward()
        opt.step()
    step()
    gc.collect()
    gc.disable()
    try:
        step()
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_post_accumulate_grad_hook_as_torch():
    """Called once per backward, after the leaf's gradient (from every use, added to what
    .grad held) is in .grad; not for a non-leaf; removable."""
    seen = {}
    for fw in (ember, torch):
        w = fw.tensor([1.0, 2.0], requires_grad=True)
        log = []
        h = w.register_post_accumulate_grad_hook(lambda p: log.append(p.grad.tolist()))
        (w * w + 3 * w).sum().backward()
        (w * 2).sum().backward()
        h.remove()
        w.sum().backward()
        with pytest.raises(RuntimeError, match='leaf'):
            (w * 2).register_post_accumulate_grad_hook(lambda p: None)
        seen[fw.__name__] = log
    assert seen['ember'] == seen['torch'] == [[5.0, 7.0], [7.0, 9.0]]
