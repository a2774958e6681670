"""Reductions: sum, mean, var, prod, max, norm, cumsum and friends, over one dimension, a tuple
of them, or everything.

Each reduction is a small ``Op`` (or a composite of them) whose backward is written in ember ops,
so gradients of gradients work. Reductions that select (max, min, amax, amin) pass the gradient
to the selected elements; the tie rules are torch's and noted beside each rule.
"""
import builtins
import collections
import math

import numpy as np

from .._dtype import bool_
from .._tensor import Tensor, _wrap_dim, eye, get_xp, method
from ..autograd import Op, is_grad_enabled
from .elementwise import FLOAT32, HALF, divided, exp, floating, log, narrow
from .piecewise import abs
from .index import where
from .. import amp as _amp

__all__ = ['sum', 'mean', 'sum_to_size', 'var', 'std', 'prod', 'max', 'min', 'amax', 'amin',
           'argmax', 'argmin', 'logsumexp', 'norm', 'cumsum', 'cumprod', 'all', 'any']


# ---------------------------------------------------------------- helpers

def dims(dim, ndim, op):
    """Normalise ``dim`` (None, an int, or a sequence; ``()`` means all, as in torch) to a
    sorted tuple of axes."""
    if dim is None or (not isinstance(dim, int) and len(dim) == 0):
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    axes = tuple(sorted(_wrap_dim(d, ndim, op) for d in dim))
    if len(set(axes)) != len(axes):
        raise RuntimeError(f'{op}: dim {tuple(dim)} appears multiple times in the list of dims')
    return axes if ndim else ()


def kept_shape(shape, axes):
    """The shape with the reduced axes kept as size 1 (for broadcasting gradients back)."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _count(shape, axes):
    return math.prod(shape[a] for a in axes)


def _const(arr):
    """A constant (no-gradient) tensor around an array (NumPy gives scalars for 0-d results)."""
    return Tensor._make(np.asarray(arr) if isinstance(arr, np.generic) else arr)


def _rev_cumsum(t, axis):
    """``sum(t[j] for j >= i)`` along ``axis``: the adjoint of cumsum."""
    return Cumsum.apply(t.flip(axis), axis=axis).flip(axis)


def _check_nonempty(x, axes, op, dim_given=True):
    if x.numel() == 0:
        if not dim_given:
            raise RuntimeError(f"{op}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0. Specify the reduction dim with the 'dim' "
                               f"argument.")
        for a in axes:
            if x.shape[a] == 0:
                raise IndexError(f'{op}(): Expected reduction dim {a} to have non-zero size '
                                 f'(input shape {tuple(x.shape)})')


# ---------------------------------------------------------------- sum and mean

class Sum(Op):
    complex_ok = True

    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        if x.dtype in HALF:   # accumulated in float32, rounded once (as torch)
            return narrow(ctx.xp, ctx.xp.sum(x, axis=axes, keepdims=keepdim, dtype=FLOAT32),
                          x.dtype)
        dt = 'int64' if x.dtype.kind in 'biu' else None
        return ctx.xp.sum(x, axis=axes, keepdims=keepdim, dtype=dt)

    def backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(kept_shape(ctx.shape, ctx.axes))
        return g.expand(ctx.shape)

    def fast_backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(kept_shape(ctx.shape, ctx.axes))
        return ctx.xp.broadcast_to(g, ctx.shape)


class Mean(Op):
    """The sum over ``axes`` divided by their count ``n``: for float16/bfloat16 both in float32
    and rounded once (torch's CPU mean; the count alone may be beyond float16's range)."""
    complex_ok = True

    def forward(ctx, x, axes, keepdim, n):
        ctx.shape, ctx.axes, ctx.keepdim, ctx.n = x.shape, axes, keepdim, n
        wide = FLOAT32 if x.dtype in HALF else None
        return narrow(ctx.xp, ctx.xp.sum(x, axis=axes, keepdims=keepdim, dtype=wide) / n,
                      x.dtype)

    def backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(kept_shape(ctx.shape, ctx.axes))
        # expanded first, as torch's: over no elements (n = 0) the gradient of g is then a sum
        # of nothing, 0, where (g / 0).expand gave inf * 0 = nan
        return g.expand(ctx.shape) / ctx.n

    def fast_backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(kept_shape(ctx.shape, ctx.axes))
        return ctx.xp.broadcast_to(divided(ctx.xp, g, ctx.n), ctx.shape)


class SumTo(Op):
    """Sum a broadcast gradient back to a shape: the one reducing step autograd uses."""
    complex_ok = True

    def forward(ctx, x, shape):
        ctx.shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                         if s == 1 and x.shape[lead + i] != 1)
        if not axes:
            return x.reshape(shape)
        if x.dtype in HALF:   # accumulated in float32, rounded once (as torch)
            return narrow(ctx.xp, x.sum(axis=axes, keepdims=True, dtype=FLOAT32),
                          x.dtype).reshape(shape)
        return x.sum(axis=axes, keepdims=True).reshape(shape)

    def backward(ctx, g):
        return g.expand(ctx.shape)

    def fast_backward(ctx, g):
        return ctx.xp.broadcast_to(g, ctx.shape)


@method('sum')
def sum(x, dim=None, keepdim=False, dtype=None):
    """Sum over ``dim`` (an int, a tuple, or all). Integers and bools sum to int64.

    >>> ember.tensor([[1, 2], [3, 4]]).sum(0)
    tensor([4, 6])
    >>> ember.ones(2, 3).sum((0, 1), keepdim=True)
    tensor([[6.]])
    >>> ember.tensor([1, 2]).sum(dtype=ember.float64)
    tensor(3., dtype=ember.float64)
    """
    if _amp._State.on:   # autocast: float32
        x, = _amp.full(x)
    if dtype is not None:
        x = x.to(dtype)
    return Sum.apply(x, axes=dims(dim, x.ndim, 'sum'), keepdim=keepdim)


@method('mean')
def mean(x, dim=None, keepdim=False, dtype=None):
    """Mean over ``dim``; needs a floating-point input (or ``dtype=``), as in torch.

    >>> ember.tensor([[1.0, 2.0], [3.0, 4.0]]).mean(1)
    tensor([1.5000, 3.5000])
    """
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind < 2:
        raise RuntimeError(f'mean(): could not infer output dtype. Input dtype must be either '
                           f'a floating point or complex dtype. Got: {x.dtype.name}')
    axes = dims(dim, x.ndim, 'mean')
    n = _count(x.shape, axes)
    return Mean.apply(x, axes=axes, keepdim=keepdim, n=n)   # (n = 0: 0 / 0 is nan, as torch)


@method('sum_to_size')
def sum_to_size(x, *size):
    """Sum a tensor down to a shape it broadcasts to.

    >>> ember.ones(2, 3).sum_to_size(1, 3)
    tensor([[2., 2., 2.]])
    """
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    if tuple(x.shape) == shape:
        return x
    return SumTo.apply(x, shape=shape)


# ---------------------------------------------------------------- variance

class SafeSqrt(Op):
    """Square root whose gradient is 0 where the result is 0 (torch's rule for std and norm)."""
    save_output = True

    def forward(ctx, x):
        return ctx.xp.sqrt(x)

    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        # NOTE: d sqrt(s)/ds is infinite at s == 0; torch's std and norm take 0 there.
        zero = (out._data == 0).astype(out._data.dtype)
        return g * _const(1 - zero) / (2 * out + _const(zero))


def _correction(op, dim, unbiased, correction):
    """Resolve torch's two spellings: ``unbiased=`` (old) and ``correction=`` (new)."""
    if isinstance(dim, bool):          # var(x, False): the old positional ``unbiased``
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f'{op}: pass either unbiased= or correction=, not both')
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


@method('var')
def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim``, divided by ``N - correction`` (default 1, Bessel's correction);
    ``unbiased=False`` is the old spelling of ``correction=0``.

    >>> ember.tensor([1.0, 2.0, 3.0, 4.0]).var()
    tensor(1.6667)
    >>> ember.tensor([[1.0, 3.0], [2.0, 2.0]]).var(1, correction=0)
    tensor([1., 0.])
    """
    dim, correction = _correction('var', dim, unbiased, correction)
    if x._data.dtype in HALF:   # in float32, rounded once (as torch)
        return var(x.float(), dim, keepdim=keepdim, correction=correction).to(x.dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f'var: std and var only support floating point dtypes, got '
                           f'{x.dtype.name} (shape {tuple(x.shape)})')
    axes = dims(dim, x.ndim, 'var')
    d = x - mean(x, axes, keepdim=True)
    n = _count(x.shape, axes)
    if n == 0:   # nan, as torch; as a mean, so that a gradient of its gradient is 0, not nan
        return mean(d * d, axes, keepdim=keepdim)
    return Sum.apply(d * d, axes=axes, keepdim=keepdim) / builtins.max(n - correction, 0)


@method('std')
def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: the square root of ``var`` (same arguments). Where it is 0 its
    gradient is 0, as in torch.

    >>> ember.tensor([1.0, 3.0]).std(correction=0)
    tensor(1.)
    """
    if x._data.dtype in HALF:   # in float32, rounded once (as torch)
        return std(x.float(), dim, unbiased, keepdim, correction=correction).to(x.dtype)
    return SafeSqrt.apply(var(x, dim, unbiased, keepdim, correction=correction))


# ---------------------------------------------------------------- products

class Prod(Op):
    save = (0,)
    save_output = True

    def forward(ctx, x, axes, keepdim):
        ctx.axes, ctx.keepdim = axes, keepdim
        dt = 'int64' if x.dtype.kind in 'biu' else None
        return ctx.xp.prod(x, axis=axes, keepdims=keepdim, dtype=dt)

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            g = g.reshape(kept_shape(x.shape, ctx.axes))
            out = out.reshape(kept_shape(x.shape, ctx.axes))
        if not (x._data == 0).any():
            return g * out / x
        return g * _others(x, ctx.axes)


def _others(x, axes):
    """The product of the other elements along ``axes``, exact where ``x`` has zeros."""
    xp = get_xp(x)
    if not is_grad_enabled():      # first order only: O(n) by counting the zeros
        a = x._data
        zero = a == 0
        nz = xp.where(zero, 1, a)
        p = nz.prod(axis=axes, keepdims=True)
        c = zero.sum(axis=axes, keepdims=True)
        return _const(xp.where(zero, p * (c == 1), p / nz * (c == 0)).astype(a.dtype))
    # Differentiable again (create_graph): row i of an n x n matrix is x with x_i set to 1.
    keep = tuple(i for i in range(x.ndim) if i not in axes)
    lead = tuple(x.shape[i] for i in keep)
    n = _count(x.shape, axes)
    flat = x.permute(*keep, *axes).reshape(*lead, 1, n).expand(*lead, n, n)
    rows = where(eye(n, dtype=bool_, device=x.device), 1.0, flat)
    out = Prod.apply(rows, axes=(len(lead) + 1,), keepdim=False)
    inv = sorted(range(x.ndim), key=(keep + axes).index)
    return out.reshape(*lead, *(x.shape[a] for a in axes)).permute(*inv)


@method('prod')
def prod(x, dim=None, keepdim=False, dtype=None):
    """Product over ``dim`` (one int, or all); integers and bools give int64. The gradient is
    exact where the input has zeros.

    >>> ember.tensor([[1.0, 2.0], [3.0, 3.0]]).prod(1)
    tensor([2., 9.])
    >>> x = ember.tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> x.prod().backward(); x.grad
    tensor([0., 6., 0.])
    """
    if _amp._State.on:   # autocast: float32
        x, = _amp.full(x)
    if dtype is not None:
        x = x.to(dtype)
    return Prod.apply(x, axes=dims(dim, x.ndim, 'prod'), keepdim=keepdim)


# ---------------------------------------------------------------- max, min and friends

class Amax(Op):
    save = (0,)
    save_output = True

    def forward(ctx, x, axes, keepdim, fn):
        ctx.axes, ctx.keepdim = axes, keepdim
        return getattr(ctx.xp, fn)(x, axis=axes, keepdims=keepdim)

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        kept = kept_shape(x.shape, ctx.axes)
        # NOTE: ties share the gradient evenly, as torch's amax/amin and max()/min().
        hit = (x._data == out._data.reshape(kept)).astype(x._data.dtype)
        share = hit / hit.sum(axis=ctx.axes, keepdims=True)
        return g.reshape(kept) * _const(share)


class Select(Op):
    """The values at ``idx`` along ``axis`` (max/min with dim): the gradient goes there only."""

    def forward(ctx, x, idx, axis, keepdim):
        ctx.shape, ctx.idx, ctx.axis, ctx.keepdim = x.shape, idx, axis, keepdim
        out = ctx.xp.take_along_axis(x, idx, axis)
        return out if keepdim else out.squeeze(axis)

    def backward(ctx, g):
        # NOTE: with ties, only the returned index gets the gradient (torch's max(dim)).
        n, xp = ctx.shape[ctx.axis], ctx.xp
        pos = xp.arange(n).reshape((n,) + (1,) * (len(ctx.shape) - ctx.axis - 1))
        hot = (pos == ctx.idx).astype(g._data.dtype)
        return (g if ctx.keepdim else g.unsqueeze(ctx.axis)) * _const(hot)


class Arg(Op):
    differentiable = False

    def forward(ctx, x, axis, keepdim, fn):
        return getattr(ctx.xp, fn)(x, axis=axis, keepdims=keepdim)


ReturnMax = collections.namedtuple('max', ['values', 'indices'])
ReturnMin = collections.namedtuple('min', ['values', 'indices'])


def _extreme(x, dim, keepdim, fn, other_fn, result):
    op = fn[1:]                        # 'amax' -> 'max'
    if isinstance(dim, Tensor):
        other = getattr(Tensor, other_fn, None)
        if other is None:
            raise NotImplementedError(f'{op}(input, other): elementwise {other_fn} is not '
                                      f'available yet; use ember.where(a > b, a, b)')
        return other(x, dim)
    if dim is None:
        _check_nonempty(x, (), op, dim_given=False)
        return Amax.apply(x, axes=tuple(range(x.ndim)), keepdim=False, fn=fn)
    axis = _wrap_dim(dim, x.ndim, op)
    _check_nonempty(x, (axis,), op)
    x1 = x.reshape(1) if x.ndim == 0 else x
    idx = getattr(get_xp(x1), 'arg' + op)(x1._data, axis=axis, keepdims=True)
    values = Select.apply(x1, idx=idx, axis=axis, keepdim=keepdim)
    indices = _const(idx if keepdim else idx.squeeze(axis))
    if x.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return result(values, indices)


@method('max')
def max(x, dim=None, keepdim=False):
    """The largest element (a 0-d tensor), or ``(values, indices)`` along ``dim``. With a
    tensor as second argument, the elementwise ``maximum``.

    The gradient of ``max()`` is shared evenly among tied maxima; along ``dim`` it goes to the
    returned index (the first maximum).

    >>> x = ember.tensor([[1.0, 5.0], [4.0, 2.0]])
    >>> x.max()
    tensor(5.)
    >>> x.max(1)
    max(values=tensor([5., 4.]), indices=tensor([1, 0]))
    >>> x.max(0, keepdim=True).indices
    tensor([[1, 0]])
    """
    return _extreme(x, dim, keepdim, 'amax', 'maximum', ReturnMax)


@method('min')
def min(x, dim=None, keepdim=False):
    """The smallest element, or ``(values, indices)`` along ``dim``; see ``max``.

    >>> ember.tensor([[1.0, 5.0], [4.0, 2.0]]).min(1)
    min(values=tensor([1., 2.]), indices=tensor([0, 1]))
    """
    return _extreme(x, dim, keepdim, 'amin', 'minimum', ReturnMin)


@method('amax')
def amax(x, dim=(), keepdim=False):
    """The maximum over ``dim`` (an int, a tuple, or all); tied maxima share the gradient.

    >>> x = ember.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    >>> x.amax(1).sum().backward(); x.grad
    tensor([[0.0000, 0.5000, 0.5000]])
    """
    axes = dims(dim, x.ndim, 'amax')
    _check_nonempty(x, axes, 'amax')
    return Amax.apply(x, axes=axes, keepdim=keepdim, fn='amax')


@method('amin')
def amin(x, dim=(), keepdim=False):
    """The minimum over ``dim``; tied minima share the gradient.

    >>> ember.tensor([[1.0, 3.0], [0.0, 2.0]]).amin(0)
    tensor([0., 2.])
    """
    axes = dims(dim, x.ndim, 'amin')
    _check_nonempty(x, axes, 'amin')
    return Amax.apply(x, axes=axes, keepdim=keepdim, fn='amin')


def _arg(x, dim, keepdim, fn):
    if dim is None:
        _check_nonempty(x, (), fn, dim_given=False)
        out = Arg.apply(x.reshape(-1), axis=0, keepdim=False, fn=fn)
        return out.reshape((1,) * x.ndim) if keepdim else out
    axis = _wrap_dim(dim, x.ndim, fn)
    _check_nonempty(x, (axis,), fn)
    if x.ndim == 0:
        return Arg.apply(x.reshape(1), axis=0, keepdim=False, fn=fn)
    return Arg.apply(x, axis=axis, keepdim=keepdim, fn=fn)


@method('argmax')
def argmax(x, dim=None, keepdim=False):
    """Index of the (first) maximum along ``dim``, or in the flattened tensor; int64.

    >>> ember.tensor([[1.0, 5.0], [4.0, 2.0]]).argmax()
    tensor(1)
    >>> ember.tensor([[1.0, 5.0], [4.0, 2.0]]).argmax(1, keepdim=True)
    tensor([[1],
            [0]])
    """
    return _arg(x, dim, keepdim, 'argmax')


@method('argmin')
def argmin(x, dim=None, keepdim=False):
    """Index of the (first) minimum along ``dim``, or in the flattened tensor; int64.

    >>> ember.tensor([[1.0, 5.0], [4.0, 2.0]]).argmin(0)
    tensor([0, 1])
    """
    return _arg(x, dim, keepdim, 'argmin')


@method('logsumexp')
def logsumexp(x, dim, keepdim=False):
    """``log(sum(exp(x)))`` over ``dim``, computed stably (the maximum is shifted out).

    >>> ember.tensor([1000.0, 1000.0]).logsumexp(0)
    tensor(1000.693...)
    """
    if _amp._State.on:   # autocast: float32
        x, = _amp.full(x)
    x = floating(x)
    if x._data.dtype in HALF:   # in float32, rounded once (as torch)
        return logsumexp(x.float(), dim, keepdim).to(x.dtype)
    axes = dims(dim, x.ndim, 'logsumexp')
    xp = get_xp(x)
    if x.numel():
        m = xp.amax(x._data, axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)   # all -inf (or an inf) in a slice: no shift
    else:
        m = xp.zeros(kept_shape(x.shape, axes), dtype=x._data.dtype)
    shift = _const(m)
    s = Sum.apply(exp(x - shift), axes=axes, keepdim=keepdim)
    return log(s) + (shift if keepdim else shift.reshape(s.shape))


# ---------------------------------------------------------------- norms

@method('norm')
def norm(x, p='fro', dim=None, keepdim=False, dtype=None):
    """The vector p-norm over ``dim`` (or all elements): ``p`` is 2 or 'fro' (the default),
    1, ``inf``, ``-inf``, 0 (count of non-zeros) or any other number; ``'nuc'`` is the
    nuclear norm of a matrix (over two dims). The gradient of the 2-norm at the zero vector is
    0, as in torch.

    >>> ember.tensor([3.0, -4.0]).norm()
    tensor(5.)
    >>> ember.tensor([[3.0, -4.0], [1.0, 1.0]]).norm(1, dim=1)
    tensor([7., 2.])
    >>> ember.tensor([3.0, -4.0]).norm(float('inf'))
    tensor(4.)
    >>> ember.tensor([[3.0, 0.0], [0.0, -4.0]]).norm('nuc')
    tensor(7.)
    """
    if _amp._State.on:   # autocast: float32
        x, = _amp.full(x)
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype in HALF:   # in float32, rounded once (as torch)
        return norm(x.float(), p, dim, keepdim).to(x.dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f'norm: expected a floating-point input, got {x.dtype.name} '
                           f'(shape {tuple(x.shape)}); pass dtype= or convert it')
    axes = dims(dim, x.ndim, 'norm')
    if p == 'fro' or p == 2:
        return SafeSqrt.apply(Sum.apply(x * x, axes=axes, keepdim=keepdim))
    if p == 'nuc':   # the sum of singular values, over two dims (all of a matrix's)
        from ..linalg import matrix_norm
        pair = tuple(range(x.ndim)) if dim is None else tuple(dim)
        if len(pair) != 2:
            raise RuntimeError(f"norm: p='nuc' needs two dims (a matrix), got dim={dim} on an "
                               f"input of shape {tuple(x.shape)}")
        return matrix_norm(x, 'nuc', dim=pair, keepdim=keepdim)
    if isinstance(p, str):
        raise NotImplementedError(f"norm: p={p!r} is not supported (use 'fro', 'nuc', or a "
                                  f"number)")
    a = abs(x)
    if p == math.inf or p == -math.inf:
        _check_nonempty(x, axes, 'norm')
        return Amax.apply(a, axes=axes, keepdim=keepdim, fn='amax' if p > 0 else 'amin')
    if p == 1:
        return Sum.apply(a, axes=axes, keepdim=keepdim)
    if p == 0:   # a count: piecewise constant, so the gradient is 0 (the graph is kept)
        nonzero = _const((x._data != 0).astype(x._data.dtype))
        return Sum.apply(a * 0 + nonzero, axes=axes, keepdim=keepdim)
    return Sum.apply(a ** p, axes=axes, keepdim=keepdim) ** (1 / p)


# ---------------------------------------------------------------- cumulative

class Cumsum(Op):
    def forward(ctx, x, axis):
        ctx.axis = axis
        dt = 'int64' if x.dtype.kind in 'biu' else FLOAT32 if x.dtype in HALF else None
        out = ctx.xp.cumsum(x.reshape(x.shape or (1,)), axis=axis, dtype=dt).reshape(x.shape)
        return narrow(ctx.xp, out, x.dtype) if dt is FLOAT32 else out   # (half: as torch)

    def backward(ctx, g):
        return _rev_cumsum(g, ctx.axis) if g.ndim else g


class Cumprod(Op):
    save = (0,)
    save_output = True

    def forward(ctx, x, axis):
        ctx.axis = axis
        dt = 'int64' if x.dtype.kind in 'biu' else FLOAT32 if x.dtype in HALF else None
        out = ctx.xp.cumprod(x.reshape(x.shape or (1,)), axis=axis, dtype=dt).reshape(x.shape)
        return narrow(ctx.xp, out, x.dtype) if dt is FLOAT32 else out   # (half: as torch)

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if x.ndim == 0:
            return g
        ax = ctx.axis
        if not (x._data == 0).any():
            return _rev_cumsum(g * out, ax) / x
        # d out_k / d x_i = prod(x_j for j <= k, j != i) for k >= i: cumulative products of the
        # rows of an n x n matrix whose row i is x with x_i set to 1 (O(n^2), only with zeros).
        xs, gs = x.transpose(ax, -1), g.transpose(ax, -1)
        n = xs.shape[-1]
        rows = where(eye(n, dtype=bool_, device=x.device), 1.0,
                     xs.unsqueeze(-2).expand(*xs.shape[:-1], n, n))
        upper = get_xp(x).triu(get_xp(x).ones((n, n), dtype=x._data.dtype))
        c = Cumprod.apply(rows, axis=rows.ndim - 1) * _const(upper)
        return (c * gs.unsqueeze(-2)).sum(-1).transpose(ax, -1)


@method('cumsum')
def cumsum(x, dim, dtype=None):
    """Running sum along ``dim``; integers and bools give int64.

    >>> ember.tensor([1, 2, 3]).cumsum(0)
    tensor([1, 3, 6])
    """
    if _amp._State.on:   # autocast: float32
        x, = _amp.full(x)
    if dtype is not None:
        x = x.to(dtype)
    return Cumsum.apply(x, axis=_wrap_dim(dim, x.ndim, 'cumsum'))


@method('cumprod')
def cumprod(x, dim, dtype=None):
    """Running product along ``dim``; the gradient is exact where the input has zeros.

    >>> ember.tensor([1.0, 2.0, 3.0]).cumprod(0)
    tensor([1., 2., 6.])
    """
    if dtype is not None:
        x = x.to(dtype)
    return Cumprod.apply(x, axis=_wrap_dim(dim, x.ndim, 'cumprod'))


# ---------------------------------------------------------------- logic

class Logical(Op):
    differentiable = False

    def forward(ctx, x, axes, keepdim, fn):
        out = getattr(ctx.xp, fn)(x, axis=axes, keepdims=keepdim)
        return out.astype('uint8') if x.dtype == 'uint8' else out


@method('all')
def all(x, dim=None, keepdim=False):
    """True where every element along ``dim`` (or all) is non-zero; bool (uint8 for uint8).

    >>> ember.tensor([[True, False], [True, True]]).all(1)
    tensor([False,  True])
    """
    return Logical.apply(x, axes=dims(dim, x.ndim, 'all'), keepdim=keepdim, fn='all')


@method('any')
def any(x, dim=None, keepdim=False):
    """True where some element along ``dim`` (or any) is non-zero; bool (uint8 for uint8).

    >>> ember.tensor([0.0, 2.0]).any()
    tensor(True)
    """
    return Logical.apply(x, axes=dims(dim, x.ndim, 'any'), keepdim=keepdim, fn='any')

