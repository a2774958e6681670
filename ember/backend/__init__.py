"""The compute layer: one place that maps a device to its array namespace (``xp``).

``cpu`` runs on NumPy (``backend/cpu.py``), ``cuda`` on CuPy (``backend/cuda.py``). Op code
never imports NumPy or CuPy: it asks for ``xp`` here, by the device of its inputs.
"""
import numpy as np

from . import cpu


class device:
    """Where a tensor's memory lives: ``ember.device('cpu')`` or ``ember.device('cuda:0')``.

    >>> ember.device('cuda:1')
    device(type='cuda', index=1)
    >>> ember.zeros(2).device
    device(type='cpu')

    As a context manager it is the default device of the factories inside, as torch's:

    >>> with ember.device('cpu'):
    ...     ember.zeros(2).device
    device(type='cpu')
    """
    __slots__ = ('type', 'index')

    def __init__(self, spec, index=None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index
        if not isinstance(spec, str):
            raise TypeError(f'device: expected a string such as "cpu" or "cuda:0", got {spec!r}')
        kind, _, num = spec.partition(':')
        if kind not in ('cpu', 'cuda'):
            raise RuntimeError(f'device: unknown device type {kind!r}; ember has "cpu" and "cuda"')
        if num:
            if not num.isdigit():
                raise RuntimeError(f'device: invalid device string {spec!r}')
            index = int(num)
        self.type, self.index = kind, index

    def __repr__(self):
        idx = '' if self.index is None else f', index={self.index}'
        return f"device(type='{self.type}'{idx})"

    def __str__(self):
        return self.type if self.index is None else f'{self.type}:{self.index}'

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return (isinstance(other, device) and self.type == other.type
                and (self.index or 0) == (other.index or 0))

    def __hash__(self):
        return hash((self.type, self.index or 0))

    def __enter__(self):
        from .._creation import _push_default_device
        _push_default_device(self)
        return self

    def __exit__(self, *exc):
        from .._creation import _pop_default_device
        _pop_default_device()


CPU = device('cpu')


def cuda_backend():
    """The CUDA backend module, or a clear error saying why it cannot be used."""
    from . import cuda
    cuda.require()
    return cuda


def namespace(arr):
    """``xp`` for an array: NumPy for NumPy arrays and scalars (what a ufunc returns for 0-d
    arrays), CuPy for CuPy arrays.

    >>> ember.backend.namespace(np.zeros(1)) is np
    True
    """
    if type(arr) is np.ndarray or isinstance(arr, np.generic):
        return np
    traced = getattr(type(arr), 'traced_namespace', None)   # ember.compile's tracer
    if traced is not None:
        return arr.traced_namespace
    from . import cuda
    return cuda.xp


def traced(arr):
    """Whether ``arr`` is ``ember.compile``'s tracing stand-in for an array."""
    return getattr(type(arr), 'traced_namespace', None) is not None


def traced_cpu(arr):
    """Whether ``arr`` is ``ember.compile``'s stand-in for a NumPy array (a CPU path's test
    ``type(a) is np.ndarray``, for a traced one: its GPU twin takes the GPU path)."""
    return traced(arr) and type(arr.v) is np.ndarray


def array_device(arr):
    """The ``ember.device`` an array lives on: cpu for NumPy, ``cuda:<n>`` for CuPy.

    >>> ember.backend.array_device(np.zeros(1))
    device(type='cpu')
    """
    if type(arr) is np.ndarray or isinstance(arr, np.generic):
        return CPU
    if getattr(type(arr), 'traced_namespace', None) is not None:
        return array_device(arr.v)
    return device('cuda', arr.device.id)


def to_device(arr, dev, non_blocking=False):
    """Copy an array to a device (no copy when it is there already); ``non_blocking``: from
    pinned host memory to a GPU, without waiting for the copy."""
    if dev.type == 'cpu':
        return arr if type(arr) is np.ndarray or traced_cpu(arr) else host(arr)
    cuda = cuda_backend()
    return cuda.to_device(arr, dev.index or 0, non_blocking)


def host(arr):
    """A device array's values on the host (raising any queued GPU check first)."""
    if type(arr) is np.ndarray:
        return arr
    if traced(arr):
        import sys
        arr.cap.brk(f'{sys._getframe(1).f_code.co_name}() read the values')
        return arr.v
    from . import cuda
    cuda.raise_pending()
    return arr.get()


def outside(ids, high, skip=None):
    """Whether any integer in ``ids`` lies outside ``[0, high)`` (``skip`` excepted), as a 0-d
    bool array: two reductions on the CPU (without ``skip``), one kernel on the GPU (the
    composite was five launches).

    >>> bool(outside(np.array([0, 3, 2]), 3)), bool(outside(np.array([0, -100]), 3, skip=-100))
    (True, False)
    """
    if traced(ids):   # (ember.compile: the check becomes part of the program)
        bad = (ids < 0) | (ids >= high)
        return (bad if skip is None else bad & (ids != skip)).any()
    if type(ids) is np.ndarray:
        if skip is None:
            return np.asarray(ids.size > 0 and (ids.min() < 0 or ids.max() >= high))
        return np.asarray((((ids < 0) | (ids >= high)) & (ids != skip)).any())
    from . import cuda
    if not cuda.KERNELS[0]:
        bad = (ids < 0) | (ids >= high)
        return (bad if skip is None else bad & (ids != skip)).any()
    return cuda.kernel('ember_outside')(ids, high, 0 if skip is None else skip,
                                        skip is not None)


def check_later(bad, message):
    """``bad`` (a 0-d bool array) must be False, else ``IndexError(message())``: at once on
    the CPU, at the next sync on the GPU (``backend/cuda.py``)."""
    if traced(bad):
        bad.cap.check(bad, message)
        return
    if type(bad) is np.ndarray or isinstance(bad, np.bool_):
        if bad:
            raise IndexError(message())
        return
    from . import cuda
    cuda.check_later(bad, message)


def namespace_for(dev):
    if dev.type == 'cpu':
        return np
    return cuda_backend().xp


def scatter_add(xp, out, idx, values):
    """``out[idx] += values`` with repeated positions adding up, in place (``np.add.at``;
    ``cupyx.scatter_add`` on the GPU)."""
    if xp is np:
        np.add.at(out, idx, values)
        return
    import cupyx
    if traced(out):   # (ember.compile on the GPU: one node, writing out)
        out.cap.call(cupyx.scatter_add, (out, idx, values), {}, writes=(out,))
    else:
        cupyx.scatter_add(out, idx, values)
