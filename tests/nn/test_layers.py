"""Layers against torch: each is built in both frameworks, torch's state copied into ember's,
and outputs, gradients (input and every parameter), state_dict keys, reprs and buffers compared
in train and eval mode; then what a table can't say (containers, dropout, running statistics,
default inits, errors)."""
import math
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.helpers import DEVICE, ORACLE, TORCH_DEVICE, host

pytestmark = [pytest.mark.filterwarnings("ignore:.*reduction.*'mean'.*:UserWarning"),
              pytest.mark.filterwarnings("ignore:size_average and reduce:UserWarning")]


def load_from_torch(e_mod, t_mod):
    """Copy torch's state into ember's (through the host), then put both on the test device."""
    e_mod.load_state_dict({k: ember.tensor(host(v).copy())
                           for k, v in t_mod.state_dict().items()})
    e_mod.to(DEVICE), t_mod.to(TORCH_DEVICE)


def on_device(a, m, **kw):
    """``a`` as a tensor of framework ``m`` (ember or torch) on its test device."""
    return m.tensor(a, device=DEVICE if m is ember else TORCH_DEVICE, **kw)


def close(e, t, tol=1e-5, what=''):
    np.testing.assert_allclose(host(e), host(t), rtol=tol, atol=tol, err_msg=what)


def make_inputs(rng, specs):
    out = []
    for spec in specs:
        if spec[0] == 'i':   # ('i', n, shape): indices in [0, n)
            out.append(rng.integers(0, spec[1], spec[2]))
        else:
            out.append(rng.uniform(-2, 2, spec).astype(np.float32))
    return out


def run_both(e_mod, t_mod, xs, rng):
    """Forward both, compare; backward a random weighting of the output, compare the input
    gradients and every parameter's gradient by name."""
    xe = [on_device(x, ember, requires_grad=x.dtype.kind == 'f') for x in xs]
    xt = [on_device(x, torch, requires_grad=x.dtype.kind == 'f') for x in xs]
    ye, yt = e_mod(*xe), t_mod(*xt)
    assert tuple(ye.shape) == tuple(yt.shape)
    close(ye, yt, what='forward')
    if not yt.requires_grad:
        return
    w = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    (ye * on_device(w, ember)).sum().backward()
    (yt * on_device(w, torch)).sum().backward()
    for a, b in zip(xe, xt):
        if b.grad is not None:
            close(a.grad, b.grad, what='input grad')
    grads_t = {n: p.grad for n, p in t_mod.named_parameters()}
    for n, p in e_mod.named_parameters():
        if grads_t[n] is None:
            assert p.grad is None or not p.grad.cpu().numpy().any(), n
        else:
            close(p.grad, grads_t[n], what=f'grad of {n}')


F32 = (2, 3, 8)
CASES = [
    # convolutions
    ('conv1d', lambda m: m.Conv1d(3, 4, 3), [(2, 3, 9)]),
    ('conv1d_all', lambda m: m.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2,
                                      bias=False), [(2, 4, 11)]),
    ('conv1d_same_reflect', lambda m: m.Conv1d(3, 4, 4, padding='same',
                                               padding_mode='reflect'), [(2, 3, 10)]),
    ('conv1d_circular_unbatched', lambda m: m.Conv1d(2, 2, 3, padding=1,
                                                     padding_mode='circular'), [(2, 7)]),
    ('conv2d', lambda m: m.Conv2d(3, 8, 3), [(2, 3, 7, 7)]),
    ('conv2d_all', lambda m: m.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2),
                                      dilation=(1, 2), groups=2), [(2, 4, 8, 9)]),
    ('conv2d_same_replicate', lambda m: m.Conv2d(3, 4, 3, padding='same',
                                                 padding_mode='replicate'), [(1, 3, 6, 5)]),
    ('conv2d_valid_unbatched', lambda m: m.Conv2d(2, 3, 3, padding='valid', bias=False),
     [(2, 6, 6)]),
    ('conv_transpose1d', lambda m: m.ConvTranspose1d(4, 2, 3, stride=2, padding=1,
                                                     output_padding=1), [(2, 4, 5)]),
    ('conv_transpose2d', lambda m: m.ConvTranspose2d(4, 6, 3, stride=2, padding=1,
                                                     output_padding=1), [(2, 4, 5, 5)]),
    ('conv_transpose2d_all', lambda m: m.ConvTranspose2d(4, 6, (3, 2), stride=(1, 2),
                                                         padding=(0, 1), groups=2, dilation=2,
                                                         bias=False), [(2, 4, 5, 6)]),
    # pooling
    ('maxpool1d', lambda m: m.MaxPool1d(3, stride=2, padding=1), [(2, 3, 10)]),
    ('maxpool2d', lambda m: m.MaxPool2d(2), [(2, 3, 6, 6)]),
    ('maxpool2d_ceil', lambda m: m.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
     [(2, 3, 8, 8)]),
    ('maxpool2d_dilation', lambda m: m.MaxPool2d((2, 3), dilation=2), [(1, 2, 7, 9)]),
    ('avgpool1d', lambda m: m.AvgPool1d(3, stride=2, padding=1, count_include_pad=False),
     [(2, 3, 10)]),
    ('avgpool2d', lambda m: m.AvgPool2d(2), [(2, 3, 6, 6)]),
    ('avgpool2d_ceil', lambda m: m.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                             count_include_pad=False), [(2, 3, 8, 8)]),
    ('avgpool2d_divisor', lambda m: m.AvgPool2d(2, divisor_override=3), [(3, 6, 6)]),
    ('adaptive_avgpool1d', lambda m: m.AdaptiveAvgPool1d(4), [(2, 3, 10)]),
    ('adaptive_avgpool2d', lambda m: m.AdaptiveAvgPool2d((3, None)), [(2, 3, 7, 5)]),
    ('adaptive_avgpool2d_global', lambda m: m.AdaptiveAvgPool2d(1), [(2, 3, 7, 5)]),
    # normalisation
    ('batchnorm1d', lambda m: m.BatchNorm1d(4), [(8, 4)]),
    ('batchnorm1d_3d', lambda m: m.BatchNorm1d(4, momentum=None), [(8, 4, 5)]),
    ('batchnorm1d_noaffine', lambda m: m.BatchNorm1d(4, affine=False), [(8, 4)]),
    ('batchnorm1d_nobias', lambda m: m.BatchNorm1d(4, bias=False), [(8, 4)]),
    ('batchnorm1d_untracked', lambda m: m.BatchNorm1d(4, track_running_stats=False), [(8, 4)]),
    ('batchnorm2d', lambda m: m.BatchNorm2d(3, eps=1e-3, momentum=0.3), [(4, 3, 5, 5)]),
    ('batchnorm3d', lambda m: m.BatchNorm3d(2), [(2, 2, 3, 3, 3)]),
    ('layernorm', lambda m: m.LayerNorm(5), [(3, 4, 5)]),
    ('layernorm_2d_noaffine', lambda m: m.LayerNorm((4, 5), elementwise_affine=False),
     [(3, 4, 5)]),
    ('layernorm_nobias', lambda m: m.LayerNorm([5], eps=1e-3, bias=False), [(3, 5)]),
    ('groupnorm', lambda m: m.GroupNorm(2, 4), [(3, 4, 5)]),
    ('groupnorm_noaffine', lambda m: m.GroupNorm(3, 6, affine=False), [(2, 6, 2, 2)]),
    ('groupnorm_nobias', lambda m: m.GroupNorm(1, 4, bias=False), [(2, 4, 3)]),
    # embeddings, bilinear, dropout in eval, flattening
    ('embedding', lambda m: m.Embedding(10, 4), [('i', 10, (3, 5))]),
    ('embedding_padding', lambda m: m.Embedding(10, 4, padding_idx=-8), [('i', 10, (20,))]),
    ('embedding_freq', lambda m: m.Embedding(6, 3, scale_grad_by_freq=True),
     [('i', 6, (4, 5))]),
    ('embedding_max_norm', lambda m: m.Embedding(10, 4, max_norm=1.0), [('i', 10, (7,))]),
    ('bilinear', lambda m: m.Bilinear(3, 4, 5), [(6, 3), (6, 4)]),
    ('bilinear_nobias', lambda m: m.Bilinear(3, 4, 5, bias=False), [(2, 6, 3), (2, 6, 4)]),
    ('flatten', lambda m: m.Flatten(), [(2, 3, 4)]),
    ('flatten_dims', lambda m: m.Flatten(0, 1), [(2, 3, 4)]),
    ('unflatten', lambda m: m.Unflatten(1, (2, 6)), [(3, 12)]),
    ('sequential', lambda m: m.Sequential(m.Conv2d(3, 4, 3), m.BatchNorm2d(4), m.ReLU(),
                                          m.MaxPool2d(2), m.Flatten(), m.Linear(16, 5),
                                          m.Dropout(0.0)), [(2, 3, 6, 6)]),
    ('sequential_dict', lambda m: m.Sequential(OrderedDict(
        fc=m.Linear(4, 3), norm=m.LayerNorm(3), act=m.GELU(approximate='tanh'))), [(5, 4)]),
]
ACTIVATIONS = [
    ('relu', lambda m: m.ReLU()), ('relu6', lambda m: m.ReLU6()),
    ('sigmoid', lambda m: m.Sigmoid()), ('tanh', lambda m: m.Tanh()),
    ('gelu', lambda m: m.GELU()), ('gelu_tanh', lambda m: m.GELU(approximate='tanh')),
    ('silu', lambda m: m.SiLU()), ('mish', lambda m: m.Mish()),
    ('softmax', lambda m: m.Softmax(dim=1)), ('log_softmax', lambda m: m.LogSoftmax(-1)),
    ('leaky_relu', lambda m: m.LeakyReLU(0.2)), ('elu', lambda m: m.ELU(alpha=0.5)),
    ('selu', lambda m: m.SELU()), ('celu', lambda m: m.CELU(alpha=2.0)),
    ('softplus', lambda m: m.Softplus(beta=2.0, threshold=1.5)),
    ('hardtanh', lambda m: m.Hardtanh(-0.5, 1.5)), ('hardsigmoid', lambda m: m.Hardsigmoid()),
    ('hardswish', lambda m: m.Hardswish()), ('softsign', lambda m: m.Softsign()),
    ('logsigmoid', lambda m: m.LogSigmoid()),
]
CASES += [(name, fn, [(3, 7)]) for name, fn in ACTIVATIONS]


@pytest.mark.parametrize('name,factory,specs', CASES, ids=[c[0] for c in CASES])
def test_layer_matches_torch(name, factory, specs):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    try:
        t_mod = factory(torch.nn)
    except TypeError as e:   # torch before 2.13 has no bias= in BatchNorm and GroupNorm
        if ORACLE:
            raise
        pytest.skip(f'torch {torch.__version__} is older than the oracle (2.13): {e}')
    e_mod = factory(nn)
    if ORACLE:   # torch before 2.13 printed the norm layers without bias=
        assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    assert [n for n, _ in e_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    load_from_torch(e_mod, t_mod)
    for train in (True, True, False):   # two training steps move running stats; then eval
        e_mod.train(train), t_mod.train(train)
        e_mod.zero_grad(), t_mod.zero_grad()
        run_both(e_mod, t_mod, make_inputs(rng, specs), rng)
        for (k, a), b in zip(e_mod.state_dict().items(), t_mod.state_dict().values()):
            close(a, b, what=f'state {k} after a {"training" if train else "eval"} step')


@pytest.mark.parametrize('name,factory', ACTIVATIONS[:2] + [ACTIVATIONS[10], ACTIVATIONS[11]],
                         ids=[ACTIVATIONS[i][0] for i in (0, 1, 10, 11)])
def test_inplace_activations_match_torch(name, factory):
    x = np.random.default_rng(1).uniform(-3, 8, (4, 5)).astype(np.float32)
    e_mod, t_mod = factory(nn), factory(torch.nn)
    e_mod.inplace = t_mod.inplace = True
    assert repr(e_mod) == repr(t_mod)
    xe, xt = on_device(x, ember), on_device(x, torch)
    assert e_mod(xe) is xe
    t_mod(xt)
    close(xe, xt)


# ---------------------------------------------------------------- outputs a table can't check

def test_maxpool_return_indices_and_conv_transpose_output_size():
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 6)).astype(np.float32)
    xe, xt = on_device(x, ember), on_device(x, torch)
    ye, ie = nn.MaxPool2d(2, return_indices=True)(xe)
    yt, it = torch.nn.MaxPool2d(2, return_indices=True)(xt)
    close(ye, yt)
    assert np.array_equal(ie.cpu().numpy(), it.cpu().numpy())
    torch.manual_seed(0)
    t_up = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    e_up = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    load_from_torch(e_up, t_up)
    for size in ([12, 12], [2, 2, 11, 12]):
        close(e_up(xe, output_size=size), t_up(xt, output_size=size))
    with pytest.raises(ValueError, match=r'requested an output size of \[13, 12\], but valid '
                                         r'sizes range from \[11, 11\] to \[12, 12\]'):
        e_up(xe, output_size=(13, 12))


@pytest.mark.parametrize('momentum', [0.1, None])
def test_batchnorm_running_stats_follow_torch_over_steps(momentum):
    rng = np.random.default_rng(3)
    e_bn, t_bn = nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(3, momentum=momentum)
    e_bn.to(DEVICE), t_bn.to(TORCH_DEVICE)
    for _ in range(4):
        x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 1).astype(np.float32)
        close(e_bn(on_device(x, ember)), t_bn(on_device(x, torch)))
    close(e_bn.running_mean, t_bn.running_mean)
    close(e_bn.running_var, t_bn.running_var)
    assert e_bn.num_batches_tracked.item() == t_bn.num_batches_tracked.item() == 4
    assert e_bn.num_batches_tracked.dtype == ember.int64
    e_bn.eval(), t_bn.eval()
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    close(e_bn(on_device(x, ember)), t_bn(on_device(x, torch)))
    assert e_bn.num_batches_tracked.item() == 4   # eval leaves the statistics alone
    e_bn.reset_running_stats()
    assert e_bn.running_mean.tolist() == [0.0] * 3 and e_bn.running_var.tolist() == [1.0] * 3


def test_batchnorm_untracked_uses_batch_stats_in_eval():
    x = np.random.default_rng(4).standard_normal((6, 2)).astype(np.float32)
    e_bn = nn.BatchNorm1d(2, track_running_stats=False).eval().to(DEVICE)
    t_bn = torch.nn.BatchNorm1d(2, track_running_stats=False).eval().to(TORCH_DEVICE)
    assert list(e_bn.state_dict()) == ['weight', 'bias'] and e_bn.running_mean is None
    close(e_bn(on_device(x, ember)), t_bn(on_device(x, torch)))


def test_dropout_train_and_eval():
    ember.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = ember.ones(4000, requires_grad=True)
    y = drop(x)
    kept = y.detach().numpy() != 0
    assert abs(1 - kept.mean() - 0.25) < 0.03
    assert np.allclose(y.detach().numpy()[kept], 1 / 0.75)
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), y.detach().numpy())   # gradient is the same mask
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x and not nn.Dropout(1.0)(x).detach().numpy().any()
    with pytest.raises(ValueError, match='between 0 and 1, but got 1.5'):
        nn.Dropout(1.5)


def test_losses_match_torch():
    rng = np.random.default_rng(5)
    f = rng.standard_normal((4, 3)).astype(np.float32)
    g = rng.standard_normal((4, 3)).astype(np.float32)
    p = rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32)
    cls = np.array([0, 2, 1, 2])
    ign = np.array([0, -100, 1, 2])
    w = np.array([0.3, 1.7, 0.9], np.float32)
    logp = torch.log_softmax(torch.tensor(g), 1).numpy()
    cases = [
        ('MSELoss', {}, f, g), ('MSELoss', {'reduction': 'sum'}, f, g),
        ('L1Loss', {'reduction': 'none'}, f, g), ('L1Loss', {'size_average': False}, f, g),
        ('SmoothL1Loss', {'beta': 0.5}, f, g), ('HuberLoss', {'delta': 0.7}, f, g),
        ('CrossEntropyLoss', {}, f, cls), ('CrossEntropyLoss', {'weight': w}, f, ign),
        ('CrossEntropyLoss', {'label_smoothing': 0.2, 'reduction': 'sum'}, f, cls),
        ('CrossEntropyLoss', {}, f, p / p.sum(1, keepdims=True)),
        ('NLLLoss', {'weight': w, 'ignore_index': 1}, f, cls), ('NLLLoss', {}, f, ign),
        ('BCELoss', {}, p, (g > 0).astype(np.float32)), ('BCELoss', {'weight': w}, p, p),
        ('BCEWithLogitsLoss', {}, f, p), ('BCEWithLogitsLoss', {'pos_weight': w * 2}, f, p),
        ('KLDivLoss', {'reduction': 'batchmean'}, f, p),
        ('KLDivLoss', {'log_target': True, 'reduction': 'sum'}, f, logp),
        ('KLDivLoss', {}, f, p), ('CosineSimilarity', {'dim': 0}, f, g),
    ]
    for name, kw, a, b in cases:
        e_kw = {k: on_device(v, ember) if isinstance(v, np.ndarray) else v
                for k, v in kw.items()}
        t_kw = {k: on_device(v, torch) if isinstance(v, np.ndarray) else v
                for k, v in kw.items()}
        e_loss, t_loss = getattr(nn, name)(**e_kw), getattr(torch.nn, name)(**t_kw)
        assert repr(e_loss) == repr(t_loss)
        assert list(e_loss.state_dict()) == list(t_loss.state_dict()), name
        assert getattr(e_loss, 'reduction', None) == getattr(t_loss, 'reduction', None)
        ae, at = on_device(a, ember, requires_grad=True), on_device(a, torch, requires_grad=True)
        le, lt = e_loss(ae, on_device(b, ember)), t_loss(at, on_device(b, torch))
        close(le, lt, what=f'{name}({kw})')
        le.sum().backward(), lt.sum().backward()
        close(ae.grad, at.grad, what=f'grad of {name}({kw})')


# ---------------------------------------------------------------- containers and printing

def test_sequential_indexing_slicing_and_editing_like_torch():
    def build(m):
        return m.Sequential(m.Linear(2, 3), m.ReLU(), m.Linear(3, 1), m.Sigmoid())
    e, t = build(nn), build(torch.nn)
    assert len(e) == 4 and isinstance(e[0], nn.Linear) and isinstance(e[-1], nn.Sigmoid)
    assert repr(e[1:3]) == repr(t[1:3]) and repr(e[::-2]) == repr(t[::-2])
    assert list(e[2:].state_dict()) == list(t[2:].state_dict()) == ['2.weight', '2.bias']
    for m, s in ((nn, e), (torch.nn, t)):
        s.append(m.Tanh())
        s.insert(-1, m.ReLU6())
        s[0] = m.Linear(2, 4)
        del s[1]
        s.pop(0)
    assert repr(e) == repr(t)
    assert [type(x).__name__ for x in e] == [type(x).__name__ for x in t]
    with pytest.raises(IndexError, match='index 9 is out of range'):
        e[9]
    od = OrderedDict([('embed', nn.Linear(2, 2)), ('act', nn.Tanh())])
    seq = nn.Sequential(od)
    assert list(seq.state_dict()) == ['embed.weight', 'embed.bias'] and seq.act is od['act']
    assert repr(seq[1:]) == 'Sequential(\n  (act): Tanh()\n)'


def test_module_list_and_dict():
    e = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    t = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)])
    e += [nn.ReLU()]
    t += [torch.nn.ReLU()]
    e.extend([nn.Linear(2, 2)]), t.extend([torch.nn.Linear(2, 2)])
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert len(e) == 5 and isinstance(e[-2], nn.ReLU) and len(e[1:3]) == 2
    del e[0], t[0]
    assert list(e.state_dict()) == list(t.state_dict())
    with pytest.raises(NotImplementedError):
        e(ember.ones(2))
    d = nn.ModuleDict({'b': nn.Linear(1, 1), 'a': nn.ReLU()})
    d['c'] = nn.Tanh()
    assert list(d) == ['b', 'a', 'c'] and 'a' in d and len(d) == 3
    assert list(d.state_dict()) == ['b.weight', 'b.bias']
    assert isinstance(d.pop('b'), nn.Linear) and d.keys() == ['a', 'c']
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        d['training'] = nn.ReLU()
    with pytest.raises(KeyError):
        d['missing']


def test_nested_model_state_dict_and_repr_match_torch():
    def build(m):
        blocks = m.ModuleList([m.Sequential(m.Conv2d(4, 4, 3, padding=1, bias=False),
                                            m.BatchNorm2d(4), m.ReLU(inplace=True))
                               for _ in range(2)])
        heads = m.ModuleDict({'cls': m.Linear(4, 10), 'emb': m.Embedding(5, 4, padding_idx=0)})
        net = m.Module()
        net.stem = m.Conv2d(3, 4, 7, stride=2, padding=3)
        net.blocks, net.heads = blocks, heads
        net.pool = m.AdaptiveAvgPool2d((1, 1))
        net.norm = m.LayerNorm(4)
        net.gn = m.GroupNorm(2, 4)
        net.drop = m.Dropout(0.1)
        return net
    e, t = build(nn), build(torch.nn)
    if ORACLE:   # torch before 2.13 printed the norm layers without bias=
        assert repr(e).replace('Module(', '') == repr(t).replace('Module(', '')
    assert list(e.state_dict()) == list(t.state_dict())
    shapes_t = {k: tuple(v.shape) for k, v in t.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in e.state_dict().items()} == shapes_t
    load_from_torch(e, t)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]


# ---------------------------------------------------------------- default initialisations

@pytest.mark.parametrize('factory,fan_in', [
    (lambda: nn.Conv2d(16, 32, 5), 16 * 25), (lambda: nn.Conv1d(12, 400, 4, groups=4), 3 * 4),
    (lambda: nn.ConvTranspose2d(32, 16, 5, groups=2), 8 * 25),
    (lambda: nn.Bilinear(20, 9, 30), 20)])
def test_default_uniform_inits_follow_torch(factory, fan_in):
    ember.manual_seed(0)
    layer = factory()
    bound = 1 / math.sqrt(fan_in)
    for p in (layer.weight, layer.bias):
        v = p.detach().numpy()
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.8 * bound
    w = layer.weight.detach().numpy()
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound and abs(w.mean()) < 0.05 * bound


def test_default_inits_of_embedding_and_norms():
    ember.manual_seed(0)
    w = nn.Embedding(1000, 64, padding_idx=3).weight.detach().numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01 and not w[3].any()
    for layer in (nn.BatchNorm1d(5), nn.LayerNorm((2, 3)), nn.GroupNorm(1, 5)):
        assert np.all(layer.weight.detach().numpy() == 1) and not layer.bias.detach().numpy().any()
    conv = nn.Conv2d(3, 4, 3, dtype=ember.float64)
    assert conv.weight.dtype == ember.float64 and conv.weight.is_leaf and conv.weight.requires_grad
    emb = nn.Embedding.from_pretrained(ember.ones(3, 2), freeze=False, padding_idx=1)
    assert emb.weight.requires_grad and emb.padding_idx == 1


# ---------------------------------------------------------------- errors name the module

def test_errors_name_the_module_and_shapes():
    with pytest.raises(RuntimeError, match=r'Conv2d\(1, 8, kernel_size=\(3, 3\).*expected '
                                           r'input with 1 channels, but got input of shape '
                                           r'\[2, 3, 8, 8\] with 3 channels'):
        nn.Conv2d(1, 8, 3)(ember.ones(2, 3, 8, 8))
    with pytest.raises(RuntimeError, match=r'Conv1d.*expected a 2-D \(unbatched\) or 3-D'):
        nn.Conv1d(1, 8, 3)(ember.ones(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r'BatchNorm1d\(3.*expected 2D or 3D input \(got 4D'):
        nn.BatchNorm1d(3)(ember.ones(2, 3, 4, 4))
    with pytest.raises(RuntimeError, match=r'BatchNorm2d\(3.*3 features.*\[2, 4, 5, 5\]'):
        nn.BatchNorm2d(3)(ember.ones(2, 4, 5, 5))
    with pytest.raises(RuntimeError, match=r'LayerNorm\(\(4,\).*\[\*, 4\].*\[2, 5\]'):
        nn.LayerNorm(4)(ember.ones(2, 5))
    with pytest.raises(RuntimeError, match=r'GroupNorm\(2, 4.*\(N, 4, \.\.\.\).*\[2, 6\]'):
        nn.GroupNorm(2, 4)(ember.ones(2, 6))
    with pytest.raises(RuntimeError, match=r'Bilinear.*\[2, 3\] and \[2, 5\]'):
        nn.Bilinear(3, 4, 1)(ember.ones(2, 3), ember.ones(2, 5))
    for bad in (lambda: nn.Conv2d(3, 4, 3, groups=2), lambda: nn.Conv2d(4, 3, 3, groups=2),
                lambda: nn.Conv2d(4, 4, 3, stride=2, padding='same'),
                lambda: nn.Conv2d(4, 4, 3, padding='full'),
                lambda: nn.Conv2d(4, 4, 3, padding_mode='mirror'),
                lambda: nn.ConvTranspose2d(4, 4, 3, padding_mode='reflect'),
                lambda: nn.GroupNorm(3, 4), lambda: nn.Embedding(3, 2, padding_idx=3),
                lambda: nn.GELU('fast')):
        with pytest.raises(ValueError):
            bad()
