"""Module basics, Linear, the talk's API and optimizers against torch."""
import numpy as np
import pytest
import torch

import ember
from ember import nn


def test_talk_models_train_verbatim():
    class SampleModel(nn.Module):
        def __init__(self):
            super(SampleModel, self).__init__()
            self.line_layer = nn.Tensor.line(1, 1)

        def forward(self, x: nn.Tensor) -> nn.Tensor:
            out = self.line_layer(x)
            return out
    ember.manual_seed(0)
    model = SampleModel()
    assert [n for n, _ in model.named_parameters()] == ['line_layer.weight', 'line_layer.bias']
    x = ember.linspace(0, 1, 20).reshape(20, 1)
    y = 3 * x + 0.5
    opt = ember.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(300):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-4


def test_linear_matches_torch_forward_and_grads():
    ember.manual_seed(0)
    e = nn.Linear(4, 3)
    t = torch.nn.Linear(4, 3)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(e.weight._data))
        t.bias.copy_(torch.tensor(e.bias._data))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    (ye ** 2).sum().backward()
    (yt ** 2).sum().backward()
    np.testing.assert_allclose(e.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(e.bias.grad.numpy(), t.bias.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_linear_default_init_range():
    w = nn.Linear(100, 50).weight
    assert w.shape == (50, 100) and abs(w._data).max() <= 0.1


def test_state_dict_round_trip_and_strict_errors():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    assert np.array_equal(a.weight._data, b.weight._data)
    with pytest.raises(RuntimeError, match=r"missing keys: \['bias'\]; unexpected keys: "
                                           r"\['extra'\]"):
        b.load_state_dict({'weight': a.weight, 'extra': a.bias})
    missing, unexpected = b.load_state_dict({'weight': a.weight}, strict=False)
    assert missing == ['bias'] and unexpected == []


def test_train_eval_recursive_and_repr():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)
    net = Net().eval()
    assert not net.training and not net.fc.training
    assert repr(net) == 'Net(\n  (fc): Linear(in_features=2, out_features=2, bias=True)\n)'


def _run(opt_e, opt_t, steps=50):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(5).astype(np.float32)
    we = nn.Parameter(ember.tensor(w0))
    wt = torch.nn.Parameter(torch.tensor(w0))
    oe, ot = opt_e([we]), opt_t([wt])
    target = rng.standard_normal(5).astype(np.float32)
    for _ in range(steps):
        for w, o, m in ((we, oe, ember), (wt, ot, torch)):
            o.zero_grad()
            ((w - m.tensor(target)) ** 4).sum().backward()
            o.step()
    np.testing.assert_allclose(we._data, wt.detach().numpy(), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize('kw', [dict(lr=0.01), dict(lr=0.01, momentum=0.9),
                                dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1),
                                dict(lr=0.01, momentum=0.5, dampening=0.3, maximize=False)])
def test_sgd_matches_torch(kw):
    _run(lambda p: ember.optim.SGD(p, **kw), lambda p: torch.optim.SGD(p, **kw))


@pytest.mark.parametrize('name,kw', [('Adam', dict(lr=0.01)),
                                     ('Adam', dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
                                     ('AdamW', dict(lr=0.01)),
                                     ('AdamW', dict(lr=0.01, amsgrad=True))])
def test_adam_matches_torch(name, kw):
    _run(lambda p: getattr(ember.optim, name)(p, **kw),
         lambda p: getattr(torch.optim, name)(p, **kw))


def test_talk_classifier_trains_verbatim():
    class SampleModel(nn.Module):
        def __init__(self, in_size, hidden_size, out_size):
            super().__init__()
            self.layer_1 = nn.Tensor.uniform(in_size, hidden_size)
            self.layer_2 = nn.Tensor.uniform(hidden_size, out_size)

        def forward(self, xs):
            return xs.dot(self.layer_1).sigmoid().dot(self.layer_2).logsoftmax()
    ember.manual_seed(0)
    rng = np.random.default_rng(0)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    labels = rng.integers(0, 3, 300)
    xs = ember.tensor((centers[labels] + 0.5 * rng.standard_normal((300, 2))).astype(np.float32))
    ys = ember.tensor(labels)
    model = SampleModel(2, 16, 3)
    assert [n for n, _ in model.named_parameters()] == ['layer_1', 'layer_2']
    opt = ember.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        loss = nn.functional.nll_loss(model(xs), ys)
        loss.backward()
        opt.step()
    accuracy = (model(xs).argmax(1) == ys).float().mean().item()
    assert accuracy > 0.9, accuracy


def test_optimizer_state_dict_round_trip_continues_identically():
    def make():
        ember.manual_seed(0)
        w = nn.Parameter(ember.randn(4))
        return w, ember.optim.Adam([w], lr=0.1)

    def step(w, opt):
        opt.zero_grad()
        (w ** 2).sum().backward()
        opt.step()
    w1, o1 = make()
    for _ in range(3):
        step(w1, o1)
    sd = o1.state_dict()
    assert isinstance(sd['state'][0]['exp_avg'], ember.Tensor)
    w2, o2 = make()
    w2._data[...] = w1._data
    o2.load_state_dict(sd)
    for _ in range(3):
        step(w1, o1)
        step(w2, o2)
    assert np.array_equal(w1._data, w2._data)


def test_full_backward_hook_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    w = rng.standard_normal((2, 4)).astype(np.float32)
    seen = {}
    for m, lib in (('e', ember), ('t', torch)):
        layer = lib.nn.Linear(4, 2, bias=False)
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(w))
        xi = lib.tensor(x, requires_grad=True)

        def hook(mod, gi, go, m=m):
            seen[m] = (gi[0].detach().numpy().copy(), go[0].detach().numpy().copy())
            return (gi[0] * 2,)
        h = layer.register_full_backward_hook(hook)
        (layer(xi) ** 2).sum().backward()
        seen[m + 'grad'] = xi.grad.numpy()
        h.remove()
        xi.grad = None
        (layer(xi) ** 2).sum().backward()
        seen[m + 'plain'] = xi.grad.numpy()
    for k in ('e', 'egrad', 'eplain'):
        a, b = seen[k], seen['t' + k[1:]]
        for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            np.testing.assert_allclose(u, v, rtol=1e-5)


def test_forward_hooks_and_removal():
    layer = nn.Linear(2, 2)
    calls = []
    h1 = layer.register_forward_pre_hook(lambda m, a: calls.append('pre'))
    h2 = layer.register_forward_hook(lambda m, a, o: o * 0)
    assert not layer(ember.ones(1, 2))._data.any() and calls == ['pre']
    h1.remove()
    h2.remove()
    layer(ember.ones(1, 2))
    assert calls == ['pre'] and layer._forward_hooks == []
