"""Random numbers: one seeded generator per device, and the random tensor factories.

Draws happen on the CPU generator (NumPy's PCG64) and are moved to the tensor's device, so a
seed gives the same numbers on every device and every run.
"""
import json

import numpy as np

from ._dtype import as_dtype, get_default_dtype
from ._creation import _leaf
from ._tensor import Tensor, _size, tensor
from .backend import device as Device

DEFAULT_SEED = 67280421310721   # PyTorch's default CPU seed


class Generator:
    """A random number generator with a seed and a saveable state, like ``torch.Generator``.

    >>> g = ember.Generator().manual_seed(3)
    >>> a = ember.rand(2, generator=g); g.manual_seed(3); b = ember.rand(2, generator=g)
    <ember.random.Generator object at ...>
    >>> bool((a == b).all())
    True
    """

    def __init__(self, device='cpu'):
        self.device = Device(device)
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed):
        """Seed this generator (the same seed, the same numbers); returns the generator.

        >>> g = ember.Generator().manual_seed(7); g.initial_seed()
        7
        """
        self._seed = int(seed)
        self.np = np.random.Generator(np.random.PCG64(self._seed & (2**64 - 1)))
        return self

    def seed(self):
        """Seed this generator from the OS's entropy; returns the seed.

        >>> g = ember.Generator(); s = g.seed(); g.initial_seed() == s
        True
        """
        s = int(np.random.SeedSequence().entropy) & (2**63 - 1)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        """The seed this generator was last seeded with.

        >>> ember.Generator().manual_seed(5).initial_seed()
        5
        """
        return self._seed

    def get_state(self):
        """The state as a uint8 tensor (JSON bytes; restore with ``set_state``).

        >>> ember.Generator().get_state().dtype
        ember.uint8
        """
        state = {'seed': self._seed, 'bit_generator': self.np.bit_generator.state}
        raw = json.dumps(state).encode()
        return tensor(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, state):
        """Restore a state from ``get_state``; returns the generator.

        >>> g = ember.Generator(); s = g.get_state(); a = ember.rand(2, generator=g)
        >>> bool((a == ember.rand(2, generator=g.set_state(s))).all())
        True
        """
        raw = bytes(np.asarray(state._data if isinstance(state, Tensor) else state,
                               dtype=np.uint8))
        try:
            s = json.loads(raw.decode())
            self.manual_seed(s['seed'])
            self.np.bit_generator.state = s['bit_generator']
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f'Generator.set_state: not a state from get_state ({e})') from None
        return self


default_generator = Generator()


def manual_seed(seed):
    """Seed every device's default generator; the same seed gives the same numbers.

    >>> _ = ember.manual_seed(0); a = ember.randn(3)
    >>> _ = ember.manual_seed(0); bool((a == ember.randn(3)).all())
    True
    """
    default_generator.manual_seed(seed)
    return default_generator


def seed():
    """Seed the default generator from the OS's entropy and return the seed.

    >>> state = ember.get_rng_state(); s = ember.seed(); ember.initial_seed() == s
    True
    >>> ember.set_rng_state(state)   # (as it was, for the examples that follow)
    """
    return default_generator.seed()


def initial_seed():
    """The seed the default generator was last seeded with.

    >>> state = ember.get_rng_state(); _ = ember.manual_seed(11); ember.initial_seed()
    11
    >>> ember.set_rng_state(state)
    """
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state as a uint8 tensor.

    >>> s = ember.get_rng_state(); a = ember.rand(2); ember.set_rng_state(s)
    >>> bool((a == ember.rand(2)).all())
    True
    """
    return default_generator.get_state()


def set_rng_state(state):
    """Restore a state from ``get_rng_state``.

    >>> s = ember.get_rng_state(); a = ember.randn(2); ember.set_rng_state(s)
    >>> bool((a == ember.randn(2)).all())
    True
    """
    default_generator.set_state(state)


def _gen(generator):
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f'random: generator must be an ember.Generator, got '
                        f'{type(generator).__name__}')
    return (generator or default_generator).np


def _out(arr, dtype, device, requires_grad, float_only=True, op='random'):
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    if float_only and not (dt.is_floating_point or dt.is_complex):
        raise TypeError(f'{op}: expected a floating-point or complex dtype, got {dt}')
    return _leaf(arr.astype(dt.np, copy=False), device, requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples from [0, 1).

    >>> ember.rand(2, 3).shape
    ember.Size([2, 3])
    """
    shape, cx = _complex_shape(size, dtype, 'rand')
    arr = _gen(generator).random(shape)
    return _out(arr.view(np.complex128)[..., 0] if cx else arr, dtype, device, requires_grad,
                op='rand')


def _complex_shape(size, dtype, op):
    """The shape to draw and whether the dtype is complex: a complex sample draws its real and
    imaginary parts as a last axis of two (torch's complex rand and randn draw both parts)."""
    shape = _size(size, op)
    cx = dtype is not None and as_dtype(dtype).is_complex
    return (shape + (2,) if cx else shape), cx


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples.

    A complex dtype draws real and imaginary parts each of variance 1/2 (as torch), so that
    ``|z|**2`` has mean 1.

    >>> ember.randn(4).dtype, ember.randn(2, dtype=ember.complex64).dtype
    (ember.float32, ember.complex64)
    """
    shape, cx = _complex_shape(size, dtype, 'randn')
    arr = _gen(generator).standard_normal(shape)
    if cx:
        arr = (arr * np.sqrt(0.5)).view(np.complex128)[..., 0]
    return _out(arr, dtype, device, requires_grad, op='randn')


def randint(low, high=None, size=None, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers drawn uniformly from [low, high) (int64 by default): ``randint(low, high,
    size)`` or ``randint(high, size)``, as torch.

    >>> v = ember.randint(0, 10, (5,)); bool(((v >= 0) & (v < 10)).all())
    True
    >>> ember.randint(3, (4,)).shape
    ember.Size([4])
    """
    if size is None and isinstance(high, (tuple, list)):   # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError('randint: size is required, e.g. randint(0, 10, (3,))')
    for name, v in (('low', low), ('high', high)):
        if isinstance(v, Tensor) and v.numel() == 1 and not v.dtype.is_floating_point:
            v = v.item()
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise TypeError(f'randint: {name} must be an int, got {type(v).__name__} {v!r}')
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(f"randint: random_ expects 'from' to be less than 'to', but got "
                           f'from={low} >= to={high}')
    arr = _gen(generator).integers(low, high, _size((size,) if isinstance(size, int) else size,
                                                    'randint'))
    return _out(arr, dtype or 'int64', device, requires_grad, float_only=False)


def randperm(n, generator=None, dtype=None, device=None):
    """A random permutation of 0..n-1.

    >>> sorted(ember.randperm(4).tolist())
    [0, 1, 2, 3]
    """
    if isinstance(n, Tensor) and n.numel() == 1 and not n.dtype.is_floating_point:
        n = n.item()
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"randperm(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f'randperm: n must be non-negative, got {n}')
    return _out(_gen(generator).permutation(n), dtype or 'int64', device, False, False)


def normal(mean=0.0, std=1.0, size=None, generator=None, dtype=None, device=None,
           requires_grad=False):
    """Normal samples: ``normal(mean, std, size)``, or elementwise tensor means and stds.

    >>> ember.normal(2.0, 0.0, (3,))
    tensor([2., 2., 2.])
    """
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if np.any(np.asarray(s) < 0):
            raise RuntimeError('normal: expects all elements of std >= 0.0')
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        ref = mean if isinstance(mean, Tensor) else std
        arr = _gen(generator).normal(np.asarray(m, np.float64), np.asarray(s, np.float64), shape)
        return _out(arr, dtype or ref.dtype, device or ref.device, requires_grad, op='normal')
    if not std >= 0:
        raise RuntimeError(f'normal: expects std >= 0.0, but found std {std}')
    if size is None:
        size = ()
    shape = _size((size,) if isinstance(size, int) else size, 'normal')
    return _out(_gen(generator).normal(mean, std, shape), dtype, device, requires_grad,
                op='normal')


def rand_like(t, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform [0, 1) samples shaped like ``t``.

    >>> ember.rand_like(ember.zeros(2, 2)).shape
    ember.Size([2, 2])
    """
    return rand(*t.shape, generator=generator, dtype=dtype or t.dtype,
                device=device or t.device, requires_grad=requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples shaped like ``t``.

    >>> ember.randn_like(ember.zeros(3)).shape
    ember.Size([3])
    """
    return randn(*t.shape, generator=generator, dtype=dtype or t.dtype,
                 device=device or t.device, requires_grad=requires_grad)
