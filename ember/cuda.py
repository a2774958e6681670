"""``ember.cuda``: whether a GPU can be used, and its housekeeping (CuPy underneath)."""
from .backend import cuda as _cuda


def is_available():
    """True when CuPy is installed and sees a CUDA device.

    >>> isinstance(ember.cuda.is_available(), bool)
    True
    """
    return _cuda.is_available()


def device_count():
    """The number of visible CUDA devices (0 without CuPy)."""
    return _cuda.device_count()


def synchronize():
    """Wait for the current device's queued work to finish (no-op without a GPU)."""
    _cuda.synchronize()


def manual_seed(seed):
    """Seed the generator used for CUDA tensors (ember draws on the CPU, so this is the CPU
    generator's seed: the same numbers on both devices)."""
    from .random import manual_seed as seed_all
    seed_all(seed)


manual_seed_all = manual_seed
