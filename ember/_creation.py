"""Creating tensors: from data (``tensor``, ``as_tensor``, ``from_numpy``, ``from_dlpack``),
filled (``zeros``, ``ones``, ``full``, ``empty`` and their ``_like`` forms) and ranges
(``arange``, ``linspace``, ``eye``)."""
import numpy as np

from . import _dtype
from ._dtype import as_dtype, check_fits, from_np, get_default_dtype
from ._tensor import Tensor, _size
from .backend import device as Device, host, namespace, namespace_for, to_device

__all__ = ['tensor', 'as_tensor', 'from_numpy', 'from_dlpack', 'zeros', 'ones', 'empty', 'full',
           'zeros_like', 'ones_like', 'empty_like', 'full_like', 'arange', 'linspace', 'eye',
           'is_tensor', 'numel', 'get_xp', 'set_default_device', 'get_default_device']


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (lists, numbers, arrays, tensors).

    Python floats give the default dtype (float32), ints int64, bools bool; NumPy arrays keep
    their dtype.

    >>> ember.tensor([[1, 2], [3, 4]])
    tensor([[1, 2],
            [3, 4]])
    >>> ember.tensor([0.5, 1.5], requires_grad=True)
    tensor([0.5000, 1.5000], requires_grad=True)
    """
    return _leaf(_to_array(data, None if dtype is None else as_dtype(dtype)), device,
                 requires_grad)


_default_device = None   # set_default_device's; None: 'cpu', where arrays are made


def set_default_device(device):
    """The device factories (``tensor``, ``zeros``, ``rand``...) use when given none, as
    torch's; ``None`` restores 'cpu'.

    >>> ember.set_default_device('cpu'); ember.zeros(1).device
    device(type='cpu')
    >>> ember.set_default_device(None)
    """
    global _default_device
    dev = None if device is None else Device(device)
    _default_device = None if dev is None or dev.type == 'cpu' else dev


_outer_devices = []   # the defaults that `with ember.device(...)` blocks replaced


def _push_default_device(device):
    _outer_devices.append(_default_device)
    set_default_device(device)


def _pop_default_device():
    global _default_device
    _default_device = _outer_devices.pop()


def get_default_device():
    """The device factories use when given none (``set_default_device``).

    >>> ember.get_default_device()
    device(type='cpu')
    """
    return _default_device or Device('cpu')


def _leaf(arr, device=None, requires_grad=False):
    """A new leaf tensor holding ``arr``, moved to ``device`` (else the default device)."""
    if device is None:
        device = _default_device
    if device is not None:
        arr = to_device(arr, Device(device))
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad = True
    return t


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with a NumPy array or tensor when it can.

    >>> a = np.zeros(2, dtype=np.float32); t = ember.as_tensor(a); a[0] = 5; t
    tensor([5., 0.])
    """
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray) and (dtype is None or as_dtype(dtype).np == data.dtype) \
            and (Device(device).type == 'cpu' if device is not None else
                 _default_device is None):
        from_np(data.dtype)
        return Tensor._make(data)
    return tensor(data, dtype, device)


def from_numpy(arr):
    """A tensor sharing memory with a NumPy array (which keeps its dtype).

    >>> ember.from_numpy(np.arange(3))
    tensor([0, 1, 2])
    """
    if not isinstance(arr, np.ndarray):
        raise TypeError(f'from_numpy: expected np.ndarray, got {type(arr).__name__}')
    from_np(arr.dtype)
    return Tensor._make(arr)


def from_dlpack(ext):
    """A tensor sharing memory with any DLPack producer (NumPy, CuPy, PyTorch, ...).

    >>> ember.from_dlpack(np.arange(3.0))
    tensor([0., 1., 2.], dtype=ember.float64)
    """
    if hasattr(ext, '__dlpack_device__') and ext.__dlpack_device__()[0] == 2:   # kDLCUDA
        from .backend import cuda_backend
        return Tensor._make(cuda_backend().xp.from_dlpack(ext))
    return Tensor._make(np.from_dlpack(ext))


def _factory(fill, name):
    def make(*size, dtype=None, device=None, requires_grad=False):
        dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = namespace_for(Device(device)) if device is not None else np
        if device is not None and Device(device).type == 'cuda':
            from .backend import cuda_backend
            with cuda_backend().xp.cuda.Device(Device(device).index or 0):
                arr = fill(xp, _size(size, name), dt.np)
        else:
            arr = fill(xp, _size(size, name), dt.np)
        return _leaf(arr, device, requires_grad)
    return make


zeros = _factory(lambda xp, s, d: xp.zeros(s, d), 'zeros')
ones = _factory(lambda xp, s, d: xp.ones(s, d), 'ones')
empty = _factory(lambda xp, s, d: xp.zeros(s, d), 'empty')   # ember's empty is zero-filled
zeros.__doc__ = """Zeros of a shape. ``ember.zeros(2, 3)`` or ``ember.zeros((2, 3))``.

    >>> ember.zeros(2, dtype=ember.int64)
    tensor([0, 0])
    """
ones.__doc__ = """Ones of a shape.

    >>> ember.ones(2, 2)
    tensor([[1., 1.],
            [1., 1.]])
    """
empty.__doc__ = """An uninitialised tensor in PyTorch; zero-filled in ember.

    >>> ember.empty(2).shape
    ember.Size([2])
    """


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``size`` filled with ``fill_value`` (its dtype inferred as torch does).

    >>> ember.full((2,), 7)
    tensor([7, 7])
    """
    fill_value = _number('full', 'fill_value', fill_value)
    if dtype is None:
        dtype = _dtype.result_type(fill_value)
    shape = _size((size,) if isinstance(size, int) else tuple(size), 'full')
    t = zeros(*shape, dtype=dtype, device=device)
    check_fits('full', fill_value, t._data.dtype)
    with np.errstate(all='ignore'):
        t._data.fill(fill_value)
    return t.requires_grad_(requires_grad) if requires_grad else t


def _number(op, name, v):
    """A Python number from a number or a one-element tensor, else torch's TypeError."""
    if isinstance(v, Tensor) and v.numel() == 1:
        return v.item()
    if isinstance(v, (bool, int, float, complex, np.number, np.bool_)):
        return v
    raise TypeError(f"{op}(): argument '{name}' must be a number, not {type(v).__name__}"
                    + (f' of shape {tuple(v.shape)}' if isinstance(v, Tensor) else ''))


def _like(fn):
    def make(t, dtype=None, device=None, requires_grad=False, **kw):
        return fn(*t.shape, dtype=dtype or t.dtype, device=device or t.device,
                  requires_grad=requires_grad, **kw)
    return make


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
zeros_like.__doc__ = ('Zeros shaped like a tensor.\n\n    >>> ember.zeros_like(ember.ones(2))\n'
                      '    tensor([0., 0.])\n    ')
ones_like.__doc__ = ('Ones shaped like a tensor.\n\n    >>> ember.ones_like(ember.zeros(2))\n'
                     '    tensor([1., 1.])\n    ')
empty_like.__doc__ = ('A zero-filled tensor shaped like another.\n\n'
                      '    >>> ember.empty_like(ember.ones(2)).shape\n    ember.Size([2])\n    ')


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor shaped like ``t`` filled with ``fill_value``.

    >>> ember.full_like(ember.zeros(2), 4)
    tensor([4., 4.])
    """
    return full(tuple(t.shape), fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` up to (not including) ``end`` by ``step``.

    >>> ember.arange(4)
    tensor([0, 1, 2, 3])
    >>> ember.arange(0, 1, 0.25)
    tensor([0.0000, 0.2500, 0.5000, 0.7500])
    """
    if end is None:
        start, end = 0, start
    vals = [_number('arange', n, v) for n, v in (('start', start), ('end', end), ('step', step))]
    if vals[2] == 0:
        raise RuntimeError('arange: step must be nonzero')
    if not all(np.isfinite(vals)):
        raise RuntimeError(f'arange: unsupported range: {vals[0]} -> {vals[1]} (step '
                           f'{vals[2]})')
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError(f'arange: upper bound and lower bound inconsistent with step sign '
                           f'(start={vals[0]}, end={vals[1]}, step={vals[2]})')
    dt = as_dtype(dtype) if dtype is not None else _dtype.result_type(*vals)
    n = max(int(np.ceil((vals[1] - vals[0]) / vals[2])), 0)
    if n >= 2 ** 63:
        raise RuntimeError(f'arange: invalid size {n} (start={vals[0]}, end={vals[1]}, '
                           f'step={vals[2]}), possible overflow?')
    xp = namespace_for(Device(device)) if device is not None else np   # made there: no copy
    if all(isinstance(v, (int, np.integer)) for v in vals):   # exact in int64: one launch
        arr = xp.arange(vals[0], vals[0] + n * vals[2], vals[2], dtype=np.int64)
    else:   # start + i * step in float64, as torch
        arr = vals[0] + xp.arange(n, dtype=np.float64) * vals[2]
    return _leaf(arr.astype(dt.np, copy=False), device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    >>> ember.linspace(0, 1, 5)
    tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    start, end = _number('linspace', 'start', start), _number('linspace', 'end', end)
    if isinstance(steps, Tensor) or not isinstance(steps, (int, np.integer)) \
            or isinstance(steps, bool):
        raise TypeError(f"linspace(): argument 'steps' must be int, not "
                        f'{type(steps).__name__}')
    if steps < 0:
        raise RuntimeError(f'linspace: number of steps must be non-negative, got {steps}')
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    with np.errstate(all='ignore'):   # inf or nan ends give nan, silently, as torch
        arr = np.linspace(start, end, steps).astype(dt.np)
    return tensor(arr, device=device, requires_grad=requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The identity matrix, ``n`` by ``m`` (``m`` defaults to ``n``).

    >>> ember.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    for name, v in (('n', n), ('m', m)):
        if v is None and name == 'm':
            continue
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise TypeError(f"eye(): argument '{name}' must be int, not {type(v).__name__}")
        if v < 0:
            raise RuntimeError(f'eye: {name} must be greater or equal to 0, got {v}')
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    return tensor(np.eye(n, m, dtype=dt.np), device=device, requires_grad=requires_grad)


def is_tensor(obj):
    """True for an ember Tensor (a Parameter too).

    >>> ember.is_tensor(ember.ones(1)), ember.is_tensor([1.0])
    (True, False)
    """
    return isinstance(obj, Tensor)


def numel(t):
    """The number of elements of a tensor.

    >>> ember.numel(ember.ones(2, 3))
    6
    """
    return t.numel()


def get_xp(t):
    """The array namespace (NumPy or CuPy) a tensor's data lives in."""
    return namespace(t._data)


# ---------------------------------------------------------------- data to arrays

def _ragged(data, depth=0):
    """Where nested lists stop being rectangular (torch's wording), or None."""
    def seq(d):
        return isinstance(d, (list, tuple)) or (isinstance(d, np.ndarray) and d.ndim > 0)
    if not seq(data) or not len(data):
        return None
    kinds = [seq(d) for d in data]
    if any(kinds) and not all(kinds):
        return f'expected a sequence at dim {depth + 1} (got a number)'
    if not all(kinds):
        return None
    n = len(data[0])
    for d in data:
        if len(d) != n:
            return f'expected sequence of length {n} at dim {depth + 1} (got {len(d)})'
    for d in data:
        r = _ragged(d, depth + 1) if not isinstance(d, np.ndarray) else None
        if r:
            return r
    return None


def _to_array(data, dt=None):
    """An array from Python data, NumPy/CuPy arrays or tensors; Python floats -> default dtype.
    Casts are silent, as torch's (1e300 to float32 is inf; a NumPy nan to int64 undefined)."""
    with np.errstate(all='ignore'):
        return _array_of(data, dt)


def _array_of(data, dt):
    if isinstance(data, Tensor):
        arr = data._data
        return arr.copy() if dt is None else arr.astype(dt.np)
    if hasattr(data, '__cuda_array_interface__'):
        arr = namespace_for(Device('cuda')).array(data, copy=True)
        return arr if dt is None else arr.astype(dt.np)
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        arr = np.array(data, dtype=None if dt is None else dt.np)
    else:
        if isinstance(data, (list, tuple)):
            data = _unwrap_nested(data)
        try:
            arr = np.array(data)
        except (ValueError, OverflowError) as e:   # looked into only when NumPy refuses
            bad = _ragged(data)
            raise ValueError(f'tensor: {bad}: nested lists must be rectangular' if bad else
                             f'tensor: could not make a tensor of {type(data).__name__} data '
                             f'({e})') from None
        if arr.dtype.kind == 'O' and any(isinstance(v, int) for v in arr.flat):
            raise RuntimeError('tensor: an integer is out of the range of int64')
        if dt is not None:
            check_fits('tensor', arr, dt.np)
            arr = arr.astype(dt.np)
        elif arr.dtype.kind == 'f':
            arr = arr.astype(get_default_dtype().np)
        elif arr.dtype.kind in 'iu':
            arr = arr.astype(np.int64)
        elif arr.dtype.kind == 'c':   # Python complex numbers: the default complex dtype
            arr = arr.astype(_dtype.default_complex().np)
        elif arr.dtype.kind not in 'b':
            what = {'U': 'strings', 'S': 'bytes'}.get(arr.dtype.kind,
                                                      f'{type(data).__name__} data')
            raise TypeError(f'tensor: could not infer a dtype from {what}; ember has bool, '
                            f'integer, floating-point and complex tensors')
    if arr.dtype.kind not in 'biufc' and arr.dtype.name != 'bfloat16':
        raise TypeError(f'tensor: unsupported data of dtype {arr.dtype}; ember has bool, '
                        f'integer, floating-point and complex tensors')
    from_np(arr.dtype)
    return arr


def _unwrap_nested(data):
    return [_unwrap_nested(d) if isinstance(d, (list, tuple)) else
            (host(d._data) if isinstance(d, Tensor) else d) for d in data]
