"""``LowRankMultivariateNormal``: a multivariate normal whose covariance is
``cov_factor @ cov_factor.mT + diag(cov_diag)``, and the KL divergences torch has for it.

Its log-density and entropy never form the n x n covariance: the matrix determinant lemma
gives ``log|W W^T + D| = log|C| + log|D|`` and Woodbury's identity
``(W W^T + D)^-1 = D^-1 - D^-1 W C^-1 W^T D^-1``, with the m x m capacitance
``C = I + W^T D^-1 W`` (m the rank), as torch's. Gradients flow to all three parameters.
"""
import math

import numpy as np

from .._tensor import Size, Tensor
from ..ops import diag_embed
from . import constraints
from ._ops import cholesky, solve_triangular
from .continuous import MultivariateNormal, _draw, _eye_like, _mahalanobis
from .distribution import Distribution, lazy_property
from .kl import register_kl

__all__ = ['LowRankMultivariateNormal']


def _capacitance_tril(w, d):
    """The Cholesky factor of C = I + W^T D^-1 W."""
    k = (w.mT / d.unsqueeze(-2)) @ w
    return cholesky(k + _eye_like(k))


def _lowrank_logdet(w, d, cap_tril):
    return 2 * cap_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + d.log().sum(-1)


def _lowrank_mahalanobis(w, d, x, cap_tril):
    """x^T (W W^T + D)^-1 x by Woodbury's identity."""
    wt_dinv_x = ((w.mT / d.unsqueeze(-2)) @ x.unsqueeze(-1)).squeeze(-1)
    return (x.pow(2) / d).sum(-1) - _mahalanobis(cap_tril, wt_dinv_x)


def _trace_xxt(x):
    return x.pow(2).sum((-2, -1))


def _broadcast(*shapes):
    return tuple(np.broadcast_shapes(*(tuple(s) for s in shapes)))


class LowRankMultivariateNormal(Distribution):
    """The multivariate normal with mean ``loc`` (..., n) and covariance
    ``cov_factor @ cov_factor.mT + diag(cov_diag)`` (``cov_factor`` (..., n, m),
    ``cov_diag`` (..., n), positive).

    >>> d = ember.distributions.LowRankMultivariateNormal(
    ...     ember.zeros(2), ember.tensor([[1.0], [0.0]]), ember.ones(2))
    >>> d.covariance_matrix
    tensor([[2., 0.],
            [0., 1.]])
    >>> d.log_prob(ember.zeros(2))
    tensor(-2.1845)
    """
    arg_constraints = {'loc': constraints.real_vector,
                       'cov_factor': constraints.independent(constraints.real, 2),
                       'cov_diag': constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        for name, t in (('loc', loc), ('cov_factor', cov_factor), ('cov_diag', cov_diag)):
            if not isinstance(t, Tensor):
                raise TypeError(f'LowRankMultivariateNormal: {name} must be a Tensor, got '
                                f'{type(t).__name__}')
        if loc.dim() < 1:
            raise ValueError('loc must be at least one-dimensional.')
        n = loc.shape[-1]
        if cov_factor.dim() < 2:
            raise ValueError('cov_factor must be at least two-dimensional, with optional '
                             'leading batch dimensions')
        if cov_factor.shape[-2] != n:
            raise ValueError(f'cov_factor must be a batch of matrices with shape {n} x m')
        if cov_diag.dim() < 1 or cov_diag.shape[-1] != n:
            raise ValueError(f'cov_diag must be a batch of vectors with shape ({n},)')
        m = cov_factor.shape[-1]
        try:
            batch = _broadcast(loc.shape[:-1], cov_factor.shape[:-2], cov_diag.shape[:-1])
        except ValueError:
            raise ValueError(f'Incompatible batch shapes: loc {tuple(loc.shape)}, cov_factor '
                             f'{tuple(cov_factor.shape)}, cov_diag '
                             f'{tuple(cov_diag.shape)}') from None
        self.loc = loc.expand(*batch, n)
        self.cov_factor = cov_factor.expand(*batch, n, m)
        self.cov_diag = cov_diag.expand(*batch, n)
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)
        super().__init__(Size(batch), Size((n,)), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = LowRankMultivariateNormal.__new__(LowRankMultivariateNormal)
        batch_shape = Size(batch_shape)
        n, m = self.event_shape[0], self.cov_factor.shape[-1]
        new.loc = self.loc.expand(*batch_shape, n)
        new.cov_diag = self.cov_diag.expand(*batch_shape, n)
        new.cov_factor = self.cov_factor.expand(*batch_shape, n, m)
        for name in ('_unbroadcasted_cov_factor', '_unbroadcasted_cov_diag',
                     '_capacitance_tril'):
            setattr(new, name, getattr(self, name))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _full(self, t, *event):
        return t.expand(*self._batch_shape, *event)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        """The diagonal of the covariance."""
        v = self._unbroadcasted_cov_factor.pow(2).sum(-1) + self._unbroadcasted_cov_diag
        return self._full(v, *self._event_shape)

    @lazy_property
    def scale_tril(self):
        """The lower Cholesky factor of the covariance, as
        ``D^1/2 chol(I + D^-1/2 W W^T D^-1/2)`` (well conditioned: its eigenvalues are at
        least 1)."""
        n = self._event_shape[0]
        sqrt_d = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        dw = self._unbroadcasted_cov_factor / sqrt_d
        k = dw @ dw.mT
        return self._full(sqrt_d * cholesky(k + _eye_like(k)), n, n)

    @lazy_property
    def covariance_matrix(self):
        """``cov_factor @ cov_factor.mT + diag(cov_diag)``."""
        w = self._unbroadcasted_cov_factor
        n = self._event_shape[0]
        return self._full(w @ w.mT + diag_embed(self._unbroadcasted_cov_diag), n, n)

    @lazy_property
    def precision_matrix(self):
        """The inverse of the covariance, by Woodbury's identity."""
        n = self._event_shape[0]
        d = self._unbroadcasted_cov_diag
        a = solve_triangular(self._capacitance_tril,
                             self._unbroadcasted_cov_factor.mT / d.unsqueeze(-2))
        return self._full(diag_embed(d.reciprocal()) - a.mT @ a, n, n)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps_w = _draw('standard_normal', tuple(shape[:-1]) + (self.cov_factor.shape[-1],),
                      self.loc)
        eps_d = _draw('standard_normal', shape, self.loc)
        return (self.loc + (self._unbroadcasted_cov_factor @ eps_w.unsqueeze(-1)).squeeze(-1)
                + self._unbroadcasted_cov_diag.sqrt() * eps_d)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        w, d, c = (self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag,
                   self._capacitance_tril)
        m = _lowrank_mahalanobis(w, d, value - self.loc, c)
        log_det = _lowrank_logdet(w, d, c)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + log_det + m)

    def entropy(self):
        log_det = _lowrank_logdet(self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag,
                                  self._capacitance_tril)
        h = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + log_det)
        return h.expand(*self._batch_shape) if len(self._batch_shape) else h


def _same_event(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError(f'KL-divergence between two (Low Rank) Multivariate Normals with '
                         f'different event shapes cannot be computed: {tuple(p.event_shape)} '
                         f'and {tuple(q.event_shape)}')


def _woodbury_a(q):
    """A with q's precision = D^-1 - A^T A."""
    d = q._unbroadcasted_cov_diag
    return solve_triangular(q._capacitance_tril,
                            q._unbroadcasted_cov_factor.mT / d.unsqueeze(-2))


def _q_lowrank_terms(q, p_loc):
    logdet = _lowrank_logdet(q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag,
                             q._capacitance_tril)
    maha = _lowrank_mahalanobis(q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag,
                                q.loc - p_loc, q._capacitance_tril)
    return logdet, maha


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p, q):
    _same_event(p, q)
    q_logdet, term3 = _q_lowrank_terms(q, p.loc)
    term1 = q_logdet - _lowrank_logdet(p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag,
                                       p._capacitance_tril)
    # tr(q_cov^-1 p_cov) = tr((qD^-1 - A^T A)(pD + pW pW^T)), term by term
    a, pd, qd = _woodbury_a(q), p._unbroadcasted_cov_diag, q._unbroadcasted_cov_diag
    pw = p._unbroadcasted_cov_factor
    term2 = ((pd / qd).sum(-1) + _trace_xxt(pw * qd.rsqrt().unsqueeze(-1))
             - _trace_xxt(a * pd.sqrt().unsqueeze(-2)) - _trace_xxt(a @ pw))
    return 0.5 * (term1 + term2 + term3 - p.event_shape[0])


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_lowrank(p, q):
    _same_event(p, q)
    q_logdet, term3 = _q_lowrank_terms(q, p.loc)
    pl = p._unbroadcasted_scale_tril
    term1 = q_logdet - 2 * pl.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    a = _woodbury_a(q)
    term2 = (_trace_xxt(pl * q._unbroadcasted_cov_diag.rsqrt().unsqueeze(-1))
             - _trace_xxt(a @ pl))
    return 0.5 * (term1 + term2 + term3 - p.event_shape[0])


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_mvn(p, q):
    _same_event(p, q)
    ql = q._unbroadcasted_scale_tril
    term1 = 2 * ql.diagonal(dim1=-2, dim2=-1).log().sum(-1) - _lowrank_logdet(
        p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag, p._capacitance_tril)
    term3 = _mahalanobis(ql, q.loc - p.loc)
    n, pw = p.event_shape[0], p._unbroadcasted_cov_factor
    batch = _broadcast(ql.shape[:-2], pw.shape[:-2])
    ql = ql.expand(*batch, n, n)
    term21 = _trace_xxt(solve_triangular(ql, pw.expand(*batch, n, pw.shape[-1])))
    sqrt_pd = diag_embed(p._unbroadcasted_cov_diag.sqrt()).expand(*batch, n, n)
    term22 = _trace_xxt(solve_triangular(ql, sqrt_pd))
    return 0.5 * (term1 + term21 + term22 + term3 - p.event_shape[0])
