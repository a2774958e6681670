"""The rest of PyTorch's everyday API, composed from ember's ops (so gradients, and gradients
of gradients, come from theirs): the fused multiply-adds (``addmm`` ... ``addcdiv``), closeness
tests, diagonals, index and grid builders, products (``kron``, ``tensordot``), distances,
``repeat_interleave``, ``trapezoid``, ``var_mean``; the ``new_*`` factories and ``type_as``;
and ``with_out``, the one place ``out=`` is handled."""
import builtins
import functools
import inspect
import itertools
import warnings

import numpy as np

from .._dtype import result_type
from .._tensor import Tensor, method
from .. import _creation
from ..autograd import Op, is_grad_enabled
from ..backend import host
from .inplace_methods import _inplace_method
from .index import index_select, where
from .join import cat, stack
from .linalg import bmm, matmul
from .movement import diagonal, movedim, narrow, t
from .reduce import _correction, amax, mean, std, var

__all__ = ['addmm', 'addmv', 'addbmm', 'baddbmm', 'addcmul', 'addcdiv', 'isclose', 'allclose',
           'equal', 'diag', 'diag_embed', 'diagflat', 'trace', 'tril_indices', 'triu_indices',
           'meshgrid', 'cartesian_prod', 'combinations', 'block_diag', 'kron', 'tensordot',
           'cdist', 'dist', 'repeat_interleave', 'trapezoid', 'var_mean', 'std_mean', 't']


def _zeros(shape, like):
    return _creation.zeros(*shape, dtype=like.dtype, device=like.device)


# ---------------------------------------------------------------- out=

def with_out(fn, same_dtype=False):
    """``fn`` taking ``out=`` as torch's functions do: the result is written into ``out``
    (resized if its shape differs, as torch, which warns unless ``out`` is empty) and ``out``
    is returned; ``out``'s dtype must be the result's (``same_dtype``: torch's matrix
    products) or one it casts to without changing kind (float to int is refused). As in
    torch, ``out=`` is refused while autograd would record the call. Calls without ``out``
    run as they are, through one extra call."""
    name = fn.__name__

    @functools.wraps(fn)
    def run(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
        if is_grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad
                                     for a in (*args, *kwargs.values(), out)):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                               f'automatic differentiation, but one of the arguments requires '
                               f'grad.')
        result = fn(*args, **kwargs)
        if same_dtype and result.dtype != out.dtype:
            raise RuntimeError(f'{name}(): expected out tensor to have dtype {result.dtype}, '
                               f'but got {out.dtype} instead')
        if result.dtype.kind > out.dtype.kind:   # bool < int < float, as torch's canCast
            raise RuntimeError(f'{name}(): result type {result.dtype} can\'t be cast to the '
                               f'desired output type {out.dtype}')
        if out.device != result.device:
            raise RuntimeError(f'{name}(): expected out on {result.device}, got {out.device}')
        if tuple(out.shape) != tuple(result.shape):
            if out.numel():
                warnings.warn(f'{name}(): an output with {out.numel()} elements was resized '
                              f'to {tuple(result.shape)}', UserWarning, stacklevel=2)
            out._data = result._data.astype(out._data.dtype, copy=True)
        else:
            out._data[...] = result._data
        out._version[0] += 1
        return out
    sig = inspect.signature(fn)     # help() and the API pages show out=
    params = list(sig.parameters.values())
    k = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    out_param = inspect.Parameter('out', inspect.Parameter.KEYWORD_ONLY, default=None)
    run.__signature__ = sig.replace(parameters=params[:k] + [out_param] + params[k:])
    return run


# ---------------------------------------------------------------- fused multiply-adds

def _affine(op, input, prod, beta, alpha):
    """``beta * input + alpha * prod`` with ``prod``'s shape; ``input`` is ignored (nan and
    all) when ``beta`` is 0, as in torch."""
    out = prod if alpha == 1 else prod * alpha
    if beta != 0:
        out = (input if beta == 1 else input * beta) + out
    if tuple(out.shape) != tuple(prod.shape) or not _broadcasts(input.shape, prod.shape):
        raise RuntimeError(f'{op}: input of shape {tuple(input.shape)} does not broadcast to '
                           f'the product\'s shape {tuple(prod.shape)}')
    return out


def _broadcasts(a, b):
    return len(a) <= len(b) and all(x in (1, y) for x, y in zip(reversed(a), reversed(b)))


def _dims(op, **tensors):
    for what, (x, n) in tensors.items():
        if x.ndim != n:
            raise RuntimeError(f'{op}: {what} must be a {n}-D tensor, got shape '
                               f'{tuple(x.shape)}')


@method('addmm')
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` for matrices (``input`` broadcast).

    >>> ember.addmm(ember.ones(2), ember.ones(2, 3), ember.ones(3, 2), alpha=2)
    tensor([[7., 7.],
            [7., 7.]])
    """
    _dims('addmm', mat1=(mat1, 2), mat2=(mat2, 2))
    return _affine('addmm', input, matmul(mat1, mat2), beta, alpha)


@method('addmv')
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)`` for a matrix and a vector.

    >>> ember.addmv(ember.tensor([1.0, 2.0]), ember.ones(2, 3), ember.ones(3), beta=0.5)
    tensor([3.5000, 4.0000])
    """
    _dims('addmv', mat=(mat, 2), vec=(vec, 1))
    return _affine('addmv', input, matmul(mat, vec), beta, alpha)


@method('addbmm')
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``: batched products, summed.

    >>> ember.addbmm(ember.zeros(2, 2), ember.ones(3, 2, 4), ember.ones(3, 4, 2))
    tensor([[12., 12.],
            [12., 12.]])
    """
    return _affine('addbmm', input, bmm(batch1, batch2).sum(0), beta, alpha)


@method('baddbmm')
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)``.

    >>> ember.baddbmm(ember.ones(1, 2), ember.ones(3, 1, 4), ember.ones(3, 4, 2)).shape
    ember.Size([3, 1, 2])
    """
    return _affine('baddbmm', input, bmm(batch1, batch2), beta, alpha)


@method('addcmul')
def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2`` (broadcast).

    >>> ember.addcmul(ember.ones(2), ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0]), value=0.5)
    tensor([2.5000, 5.0000])
    """
    prod = tensor1 * tensor2
    return input + (prod if value == 1 else prod * value)


@method('addcdiv')
def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2`` (broadcast); integer operands are refused, as in
    torch.

    >>> ember.addcdiv(ember.ones(2), ember.tensor([1.0, 2.0]), ember.tensor([4.0, 4.0]), value=2)
    tensor([1.5000, 2.0000])
    """
    if not tensor1.dtype.is_floating_point and not tensor2.dtype.is_floating_point:
        raise RuntimeError('addcdiv: integer division with addcdiv is no longer supported; '
                           f'got {tensor1.dtype} and {tensor2.dtype} (use addcmul with a '
                           'reciprocal, or floating-point operands)')
    q = tensor1 / tensor2
    return input + (q if value == 1 else q * value)


for _name, _x, _args in (
        ('addmm', 'ember.ones(2, 2)', 'ember.ones(2, 3), ember.ones(3, 2)'),
        ('addmv', '[0.25, 0.5]', 'ember.ones(2, 3), ember.ones(3)'),
        ('addbmm', 'ember.ones(2, 2)', 'ember.ones(3, 2, 4), ember.ones(3, 4, 2)'),
        ('baddbmm', 'ember.ones(3, 1, 2)', 'ember.ones(3, 1, 4), ember.ones(3, 4, 2)'),
        ('addcmul', '[0.25, 0.5]', 'ember.tensor([2.0, 3.0]), ember.tensor([4.0, 5.0])'),
        ('addcdiv', '[0.25, 0.5]', 'ember.tensor([2.0, 3.0]), ember.tensor([4.0, 5.0])')):
    _inplace_method(_name, _x, _args)
del _name, _x, _args


# ---------------------------------------------------------------- closeness

class IsClose(Op):
    differentiable = False

    def forward(ctx, a, b, rtol, atol, equal_nan):
        if a.dtype.kind == 'b':
            return a == b
        return ctx.xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


@method('isclose')
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (infinities equal to
    themselves; nans equal only with ``equal_nan``). Both must have one dtype, as in torch.

    >>> ember.isclose(ember.tensor([1.0, 2.0]), ember.tensor([1.0 + 1e-9, 2.1]))
    tensor([ True, False])
    """
    if input.dtype != other.dtype:
        raise RuntimeError(f'isclose: {input.dtype} did not match {other.dtype} (shapes '
                           f'{tuple(input.shape)} and {tuple(other.shape)})')
    if rtol < 0 or atol < 0:
        raise RuntimeError(f'isclose: rtol and atol must be non-negative, got rtol={rtol}, '
                           f'atol={atol}')
    return IsClose.apply(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)


@method('allclose')
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element is ``isclose`` (a Python bool).

    >>> ember.allclose(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.0 + 1e-7]))
    True
    """
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan).all())


@method('equal')
def equal(input, other):
    """Whether two tensors have one shape and equal elements (a Python bool).

    >>> ember.equal(ember.tensor([1, 2]), ember.tensor([1, 2])), ember.tensor([1]).equal(
    ...     ember.tensor([1, 1]))
    (True, False)
    """
    if tuple(input.shape) != tuple(other.shape):
        return False
    return builtins.bool((input == other).all())


# ---------------------------------------------------------------- diagonals

def _wrap(d, n, op):
    if not -n <= d < n:
        raise IndexError(f'{op}: dimension out of range (expected to be in range of '
                         f'[{-n}, {n - 1}], but got {d})')
    return d % n


@method('diag_embed')
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices whose ``offset`` diagonal (over the new dimensions ``dim1``, ``dim2``) holds
    the last dimension of ``input``.

    >>> ember.diag_embed(ember.tensor([1, 2]), offset=1)
    tensor([[0, 1, 0],
            [0, 0, 2],
            [0, 0, 0]])
    """
    n, k, nd = input.shape[-1] if input.ndim else 1, builtins.abs(int(offset)), input.ndim + 1
    d1, d2 = _wrap(dim1, nd, 'diag_embed'), _wrap(dim2, nd, 'diag_embed')
    if d1 == d2:
        raise RuntimeError(f'diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}')
    x = input.reshape(1) if input.ndim == 0 else input
    batch = tuple(x.shape[:-1])
    m = x.unsqueeze(-1) * _creation.eye(n, dtype=x.dtype, device=x.device)
    if offset > 0:   # k zero columns on the left, k zero rows below
        m = cat([_zeros(batch + (n, k), x), m], -1)
        m = cat([m, _zeros(batch + (k, n + k), x)], -2)
    elif offset < 0:   # k zero rows above, k zero columns on the right
        m = cat([_zeros(batch + (k, n), x), m], -2)
        m = cat([m, _zeros(batch + (n + k, k), x)], -1)
    return movedim(m, (nd - 2, nd - 1), (d1, d2))


@method('diag')
def diag(input, diagonal=0):
    """A vector's diagonal matrix, or a matrix's diagonal (``diagonal``: which one, above the
    main one if positive).

    >>> ember.diag(ember.tensor([1, 2]))
    tensor([[1, 0],
            [0, 2]])
    >>> ember.diag(ember.arange(9).reshape(3, 3), 1)
    tensor([1, 5])
    """
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:
        return _diagonal(input, diagonal)
    raise RuntimeError(f'diag(): Supports 1D or 2D tensors. Got {input.ndim}D (shape '
                       f'{tuple(input.shape)})')


_diagonal = diagonal


@method('diagflat')
def diagflat(input, offset=0):
    """The diagonal matrix of ``input`` flattened.

    >>> ember.diagflat(ember.tensor([[1, 2]]))
    tensor([[1, 0],
            [0, 2]])
    """
    return diag_embed(input.reshape(-1), offset)


@method('trace')
def trace(input):
    """The sum of a matrix's diagonal.

    >>> ember.trace(ember.arange(9.0).reshape(3, 3))
    tensor(12.)
    """
    if input.ndim != 2:
        raise RuntimeError(f'trace: expected a matrix, but got tensor with dim {input.ndim} '
                           f'(shape {tuple(input.shape)})')
    return _diagonal(input).sum()


def _tri_indices(op, np_fn, row, col, offset, dtype, device):
    if row < 0 or col < 0:
        raise RuntimeError(f'{op}: row and col must be non-negative, got {row}, {col}')
    idx = np.stack(np_fn(row, offset, col)) if row else np.zeros((2, 0), np.int64)
    return _creation.tensor(idx, dtype=dtype or 'int64', device=device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (2, N) row and column indices of the lower triangle of a ``row`` x ``col`` matrix
    (``offset``: the diagonal it ends at), in row-major order.

    >>> ember.tril_indices(3, 3)
    tensor([[0, 1, 1, 2, 2, 2],
            [0, 0, 1, 0, 1, 2]])
    """
    return _tri_indices('tril_indices', np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (2, N) row and column indices of the upper triangle of a ``row`` x ``col`` matrix
    (``offset``: the diagonal it starts at), in row-major order.

    >>> ember.triu_indices(2, 3, 1)
    tensor([[0, 0, 1],
            [1, 2, 2]])
    """
    return _tri_indices('triu_indices', np.triu_indices, row, col, offset, dtype, device)


# ---------------------------------------------------------------- grids and index builders

def _tensors(op, tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for x in tensors:
        if not isinstance(x, Tensor):
            raise TypeError(f'{op}: expected tensors, got {type(x).__name__}')
    return tensors


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors: ``indexing='ij'`` (the default, as torch's) gives
    outputs of shape (len(t0), len(t1), ...); ``'xy'`` swaps the first two dimensions.

    >>> x, y = ember.meshgrid(ember.tensor([1, 2, 3]), ember.tensor([4, 5]), indexing='ij')
    >>> x
    tensor([[1, 1],
            [2, 2],
            [3, 3]])
    >>> y
    tensor([[4, 5],
            [4, 5],
            [4, 5]])
    """
    tensors = _tensors('meshgrid', tensors)
    indexing = indexing or 'ij'
    if indexing not in ('ij', 'xy'):
        raise RuntimeError(f"meshgrid: indexing must be one of 'xy' or 'ij', got {indexing!r}")
    if not tensors:
        raise RuntimeError('meshgrid: expects a non-empty TensorList')
    for x in tensors:
        if x.ndim > 1:
            raise RuntimeError(f'meshgrid: Expected 0D or 1D tensor in the tensor list but got '
                               f'shape {tuple(x.shape)}')
        if x.dtype != tensors[0].dtype or x.device != tensors[0].device:
            raise RuntimeError('meshgrid: expects all tensors to have the same dtype and '
                               f'device, got {[(str(x.dtype), str(x.device)) for x in tensors]}')
    pos = list(range(len(tensors)))
    if indexing == 'xy' and len(tensors) > 1:
        pos[0], pos[1] = 1, 0
    shape = [0] * len(tensors)
    for p, x in zip(pos, tensors):
        shape[p] = x.numel()
    return tuple(x.reshape([-1 if d == p else 1 for d in range(len(shape))]).expand(*shape)
                 for p, x in zip(pos, tensors))


def cartesian_prod(*tensors):
    """The Cartesian product of 1-D tensors, one row per combination (as ``itertools.product``).

    >>> ember.cartesian_prod(ember.tensor([1, 2]), ember.tensor([3, 4]))
    tensor([[1, 3],
            [1, 4],
            [2, 3],
            [2, 4]])
    """
    tensors = _tensors('cartesian_prod', tensors)
    for x in tensors:
        if x.ndim != 1:
            raise RuntimeError(f'cartesian_prod: expects one-dimensional tensors, got shape '
                               f'{tuple(x.shape)}')
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in meshgrid(*tensors, indexing='ij')], 1)


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a 1-D tensor's elements, one per row (as
    ``itertools.combinations``, or ``combinations_with_replacement``).

    >>> ember.combinations(ember.tensor([1, 2, 3]))
    tensor([[1, 2],
            [1, 3],
            [2, 3]])
    """
    if input.ndim != 1:
        raise RuntimeError(f'combinations: Expect a 1D vector, but got shape '
                           f'{tuple(input.shape)}')
    if r < 0:
        raise RuntimeError(f'combinations: Expect a non-negative number, but got {r}')
    if r == 0:
        return _zeros((0,), input)
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = np.array(list(pick(range(input.shape[0]), r)), np.int64).reshape(-1, r)
    index = _creation.tensor(idx.reshape(-1), device=input.device)
    return index_select(input, 0, index).reshape(idx.shape)


def block_diag(*tensors):
    """A block-diagonal matrix of the tensors (0-d: 1x1, 1-D: one row, 2-D as they are),
    in their promoted dtype.

    >>> ember.block_diag(ember.tensor([[1, 2]]), ember.tensor(3))
    tensor([[1, 2, 0],
            [0, 0, 3]])
    """
    tensors = _tensors('block_diag', tensors)
    if not tensors:
        return _creation.zeros(1, 0)
    blocks = []
    for i, x in enumerate(tensors):
        if x.ndim > 2:
            raise RuntimeError(f'block_diag: Input tensors must have 2 or fewer dimensions. '
                               f'Input {i} has {x.ndim} dimensions')
        blocks.append(x.reshape(1, 1) if x.ndim == 0 else x.reshape(1, -1) if x.ndim == 1
                      else x)
    dt = result_type(*tensors)
    blocks = [b.to(dt) for b in blocks]
    cols = builtins.sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        rows.append(cat([_zeros((r, left), b), b, _zeros((r, cols - left - c), b)], 1))
        left += c
    return cat(rows, 0)


# ---------------------------------------------------------------- products

@method('kron')
def kron(input, other):
    """The Kronecker product: ``out[i*m + j] = input[i] * other[j]`` along every dimension.

    >>> ember.kron(ember.tensor([1, 2]), ember.tensor([1, 10]))
    tensor([ 1, 10,  2, 20])
    """
    nd = builtins.max(input.ndim, other.ndim)
    a = (1,) * (nd - input.ndim) + tuple(input.shape)
    b = (1,) * (nd - other.ndim) + tuple(other.shape)
    prod = input.reshape([v for s in a for v in (s, 1)]) * other.reshape(
        [v for s in b for v in (1, s)])
    return prod.reshape([x * y for x, y in zip(a, b)])


def tensordot(a, b, dims=2):
    """Sums of products over dimensions: ``dims`` an int (the last ``dims`` of ``a`` with the
    first of ``b``) or two lists of dimensions.

    >>> ember.tensordot(ember.ones(2, 3, 4), ember.ones(3, 4, 5)).shape
    ember.Size([2, 5])
    >>> ember.tensordot(ember.ones(3, 2), ember.ones(3, 4), dims=([0], [0])).shape
    ember.Size([2, 4])
    """
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f'tensordot expects dims >= 0, but got dims={dims}')
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError(f'tensordot: both dimension lists should have the same length, got '
                           f'{da} and {db}')
    da = [_wrap(d, a.ndim, 'tensordot') for d in da]
    db = [_wrap(d, b.ndim, 'tensordot') for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f'tensordot: contracted dimensions need to match, but first has '
                               f'size {a.shape[i]} in dim {i} and second has size '
                               f'{b.shape[j]} in dim {j}')
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = int(np.prod([a.shape[d] for d in da]))
    am = a.permute(*fa, *da).reshape(-1, k)
    bm = b.permute(*db, *fb).reshape(k, -1)
    return matmul(am, bm).reshape([a.shape[d] for d in fa] + [b.shape[d] for d in fb])


# ---------------------------------------------------------------- distances

def _pnorm(d, p, dim):
    """The ``p``-norm of ``d`` over ``dim``; its gradient is 0 where the norm is 0 (as
    torch's cdist and dist)."""
    if p < 0:
        raise RuntimeError(f'p value for the p-norm must be >= 0, got {p}')
    if p == 0:
        return (d != 0).to(d.dtype).sum(dim)
    if p == float('inf'):
        return amax(d.abs(), dim)
    s = (d * d).sum(dim) if p == 2 else d.abs().sum(dim) if p == 1 else (d.abs() ** p).sum(dim)
    if p == 1:
        return s
    pos = s > 0
    root = where(pos, s, 1.0) ** (1 / p)
    return where(pos, root, 0.0)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """The ``p``-norm distances between each row of ``x1`` (..., P, M) and each row of ``x2``
    (..., R, M): a (..., P, R) tensor. Computed from the differences (torch may use a
    matrix product for p=2 on large inputs: it rounds differently).

    >>> ember.cdist(ember.tensor([[0.0, 0.0]]), ember.tensor([[3.0, 4.0], [1.0, 0.0]]))
    tensor([[5., 1.]])
    """
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f'cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 '
                           f'got: {x2.ndim}D')
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f'X1 and X2 must have the same number of columns. X1: '
                           f'{x1.shape[-1]} X2: {x2.shape[-1]}')
    if not x1.dtype.is_floating_point:
        raise RuntimeError(f'cdist only supports floating-point dtypes, X1 got: {x1.dtype}')
    return _pnorm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)


@method('dist')
def dist(input, other, p=2):
    """The ``p``-norm of ``input - other`` (broadcast), a 0-d tensor.

    >>> ember.dist(ember.tensor([0.0, 0.0]), ember.tensor([3.0, 4.0]))
    tensor(5.)
    """
    return _pnorm((input - other).reshape(-1), p, 0)


# ---------------------------------------------------------------- repeats, integrals, moments

@method('repeat_interleave')
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along ``dim``) repeated ``repeats`` times (an int, or one count
    per element); ``dim=None`` flattens first. ``repeat_interleave(counts)`` alone gives
    ``arange(len(counts))`` repeated by ``counts``.

    >>> ember.repeat_interleave(ember.tensor([1, 2]), 2)
    tensor([1, 1, 2, 2])
    >>> ember.tensor([[1, 2], [3, 4]]).repeat_interleave(ember.tensor([1, 2]), dim=0)
    tensor([[1, 2],
            [3, 4],
            [3, 4]])
    """
    if repeats is None:   # repeat_interleave(counts)
        repeats = input
        input = _creation.arange(input.numel(), device=input.device)
        dim = 0
    if dim is None:
        input, dim = input.reshape(-1), 0
    dim = _wrap(dim, builtins.max(input.ndim, 1), 'repeat_interleave')
    x = input.reshape(1) if input.ndim == 0 else input
    n = x.shape[dim]
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1 or repeats.dtype.is_floating_point:
            raise RuntimeError(f'repeat_interleave: repeats must be 0-dim or 1-dim integer '
                               f'tensor, got {repeats.dtype} of shape {tuple(repeats.shape)}')
        repeats = host(repeats._data).astype(np.int64).reshape(-1)
        if repeats.size == 1:
            repeats = int(repeats[0])
        elif repeats.size != n:
            raise RuntimeError(f'repeat_interleave: repeats must have the same size as input '
                               f'along dim ({n}), got {repeats.size}')
    if np.any(np.asarray(repeats) < 0):
        raise RuntimeError('repeat_interleave: repeats can not be negative')
    index = np.repeat(np.arange(n), repeats)
    if output_size is not None and output_size != index.size:
        raise RuntimeError(f'repeat_interleave: output_size {output_size} does not match '
                           f'the repeats ({index.size})')
    return index_select(x, dim, _creation.tensor(index, device=x.device))


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along ``dim``: samples ``y`` at points ``x`` (1-D, or shaped like
    ``y``), or spaced ``dx`` apart (default 1).

    >>> ember.trapezoid(ember.tensor([1.0, 2.0, 3.0]))
    tensor(4.)
    >>> ember.trapezoid(ember.tensor([1.0, 2.0, 3.0]), ember.tensor([0.0, 1.0, 3.0]))
    tensor(6.5000)
    """
    if x is not None and dx is not None:
        raise TypeError('trapezoid: pass x or dx, not both')
    d = _wrap(dim, builtins.max(y.ndim, 1), 'trapezoid')
    n = y.shape[d]
    if n == 0:   # zeros, with no gradient (as torch)
        return _zeros(tuple(y.shape[:d]) + tuple(y.shape[d + 1:]), y)
    pairs = narrow(y, d, 1, n - 1) + narrow(y, d, 0, n - 1)
    if x is None:
        return pairs.sum(d) * ((1 if dx is None else dx) / 2)
    if x.ndim == 1:
        if x.shape[0] != n:
            raise RuntimeError(f'trapezoid: there must be one `x` value for each sample point '
                               f'({n}), got {x.shape[0]}')
        x = x.reshape([-1 if i == d else 1 for i in range(y.ndim)])
    steps = narrow(x, d, 1, x.shape[d] - 1) - narrow(x, d, 0, x.shape[d] - 1)
    return (steps * pairs).sum(d) / 2


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var(input, ...), mean(input, ...))`` with ``var``'s arguments.

    >>> ember.var_mean(ember.tensor([1.0, 2.0, 3.0, 4.0]))
    (tensor(1.6667), tensor(2.5000))
    """
    dim, correction = _correction('var_mean', dim, unbiased, correction)
    return (var(input, dim, keepdim=keepdim, correction=correction),
            mean(input, dim, keepdim=keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std(input, ...), mean(input, ...))`` with ``std``'s arguments.

    >>> ember.std_mean(ember.tensor([1.0, 3.0]), correction=0)
    (tensor(1.), tensor(2.))
    """
    dim, correction = _correction('std_mean', dim, unbiased, correction)
    return (std(input, dim, keepdim=keepdim, correction=correction),
            mean(input, dim, keepdim=keepdim))


# ---------------------------------------------------------------- new_* factories, type_as

def _new(fill):
    def make(self, *size, dtype=None, device=None, requires_grad=False):
        return fill(*size, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)
    return make


Tensor.new_zeros = _new(_creation.zeros)
Tensor.new_ones = _new(_creation.ones)
Tensor.new_empty = _new(_creation.empty)
Tensor.new_zeros.__doc__ = """Zeros of a shape, in this tensor's dtype and device (unless
    given): ``x.new_zeros(2, 3)`` or ``x.new_zeros((2, 3))``.

    >>> ember.ones(2, dtype=ember.int32).new_zeros(3)
    tensor([0, 0, 0], dtype=ember.int32)
    """
Tensor.new_ones.__doc__ = """Ones of a shape, in this tensor's dtype and device (unless given).

    >>> ember.zeros(1, dtype=ember.float64).new_ones(2)
    tensor([1., 1.], dtype=ember.float64)
    """
Tensor.new_empty.__doc__ = """A tensor of a shape in this tensor's dtype and device (unless
    given); uninitialised in torch, zero-filled in ember.

    >>> ember.ones(2).new_empty(2, 3).shape
    ember.Size([2, 3])
    """
for _n in ('new_zeros', 'new_ones', 'new_empty'):
    getattr(Tensor, _n).__name__, getattr(Tensor, _n).__qualname__ = _n, f'Tensor.{_n}'
del _n


@method('new_full')
def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor of ``size`` filled with ``fill_value``, in this tensor's dtype and device
    (unless given).

    >>> ember.ones(1, dtype=ember.int64).new_full((2,), 7)
    tensor([7, 7])
    """
    return _creation.full(size, fill_value, dtype=dtype or self.dtype,
                          device=device or self.device, requires_grad=requires_grad)


@method('new_tensor')
def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data``, in this tensor's dtype and device (unless
    given).

    >>> ember.ones(1, dtype=ember.int32).new_tensor([1, 2])
    tensor([1, 2], dtype=ember.int32)
    """
    if isinstance(data, Tensor):
        data = data.detach()
    return _creation.tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                            requires_grad=requires_grad)


@method('type_as')
def type_as(self, other):
    """This tensor in ``other``'s dtype (and device); itself when they match.

    >>> ember.tensor([1.7]).type_as(ember.tensor([1]))
    tensor([1])
    """
    return self.to(device=other.device, dtype=other.dtype)
