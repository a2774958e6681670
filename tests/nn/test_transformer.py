"""MultiheadAttention and the transformer layers against torch: state_dict keys, outputs,
attention weights and the gradients of the inputs and every parameter, after copying
torch's weights in."""
import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.helpers import DEVICE, TORCH_DEVICE, host

torch.set_num_threads(1)
# torch warns when the two masks differ in type (bool and float); ember takes both quietly
pytestmark = pytest.mark.filterwarnings('ignore:Support for mismatched key_padding_mask')

TOL = dict(rtol=1e-4, atol=1e-5)
L, S, N, E, HEADS = 4, 5, 2, 8, 2


def _copy_in(e, t):
    """Copy torch's state into ember's (through the host), then put both on the test device."""
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: ember.tensor(host(v)) for k, v in t.state_dict().items()})
    return e.to(DEVICE), t.to(TORCH_DEVICE)


def _device(m):
    """The test device of framework ``m`` (ember or torch)."""
    return DEVICE if m is ember else TORCH_DEVICE


def on_device(a, m, **kw):
    """``a`` as a tensor of framework ``m`` on its test device."""
    return m.tensor(a, device=_device(m), **kw)


def _pair(cls, *args, **kw):
    """An ember module holding a seeded torch module's weights, and that torch module."""
    torch.manual_seed(0)
    t = getattr(torch.nn, cls)(*args, **kw)
    return _copy_in(getattr(nn, cls)(*args, **kw), t)


def _data(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype('float32')


def _compare(e, t, arrays, call):
    """``call(module, m, xs)`` returns a tuple of outputs (None allowed) for ``m`` in
    (ember, torch) and leaf inputs ``xs``; compare the outputs, then the gradients of a
    random weighting of them with respect to the inputs and every parameter."""
    xs_e = [on_device(a, ember, requires_grad=True) for a in arrays]
    xs_t = [on_device(a, torch, requires_grad=True) for a in arrays]
    outs_e, outs_t = call(e, ember, xs_e), call(t, torch, xs_t)
    rng = np.random.default_rng(99)
    loss_e = loss_t = 0
    for i, (a, b) in enumerate(zip(outs_e, outs_t)):
        assert (a is None) == (b is None), i
        if a is None:
            continue
        assert tuple(a.shape) == tuple(b.shape), (i, a.shape, b.shape)
        np.testing.assert_allclose(host(a), host(b), err_msg=f'out {i}', **TOL)
        w = rng.standard_normal(tuple(b.shape)).astype('float32')
        loss_e = loss_e + (a * on_device(w, ember)).sum()
        loss_t = loss_t + (b * on_device(w, torch)).sum()
    loss_e.backward()
    loss_t.backward()
    for i, (a, b) in enumerate(zip(xs_e, xs_t)):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.cpu().numpy(),
                                   err_msg=f'input {i} grad', **TOL)
    pe = dict(e.named_parameters())
    assert set(pe) == {n for n, _ in t.named_parameters()}
    for name, p in t.named_parameters():
        np.testing.assert_allclose(pe[name].grad.cpu().numpy(), p.grad.cpu().numpy(),
                                   err_msg=f'{name} grad', **TOL)


def _causal(m, rows=L, cols=None):   # True: masked
    return m.triu(m.ones(rows, cols or rows, dtype=m.bool, device=_device(m)), diagonal=1)


def _padding(m):
    return on_device([[False] * (S - 1) + [True], [False] * (S - 2) + [True] * 2], m)


# ---------------------------------------------------------------- MultiheadAttention

MASKS = {
    'none': lambda m: {},
    'key_padding': lambda m: dict(key_padding_mask=_padding(m)),
    'float_key_padding': lambda m: dict(key_padding_mask=m.where(
        _padding(m), on_device(float('-inf'), m), on_device(0.0, m))),
    'causal': lambda m: dict(attn_mask=_causal(m, L, S)),
    'causal_hint': lambda m: dict(attn_mask=_causal(m, L, S), is_causal=True),
    'float_mask_and_padding': lambda m: dict(
        attn_mask=on_device(_data((L, S), 7), m), key_padding_mask=_padding(m)),
    '3d_mask': lambda m: dict(attn_mask=on_device(_data((N * HEADS, L, S), 8) > 1.0, m)),
}


@pytest.mark.parametrize('mask', list(MASKS))
@pytest.mark.parametrize('need_weights,average', [(True, True), (True, False),
                                                  (False, True)])
@pytest.mark.parametrize('batch_first', [False, True])
def test_mha_matches_torch(mask, need_weights, average, batch_first):
    e, t = _pair('MultiheadAttention', E, HEADS, batch_first=batch_first)
    q_shape, kv_shape = ((N, L, E), (N, S, E)) if batch_first else ((L, N, E), (S, N, E))
    arrays = [_data(q_shape, 1), _data(kv_shape, 2), _data(kv_shape, 3)]
    _compare(e, t, arrays, lambda mod, m, xs: mod(
        *xs, need_weights=need_weights, average_attn_weights=average, **MASKS[mask](m)))


@pytest.mark.parametrize('kw', [dict(kdim=3, vdim=5), dict(bias=False),
                                dict(add_bias_kv=True), dict(add_zero_attn=True),
                                dict(add_bias_kv=True, add_zero_attn=True, kdim=3)],
                         ids=lambda kw: '-'.join(kw))
def test_mha_options_match_torch(kw):
    e, t = _pair('MultiheadAttention', E, HEADS, **kw)
    arrays = [_data((L, N, E), 1), _data((S, N, kw.get('kdim', E)), 2),
              _data((S, N, kw.get('vdim', E)), 3)]
    _compare(e, t, arrays, lambda mod, m, xs: mod(*xs, **MASKS['float_mask_and_padding'](m)))


@pytest.mark.parametrize('need_weights', [True, False])
def test_mha_unbatched_self_attention(need_weights):
    e, t = _pair('MultiheadAttention', E, HEADS, batch_first=True)
    _compare(e, t, [_data((L, E), 1)], lambda mod, m, xs: mod(
        xs[0], xs[0], xs[0], need_weights=need_weights, average_attn_weights=False,
        key_padding_mask=on_device([False] * (L - 1) + [True], m), attn_mask=_causal(m)))


def test_mha_train_mode_with_zero_dropout_matches_torch():
    e, t = _pair('MultiheadAttention', E, HEADS, dropout=0.0)
    e.train(), t.train()
    arrays = [_data((L, N, E), 1), _data((S, N, E), 2), _data((S, N, E), 3)]
    _compare(e, t, arrays, lambda mod, m, xs: mod(*xs, **MASKS['key_padding'](m)))


def test_mha_dropout_on_weights_in_training_only():
    ember.manual_seed(0)
    mha = nn.MultiheadAttention(E, HEADS, dropout=0.5)
    x = ember.randn(L, N, E)
    _, w = mha(x, x, x, average_attn_weights=False)
    assert (w == 0).any().item()
    _, w = mha.eval()(x, x, x, average_attn_weights=False)
    np.testing.assert_allclose(w.sum(-1).detach().numpy(), 1, rtol=1e-6)


def test_mha_parameters_and_init_like_torch():
    e, t = nn.MultiheadAttention(16, 4), torch.nn.MultiheadAttention(16, 4)
    assert list(e.state_dict()) == list(t.state_dict()) == [
        'in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']
    assert list(nn.MultiheadAttention(16, 4, kdim=3, vdim=5, add_bias_kv=True).state_dict()) \
        == list(torch.nn.MultiheadAttention(16, 4, kdim=3, vdim=5, add_bias_kv=True)
                .state_dict())
    assert not e.in_proj_bias.detach().numpy().any() and not e.out_proj.bias.detach().numpy().any()
    bound = np.sqrt(6 / (16 + 48))      # xavier_uniform_ on (3E, E)
    w = e.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound


# ---------------------------------------------------------------- layers

ACTIVATIONS = {'relu': ('relu', 'relu'), 'gelu': ('gelu', 'gelu'),
               'callable': (nn.functional.silu, torch.nn.functional.silu)}


def _layer_pair(cls, act='relu', **kw):
    torch.manual_seed(0)
    t = getattr(torch.nn, cls)(E, HEADS, dim_feedforward=12, activation=ACTIVATIONS[act][1],
                               **kw)
    e = getattr(nn, cls)(E, HEADS, dim_feedforward=12, activation=ACTIVATIONS[act][0], **kw)
    return _copy_in(e, t)


@pytest.mark.parametrize('norm_first', [False, True])
@pytest.mark.parametrize('act', list(ACTIVATIONS))
@pytest.mark.parametrize('batch_first', [False, True])
def test_encoder_layer_matches_torch_in_eval(norm_first, act, batch_first):
    e, t = _layer_pair('TransformerEncoderLayer', act, norm_first=norm_first,
                       batch_first=batch_first)
    e.eval(), t.eval()
    shape = (N, S, E) if batch_first else (S, N, E)
    _compare(e, t, [_data(shape, 1)], lambda mod, m, xs: (mod(
        xs[0], src_mask=_causal(m, S), src_key_padding_mask=_padding(m)),))


@pytest.mark.parametrize('norm_first', [False, True])
def test_encoder_layer_train_mode_with_zero_dropout(norm_first):
    e, t = _layer_pair('TransformerEncoderLayer', 'gelu', norm_first=norm_first, dropout=0.0,
                       bias=False)
    e.train(), t.train()
    _compare(e, t, [_data((S, N, E), 1)], lambda mod, m, xs: (mod(xs[0]),))


@pytest.mark.parametrize('norm_first', [False, True])
@pytest.mark.parametrize('act', ['relu', 'gelu'])
def test_decoder_layer_matches_torch_in_eval(norm_first, act):
    e, t = _layer_pair('TransformerDecoderLayer', act, norm_first=norm_first,
                       batch_first=True)
    e.eval(), t.eval()
    arrays = [_data((N, L, E), 1), _data((N, S, E), 2)]
    _compare(e, t, arrays, lambda mod, m, xs: (mod(
        *xs, tgt_mask=_causal(m), memory_key_padding_mask=_padding(m),
        tgt_key_padding_mask=on_device([[False] * L, [False] * (L - 1) + [True]], m),
        memory_mask=on_device(_data((L, S), 5), m), tgt_is_causal=True),))


def test_decoder_layer_train_mode_with_zero_dropout():
    e, t = _layer_pair('TransformerDecoderLayer', 'relu', dropout=0.0, norm_first=True)
    e.train(), t.train()
    _compare(e, t, [_data((L, N, E), 1), _data((S, N, E), 2)],
             lambda mod, m, xs: (mod(*xs),))


def test_layer_dropout_is_active_in_training():
    ember.manual_seed(0)
    layer = nn.TransformerEncoderLayer(E, HEADS, dim_feedforward=12, dropout=0.5)
    x = ember.randn(S, N, E)
    assert not np.allclose(layer(x).detach().numpy(), layer(x).detach().numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


# ---------------------------------------------------------------- stacks

def test_encoder_stack_matches_torch_and_copies_the_layer():
    torch.manual_seed(0)
    t = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(E, HEADS, dim_feedforward=12, norm_first=True),
        num_layers=2, norm=torch.nn.LayerNorm(E), enable_nested_tensor=False)
    layer = nn.TransformerEncoderLayer(E, HEADS, dim_feedforward=12, norm_first=True)
    e = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(E))
    assert list(e.state_dict())[:2] == ['layers.0.self_attn.in_proj_weight',
                                        'layers.0.self_attn.in_proj_bias']
    a, b = e.layers[0].linear1.weight, e.layers[1].linear1.weight
    assert a is not b and a is not layer.linear1.weight
    np.testing.assert_array_equal(a.detach().numpy(), layer.linear1.weight.detach().numpy())
    assert isinstance(a, nn.Parameter) and a.requires_grad
    assert e.layers[0].activation is layer.activation
    _copy_in(e, t)
    e.eval(), t.eval()
    _compare(e, t, [_data((S, N, E), 1)], lambda mod, m, xs: (mod(
        xs[0], mask=_causal(m, S), src_key_padding_mask=_padding(m)),))


def test_decoder_stack_and_transformer_match_torch():
    kw = dict(d_model=E, nhead=HEADS, num_encoder_layers=1, num_decoder_layers=2,
              dim_feedforward=12, batch_first=True)
    torch.manual_seed(0)
    t = torch.nn.Transformer(**kw)
    e = nn.Transformer(**kw)
    assert all(isinstance(m, nn.TransformerDecoderLayer) for m in e.decoder.layers)
    w = e.encoder.layers[0].linear1.weight.detach().numpy()   # xavier_uniform_ (12, 8)
    assert np.abs(w).max() <= np.sqrt(6 / 20)
    _copy_in(e, t)
    e.eval(), t.eval()
    _compare(e, t, [_data((N, S, E), 1), _data((N, L, E), 2)], lambda mod, m, xs: (mod(
        *xs, tgt_mask=mod.generate_square_subsequent_mask(L, device=_device(m)),
        src_key_padding_mask=_padding(m), memory_key_padding_mask=_padding(m)),))


def test_square_subsequent_mask_matches_torch():
    np.testing.assert_array_equal(
        nn.Transformer.generate_square_subsequent_mask(4).numpy(),
        torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())


# ---------------------------------------------------------------- errors

def test_errors_name_module_and_shapes():
    mha = nn.MultiheadAttention(E, HEADS)
    x = ember.zeros(L, N, E)
    with pytest.raises(ValueError, match='embed_dim must be divisible by num_heads.*8.*3'):
        nn.MultiheadAttention(8, 3)
    with pytest.raises(RuntimeError, match=r'MultiheadAttention\(embed_dim=8, num_heads=2\).*'
                                           r'query \[4, 2, 6\]'):
        mha(ember.zeros(L, N, 6), x, x)
    with pytest.raises(RuntimeError, match=r'key and value must have the same sequence'):
        mha(x, ember.zeros(S, N, E), x)
    with pytest.raises(RuntimeError, match=r'attn_mask of shape \[4, 4\] or \[4, 4, 4\].*'
                                           r'got \[4, 5\]'):
        mha(x, x, x, attn_mask=ember.zeros(L, S))
    with pytest.raises(RuntimeError, match=r'key_padding_mask of shape \[2, 4\].*got \[2, 5\]'):
        mha(x, x, x, key_padding_mask=ember.zeros(N, S, dtype=ember.bool))
    with pytest.raises(RuntimeError, match='Need attn_mask if specifying the is_causal'):
        mha(x, x, x, is_causal=True)
    with pytest.raises(TypeError, match='only bool and floating types of attn_mask'):
        mha(x, x, x, attn_mask=ember.zeros(L, L, dtype=ember.int64))
    with pytest.raises(RuntimeError, match='activation should be relu/gelu, not tanh'):
        nn.TransformerEncoderLayer(E, HEADS, activation='tanh')
    with pytest.raises(RuntimeError, match=r'Transformer\(d_model=8\).*\[3, 2, 6\]'):
        nn.Transformer(E, HEADS, 1, 1, 12)(ember.zeros(3, 2, 6), ember.zeros(3, 2, 8))


def test_clone_module_copies_parameters_and_buffers():
    from ember.nn.transformer import _clone_module
    bn = nn.BatchNorm1d(3)
    twin = _clone_module(bn)
    assert twin.running_mean is not bn.running_mean and twin.weight is not bn.weight
    assert twin._buffers['running_mean'] is twin.running_mean
    assert [n for n, _ in twin.named_parameters()] == ['weight', 'bias']
    twin(ember.randn(4, 3))
    assert not bn.running_mean.numpy().any() and twin.running_mean.numpy().any()
