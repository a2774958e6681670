"""Recurrent layers: ``RNN``, ``LSTM`` and ``GRU`` over sequences, and the one-step cells
``RNNCell``, ``LSTMCell`` and ``GRUCell``.

Each step is written in ember ops (matmul, sigmoid, tanh, chunk), so autograd differentiates
through time with no hand-written backward. As PyTorch does on the CPU, a layer projects the
whole input sequence at once (``x @ weight_ih.T + bias_ih``) and loops over time only for the
hidden-to-hidden part. Gates are packed in PyTorch's order: LSTM ``i, f, g, o``, GRU ``r, z, n``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING
import math
import warnings

from .._tensor import zeros
from ..ops.join import cat, stack
from . import functional as F
from .linear import _uniform
from .module import Module

if TYPE_CHECKING:
    from .._typing import DeviceLike, DTypeLike

_GATES = {'RNN_TANH': 1, 'RNN_RELU': 1, 'LSTM': 4, 'GRU': 3}


# ---------------------------------------------------------------- one step of each kind
# ``gi`` is the input's projection ``x @ w_ih.T + b_ih``; ``state`` is h (or (h, c) for LSTM).

def _hh(h, w_hh, b_hh):
    gh = h @ w_hh.mT
    return gh if b_hh is None else gh + b_hh


def _tanh_step(gi, h, w_hh, b_hh):
    return (gi + _hh(h, w_hh, b_hh)).tanh()


def _relu_step(gi, h, w_hh, b_hh):
    return F.relu(gi + _hh(h, w_hh, b_hh))


def _lstm_step(gi, state, w_hh, b_hh, w_hr=None):
    h, c = state
    i, f, g, o = (gi + _hh(h, w_hh, b_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w_hr is None else h @ w_hr.mT), c   # (proj_size: h projected by weight_hr)


def _gru_step(gi, h, w_hh, b_hh):
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = _hh(h, w_hh, b_hh).chunk(3, -1)
    r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return n + z * (h - n)          # (1 - z) n + z h, in the order torch's kernel computes it


_STEPS = {'RNN_TANH': _tanh_step, 'RNN_RELU': _relu_step, 'LSTM': _lstm_step,
          'GRU': _gru_step}


def _project(x, w_ih, b_ih):
    gi = x @ w_ih.mT
    return gi if b_ih is None else gi + b_ih


def _hidden_of(state):
    return state[0] if isinstance(state, tuple) else state


def _shape(t):
    return list(t.shape)


# ---------------------------------------------------------------- sequence layers

class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: parameters named as PyTorch names them
    (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, with a
    ``_reverse`` suffix for the backward direction), drawn from U(-1/sqrt(hidden_size),
    1/sqrt(hidden_size)); input of shape (L, N, H_in), (N, L, H_in) with ``batch_first``, or
    unbatched (L, H_in); dropout on every layer's output but the last, in training.

    >>> gru = ember.nn.RNNBase('GRU', 4, 3)
    >>> [name for name, _ in gru.named_parameters()]
    ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        if mode not in _GATES:
            raise ValueError(f'{name}: unknown mode {mode!r}; expected one of '
                             f'{", ".join(_GATES)}')
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0 <= dropout <= 1:
            raise ValueError(f'{name}: dropout should be a number in range [0, 1] representing '
                             f'the probability of an element being zeroed, got {dropout}')
        if dropout > 0 and num_layers == 1:
            warnings.warn(f'{name}: dropout option adds dropout after all but last recurrent '
                          f'layer, so non-zero dropout expects num_layers greater than 1, but '
                          f'got dropout={dropout} and num_layers={num_layers}', UserWarning,
                          stacklevel=2)
        for arg, value in (('input_size', input_size), ('hidden_size', hidden_size),
                           ('num_layers', num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f'{name}: {arg} must be a positive integer, got {value!r}')
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f'{name}: proj_size should be a positive integer or zero to '
                             f'disable projections, got {proj_size!r}')
        if proj_size and mode != 'LSTM':
            raise ValueError(f'{name}: proj_size argument is only supported for LSTM, not RNN '
                             f'or GRU')
        if proj_size >= hidden_size:
            raise ValueError(f'{name}: proj_size has to be smaller than hidden_size, got '
                             f'proj_size={proj_size} and hidden_size={hidden_size}')
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = proj_size
        real = proj_size or hidden_size   # the size of h (c keeps hidden_size)
        gates = _GATES[mode] * hidden_size
        bound = 1 / math.sqrt(hidden_size)
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else real * self.num_directions
            for suffix in self._suffixes():
                shapes: list[tuple[str, tuple[int, ...]]] = [
                    ('weight_ih', (gates, layer_in)), ('weight_hh', (gates, real))]
                if bias:
                    shapes += [('bias_ih', (gates,)), ('bias_hh', (gates,))]
                if proj_size:
                    shapes.append(('weight_hr', (proj_size, hidden_size)))
                for kind, shape in shapes:
                    key = f'{kind}_l{layer}{suffix}'
                    setattr(self, key, _uniform(shape, bound))
                    self._flat_weights_names.append(key)
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    @property
    def num_directions(self) -> int:
        """2 for a bidirectional RNN, else 1.

        >>> ember.nn.GRU(2, 3, bidirectional=True).num_directions
        2
        """
        return 2 if self.bidirectional else 1

    def _suffixes(self):
        return ('', '_reverse') if self.bidirectional else ('',)

    @property
    def all_weights(self):
        """The parameters of each layer and direction, as lists in PyTorch's order."""
        per = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        flat = [getattr(self, n) for n in self._flat_weights_names]
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def flatten_parameters(self):
        """A no-op: ember keeps no fused (cuDNN) weight buffer."""

    def _weights(self, layer, suffix):
        get = lambda kind: getattr(self, f'{kind}_l{layer}{suffix}', None)   # noqa: E731
        return (get('weight_ih'), get('weight_hh'), get('bias_ih'), get('bias_hh'),
                get('weight_hr'))

    # ------------------------------------------------------------ argument checks
    def _check_input(self, x, hx):
        name = type(self).__name__
        if x.ndim not in (2, 3):
            raise ValueError(f'{name}: Expected input to be 2D (L, H_in) or 3D '
                             f'({"N, L" if self.batch_first else "L, N"}, H_in), got '
                             f'{x.ndim}D input of shape {_shape(x)} instead')
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f'{name}(input_size={self.input_size}, hidden_size='
                               f'{self.hidden_size}): input of shape {_shape(x)} has '
                               f'input.size(-1) = {x.shape[-1]}, expected input_size '
                               f'{self.input_size}')
        for h in (hx if isinstance(hx, tuple) else (hx,)):
            if h is not None and h.ndim != x.ndim:
                kind = 'unbatched 2-D' if x.ndim == 2 else 'batched 3-D'
                raise RuntimeError(f'{name}: for {kind} input of shape {_shape(x)}, hx should '
                                   f'also be {x.ndim}-D but got a {h.ndim}-D tensor of shape '
                                   f'{_shape(h)}')

    def _check_hidden(self, h, expected, what):
        if tuple(h.shape) != expected:
            size = 'proj_size' if self.proj_size and what == 'hidden' else 'hidden_size'
            raise RuntimeError(f'{type(self).__name__}: Expected {what} size {list(expected)} '
                               f'(num_layers * num_directions, batch, {size}), got '
                               f'{_shape(h)}')

    def _initial_state(self, x, hx):
        """``hx`` as (h0, c0) or h0 of shape (layers * directions, N, H), zeros if not given."""
        shape = (self.num_layers * self.num_directions, x.shape[1], self.hidden_size)
        if self.mode == 'LSTM':
            h_shape = shape[:2] + (self.proj_size or self.hidden_size,)
            if hx is None:
                return tuple(zeros(*s, dtype=x.dtype, device=x.device) for s in (h_shape, shape))
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RuntimeError('LSTM: expected hx to be a tuple (h_0, c_0) of tensors')
            self._check_hidden(hx[0], h_shape, 'hidden')
            self._check_hidden(hx[1], shape, 'cell')
            return tuple(hx)
        if hx is None:
            return zeros(*shape, dtype=x.dtype, device=x.device)
        self._check_hidden(hx, shape, 'hidden')
        return hx

    # ------------------------------------------------------------ forward
    def _run_direction(self, x, state, layer, suffix):
        """One layer in one direction over (L, N, H_in); the outputs in input order and the
        last state."""
        w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, suffix)
        step = _STEPS[self.mode]
        if w_hr is not None:
            def step(gi, state, w_hh, b_hh):
                return _lstm_step(gi, state, w_hh, b_hh, w_hr)
        inputs = _project(x, w_ih, b_ih).unbind(0)
        if suffix:
            inputs = inputs[::-1]
        outputs = []
        for gi in inputs:
            state = step(gi, state, w_hh, b_hh)
            outputs.append(_hidden_of(state))
        if suffix:
            outputs = outputs[::-1]
        return stack(outputs), state

    def forward(self, input, hx=None):
        if isinstance(hx, list):
            hx = tuple(hx)
        self._check_input(input, hx)
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if not batched and hx is not None:
            hx = tuple(h.unsqueeze(1) for h in hx) if isinstance(hx, tuple) else hx.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        state = self._initial_state(x, hx)
        lstm = self.mode == 'LSTM'
        last = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
            outs = []
            for d, suffix in enumerate(self._suffixes()):
                i = layer * self.num_directions + d
                s0 = (state[0][i], state[1][i]) if lstm else state[i]
                out, s = self._run_direction(x, s0, layer, suffix)
                outs.append(out)
                last.append(s)
            x = outs[0] if len(outs) == 1 else cat(outs, -1)
        if lstm:
            h_n = (stack([s[0] for s in last]), stack([s[1] for s in last]))
        else:
            h_n = stack(last)
        if not batched:
            x = x.squeeze(1)
            h_n = tuple(h.squeeze(1) for h in h_n) if lstm else h_n.squeeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, h_n

    def extra_repr(self):
        s = f'{self.input_size}, {self.hidden_size}'
        if self.proj_size:
            s += f', proj_size={self.proj_size}'
        if self.mode == 'RNN_RELU':
            s += ", nonlinearity='relu'"
        for arg, default in (('num_layers', 1), ('bias', True), ('batch_first', False),
                             ('dropout', 0.0), ('bidirectional', False)):
            if getattr(self, arg) != default:
                s += f', {arg}={getattr(self, arg)}'
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu with
    ``nonlinearity='relu'``), stacked ``num_layers`` deep. Returns ``(output, h_n)``: output
    holds the last layer's h_t for every t (both directions side by side if bidirectional),
    h_n the last h of every layer and direction, shaped (num_layers * num_directions, N, H).

    >>> rnn = ember.nn.RNN(4, 3, num_layers=2, batch_first=True)
    >>> out, h = rnn(ember.randn(2, 5, 4))
    >>> out.shape, h.shape
    (ember.Size([2, 5, 3]), ember.Size([2, 2, 3]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = 'tanh', bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        if nonlinearity not in ('tanh', 'relu'):
            raise ValueError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' "
                             f"or 'relu'.")
        super().__init__('RNN_TANH' if nonlinearity == 'tanh' else 'RNN_RELU', input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory: gates ``i, f, g, o`` (packed in that order in the weights),
    ``c_t = f c_{t-1} + i g`` and ``h_t = o tanh(c_t)``. Takes an optional ``(h_0, c_0)`` and
    returns ``(output, (h_n, c_n))``. With ``proj_size`` > 0, ``h_t`` is projected by
    ``weight_hr_l{k}`` (proj_size, hidden_size) to ``proj_size`` features.

    >>> lstm = ember.nn.LSTM(4, 3, bidirectional=True)
    >>> out, (h, c) = lstm(ember.randn(5, 2, 4))
    >>> out.shape, h.shape, c.shape
    (ember.Size([5, 2, 6]), ember.Size([2, 2, 3]), ember.Size([2, 2, 3]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__('LSTM', input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit: gates ``r, z, n`` (in that order in the weights),
    ``n = tanh(W_in x + b_in + r (W_hn h + b_hn))`` and ``h' = (1 - z) n + z h``.

    >>> gru = ember.nn.GRU(4, 3)
    >>> out, h = gru(ember.randn(5, 4))     # unbatched: (L, H_in)
    >>> out.shape, h.shape
    (ember.Size([5, 3]), ember.Size([1, 3]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__('GRU', input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


# ---------------------------------------------------------------- cells

class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` (gates * hidden, input), ``weight_hh`` (gates *
    hidden, hidden), ``bias_ih`` and ``bias_hh``, drawn from U(-1/sqrt(hidden_size),
    1/sqrt(hidden_size)); input (N, H_in) or unbatched (H_in,).

    >>> cell = ember.nn.RNNCellBase(4, 3, True, num_chunks=3)
    >>> cell.weight_ih.shape
    ember.Size([9, 4])
    """
    _mode: str | None = None

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        bound = 1 / math.sqrt(hidden_size)
        gates = num_chunks * hidden_size
        self.weight_ih = _uniform((gates, input_size), bound)
        self.weight_hh = _uniform((gates, hidden_size), bound)
        self.bias_ih = _uniform((gates,), bound) if bias else None
        self.bias_hh = _uniform((gates,), bound) if bias else None
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def _check(self, x, hx):
        name = type(self).__name__
        if x.ndim not in (1, 2):
            raise ValueError(f'{name}: Expected input to be 1D (H_in,) or 2D (N, H_in), got '
                             f'{x.ndim}D input of shape {_shape(x)} instead')
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f'{name}(input_size={self.input_size}, hidden_size='
                               f'{self.hidden_size}): input of shape {_shape(x)} has '
                               f'{x.shape[-1]} features, expected input_size {self.input_size}')
        expected = tuple(x.shape[:-1]) + (self.hidden_size,)
        for h in (hx if isinstance(hx, tuple) else (hx,)):
            if h is not None and tuple(h.shape) != expected:
                raise RuntimeError(f'{name}: Expected hidden state of shape {list(expected)} '
                                   f'for input of shape {_shape(x)}, got {_shape(h)}')

    def _step(self, input, hx):
        """Run one step on a batched view; ``hx`` zeros when not given."""
        self._check(input, hx)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)

        def prep(h):
            if h is None:
                return zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
            return h if batched else h.unsqueeze(0)
        state = tuple(prep(h) for h in hx) if isinstance(hx, tuple) else prep(hx)
        out = _STEPS[self._mode](_project(x, self.weight_ih, self.bias_ih), state,
                                 self.weight_hh, self.bias_hh)
        if batched:
            return out
        return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)

    def extra_repr(self):
        s = f'{self.input_size}, {self.hidden_size}'
        if not self.bias:
            s += ', bias=False'
        if getattr(self, 'nonlinearity', 'tanh') != 'tanh':
            s += f', nonlinearity={self.nonlinearity!r}'
        return s


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu).

    >>> cell = ember.nn.RNNCell(4, 3, nonlinearity='relu')
    >>> h = cell(ember.randn(2, 4))
    >>> cell(ember.randn(2, 4), h).shape
    ember.Size([2, 3])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = 'tanh', device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        if nonlinearity not in ('tanh', 'relu'):
            raise ValueError(f"RNNCell: Unknown nonlinearity '{nonlinearity}'. Select from "
                             f"'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity
        self._mode = 'RNN_TANH' if nonlinearity == 'tanh' else 'RNN_RELU'

    def forward(self, input, hx=None):
        return self._step(input, hx)


class LSTMCell(RNNCellBase):
    """One LSTM step: takes ``(h, c)`` (zeros if left out) and returns ``(h', c')``.

    >>> cell = ember.nn.LSTMCell(4, 3)
    >>> h, c = cell(ember.randn(2, 4))
    >>> h.shape, c.shape
    (ember.Size([2, 3]), ember.Size([2, 3]))
    """
    _mode = 'LSTM'

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is None:
            hx = (None, None)
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise RuntimeError('LSTMCell: expected hx to be a tuple (h, c) of tensors')
        return self._step(input, tuple(hx))


class GRUCell(RNNCellBase):
    """One GRU step: ``h' = (1 - z) n + z h``.

    >>> cell = ember.nn.GRUCell(4, 3)
    >>> cell(ember.randn(4)).shape           # unbatched
    ember.Size([3])
    """
    _mode = 'GRU'

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        return self._step(input, hx)
