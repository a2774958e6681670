"""Tensor's in-place random fills (``uniform_``, ``normal_``, ``bernoulli_``, ``random_``,
``exponential_``, ``geometric_``, ``cauchy_``, ``log_normal_``), drawn from ember's seeded
generators (``ember.random``): a seed gives the same numbers on every device."""
import numpy as np

from ._tensor import Tensor, _overwrite, method
from .autograd import _State
from .backend import to_device
from .random import _gen


def _fill(t, op, draw, generator, float_only=True):
    """Write ``draw(rng, shape)`` (float64 or integer values) into ``t``, cast to its dtype."""
    if float_only and not t.dtype.is_floating_point:
        raise RuntimeError(f'{op}: expects a floating-point tensor, got {t.dtype} (shape '
                           f'{tuple(t.shape)})')
    t._check_inplace(op)
    arr = np.asarray(draw(_gen(generator), tuple(t.shape))).astype(t._data.dtype, copy=False)
    if t.device.type != 'cpu':
        arr = to_device(arr, t.device)
    if _State.grad_enabled and t.requires_grad:   # the old values get no gradient
        return t._inplace(op, _overwrite, Tensor._make(arr))
    t._data[...] = arr
    t._version[0] += 1
    return t


@method('uniform_')
def uniform_(self, a=0.0, b=1.0, *, generator=None):
    """Fill with samples uniform on [a, b) (torch's ``from`` and ``to``).

    >>> x = ember.zeros(1000).uniform_(-2, 3); bool((x >= -2).all() and (x < 3).all())
    True
    """
    if a > b:
        raise RuntimeError(f'uniform_ expects to return a [from, to) range, but found '
                           f'from={a} > to={b}')

    def draw(rng, shape):
        if self._data.dtype == np.float32:   # [0, 1) in float32 itself: never rounds to 1
            return rng.random(shape, dtype=np.float32) * np.float32(b - a) + np.float32(a)
        return rng.random(shape) * (b - a) + a
    return _fill(self, 'uniform_', draw, generator)


@method('normal_')
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal samples of ``mean`` and ``std``.

    >>> float(ember.zeros(3).normal_(5.0, 0.0)[0])
    5.0
    """
    if not std >= 0:
        raise RuntimeError(f'normal expects std >= 0.0, but found std {std}')
    return _fill(self, 'normal_', lambda rng, s: rng.normal(mean, std, s), generator)


@method('bernoulli_')
def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 1 (probability ``p``, a number or a tensor broadcast to this one) or 0.

    >>> ember.zeros(3, dtype=ember.int64).bernoulli_(1.0)
    tensor([1, 1, 1])
    """
    prob = p._data if isinstance(p, Tensor) else p
    if isinstance(p, Tensor):
        from .backend import host
        prob = host(prob).astype(np.float64)
    if np.any(~((np.asarray(prob) >= 0) & (np.asarray(prob) <= 1))):
        raise RuntimeError(f'bernoulli_ expects p to be in [0, 1], but got p={p}')
    return _fill(self, 'bernoulli_', lambda rng, s: rng.random(s) < prob, generator,
                 float_only=False)


def _top(dt):
    """The largest value ``random_()`` draws for a dtype: 2**digits for floats (every integer
    up to it is exact), the dtype's maximum for integers, as torch."""
    if dt.kind == 'f':
        return 2 ** (np.finfo(dt).nmant + 1)
    return 1 if dt.kind == 'b' else int(np.iinfo(dt).max)


@method('random_')
def random_(self, *args, generator=None):
    """Fill with integers drawn uniformly: ``random_()`` from [0, 2**mantissa digits] (floats)
    or [0, max] (integers); ``random_(to)`` from [0, to); ``random_(from, to)`` from
    [from, to) (``to=None``: up to the maximum).

    >>> x = ember.zeros(100).random_(3, 7); sorted(set(x.tolist()))
    [3.0, 4.0, 5.0, 6.0]
    """
    if len(args) > 2:
        raise TypeError(f'random_() takes at most 2 arguments ({len(args)} given)')
    lo, hi = (0, None) if not args else (0, args[0]) if len(args) == 1 else args
    top = _top(self._data.dtype)
    if hi is not None and lo >= hi:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={lo} "
                           f'>= to={hi}')

    def draw(rng, shape):
        if hi is None:
            return rng.integers(lo, top, shape, endpoint=True)
        return rng.integers(lo, hi, shape)
    return _fill(self, 'random_', draw, generator, float_only=False)


@method('exponential_')
def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with exponential samples of rate ``lambd`` (mean ``1 / lambd``).

    >>> bool((ember.zeros(100).exponential_(2.0) >= 0).all())
    True
    """
    if not lambd > 0:
        raise RuntimeError(f'exponential_ expects lambda > 0.0, but found lambda={lambd}')
    return _fill(self, 'exponential_', lambda rng, s: rng.exponential(1 / lambd, s), generator)


@method('geometric_')
def geometric_(self, p, *, generator=None):
    """Fill with geometric samples: the number of trials (1, 2, ...) up to the first success
    of probability ``p``.

    >>> bool((ember.zeros(100).geometric_(0.3) >= 1).all())
    True
    """
    if not 0 < p < 1:
        raise RuntimeError(f'geometric_ expects p to be in (0, 1), but got p={p}')
    return _fill(self, 'geometric_', lambda rng, s: rng.geometric(p, s), generator,
                 float_only=False)


@method('cauchy_')
def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy samples of ``median`` and scale ``sigma``.

    >>> ember.zeros(2).cauchy_().shape
    ember.Size([2])
    """
    if not sigma > 0:
        raise RuntimeError(f'cauchy_ expects sigma > 0.0, but found sigma={sigma}')
    return _fill(self, 'cauchy_', lambda rng, s: median + sigma * rng.standard_cauchy(s),
                 generator)


@method('log_normal_')
def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with samples whose logarithm is normal of ``mean`` and ``std``.

    >>> bool((ember.zeros(100).log_normal_() > 0).all())
    True
    """
    if not std > 0:
        raise RuntimeError(f'log_normal_ expects std > 0.0, but found std={std}')
    return _fill(self, 'log_normal_', lambda rng, s: rng.lognormal(mean, std, s), generator)
