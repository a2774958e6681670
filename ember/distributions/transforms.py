"""Transforms (invertible maps with log-Jacobians) and the distributions built from them:
``TransformedDistribution``, ``LogNormal``, and ``Independent``."""
import math
import numbers

import numpy as np

from .._tensor import Size, Tensor
from ..autograd import no_grad
from . import constraints
from .continuous import Normal
from .distribution import Distribution, broadcast_all

__all__ = ['Transform', 'ExpTransform', 'AffineTransform', 'SigmoidTransform', 'TanhTransform',
           'PowerTransform', 'SoftplusTransform', 'AbsTransform', 'ComposeTransform',
           'identity_transform',
           'TransformedDistribution', 'LogNormal', 'Independent']


def _sum_rightmost(value, dim):
    """Sum over the last ``dim`` dimensions."""
    if dim == 0:
        return value
    return value.reshape(*value.shape[:value.dim() - dim], -1).sum(-1)


def _softplus(x):
    return x.clamp(min=0) + (-x.abs()).exp().log1p()


class Transform:
    """An invertible map ``y = t(x)`` with ``log_abs_det_jacobian(x, y)``; ``t.inv`` is the
    inverse map, as ``torch.distributions.transforms.Transform``.

    >>> t = ember.distributions.ExpTransform()
    >>> t.inv(t(ember.tensor([0.5])))
    tensor([0.5000])
    """
    bijective = True
    domain = constraints.real
    codomain = constraints.real
    sign = 1
    event_dim = 0

    def __call__(self, x):
        return self._call(x)

    @property
    def inv(self):
        """The inverse transform.

        >>> ember.distributions.ExpTransform().inv(ember.tensor(1.0))
        tensor(0.)
        """
        return _InverseTransform(self)

    def log_abs_det_jacobian(self, x, y):
        """log |dy/dx| at ``x`` (with ``y = t(x)``), summed over the transform's event dims.

        >>> ember.distributions.ExpTransform().log_abs_det_jacobian(
        ...     ember.tensor(2.0), ember.tensor(2.0).exp())
        tensor(2.)
        """
        raise NotImplementedError

    def forward_shape(self, shape):
        """The shape of ``t(x)`` for an ``x`` of ``shape``.

        >>> ember.distributions.ExpTransform().forward_shape((2, 3))
        (2, 3)
        """
        return shape

    def inverse_shape(self, shape):
        """The shape of ``t.inv(y)`` for a ``y`` of ``shape``.

        >>> ember.distributions.ExpTransform().inverse_shape((2, 3))
        (2, 3)
        """
        return shape

    def _call(self, x):
        raise NotImplementedError(f'{type(self).__name__} has no forward map')

    def _inverse(self, y):
        raise NotImplementedError(f'{type(self).__name__} has no inverse')

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))

    def __repr__(self):
        return type(self).__name__ + '()'


class _InverseTransform(Transform):
    def __init__(self, transform):
        self._inv = transform
        self.domain, self.codomain = transform.codomain, transform.domain
        self.sign, self.event_dim = transform.sign, transform.event_dim
        self.bijective = transform.bijective

    @property
    def inv(self):
        return self._inv

    def __call__(self, x):
        return self._inv._inverse(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    def __hash__(self):
        return hash(self._inv)


class ExpTransform(Transform):
    """``y = exp(x)``.

    >>> ember.distributions.ExpTransform()(ember.tensor(0.0))
    tensor(1.)
    """
    codomain = constraints.positive

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class AffineTransform(Transform):
    """``y = loc + scale * x`` (``event_dim`` trailing dimensions form one event).

    >>> ember.distributions.AffineTransform(1.0, 2.0)(ember.tensor([0.0, 1.0]))
    tensor([1., 3.])
    """

    def __init__(self, loc, scale, event_dim=0):
        self.loc, self.scale, self.event_dim = loc, scale, event_dim

    @property
    def sign(self):
        if isinstance(self.scale, numbers.Number):
            return 1 if self.scale > 0 else -1 if self.scale < 0 else 0
        return self.scale.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def forward_shape(self, shape):
        return np.broadcast_shapes(tuple(shape), tuple(getattr(self.loc, 'shape', ())),
                                   tuple(getattr(self.scale, 'shape', ())))

    inverse_shape = forward_shape

    def log_abs_det_jacobian(self, x, y):
        if isinstance(self.scale, numbers.Number):
            result = x * 0 + math.log(abs(self.scale))
        else:
            result = self.scale.abs().log()
        shape = np.broadcast_shapes(tuple(x.shape), tuple(result.shape))
        result = result.expand(*shape) if tuple(result.shape) != shape else result
        return _sum_rightmost(result, self.event_dim)

    def __eq__(self, other):
        if not isinstance(other, AffineTransform):
            return False
        return all(_same(a, b) for a, b in ((self.loc, other.loc), (self.scale, other.scale)))

    def __hash__(self):
        return id(self)


def _same(a, b):
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        return a == b
    a = a if isinstance(a, Tensor) else None
    b = b if isinstance(b, Tensor) else None
    return a is not None and b is not None and tuple(a.shape) == tuple(b.shape) \
        and bool((a == b).all())


class SigmoidTransform(Transform):
    """``y = sigmoid(x)``, kept inside (0, 1).

    >>> ember.distributions.SigmoidTransform()(ember.tensor(0.0))
    tensor(0.5000)
    """
    codomain = constraints.unit_interval

    def _call(self, x):
        fi = np.finfo(x.dtype.np)
        return x.sigmoid().clamp(min=float(fi.tiny), max=1.0 - float(fi.eps))

    def _inverse(self, y):
        fi = np.finfo(y.dtype.np)
        y = y.clamp(min=float(fi.tiny), max=1.0 - float(fi.eps))
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        return -_softplus(-x) - _softplus(x)


class TanhTransform(Transform):
    """``y = tanh(x)``.

    >>> ember.distributions.TanhTransform()(ember.tensor(0.0))
    tensor(0.)
    """
    codomain = constraints.interval(-1.0, 1.0)

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return 0.5 * (y.log1p() - (-y).log1p())   # atanh

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - _softplus(-2.0 * x))


class PowerTransform(Transform):
    """``y = x ** exponent`` on positive numbers.

    >>> t = ember.distributions.PowerTransform(ember.tensor(2.0))
    >>> t(ember.tensor([3.0])), t.inv(ember.tensor([4.0]))
    (tensor([9.]), tensor([2.]))
    """
    domain = constraints.positive
    codomain = constraints.positive

    def __init__(self, exponent):
        (self.exponent,) = broadcast_all(exponent)

    @property
    def sign(self):
        return self.exponent.sign()

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape):
        return np.broadcast_shapes(tuple(shape), tuple(self.exponent.shape))

    inverse_shape = forward_shape

    def __eq__(self, other):
        return isinstance(other, PowerTransform) and _same(self.exponent, other.exponent)

    def __hash__(self):
        return id(self)


class SoftplusTransform(Transform):
    """``y = log(1 + exp(x))``.

    >>> ember.distributions.SoftplusTransform()(ember.tensor(0.0))
    tensor(0.6931)
    """
    codomain = constraints.positive

    def _call(self, x):
        from ..nn.functional import softplus
        return softplus(x)

    def _inverse(self, y):
        return (-y).expm1().neg().log() + y

    def log_abs_det_jacobian(self, x, y):
        from ..nn.functional import softplus
        return -softplus(-x)


class AbsTransform(Transform):
    """``y = |x|``; not bijective (its ``inv`` is the identity, and it has no Jacobian).

    >>> ember.distributions.AbsTransform()(ember.tensor([-2.0, 3.0]))
    tensor([2., 3.])
    """
    bijective = False
    codomain = constraints.positive

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class ComposeTransform(Transform):
    """The transforms applied in order: ``parts[-1](...parts[0](x))``.

    >>> t = ember.distributions.ComposeTransform([ember.distributions.ExpTransform(),
    ...                                           ember.distributions.AffineTransform(1.0, 2.0)])
    >>> t(ember.tensor(0.0))
    tensor(3.)
    """

    def __init__(self, parts):
        self.parts = list(parts)
        self.event_dim = max((p.event_dim for p in self.parts), default=0)
        if self.parts:
            self.domain, self.codomain = self.parts[0].domain, self.parts[-1].codomain
        self.bijective = all(p.bijective for p in self.parts)

    @property
    def sign(self):
        s = 1
        for p in self.parts:
            s = s * p.sign
        return s

    def _call(self, x):
        for p in self.parts:
            x = p(x)
        return x

    def _inverse(self, y):
        for p in reversed(self.parts):
            y = p.inv(y)
        return y

    def forward_shape(self, shape):
        for p in self.parts:
            shape = p.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for p in reversed(self.parts):
            shape = p.inverse_shape(shape)
        return shape

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:   # the identity
            from .._creation import full_like
            return full_like(x, 0.0)
        total = 0
        for p in self.parts:
            y = p(x)
            total = total + _sum_rightmost(p.log_abs_det_jacobian(x, y),
                                           self.event_dim - p.event_dim)
            x = y
        return total

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    def __hash__(self):
        return id(self)


identity_transform = ComposeTransform([])
"""The identity map (an empty ``ComposeTransform``), as torch's."""


class Independent(Distribution):
    """Reads the last ``reinterpreted_batch_ndims`` batch dimensions of ``base_distribution``
    as event dimensions: ``log_prob`` sums over them.

    >>> d = ember.distributions.Independent(ember.distributions.Normal(ember.zeros(3), 1.0), 1)
    >>> d.batch_shape, d.event_shape
    (ember.Size([]), ember.Size([3]))
    """
    arg_constraints = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = len(base_distribution.batch_shape)
        if reinterpreted_batch_ndims > n:
            raise ValueError(f'Expected reinterpreted_batch_ndims <= '
                             f'len(base_distribution.batch_shape), actual '
                             f'{reinterpreted_batch_ndims} vs {n}')
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        event_dim = reinterpreted_batch_ndims + len(base_distribution.event_shape)
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = Size(batch_shape)
        r = self.reinterpreted_batch_ndims
        base = self.base_dist.expand(batch_shape + self.event_shape[:r])
        return Independent(base, r, validate_args=False)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        return False

    @property
    def support(self):
        return constraints.independent(self.base_dist.support, self.reinterpreted_batch_ndims)

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=Size()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=Size()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f'Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})'


class TransformedDistribution(Distribution):
    """``base_distribution`` pushed through ``transforms`` (one or a list, applied in order).

    >>> base = ember.distributions.Normal(0.0, 1.0)
    >>> d = ember.distributions.TransformedDistribution(base, [ember.distributions.ExpTransform()])
    >>> d.log_prob(ember.tensor(1.0))
    tensor(-0.9189)
    """
    arg_constraints = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            transforms = [transforms]
        elif not all(isinstance(t, Transform) for t in transforms):
            raise ValueError('transforms must be a Transform or a list of Transforms')
        self.transforms = list(transforms)
        base_shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        base_event = len(base_distribution.event_shape)
        chain = ComposeTransform(self.transforms)
        if len(base_shape) < chain.event_dim:
            raise ValueError(f'base_distribution needs to have shape with size at least '
                             f'{chain.event_dim}, but got {base_shape}.')
        # the transforms' parameters may broadcast the base (and StickBreaking lengthens it)
        shape = tuple(chain.forward_shape(base_shape))
        expanded = tuple(chain.inverse_shape(shape))
        if expanded != base_shape:
            base_distribution = base_distribution.expand(expanded[:len(expanded) - base_event])
        if chain.event_dim > base_event:
            base_distribution = Independent(base_distribution, chain.event_dim - base_event)
        self.base_dist = base_distribution
        event_dim = max(chain.event_dim, base_event)
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        base = self.base_dist.expand(Size(batch_shape) + self.base_dist.batch_shape[
            len(self.batch_shape):])
        new = TransformedDistribution.__new__(type(self))
        new.__dict__.update({k: v for k, v in self.__dict__.items()})
        TransformedDistribution.__init__(new, base, self.transforms, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        c = self.transforms[-1].codomain
        extra = len(self.event_shape) - c.event_dim
        return constraints.independent(c, extra) if extra > 0 else c

    def rsample(self, sample_shape=Size()):
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def sample(self, sample_shape=Size()):
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for t in self.transforms:
                x = t(x)
            return x

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self.event_shape)
        lp, y = 0.0, value
        for t in reversed(self.transforms):
            x = t.inv(y)
            lp = lp - _sum_rightmost(t.log_abs_det_jacobian(x, y), event_dim - t.event_dim)
            y = x
        return lp + _sum_rightmost(self.base_dist.log_prob(y),
                                   event_dim - len(self.base_dist.event_shape))

    def _monotone(self):
        sign = 1
        for t in self.transforms:
            sign = sign * t.sign
        if isinstance(sign, Tensor) or sign not in (1, -1):
            return sign
        return sign

    def cdf(self, value):
        for t in reversed(self.transforms):
            value = t.inv(value)
        value = self.base_dist.cdf(value)
        sign = self._monotone()
        return value if isinstance(sign, int) and sign == 1 else sign * (value - 0.5) + 0.5

    def icdf(self, value):
        sign = self._monotone()
        if not (isinstance(sign, int) and sign == 1):
            value = sign * (value - 0.5) + 0.5
        value = self.base_dist.icdf(value)
        for t in self.transforms:
            value = t(value)
        return value


class LogNormal(TransformedDistribution):
    """``exp`` of a ``Normal(loc, scale)`` variable.

    >>> ember.distributions.LogNormal(0.0, 1.0).log_prob(ember.tensor(1.0))
    tensor(-0.9189)
    """
    arg_constraints = {'loc': constraints.real, 'scale': constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base = Normal(loc, scale, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = LogNormal.__new__(LogNormal)
        TransformedDistribution.__init__(new, self.base_dist.expand(batch_shape),
                                         ExpTransform(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def loc(self):
        """The mean of the log."""
        return self.base_dist.loc

    @property
    def scale(self):
        """The standard deviation of the log."""
        return self.base_dist.scale

    @property
    def mean(self):
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self):
        return (self.loc - self.scale.pow(2)).exp()

    @property
    def variance(self):
        s2 = self.scale.pow(2)
        return s2.expm1() * (2 * self.loc + s2).exp()

    def entropy(self):
        return self.base_dist.entropy() + self.loc

    def __repr__(self):
        return f'LogNormal(loc: {_short(self.loc)}, scale: {_short(self.scale)})'


def _short(v):
    return v.item() if v.numel() == 1 else v.size()
