"""A CPU stand-in for CuPy, strict where CuPy is strict, to run ember's CUDA paths without a GPU.

``EMBER_FAKE_CUPY=1`` (read by the root ``conftest.py``) installs this module as ``cupy``
before ember is imported; with ``EMBER_TEST_DEVICE=cuda`` the tests then put ember's tensors
on a "cuda" device whose arrays are this module's ``ndarray`` while PyTorch stays on the CPU.
It catches the mistakes a GPU run would otherwise be spent finding:

- a device array that meets a NumPy array in an operation (CuPy raises ``TypeError``);
- a device array handed to NumPy for conversion (``np.asarray(x)`` raises, as in CuPy);
- code that expects NumPy scalars back: reductions and scalar indexing give 0-d arrays.

It is NumPy underneath, so it cannot find what only the GPU shows (CuPy's missing functions,
kernel limits, speed). Every NumPy function is offered; ``asarray``/``array`` move host data
"to the device", ``asnumpy``/``.get()`` bring it back. Index arrays may be NumPy arrays (CuPy
copies them over); values and operands may not.
"""
import operator
import sys
import types

import numpy as np


class _Device:
    id = 0

    def __init__(self, index=0):
        self.id = index

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        pass


def _unwrap(v, where):
    if type(v) is ndarray:
        return v._a
    if isinstance(v, np.ndarray):
        raise TypeError(f'Unsupported type {type(v)} (fake CuPy: a NumPy array met a device '
                        f'array in {where})')
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(x, where) for x in v)
    return v


def _wrap(v):
    if isinstance(v, np.ndarray):
        if not v.flags.writeable:   # CuPy's views (diagonal, broadcast) are all writable
            try:
                v.flags.writeable = True
            except ValueError:
                pass
        return ndarray(v)
    if isinstance(v, np.generic) and not isinstance(v, np.dtype):
        return ndarray(np.asarray(v))
    if isinstance(v, tuple):
        return tuple(_wrap(x) for x in v)
    if isinstance(v, list):
        return [_wrap(x) for x in v]
    return v


def _index(idx):
    if isinstance(idx, tuple):
        return tuple(_index(i) for i in idx)
    return idx._a if type(idx) is ndarray else idx


def _call(fn, args, kwargs, where):
    args = _unwrap(args, where)
    kwargs = {k: _unwrap(v, where) for k, v in kwargs.items()}
    out = fn(*args, **kwargs)
    if 'matmul' in where and args[0].dtype.name == 'bfloat16':   # CuPy's answers bfloat16
        out = out.astype(args[0].dtype)
    return _wrap(out)


class ndarray:
    """A device array: a NumPy array that refuses to mix with NumPy arrays."""
    __slots__ = ('_a',)
    __array_priority__ = 10000

    def __init__(self, a):
        self._a = a

    def __array__(self, *args, **kwargs):
        raise TypeError('Implicit conversion to a NumPy array is not allowed. Please use '
                        '`.get()` to construct a NumPy array explicitly.')

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get('out')
        res = _call(getattr(ufunc, method), inputs, kwargs, f'numpy.{ufunc.__name__}')
        return out[0] if out is not None and len(out) == 1 else res

    def __array_function__(self, func, types_, args, kwargs):
        return _call(func, args, kwargs, f'numpy.{func.__name__}')

    def __dlpack__(self, *args, **kwargs):
        return self._a.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return (2, 0)   # kDLCUDA, device 0

    @property
    def device(self):
        return _Device(0)

    @property
    def data(self):
        return self._a.ctypes.data

    def get(self, stream=None, order='C', out=None):
        return np.array(self._a, order=order)

    def set(self, arr):
        self._a[...] = arr

    def __getattr__(self, name):
        v = getattr(self._a, name)
        if callable(v):
            return lambda *a, **k: _call(v, a, k, f'ndarray.{name}')
        return _wrap(v)

    def __getitem__(self, idx):
        return _wrap(self._a[_index(idx)])

    def __setitem__(self, idx, value):
        self._a[_index(idx)] = _unwrap(value, 'ndarray.__setitem__')

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (ndarray(np.asarray(x)) for x in self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __repr__(self):
        return repr(self._a).replace('array', 'fakecupy.array', 1)

    def __copy__(self):
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray(self._a.copy())

    def __reduce__(self):
        raise TypeError('fake CuPy arrays are not pickled')


def _binary(name):
    op = getattr(operator, name)

    def method(self, other):
        return _call(op, (self, other), {}, f'ndarray.__{name}__')

    def reflected(self, other):
        return _call(op, (other, self), {}, f'ndarray.__r{name}__')
    return method, reflected


for _name in ('add', 'sub', 'mul', 'truediv', 'floordiv', 'mod', 'pow', 'matmul', 'and_',
              'or_', 'xor', 'lshift', 'rshift'):
    _m, _r = _binary(_name)
    _d = _name.rstrip('_')
    setattr(ndarray, f'__{_d}__', _m)
    setattr(ndarray, f'__r{_d}__', _r)

    def _inplace(self, other, _op=getattr(operator, f'i{_d}'), _d=_d):
        _op(self._a, _unwrap(other, f'ndarray.__i{_d}__'))
        return self
    setattr(ndarray, f'__i{_d}__', _inplace)

for _name in ('lt', 'le', 'eq', 'ne', 'gt', 'ge'):
    setattr(ndarray, f'__{_name}__', _binary(_name)[0])
for _name in ('neg', 'pos', 'abs', 'invert'):
    setattr(ndarray, f'__{_name}__',
            lambda self, _op=getattr(operator, _name): ndarray(np.asarray(_op(self._a))))
ndarray.__hash__ = None


class _Ufunc:
    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__

    def __call__(self, *args, **kwargs):
        out = kwargs.get('out')
        res = _call(self._uf, args, kwargs, f'cupy.{self.__name__}')
        return out if out is not None and type(out) is ndarray else res

    def __getattr__(self, name):
        v = getattr(self._uf, name)
        if callable(v):
            return lambda *a, **k: _call(v, a, k, f'cupy.{self.__name__}.{name}')
        return v


def _function(fn, qual):
    def f(*args, **kwargs):
        out = kwargs.get('out')
        res = _call(fn, args, kwargs, qual)
        return out if out is not None and type(out) is ndarray else res
    f.__name__ = getattr(fn, '__name__', qual)
    return f


def _namespace(mod, prefix):
    """A module whose functions are ``mod``'s, taking and giving device arrays."""
    m = types.ModuleType(prefix)

    def getattr_(name):
        v = getattr(mod, name)
        if isinstance(v, np.ufunc):
            return _Ufunc(v)
        if isinstance(v, types.ModuleType):
            return _namespace(v, f'{prefix}.{name}')
        if callable(v) and not isinstance(v, type):
            return _function(v, f'{prefix}.{name}')
        return v
    m.__getattr__ = getattr_
    return m


def asarray(a, dtype=None, order=None, **kwargs):
    if type(a) is ndarray:
        return a if dtype is None or a.dtype == dtype else ndarray(a._a.astype(dtype))
    return ndarray(np.array(_unwrap(a, 'cupy.asarray') if isinstance(a, (list, tuple)) else a,
                            dtype=dtype, order=order or 'K'))


def array(a, dtype=None, copy=True, order='K', ndmin=0):
    a = a._a if type(a) is ndarray else a
    return ndarray(np.array(a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))


def asnumpy(a, stream=None, order='C', out=None):
    return a.get() if type(a) is ndarray else np.asarray(a)


def ascontiguousarray(a, dtype=None):
    return ndarray(np.ascontiguousarray(_unwrap(a, 'cupy.ascontiguousarray'), dtype=dtype))


def from_dlpack(x):
    return ndarray(np.from_dlpack(x)) if not type(x) is ndarray else x


def _adam(g, b1, b2, step_size, bias2_sqrt, eps, decay, p, m, v):
    m[...] = b1 * m + (1 - b1) * g
    v[...] = b2 * v + (1 - b2) * g * g
    p[...] = p * decay - step_size * m / (np.sqrt(v) / bias2_sqrt + eps)


_KERNELS = {'ember_adam': _adam}   # NumPy twins of ember's CUDA kernels, by kernel name


class ElementwiseKernel:
    """Runs the NumPy twin of a kernel ember defines (``_KERNELS``); CUDA C cannot run here."""

    def __init__(self, in_params, out_params, operation, name='kernel', **kwargs):
        if name not in _KERNELS:
            raise NotImplementedError(f'fake CuPy has no NumPy twin of kernel {name!r}')
        self.fn, self.name = _KERNELS[name], name

    def __call__(self, *args):
        dtype = next(a._a.dtype for a in args if type(a) is ndarray)
        args = [a._a if type(a) is ndarray else dtype.type(_unwrap(a, self.name))
                for a in args]
        self.fn(*args)


class _MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        pass


_pool = _MemoryPool()


def get_default_memory_pool():
    return _pool


def get_array_module(*arrays):
    return sys.modules[__name__]


_runtime = types.SimpleNamespace(getDeviceCount=lambda: 1)
cuda = types.SimpleNamespace(Device=_Device, runtime=_runtime,
                             get_device_id=lambda: 0,
                             Stream=types.SimpleNamespace(null=None))
_numpy_ns = _namespace(np, 'cupy')
random = _namespace(np.random, 'cupy.random')
linalg = _namespace(np.linalg, 'cupy.linalg')
lib = types.SimpleNamespace(stride_tricks=_namespace(np.lib.stride_tricks,
                                                     'cupy.lib.stride_tricks'))
__version__ = 'fake'


def __getattr__(name):
    return getattr(_numpy_ns, name)


def _special(name):
    def f(x):
        from ember.backend import cpu   # NumPy lacks erf: ember's CPU kernels stand in
        return ndarray(getattr(cpu, name)(_unwrap(x, f'cupyx.scipy.special.{name}')))
    return f


def _ndtr(x):
    from ember.backend import cpu
    x = _unwrap(x, 'cupyx.scipy.special.ndtr')
    return ndarray(0.5 * cpu.erfc(x * x.dtype.type(-0.7071067811865476)))


def _scatter_add(a, slices, value):
    np.add.at(_unwrap(a, 'cupyx.scatter_add'), _index(slices),
              _unwrap(value, 'cupyx.scatter_add'))


def install():
    """Make ``import cupy`` (and ``cupyx``) give this stand-in (call before importing ember)."""
    sys.modules['cupy'] = sys.modules[__name__]
    special = types.ModuleType('cupyx.scipy.special')
    special.erf, special.erfc = _special('erf'), _special('erfc')
    special.ndtr = _ndtr
    scipy = types.ModuleType('cupyx.scipy')
    scipy.special = special
    cupyx = types.ModuleType('cupyx')
    cupyx.scipy, cupyx.scatter_add = scipy, _scatter_add
    sys.modules.update({'cupyx': cupyx, 'cupyx.scipy': scipy, 'cupyx.scipy.special': special})
