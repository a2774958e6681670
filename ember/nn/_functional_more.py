"""More of ``ember.nn.functional``: instance norm, channel and alpha dropout, pixel shuffles,
embedding bags (compositions of ember's ops), and the window ops and the CTC loss of
``ember/ops/window.py`` and ``ember/ops/ctc.py``. ``ember.nn.functional`` exports them all."""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import random as _random
from .._tensor import Tensor, zeros
from ..autograd import no_grad
from ..backend import host
from ..ops.conv import _check_input, _check_weight, _tuple, conv2d
from ..ops.ctc import ctc_loss
from ..ops.movement import broadcast_to, pad
from ..ops.index import where
from ..ops.window import adaptive_max_pool1d, adaptive_max_pool2d, fold, unfold
from .functional import _channel_view, _normalise, _running_update, _shape, embedding

__all__ = ['instance_norm', 'dropout1d', 'dropout2d', 'alpha_dropout', 'feature_alpha_dropout',
           'pixel_shuffle', 'pixel_unshuffle', 'embedding_bag', 'unfold', 'fold',
           'adaptive_max_pool1d', 'adaptive_max_pool2d', 'ctc_loss', 'conv3d',
           'cosine_similarity']


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample of an (N, C, ...) input over its own spatial
    dimensions, then apply the per-channel ``weight`` and ``bias``. With ``use_input_stats``
    the running statistics (if given) move toward the batch's average of the samples'
    means and unbiased variances; without, they normalise instead.

    >>> x = ember.tensor([[[1.0, 3.0], [2.0, 6.0]]])
    >>> ember.nn.functional.instance_norm(x).round(decimals=3).tolist()
    [[[-1.0, 1.0], [-1.0, 1.0]]]
    """
    fn = 'instance_norm'
    if input.ndim < 3:
        raise ValueError(f'{fn}: expected input of shape (N, C, ...) with a spatial '
                         f'dimension, got {_shape(input)}')
    c, dims = input.shape[1], tuple(range(2, input.ndim))
    for name, p in (('running_mean', running_mean), ('running_var', running_var),
                    ('weight', weight), ('bias', bias)):
        if p is not None and tuple(p.shape) != (c,):
            raise RuntimeError(f'{fn}: expected {name} of shape [{c}] for input of shape '
                               f'{_shape(input)}, got {_shape(p)}')
    if use_input_stats:
        count = input.numel() // max(input.shape[0] * c, 1)
        if count <= 1:
            raise ValueError(f'{fn}: expected more than 1 spatial element when training, got '
                             f'input of shape {_shape(input)}')
        out = _normalise(input, dims, eps)
        with no_grad():
            mean = input.mean(dims, keepdim=True)
            if running_mean is not None:
                _running_update(running_mean, mean.mean(0).reshape(c), momentum)
            if running_var is not None:
                var = ((input - mean) ** 2).sum(dims) / (count - 1)
                _running_update(running_var, var.mean(0), momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(f'{fn}: running_mean and running_var must be given when '
                               f'use_input_stats=False')
        rm = _channel_view(running_mean, input.ndim, fn, 'running_mean')
        rv = _channel_view(running_var, input.ndim, fn, 'running_var')
        out = (input - rm) * (rv + eps) ** -0.5
    if weight is not None:
        out = out * _channel_view(weight, input.ndim, fn, 'weight')
    if bias is not None:
        out = out + _channel_view(bias, input.ndim, fn, 'bias')
    return out


# ---------------------------------------------------------------- dropout variants

def _check_p(p, fn):
    if not 0 <= p <= 1:
        raise ValueError(f'{fn}: dropout probability has to be between 0 and 1, but got {p}')


def _keep(input, p, shape):
    """A float mask of ``shape`` (broadcasting over ``input``): 1 with probability 1 - p."""
    return (_random.rand(*shape, dtype=input.dtype, device=input.device) >= p).to(input.dtype)


def _feature_dropout(input, p, training, inplace, fn):
    """Zero whole channels (dim 1 of (N, C, ...)) with probability p, scale the rest."""
    _check_p(p, fn)
    if not training or p == 0 or input.numel() == 0:
        return input
    mask = _keep(input, p, tuple(input.shape[:2]) + (1,) * (input.ndim - 2))
    scale = mask * (1.0 / (1 - p) if p < 1 else 0.0)
    return input.mul_(scale) if inplace else input * scale


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, L) (or unbatched (C, L)) input with probability ``p``,
    each sample's own, and scale the rest by ``1 / (1 - p)``; the identity unless
    ``training``. Draws from ember's generator (``ember.manual_seed``).

    >>> _ = ember.manual_seed(0)
    >>> y = ember.nn.functional.dropout1d(ember.ones(1, 6, 3), p=0.5)
    >>> [sorted(set(row)) in ([0.0], [2.0]) for row in y[0].tolist()]
    [True, True, True, True, True, True]
    """
    if input.ndim not in (2, 3):
        raise RuntimeError(f'dropout1d: expected 2D or 3D input, but received a {input.ndim}D '
                           f'input of shape {_shape(input)}')
    _check_p(p, 'dropout1d')
    if input.ndim == 2 and training and p > 0:
        out = _feature_dropout(input.unsqueeze(0), p, training, inplace, 'dropout1d')
        return input if inplace else out.squeeze(0)
    return _feature_dropout(input, p, training, inplace, 'dropout1d')


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels (2-D feature maps) of an (N, C, H, W) input with probability ``p``
    and scale the rest by ``1 / (1 - p)``. As torch, a 3-D input is read as (N, C, L) (with a
    warning: use ``dropout1d``).

    >>> _ = ember.manual_seed(0)
    >>> y = ember.nn.functional.dropout2d(ember.ones(2, 3, 2, 2), p=0.5)
    >>> sorted(set(y.amax((2, 3)).tolist()[0] + y.amin((2, 3)).tolist()[0]))
    [0.0, 2.0]
    """
    if input.ndim not in (3, 4):
        warnings.warn(f'dropout2d: received a {input.ndim}-D input; dropout2d expects (N, C, H, '
                      f'W) (or (C, H, W)): use dropout for other inputs', stacklevel=2)
    elif input.ndim == 3:
        warnings.warn('dropout2d: received a 3D input; as torch, it is read as (N, C, L) and '
                      'its channels dropped (dropout1d behaviour)', stacklevel=2)
    if input.ndim < 2:
        raise RuntimeError(f'dropout2d: expected an (N, C, ...) input, got {_shape(input)}')
    return _feature_dropout(input, p, training, inplace, 'dropout2d')


# SELU's negative saturation, -scale * alpha: where alpha dropout sends dropped values
_ALPHA = 1.7580993408473766


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped elements go to SELU's saturation ``-1.7581`` and an
    affine map ``a x + b`` restores zero mean and unit variance of a standard normal input:
    ``a = ((1 - p) (1 + p 1.7581^2)) ** -0.5``, ``b = 1.7581 a p``. Identity unless
    ``training`` (False by default, as torch's).

    >>> _ = ember.manual_seed(0)
    >>> y = ember.nn.functional.alpha_dropout(ember.randn(100_000), 0.2, training=True)
    >>> abs(round(float(y.mean()), 1)), round(float(y.std()), 1)
    (0.0, 1.0)
    """
    return _alpha_dropout(input, p, training, inplace, tuple(input.shape), 'alpha_dropout')


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """``alpha_dropout`` of whole channels: each channel of each sample of an (N, C, ...)
    input is dropped (to SELU's saturation) with probability ``p``, then the same affine map.

    >>> _ = ember.manual_seed(0)
    >>> y = ember.nn.functional.feature_alpha_dropout(ember.zeros(2, 4, 3), 0.5, True)
    >>> [len(set(row)) for row in y[0].tolist()]
    [1, 1, 1, 1]
    """
    if input.ndim < 2:
        raise RuntimeError(f'feature_alpha_dropout: expected an (N, C, ...) input, got '
                           f'{_shape(input)}')
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _alpha_dropout(input, p, training, inplace, shape, 'feature_alpha_dropout')


def _alpha_dropout(input, p, training, inplace, mask_shape, fn):
    _check_p(p, fn)
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        return input.mul_(0.0) if inplace else input * 0.0
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    mask = _keep(input, p, mask_shape)
    shift = (mask - 1) * (_ALPHA * a) + _ALPHA * a * p
    scale = mask * a
    return input.mul_(scale).add_(shift) if inplace else input * scale + shift


# ---------------------------------------------------------------- pixel shuffles

def _check_factor(input, r, fn, what):
    if not isinstance(r, int) or r < 1:
        raise ValueError(f'{fn}: {what} must be a positive integer, got {r!r}')
    if input.ndim < 3:
        raise RuntimeError(f'{fn}: expected input of shape (*, C, H, W) with at least 3 '
                           f'dimensions, got {_shape(input)}')


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange (*, C r^2, H, W) into (*, C, H r, W r): each group of r^2 channels becomes
    one channel's r x r blocks (sub-pixel convolution's upsampling).

    >>> ember.nn.functional.pixel_shuffle(ember.arange(4.0).reshape(1, 4, 1, 1), 2)
    tensor([[[[0., 1.],
              [2., 3.]]]])
    """
    r = upscale_factor
    _check_factor(input, r, 'pixel_shuffle', 'upscale_factor')
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f'pixel_shuffle: expected the channels (dim -3) of input of shape '
                           f'{_shape(input)} to be divisible by upscale_factor squared, '
                           f'{r * r}')
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange (*, C, H r, W r) into (*, C r^2, H, W): ``pixel_shuffle``'s inverse.

    >>> ember.nn.functional.pixel_unshuffle(ember.arange(4.0).reshape(1, 1, 2, 2), 2).reshape(-1)
    tensor([0., 1., 2., 3.])
    """
    r = downscale_factor
    _check_factor(input, r, 'pixel_unshuffle', 'downscale_factor')
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f'pixel_unshuffle: expected the height and width of input of shape '
                           f'{_shape(input)} to be divisible by downscale_factor {r}')
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


# ---------------------------------------------------------------- embedding bags

def _bags(input, offsets, include_last_offset, fn):
    """The flat indices and each one's bag (host arrays), and the number of bags."""
    ids = np.asarray(host(input._data))
    if ids.ndim == 2:
        if offsets is not None:
            raise ValueError(f'{fn}: if input is 2D, then offsets has to be None, as input is '
                             f'treated as a mini-batch of fixed length sequences')
        b, n = ids.shape
        return ids.reshape(-1), np.repeat(np.arange(b), n), b
    if ids.ndim != 1:
        raise ValueError(f'{fn}: expected a 1-D or 2-D input of indices, got {_shape(input)}')
    if offsets is None:
        raise ValueError(f'{fn}: offsets has to be a 1D Tensor but got None')
    off = np.asarray(host(offsets._data) if isinstance(offsets, Tensor) else offsets)
    if off.ndim != 1 or off.dtype.kind not in 'iu':
        raise ValueError(f'{fn}: offsets has to be a 1D Tensor of integers, got {off.shape} '
                         f'of {off.dtype}')
    if off.size and off[0] != 0:
        raise RuntimeError(f'{fn}: offsets[0] has to be 0, i.e., the first sequence in the '
                           f'mini-batch has to start from position 0. However, got {off[0]}')
    if (np.diff(off) < 0).any() or (off.size and off[-1] > ids.size):
        raise RuntimeError(f'{fn}: offsets {off.tolist()} must be non-decreasing and at most '
                           f'the input\'s length {ids.size}')
    ends = np.append(off[1:], ids.size)
    if include_last_offset:
        off, ends = off[:-1], off[1:]
    bag = np.repeat(np.arange(off.size), ends - off)
    return ids[:bag.size], bag, off.size


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = 'mean', sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of ``weight``'s rows, without the per-index rows in
    between: ``input`` is (B, N) (B bags of N indices) or 1-D with ``offsets`` (where each
    bag starts; the last offset ends the last bag if ``include_last_offset``). An empty bag
    gives zeros; indices equal to ``padding_idx`` are left out (and not counted by 'mean');
    ``per_sample_weights`` (input's shape, 'sum' only) weigh each row.

    >>> w = ember.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> F = ember.nn.functional
    >>> F.embedding_bag(ember.tensor([0, 2, 1]), w, ember.tensor([0, 2]), mode='sum')
    tensor([[6., 8.],
            [3., 4.]])
    >>> F.embedding_bag(ember.tensor([[0, 2], [1, 1]]), w, mode='max')
    tensor([[5., 6.],
            [3., 4.]])
    """
    fn = 'embedding_bag'
    if mode not in ('sum', 'mean', 'max'):
        raise ValueError(f"{fn}: mode has to be one of sum, mean or max, got {mode!r}")
    if sparse:
        raise NotImplementedError(f'{fn}: sparse gradients are not supported in ember')
    if input.dtype.is_floating_point or input.dtype.name == 'bool':
        raise RuntimeError(f'{fn}: expected input of integer dtype (indices), got {input.dtype}')
    if per_sample_weights is not None:
        if mode != 'sum':
            raise NotImplementedError(f"{fn}: per_sample_weights was not None. "
                                      f"per_sample_weights is only supported for mode='sum' "
                                      f"(got mode={mode!r}). Please open a feature request")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f'{fn}: expected per_sample_weights of the input\'s shape '
                             f'{_shape(input)}, got {_shape(per_sample_weights)}')
    ids, bag, b = _bags(input, offsets, include_last_offset, fn)
    n = weight.shape[0]
    keep = np.ones(ids.size, bool)
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f'{fn}: padding_idx {padding_idx} must be within num_embeddings '
                             f'({n})')
        keep = ids != padding_idx % n
    flat = Tensor._make(np.ascontiguousarray(ids)).to(weight.device)
    rows = embedding(flat, weight, None, max_norm, norm_type, scale_grad_by_freq)   # (M, D)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)[:ids.size]
    count = np.bincount(bag[keep], minlength=b)
    xp_dt = weight._data.dtype
    if mode != 'max':
        member = (bag == np.arange(b)[:, None]) & keep            # (B, M)
        if mode == 'mean':
            member = member / np.maximum(count, 1)[:, None]
        mat = Tensor._make(member.astype(xp_dt)).to(weight.device)
        return mat @ rows
    # max: each bag's rows laid out (B, longest, D), the places past its end at -inf
    longest = int(np.bincount(bag, minlength=b).max(initial=0)) if b else 0
    start = np.searchsorted(bag, np.arange(b))
    pos = start[:, None] + np.arange(max(longest, 1))
    inside = pos < np.append(start[1:], bag.size)[:, None]
    pos = np.where(inside, pos, 0)
    inside &= keep[pos] if keep.size else inside
    if ids.size == 0:
        # (zeros, joined to the graph: a gradient of zeros for the weight, as torch's)
        return zeros(b, weight.shape[1], dtype=weight.dtype, device=weight.device) \
            + weight[:0].sum(0)
    picked = rows[Tensor._make(pos).to(weight.device)]              # (B, longest, D)
    mask = Tensor._make(inside[:, :, None]).to(weight.device)
    best = where(mask, picked, float('-inf')).amax(1)
    return where(Tensor._make(count[:, None] > 0).to(weight.device), best, 0.0)


# ---------------------------------------------------------------- 3-D convolution

def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: int | tuple[int, int, int] = 1,
           padding: int | tuple[int, int, int] | str = 0,
           dilation: int | tuple[int, int, int] = 1, groups: int = 1) -> Tensor:
    """3-D cross-correlation over ``(N, C, D, H, W)`` (or unbatched ``(C, D, H, W)``) inputs,
    weight ``(C_out, C / groups, kd, kh, kw)``: per kernel depth tap, one ``conv2d`` of the
    input's depth slices folded into the batch, summed (so its gradients, of any order, are
    conv2d's). ``padding`` may be 'same' or 'valid'.

    >>> x = ember.ones(1, 1, 3, 3, 3)
    >>> ember.nn.functional.conv3d(x, ember.ones(1, 1, 2, 2, 2)).reshape(-1)
    tensor([8., 8., 8., 8., 8., 8., 8., 8.])
    """
    fn = 'conv3d'
    _check_input(fn, 3, input)
    _check_weight(fn, 3, input, weight, bias, groups, weight.shape[0])
    batched = input.ndim == 5
    x = input if batched else input.unsqueeze(0)
    n, c = x.shape[:2]
    o, kd = weight.shape[0], weight.shape[2]
    if c != weight.shape[1] * groups or o % groups:
        raise RuntimeError(f'{fn}: given groups={groups}, weight of size {_shape(weight)} '
                           f'expects an input with {weight.shape[1] * groups} channels, but got '
                           f'input of size {_shape(x)} with {c} channels')
    st, dil = _tuple(stride, 3, 'stride', fn), _tuple(dilation, 3, 'dilation', fn)
    if isinstance(padding, str):
        if padding not in ('same', 'valid'):
            raise RuntimeError(f"{fn}: invalid padding string {padding!r}, should be one of "
                               f"'valid' or 'same'")
        if padding == 'same' and max(st) != 1:
            raise RuntimeError(f"{fn}: padding='same' is not supported for strided "
                               f"convolutions (stride={st})")
        total = dil[0] * (kd - 1) if padding == 'same' else 0
        depth, planes = (total // 2, total - total // 2), padding
    else:
        p = _tuple(padding, 3, 'padding', fn)
        depth, planes = (p[0], p[0]), p[1:]
    if any(depth):
        x = pad(x, (0, 0, 0, 0) + depth)
    (sd, dd), d, (h, w) = (st[0], dil[0]), x.shape[2], x.shape[3:]
    do = (d - dd * (kd - 1) - 1) // sd + 1
    if do < 1:
        raise RuntimeError(f'{fn}: the padded input depth {d} of input of size {_shape(input)} '
                           f'is smaller than the dilated kernel depth {dd * (kd - 1) + 1}')
    y = None
    for i in range(kd):
        sl = x[:, :, i * dd:i * dd + sd * (do - 1) + 1:sd].transpose(1, 2)
        t = conv2d(sl.reshape(n * do, c, h, w), weight[:, :, i], None, st[1:], planes,
                   dil[1:], groups)
        y = t if y is None else y + t
    assert y is not None   # (kd >= 1: the weight check)
    y = y.reshape((n, do) + tuple(y.shape[1:])).transpose(1, 2)
    if bias is not None:
        y = y + bias.reshape(-1, 1, 1, 1)
    return y if batched else y.squeeze(0)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (broadcast), each norm
    clamped below at ``eps``.

    >>> ember.nn.functional.cosine_similarity(ember.tensor([[1.0, 0.0]]),
    ...                                       ember.tensor([[1.0, 1.0]]))
    tensor([0.7071])
    """
    def unit(x):
        squares = (x * x).sum(dim, keepdim=True)
        nonzero = squares > 0   # a zero vector's norm gets a zero gradient, as in torch
        norm = where(nonzero, where(nonzero, squares, 1.0).sqrt(), 0.0)
        # torch clamps the norm without recording it: forward clamped, gradient unclamped
        floor = norm.detach()
        floor = where(floor > eps, floor, eps) - floor
        return x / (norm + floor)

    shape = tuple(np.broadcast_shapes(x1.shape, x2.shape))   # a norm is over the full length
    x1, x2 = broadcast_to(x1, shape), broadcast_to(x2, shape)
    return (unit(x1) * unit(x2)).sum(dim)
