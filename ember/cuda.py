"""``ember.cuda``: whether a GPU can be used, and its housekeeping (CuPy underneath).

Memory figures are those of CuPy's default memory pool, which holds every device array ember
makes: ``memory_allocated`` is the bytes in live arrays, ``memory_reserved`` the bytes the pool
holds from the driver (torch's caching allocator counts the same two). The peak is tracked
from the first call of ``reset_peak_memory_stats`` or ``max_memory_allocated`` on (a counting
allocator is installed then; before that there is nothing to count with).

>>> isinstance(ember.cuda.is_available(), bool)
True
"""
from .backend import cuda as _cuda


def is_available():
    """True when CuPy is installed and sees a CUDA device.

    >>> isinstance(ember.cuda.is_available(), bool)
    True
    """
    return _cuda.is_available()


def device_count():
    """The number of visible CUDA devices (0 without CuPy).

    >>> ember.cuda.device_count() >= 0
    True
    """
    return _cuda.device_count()


def synchronize():
    """Wait for the current device's queued work to finish (no-op without a GPU).

    >>> ember.cuda.synchronize()
    """
    _cuda.synchronize()


def current_device():
    """The index of the current CUDA device.

    >>> ember.cuda.current_device() if ember.cuda.is_available() else 0
    0
    """
    _cuda.require()
    return _cuda.xp.cuda.runtime.getDevice()


def get_device_name(device=None):
    """The GPU's name, e.g. 'NVIDIA H200'.

    >>> isinstance(ember.cuda.get_device_name(), str) if ember.cuda.is_available() else True
    True
    """
    _cuda.require()
    index = _index(device)
    name = _cuda.xp.cuda.runtime.getDeviceProperties(index)['name']
    return name.decode() if isinstance(name, bytes) else name


def _index(device):
    if device is None:
        return _cuda.xp.cuda.runtime.getDevice()
    if isinstance(device, int):
        return device
    from .backend import device as Device
    return Device(device).index or 0


def memory_allocated(device=None):
    """Bytes held by live CUDA tensors (CuPy's pool: used bytes); 0 without a GPU.

    >>> ember.cuda.memory_allocated() >= 0
    True
    """
    return _cuda.pool_used() if is_available() else 0


def memory_reserved(device=None):
    """Bytes the memory pool holds from the driver, in use or cached; 0 without a GPU.

    >>> ember.cuda.memory_reserved() >= ember.cuda.memory_allocated()
    True
    """
    return _cuda.pool_total() if is_available() else 0


def max_memory_allocated(device=None):
    """The most bytes live CUDA tensors held since ``reset_peak_memory_stats`` (peaks are
    tracked from the first call of either function); 0 without a GPU.

    >>> ember.cuda.reset_peak_memory_stats()
    >>> ember.cuda.max_memory_allocated() >= ember.cuda.memory_allocated()
    True
    """
    return _cuda.peak_used() if is_available() else 0


def reset_peak_memory_stats(device=None):
    """Start the peak of ``max_memory_allocated`` again from the memory in use now.

    >>> ember.cuda.reset_peak_memory_stats()
    """
    if is_available():
        _cuda.reset_peak()


def empty_cache():
    """Give the pool's cached, unused blocks back to the driver (as torch.cuda.empty_cache).

    >>> ember.cuda.empty_cache()
    """
    if is_available():
        _cuda.xp.get_default_memory_pool().free_all_blocks()


def manual_seed(seed):
    """Seed the generator used for CUDA tensors (ember draws on the CPU, so this is the CPU
    generator's seed: the same numbers on both devices).

    >>> ember.cuda.manual_seed(0)
    """
    from .random import manual_seed as seed_all
    seed_all(seed)


manual_seed_all = manual_seed
