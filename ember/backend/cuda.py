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
