"""Sorting and selection: sort, topk, kthvalue, median, mode, unique, searchsorted, histograms,
running extremes, logcumsumexp, diff, count_nonzero and multinomial sampling.

The positions come from the array library (a stable argsort, searchsorted, unique) and carry no
gradient; the values are the input taken at those positions (``TakeAlong``), so their gradient
goes back to the chosen elements, adding up where a position repeats (cummax). Ties follow
torch's CPU choices where torch documents them: sort is stable, mode and cummax/cummin pick the
last position of a tie. NaN sorts as the largest value, as in torch.
"""
import builtins
import collections
import math

import numpy as np

from .._tensor import Tensor, _wrap_dim, get_xp, method
from ..autograd import Op
from ..backend import host, scatter_add as _scatter_add
from .. import random as _random
from .elementwise import exp, log
from .index import where
from .join import cat
from .piecewise import abs
from .reduce import _check_nonempty, _const, dims

__all__ = ['sort', 'argsort', 'msort', 'topk', 'kthvalue', 'median', 'nanmedian', 'mode',
           'unique', 'unique_consecutive', 'searchsorted', 'bucketize', 'histc', 'bincount',
           'cummax', 'cummin', 'logcumsumexp', 'diff', 'count_nonzero', 'multinomial']

# torch.return_types: named (values, indices) pairs
_RESULTS = {n: collections.namedtuple(n, ['values', 'indices'])
            for n in ('sort', 'topk', 'kthvalue', 'median', 'nanmedian', 'mode', 'cummax',
                      'cummin')}


# ---------------------------------------------------------------- taking values at positions

def _along(xp, idx, axis):
    """The advanced index of the positions ``idx`` names along ``axis`` (all others as they
    are)."""
    return tuple(idx if k == axis else xp.arange(s).reshape((-1,) + (1,) * (idx.ndim - k - 1))
                 for k, s in enumerate(idx.shape))


class TakeAlong(Op):
    """``x``'s values at positions ``idx`` along ``axis`` (the values of sort, topk, cummax...);
    the gradient goes back to those positions."""

    def forward(ctx, x, idx, axis):
        ctx.shape, ctx.idx, ctx.axis = x.shape, idx, axis
        return ctx.xp.take_along_axis(x, idx, axis)

    def backward(ctx, g):
        return PutAlong.apply(g, idx=ctx.idx, axis=ctx.axis, shape=ctx.shape)


class PutAlong(Op):
    """Zeros of ``shape`` with ``g`` added at ``idx`` along ``axis``, repeated positions adding
    up (cummax's do): the gradient of ``TakeAlong``, whose own gradient is ``TakeAlong``."""

    def forward(ctx, g, idx, axis, shape):
        ctx.idx, ctx.axis = idx, axis
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        _scatter_add(ctx.xp, out, _along(ctx.xp, idx, axis), g)
        return out

    def backward(ctx, gg):
        return TakeAlong.apply(gg, idx=ctx.idx, axis=ctx.axis)


def _input(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def _rows(x, dim, op):
    """(axis, x's array viewed as at least 1-d) for an op along ``dim``."""
    axis = _wrap_dim(dim, _input(x, op).ndim, op)
    return axis, (x._data.reshape(1) if x.ndim == 0 else x._data)


def _pick(x, idx, axis, keepdim, name):
    """``(values, indices)`` of ``x`` at ``idx`` (an int64 array, ``axis`` kept)."""
    values = TakeAlong.apply(x.reshape(1) if x.ndim == 0 else x, idx=idx, axis=axis)
    indices = _const(idx)
    if x.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    elif not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return _RESULTS[name](values, indices)


def _isnan(xp, a):
    return xp.isnan(a) if a.dtype.kind == 'f' else xp.zeros(a.shape, dtype=bool)


def _order(xp, a, axis, descending=False):
    """Positions that sort ``a`` along ``axis``, stably (equal values keep their order, as
    torch's CPU sort); NaN is the largest value."""
    if not descending:
        return xp.argsort(a, axis=axis, kind='stable').astype(xp.int64, copy=False)
    # stable and descending: sort the reversed array, reverse the order, map positions back
    r = xp.flip(xp.argsort(xp.flip(a, axis), axis=axis, kind='stable'), axis)
    return (a.shape[axis] - 1 - r).astype(xp.int64, copy=False)


def _first(order, axis, k, start=0):
    return order[(builtins.slice(None),) * axis + (builtins.slice(start, start + k),)]


def _kth(xp, a, axis, k):
    """The position of the ``k``-th smallest (from 0) along ``axis``, kept, in O(n); of tied
    values any one (torch leaves it open too)."""
    return _first(xp.argpartition(a, k, axis=axis), axis, 1, k).astype(xp.int64, copy=False)


# ---------------------------------------------------------------- sort and friends

@method('sort')
def sort(input, dim=-1, descending=False, *, stable=False):
    """Sorted values along ``dim`` and their positions, ``(values, indices)``. The sort is
    stable whatever ``stable`` says (as torch's on the CPU); NaN sorts last (first when
    ``descending``). The gradient goes back to each value's position.

    >>> ember.tensor([3.0, 1.0, 2.0]).sort()
    sort(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
    >>> ember.sort(ember.tensor([[1, 3, 1]]), descending=True).indices
    tensor([[1, 0, 2]])
    """
    axis, a = _rows(input, dim, 'sort')
    return _pick(input, _order(get_xp(input), a, axis, descending), axis, True, 'sort')


@method('argsort')
def argsort(input, dim=-1, descending=False, *, stable=False):
    """The positions that sort ``input`` along ``dim`` (int64); stable, as ``sort``.

    >>> ember.tensor([3.0, 1.0, 2.0]).argsort(descending=True)
    tensor([0, 2, 1])
    """
    axis, a = _rows(input, dim, 'argsort')
    return _const(_order(get_xp(input), a, axis, descending)).reshape(input.shape)


@method('msort')
def msort(input):
    """``sort(input, dim=0).values``.

    >>> ember.msort(ember.tensor([[2.0, 1.0], [0.0, 3.0]]))
    tensor([[0., 1.],
            [2., 3.]])
    """
    return sort(input, 0).values


@method('topk')
def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (``largest=False``: smallest) values along ``dim`` and their
    positions, in order; ``sorted=False`` gives them in that order too (torch leaves it
    open). NaN counts as the largest value.

    >>> ember.tensor([1.0, 5.0, 3.0, 4.0]).topk(2)
    topk(values=tensor([5., 4.]), indices=tensor([1, 3]))
    >>> ember.topk(ember.tensor([1.0, 5.0, 3.0]), 1, largest=False).values
    tensor([1.])
    """
    axis, a = _rows(input, dim, 'topk')
    if not 0 <= k <= a.shape[axis]:
        raise RuntimeError(f'topk: selected index k out of range: k={k} for dimension {axis} '
                           f'of size {a.shape[axis]} (input {tuple(input.shape)})')
    xp, n = get_xp(input), a.shape[axis]
    if not 0 < k < n:
        return _pick(input, _first(_order(xp, a, axis, largest), axis, k), axis, True, 'topk')
    # the k candidates first, in O(n); then only they are sorted
    cand = _first(xp.argpartition(a, n - k if largest else k - 1, axis=axis), axis, k,
                  n - k if largest else 0)
    order = _order(xp, xp.take_along_axis(a, cand, axis), axis, largest)
    return _pick(input, xp.take_along_axis(cand, order, axis).astype(xp.int64, copy=False),
                 axis, True, 'topk')


@method('kthvalue')
def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest value along ``dim`` (``k`` counts from 1) and its position.

    >>> ember.tensor([[4.0, 1.0, 3.0]]).kthvalue(2, 1)
    kthvalue(values=tensor([3.]), indices=tensor([2]))
    """
    axis, a = _rows(input, dim, 'kthvalue')
    if not 1 <= k <= a.shape[axis]:
        raise RuntimeError(f'kthvalue(): selected number k={k} out of range for dimension '
                           f'{axis} of size {a.shape[axis]} (input {tuple(input.shape)})')
    return _pick(input, _kth(get_xp(input), a, axis, k - 1), axis, keepdim, 'kthvalue')


# ---------------------------------------------------------------- medians and mode

class Median(Op):
    """The lower median of all elements (``skip_nan``: of the non-NaN ones; otherwise NaN if
    there is one)."""
    save = (0,)
    save_output = True

    def forward(ctx, x, skip_nan):
        xp = ctx.xp
        a = xp.sort(x.reshape(-1))   # NaN last
        n, nans = a.size, int(_isnan(xp, a).sum())
        if (nans and not skip_nan) or nans == n:
            return xp.full((), xp.nan, dtype=x.dtype)
        return a[(n - nans - 1) // 2]

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        xp, xa, o = ctx.xp, x._data, out._data
        # NOTE: tied medians share the gradient evenly (NaN: every NaN), as torch's median()
        hit = (xa == o) | (xp.isnan(xa) & xp.isnan(o))
        share = hit / hit.sum()
        return g * _const(share.astype(xa.dtype))


def _median(input, dim, keepdim, op, skip_nan):
    if dim is None:
        if input.numel() == 0 and not input.dtype.is_floating_point:
            raise RuntimeError(f'{op}(): an empty {input.dtype.name} tensor has no median '
                               f'(input {tuple(input.shape)})')
        return Median.apply(input, skip_nan=skip_nan)
    axis, a = _rows(input, dim, op)
    _check_nonempty(input, (axis,) if input.ndim else (), op)
    xp = get_xp(input)
    nan = _isnan(xp, a)
    if skip_nan:   # the middle of the non-NaN values, which sort first
        k = xp.maximum((a.shape[axis] - nan.sum(axis, keepdims=True) - 1) // 2, 0)
        idx = xp.take_along_axis(_order(xp, a, axis), k.astype(xp.int64), axis)
    else:          # a row with NaN: its first NaN
        idx = xp.where(nan.any(axis, keepdims=True), xp.argmax(nan, axis, keepdims=True),
                       _kth(xp, a, axis, (a.shape[axis] - 1) // 2))
    return _pick(input, idx.astype(xp.int64, copy=False), axis, keepdim, op)


@method('median')
def median(input, dim=None, keepdim=False):
    """The lower median (of an even count, the smaller of the two middle values): of all
    elements (a 0-d tensor; NaN if there is one), or ``(values, indices)`` along ``dim``.
    Tied medians of all elements share the gradient evenly, as in torch.

    >>> ember.tensor([4.0, 1.0, 3.0, 2.0]).median()
    tensor(2.)
    >>> ember.tensor([[4.0, 1.0, 3.0]]).median(1)
    median(values=tensor([3.]), indices=tensor([2]))
    """
    return _median(_input(input, 'median'), dim, keepdim, 'median', False)


@method('nanmedian')
def nanmedian(input, dim=None, keepdim=False):
    """``median`` of the values that are not NaN (NaN where all are).

    >>> ember.tensor([1.0, float('nan'), 3.0, 2.0]).nanmedian()
    tensor(2.)
    """
    return _median(_input(input, 'nanmedian'), dim, keepdim, 'nanmedian', True)


@method('mode')
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (of equally frequent ones, the smallest) and the
    position of its last occurrence, as torch's CPU mode. Each NaN counts as a value of its own.

    >>> ember.tensor([[1.0, 2.0, 2.0, 1.0, 3.0]]).mode()
    mode(values=tensor([1.]), indices=tensor([3]))
    """
    axis, a = _rows(input, dim, 'mode')
    _check_nonempty(input, (axis,) if input.ndim else (), 'mode')
    xp = get_xp(input)
    order = _order(xp, a, axis)
    s = xp.moveaxis(xp.take_along_axis(a, order, axis), axis, -1)
    n = s.shape[-1]
    start = xp.ones(s.shape, dtype=bool)
    start[..., 1:] = s[..., 1:] != s[..., :-1]
    pos = xp.arange(n)
    first = xp.maximum.accumulate(xp.where(start, pos, 0), axis=-1)
    end = xp.ones(s.shape, dtype=bool)
    end[..., :-1] = start[..., 1:]
    # the end of the longest run of equal sorted values (the first such: the smallest value);
    # a stable sort puts its last occurrence there
    best = xp.argmax(xp.where(end, pos - first + 1, 0), axis=-1)[..., None]
    idx = xp.take_along_axis(order, xp.moveaxis(best, -1, axis), axis)
    return _pick(input, idx, axis, keepdim, 'mode')


# ---------------------------------------------------------------- unique

def _unique_result(xp, values, inverse, counts, return_inverse, return_counts):
    out = [_const(values)]
    if return_inverse:
        out.append(_const(inverse.astype(xp.int64, copy=False)))
    if return_counts:
        out.append(_const(counts.astype(xp.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


@method('unique')
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (with ``dim``: distinct slices along it), sorted; with
    ``return_inverse`` each element's position among them, with ``return_counts`` how often
    each occurs. ``sorted=False`` sorts too (torch leaves the order open). Each NaN is distinct,
    as in torch. No gradient.

    >>> ember.tensor([3, 1, 3, 2]).unique(return_inverse=True, return_counts=True)
    (tensor([1, 2, 3]), tensor([2, 0, 2, 1]), tensor([1, 1, 2]))
    >>> ember.unique(ember.tensor([[1, 2], [1, 2], [0, 5]]), dim=0)
    tensor([[0, 5],
            [1, 2]])
    """
    xp = get_xp(_input(input, 'unique'))
    a = input._data
    if dim is None:
        v, inv, cnt = xp.unique(a.reshape(-1), return_inverse=True, return_counts=True,
                                equal_nan=False)
        inv = inv.reshape(a.shape)
    else:
        axis = _wrap_dim(dim, input.ndim, 'unique')
        v, inv, cnt = xp.unique(a, return_inverse=True, return_counts=True, axis=axis)
        inv = inv.reshape(-1)
    return _unique_result(xp, v, inv, cnt, return_inverse, return_counts)


@method('unique_consecutive')
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """The first element of each run of equal consecutive elements (with ``dim``: of equal
    consecutive slices); ``return_inverse`` and ``return_counts`` as in ``unique``.

    >>> ember.tensor([1, 1, 2, 2, 1]).unique_consecutive(return_counts=True)
    (tensor([1, 2, 1]), tensor([2, 2, 1]))
    """
    xp = get_xp(_input(input, 'unique_consecutive'))
    a = input._data
    axis = 0 if dim is None else _wrap_dim(dim, input.ndim, 'unique_consecutive')
    rows = a.reshape(-1) if dim is None else xp.moveaxis(a, axis, 0)
    n = rows.shape[0] if rows.ndim else 1
    start = xp.ones(n, dtype=bool)
    if n > 1:
        step = rows[1:] != rows[:-1]
        start[1:] = step if step.ndim == 1 else step.reshape(n - 1, -1).any(axis=1)
    keep = xp.flatnonzero(start)
    values = rows[keep] if dim is None else xp.take(a, keep, axis=axis)
    inverse = xp.cumsum(start) - 1
    counts = xp.diff(xp.concatenate([keep, xp.asarray([n], dtype=keep.dtype)]))
    if dim is None:
        inverse = inverse.reshape(a.shape)
    return _unique_result(xp, values, inverse, counts, return_inverse, return_counts)


# ---------------------------------------------------------------- searching and counting

def _side(right, side, op):
    if side is None:
        return 'right' if right else 'left'
    if side not in ('left', 'right'):
        raise RuntimeError(f"{op}(): side can only be 'left' or 'right' but got {side!r}")
    if right and side == 'left':
        raise RuntimeError(f"{op}(): side and right can't be set to opposites, got side of "
                           f'left while right was True')
    return side


def _bisect(xp, s, v, right):
    """Each row of ``v``'s positions in the same row of ``s``, by torch's binary search, all
    at once: a step goes right unless ``s[mid] >= v`` (``right``: ``s[mid] > v``), so a NaN
    (every comparison false) goes right, as in torch, where NumPy counts NaN as largest."""
    n = s.shape[-1]
    lo = xp.zeros(v.shape, dtype=xp.int64)
    hi = xp.full(v.shape, n, dtype=xp.int64)
    for _ in range(n.bit_length()):
        mid = (lo + hi) >> 1
        at = xp.take_along_axis(s, xp.minimum(mid, n - 1), -1)
        go = ~(at > v) if right else ~(at >= v)
        live = lo < hi
        lo, hi = xp.where(live & go, mid + 1, lo), xp.where(live & ~go, mid, hi)
    return lo


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Where each value of ``input`` would go in ``sorted_sequence`` (sorted along its last
    dimension) to keep it sorted: the first such position, or the last with ``right=True``
    (``side='right'``). A 1-d sequence serves every value; otherwise its leading dimensions
    match ``input``'s. ``sorter`` gives positions that sort an unsorted sequence.

    >>> ember.searchsorted(ember.tensor([1, 3, 5, 7]), ember.tensor([3, 6]))
    tensor([1, 3])
    >>> ember.searchsorted(ember.tensor([1, 3, 5, 7]), ember.tensor([3, 6]), right=True)
    tensor([2, 3])
    """
    seq = _input(sorted_sequence, 'searchsorted')
    side = _side(right, side, 'searchsorted')
    xp = get_xp(seq)
    scalar = not isinstance(input, Tensor)
    v = xp.asarray(input) if scalar else input._data
    s = seq._data
    if sorter is not None:
        if tuple(sorter.shape) != tuple(seq.shape):
            raise RuntimeError(f'searchsorted(): boundary and sorter must have the same size, '
                               f'but got boundary {tuple(seq.shape)} and sorter '
                               f'{tuple(sorter.shape)}')
        s = xp.take_along_axis(s, sorter._data.astype(xp.int64), -1)
    if s.ndim == 0:
        raise RuntimeError('searchsorted(): boundaries tensor should have positive dimension, '
                           'but got 0 dimension')
    if s.ndim > 1 and (scalar or v.ndim != s.ndim or v.shape[:-1] != s.shape[:-1]):
        raise RuntimeError(f'searchsorted(): boundaries tensor should be 1 dimension or the '
                           f'first N-1 dimensions of boundaries tensor and input value '
                           f'tensor must match, but we got boundaries tensor '
                           f'{list(s.shape)} and input value tensor {list(v.shape)}')
    rows = s.reshape(math.prod(s.shape[:-1]), s.shape[-1])
    vals = v.reshape(rows.shape[0], v.shape[-1]) if s.ndim > 1 else v.reshape(1, v.size)
    out = _bisect(xp, rows, vals, side == 'right')
    return _const(out.reshape(v.shape).astype(xp.int32 if out_int32 else xp.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value: ``i`` such that ``boundaries[i-1] < x <= boundaries[i]``
    (``right=True``: ``boundaries[i-1] <= x < boundaries[i]``); ``boundaries`` is 1-d and
    sorted.

    >>> ember.bucketize(ember.tensor([0.5, 3.0, 9.0]), ember.tensor([1.0, 3.0, 5.0]))
    tensor([0, 1, 3])
    """
    b = _input(boundaries, 'bucketize')
    if b.ndim != 1:
        raise RuntimeError(f'bucketize(): boundaries tensor must be 1 dimension, but got '
                           f'dim({b.ndim}) (shape {tuple(b.shape)})')
    return searchsorted(b, input, out_int32=out_int32, right=right)


@method('histc')
def histc(input, bins=100, min=0, max=0):
    """A histogram of ``bins`` equal bins over ``[min, max]`` (both 0: the data's range);
    values outside are left out, the last bin includes ``max``. Floating-point input; no
    gradient.

    >>> ember.tensor([1.0, 2.0, 1.0, 4.0]).histc(bins=4, min=0, max=4)
    tensor([0., 2., 1., 1.])
    """
    x = _input(input, 'histc')
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f'histc(): expected a floating-point input, got '
                                  f'{x.dtype.name} (shape {tuple(x.shape)})')
    if bins <= 0:
        raise RuntimeError(f'histc(): bins must be > 0, but got {bins}')
    xp, a = get_xp(x), x._data.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f'histc(): max must be larger than min (min={min}, max={max})')
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f'histc(): range of [{lo}, {hi}] is not finite')
    # in the input's dtype, as torch computes the bin: (x - lo) * bins / (hi - lo)
    lo, hi = xp.asarray(lo, dtype=a.dtype), xp.asarray(hi, dtype=a.dtype)
    a = a[(a >= lo) & (a <= hi)]
    pos = ((a - lo) * a.dtype.type(bins) / (hi - lo)).astype(xp.int64)
    pos = xp.minimum(pos, bins - 1)
    return _const(xp.bincount(pos, minlength=bins).astype(a.dtype))


@method('bincount')
def bincount(input, weights=None, minlength=0):
    """How often each value 0, 1, ... occurs in a 1-d tensor of non-negative integers (at
    least ``minlength`` bins); with ``weights``, the sum of each value's weights (float32 for
    float32 weights, else float64). No gradient.

    >>> ember.tensor([0, 1, 1, 3]).bincount()
    tensor([1, 2, 0, 1])
    >>> ember.bincount(ember.tensor([0, 1, 1]), ember.tensor([0.5, 1.0, 2.0]))
    tensor([0.5000, 3.0000])
    """
    x = _input(input, 'bincount')
    xp = get_xp(x)
    if x.ndim != 1 or x.dtype.is_floating_point or x.dtype.name == 'bool' or \
            (x.numel() and int(x._data.min()) < 0):
        raise RuntimeError(f'bincount(): only supports 1-d non-negative integral inputs, got '
                           f'{x.dtype.name} of shape {tuple(x.shape)}')
    if minlength < 0:
        raise RuntimeError(f'bincount(): minlength should be >= 0, got {minlength}')
    if weights is None:
        return _const(xp.bincount(x._data, minlength=minlength).astype(xp.int64))
    if not isinstance(weights, Tensor) or weights.ndim != 1 or weights.shape[0] != x.shape[0]:
        raise RuntimeError(f'bincount(): weights should be 1-d and have the same length as '
                           f'input (input {tuple(x.shape)}, weights '
                           f'{tuple(getattr(weights, "shape", ()))})')
    dt = xp.float32 if weights.dtype.name == 'float32' else xp.float64
    out = xp.bincount(x._data, weights=weights._data.astype(xp.float64), minlength=minlength)
    return _const(out.astype(dt))


@method('count_nonzero')
def count_nonzero(input, dim=None):
    """How many elements are not zero, over ``dim`` (an int, a tuple, or all); int64.

    >>> ember.tensor([[0.0, 1.0], [2.0, 3.0]]).count_nonzero(0)
    tensor([1, 2])
    """
    return (_input(input, 'count_nonzero') != 0).sum(dims(dim, input.ndim, 'count_nonzero'))


# ---------------------------------------------------------------- cumulative

def _running(input, dim, name, fn):
    axis, a = _rows(input, dim, name)
    xp = get_xp(input)
    v = getattr(xp, fn).accumulate(a, axis=axis)   # NaN carries on
    # where an element sets the running extreme: it equals it (ties: the later one, as
    # torch's CPU cummax/cummin), or it is NaN
    hit = (a == v) | _isnan(xp, a)
    pos = xp.arange(a.shape[axis]).reshape((-1,) + (1,) * (a.ndim - axis - 1))
    idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=axis) if a.size else \
        xp.zeros(a.shape, dtype=xp.int64)
    return _pick(input, idx.astype(xp.int64, copy=False), axis, True, name)


@method('cummax')
def cummax(input, dim):
    """The running maximum along ``dim`` and where it was found: of equal maxima the last,
    as torch's CPU cummax; from a NaN on, NaN. The gradient goes to those positions.

    >>> ember.tensor([1.0, 3.0, 2.0, 3.0]).cummax(0)
    cummax(values=tensor([1., 3., 3., 3.]), indices=tensor([0, 1, 1, 3]))
    """
    return _running(input, dim, 'cummax', 'maximum')


@method('cummin')
def cummin(input, dim):
    """The running minimum along ``dim`` and where it was found; see ``cummax``.

    >>> ember.tensor([2.0, 1.0, 3.0]).cummin(0)
    cummin(values=tensor([2., 1., 1.]), indices=tensor([0, 1, 1]))
    """
    return _running(input, dim, 'cummin', 'minimum')


class Logcumsumexp(Op):
    save = (0,)
    save_output = True

    def forward(ctx, x, axis):
        ctx.axis = axis
        return ctx.xp.logaddexp.accumulate(x.reshape(x.shape or (1,)), axis=axis).reshape(
            x.shape)

    def backward(ctx, g):
        # torch's formula, in logcumsumexp itself (so it has a gradient again): the gradient
        # sum_{k >= i} g_k exp(x_i - out_k), its positive and negative parts each as a
        # reversed logcumsumexp of log|g| - out
        x, out = ctx.saved_tensors
        if x.ndim == 0:
            return g
        ax, low = ctx.axis, float(np.finfo(x._data.dtype).min)
        log_g = log(abs(g))

        def part(mask):
            rev = Logcumsumexp.apply(where(mask, log_g, low).flip(ax) - out.flip(ax), axis=ax)
            return exp(rev.flip(ax) + x)
        return part(g > 0) - part(g < 0)


@method('logcumsumexp')
def logcumsumexp(input, dim):
    """``log(cumsum(exp(x)))`` along ``dim``, computed stably. Floating-point input.

    >>> ember.tensor([0.0, 0.0, 1000.0]).logcumsumexp(0)
    tensor([   0.0000,    0.6931, 1000.0000])
    """
    x = _input(input, 'logcumsumexp')
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f'logcumsumexp(): expected a floating-point input, got '
                                  f'{x.dtype.name} (shape {tuple(x.shape)})')
    return Logcumsumexp.apply(x, axis=_wrap_dim(dim, x.ndim, 'logcumsumexp'))


@method('diff')
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim``, ``x[i + 1] - x[i]`` applied ``n`` times
    (for bools, ``x[i + 1] != x[i]``), after joining ``prepend`` and ``append`` on.

    >>> ember.tensor([1, 4, 9, 16]).diff()
    tensor([3, 5, 7])
    >>> ember.diff(ember.tensor([1.0, 4.0, 9.0]), n=2, prepend=ember.tensor([0.0]))
    tensor([2., 2.])
    """
    x = _input(input, 'diff')
    if x.ndim == 0:
        raise RuntimeError('diff(): expects input to be at least one-dimensional')
    if n < 0:
        raise RuntimeError(f'diff(): order must be non-negative but got {n}')
    axis = _wrap_dim(dim, x.ndim, 'diff')
    for name, t in (('prepend', prepend), ('append', append)):
        if t is not None and (not isinstance(t, Tensor) or t.ndim != x.ndim):
            raise RuntimeError(f'diff(): expects {name} to be a tensor of the same dimension '
                               f'as input {tuple(x.shape)}, got {tuple(getattr(t, "shape", ()))}')
    if prepend is not None or append is not None:
        x = cat([t for t in (prepend, x, append) if t is not None], axis)
    for _ in range(n):
        m = x.shape[axis]
        if m == 0:
            break
        hi, lo = x.narrow(axis, 1, m - 1), x.narrow(axis, 0, m - 1)
        x = hi != lo if x.dtype.name == 'bool' else hi - lo
    return x


# ---------------------------------------------------------------- sampling

@method('multinomial')
def multinomial(input, num_samples, replacement=False, *, generator=None):
    """``num_samples`` category indices for each row of probabilities (weights: they need not
    sum to 1), drawn with or without replacement from ember's seeded generator (``generator``,
    or the default one). Without replacement a row never repeats an index.

    >>> _ = ember.manual_seed(0)
    >>> ember.multinomial(ember.tensor([0.0, 1.0, 0.0]), 2, replacement=True)
    tensor([1, 1])
    >>> sorted(ember.tensor([1.0, 2.0, 3.0]).multinomial(3).tolist())
    [0, 1, 2]
    """
    x = _input(input, 'multinomial')
    if x.ndim not in (1, 2):
        raise RuntimeError(f'multinomial(): prob_dist must be 1 or 2 dim, got shape '
                           f'{tuple(x.shape)}')
    if not x.dtype.is_floating_point:
        raise RuntimeError(f'multinomial(): only supports floating-point dtypes for input, '
                           f'got: {x.dtype.name}')
    n = x.shape[-1]
    if num_samples <= 0:
        raise RuntimeError(f'multinomial(): cannot sample n_sample <= 0 samples, got '
                           f'{num_samples}')
    if not replacement and num_samples > n:
        raise RuntimeError(f'multinomial(): cannot sample n_sample > prob_dist.size(-1) '
                           f'samples without replacement ({num_samples} > {n})')
    p = np.asarray(host(x._data), dtype=np.float64).reshape(-1, n)
    if not (np.isfinite(p).all() and (p >= 0).all()):
        raise RuntimeError('multinomial(): probability tensor contains either `inf`, `nan` or '
                           'element < 0')
    if n == 0 or (p.sum(axis=1) <= 0).any():
        raise RuntimeError('multinomial(): invalid multinomial distribution (sum of '
                           'probabilities <= 0)')
    rng = _random._gen(generator)
    if replacement:   # inverse CDF; the CDF ends in exactly 1, so u < 1 never runs past it
        cdf = np.cumsum(p, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random((p.shape[0], num_samples))
        out = np.stack([np.searchsorted(c, r, side='right') for c, r in zip(cdf, u)])
    else:   # exponential race: the order of E_j / p_j is sequential sampling without replacement
        with np.errstate(divide='ignore'):
            keys = rng.exponential(size=p.shape) / p
        out = np.argsort(keys, axis=1, kind='stable')[:, :num_samples]
    out = np.minimum(out, n - 1).reshape(tuple(x.shape[:-1]) + (num_samples,))
    return _random._out(out, 'int64', x.device, False, float_only=False)
