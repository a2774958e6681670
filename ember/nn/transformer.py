"""Attention and transformer layers: ``MultiheadAttention``, ``TransformerEncoderLayer``,
``TransformerDecoderLayer``, the ``TransformerEncoder`` and ``TransformerDecoder`` stacks and
the full ``Transformer``, with PyTorch's parameter names, masks and defaults.

Masks follow ``nn.MultiheadAttention``: in ``attn_mask`` and ``key_padding_mask`` a bool True
means *do not attend* (the opposite of ``scaled_dot_product_attention``'s bool masks) and a
float mask is added to the scores. Everything is composed of ember ops, so autograd gives the
backward.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable
import copy
import math

from .. import random
from .._tensor import Tensor, arange, zeros
from ..ops.join import cat
from . import functional as F
from .container import ModuleList
from .layers import Dropout
from .linear import Linear, _uniform
from .module import Module, Parameter
from .normalization import LayerNorm

if TYPE_CHECKING:
    from .._typing import DeviceLike, DTypeLike


def _shape(t):
    return list(t.shape)


def _xavier(shape):
    """``xavier_uniform_`` of a 2-d weight: U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    return _uniform(shape, math.sqrt(6 / (shape[0] + shape[1])))


def _zero_bias(n):
    return Parameter(zeros(n))


def _float_mask(mask, name, dtype):
    """A bool mask (True: masked) as 0 / -inf in ``dtype``; a float mask as it is."""
    if mask is None:
        return None
    if mask.dtype.name == 'bool':
        return F.where(mask, float('-inf'), 0.0).to(dtype)
    if not mask.dtype.is_floating_point:
        raise TypeError(f'MultiheadAttention: only bool and floating types of {name} are '
                        f'supported, got {mask.dtype}')
    return mask


def _clone_module(module):
    """A deep copy of ``module`` with fresh copies of its parameters and buffers.

    ``copy.deepcopy`` alone would fail (ember tensors refuse to be pickled, and deepcopy falls
    back on pickling's protocol), so every tensor the module tree holds is copied first and
    handed to deepcopy in its memo, where deepcopy looks before anything else.
    """
    memo = {}

    def remember(value):
        if isinstance(value, Tensor) and id(value) not in memo:
            fresh = value.detach().clone()
            memo[id(value)] = Parameter(fresh, value.requires_grad) \
                if isinstance(value, Parameter) else fresh
        elif isinstance(value, (list, tuple)):
            for v in value:
                remember(v)
        elif isinstance(value, dict):
            for v in value.values():
                remember(v)
    for m in module.modules():
        remember(m.__dict__)
    return copy.deepcopy(module, memo)


def generate_square_subsequent_mask(sz, device=None, dtype=None):
    """The causal float mask of shape (sz, sz): 0 on and below the diagonal, -inf above.

    >>> ember.nn.Transformer.generate_square_subsequent_mask(3)
    tensor([[0., -inf, -inf],
            [0., 0., -inf],
            [0., 0., 0.]])
    """
    i = arange(sz, device=device)
    mask = F.where(i.unsqueeze(1) >= i, 0.0, float('-inf'))
    return mask.to(dtype) if dtype is not None else mask


def _is_causal_mask(mask, is_causal, size):
    """PyTorch's ``_detect_is_causal_mask``: the hint as given, or whether ``mask`` is the
    causal mask of ``size``."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    causal = generate_square_subsequent_mask(size, device=mask.device)
    if tuple(mask.shape) != tuple(causal.shape):
        return False
    if mask.dtype.name == 'bool':
        return bool((mask == (causal < 0)).all().item())
    return bool((mask == causal.to(mask.dtype)).all().item())


# ---------------------------------------------------------------- attention

class MultiheadAttention(Module):
    """Attention from ``query`` to ``key``/``value`` in ``num_heads`` heads of
    ``embed_dim // num_heads`` features: project (``in_proj_weight``, ``in_proj_bias``, or
    ``q/k/v_proj_weight`` when ``kdim``/``vdim`` differ from ``embed_dim``), attend per head,
    concatenate and project with ``out_proj``. Inputs are (L, N, E), (N, L, E) with
    ``batch_first``, or unbatched (L, E). Returns ``(output, weights)``: the weights are
    (N, L, S) averaged over heads, (N, num_heads, L, S) with ``average_attn_weights=False``,
    or None with ``need_weights=False``.

    >>> mha = ember.nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = ember.randn(3, 5, 8)
    >>> out, w = mha(x, x, x, key_padding_mask=ember.tensor([[False] * 4 + [True]] * 3))
    >>> out.shape, w.shape, w[:, :, 4].abs().max().item()
    (ember.Size([3, 5, 8]), ember.Size([3, 5, 5]), 0.0)
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f'MultiheadAttention: embed_dim and num_heads must be greater '
                             f'than 0, got embed_dim={embed_dim} and num_heads={num_heads}')
        if embed_dim % num_heads:
            raise ValueError(f'MultiheadAttention: embed_dim must be divisible by num_heads, '
                             f'got embed_dim={embed_dim} and num_heads={num_heads}')
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _xavier((3 * embed_dim, embed_dim))
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.q_proj_weight = _xavier((embed_dim, embed_dim))
            self.k_proj_weight = _xavier((embed_dim, self.kdim))
            self.v_proj_weight = _xavier((embed_dim, self.vdim))
            self.in_proj_weight = None
        self.in_proj_bias = _zero_bias(3 * embed_dim) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        if bias:
            self.out_proj.bias = _zero_bias(embed_dim)
        std = math.sqrt(1 / embed_dim)   # xavier_normal_ of a (1, 1, E) tensor
        self.bias_k = Parameter(random.randn(1, 1, embed_dim) * std) if add_bias_kv else None
        self.bias_v = Parameter(random.randn(1, 1, embed_dim) * std) if add_bias_kv else None
        self.add_zero_attn = add_zero_attn
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def _check(self, query, key, value):
        shapes = f'query {_shape(query)}, key {_shape(key)} and value {_shape(value)}'
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise RuntimeError(f'MultiheadAttention: expected query, key and value all 3-D '
                               f'(batched) or all 2-D (unbatched), got {shapes}')
        for t, dim, name in ((query, self.embed_dim, 'embed_dim'), (key, self.kdim, 'kdim'),
                             (value, self.vdim, 'vdim')):
            if t.shape[-1] != dim:
                raise RuntimeError(f'MultiheadAttention(embed_dim={self.embed_dim}, num_heads='
                                   f'{self.num_heads}): expected the last dimension of '
                                   f'{shapes} to be embed_dim, kdim and vdim ({self.embed_dim}, '
                                   f'{self.kdim}, {self.vdim}); {name} does not match')
        seq = 1 if self.batch_first and query.ndim == 3 else 0
        if key.shape[:-1] != value.shape[:-1] or \
                (query.ndim == 3 and query.shape[1 - seq] != key.shape[1 - seq]):
            raise RuntimeError(f'MultiheadAttention: key and value must have the same sequence '
                               f'length and batch size, and query the same batch size; got '
                               f'{shapes}' + (' (batch_first)' if seq else ''))

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        self._check(query, key, value)
        batched = query.ndim == 3
        if batched and self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if not batched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        if is_causal and attn_mask is None:
            raise RuntimeError('MultiheadAttention: Need attn_mask if specifying the is_causal '
                               'hint (see Transformer.generate_square_subsequent_mask)')
        out, weights = self._attend(query, key, value,
                                    _float_mask(key_padding_mask, 'key_padding_mask',
                                                query.dtype),
                                    _float_mask(attn_mask, 'attn_mask', query.dtype))
        if not need_weights:
            weights = None
        elif average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            out = out.squeeze(1)
            weights = None if weights is None else weights.squeeze(0)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _project(self, query, key, value):
        if self._qkv_same_embed_dim:
            w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        b = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        return F.linear(query, w_q, b[0]), F.linear(key, w_k, b[1]), F.linear(value, w_v, b[2])

    def _attend(self, query, key, value, kpm, mask):
        """Attention over sequence-first (L, N, E) inputs; masks as floats. Returns the
        output (L, N, E) and the weights (N, heads, L, S)."""
        L, N, E = query.shape
        h, hd = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        if mask is not None:
            want = [(L, key.shape[0]), (N * h, L, key.shape[0])]
            if tuple(mask.shape) not in want:
                raise RuntimeError(f'MultiheadAttention: expected attn_mask of shape '
                                   f'{list(want[0])} or {list(want[1])} (batch * num_heads, '
                                   f'L, S), got {_shape(mask)}')
            mask = mask.unsqueeze(0) if mask.ndim == 2 else mask
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(1, N, E)])
            v = cat([v, self.bias_v.expand(1, N, E)])
            mask = None if mask is None else F.pad(mask, (0, 1))
            kpm = None if kpm is None else F.pad(kpm, (0, 1))
        q = q.reshape(L, N * h, hd).transpose(0, 1)
        k = k.reshape(k.shape[0], N * h, hd).transpose(0, 1)
        v = v.reshape(v.shape[0], N * h, hd).transpose(0, 1)
        if self.add_zero_attn:
            k = cat([k, zeros(N * h, 1, hd, dtype=k.dtype, device=k.device)], 1)
            v = cat([v, zeros(N * h, 1, hd, dtype=v.dtype, device=v.device)], 1)
            mask = None if mask is None else F.pad(mask, (0, 1))
            kpm = None if kpm is None else F.pad(kpm, (0, 1))
        S = k.shape[1]
        if kpm is not None:
            if tuple(kpm.shape) != (N, S):
                raise RuntimeError(f'MultiheadAttention: expected key_padding_mask of shape '
                                   f'[{N}, {S}] (batch, source length), got {_shape(kpm)}')
            kpm = kpm.reshape(N, 1, 1, S).expand(N, h, 1, S).reshape(N * h, 1, S)
            mask = kpm if mask is None else mask + kpm
        scores = (q * math.sqrt(1 / hd)) @ k.transpose(-2, -1)
        if mask is not None:
            scores = scores + mask
        weights = F.softmax(scores, -1)
        if self.training and self.dropout > 0:
            weights = F.dropout(weights, self.dropout)
        out = (weights @ v).transpose(0, 1).reshape(L * N, E)
        out = self.out_proj(out).reshape(L, N, E)
        return out, weights.reshape(N, h, L, S)


# ---------------------------------------------------------------- layers

_ACTIVATIONS = {'relu': F.relu, 'gelu': F.gelu}


def _activation(activation):
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise RuntimeError(f'activation should be relu/gelu, not {activation}')
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise TypeError(f'activation should be "relu", "gelu" or a callable, got '
                        f'{type(activation).__name__}')
    return activation


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward block (``linear2(dropout(activation(linear1(x))))``),
    each added to its input; LayerNorm after each sum, or before each block with
    ``norm_first``. ``activation`` is 'relu', 'gelu' or a callable.

    >>> layer = ember.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
    >>> layer(ember.randn(5, 3, 8)).shape
    ember.Size([5, 3, 8])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = F.relu,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention over the target, attention to the encoder's output (``memory``) and a
    feed-forward block, each with a residual sum and a LayerNorm (after, or before with
    ``norm_first``).

    >>> layer = ember.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    >>> mask = ember.nn.Transformer.generate_square_subsequent_mask(4)
    >>> layer(ember.randn(3, 4, 8), ember.randn(3, 6, 8), tgt_mask=mask).shape
    ember.Size([3, 4, 8])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = F.relu,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask,
                                   tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, need_weights=False,
                                is_causal=is_causal)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


# ---------------------------------------------------------------- stacks

def _seq_len(x, batch_first):
    return x.shape[1] if batch_first and x.ndim == 3 else x.shape[0]


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (deep copies, each with its own
    parameters, as in PyTorch), applied in turn, then ``norm`` if given.

    >>> layer = ember.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    >>> enc = ember.nn.TransformerEncoder(layer, num_layers=2)
    >>> enc(ember.randn(5, 3, 8)).shape, list(enc.state_dict())[0]
    (ember.Size([5, 3, 8]), 'layers.0.self_attn.in_proj_weight')
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None, enable_nested_tensor: bool = True,
                 mask_check: bool = True) -> None:
        super().__init__()
        self.layers = ModuleList([_clone_module(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        first = self.layers[0] if len(self.layers) else None
        batch_first = getattr(getattr(first, 'self_attn', None), 'batch_first', False)
        is_causal = _is_causal_mask(mask, is_causal, _seq_len(src, batch_first))
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                        is_causal=is_causal)
        return out if self.norm is None else self.norm(out)


class TransformerDecoder(Module):
    """``num_layers`` deep copies of ``decoder_layer``, each attending to ``memory``, then
    ``norm`` if given.

    >>> layer = ember.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16)
    >>> dec = ember.nn.TransformerDecoder(layer, num_layers=2)
    >>> dec(ember.randn(4, 3, 8), ember.randn(6, 3, 8)).shape
    ember.Size([4, 3, 8])
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = ModuleList([_clone_module(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        first = self.layers[0] if len(self.layers) else None
        batch_first = getattr(getattr(first, 'self_attn', None), 'batch_first', False)
        tgt_is_causal = _is_causal_mask(tgt_mask, tgt_is_causal, _seq_len(tgt, batch_first))
        out = tgt
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask,
                        memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return out if self.norm is None else self.norm(out)


class Transformer(Module):
    """The encoder-decoder model of "Attention Is All You Need": a ``TransformerEncoder`` and
    a ``TransformerDecoder``, each ending in a LayerNorm; weight matrices drawn with
    ``xavier_uniform_`` as in PyTorch.

    >>> model = ember.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
    ...                              num_decoder_layers=1, dim_feedforward=16)
    >>> model(ember.randn(6, 2, 8), ember.randn(4, 2, 8)).shape
    ember.Size([4, 2, 8])
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = F.relu,
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                      batch_first, norm_first, bias)
        self.encoder = custom_encoder if custom_encoder is not None else TransformerEncoder(
            TransformerEncoderLayer(*layer_args), num_encoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        self.decoder = custom_decoder if custom_decoder is not None else TransformerDecoder(
            TransformerDecoderLayer(*layer_args), num_decoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        for p in self.parameters():
            if p.ndim > 1:
                p._data = _xavier(tuple(p.shape))._data
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batch = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[batch] != tgt.shape[batch]:
            raise RuntimeError(f'Transformer: the batch number of src {_shape(src)} and tgt '
                               f'{_shape(tgt)} must be equal')
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f'Transformer(d_model={self.d_model}): the feature number of '
                               f'src {_shape(src)} and tgt {_shape(tgt)} must be equal to '
                               f'd_model')
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)
