"""Linear algebra of real matrices, as ``torch.linalg``: norms, determinants, inverses and
solves, the Cholesky, QR, SVD and eigen decompositions (symmetric, and general with complex
results: ``eig``, ``eigvals``), pseudo-inverses, matrix functions. Every function takes
batches (leading dimensions) of float32 or float64 matrices (``eig`` and ``eigvals`` complex
ones too); forward runs LAPACK through NumPy (``xp.linalg``), backward is written in ember
ops, so it differentiates twice.

>>> a = ember.tensor([[2.0, 1.0], [1.0, 3.0]])
>>> ember.linalg.det(a)
tensor(5.)
>>> ember.linalg.solve(a, ember.tensor([3.0, 4.0]))
tensor([1., 1.])
"""
import collections
import math
import numbers

import numpy as np

from .._tensor import Tensor, eye, method, zeros
from ..ops.index import where
from ..ops.join import cat
from . import _ops
from ._ops import factor

__all__ = ['norm', 'vector_norm', 'matrix_norm', 'det', 'slogdet', 'inv', 'solve', 'lstsq',
           'cholesky', 'qr', 'svd', 'svdvals', 'eigh', 'eigvalsh', 'eig', 'eigvals', 'pinv',
           'matrix_rank',
           'matrix_power', 'matrix_exp', 'cross', 'multi_dot', 'vander', 'solve_triangular',
           'cond', 'matmul', 'diagonal', 'vecdot', 'tensorinv', 'tensorsolve']

# the results' named tuples, as torch.return_types
_SlogdetResult = collections.namedtuple('slogdet', ['sign', 'logabsdet'])
_QrResult = collections.namedtuple('qr', ['Q', 'R'])
_SvdResult = collections.namedtuple('svd', ['U', 'S', 'Vh'])
_OldSvdResult = collections.namedtuple('svd', ['U', 'S', 'V'])
_EighResult = collections.namedtuple('eigh', ['eigenvalues', 'eigenvectors'])
_EigResult = collections.namedtuple('eig', ['eigenvalues', 'eigenvectors'])
_LstsqResult = collections.namedtuple('lstsq', ['solution', 'residuals', 'rank',
                                                'singular_values'])

_FLOATS = ('float32', 'float64')


def _matrix(a, op, square=False, name='A'):
    """Check ``a`` is a float32/float64 (batch of) matrix, square if asked."""
    if not isinstance(a, Tensor):
        raise TypeError(f'{op}: expected a Tensor as {name}, got {type(a).__name__}')
    if a.dtype.name not in _FLOATS:
        raise RuntimeError(f'{op}: Expected a floating point tensor (float32 or float64) as '
                           f'{name}, got {a.dtype} (shape {tuple(a.shape)})')
    if a.ndim < 2:
        raise RuntimeError(f'{op}: The input tensor {name} must have at least 2 dimensions, '
                           f'got shape {tuple(a.shape)}')
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f'{op}: {name} must be batches of square matrices, but they are '
                           f'{a.shape[-2]} by {a.shape[-1]} matrices (shape {tuple(a.shape)}, '
                           f'{a.dtype})')
    return a


def _same_dtype(a, b, op):
    if a.dtype is not b.dtype:
        raise RuntimeError(f'{op}: Expected A and B to have the same dtype, but found A of '
                           f'type {a.dtype} and B of type {b.dtype} instead')


# ---------------------------------------------------------------- norms

def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm of ``x`` over ``dim`` (all elements if None): ``ord`` is any
    number, ``inf`` (largest absolute value), ``-inf`` (smallest) or 0 (count of non-zeros).

    >>> ember.linalg.vector_norm(ember.tensor([3.0, -4.0]))
    tensor(5.)
    >>> ember.linalg.vector_norm(ember.tensor([[1.0, -2.0], [3.0, 0.0]]), 1, dim=1)
    tensor([3., 3.])
    """
    if isinstance(ord, str) or not isinstance(ord, numbers.Real):
        raise RuntimeError(f'linalg.vector_norm: ord must be a number, got {ord!r}')
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f'linalg.vector_norm: Expected a floating point tensor as input, '
                           f'got {x.dtype} (shape {tuple(x.shape)})')
    if isinstance(dim, int):
        dim = (dim,)
    return x.norm(ord, dim=dim, keepdim=keepdim)


def matrix_norm(a, ord='fro', dim=(-2, -1), keepdim=False, *, dtype=None):
    """The matrix norm of each matrix of ``a`` in dimensions ``dim``: ``'fro'`` (Frobenius),
    ``'nuc'`` (sum of singular values), 2 / -2 (largest / smallest singular value), 1 / -1
    (largest / smallest column sum of absolute values), ``inf`` / ``-inf`` (row sums).

    >>> a = ember.tensor([[1.0, -2.0], [3.0, 4.0]])
    >>> ember.linalg.matrix_norm(a, 1)
    tensor(6.)
    >>> ember.linalg.matrix_norm(a, float('inf'))
    tensor(7.)
    """
    if dtype is not None:
        a = a.to(dtype)
    _matrix(a, 'linalg.matrix_norm')
    d0, d1 = (d % a.ndim for d in dim)
    if d0 == d1:
        raise RuntimeError(f'linalg.matrix_norm: dims must be different, got {tuple(dim)}')
    if ord == 'fro':
        return a.norm(2, dim=(d0, d1), keepdim=keepdim)
    if ord in ('nuc', 2, -2):
        s = svdvals(a.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == 'nuc' else s.amax(-1) if ord == 2 else s.amin(-1)
    elif ord in (1, -1, math.inf, -math.inf):
        sum_dim, red_dim = (d0, d1) if ord in (1, -1) else (d1, d0)
        out = a.abs().sum(sum_dim, keepdim=True)
        out = (out.amax if ord > 0 else out.amin)(red_dim, keepdim=True)
        out = out.squeeze(max(d0, d1)).squeeze(min(d0, d1))
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord!r} not supported (use 'fro', "
                           f"'nuc', 2, -2, 1, -1, inf or -inf)")
    if keepdim:
        out = out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
    return out


def norm(a, ord=None, dim=None, keepdim=False, *, dtype=None):
    """A vector or matrix norm, as ``torch.linalg.norm``: over ``dim`` of one dimension (or
    a 1-D input) the vector norm, of two (or a 2-D input with ``ord`` given) the matrix
    norm; with neither ``ord`` nor ``dim`` the 2-norm of all elements.

    >>> ember.linalg.norm(ember.tensor([[3.0, 0.0], [0.0, 4.0]]))
    tensor(5.)
    >>> ember.linalg.norm(ember.tensor([[3.0, 0.0], [0.0, 4.0]]), 2)
    tensor(4.)
    """
    if isinstance(dim, int):
        dim = (dim,)
    if dim is None:
        if ord is None:
            return vector_norm(a, 2, None, keepdim, dtype=dtype)
        if a.ndim not in (1, 2):
            raise RuntimeError(f'linalg.norm: If dim is not specified but ord is, the input '
                               f'must be 1D or 2D. Got {a.ndim}D (shape {tuple(a.shape)})')
        dim = tuple(range(a.ndim))
    if len(dim) == 1:
        return vector_norm(a, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if len(dim) == 2:
        return matrix_norm(a, 'fro' if ord is None else ord, dim, keepdim, dtype=dtype)
    raise RuntimeError(f'linalg.norm: If dim is specified, it must be of length 1 or 2. Got '
                       f'{dim}')


def cond(a, p=None):
    """The condition number of each matrix in the norm ``p``: for None or 2 the ratio of its
    largest to smallest singular value (-2: the inverse ratio), for 'fro', 'nuc', 1, -1,
    inf, -inf ``matrix_norm(A, p) * matrix_norm(inv(A), p)`` (square, invertible A).

    >>> ember.linalg.cond(ember.tensor([[4.0, 0.0], [0.0, 0.5]]))
    tensor(8.)
    """
    _matrix(a, 'linalg.cond')
    if p is None or p in (2, -2):
        s = svdvals(a)
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big
    _matrix(a, 'linalg.cond', square=True)
    return matrix_norm(a, p) * matrix_norm(inv(a), p)


def matmul(a, b):
    """The matrix product, as ``ember.matmul`` (``a @ b``).

    >>> ember.linalg.matmul(ember.ones(2, 3), ember.ones(3)).shape
    ember.Size([2])
    """
    return a @ b


def diagonal(a, *, offset=0, dim1=-2, dim2=-1):
    """The diagonals of the matrices in the last two dimensions (``Tensor.diagonal``, with
    ``dim1=-2, dim2=-1`` by default).

    >>> ember.linalg.diagonal(ember.eye(3).expand(2, 3, 3)).shape
    ember.Size([2, 3])
    """
    return a.diagonal(offset, dim1, dim2)


def vecdot(x, y, *, dim=-1):
    """The dot product of vectors along ``dim`` (the inputs broadcast).

    >>> ember.linalg.vecdot(ember.tensor([[1.0, 2.0], [3.0, 4.0]]), ember.tensor([1.0, 1.0]))
    tensor([3., 7.])
    """
    return (x * y).sum(dim)


# ---------------------------------------------------------------- determinants, inverses

@method('det')
def det(a):
    """The determinant of each square matrix of ``a``. Its gradient is the cofactor matrix,
    defined at singular matrices too (computed there from the SVD, as torch).

    >>> ember.linalg.det(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(-2.)
    """
    return _ops.Det.apply(_matrix(a, 'linalg.det', square=True))


@method('slogdet')
def slogdet(a):
    """``(sign, logabsdet)``: the sign of the determinant and the log of its absolute value,
    which stays finite where ``det`` would overflow. ``sign`` has no gradient.

    >>> ember.linalg.slogdet(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
    slogdet(sign=tensor(-1.), logabsdet=tensor(0.6931))
    """
    _matrix(a, 'linalg.slogdet', square=True)
    return _SlogdetResult(_ops.DetSign.apply(a), _ops.LogAbsDet.apply(a))


def inv(a):
    """The inverse of each square matrix of ``a``; a singular one is an error.

    >>> ember.linalg.inv(ember.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5000, 0.0000],
            [0.0000, 0.2500]])
    """
    return _ops.Inv.apply(_matrix(a, 'linalg.inv', square=True))


def solve(a, b, *, left=True):
    """``X`` with ``A X = B`` (``X A = B`` if ``left=False``) for square ``A``; ``B`` a
    (batch of) matrix or, with one dimension less than ``A``, of vectors. Batch dimensions
    broadcast.

    >>> a = ember.tensor([[3.0, 1.0], [1.0, 2.0]])
    >>> ember.linalg.solve(a, ember.tensor([9.0, 8.0]))
    tensor([2., 3.])
    """
    op = 'linalg.solve'
    _matrix(a, op, square=True)
    if not isinstance(b, Tensor) or b.ndim < 1:
        raise RuntimeError(f'{op}: expected B to be a tensor of at least 1 dimension, got '
                           f'{getattr(b, "shape", b)!r}')
    _same_dtype(a, b, op)
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    if vector and not left:
        raise RuntimeError(f'{op}: Vector broadcasting of the left hand side is not supported '
                           f'for left=False (B of shape {tuple(b.shape)})')
    if vector:
        return _solve_matrices(a, b.unsqueeze(-1), op).squeeze(-1)
    return _solve_matrices(a, b, op) if left else _solve_matrices(a.mT, b.mT, op).mT


def _solve_matrices(a, b, op):
    """``A^-1 B`` for (..., n, n) and (..., n, k), their batch dimensions broadcast."""
    n = a.shape[-1]
    if b.ndim < 2 or b.shape[-2] != n:
        raise RuntimeError(f'{op}: Incompatible shapes of A and B for the equation AX = B '
                           f'({tuple(a.shape[-2:])} and {tuple(b.shape[-2:])}); A {tuple(a.shape)}'
                           f', B {tuple(b.shape)}')
    batch = tuple(np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2])))
    return _ops.Solve.apply(a.expand(*batch, n, n), b.expand(*batch, n, b.shape[-1]))


def solve_triangular(a, b, *, upper, left=True, unitriangular=False):
    """``X`` with ``A X = B`` (``X A = B`` if ``left=False``) for triangular ``A``: only its
    upper (``upper=True``) or lower triangle is read, its diagonal taken as ones if
    ``unitriangular``; so its gradient is triangular too. ``B`` is a (batch of) matrix.

    >>> a = ember.tensor([[2.0, 0.0], [1.0, 1.0]])
    >>> ember.linalg.solve_triangular(a, ember.tensor([[2.0], [3.0]]), upper=False)
    tensor([[1.],
            [2.]])
    """
    op = 'linalg.solve_triangular'
    _matrix(a, op, square=True)
    _matrix(b, op, name='B')
    _same_dtype(a, b, op)
    t = a.triu() if upper else a.tril()
    if unitriangular:
        i = eye(a.shape[-1], dtype=a.dtype, device=a.device)
        t = t * (1 - i) + i
    return _solve_matrices(t, b, op) if left else _solve_matrices(t.mT, b.mT, op).mT


def lstsq(a, b, rcond=None, *, driver=None):
    """The least-squares solution ``X`` minimising ``|A X - B|`` (the minimum-norm one if
    ``A`` lacks full rank), as ``(solution, residuals, rank, singular_values)``, what
    torch's default CPU driver ('gelsy') gives: residuals and singular values empty. ``driver``
    is accepted and ignored: the solution is ``pinv(A) @ B``, its gradient pinv's.

    >>> a = ember.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> ember.linalg.lstsq(a, ember.tensor([[1.0], [2.0], [3.0]])).solution.round(decimals=4)
    tensor([[1.],
            [2.]])
    """
    op = 'linalg.lstsq'
    _matrix(a, op)
    _matrix(b, op, name='B') if b.ndim != a.ndim - 1 else None
    _same_dtype(a, b, op)
    vector = b.ndim == a.ndim - 1
    bb = b.unsqueeze(-1) if vector else b
    if bb.shape[-2] != a.shape[-2]:
        raise RuntimeError(f'{op}: input.size(-2) should match other.size(-2), got A '
                           f'{tuple(a.shape)} and B {tuple(b.shape)}')
    x = pinv(a, rtol=rcond) @ bb
    empty = zeros(0, dtype=a.dtype, device=a.device)
    return _LstsqResult(x.squeeze(-1) if vector else x, empty, matrix_rank(a, rtol=rcond),
                        empty)


def _tolerances(a, atol, rtol, op):
    """torch's rule: rtol defaults to eps * max(m, n) unless atol is given and positive."""
    def arr(v):
        return np.asarray(v._data if isinstance(v, Tensor) else v, dtype=a._data.dtype)
    given = atol is not None and bool(np.any(arr(atol) > 0))
    if rtol is None:
        rtol = 0.0 if given else np.finfo(a._data.dtype).eps * max(a.shape[-2:])
    return arr(0.0 if atol is None else atol), arr(rtol)


def pinv(a, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse of each matrix of ``a``, from its SVD (its
    eigendecomposition if ``hermitian``), singular values at most ``max(atol, rtol *
    largest)`` treated as zero.

    >>> ember.linalg.pinv(ember.tensor([[1.0, 0.0], [0.0, 0.0]]))
    tensor([[1., 0.],
            [0., 0.]])
    """
    op = 'linalg.pinv'
    _matrix(a, op, square=hermitian)
    atol, rtol = _tolerances(a, atol, rtol, op)
    return _ops.Pinv.apply(a, atol=atol, rtol=rtol, hermitian=bool(hermitian))


def matrix_rank(a, *, atol=None, rtol=None, hermitian=False, tol=None):
    """The number of singular values of each matrix above ``max(atol, rtol * largest)``
    (``tol``, torch's old name, is ``atol`` with ``rtol=0``); an int64 tensor.

    >>> ember.linalg.matrix_rank(ember.tensor([[1.0, 2.0], [2.0, 4.0]]))
    tensor(1)
    """
    op = 'linalg.matrix_rank'
    _matrix(a, op, square=hermitian)
    if tol is not None:
        atol, rtol = tol, 0.0
    atol, rtol = _tolerances(a, atol, rtol, op)
    if hermitian:
        s = np.abs(np.linalg.eigvalsh(np.asarray(a.detach().cpu()._data)))
    else:
        s = np.linalg.svd(np.asarray(a.detach().cpu()._data), compute_uv=False)
    big = s.max(-1, initial=0.0, keepdims=True)
    rank = (s > np.maximum(atol[..., None], rtol[..., None] * big)).sum(-1)
    return Tensor._make(np.asarray(rank, dtype=np.int64)).to(a.device)


def tensorinv(a, ind=2):
    """The inverse of ``a`` seen as a linear map from its first ``ind`` dimensions to the
    rest: ``tensordot(tensorinv(a, ind), a, ind)`` is the identity; the result has shape
    ``a.shape[ind:] + a.shape[:ind]``.

    >>> ember.linalg.tensorinv(ember.eye(4).reshape(4, 2, 2), ind=1).shape
    ember.Size([2, 2, 4])
    """
    op = 'linalg.tensorinv'
    if ind <= 0:
        raise RuntimeError(f'{op}: Expected a strictly positive integer for ind, got {ind}')
    rows, cols = math.prod(a.shape[:ind]), math.prod(a.shape[ind:])
    if rows != cols:
        raise RuntimeError(f'{op}: Expected self to satisfy the requirement '
                           f'prod(self.shape[ind:]) == prod(self.shape[:ind]), but got {cols} '
                           f'!= {rows} (shape {tuple(a.shape)}, ind={ind})')
    return inv(a.reshape(rows, cols)).reshape(*a.shape[ind:], *a.shape[:ind])


def tensorsolve(a, b, dims=None):
    """``X`` with ``tensordot(A, X, X.ndim) = B``: ``A`` (its dimensions ``dims`` moved to
    the end first) seen as a square matrix from ``X``'s shape, ``A.shape[B.ndim:]``, to
    ``B``'s.

    >>> ember.linalg.tensorsolve(2 * ember.eye(6).reshape(2, 3, 6), ember.ones(2, 3)).shape
    ember.Size([6])
    """
    op = 'linalg.tensorsolve'
    if dims is not None:
        dims = [d % a.ndim for d in dims]
        a = a.movedim(dims, list(range(a.ndim - len(dims), a.ndim)))
    shape = tuple(a.shape[b.ndim:])
    if math.prod(shape) != b.numel() or tuple(a.shape[:b.ndim]) != tuple(b.shape):
        raise RuntimeError(f'{op}: Expected self to satisfy the requirement '
                           f'prod(self.shape[other.ndim:]) == prod(self.shape[:other.ndim]), '
                           f'got A {tuple(a.shape)} and B {tuple(b.shape)}')
    n = b.numel()
    return solve(a.reshape(n, n), b.reshape(n)).reshape(shape)


# ---------------------------------------------------------------- decompositions

def cholesky(a, *, upper=False):
    """The Cholesky factor ``L`` (lower triangular, ``A = L L^T``) of each symmetric
    positive-definite matrix (its lower triangle is read), or ``U = L^T`` if ``upper``.

    >>> ember.linalg.cholesky(ember.tensor([[4.0, 2.0], [2.0, 2.0]]))
    tensor([[2., 0.],
            [1., 1.]])
    """
    _matrix(a, 'linalg.cholesky', square=True)
    (ell,) = factor(_ops.Cholesky, a)
    return ell.mT if upper else ell


def qr(a, mode='reduced'):
    """``(Q, R)`` with ``A = Q R``, Q's columns orthonormal and R upper triangular; for an
    (m, n) matrix ``mode='reduced'`` gives Q (m, k), R (k, n) with k = min(m, n),
    ``'complete'`` Q (m, m), R (m, n), ``'r'`` R only (Q empty, not differentiable).

    >>> q, r = ember.linalg.qr(ember.tensor([[3.0, 1.0], [4.0, 2.0]]))
    >>> (q @ r).round(decimals=4)
    tensor([[3., 1.],
            [4., 2.]])
    """
    _matrix(a, 'linalg.qr')
    if mode not in ('reduced', 'complete', 'r'):
        raise RuntimeError(f"linalg.qr: qr received unrecognized mode '{mode}' but expected "
                           f"one of 'reduced' (default), 'r', or 'complete'")
    parts = factor(_ops.Qr, a, mode=mode)
    if mode == 'r':
        return _QrResult(zeros(0, dtype=a.dtype, device=a.device), parts[0])
    return _QrResult(*parts)


def svd(a, full_matrices=True):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``, S descending; with ``full_matrices`` U is
    (m, m) and Vh (n, n), otherwise (m, k) and (k, n). U and Vh are unique up to the signs
    of matching columns and rows; the gradient assumes distinct singular values and, as
    torch, a loss that does not depend on those signs.

    >>> ember.linalg.svd(ember.tensor([[3.0, 0.0], [0.0, -4.0]])).S
    tensor([4., 3.])
    """
    _matrix(a, 'linalg.svd')
    return _SvdResult(*factor(_ops.Svd, a, full_matrices=bool(full_matrices)))


def svdvals(a):
    """The singular values of each matrix, in descending order.

    >>> ember.linalg.svdvals(ember.tensor([[3.0, 0.0], [0.0, -4.0]]))
    tensor([4., 3.])
    """
    return svd(a, full_matrices=False).S


def eigh(a, UPLO='L'):
    """``(eigenvalues, eigenvectors)`` of each symmetric matrix (only its lower triangle is
    read, the upper if ``UPLO='U'``): eigenvalues ascending, eigenvectors the columns, each
    unique up to sign; the gradient assumes distinct eigenvalues.

    >>> ember.linalg.eigh(ember.tensor([[2.0, 1.0], [1.0, 2.0]])).eigenvalues
    tensor([1., 3.])
    """
    _matrix(a, 'linalg.eigh', square=True)
    if UPLO not in ('L', 'U'):
        raise RuntimeError(f"linalg.eigh: Expected UPLO argument to be 'L' or 'U', but got "
                           f"{UPLO!r}")
    return _EighResult(*factor(_ops.Eigh, a, uplo=UPLO))


def eigvalsh(a, UPLO='L'):
    """The eigenvalues of each symmetric matrix, ascending.

    >>> ember.linalg.eigvalsh(ember.tensor([[2.0, 1.0], [1.0, 2.0]]))
    tensor([1., 3.])
    """
    return eigh(a, UPLO).eigenvalues


def _general(a, op):
    """A (batch of) square float32/float64/complex matrix for eig and eigvals."""
    if isinstance(a, Tensor) and a.is_complex():
        if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
            _matrix(a.real, op, square=True)   # (its errors name the shapes)
        return a
    return _matrix(a, op, square=True)


def eig(a):
    """``(eigenvalues, eigenvectors)`` of each square matrix, complex (complex64 for float32,
    complex128 for float64), in LAPACK's order; each eigenvector (a column) has norm 1 and its
    largest component real, as PyTorch's. The gradient assumes distinct eigenvalues; a loss
    that depends on the eigenvectors' phases (which are arbitrary) raises in backward, as
    PyTorch's does.

    >>> ember.linalg.eig(ember.tensor([[2.0, 0.0], [0.0, 3.0]])).eigenvalues
    tensor([2.+0.j, 3.+0.j])
    >>> ember.linalg.eig(ember.tensor([[0.0, -1.0], [1.0, 0.0]])).eigenvalues
    tensor([0.+1.j, 0.-1.j])
    """
    return _EigResult(*factor(_ops.Eig, _general(a, 'linalg.eig')))


def eigvals(a):
    """The eigenvalues of each square matrix, complex, as ``eig``'s; their gradient needs no
    distinct eigenvalues.

    >>> ember.linalg.eigvals(ember.tensor([[1.0, 2.0], [-3.0, 0.5]]))
    tensor([0.7500+2.4367j, 0.7500-2.4367j])
    """
    return factor(_ops.Eig, _general(a, 'linalg.eigvals'))[0]


# ---------------------------------------------------------------- matrix functions

@method('matrix_power')
def matrix_power(a, n):
    """The ``n``-th power of each square matrix (the inverse's for negative ``n``; the
    identity for 0), by repeated squaring.

    >>> ember.linalg.matrix_power(ember.tensor([[1.0, 1.0], [0.0, 1.0]]), 3)
    tensor([[1., 3.],
            [0., 1.]])
    """
    if not isinstance(n, numbers.Integral):
        raise TypeError(f'linalg.matrix_power: n must be an integer, got {n!r}')
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f'linalg.matrix_power: A must be batches of square matrices, got '
                           f'shape {tuple(a.shape)}')
    if n == 0:   # (in the graph, with a zero gradient, as torch)
        i = eye(a.shape[-1], dtype=a.dtype, device=a.device).expand(*a.shape)
        return where(i == i, i, a)
    if n < 0:
        a, n = inv(a), -n
    out = None
    while n:
        if n & 1:
            out = a if out is None else out @ a
        n >>= 1
        if n:
            a = a @ a
    return out


@method('matrix_exp')
def matrix_exp(a):
    """The exponential of each square matrix, ``sum_k A^k / k!`` (scaling and squaring of a
    Pade approximant); the gradient is the exponential of a block matrix.

    >>> ember.linalg.matrix_exp(ember.tensor([[0.0, 1.0], [0.0, 0.0]]))
    tensor([[1., 1.],
            [0., 1.]])
    """
    return _ops.MatrixExp.apply(_matrix(a, 'linalg.matrix_exp', square=True))


def cross(a, b, *, dim=-1):
    """The cross product of 3-vectors along ``dim`` (the inputs broadcast).

    >>> ember.linalg.cross(ember.tensor([1.0, 0.0, 0.0]), ember.tensor([0.0, 1.0, 0.0]))
    tensor([0., 0., 1.])
    """
    if a.ndim != b.ndim:
        raise RuntimeError(f'linalg.cross: inputs must have the same number of dimensions, '
                           f'got {tuple(a.shape)} and {tuple(b.shape)}')
    shape = tuple(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))
    d = dim % len(shape) if shape else 0
    if not shape or a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(f'linalg.cross: inputs dimension {dim} must have length 3. Got '
                           f'{tuple(a.shape)} and {tuple(b.shape)}')
    a, b = a.expand(*shape), b.expand(*shape)
    # c_i = a_{i+1} b_{i+2} - a_{i+2} b_{i+1}, indices mod 3
    return a.roll(-1, d) * b.roll(-2, d) - a.roll(-2, d) * b.roll(-1, d)


def multi_dot(tensors):
    """The product of a chain of matrices (the first and last may be vectors), multiplied
    in the order that takes the fewest operations.

    >>> ember.linalg.multi_dot([ember.ones(2, 3), ember.ones(3, 4), ember.ones(4)])
    tensor([12., 12.])
    """
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f'multi_dot(): expected at least 2 tensors but got {len(ts)}')
    shapes = [tuple(t.shape) for t in ts]
    first, last = ts[0].ndim == 1, ts[-1].ndim == 1
    if ts[0].ndim not in (1, 2) or ts[-1].ndim not in (1, 2) or \
            any(t.ndim != 2 for t in ts[1:-1]):
        raise RuntimeError(f'multi_dot(): the first and last tensors must be 1D or 2D and the '
                           f'others 2D, got shapes {shapes}')
    ts = [ts[0].unsqueeze(0) if first else ts[0]] + ts[1:-1] + \
         [ts[-1].unsqueeze(-1) if last else ts[-1]]
    for i in range(len(ts) - 1):
        if ts[i].shape[1] != ts[i + 1].shape[0]:
            raise RuntimeError(f'multi_dot(): tensors {i} and {i + 1} cannot be multiplied, '
                               f'shapes {shapes}')
    dims = [ts[0].shape[0]] + [t.shape[1] for t in ts]
    out = _chain(ts, _chain_order(dims), 0, len(ts) - 1)
    if first:
        out = out.squeeze(0)
    return out.squeeze(-1) if last else out


def _chain_order(p):
    """The split of each sub-chain that minimises the scalar multiplications (CLRS 15.2)."""
    n = len(p) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(ts, split, i, j):
    if i == j:
        return ts[i]
    k = split[i][j]
    return _chain(ts, split, i, k) @ _chain(ts, split, k + 1, j)


def vander(x, *, N=None):
    """The Vandermonde matrix of ``x`` (..., n): columns ``x^0, x^1, ..., x^(N-1)``
    (increasing powers, as torch.linalg; NumPy's ``vander`` decreases), N = n by default.

    >>> ember.linalg.vander(ember.tensor([1.0, 2.0, 3.0]))
    tensor([[1., 1., 1.],
            [1., 2., 4.],
            [1., 3., 9.]])
    """
    if x.ndim < 1:
        raise RuntimeError(f'linalg.vander: x must have at least one dimension, got shape '
                           f'{tuple(x.shape)}')
    n = x.shape[-1] if N is None else int(N)
    if n <= 1:
        raise RuntimeError(f'linalg.vander: N must be greater than 1, got {n}')
    first = x.unsqueeze(-1) * 0 + 1
    powers = x.unsqueeze(-1).expand(*x.shape, n - 1).cumprod(-1)
    return cat([first, powers], -1)


from . import _old  # noqa: E402,F401  (the old top-level names and Tensor methods)
