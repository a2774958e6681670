"""Transforms of whole events (vectors and matrices) and of other transforms, as torch's:
``SoftmaxTransform`` and ``StickBreakingTransform`` onto the simplex,
``LowerCholeskyTransform`` and ``PositiveDefiniteTransform`` onto matrices,
``IndependentTransform`` and ``CumulativeDistributionTransform``."""
import numpy as np

from .._tensor import arange
from . import constraints
from ._ops import cholesky
from .transforms import Transform, _sum_rightmost

__all__ = ['SoftmaxTransform', 'StickBreakingTransform', 'LowerCholeskyTransform',
           'PositiveDefiniteTransform', 'IndependentTransform',
           'CumulativeDistributionTransform']


def _at_least(shape, n, name):
    if len(shape) < n:
        raise ValueError(f'{name}: too few dimensions on input: shape {tuple(shape)}, needs '
                         f'at least {n}')
    return tuple(shape)


class SoftmaxTransform(Transform):
    """``y = exp(x) / sum(exp(x))`` over the last dimension, onto the simplex; not bijective
    (``inv`` is ``log``, one of the preimages; no Jacobian).

    >>> ember.distributions.SoftmaxTransform()(ember.tensor([0.0, 0.0]))
    tensor([0.5000, 0.5000])
    """
    bijective = False
    domain = constraints.real_vector
    codomain = constraints.simplex
    event_dim = 1

    def _call(self, x):
        probs = (x - x.max(-1, keepdim=True)[0]).exp()
        return probs / probs.sum(-1, keepdim=True)

    def _inverse(self, y):
        return y.log()

    def forward_shape(self, shape):
        return _at_least(shape, 1, 'SoftmaxTransform')

    def inverse_shape(self, shape):
        return _at_least(shape, 1, 'SoftmaxTransform')


def _offset(x, n):
    """n, n - 1, ..., 1 for the ``n`` coordinates: the logits' shift that makes x = 0 the
    simplex's centre."""
    return n + 1 - arange(1, n + 1, dtype=x.dtype, device=x.device)


class StickBreakingTransform(Transform):
    """From R^n onto the simplex in R^(n+1), bijectively, by breaking a stick: each
    coordinate's sigmoid takes its share of what is left.

    >>> ember.distributions.StickBreakingTransform()(ember.tensor([0.0, 0.0]))
    tensor([0.3333, 0.3333, 0.3333])
    """
    domain = constraints.real_vector
    codomain = constraints.simplex
    event_dim = 1

    def _call(self, x):
        from ..nn.functional import pad
        fi = np.finfo(x.dtype.np)
        z = (x - _offset(x, x.shape[-1]).log()).sigmoid().clamp(min=float(fi.tiny),
                                                                max=1.0 - float(fi.eps))
        return pad(z, (0, 1), value=1.0) * pad((1 - z).cumprod(-1), (1, 0), value=1.0)

    def _inverse(self, y):
        crop = y[..., :-1]
        rest = (1 - crop.cumsum(-1)).clamp(min=float(np.finfo(y.dtype.np).tiny))
        return crop.log() - rest.log() + _offset(crop, crop.shape[-1]).log()

    def log_abs_det_jacobian(self, x, y):
        from ..nn.functional import logsigmoid
        x = x - _offset(x, x.shape[-1]).log()
        return (-x + logsigmoid(x) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        shape = _at_least(shape, 1, 'StickBreakingTransform')
        return shape[:-1] + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        shape = _at_least(shape, 1, 'StickBreakingTransform')
        return shape[:-1] + (shape[-1] - 1,)


class LowerCholeskyTransform(Transform):
    """From square matrices to lower-triangular ones with a positive diagonal: the strictly
    lower triangle kept, the diagonal exponentiated (no Jacobian, as torch's).

    >>> ember.distributions.LowerCholeskyTransform()(ember.zeros(2, 2))
    tensor([[1., 0.],
            [0., 1.]])
    """
    bijective = False   # (as torch's)
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky
    event_dim = 2

    def _call(self, x):
        return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()

    def _inverse(self, y):
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()


class PositiveDefiniteTransform(Transform):
    """From square matrices to positive-definite ones: ``L @ L.mT`` of the
    ``LowerCholeskyTransform``'s ``L`` (no Jacobian, as torch's).

    >>> ember.distributions.PositiveDefiniteTransform()(ember.zeros(2, 2))
    tensor([[1., 0.],
            [0., 1.]])
    """
    bijective = False   # (as torch's)
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite
    event_dim = 2

    def _call(self, x):
        low = LowerCholeskyTransform()(x)
        return low @ low.mT

    def _inverse(self, y):
        return LowerCholeskyTransform().inv(cholesky(y))


class IndependentTransform(Transform):
    """``base_transform`` with its last ``reinterpreted_batch_ndims`` dimensions read as one
    event: the same map, the log-Jacobian summed over them.

    >>> t = ember.distributions.IndependentTransform(ember.distributions.ExpTransform(), 1)
    >>> t.log_abs_det_jacobian(ember.tensor([1.0, 2.0]), None)
    tensor(3.)
    """

    def __init__(self, base_transform, reinterpreted_batch_ndims):
        if not isinstance(base_transform, Transform):
            raise TypeError(f'IndependentTransform: base_transform must be a Transform, got '
                            f'{type(base_transform).__name__}')
        self.base_transform = base_transform
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        self.event_dim = base_transform.event_dim + reinterpreted_batch_ndims
        self.domain = constraints.independent(base_transform.domain, reinterpreted_batch_ndims)
        self.codomain = constraints.independent(base_transform.codomain,
                                                reinterpreted_batch_ndims)
        self.bijective = base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        _at_least(x.shape, self.event_dim, 'IndependentTransform')
        return self.base_transform(x)

    def _inverse(self, y):
        _at_least(y.shape, self.event_dim, 'IndependentTransform')
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return _sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y),
                              self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)

    def __eq__(self, other):
        return (isinstance(other, IndependentTransform)
                and self.base_transform == other.base_transform
                and self.reinterpreted_batch_ndims == other.reinterpreted_batch_ndims)

    def __hash__(self):
        return hash((self.base_transform, self.reinterpreted_batch_ndims))

    def __repr__(self):
        return f'IndependentTransform({self.base_transform!r}, {self.reinterpreted_batch_ndims})'


class CumulativeDistributionTransform(Transform):
    """``y = distribution.cdf(x)``, onto (0, 1); its log-Jacobian is the log-density.

    >>> t = ember.distributions.CumulativeDistributionTransform(
    ...     ember.distributions.Normal(0.0, 1.0))
    >>> t(ember.tensor(0.0)), t.inv(ember.tensor(0.5))
    (tensor(0.5000), tensor(0.))
    """
    codomain = constraints.unit_interval

    def __init__(self, distribution):
        self.distribution = distribution
        self.domain = distribution.support

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)
