"""ember.nn.utils.prune against torch.nn.utils.prune: the masks, the parametrization
(names, state_dict, forward, gradients), pruning twice, global pruning, remove; and
remove_channels (ember's own), which keeps the function and drops the channels."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.nn.utils import prune

torch = pytest.importorskip('torch')
import torch.nn.utils.prune as tprune  # noqa: E402


def pair(shape_in=6, shape_out=5, seed=0):
    """An ember and a torch Linear with the same distinct weights."""
    rng = np.random.default_rng(seed)
    w = rng.permutation(shape_in * shape_out).reshape(shape_out, shape_in) + 1.0
    w = (w * rng.choice([-1, 1], w.shape) / 7).astype(np.float32)   # distinct |w|: no ties
    b = rng.standard_normal(shape_out).astype(np.float32)
    e, t = nn.Linear(shape_in, shape_out), torch.nn.Linear(shape_in, shape_out)
    with ember.no_grad():
        e.weight.copy_(ember.tensor(w))
        e.bias.copy_(ember.tensor(b))
    with torch.no_grad():
        t.weight.copy_(torch.tensor(w))
        t.bias.copy_(torch.tensor(b))
    return e, t


def same_state(e, t):
    es, ts = e.state_dict(), t.state_dict()
    assert list(es) == list(ts)
    for k in es:
        assert np.array_equal(es[k].numpy(), ts[k].detach().numpy()), k


@pytest.mark.parametrize('amount', [0.3, 0.5, 7, 0, 1.0])
def test_l1_unstructured_matches_torch(amount):
    e, t = pair()
    prune.l1_unstructured(e, 'weight', amount)
    tprune.l1_unstructured(t, 'weight', amount)
    same_state(e, t)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    x = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    assert np.allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-6)
    ye.sum().backward()
    yt.sum().backward()
    assert np.allclose(e.weight_orig.grad.numpy(), t.weight_orig.grad.numpy(), atol=1e-6)
    assert prune.is_pruned(e) and tprune.is_pruned(t)


@pytest.mark.parametrize('n', [1, 2, 'fro', np.inf, -np.inf])
@pytest.mark.parametrize('dim', [0, 1, -1])
def test_ln_structured_matches_torch(n, dim):
    e, t = pair(seed=2)
    prune.ln_structured(e, 'weight', 0.4, n=n, dim=dim)
    tprune.ln_structured(t, 'weight', 0.4, n=n, dim=dim)
    same_state(e, t)


def test_pruning_twice_acts_on_what_is_left_as_torch():
    e, t = pair(7, 6, seed=3)
    for fe, ft, kw in ((prune.l1_unstructured, tprune.l1_unstructured, dict(amount=0.3)),
                       (prune.l1_unstructured, tprune.l1_unstructured, dict(amount=5)),
                       (prune.ln_structured, tprune.ln_structured, dict(amount=2, n=2, dim=0)),
                       (prune.l1_unstructured, tprune.l1_unstructured, dict(amount=0.5))):
        fe(e, 'weight', **kw)
        ft(t, 'weight', **kw)
        same_state(e, t)
    hook = [h for h in e._forward_pre_hooks if isinstance(h, prune.PruningContainer)]
    assert len(hook) == 1 and len(hook[0]) == 4


def test_global_unstructured_custom_mask_identity_and_remove_as_torch():
    (e1, t1), (e2, t2) = pair(seed=4), pair(seed=5)
    params_e, params_t = [(e1, 'weight'), (e2, 'weight')], [(t1, 'weight'), (t2, 'weight')]
    prune.global_unstructured(params_e, pruning_method=prune.L1Unstructured, amount=0.6)
    tprune.global_unstructured(params_t, pruning_method=tprune.L1Unstructured, amount=0.6)
    same_state(e1, t1)
    same_state(e2, t2)
    mask = (np.arange(5) % 2).astype(np.float32)
    prune.custom_from_mask(e1, 'bias', ember.tensor(mask))
    tprune.custom_from_mask(t1, 'bias', torch.tensor(mask))
    prune.identity(e2, 'bias')
    tprune.identity(t2, 'bias')
    same_state(e1, t1)
    same_state(e2, t2)
    for m, name in ((e1, 'weight'), (e1, 'bias'), (e2, 'weight')):
        prune.remove(m, name)
    for m, name in ((t1, 'weight'), (t1, 'bias'), (t2, 'weight')):
        tprune.remove(m, name)
    same_state(e1, t1)
    assert isinstance(e1.weight, nn.Parameter) and not hasattr(e1, 'weight_mask')
    assert prune.is_pruned(e2) and not prune.is_pruned(e1)


def test_random_pruning_prunes_the_count_asked():
    ember.manual_seed(0)
    conv = nn.Conv2d(3, 8, 3)
    prune.random_unstructured(conv, 'weight', 0.25)
    assert int((conv.weight_mask == 0).sum()) == round(0.25 * 8 * 3 * 9)
    prune.random_structured(conv, 'weight', 3, dim=0)
    dead = (conv.weight_mask.sum((1, 2, 3)) == 0)
    assert int(dead.sum()) == 3
    assert bool((conv.weight[dead] == 0).all())


@pytest.mark.parametrize('amount, error', [(-0.1, ValueError), (1.5, ValueError),
                                           (-1, ValueError), ('a', TypeError),
                                           (31, ValueError)])
def test_bad_amounts_raise_as_torch(amount, error):
    e, t = pair()
    with pytest.raises(error):
        tprune.l1_unstructured(t, 'weight', amount)
    with pytest.raises(error, match='amount'):
        prune.l1_unstructured(e, 'weight', amount)
    assert not prune.is_pruned(e) and isinstance(e.weight, nn.Parameter)   # unchanged


def test_remove_on_an_unpruned_parameter_and_a_missing_one_raise():
    lin = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="'weight' of Linear has to be pruned"):
        prune.remove(lin, 'weight')
    with pytest.raises(AttributeError, match="Linear has no parameter 'gamma'"):
        prune.l1_unstructured(lin, 'gamma', 1)


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 10))


def test_remove_channels_keeps_the_function_and_shrinks_the_layers():
    ember.manual_seed(0)
    model = lenet().eval()
    with ember.no_grad():   # a dead channel leaves the norm as its bias minus mean * scale:
        model[1].running_var.copy_(ember.rand(6) + 0.5)     # 0 with both 0
        model[1].weight.copy_(ember.rand(6) + 0.5)
    x = ember.randn(4, 1, 28, 28)
    for i in (0, 4, 8):
        prune.ln_structured(model[i], 'weight', 0.5, n=2, dim=0)
        dead = (model[i].weight_mask.reshape(model[i].weight.shape[0], -1).sum(1) == 0)
        prune.custom_from_mask(model[i], 'bias', (~dead).float())
        with pytest.raises(ValueError, match='pruning parametrizations'):
            prune.remove_channels(model, x)
        prune.remove(model[i], 'weight')
        prune.remove(model[i], 'bias')
    before = model(x)
    assert prune.remove_channels(model, x) == {'0': 3, '4': 8, '8': 60}
    assert (model[0].out_channels, model[1].num_features, model[4].in_channels) == (3, 3, 3)
    assert (model[4].out_channels, model[8].in_features, model[10].in_features) == (8, 200, 60)
    assert tuple(model[1].running_mean.shape) == (3,)
    assert np.allclose(model(x).detach().numpy(), before.detach().numpy(), atol=1e-5)


def test_remove_channels_leaves_a_layer_whose_output_goes_elsewhere():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x):
            h = self.a(x)
            return self.b(h) + h                    # h is read twice: a stays whole

    m = Residual()
    with ember.no_grad():
        m.a.weight[:2] = 0
        m.a.bias[:2] = 0
    assert prune.remove_channels(m, ember.randn(3, 4)) == {}
    assert m.a.out_features == 4


def test_remove_channels_keeps_a_channel_that_reaches_the_next_layer_as_a_constant():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2)).eval()
    with ember.no_grad():
        model[0].weight[:3] = 0
        model[0].bias[:3] = 0
        model[1].bias.copy_(ember.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 0.0]))   # channel 0: relu(1)
    x = ember.randn(5, 4)
    before = model(x)
    assert prune.remove_channels(model, x) == {'0': 2}
    assert model[1].num_features == 4 and tuple(model[1].running_mean.shape) == (4,)
    assert np.allclose(model(x).detach().numpy(), before.detach().numpy(), atol=1e-5)
