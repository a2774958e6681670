"""Discrete distributions: Bernoulli, Categorical, OneHotCategorical, Poisson, Binomial."""
import math

import numpy as np

from .._tensor import Size, arange, tensor
from ..ops import logsumexp
from ..random import _gen, _out
from . import constraints
from .distribution import (Distribution, broadcast_all, lazy_property, logits_to_probs,
                           probs_to_logits)

__all__ = ['Bernoulli', 'Categorical', 'OneHotCategorical', 'Poisson', 'Binomial']

_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def _log_factorial(t):
    """lgamma(t + 1) of counts, on the host: a constant in the graph (no gradient in counts)."""
    arr = np.asarray(t.detach().cpu().numpy(), dtype=np.float64) + 1
    out = np.asarray(_lgamma(arr), dtype=np.float64).reshape(arr.shape)
    return tensor(out, dtype=t.dtype, device=t.device)


def _probs_or_logits(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError('Either `probs` or `logits` must be specified, but not both.')


def _bce_with_logits(logits, target):
    return logits.clamp(min=0) - logits * target + (-logits.abs()).exp().log1p()


class Bernoulli(Distribution):
    """A coin with probability ``probs`` of 1 (or log-odds ``logits``).

    >>> ember.distributions.Bernoulli(probs=ember.tensor([0.25])).log_prob(ember.tensor([1.0]))
    tensor([-1.3863])
    """
    arg_constraints = {'probs': constraints.unit_interval, 'logits': constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _probs_or_logits(probs, logits)
        scalar = not hasattr(probs if probs is not None else logits, 'shape')
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        param = self.probs if probs is not None else self.logits
        super().__init__(Size() if scalar else param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(batch_shape, ('probs', 'logits'))

    @lazy_property
    def logits(self):
        """The log-odds log(p / (1 - p))."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        """The probability of 1."""
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        """The shape of the parameter (the batch shape)."""
        return self.probs.shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        p = self.probs
        return (p >= 0.5).to(p.dtype).masked_fill(p == 0.5, math.nan)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        p = self.probs.detach().expand(*shape)
        u = _out(_gen(None).random(tuple(shape)), p.dtype, p.device, False)
        return (u < p).to(p.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_with_logits(logits, value)

    def entropy(self):
        return _bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand=True):
        values = arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape(2, *(1,) * len(self._batch_shape))
        return values.expand(2, *self._batch_shape) if expand else values

    @property
    def _param(self):
        return self.__dict__.get('probs', self.__dict__.get('logits'))


class Categorical(Distribution):
    """A choice among ``n`` categories, by ``probs`` (normalized over the last dimension) or
    unnormalized ``logits``; samples are indices.

    >>> d = ember.distributions.Categorical(probs=ember.tensor([0.25, 0.75]))
    >>> d.log_prob(ember.tensor(1))
    tensor(-0.2877)
    """
    arg_constraints = {'probs': constraints.simplex,
                       'logits': constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _probs_or_logits(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError('`probs` parameter must be at least one-dimensional.')
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError('`logits` parameter must be at least one-dimensional.')
            self.logits = logits - logsumexp(logits, -1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        super().__init__(self._param.shape[:-1], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(batch_shape, ('probs', 'logits'))
        new._param = new.__dict__.get('probs', new.__dict__.get('logits'))
        new._num_events = self._num_events
        return new

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        """The normalized log-probabilities."""
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        """The probabilities (summing to 1 over the last dimension)."""
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        """The shape of the parameter: batch_shape + (n,)."""
        return self._param.shape

    @property
    def mean(self):
        return _nan(self._extended_shape(), self.probs)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return _nan(self._extended_shape(), self.probs)

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        p = np.asarray(self.probs.detach().cpu().numpy(), dtype=np.float64)
        cdf = np.cumsum(p, -1)
        cdf = np.broadcast_to(cdf, tuple(shape) + (self._num_events,))
        u = _gen(None).random(tuple(shape) + (1,)) * cdf[..., -1:]
        idx = np.minimum((cdf <= u).sum(-1), self._num_events - 1)
        return _out(idx, 'int64', self._param.device, False, float_only=False)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.logits.shape[:-1]) + (1,))
        value = value.expand(*shape)
        logits = self.logits.expand(*shape[:-1], self._num_events)
        return logits.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        low = float(np.finfo(self.logits.dtype.np).min)
        return -(self.logits.clamp(min=low) * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        n = self._num_events
        values = arange(n, dtype='int64', device=self._param.device)
        values = values.reshape(n, *(1,) * len(self._batch_shape))
        return values.expand(n, *self._batch_shape) if expand else values


def _nan(shape, like):
    from .._tensor import full
    return full(tuple(shape), math.nan, dtype=like.dtype, device=like.device)


class OneHotCategorical(Distribution):
    """A ``Categorical`` whose samples are one-hot vectors of length ``n``.

    >>> d = ember.distributions.OneHotCategorical(probs=ember.tensor([0.25, 0.75]))
    >>> d.log_prob(ember.tensor([0.0, 1.0]))
    tensor(-0.2877)
    """
    arg_constraints = {'probs': constraints.simplex,
                       'logits': constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = OneHotCategorical.__new__(OneHotCategorical)
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, Size(batch_shape), self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def probs(self):
        """The probabilities of the categories."""
        return self._categorical.probs

    @property
    def logits(self):
        """The normalized log-probabilities of the categories."""
        return self._categorical.logits

    @property
    def param_shape(self):
        """The shape of the parameter: batch_shape + (n,)."""
        return self._categorical.param_shape

    @property
    def mean(self):
        return self._categorical.probs

    @property
    def mode(self):
        from ..nn.functional import one_hot
        n = self._categorical._num_events
        return one_hot(self._categorical.mode, n).to(self.probs.dtype)

    @property
    def variance(self):
        p = self._categorical.probs
        return p * (1 - p)

    def sample(self, sample_shape=Size()):
        from ..nn.functional import one_hot
        idx = self._categorical.sample(sample_shape)
        return one_hot(idx, self._categorical._num_events).to(self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        from .._tensor import eye
        n = self.event_shape[0]
        values = eye(n, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape(n, *(1,) * len(self.batch_shape), n)
        return values.expand(n, *self.batch_shape, n) if expand else values

    def __repr__(self):
        return f'OneHotCategorical({self._categorical!r})'


class Poisson(Distribution):
    """The Poisson distribution with ``rate``: counts 0, 1, 2, ...

    >>> ember.distributions.Poisson(ember.tensor(2.0)).log_prob(ember.tensor(1.0))
    tensor(-1.3069)
    """
    arg_constraints = {'rate': constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        batch = Size() if not hasattr(rate, 'shape') else self.rate.shape
        super().__init__(batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(batch_shape, ('rate',))

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        lam = np.asarray(self.rate.detach().cpu().numpy(), dtype=np.float64)
        arr = _gen(None).poisson(np.broadcast_to(lam, tuple(shape)))
        return _out(arr.astype(np.float64), self.rate.dtype, self.rate.device, False)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        # xlogy: 0 log 0 is 0 (and its gradient too)
        safe = rate.masked_fill(value == 0, 1.0)
        return value * safe.log() - rate - _log_factorial(value)


class Binomial(Distribution):
    """The number of successes in ``total_count`` trials, each with ``probs`` (or ``logits``).

    >>> d = ember.distributions.Binomial(4, probs=ember.tensor(0.5))
    >>> d.log_prob(ember.tensor(2.0))
    tensor(-0.9808)
    """
    arg_constraints = {'total_count': constraints.nonnegative_integer,
                       'probs': constraints.unit_interval, 'logits': constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        _probs_or_logits(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.to(self.probs.dtype)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.to(self.logits.dtype)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(batch_shape, ('total_count', 'probs', 'logits'))
        new._param = new.__dict__.get('probs', new.__dict__.get('logits'))
        return new

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @lazy_property
    def logits(self):
        """The log-odds of one trial."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        """The probability of success in one trial."""
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        """The shape of the parameter."""
        return self._param.shape

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        n = np.asarray(self.total_count.detach().cpu().numpy(), dtype=np.int64)
        p = np.asarray(self.probs.detach().cpu().numpy(), dtype=np.float64)
        arr = _gen(None).binomial(np.broadcast_to(n, shape), np.broadcast_to(p, shape))
        return _out(arr.astype(np.float64), self._param.dtype, self._param.device, False)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        log_nk = _log_factorial(n) - _log_factorial(value) - _log_factorial(n - value)
        # n log(1 + e^l), kept finite for large |l|, with the log-odds form of the mass
        normalize = n * logits.clamp(min=0) + n * (-logits.abs()).exp().log1p()
        return value * logits + log_nk - normalize

    def entropy(self):
        top = int(self.total_count.max())
        if not int(self.total_count.min()) == top:
            raise NotImplementedError('Inhomogeneous total count not supported by `entropy`.')
        lp = self.log_prob(self.enumerate_support(False))
        return -(lp.exp() * lp).sum(0)

    def enumerate_support(self, expand=True):
        top = int(self.total_count.max())
        if not int(self.total_count.min()) == top:
            raise NotImplementedError('Inhomogeneous total count not supported by '
                                      '`enumerate_support`.')
        values = arange(1 + top, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape(1 + top, *(1,) * len(self._batch_shape))
        return values.expand(1 + top, *self._batch_shape) if expand else values
