"""``ember.nn.functional``: stateless functions for layers, activations and losses.

Activations and convolutions are ember's primitive ops, re-exported here under PyTorch's names;
softmax, normalisations, attention and losses are compositions of primitives, defined below.
"""
from __future__ import annotations

from ..ops.elementwise import *  # noqa: F401,F403
from ..ops.activation import *  # noqa: F401,F403
from ..ops.compare import *  # noqa: F401,F403
from ..ops.conv import *  # noqa: F401,F403
from ..ops.resample import interpolate  # noqa: F401
from ..ops.linalg import *  # noqa: F401,F403
from ..ops.reduce import *  # noqa: F401,F403
from ..ops.movement import *  # noqa: F401,F403
from ..ops.join import *  # noqa: F401,F403
from ..ops.index import *  # noqa: F401,F403
from ..ops.activation import logsigmoid
from ..ops.index import where

import math
import warnings

import numpy as np

from .. import random as _random
from .._tensor import Tensor, _wrap_dim, arange, get_xp, method as _method
from ..ops import fused as _fused
from ..ops.elementwise import HALF as _HALF, floating as _floating, in_float32 as _in_float32
from ..autograd import is_grad_enabled, no_grad
from ..backend import check_later, host, outside
from .. import amp as _amp
from .._dtype import float32 as _float32

from typing import TYPE_CHECKING

if TYPE_CHECKING:   # (names for annotations only: ember.nn.functional's namespace stays torch's)
    from typing import Sequence

    from .._typing import DTypeLike

_REDUCTIONS = ('none', 'mean', 'sum')


# ---------------------------------------------------------------- helpers

def _check_reduction(reduction, fn, valid=_REDUCTIONS):
    if reduction not in valid:
        raise ValueError(f'{fn}: {reduction!r} is not a valid value for reduction; expected '
                         f'one of {", ".join(map(repr, valid))}')


def _reduce(loss, reduction, fn):
    """Apply ``reduction`` ('none', 'mean' or 'sum') to an elementwise loss."""
    _check_reduction(reduction, fn)
    if reduction == 'mean':
        return loss.mean()
    return loss.sum() if reduction == 'sum' else loss


def _legacy_reduction(size_average, reduce, reduction):
    """PyTorch's deprecated ``size_average``/``reduce`` pair, mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return 'none' if not reduce else 'mean' if size_average else 'sum'


def _shape(t):
    return list(t.shape)


def _any(mask):
    """True when a bool tensor has a True element (a host sync, used for argument checks)."""
    return mask.numel() > 0 and mask.sum().item() > 0


def _channel_view(t, ndim, fn, name):
    """A per-channel tensor of shape (C,) viewed as (1, C, 1, ...) to broadcast over (N, C, ...)."""
    if t.ndim != 1:
        raise RuntimeError(f'{fn}: expected {name} of shape (C,), got {_shape(t)}')
    return t.reshape((1, -1) + (1,) * (ndim - 2))


def _softmax_dim(ndim):
    """The dimension PyTorch picks when ``dim`` is left out (a deprecated default)."""
    return 0 if ndim in (0, 1, 3) else 1


# ---------------------------------------------------------------- softmax

@_method('softmax')
def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: DTypeLike | None = None) -> Tensor:
    """Softmax along ``dim``: ``exp(x) / exp(x).sum(dim)``, shifted by the max to stay finite.

    >>> ember.nn.functional.softmax(ember.tensor([[1.0, 2.0, 3.0]]), dim=1)
    tensor([[0.0900, 0.2447, 0.6652]])
    >>> ember.tensor([1e4, 0.0]).softmax(0)
    tensor([1., 0.])
    """
    if _amp._State.on:   # autocast: float32
        input, = _amp.full(input)
    if dtype is not None:
        input = input.to(dtype)
    dim = _softmax_dim(input.ndim) if dim is None else _wrap_dim(dim, input.ndim, 'softmax')
    if input.numel() == 0:
        return input * 1
    return _fused.Softmax.apply(_floating(input), dim=dim)


@_method('log_softmax')
def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: DTypeLike | None = None) -> Tensor:
    """Log of softmax along ``dim``, computed stably as ``x - max - log(sum(exp(x - max)))``.

    >>> ember.nn.functional.log_softmax(ember.tensor([0.0, 0.0]), dim=0)
    tensor([-0.6931, -0.6931])
    >>> ember.tensor([1e4, 0.0]).log_softmax(0).tolist()
    [0.0, -10000.0]
    """
    if _amp._State.on:   # autocast: float32
        input, = _amp.full(input)
    if dtype is not None:
        input = input.to(dtype)
    dim = _softmax_dim(input.ndim) if dim is None else _wrap_dim(dim, input.ndim, 'log_softmax')
    if input.numel() == 0:
        return input * 1
    return _fused.LogSoftmax.apply(_floating(input), dim=dim)


@_method('logsoftmax')
def _logsoftmax(self):
    """``log_softmax`` over the last dimension (the name the talk uses).

    >>> ember.tensor([[0.0, 0.0]]).logsoftmax()
    tensor([[-0.6931, -0.6931]])
    """
    return log_softmax(self, -1)


# ---------------------------------------------------------------- dropout and embeddings

def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``; the
    identity when ``training`` is False. Draws from ember's generator (``ember.manual_seed``).

    >>> _ = ember.manual_seed(0)
    >>> y = ember.nn.functional.dropout(ember.ones(1000), p=0.2)
    >>> sorted(set(y.tolist())), 0.9 < float(y.mean()) < 1.1
    ([0.0, 1.25], True)
    >>> ember.nn.functional.dropout(ember.ones(2), training=False)
    tensor([1., 1.])
    """
    if not 0 <= p <= 1:
        raise ValueError(f'dropout: probability has to be between 0 and 1, but got {p}')
    if not training or p == 0:
        return input
    keep = _random.rand(*input.shape, dtype=input.dtype, device=input.device) >= p
    scale = keep.to(input.dtype) * (1.0 / (1 - p) if p < 1 else 0.0)
    return input.mul_(scale) if inplace else input * scale


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer tensor ``input``: the output has shape
    ``input.shape + (embedding_dim,)``. Gradients of repeated indices add up; the row
    ``padding_idx`` gets no gradient. ``max_norm`` renormalises the rows used, in place (as
    torch); ``scale_grad_by_freq`` divides each row's gradient by its count in ``input``.

    >>> w = ember.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], requires_grad=True)
    >>> out = ember.nn.functional.embedding(ember.tensor([2, 0, 2]), w, padding_idx=0)
    >>> out.sum().backward(); out.tolist(), w.grad.tolist()
    ([[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]], [[0.0, 0.0], [0.0, 0.0], [2.0, 2.0]])
    """
    if sparse:
        raise NotImplementedError('embedding: sparse gradients are not supported in ember')
    if input.dtype.is_floating_point or input.dtype.name == 'bool':
        raise RuntimeError(f'embedding: expected input of integer dtype (indices), got '
                           f'{input.dtype}')
    if weight.ndim != 2:
        raise RuntimeError(f'embedding: expected weight of shape (num_embeddings, '
                           f'embedding_dim), got {_shape(weight)}')
    n = weight.shape[0]
    if input.numel():
        ids = input._data
        check_later(outside(ids, n), lambda: (
            f'embedding: index {input[(input < 0) | (input >= n)].tolist()[0]} out of range '
            f'for weight of shape {_shape(weight)}; valid indices are 0..{n - 1}'))
    if max_norm is not None:
        with no_grad():
            flat = input.reshape(-1)
            rows = weight[flat]
            norms = (rows.abs() ** norm_type).sum(1, keepdim=True) ** (1 / norm_type)
            weight[flat] = rows * where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    out = weight[input]
    if scale_grad_by_freq:
        flat = input.reshape(-1)
        count = (flat.unsqueeze(1) == flat).sum(1).reshape(input.shape).unsqueeze(-1)
        out = out.detach() + (out - out.detach()) / count   # same values, gradient / count
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f'embedding: padding_idx {padding_idx} must be within '
                             f'num_embeddings ({n})')
        pad = (input == padding_idx % n).unsqueeze(-1)
        out = where(pad, out.detach(), out)
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot vectors (int64), with a new last dimension of ``num_classes``
    (by default one more than the largest index).

    >>> ember.nn.functional.one_hot(ember.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    if tensor.dtype.name != 'int64':
        raise RuntimeError(f'one_hot: expected an int64 tensor of class indices, got '
                           f'{tensor.dtype}')
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError('one_hot: cannot infer the number of classes from an empty '
                               'tensor; pass num_classes')
        num_classes = int(tensor.amax().item()) + 1
    if _any(tensor < 0) or _any(tensor >= num_classes):
        raise RuntimeError(f'one_hot: class values must be in 0..{num_classes - 1} '
                           f'(num_classes={num_classes}), got values outside that range')
    classes = arange(num_classes, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).long()


# ---------------------------------------------------------------- normalisation

def _normalise(x, dims, eps):
    """``(x - mean) / sqrt(var + eps)`` over ``dims`` (biased variance), as one op."""
    if x.numel() == 0:
        centred = x - x.mean(dims, keepdim=True)
        return centred * ((centred * centred).mean(dims, keepdim=True) + eps) ** -0.5
    return _fused.Normalise.apply(_floating(x), dims=tuple(dims), eps=eps)


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int],
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dimensions, then scale by ``weight``
    and shift by ``bias`` (both of shape ``normalized_shape``).

    >>> ember.nn.functional.layer_norm(ember.tensor([[1.0, 3.0]]), (2,))
    tensor([[-1.0000,  1.0000]])
    """
    if _amp._State.on:   # autocast: float32
        input, weight, bias = _amp.full(input, weight, bias)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f'layer_norm: given normalized_shape={list(shape)}, expected input '
                           f'with shape [*, {", ".join(map(str, shape))}], but got input of '
                           f'size {_shape(input)}')
    for name, p in (('weight', weight), ('bias', bias)):
        if p is not None and tuple(p.shape) != shape:
            raise RuntimeError(f'layer_norm: expected {name} of shape {list(shape)}, got '
                               f'{_shape(p)}')
    if weight is not None and input.numel() and weight.dtype == input.dtype and (
            bias is None or bias.dtype == input.dtype) and input.dtype.is_floating_point:
        tensors = (input, weight) if bias is None else (input, weight, bias)
        return _fused.LayerNorm.apply(*tensors, eps=eps)
    out = _normalise(input, tuple(range(input.ndim - k, input.ndim)), eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float | None = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise each channel of an (N, C, ...) input. Training uses the batch's statistics
    and updates ``running_mean`` and ``running_var`` in place (with the unbiased variance);
    evaluation uses the running statistics.

    >>> rm, rv = ember.zeros(2), ember.ones(2)
    >>> x = ember.tensor([[1.0, 2.0], [3.0, 6.0]])
    >>> ember.nn.functional.batch_norm(x, rm, rv, training=True).round(decimals=4).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    >>> rm, rv
    (tensor([0.2000, 0.4000]), tensor([1.1000, 1.7000]))
    """
    if input.ndim < 2:
        raise ValueError(f'batch_norm: expected input of shape (N, C, ...), got '
                         f'{_shape(input)}')
    c = input.shape[1]
    for name, p in (('running_mean', running_mean), ('running_var', running_var),
                    ('weight', weight), ('bias', bias)):
        if p is not None and tuple(p.shape) != (c,):
            raise RuntimeError(f'batch_norm: expected {name} of shape [{c}] for input of '
                               f'shape {_shape(input)}, got {_shape(p)}')
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        n = input.numel() // c if c else 0
        if n <= 1:
            raise ValueError(f'batch_norm: expected more than 1 value per channel when '
                             f'training, got input of shape {_shape(input)}')
        out = _normalise(input, dims, eps)
        with no_grad():
            x = input.float() if input._data.dtype in _HALF else input   # (as torch)
            mean = x.mean(dims, keepdim=True)
            if running_mean is not None:
                _running_update(running_mean, mean.reshape(c), momentum)
            if running_var is not None:
                var = ((x - mean) ** 2).sum(dims) / (n - 1)   # unbiased, as torch keeps
                _running_update(running_var, var, momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError('batch_norm: running_mean and running_var must be given when '
                               'training=False')
        rm = _channel_view(running_mean, input.ndim, 'batch_norm', 'running_mean')
        rv = _channel_view(running_var, input.ndim, 'batch_norm', 'running_var')
        out = (input - rm) * (rv + eps) ** -0.5
    if weight is not None:
        out = out * _channel_view(weight, input.ndim, 'batch_norm', 'weight')
    if bias is not None:
        out = out + _channel_view(bias, input.ndim, 'batch_norm', 'bias')
    return out


def _running_update(stat, value, momentum):
    """``stat = (1 - momentum) * stat + momentum * value`` in place; a float16/bfloat16
    statistic in float32, rounded once, as torch updates it."""
    if stat._data.dtype in _HALF:
        stat.copy_((stat.float() * (1 - momentum) + value.float() * momentum).to(stat.dtype))
    else:
        stat.mul_(1 - momentum).add_(value.to(stat.dtype) * momentum)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Split the C channels of an (N, C, ...) input into ``num_groups`` groups and normalise
    each group, then apply the per-channel ``weight`` and ``bias``.

    >>> x = ember.tensor([[[1.0], [3.0], [5.0], [9.0]]])
    >>> ember.nn.functional.group_norm(x, 2).reshape(-1)
    tensor([-1.0000,  1.0000, -1.0000,  1.0000])
    """
    if _amp._State.on:   # autocast: float32
        input, weight, bias = _amp.full(input, weight, bias)
    if input.ndim < 2:
        raise RuntimeError(f'group_norm: expected input of shape (N, C, ...), got '
                           f'{_shape(input)}')
    n, c = input.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f'group_norm: expected the number of channels to be divisible by '
                           f'num_groups, but got input of shape {_shape(input)} and '
                           f'num_groups={num_groups}')
    for name, p in (('weight', weight), ('bias', bias)):
        if p is not None and tuple(p.shape) != (c,):
            raise RuntimeError(f'group_norm: expected {name} of shape [{c}], got {_shape(p)}')
    grouped = input.reshape(n, num_groups, -1)
    out = _normalise(grouped, (2,), eps).reshape(input.shape)
    if weight is not None:
        out = out * _channel_view(weight, input.ndim, 'group_norm', 'weight')
    if bias is not None:
        out = out + _channel_view(bias, input.ndim, 'group_norm', 'bias')
    return out


# ---------------------------------------------------------------- attention

_CAUSAL: dict = {}


def _causal_mask(L, S, like, transposed=False, dtype=None):
    """The additive causal mask (0 on and below the diagonal, -inf above) for ``like``'s
    dtype (or ``dtype``) and device, made once: building it each call cost two host-to-device
    copies. ``transposed``: the (S, L) mask, contiguous."""
    dtype = dtype or like.dtype
    key = (L, S, dtype, like.device, transposed)
    mask = _CAUSAL.get(key)
    if mask is None:
        if len(_CAUSAL) > 64:
            _CAUSAL.clear()
        keep = np.arange(L)[:, None] >= np.arange(S)
        if transposed:
            keep = np.ascontiguousarray(keep.T)
        mask = _CAUSAL[key] = Tensor._make(np.where(keep, 0.0, -np.inf).astype(
            dtype.np)).to(like.device)
    return mask


def _fused_attention(q, k, v, mask, dropout_p, is_causal, scale):
    """``_fused.Attention`` where it applies: no dropout, one float dtype and one batch shape
    for q, k and v, and a mask (bool, or float of that dtype wanting no gradient) that does
    not broadcast the scores up. None elsewhere: the composite runs. Under autocast q, k and
    v go in the low dtype, as torch's autocast lists attention; the op computes in float32
    inside for float16 and bfloat16."""
    if _amp._State.on:
        q, k, v = _amp.low(q, k, v)
    dt = q.dtype
    if dropout_p > 0 or not dt.is_floating_point or k.dtype != dt \
            or v.dtype != dt or q.shape[:-2] != k.shape[:-2] or q.shape[:-2] != v.shape[:-2] \
            or q.numel() == 0 or k.shape[-2] == 0 or v.shape[-1] == 0:
        return None
    L, S = q.shape[-2], k.shape[-2]
    if is_causal:   # (float16/bfloat16: the op's float32 inside; the GPU's kernels read
        cpu = q.device.type == 'cpu'   # the mask by rows, the CPU's down columns)
        mask_t = _causal_mask(L, S, q, transposed=cpu, dtype=_float32 if dt.itemsize == 2
                              else None)._data
        mask_t = mask_t if cpu else mask_t.swapaxes(-1, -2)
    elif mask is None:
        mask_t = None
    else:
        scores = q.shape[:-1] + (S,)
        try:
            grows = np.broadcast_shapes(mask.shape, scores) != scores
        except ValueError:   # the composite says what is wrong
            return None
        if grows or mask.requires_grad and is_grad_enabled() or mask.device != q.device:
            return None
        if mask.dtype.name == 'bool':
            mask_t = get_xp(mask).where(mask._data, 0.0, -np.inf).astype(dt.np)
        elif mask.dtype == dt:
            mask_t = mask._data
        else:
            return None
        if mask_t.ndim < 2:   # (S,) or a number: as a (1, S) or (1, 1) row, then transposed
            mask_t = mask_t.reshape((1,) * (2 - mask_t.ndim) + mask_t.shape)
        mask_t = mask_t.swapaxes(-1, -2)
    return _fused.Attention.apply(q, k, v, mask_t=mask_t, scale=scale,
                                  check_dead=mask is not None)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(q @ k^T * scale + mask) @ v`` over (..., L, E) queries, (..., S, E) keys and
    (..., S, Ev) values. ``attn_mask`` is a bool mask (True: attend) or a float mask added to
    the scores; ``is_causal`` masks the future. Fully masked rows give zeros, as in torch.

    >>> q = ember.ones(1, 2, 4)
    >>> v = ember.tensor([[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]])
    >>> ember.nn.functional.scaled_dot_product_attention(q, q, v, is_causal=True)
    tensor([[[1.0000, 0.0000, 0.0000, 0.0000],
             [0.5000, 0.5000, 0.0000, 0.0000]]])
    """
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2 or query.shape[-1] != key.shape[-1] \
            or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f'scaled_dot_product_attention: expected query (..., L, E), key '
                           f'(..., S, E) and value (..., S, Ev), got {_shape(query)}, '
                           f'{_shape(key)} and {_shape(value)}')
    if enable_gqa:
        raise NotImplementedError('scaled_dot_product_attention: enable_gqa is not supported')
    if is_causal and attn_mask is not None:
        raise RuntimeError('scaled_dot_product_attention: pass either attn_mask or '
                           'is_causal=True, not both')
    L, S = query.shape[-2], key.shape[-2]
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    fused = _fused_attention(query, key, value, attn_mask, dropout_p, is_causal, scale)
    if fused is not None:
        return fused
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:   # every row keeps its first key, so none needs the safe softmax below
        weights = softmax(scores + _causal_mask(L, S, scores), dim=-1)
        return (dropout(weights, dropout_p) if dropout_p > 0 else weights) @ value
    if attn_mask is not None:
        if attn_mask.dtype.name == 'bool':   # as an additive constant: cheaper than where()
            xp = get_xp(attn_mask)
            attn_mask = Tensor._make(xp.where(attn_mask._data, 0.0, -xp.inf).astype(
                scores._data.dtype))
        scores = scores + attn_mask
    # NOTE: a row with every score at -inf attends to nothing and gives zeros (torch's
    # "safe softmax"); it is softmaxed over zeros and then masked, so no nan reaches backward.
    alive = (scores._data > -float('inf')).any(-1, keepdims=True)
    if alive.all():
        weights = softmax(scores, dim=-1)
    else:
        alive = Tensor._make(alive)
        weights = where(alive, softmax(where(alive, scores, 0.0), dim=-1), 0.0)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ value


# ---------------------------------------------------------------- regression losses

# A loss of float16/bfloat16 tensors is computed in float32 and rounded once, as torch's CPU
# losses accumulate; under autocast the loss's own cast to float32 applies instead.
_loss_in_float32 = _in_float32(autocast=True)


def _check_same_shape(input, target, fn):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f'{fn}: target shape {_shape(target)} must match input shape '
                         f'{_shape(input)}')


@_loss_in_float32
def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = 'mean',
             weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target) ** 2``, reduced by ``reduction``.

    >>> ember.nn.functional.mse_loss(ember.tensor([1.0, 2.0]), ember.tensor([0.0, 0.0]))
    tensor(2.5000)
    """
    if _amp._State.on:   # autocast: float32
        input, target = _amp.full(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = (input - target) ** 2
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, 'mse_loss')


@_loss_in_float32
def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = 'mean',
            weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced by ``reduction``.

    >>> ember.nn.functional.l1_loss(ember.tensor([1.0, -3.0]), ember.tensor([0.0, 0.0]))
    tensor(2.)
    """
    if _amp._State.on:   # autocast: float32
        input, target = _amp.full(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, 'l1_loss')


@_loss_in_float32
def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = 'mean',
                   beta: float = 1.0) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``);
    ``beta=0`` is the L1 loss.

    >>> ember.nn.functional.smooth_l1_loss(ember.tensor([0.5, 3.0]), ember.zeros(2),
    ...                                    reduction='none')
    tensor([0.1250, 2.5000])
    """
    if _amp._State.on:   # autocast: float32
        input, target = _amp.full(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError(f'smooth_l1_loss: beta must be non-negative, got {beta}')
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction, 'smooth_l1_loss')
    loss = where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(loss, reduction, 'smooth_l1_loss')


@_loss_in_float32
def huber_loss(input: Tensor, target: Tensor, reduction: str = 'mean', delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    >>> ember.nn.functional.huber_loss(ember.tensor([0.5, 3.0]), ember.zeros(2),
    ...                                reduction='none', delta=2.0)
    tensor([0.1250, 4.0000])
    """
    if delta <= 0:
        raise RuntimeError(f'huber_loss: delta must be positive, got {delta}')
    d = (input - target).abs()
    loss = where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, 'huber_loss')


# ---------------------------------------------------------------- classification losses

def _class_dim(input, fn):
    if input.ndim == 0:
        raise RuntimeError(f'{fn}: expected input of shape (C,), (N, C) or (N, C, d1, ...), '
                           f'got a 0-d tensor')
    return 0 if input.ndim == 1 else 1


def _check_targets(input, target, weight, ignore_index, fn):
    """Validate class-index targets. True when they were seen (on the CPU) to be class
    indices all, none of them ``ignore_index``."""
    cdim = _class_dim(input, fn)
    shape, t = input._data.shape, target._data
    c = shape[cdim]
    if t.dtype.kind not in 'iu':
        raise RuntimeError(f'{fn}: expected class-index targets of integer dtype (int64), got '
                           f'{target.dtype}; class-probability targets must have the input\'s '
                           f'shape {_shape(input)}')
    expect = shape[:cdim] + shape[cdim + 1:]
    if t.shape != expect:
        raise ValueError(f'{fn}: expected target of shape {list(expect)} for input of shape '
                         f'{_shape(input)} (classes along dim {cdim}), got {_shape(target)}')
    # all in range is two reductions on the CPU; the masks only when not (the GPU defers)
    plain = type(t) is np.ndarray and t.size and t.min() >= 0 and t.max() < c
    if not plain:
        def bad():
            return ((t < 0) | (t >= c)) & (t != ignore_index)
        check_later(outside(t, c, ignore_index), lambda: (
            f'{fn}: target {host(t[bad()]).tolist()[0]} is out of bounds for {c} classes; '
            f'valid class indices are 0..{c - 1} (or ignore_index={ignore_index})'))
    if weight is not None and tuple(weight.shape) != (c,):
        raise RuntimeError(f'{fn}: expected weight of shape [{c}] (one per class), got '
                           f'{_shape(weight)}')
    return bool(plain) and not 0 <= ignore_index < c


def _nll(logp, target, weight, ignore_index, reduction, fn):
    """Negative log-likelihood of class-index targets, with per-class weights; the weighted
    mean divides by the summed weights of the targets that count, as torch does."""
    plain = _check_targets(logp, target, weight, ignore_index, fn)
    _check_reduction(reduction, fn)
    w = None if weight is None else weight.detach().to(logp.dtype)._data
    return _fused.NllLoss.apply(logp, target, weight=w, ignore=ignore_index,
                                reduction=reduction, cdim=_class_dim(logp, fn), plain=plain)


@_loss_in_float32
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = 'mean') -> Tensor:
    """Negative log-likelihood: ``-input[n, target[n]]`` for log-probabilities ``input`` of
    shape (N, C) or (N, C, d1, ...), weighted per class; targets equal to ``ignore_index``
    count for nothing.

    >>> logp = ember.tensor([[-0.5, -1.0], [-2.0, -0.1]])
    >>> ember.nn.functional.nll_loss(logp, ember.tensor([0, 1]))
    tensor(0.3000)
    """
    if _amp._State.on:   # autocast: float32
        input, weight = _amp.full(input, weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _nll(input, target, weight, ignore_index, reduction, 'nll_loss')


@_loss_in_float32
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = 'mean',
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits ``input`` (C,), (N, C) or (N, C, d1, ...) against class indices
    (the input's shape without C) or class probabilities (the input's shape).
    ``label_smoothing`` mixes the targets with the uniform distribution; ``weight`` weighs
    classes, and the weighted mean divides by the targets' summed weights (as torch).

    >>> logits = ember.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> ember.nn.functional.cross_entropy(logits, ember.tensor([0, 1]))
    tensor(0.1269)
    >>> ember.nn.functional.cross_entropy(logits, ember.tensor([[0.5, 0.5], [0.0, 1.0]]))
    tensor(0.6269)
    """
    if _amp._State.on:   # autocast: float32
        input, target, weight = _amp.full(input, target, weight)
    fn = 'cross_entropy'
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, fn)
    if not 0 <= label_smoothing <= 1:
        raise RuntimeError(f'{fn}: label_smoothing must be between 0.0 and 1.0, got '
                         f'{label_smoothing}')
    cdim = _class_dim(input, fn)
    c = input.shape[cdim]
    logp = log_softmax(input, cdim)
    wview = None if weight is None else weight.reshape(
        tuple(c if i == cdim else 1 for i in range(input.ndim)))
    if tuple(target.shape) == tuple(input.shape) and target.dtype.is_floating_point:
        if ignore_index >= 0:
            raise RuntimeError(f'{fn}: ignore_index is not supported for class-probability '
                               f'(floating point) targets')
        if weight is not None and tuple(weight.shape) != (c,):
            raise RuntimeError(f'{fn}: expected weight of shape [{c}], got {_shape(weight)}')
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / c
        terms = logp * target if wview is None else logp * target * wview
        loss = -terms.sum(cdim)
        if reduction == 'mean':
            return loss.sum() / (input.numel() // c if c else 0)
        return _reduce(loss, reduction, fn)
    nll = _nll(logp, target, weight, ignore_index, reduction, fn)
    if label_smoothing == 0:
        return nll
    valid = target != ignore_index
    smooth = -(logp if wview is None else logp * wview).sum(cdim)
    smooth = where(valid, smooth, 0.0)
    if reduction == 'mean':
        if weight is None:
            smooth = smooth.sum() / valid.sum()
        else:
            smooth = smooth.sum() / (weight[where(valid, target, 0)] * valid).sum()
    elif reduction == 'sum':
        smooth = smooth.sum()
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / c)


def _clamped_log(x):
    """``log(x)`` clamped below at -100, as torch's binary cross-entropy does."""
    # NOTE: where the clamp bites (x = 0 included) the gradient is 0; torch's fused backward
    # gives a huge finite value there instead (it divides by max(x (1 - x), 1e-12)).
    positive = x > 0
    return where(positive, where(positive, x, 1.0).log(), -100.0).clamp(min=-100)


@_loss_in_float32
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = 'mean') -> Tensor:
    """``-(t log(x) + (1 - t) log(1 - x))`` for probabilities ``x`` in [0, 1]; each log is
    clamped at -100 (as torch does) so that x = 0 or 1 gives a finite loss.

    >>> ember.nn.functional.binary_cross_entropy(ember.tensor([0.5, 1.0]), ember.tensor([1.0, 0.0]))
    tensor(50.3466)
    """
    fn = 'binary_cross_entropy'
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_same_shape(input, target, fn)
    if _any((input < 0) | (input > 1)):
        raise RuntimeError(f'{fn}: all elements of input should be between 0 and 1')
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, fn)


@_loss_in_float32
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None,
                                     size_average: bool | None = None,
                                     reduce: bool | None = None, reduction: str = 'mean',
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits as
    ``(1 - t) x - (1 + (pos_weight - 1) t) logsigmoid(x)``.

    >>> ember.nn.functional.binary_cross_entropy_with_logits(ember.tensor([1e4, -1e4]),
    ...                                                      ember.tensor([1.0, 0.0]))
    tensor(0.)
    """
    if _amp._State.on:   # autocast: float32
        input, target, weight, pos_weight = _amp.full(input, target, weight, pos_weight)
    fn = 'binary_cross_entropy_with_logits'
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_same_shape(input, target, fn)
    log_sig = logsigmoid(input)
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input - log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, fn)


@_loss_in_float32
def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = 'mean',
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence ``t (log t - input)`` for log-probabilities ``input``
    (``target`` as probabilities, or log-probabilities if ``log_target``). ``'batchmean'``
    divides the sum by the batch size, which is the true KL divergence.

    >>> p = ember.tensor([[0.5, 0.5]])
    >>> ember.nn.functional.kl_div(ember.tensor([[0.25, 0.75]]).log(), p,
    ...                            reduction='batchmean')
    tensor(0.1438)
    """
    if _amp._State.on:   # autocast: float32
        input, target = _amp.full(input, target)
    fn = 'kl_div'
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, fn, _REDUCTIONS + ('batchmean',))
    if reduction == 'mean':
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size "
                      "and the support size; 'batchmean' divides only by the batch size, as the "
                      "KL divergence's definition does", UserWarning, stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # NOTE: 0 log 0 is taken as 0 (torch's xlogy), so zero targets add nothing.
        pos = target > 0
        loss = where(pos, target * where(pos, target, 1.0).log(), 0.0) - target * input
    if reduction == 'batchmean':
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction, fn)


# instance norm, channel and alpha dropout, pixel shuffles, embedding bags, fold and unfold,
# adaptive max pooling, the CTC loss, cosine_similarity: defined in _functional_more.py
# (this file's size)
from ._functional_more import *  # noqa: E402,F401,F403
# 3-D pooling and transposed convolution: ember/nn/_volumetric.py (with their layers)
from ._volumetric import (adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d,  # noqa: E402,F401
                         conv_transpose3d, max_pool3d)
