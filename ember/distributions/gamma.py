"""The distributions built on the gamma function: Gamma, Chi2, Beta, Dirichlet, StudentT, and
the KL divergences torch has for them (among them, and with Normal, Uniform, Exponential and
Laplace).

Their log-densities, entropies and moments are ``ember.special``'s ``lgamma``, ``digamma`` and
``xlogy``, so they differentiate in the parameters (twice too). Samples are NumPy's gamma
draws (``standard_gamma``) on ember's seeded generator; ``rsample`` makes them differentiable
in the concentration by implicit reparameterisation, as torch's (``_reparam.py``: the
derivative of a draw in its concentration, ``-(dF/dalpha) / f``). Beta draws are the first
coordinate of a two-way Dirichlet, and StudentT's a normal over the root of a chi-squared, as
torch's. ``Gamma.cdf`` (``ember.special.gammainc``) has, as torch's, a gradient in the value
and the rate only.
"""
import math

import numpy as np

from .._tensor import Size
from ..ops.index import where
from ..ops.join import stack
from ..random import _gen, _out
from ..special import digamma, gammainc, gammaln as lgamma, xlogy
from . import constraints
from .continuous import Exponential, Laplace, Normal, Uniform, _shape
from ._reparam import DirichletPath, GammaPath, tiny
from .distribution import Distribution, broadcast_all
from .kl import (_inf_where, _infinite_like, _kl_exponential_infinity, _kl_laplace_infinity,
                 _kl_normal_infinity, register_kl)

__all__ = ['Gamma', 'Chi2', 'Beta', 'Dirichlet', 'StudentT']


def _host(t):
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float64)


def _draw(like, shape, method, *params):
    """NumPy's ``method`` draws with ``params`` broadcast to ``shape``, as a tensor like
    ``like``, outside the graph."""
    args = [np.broadcast_to(_host(p), tuple(shape)) for p in params]
    return _out(np.asarray(getattr(_gen(None), method)(*args, size=tuple(shape))), like.dtype,
                like.device, False)


class Gamma(Distribution):
    """The gamma distribution with shape ``concentration`` and ``rate`` (mean
    ``concentration / rate``).

    >>> d = ember.distributions.Gamma(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 3.0]))
    >>> d.log_prob(ember.tensor([1.0, 0.5]))
    tensor([-1.0000,  0.0041])
    """
    arg_constraints = {'concentration': constraints.positive, 'rate': constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        batch = _shape(concentration, rate)
        super().__init__(self.rate.shape if batch is None else batch,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(batch_shape, ('concentration', 'rate'))

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        alpha = self.concentration.expand(*shape)
        # as torch: the draw, and the value (not its gradient), at or above the smallest
        # normal number
        draw = _draw(alpha, shape, 'standard_gamma', alpha).clamp(min=tiny(alpha.dtype))
        value = GammaPath.apply(alpha, draw) / self.rate.expand(*shape)
        return value + (value.detach().clamp(min=tiny(value.dtype)) - value.detach())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c, r = self.concentration, self.rate
        return xlogy(c, r) + xlogy(c - 1, value) - r * value - lgamma(c)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return gammainc(self.concentration, self.rate * value)   # (no gradient in it, as torch)

    def entropy(self):
        c = self.concentration
        return c - self.rate.log() + lgamma(c) + (1.0 - c) * digamma(c)


class Chi2(Gamma):
    """The chi-squared distribution with ``df`` degrees of freedom: ``Gamma(df / 2, 1 / 2)``.

    >>> ember.distributions.Chi2(ember.tensor(3.0)).mean
    tensor(3.)
    """
    arg_constraints = {'df': constraints.positive}

    def __init__(self, df, validate_args=None):
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(batch_shape, ('concentration', 'rate'))

    @property
    def df(self):
        return self.concentration * 2


class Dirichlet(Distribution):
    """The Dirichlet distribution on the simplex, with ``concentration`` (..., k): the last
    dimension is the event.

    >>> d = ember.distributions.Dirichlet(ember.tensor([1.0, 2.0, 3.0]))
    >>> d.log_prob(ember.tensor([0.2, 0.3, 0.5]))
    tensor(1.5041)
    """
    arg_constraints = {'concentration': constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError('`concentration` parameter must be at least one-dimensional.')
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(batch_shape, ('concentration',))

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        cm1 = (self.concentration - 1).clamp(min=0.0)
        mode = cm1 / cm1.sum(-1, keepdim=True)
        # NOTE: where every concentration is below 1 the density has no interior mode and the
        # formula is 0/0; torch then puts a one-hot at argmax of the nan row: the first entry
        below = (self.concentration < 1).all(-1, keepdim=True)
        first = (cm1 * 0 + 1).cumsum(-1) == 1
        return where(below, first.to(mode.dtype), mode)

    @property
    def variance(self):
        c = self.concentration
        c0 = c.sum(-1, keepdim=True)
        return c * (c0 - c) / (c0.pow(2) * (c0 + 1))

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        alpha = self.concentration.expand(*shape)
        # float64 gammas, each at least the smallest normal number (as torch's), normalized
        g = np.maximum(_gen(None).standard_gamma(np.broadcast_to(_host(alpha), tuple(shape))),
                       np.finfo(np.float64).tiny)
        x = _out(g / g.sum(-1, keepdims=True), alpha.dtype, alpha.device, False)
        return DirichletPath.apply(alpha, x)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return xlogy(c - 1.0, value).sum(-1) + lgamma(c.sum(-1)) - lgamma(c).sum(-1)

    def entropy(self):
        c = self.concentration
        k, c0 = c.shape[-1], c.sum(-1)
        return (lgamma(c).sum(-1) - lgamma(c0) - (k - c0) * digamma(c0)
                - ((c - 1.0) * digamma(c)).sum(-1))


class Beta(Distribution):
    """The beta distribution on [0, 1] with ``concentration1`` (alpha) and ``concentration0``
    (beta).

    >>> ember.distributions.Beta(ember.tensor(2.0), ember.tensor(3.0)).log_prob(
    ...     ember.tensor(0.25))
    tensor(0.5232)
    """
    arg_constraints = {'concentration1': constraints.positive,
                       'concentration0': constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        batch = _shape(concentration1, concentration0)
        super().__init__(self.concentration1.shape if batch is None else batch,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(batch_shape, ('concentration1', 'concentration0'))

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return Dirichlet(stack([self.concentration1, self.concentration0], -1)).mode[..., 0]

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=Size()):
        both = stack([self.concentration1, self.concentration0], -1)
        return Dirichlet(both, validate_args=False).rsample(sample_shape)[..., 0]

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return (xlogy(a - 1.0, value) + xlogy(b - 1.0, 1 - value) + lgamma(a + b)
                - lgamma(a) - lgamma(b))

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        total = a + b
        return (lgamma(a) + lgamma(b) - lgamma(total) - (2 - total) * digamma(total)
                - (a - 1.0) * digamma(a) - (b - 1.0) * digamma(b))


class StudentT(Distribution):
    """Student's t distribution with ``df`` degrees of freedom, ``loc`` and ``scale``.

    >>> ember.distributions.StudentT(ember.tensor(3.0)).log_prob(ember.tensor(0.0))
    tensor(-1.0009)
    """
    arg_constraints = {'df': constraints.positive, 'loc': constraints.real,
                       'scale': constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        batch = _shape(df, loc, scale)
        super().__init__(self.df.shape if batch is None else batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(batch_shape, ('df', 'loc', 'scale'))

    @property
    def mean(self):   # undefined (nan) for df <= 1, as torch
        return where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):   # inf for 1 < df <= 2, nan for df <= 1, as torch
        df = self.df
        v = self.scale.pow(2) * df / where(df > 2, df - 2, 1.0)
        return where(df > 1, where(df > 2, v, math.inf), math.nan)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        normal = _out(_gen(None).standard_normal(tuple(shape)), self.df.dtype, self.df.device,
                      False)
        chi2 = Chi2(self.df, validate_args=False).rsample(sample_shape)
        return self.loc + self.scale * (normal * (chi2 / self.df).rsqrt())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        y = (value - self.loc) / self.scale
        z = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi) + lgamma(0.5 * df)
             - lgamma(0.5 * (df + 1.0)))
        return -0.5 * (df + 1.0) * (y.pow(2) / df).log1p() - z

    def entropy(self):
        df = self.df
        lbeta = lgamma(0.5 * df) + math.lgamma(0.5) - lgamma(0.5 * (df + 1))
        return (self.scale.log() + 0.5 * (df + 1) * (digamma(0.5 * (df + 1))
                                                     - digamma(0.5 * df))
                + 0.5 * df.log() + lbeta)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    return (q.concentration * (p.rate / q.rate).log() + lgamma(q.concentration)
            - lgamma(p.concentration) + (p.concentration - q.concentration)
            * digamma(p.concentration) + (q.rate - p.rate) * (p.concentration / p.rate))


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    sp, sq = p.concentration1 + p.concentration0, q.concentration1 + q.concentration0
    t1 = lgamma(q.concentration1) + lgamma(q.concentration0) + lgamma(sp)
    t2 = lgamma(p.concentration1) + lgamma(p.concentration0) + lgamma(sq)
    t3 = (p.concentration1 - q.concentration1) * digamma(p.concentration1)
    t4 = (p.concentration0 - q.concentration0) * digamma(p.concentration0)
    return t1 - t2 + t3 + t4 + (sq - sp) * digamma(sp)


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    sp, sq = p.concentration.sum(-1), q.concentration.sum(-1)
    t2 = (lgamma(p.concentration) - lgamma(q.concentration)).sum(-1)
    t4 = digamma(p.concentration) - digamma(sp).unsqueeze(-1)
    return lgamma(sp) - lgamma(sq) - t2 + ((p.concentration - q.concentration) * t4).sum(-1)


# ---------------------------------------------------------------- with the other families

_EULER_GAMMA = 0.57721566490153286060


def _x_log_x(t):
    return xlogy(t, t)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * (p.concentration1 / (p.concentration1
                                                                       + p.concentration0))


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    total = p.concentration1 + p.concentration0
    t2 = lgamma(q.concentration) - q.concentration * q.rate.log()
    t3 = (q.concentration - 1) * (digamma(p.concentration1) - digamma(total))
    return -p.entropy() + t2 - t3 + q.rate * p.concentration1 / total


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    total = p.concentration1 + p.concentration0
    mean = p.concentration1 / total
    var_normal = q.scale.pow(2)
    t2 = 0.5 * (var_normal * 2 * math.pi).log()
    t3 = (mean * (1 - mean) / (total + 1) + mean.pow(2)) * 0.5
    return -p.entropy() + t2 + (t3 - q.loc * mean + q.loc.pow(2) * 0.5) / var_normal


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    result = -p.entropy() + (q.high - q.low).log()
    return _inf_where(result, (q.low > 0.0) | (q.high < 1.0))


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    ratio = q.rate / p.rate
    return (-q.concentration * ratio.log() + ratio + lgamma(q.concentration)
            + q.concentration * _EULER_GAMMA - (1 + _EULER_GAMMA))


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.concentration / p.rate


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    var_normal, rate2, c = q.scale.pow(2), p.rate.pow(2), p.concentration
    t1 = 0.5 * (rate2 * var_normal * 2 * math.pi).log() - c - lgamma(c)
    t2 = 0.5 * (c.pow(2) + c) / rate2
    t3 = q.loc * c / p.rate
    return t1 + (c - 1) * digamma(c) + (t2 - t3 + 0.5 * q.loc.pow(2)) / var_normal


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    width = p.high - p.low
    t2 = lgamma(q.concentration) - q.concentration * q.rate.log()
    t3 = (1 - q.concentration) * (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    result = -width.log() + t2 + t3 + q.rate * (p.high + p.low) / 2
    return _inf_where(result, p.low < 0.0)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    width = p.high - p.low
    t2 = (q.concentration1 - 1) * (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    t3 = (q.concentration0 - 1) * (_x_log_x(1 - p.high) - _x_log_x(1 - p.low) + width) / width
    t4 = (lgamma(q.concentration1) + lgamma(q.concentration0)
          - lgamma(q.concentration1 + q.concentration0))
    return _inf_where(t3 + t4 - width.log() - t2, (p.high > 1.0) | (p.low < 0.0))


for _p, _q, _fn in ((Gamma, Beta, lambda p, q: _infinite_like(p.concentration)),
                    (Gamma, Uniform, lambda p, q: _infinite_like(p.concentration)),
                    (Exponential, Beta, _kl_exponential_infinity),
                    (Laplace, Beta, _kl_laplace_infinity),
                    (Laplace, Gamma, _kl_laplace_infinity),
                    (Normal, Beta, _kl_normal_infinity),
                    (Normal, Gamma, _kl_normal_infinity)):
    register_kl(_p, _q)(_fn)   # (support not covered: infinite, as torch's)
