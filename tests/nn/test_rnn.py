"""RNN, LSTM, GRU and their cells against torch: state_dict keys, outputs and the gradients
of the input, the initial state and every parameter, after copying torch's weights in."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.helpers import DEVICE, TORCH_DEVICE, host

torch.set_num_threads(1)

TOL = {'float32': dict(rtol=1e-4, atol=1e-5), 'float64': dict(rtol=1e-9, atol=1e-11)}
if TORCH_DEVICE != 'cpu':   # cuDNN's RNN kernels sum in another order: 4e-5 seen at 0.23
    TOL['float32'] = dict(rtol=3e-4, atol=5e-5)
L, N, H_IN, H = 4, 3, 5, 6


def _close(e, t, dtype, what):
    np.testing.assert_allclose(e.cpu().numpy() if isinstance(e, ember.Tensor) else e,
                               host(t), err_msg=what, **TOL[dtype])


def _pair(cls, dtype='float32', **kw):
    """An ember module holding a seeded torch module's weights, and that torch module, both
    on the test device."""
    torch.manual_seed(0)
    t = getattr(torch.nn, cls)(**kw).to(getattr(torch, dtype))
    e = getattr(nn, cls)(**kw)
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: ember.tensor(host(v)) for k, v in t.state_dict().items()})
    e.to(getattr(ember, dtype))
    return e.to(DEVICE), t.to(TORCH_DEVICE)


def on_device(a, m, **kw):
    """``a`` as a tensor of framework ``m`` (ember or torch) on its test device."""
    return m.tensor(a, device=DEVICE if m is ember else TORCH_DEVICE, **kw)


def _leaf(a, m):
    return on_device(a, m, requires_grad=True)


def _check(e, t, x, hx, dtype, seed=1):
    """Run both modules on ``x`` (and ``hx``: None, an array or a pair of arrays), then
    backpropagate the same random weighting of every output and compare everything."""
    xe, xt = _leaf(x, ember), _leaf(x, torch)
    if hx is None:
        he = ht = None
    elif isinstance(hx, tuple):
        he, ht = tuple(_leaf(h, ember) for h in hx), tuple(_leaf(h, torch) for h in hx)
    else:
        he, ht = _leaf(hx, ember), _leaf(hx, torch)
    oe, ot = e(xe) if he is None else e(xe, he), t(xt) if ht is None else t(xt, ht)
    flat_e = list(oe) if isinstance(oe, tuple) else [oe]
    flat_t = list(ot) if isinstance(ot, tuple) else [ot]
    if isinstance(flat_t[-1], tuple):            # LSTM: (output, (h_n, c_n))
        flat_e, flat_t = flat_e[:-1] + list(flat_e[-1]), flat_t[:-1] + list(flat_t[-1])
    rng = np.random.default_rng(seed)
    loss_e = loss_t = 0
    for i, (a, b) in enumerate(zip(flat_e, flat_t)):
        assert tuple(a.shape) == tuple(b.shape), (i, a.shape, b.shape)
        _close(a.detach(), b, dtype, f'output {i}')
        w = rng.standard_normal(tuple(b.shape)).astype(dtype)
        loss_e = loss_e + (a * on_device(w, ember)).sum()
        loss_t = loss_t + (b * on_device(w, torch)).sum()
    loss_e.backward()
    loss_t.backward()
    _close(xe.grad, xt.grad, dtype, 'input grad')
    if he is not None:
        for a, b in zip(he if isinstance(he, tuple) else (he,),
                        ht if isinstance(ht, tuple) else (ht,)):
            _close(a.grad, b.grad, dtype, 'hx grad')
    pe = dict(e.named_parameters())
    for name, p in t.named_parameters():
        _close(pe[name].grad, p.grad, dtype, f'{name} grad')


def _data(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


LAYER_CASES = [dict(num_layers=1, bidirectional=False, batch_first=False, state=False),
               dict(num_layers=1, bidirectional=True, batch_first=True, state=True),
               dict(num_layers=2, bidirectional=False, batch_first=True, state=False),
               dict(num_layers=2, bidirectional=True, batch_first=False, state=True),
               dict(num_layers=2, bidirectional=True, batch_first=True, state=False)]
KINDS = [('RNN', {}), ('RNN', dict(nonlinearity='relu')), ('LSTM', {}), ('GRU', {})]


def _state(cls, d, n_batch, dtype, seed=2):
    shape = (d,) + ((n_batch,) if n_batch else ()) + (H,)
    if cls == 'LSTM':
        return _data(shape, dtype, seed), _data(shape, dtype, seed + 1)
    return _data(shape, dtype, seed)


@pytest.mark.parametrize('kind', KINDS, ids=lambda k: k[0] + k[1].get('nonlinearity', ''))
@pytest.mark.parametrize('case', LAYER_CASES, ids=lambda c: '-'.join(
    f'{k}{int(v)}' for k, v in c.items()))
def test_layers_match_torch(kind, case):
    cls, extra = kind
    case = dict(case)
    state = case.pop('state')
    e, t = _pair(cls, input_size=H_IN, hidden_size=H, **case, **extra)
    shape = (N, L, H_IN) if case['batch_first'] else (L, N, H_IN)
    d = case['num_layers'] * (2 if case['bidirectional'] else 1)
    _check(e, t, _data(shape, 'float32'), _state(cls, d, N, 'float32') if state else None,
           'float32')


@pytest.mark.parametrize('cls', ['RNN', 'LSTM', 'GRU'])
@pytest.mark.parametrize('state', [False, True])
def test_unbatched_input(cls, state):
    e, t = _pair(cls, input_size=H_IN, hidden_size=H, num_layers=2, bidirectional=True,
                 batch_first=True)   # batch_first does not apply to unbatched input
    _check(e, t, _data((L, H_IN), 'float32'), _state(cls, 4, 0, 'float32') if state else None,
           'float32')


@pytest.mark.parametrize('cls', ['RNN', 'LSTM', 'GRU'])
def test_long_sequence_float64_and_no_bias(cls):
    e, t = _pair(cls, 'float64', input_size=H_IN, hidden_size=H, num_layers=2, bias=False,
                 bidirectional=True)
    _check(e, t, _data((20, 2, H_IN), 'float64'), _state(cls, 4, 2, 'float64'), 'float64')


def test_train_mode_with_zero_dropout_matches_torch():
    e, t = _pair('LSTM', input_size=H_IN, hidden_size=H, num_layers=2, dropout=0.0)
    e.train(), t.train()
    _check(e, t, _data((L, N, H_IN), 'float32'), None, 'float32')


def test_dropout_between_layers_only_in_training():
    ember.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = ember.randn(6, 2, 3)
    a, _ = gru(x)
    b, _ = gru(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    gru.eval()
    a, _ = gru(x)
    b, _ = gru(x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


CELL_CASES = [('RNNCell', {}), ('RNNCell', dict(nonlinearity='relu')), ('LSTMCell', {}),
              ('GRUCell', {}), ('GRUCell', dict(bias=False))]


@pytest.mark.parametrize('kind', CELL_CASES, ids=lambda k: k[0] + ''.join(map(str, k[1])))
@pytest.mark.parametrize('batched', [True, False])
@pytest.mark.parametrize('state', [False, True])
def test_cells_match_torch(kind, batched, state):
    cls, extra = kind
    e, t = _pair(cls, input_size=H_IN, hidden_size=H, **extra)
    shape = (N, H) if batched else (H,)
    hx = None
    if state:
        hx = (_data(shape, 'float32', 2), _data(shape, 'float32', 3)) if cls == 'LSTMCell' \
            else _data(shape, 'float32', 2)
    _check(e, t, _data((N, H_IN) if batched else (H_IN,), 'float32'), hx, 'float32')


def test_cell_unrolled_equals_layer():
    torch.manual_seed(0)
    lstm = nn.LSTM(H_IN, H)
    cell = nn.LSTMCell(H_IN, H)
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x = ember.randn(L, N, H_IN)
    out, (h, c) = lstm(x)
    state = None
    for t in range(L):
        state = cell(x[t], state)
    np.testing.assert_allclose(state[0].detach().numpy(), h[0].detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(state[1].detach().numpy(), c[0].detach().numpy(), atol=1e-6)


@pytest.mark.parametrize('cls', ['RNN', 'LSTM', 'GRU', 'RNNCell', 'LSTMCell', 'GRUCell'])
def test_state_dict_keys_and_init_range(cls):
    kw = dict(input_size=3, hidden_size=16)
    if 'Cell' not in cls:
        kw.update(num_layers=2, bidirectional=True)
    e, t = getattr(nn, cls)(**kw), getattr(torch.nn, cls)(**kw)
    assert list(e.state_dict()) == list(t.state_dict())
    for (name, p), q in zip(e.named_parameters(), t.parameters()):
        assert tuple(p.shape) == tuple(q.shape), name
        assert p.requires_grad and np.abs(p.detach().numpy()).max() <= 1 / math.sqrt(16)
    assert np.abs(e.state_dict()['weight_hh_l1_reverse' if 'Cell' not in cls
                                 else 'weight_hh'].numpy()).max() > 0.1


def test_repr_matches_torch():
    for kw in (dict(input_size=3, hidden_size=4),
               dict(input_size=3, hidden_size=4, num_layers=2, batch_first=True,
                    bidirectional=True)):
        for cls in ('RNN', 'LSTM', 'GRU'):
            assert repr(getattr(nn, cls)(**kw)) == repr(getattr(torch.nn, cls)(**kw))
    # torch's repr leaves the nonlinearity out; ember shows it when it is not the default
    assert repr(nn.RNN(3, 4, nonlinearity='relu')) == "RNN(3, 4, nonlinearity='relu')"
    assert repr(nn.GRUCell(3, 4, bias=False)) == repr(torch.nn.GRUCell(3, 4, bias=False))


def test_errors_name_module_and_shapes():
    lstm = nn.LSTM(4, 3, num_layers=2)
    with pytest.raises(RuntimeError, match=r'LSTM\(input_size=4.*\[5, 2, 7\].*expected '
                                           r'input_size 4'):
        lstm(ember.zeros(5, 2, 7))
    with pytest.raises(ValueError, match=r'LSTM: Expected input to be 2D .* got 4D'):
        lstm(ember.zeros(1, 5, 2, 4))
    with pytest.raises(RuntimeError, match=r'LSTM: Expected hidden size \[2, 2, 3\].*got '
                                           r'\[1, 2, 3\]'):
        lstm(ember.zeros(5, 2, 4), (ember.zeros(1, 2, 3), ember.zeros(2, 2, 3)))
    with pytest.raises(RuntimeError, match=r'LSTM: Expected cell size \[2, 2, 3\]'):
        lstm(ember.zeros(5, 2, 4), (ember.zeros(2, 2, 3), ember.zeros(2, 3, 3)))
    with pytest.raises(RuntimeError, match=r'GRU: for unbatched 2-D input .*3-D'):
        nn.GRU(4, 3)(ember.zeros(5, 4), ember.zeros(1, 1, 3))
    with pytest.raises(RuntimeError, match=r'GRUCell\(input_size=4.*\[2, 5\]'):
        nn.GRUCell(4, 3)(ember.zeros(2, 5))
    with pytest.raises(RuntimeError, match=r'RNNCell: Expected hidden state of shape \[2, 3\]'):
        nn.RNNCell(4, 3)(ember.zeros(2, 4), ember.zeros(3, 3))
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        nn.RNN(4, 3, nonlinearity='gelu')
    with pytest.raises(ValueError, match='dropout should be a number in range'):
        nn.GRU(4, 3, dropout=1.5)
    with pytest.warns(UserWarning, match='num_layers greater than 1'):
        nn.GRU(4, 3, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        nn.GRU(4, 3, num_layers=2, dropout=0.5)


def test_float64_via_dtype_argument_and_all_weights():
    gru = nn.GRU(3, 4, num_layers=2, dtype=ember.float64)
    assert all(p.dtype == ember.float64 for p in gru.parameters())
    out, h = gru(ember.randn(2, 1, 3, dtype=ember.float64))
    assert out.dtype == ember.float64 and h.dtype == ember.float64
    assert [len(ws) for ws in gru.all_weights] == [4, 4]
