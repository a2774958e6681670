"""Continuous distributions: Normal, Uniform, Exponential, Laplace, MultivariateNormal."""
import math
import numbers

import numpy as np

from .._tensor import Size
from ..random import _gen, _out
from . import constraints
from ._ops import cholesky, erfinv, solve_triangular
from .distribution import Distribution, broadcast_all, lazy_property

__all__ = ['Normal', 'Uniform', 'Exponential', 'Laplace', 'MultivariateNormal']


def _draw(method, shape, like, *args):
    """NumPy's draws (the default generator, PCG64) as a tensor like ``like``, outside the
    graph."""
    arr = getattr(_gen(None), method)(*args, size=tuple(shape))
    return _out(np.asarray(arr), like.dtype, like.device, False)


def _shape(*values):
    return Size() if all(isinstance(v, numbers.Number) for v in values) else None


class Normal(Distribution):
    """The normal distribution with mean ``loc`` and standard deviation ``scale``.

    >>> d = ember.distributions.Normal(ember.tensor([0.0, 1.0]), 2.0)
    >>> d.log_prob(ember.tensor([0.0, 1.0]))
    tensor([-1.6121, -1.6121])
    """
    arg_constraints = {'loc': constraints.real, 'scale': constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        batch = _shape(loc, scale)
        super().__init__(self.loc.shape if batch is None else batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(batch_shape, ('loc', 'scale'))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale.pow(2)

    def rsample(self, sample_shape=Size()):
        eps = _draw('standard_normal', self._extended_shape(sample_shape), self.loc)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (-((value - self.loc) ** 2) / (2 * self.variance) - self.scale.log()
                - math.log(math.sqrt(2 * math.pi)))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())

    def icdf(self, value):
        return self.loc + self.scale * erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()


class Uniform(Distribution):
    """The uniform distribution on [low, high).

    >>> ember.distributions.Uniform(0.0, 4.0).log_prob(ember.tensor(1.0))
    tensor(-1.3863)
    """
    has_rsample = True

    @property
    def arg_constraints(self):
        return {'low': constraints.less_than(self.high),
                'high': constraints.greater_than(self.low)}

    @property
    def support(self):
        return constraints.interval(self.low, self.high)

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        batch = _shape(low, high)
        super().__init__(self.low.shape if batch is None else batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(batch_shape, ('low', 'high'))

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return math.nan * self.high

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=Size()):
        u = _draw('random', self._extended_shape(sample_shape), self.low)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        inside = ((self.low <= value) & (self.high > value)).to(self.low.dtype)
        return inside.log() - (self.high - self.low).log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return (self.high - self.low).log()


class Exponential(Distribution):
    """The exponential distribution with ``rate`` (mean 1 / rate).

    >>> ember.distributions.Exponential(ember.tensor(2.0)).log_prob(ember.tensor(1.0))
    tensor(-1.3069)
    """
    arg_constraints = {'rate': constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        batch = _shape(rate)
        super().__init__(self.rate.shape if batch is None else batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(batch_shape, ('rate',))

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return 0 * self.rate

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=Size()):
        return _draw('standard_exponential', self._extended_shape(sample_shape), self.rate) \
            / self.rate

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(-value).log1p() / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()


class Laplace(Distribution):
    """The Laplace distribution with location ``loc`` and scale ``scale``.

    >>> ember.distributions.Laplace(0.0, 1.0).log_prob(ember.tensor(1.0))
    tensor(-1.6931)
    """
    arg_constraints = {'loc': constraints.real, 'scale': constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        batch = _shape(loc, scale)
        super().__init__(self.loc.shape if batch is None else batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(batch_shape, ('loc', 'scale'))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    def rsample(self, sample_shape=Size()):
        eps = float(np.finfo(self.loc.dtype.np).eps)
        u = _draw('uniform', self._extended_shape(sample_shape), self.loc, eps - 1, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        d = value - self.loc
        return 0.5 - 0.5 * d.sign() * (-d.abs() / self.scale).expm1()

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()


class MultivariateNormal(Distribution):
    """The multivariate normal distribution with mean ``loc`` and one of
    ``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` (the lower Cholesky factor
    of the covariance). The factorization runs through NumPy; gradients flow to every
    parameter.

    >>> d = ember.distributions.MultivariateNormal(ember.zeros(2), ember.eye(2))
    >>> d.log_prob(ember.zeros(2))
    tensor(-1.8379)
    """
    arg_constraints = {'loc': constraints.real_vector,
                       'covariance_matrix': constraints.positive_definite,
                       'precision_matrix': constraints.positive_definite,
                       'scale_tril': constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if loc.dim() < 1:
            raise ValueError('loc must be at least one-dimensional.')
        given = [(n, m) for n, m in (('covariance_matrix', covariance_matrix),
                                     ('precision_matrix', precision_matrix),
                                     ('scale_tril', scale_tril)) if m is not None]
        if len(given) != 1:
            raise ValueError('Exactly one of covariance_matrix or precision_matrix or '
                             'scale_tril may be specified.')
        name, m = given[0]
        if m.dim() < 2:
            raise ValueError(f'{name} matrix must be at least two-dimensional, with optional '
                             f'leading batch dimensions')
        batch = Size(np.broadcast_shapes(tuple(m.shape[:-2]), tuple(loc.shape[:-1])))
        setattr(self, name, m.expand(*batch, *m.shape[-2:]))
        self.loc = loc.expand(*batch, loc.shape[-1])
        super().__init__(batch, self.loc.shape[-1:], validate_args=validate_args)
        if name == 'scale_tril':
            self._unbroadcasted_scale_tril = m
        elif name == 'covariance_matrix':
            self._unbroadcasted_scale_tril = cholesky(m)
        else:   # the covariance is the precision's inverse: triangular solves of its factor
            low = cholesky(m)
            eye = _eye_like(m)
            inv_low = solve_triangular(low, eye)
            self._unbroadcasted_scale_tril = cholesky(inv_low.mT @ inv_low)

    def expand(self, batch_shape, _instance=None):
        batch_shape = Size(batch_shape)
        new = MultivariateNormal.__new__(MultivariateNormal)
        n = self.event_shape[0]
        new.loc = self.loc.expand(*batch_shape, n)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ('covariance_matrix', 'precision_matrix', 'scale_tril'):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(*batch_shape, n, n))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _full(self, m):
        n = self.event_shape[0]
        return m.expand(*self._batch_shape, n, n)

    @lazy_property
    def scale_tril(self):
        """The lower Cholesky factor of the covariance."""
        return self._full(self._unbroadcasted_scale_tril)

    @lazy_property
    def covariance_matrix(self):
        """The covariance: ``scale_tril @ scale_tril.mT``."""
        low = self._unbroadcasted_scale_tril
        return self._full(low @ low.mT)

    @lazy_property
    def precision_matrix(self):
        """The inverse of the covariance."""
        inv_low = solve_triangular(self._unbroadcasted_scale_tril,
                                   _eye_like(self._unbroadcasted_scale_tril))
        return self._full(inv_low.mT @ inv_low)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        v = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return v.expand(*self._batch_shape, *self._event_shape)

    def rsample(self, sample_shape=Size()):
        eps = _draw('standard_normal', self._extended_shape(sample_shape), self.loc)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        m = _mahalanobis(self._unbroadcasted_scale_tril, diff)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + m) - self._half_log_det()

    def entropy(self):
        n = self._event_shape[0]
        h = 0.5 * n * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h.expand(*self._batch_shape) if len(self._batch_shape) else h


def _eye_like(m):
    from .._tensor import eye
    n = m.shape[-1]
    return eye(n, dtype=m.dtype, device=m.device).expand(*m.shape[:-2], n, n)


def _mahalanobis(low, x):
    """|L^-1 x|^2 over the last dimension, batch dimensions broadcast."""
    y = solve_triangular(low, x.unsqueeze(-1)).squeeze(-1)
    return y.pow(2).sum(-1)
