"""Everyday ops PyTorch users reach for that ember lacked: ``scatter_reduce`` (and ``scatter``'s
``reduce=``), ``nansum``, ``nanmean``, ``rot90``, ``bernoulli``.

``ScatterReduce`` is the one primitive: its forward reduces ``src`` into a copy of ``input``
with ``ufunc.at`` (repeated positions combine), its backward is torch's rule for each reduction
written in ember ops (gather, scatter_add and scatter_reduce itself), so gradients of gradients
follow torch's.
"""
import numpy as np

from .._dtype import bool_
from .._tensor import Tensor, _wrap_dim, method
from ..autograd import Op
from ..backend import scatter_add as _scatter_add
from .index import _check_index, _part, _positions, where
from .movement import flip

__all__ = ['scatter_reduce', 'nansum', 'nanmean', 'rot90', 'bernoulli']

_UFUNC = {'sum': 'add', 'mean': 'add', 'prod': 'multiply', 'amax': 'maximum',
          'amin': 'minimum'}


def _identity(reduce, dtype):
    """The value a reduction starts from (what ``include_self=False`` puts in ``input``)."""
    if reduce in ('sum', 'mean'):
        return 0
    if reduce == 'prod':
        return 1
    big = np.inf if dtype.kind == 'f' else True if dtype.kind == 'b' else np.iinfo(dtype).max
    lo = -np.inf if dtype.kind == 'f' else False if dtype.kind == 'b' else np.iinfo(dtype).min
    return lo if reduce == 'amax' else big


def _reduce_at(xp, name, out, idx, values):
    """``out[idx] = name(out[idx], values)`` with repeated positions combining, in place."""
    if name == 'add':
        _scatter_add(xp, out, idx, values)
    elif xp is np:
        getattr(np, name).at(out, idx, values)
    else:   # CuPy has no ufunc.at: one round per repeat, each position once a round
        flat = xp.ravel_multi_index(xp.broadcast_arrays(*idx), out.shape).reshape(-1)
        vals, view = values.reshape(-1), out.reshape(-1)
        while flat.size:
            u, first = xp.unique(flat, return_index=True)
            view[u] = getattr(xp, name)(view[u], vals[first])
            rest = xp.ones(flat.size, dtype=bool)
            rest[first] = False
            flat, vals = flat[rest], vals[rest]


class ScatterReduce(Op):
    save = (0, 1)
    save_output = True

    def forward(ctx, x, src, dim, index, reduce, include_self):
        ctx.dim, ctx.index, ctx.reduce, ctx.include_self = dim, index, reduce, include_self
        xp, idx = ctx.xp, _positions(index, dim)
        out = x.copy()
        if not include_self:
            out[idx] = _identity(reduce, x.dtype)
        _reduce_at(xp, _UFUNC[reduce], out, idx, src)
        if reduce == 'mean':
            n = xp.full(x.shape, 1 if include_self else 0, dtype=np.int64)
            _scatter_add(xp, n, idx, xp.ones(index.shape, dtype=np.int64))
            n = xp.maximum(n, 1)
            out = out // n if x.dtype.kind in 'iub' else out / n.astype(x.dtype)
        return out.astype(x.dtype, copy=False)

    def backward(ctx, g):
        x, src, out = ctx.saved_tensors
        d, index, reduce, keep = ctx.dim, ctx.index, ctx.reduce, ctx.include_self
        if reduce == 'sum':
            gx, gs = g, g.gather(d, index)
        elif reduce == 'mean':
            n = (g.new_ones(g.shape) if keep else g.new_zeros(g.shape)).scatter_add(
                d, index, src.new_ones(src.shape))
            n = n.masked_fill(n == 0, 1)
            gx, gs = g / n, g.gather(d, index) / n.gather(d, index)
        elif reduce == 'prod':   # torch's rule: zeros in input or src get exclusive products
            mx = x.masked_fill(x == 0, 1)
            gx = g * scatter_reduce(mx, d, index, src, 'prod', include_self=keep) / mx
            zero = src == 0
            nz = x.new_zeros(x.shape).scatter_add(d, index, zero.to(x.dtype)).gather(d, index)
            single = zero & (nz == 1)
            r = scatter_reduce(x, d, index, src.masked_fill(single, 1), 'prod', include_self=keep)
            gs = where(single, (g * r).gather(d, index),
                       (g * out).gather(d, index) / src.masked_fill(zero, 1))
        else:   # NOTE: ties share the gradient evenly, as torch's amax/amin rule
            hit_x = (x == out).to(x.dtype)
            hit_s = (src == out.gather(d, index)).to(x.dtype)
            share = g / hit_x.scatter_add(d, index, hit_s)
            gx, gs = hit_x * share, hit_s * share.gather(d, index)
        if not keep:
            gx = gx.masked_fill(x.new_zeros(x.shape, dtype=bool_).scatter(d, index, True), 0)
        return gx, gs


class ScatterLegacy(ScatterReduce):
    """``scatter(..., reduce=)``: torch's has no derivative, so backward raises as torch's."""

    def backward(ctx, g):
        raise RuntimeError('the derivative for scatter with reduce= is not implemented (as in '
                           'torch); use scatter_reduce, which has one')


def _reduce_into(cls, op, input, dim, index, src, reduce, include_self):
    if isinstance(src, Tensor) and src.dtype is not input.dtype:
        raise RuntimeError(f'{op}(): Expected self.dtype to be equal to src.dtype (got '
                           f'{input.dtype} and {src.dtype})')
    d = _check_index(op, input, dim, index, src)
    if input.ndim == 0:
        return cls.apply(input.reshape(1), src.reshape(1), dim=0, index=index.reshape(1),
                         reduce=reduce, include_self=include_self).reshape(())
    return cls.apply(input, _part(src, index), dim=d, index=index, reduce=reduce,
                     include_self=include_self)


@method('scatter_reduce')
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """A copy of ``input`` with ``src[i][j]`` reduced into ``[index[i][j]][j]`` for ``dim=0``
    (likewise for other dims) by ``reduce``: ``'sum'``, ``'prod'``, ``'mean'``, ``'amax'`` or
    ``'amin'``. With ``include_self=False`` the positions ``index`` names start from ``src``'s
    values alone. Differentiable for every reduction, as torch (ties in amax/amin share the
    gradient); integer ``'mean'`` rounds down.

    >>> x = ember.tensor([1.0, 2.0, 3.0])
    >>> x.scatter_reduce(0, ember.tensor([0, 0, 2]), ember.tensor([5.0, 6.0, 7.0]), 'amax')
    tensor([6., 2., 7.])
    >>> x.scatter_reduce(0, ember.tensor([0, 0]), ember.tensor([4.0, 6.0]), 'mean',
    ...                  include_self=False)
    tensor([5., 2., 3.])
    """
    reduce = {'max': 'amax', 'min': 'amin'}.get(reduce, reduce)   # (torch takes these too)
    if reduce not in _UFUNC:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if not isinstance(src, Tensor):
        raise TypeError(f'scatter_reduce(): argument src must be a Tensor, not '
                        f'{type(src).__name__}')
    return _reduce_into(ScatterReduce, 'scatter_reduce', input, dim, index, src, reduce,
                        include_self)


@method('scatter_reduce_')
def scatter_reduce_(input, dim, index, src, reduce, *, include_self=True):
    """In-place ``scatter_reduce``.

    >>> ember.ones(3).scatter_reduce_(0, ember.tensor([1, 1]), ember.tensor([2.0, 3.0]), 'prod')
    tensor([1., 6., 1.])
    """
    return input._inplace('scatter_reduce_', lambda s, v: scatter_reduce(
        s, dim, index, v, reduce, include_self=include_self), src)


def scatter_with_reduce(input, dim, index, src, reduce):
    """``scatter(input, dim, index, src, reduce=)``: ``'add'`` or ``'multiply'`` the values
    in (``src`` a tensor or a number); torch has no gradient for it."""
    if reduce not in ('add', 'multiply'):
        raise RuntimeError('reduce argument must be either add or multiply.')
    if not isinstance(src, Tensor):
        src = input.new_full(tuple(index.shape), src)
    return _reduce_into(ScatterLegacy, 'scatter', input, dim, index, src,
                        'sum' if reduce == 'add' else 'prod', True)


# ---------------------------------------------------------------- NaN-skipping reductions

class NanToZero(Op):
    """NaN replaced by 0; the gradient is ``g`` times the not-NaN mask, as torch's nansum (so
    an infinite or NaN ``g`` gives NaN at a NaN, where ``where`` would give 0)."""

    def forward(ctx, x):
        ctx.keep = ctx.xp.asarray(~ctx.xp.isnan(x))
        return ctx.xp.where(ctx.keep, x, 0).astype(x.dtype, copy=False)

    def backward(ctx, g):
        return g * Tensor._make(ctx.keep.astype(g._data.dtype))


@method('nansum')
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """``sum`` treating NaN as zero (its gradient there is zero).

    >>> ember.tensor([1.0, float('nan'), 2.0]).nansum()
    tensor(3.)
    """
    if not (input.dtype.is_floating_point or dtype is not None):
        return input.sum(dim, keepdim=keepdim)
    x = input if dtype is None else input.to(dtype)
    return NanToZero.apply(x).sum(dim, keepdim=keepdim)


@method('nanmean')
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """``mean`` over the elements that are not NaN (NaN where all are).

    >>> ember.tensor([[1.0, float('nan')], [3.0, 5.0]]).nanmean(1)
    tensor([1., 4.])
    """
    if not input.dtype.is_floating_point:   # (even with a float dtype=, as torch)
        raise RuntimeError(f'nanmean(): expected input to have floating point dtype but got '
                           f'{input.dtype}')
    x = input if dtype is None else input.to(dtype)
    count = (~x.isnan()).sum(dim, keepdim=keepdim)
    return nansum(x, dim, keepdim=keepdim) / count


# ---------------------------------------------------------------- rot90

@method('rot90')
def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first toward the
    second (a view-free copy, as torch).

    >>> ember.tensor([[1, 2], [3, 4]]).rot90()
    tensor([[2, 4],
            [1, 3]])
    """
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f'expected total rotation dims == 2, but got dims = {len(dims)}')
    if input.ndim < 2:
        raise RuntimeError(f'expected total dims >= 2, but got total dims = {input.ndim}')
    a, b = (_wrap_dim(d, input.ndim, 'rot90') for d in dims)
    if a == b:
        raise RuntimeError(f'expected rotation dims to be different, but got dim0 = {a} and '
                           f'dim1 = {b}')
    k %= 4
    if k == 1:
        return flip(input, [b]).transpose(a, b)
    if k == 2:
        return flip(input, [a, b])
    if k == 3:
        return flip(input, [a]).transpose(a, b)
    return input.clone()


# ---------------------------------------------------------------- bernoulli

@method('bernoulli')
def bernoulli(input, p=None, *, generator=None):
    """Draws 0 or 1 for each element, 1 with probability ``input`` (or ``p``); the result has
    ``input``'s shape and dtype and no gradient.

    >>> _ = ember.manual_seed(0)
    >>> ember.bernoulli(ember.tensor([0.0, 1.0, 1.0]))
    tensor([0., 1., 1.])
    """
    out = input.detach().clone()
    return out.bernoulli_(input.detach() if p is None else p, generator=generator)

