"""The ``Distribution`` base class and the helpers every distribution shares."""
import numbers

import numpy as np

from .._tensor import Tensor, Size, tensor
from .._dtype import get_default_dtype


def broadcast_all(*values):
    """Tensors broadcast to one shape; numbers become tensors of the tensors' dtype (the
    default dtype when there are none), as ``torch.distributions.utils.broadcast_all``."""
    ref = next((v for v in values if isinstance(v, Tensor)), None)
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number)):
            raise ValueError(f'Input arguments must all be instances of numbers.Number or '
                             f'ember.Tensor, got {type(v).__name__}')
    dtype = ref.dtype if ref is not None else get_default_dtype()
    device = ref.device if ref is not None else None
    ts = [v if isinstance(v, Tensor) else tensor(float(v), dtype=dtype, device=device)
          for v in values]
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in ts))
    return tuple(t if tuple(t.shape) == shape else t.expand(*shape) for t in ts)


def probs_to_logits(probs, is_binary=False):
    """log(p) (or log(p / (1 - p)) when binary), with p clamped away from 0 and 1."""
    eps = float(np.finfo(probs.dtype.np).eps)
    p = probs.clamp(min=eps, max=1 - eps)
    return (p.log() - (-p).log1p()) if is_binary else p.log()


def logits_to_probs(logits, is_binary=False):
    """sigmoid(logits) when binary, else softmax over the last dimension."""
    from ..nn.functional import softmax
    return logits.sigmoid() if is_binary else softmax(logits, -1)


class lazy_property:
    """A property computed on first use and then kept on the instance."""

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        value = self.fn(obj)
        setattr(obj, self.fn.__name__, value)
        return value


class Distribution:
    """The base of every distribution, as ``torch.distributions.Distribution``: a batch of
    independent distributions (``batch_shape``) over events of ``event_shape``.

    ``validate_args`` (on by default, as in torch) checks the parameters against
    ``arg_constraints`` when built and values against ``support`` in ``log_prob``.

    >>> d = ember.distributions.Normal(ember.zeros(3), 1.0)
    >>> d.batch_shape, d.event_shape
    (ember.Size([3]), ember.Size([]))
    """
    has_rsample = False
    has_enumerate_support = False
    _validate_default = True
    arg_constraints = {}
    support = None

    @staticmethod
    def set_default_validate_args(value):
        """Turn argument validation on or off for distributions built after this.

        >>> ember.distributions.Distribution.set_default_validate_args(True)
        """
        if value not in (True, False):
            raise ValueError('set_default_validate_args: expected True or False')
        Distribution._validate_default = value

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        else:
            self._validate_args = Distribution._validate_default
        if self._validate_args:
            for param, constraint in self.arg_constraints.items():
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None),
                                                             lazy_property):
                    continue   # not given (probs when built from logits)
                value = getattr(self, param)
                valid = constraint.check(value)
                if not bool(valid.all()):
                    raise ValueError(
                        f'Expected parameter {param} ({type(value).__name__} of shape '
                        f'{tuple(value.shape)}) of distribution {self!r} to satisfy the '
                        f'constraint {constraint!r}, but found invalid values:\n{value}')

    @property
    def batch_shape(self):
        """The shape of the batch of distributions.

        >>> ember.distributions.Normal(ember.zeros(2, 3), 1.0).batch_shape
        ember.Size([2, 3])
        """
        return self._batch_shape

    @property
    def event_shape(self):
        """The shape of one sample of one distribution.

        >>> ember.distributions.Categorical(ember.ones(4)).event_shape
        ember.Size([])
        """
        return self._event_shape

    def expand(self, batch_shape, _instance=None):
        """The same distribution with its parameters broadcast to ``batch_shape``.

        >>> ember.distributions.Normal(0.0, 1.0).expand((2,)).batch_shape
        ember.Size([2])
        """
        raise NotImplementedError

    def _expand_params(self, batch_shape, names):
        new = type(self).__new__(type(self))
        batch_shape = Size(batch_shape)
        for n in names:
            if n in self.__dict__:
                v = self.__dict__[n]
                extra = v.shape[len(self.batch_shape):]   # the parameter's own event dims
                setattr(new, n, v.expand(*batch_shape, *extra))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        """The mean of each distribution.

        >>> ember.distributions.Exponential(ember.tensor([2.0])).mean
        tensor([0.5000])
        """
        raise NotImplementedError(f'{type(self).__name__} has no mean')

    @property
    def mode(self):
        """The mode of each distribution.

        >>> ember.distributions.Normal(1.0, 2.0).mode
        tensor(1.)
        """
        raise NotImplementedError(f'{type(self).__name__} has no mode')

    @property
    def variance(self):
        """The variance of each distribution.

        >>> ember.distributions.Normal(0.0, 2.0).variance
        tensor(4.)
        """
        raise NotImplementedError(f'{type(self).__name__} has no variance')

    @property
    def stddev(self):
        """The standard deviation: the square root of ``variance``.

        >>> ember.distributions.Normal(0.0, 2.0).stddev
        tensor(2.)
        """
        return self.variance.sqrt()

    def sample(self, sample_shape=Size()):
        """Draws of shape ``sample_shape + batch_shape + event_shape``, outside the graph.

        >>> ember.distributions.Normal(ember.zeros(3), 1.0).sample((2,)).shape
        ember.Size([2, 3])
        """
        from ..autograd import no_grad
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()):
        """Reparameterized draws: differentiable in the parameters (where ``has_rsample``).

        >>> mu = ember.zeros(2, requires_grad=True)
        >>> ember.distributions.Normal(mu, 1.0).rsample().requires_grad
        True
        """
        raise NotImplementedError(f'{type(self).__name__} has no rsample')

    def sample_n(self, n):
        """``sample((n,))``.

        >>> ember.distributions.Bernoulli(0.5).sample_n(4).shape
        ember.Size([4])
        """
        return self.sample(Size((n,)))

    def log_prob(self, value):
        """The log of the density (or mass) at ``value``.

        >>> ember.distributions.Normal(0.0, 1.0).log_prob(ember.tensor(0.0))
        tensor(-0.9189)
        """
        raise NotImplementedError

    def cdf(self, value):
        """The cumulative distribution function at ``value``.

        >>> ember.distributions.Normal(0.0, 1.0).cdf(ember.tensor(0.0))
        tensor(0.5000)
        """
        raise NotImplementedError(f'{type(self).__name__} has no cdf')

    def icdf(self, value):
        """The inverse of ``cdf``.

        >>> ember.distributions.Uniform(0.0, 2.0).icdf(ember.tensor(0.25))
        tensor(0.5000)
        """
        raise NotImplementedError(f'{type(self).__name__} has no icdf')

    def entropy(self):
        """The entropy of each distribution, in nats.

        >>> ember.distributions.Uniform(0.0, 1.0).entropy()
        tensor(0.)
        """
        raise NotImplementedError(f'{type(self).__name__} has no entropy')

    def perplexity(self):
        """``exp(entropy())``.

        >>> ember.distributions.Uniform(0.0, 2.0).perplexity()
        tensor(2.)
        """
        return self.entropy().exp()

    def enumerate_support(self, expand=True):
        """Every value of a discrete distribution's support, along a new first dimension.

        >>> ember.distributions.Bernoulli(0.3).enumerate_support()
        tensor([0., 1.])
        """
        raise NotImplementedError(f'{type(self).__name__} has no enumerate_support')

    def _extended_shape(self, sample_shape=Size()):
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value):
        if not isinstance(value, Tensor):
            raise ValueError('The value argument to log_prob must be a Tensor')
        event_dim = len(self._event_shape)
        if tuple(value.shape[value.dim() - event_dim:]) != tuple(self._event_shape):
            raise ValueError(f'The right-most size of value must match event_shape: '
                             f'{tuple(value.shape)} vs {tuple(self._event_shape)}.')
        actual, expected = tuple(value.shape), tuple(self.batch_shape) + tuple(self.event_shape)
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f'Value is not broadcastable with batch_shape+event_shape: '
                                 f'{actual} vs {expected}.')
        valid = self.support.check(value)
        if not bool(valid.all()):
            raise ValueError(
                f'Expected value argument ({type(value).__name__} of shape {actual}) to be '
                f'within the support ({self.support!r}) of the distribution {self!r}, but '
                f'found invalid values:\n{value}')

    def __repr__(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        shown = [(k, self.__dict__[k]) for k in names]
        args = ', '.join(f'{k}: {v.item() if v.numel() == 1 else v.size()}' for k, v in shown)
        return f'{type(self).__name__}({args})'


__all__ = ['Distribution']
