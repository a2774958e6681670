"""torch's older names for linear algebra, exported at the top level (``ember.inverse``,
``ember.svd`` returning V, ``ember.qr(some=)``...) and as Tensor methods."""
import numpy as np

from .._tensor import method, zeros
from ..ops.index import where
from . import (_OldSvdResult, cholesky as _cholesky, cross as _cross, det, inv, matrix_exp,
               matrix_power, pinv, qr as _qr, slogdet, svd as _svd, svdvals)

__all__ = ['inverse', 'det', 'logdet', 'slogdet', 'cross', 'cholesky', 'pinverse',
           'matrix_power', 'matrix_exp', 'svd', 'qr']


@method('logdet')
def logdet(a):
    """The log of the determinant: nan where it is negative, ``-inf`` where it is 0.

    >>> ember.logdet(ember.tensor([[2.0, 0.0], [0.0, 3.0]]))
    tensor(1.7918)
    """
    sign, logabs = slogdet(a)
    return where(sign < 0, float('nan'), logabs)


@method('inverse')
def inverse(a):
    """The inverse of each square matrix (``ember.linalg.inv``'s old name).

    >>> ember.tensor([[2.0, 0.0], [0.0, 4.0]]).inverse().diagonal()
    tensor([0.5000, 0.2500])
    """
    return inv(a)


@method('pinverse')
def pinverse(a, rcond=1e-15):
    """The pseudo-inverse, singular values below ``rcond`` times the largest dropped
    (``ember.linalg.pinv``'s old form).

    >>> ember.pinverse(ember.tensor([[2.0, 0.0], [0.0, 0.0]]))
    tensor([[0.5000, 0.0000],
            [0.0000, 0.0000]])
    """
    return pinv(a, rtol=rcond)


@method()
def cholesky(a, upper=False):
    """The Cholesky factor, lower triangular (upper if ``upper``): ``torch.cholesky``'s
    old form of ``ember.linalg.cholesky``.

    >>> ember.tensor([[4.0, 2.0], [2.0, 2.0]]).cholesky(upper=True)
    tensor([[2., 1.],
            [0., 1.]])
    """
    return _cholesky(a, upper=upper)


@method()
def qr(a, some=True):
    """``(Q, R)``, reduced if ``some`` else complete (``torch.qr``'s old form of
    ``ember.linalg.qr``).

    >>> ember.tensor([[3.0, 1.0], [4.0, 2.0], [0.0, 1.0]]).qr().Q.shape
    ember.Size([3, 2])
    """
    return _qr(a, 'reduced' if some else 'complete')


@method()
def svd(a, some=True, compute_uv=True):
    """``(U, S, V)``: ``torch.svd``'s old form, V (not Vh), reduced unless ``some=False``;
    with ``compute_uv=False`` U and V are zero matrices (m, m) and (n, n) and S has no
    gradient, as torch.

    >>> u, s, v = ember.tensor([[3.0, 0.0], [0.0, -4.0]]).svd()
    >>> s
    tensor([4., 3.])
    """
    if not compute_uv:
        m, n = a.shape[-2:]
        z = dict(dtype=a.dtype, device=a.device)
        return _OldSvdResult(zeros(*a.shape[:-2], m, m, **z), svdvals(a).detach(),
                             zeros(*a.shape[:-2], n, n, **z))
    u, s, vh = _svd(a, full_matrices=not some)
    return _OldSvdResult(u, s, vh.mT)


@method()
def cross(a, b, dim=None):
    """The cross product along ``dim``: torch.cross's old default, the first dimension of
    length 3, when ``dim`` is None.

    >>> ember.cross(ember.tensor([[1.0, 0.0, 0.0]]), ember.tensor([[0.0, 1.0, 0.0]]))
    tensor([[0., 0., 1.]])
    """
    if dim is None:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
        dim = next((i for i, s in enumerate(shape) if s == 3), -1)
    return _cross(a, b, dim=dim)
