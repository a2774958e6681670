"""The CUDA backend: arrays are CuPy arrays. CuPy is optional (``pip install ember[gpu]``)."""
try:
    import cupy as xp
except ImportError:  # ember runs without CuPy; device='cuda' then raises a clear error
    xp = None

name = 'cuda'


def is_available():
    """True when CuPy imports and sees at least one CUDA device."""
    if xp is None:
        return False
    try:
        return xp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy present but no driver or no device
        return False


def device_count():
    return xp.cuda.runtime.getDeviceCount() if is_available() else 0


def require():
    if xp is None:
        raise RuntimeError("device 'cuda': CuPy is not installed; install the extra with "
                           "`pip install ember[gpu]` (needs an NVIDIA GPU and CUDA)")
    if not is_available():
        raise RuntimeError("device 'cuda': CuPy is installed but no CUDA device is visible")


def to_device(arr, index):
    with xp.cuda.Device(index):
        return xp.asarray(arr)


def synchronize():
    if is_available():
        xp.cuda.Device().synchronize()
        raise_pending()


class _PeakAllocator:
    """CuPy's pool allocator, noting the most bytes in use after each allocation."""

    def __init__(self, pool):
        self.pool, self.peak = pool, pool.used_bytes()

    def __call__(self, size):
        mem = self.pool.malloc(size)
        used = self.pool.used_bytes()
        if used > self.peak:
            self.peak = used
        return mem


_peak = []


def _tracker():
    if not _peak:
        tracker = _PeakAllocator(xp.get_default_memory_pool())
        xp.cuda.set_allocator(tracker)
        _peak.append(tracker)
    return _peak[0]


def pool_used():
    return xp.get_default_memory_pool().used_bytes()


def pool_total():
    return xp.get_default_memory_pool().total_bytes()


def peak_used():
    t = _tracker()
    t.peak = max(t.peak, pool_used())
    return t.peak


def reset_peak():
    _tracker().peak = pool_used()


def set_tf32(allow):
    """float32 matmuls on the tensor cores in TF32 (CuPy's compute type for float32)."""
    from cupy._core import _routines_linalg as linalg
    linalg.set_compute_type(xp.float32, linalg.COMPUTE_TYPE_TF32 if allow
                            else linalg.COMPUTE_TYPE_DEFAULT)


_kernels = {}


def adam_step(p, g, m, v, b1, b2, step_size, bias2_sqrt, eps, decay):
    """One Adam/AdamW update of ``p``, ``m``, ``v`` in place as one kernel (the composite
    is a dozen launches a parameter):
    ``m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p = decay p - step_size m / (sqrt(v)/bias2_sqrt + eps)``."""
    k = _kernels.get('adam')
    if k is None:
        k = _kernels['adam'] = xp.ElementwiseKernel(
            'T g, T b1, T b2, T step_size, T bias2_sqrt, T eps, T decay', 'T p, T m, T v',
            '''m = b1 * m + (1 - b1) * g;
               v = b2 * v + (1 - b2) * g * g;
               p = p * decay - step_size * m / (sqrt(v) / bias2_sqrt + eps);''',
            'ember_adam')
    k(g, b1, b2, step_size, bias2_sqrt, eps, decay, p, m, v)


# Argument checks that need values on the GPU (an index in range) would stop the host until
# the GPU catches up, every step. As CUDA's device-side asserts do, such a check is queued and
# raised at the next point where the host reads GPU data anyway (item, tolist, cpu, numpy,
# bool, ember.cuda.synchronize).
_pending = []


def check_later(bad, message):
    """Raise ``IndexError(message())`` at the next sync if the 0-d device bool ``bad`` holds."""
    _pending.append((bad, message))
    if len(_pending) > 64:
        raise_pending()


def raise_pending():
    while _pending:
        bad, message = _pending.pop(0)
        if bool(bad):
            _pending.clear()
            raise IndexError(message() + ' (a GPU check, raised at the first sync after the '
                             'op that failed it)')
