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
    def __cuda_array_interface__(self):   # (what ember.tensor(cupy_array) looks for)
        a = self._a
        return dict(shape=a.shape, typestr=a.dtype.str, data=(a.ctypes.data, False),
                    strides=None if a.flags.c_contiguous else a.strides, version=3)

    @property
    def device(self):
        return _Device(0)

    @property
    def data(self):   # CuPy's MemoryPointer: its .ptr is the address
        return types.SimpleNamespace(ptr=self._a.ctypes.data)

    def get(self, stream=None, order='C', out=None):
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        if type(arr) is not np.ndarray:
            raise TypeError(f'fake CuPy: set() takes a NumPy array, got {type(arr)}')
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


def _defers(self, other):
    """CuPy's ``_should_use_rop``: an operand of another type with a higher
    ``__array_priority__`` (ember.compile's tracer) takes the operator."""
    return type(other) is not ndarray and \
        getattr(other, '__array_priority__', 0) > self.__array_priority__


def _binary(name):
    op = getattr(operator, name)

    def method(self, other):
        if _defers(self, other):
            return NotImplemented
        return _call(op, (self, other), {}, f'ndarray.__{name}__')

    def reflected(self, other):
        if _defers(self, other):
            return NotImplemented
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
    return ndarray(np.from_dlpack(x)) if type(x) is not ndarray else x


# ---------------------------------------------------------------- ember's own kernels
# CUDA C cannot run here, but the bodies ember writes for CuPy's ElementwiseKernel and
# ReductionKernel are plain C++ expressions and statements: they are compiled with the host's
# C++ compiler inside a loop over the elements (``_PRELUDE`` gives the CUDA names they use),
# so the tests run the kernels' own code, not a NumPy twin of it.

_PRELUDE = r"""
#include <cmath>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <complex>
template <typename T> using complex = std::complex<T>;   // CuPy's complex<T> (thrust's)
using std::min; using std::max; using std::erf; using std::erfc; using std::exp;
using std::sqrt; using std::isnan;
#define __device__
#define __forceinline__ inline
typedef _Float16 float16;
struct bfloat16 {   // ml_dtypes' bfloat16: the top half of a float32, rounded to nearest even
    uint16_t bits;
    bfloat16() : bits(0) {}
    bfloat16(float f) { uint32_t b; std::memcpy(&b, &f, 4);
        bits = std::isnan(f) ? 0x7FC0 : (uint16_t)((b + 0x7FFF + ((b >> 16) & 1)) >> 16); }
    operator float() const { uint32_t b = (uint32_t)bits << 16; float f;
        std::memcpy(&f, &b, 4); return f; }
};
static inline unsigned int __float_as_uint(float f) { unsigned int b; std::memcpy(&b, &f, 4);
    return b; }
static inline float __uint_as_float(unsigned int b) { float f; std::memcpy(&f, &b, 4);
    return f; }
static inline float __int_as_float(int b) { float f; std::memcpy(&f, &b, 4); return f; }
static inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
static inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
static inline float normcdff(float x) { return 0.5f * std::erfc(-x * 0.70710678118654752f); }
static inline double normcdf(double x) { return 0.5 * std::erfc(-x * 0.70710678118654752); }
struct _Index { long long n; long long size() const { return n; } };
"""

_CTYPES = {'float16': 'float16', 'bfloat16': 'bfloat16', 'float32': 'float',
           'float64': 'double', 'int8': 'int8_t', 'int16': 'int16_t', 'int32': 'int32_t',
           'int64': 'long long', 'uint8': 'uint8_t', 'uint16': 'uint16_t',
           'uint32': 'uint32_t', 'uint64': 'unsigned long long', 'bool': 'bool',
           'complex64': 'complex<float>', 'complex128': 'complex<double>'}
_built = {}


def _ctype(t):
    """The C type of a parameter's type: a dtype name's, or the placeholder itself."""
    return _CTYPES.get(t, t)


def _params(spec):
    """``'raw T x, float32 y'`` -> [(raw, type, name)]."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(','))):
        words = part.split()
        out.append((words[0] == 'raw', words[-2], words[-1]))
    return out


def _build(source, symbol):
    """``symbol`` of ``source`` compiled by the host's g++ (cached by the source's hash)."""
    import ctypes
    import hashlib
    import os
    import subprocess
    import tempfile
    lib = _built.get(source)
    if lib is None:
        key = hashlib.sha1(source.encode()).hexdigest()[:16]
        folder = os.path.join(tempfile.gettempdir(), f'ember-fakecupy-{os.getuid()}')
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f'{key}.so')
        if not os.path.exists(path):
            tmp = f'{path}.{os.getpid()}'
            res = subprocess.run(['g++', '-std=c++17', '-O1', '-ffp-contract=off', '-shared',
                                  '-fPIC', '-x', 'c++', '-', '-o', tmp], input=source,
                                 capture_output=True, text=True)
            if res.returncode:
                raise RuntimeError(f'fake CuPy: the kernel does not compile as C++:\n'
                                   f'{res.stderr}\n{source}')
            os.replace(tmp, path)
        lib = _built[source] = ctypes.CDLL(path)
    return getattr(lib, symbol)


class _UserKernel:
    """What CuPy's ElementwiseKernel and ReductionKernel share: parameters whose types are
    dtype names or placeholders (``T``) bound by the arguments' dtypes."""

    def __init__(self, in_params, out_params, name, preamble):
        self.ins, self.outs = _params(in_params), _params(out_params)
        self.name, self.preamble = name, preamble

    def _bind(self, args, outs):
        """Placeholder -> NumPy dtype, from the arrays given (inputs, then outputs)."""
        types_ = {}
        for (raw, t, n), a in zip(self.ins + self.outs, list(args) + list(outs)):
            if t not in _CTYPES and type(a) is ndarray:
                if types_.setdefault(t, a._a.dtype) != a._a.dtype:
                    raise TypeError(f'{self.name}: type {t} is bound to both '
                                    f'{types_[t]} and {a._a.dtype}')
        return types_

    @staticmethod
    def _dtype(t, types_):
        return np.dtype(t) if t in _CTYPES else types_[t]

    def _header(self, types_):
        return _PRELUDE + ''.join(f'typedef {_CTYPES[d.name]} {t};\n'
                                  for t, d in types_.items()) + self.preamble + '\n'

    def _scalar(self, value, t, name, types_, params, values, decls):
        """A scalar argument: its C parameter (float types pass as double), its ctypes value
        and its declaration in the kernel's type, appended to the three lists."""
        import ctypes
        dtype = self._dtype(t, types_)
        if dtype.kind in 'fV':
            params.append(f'double _s_{name}')
            values.append(ctypes.c_double(float(value)))
        elif dtype.kind == 'b':
            params.append(f'bool _s_{name}')
            values.append(ctypes.c_bool(bool(value)))
        else:
            params.append(f'long long _s_{name}')
            values.append(ctypes.c_longlong(int(value)))
        decls.append(f'const {_ctype(t)} {name} = ({_ctype(t)})_s_{name};')


class ElementwiseKernel(_UserKernel):
    """CuPy's ElementwiseKernel: ``operation`` runs once per element, the non-raw inputs as
    values, the outputs as references, raw arrays indexed by the flat index ``i``."""

    def __init__(self, in_params, out_params, operation, name='kernel', preamble='',
                 **kwargs):
        super().__init__(in_params, out_params, name, preamble)
        self.operation = operation

    def __call__(self, *args, size=None):
        import ctypes
        ins, outs = args[:len(self.ins)], list(args[len(self.ins):])
        outs += [None] * (len(self.outs) - len(outs))
        types_ = self._bind(ins, outs)
        shaped = [a._a for (raw, t, n), a in zip(self.ins + self.outs, list(ins) + outs)
                  if not raw and type(a) is ndarray]
        shape = np.broadcast_shapes(*[a.shape for a in shaped]) if shaped else (size,)
        for k, (raw, t, n) in enumerate(self.outs):
            if outs[k] is None:
                outs[k] = ndarray(np.zeros(shape, self._dtype(t, types_)))
        params, body, values, back = ['long long _n'], [], [], []
        for (raw, t, n), a in zip(self.ins + self.outs, list(ins) + outs):
            is_out = a is not None and any(a is o for o in outs)
            if type(a) is not ndarray:
                self._scalar(a, t, n, types_, params, values, body)
                continue
            arr = a._a if raw else np.broadcast_to(a._a, shape)
            buf = np.ascontiguousarray(arr)
            if is_out and buf is not a._a:
                buf = buf.copy()
                back.append((a._a, buf))
            params.append(f'{_ctype(t)}* _p_{n}')
            values.append(buf.ctypes.data_as(ctypes.c_void_p))
            ctype = _ctype(t)
            body.append(f'{ctype}* {n} = _p_{n};' if raw else
                        f'{ctype}& {n} = _p_{n}[i];' if is_out else
                        f'const {ctype} {n} = _p_{n}[i];')
        n = int(np.prod(shape))
        source = (self._header(types_) + f'extern "C" void {self.name}({", ".join(params)})'
                  ' {\n  const _Index _ind{_n};\n  for (long long i = 0; i < _n; ++i) {\n'
                  + ''.join(f'    {b}\n' for b in body) + f'    {self.operation};\n  }}\n}}\n')
        _build(source, self.name)(ctypes.c_longlong(n), *values)
        for dst, buf in back:
            dst[...] = buf
        return outs[0] if len(outs) == 1 else tuple(outs)


class ReductionKernel(_UserKernel):
    """CuPy's ReductionKernel: ``map_expr`` on each element of the broadcast inputs, folded by
    ``reduce_expr`` (of ``a`` and ``b``) from ``identity`` over ``axis``, then
    ``post_map_expr`` (of the result ``a``) into the outputs."""

    def __init__(self, in_params, out_params, map_expr, reduce_expr, post_map_expr,
                 identity, name='reduce_kernel', reduce_type=None, preamble='', **kwargs):
        super().__init__(in_params, out_params, name, preamble)
        self.exprs = map_expr, reduce_expr, post_map_expr, identity
        self.reduce_type = reduce_type

    def __call__(self, *args, out=None, axis=None, keepdims=False):
        import ctypes
        if len(self.outs) != 1:
            raise NotImplementedError('fake CuPy: one output per ReductionKernel')
        ins = args[:len(self.ins)]
        types_ = self._bind(ins, [out])
        shape = np.broadcast_shapes(*[a._a.shape for a in ins if type(a) is ndarray])
        axes = tuple(range(len(shape))) if axis is None else \
            tuple(sorted(x % len(shape) for x in ((axis,) if np.ndim(axis) == 0 else axis)))
        keep = [d for d in range(len(shape)) if d not in axes]
        out_shape = tuple(1 if d in axes else shape[d] for d in range(len(shape))) \
            if keepdims else tuple(shape[d] for d in keep)
        n_out = int(np.prod([shape[d] for d in keep]))
        n_red = int(np.prod([shape[d] for d in axes]))
        t_out, name_out = self.outs[0][1], self.outs[0][2]
        result = np.zeros(n_out, self._dtype(t_out, types_))
        params, loads, values = ['long long _n_out', 'long long _n_red'], [], []
        for (raw, t, n), a in zip(self.ins, ins):
            ctype = _ctype(t)
            if type(a) is not ndarray:
                self._scalar(a, t, n, types_, params, values, loads)
                continue
            buf = np.ascontiguousarray(np.broadcast_to(a._a, shape).transpose(keep + list(
                axes)).reshape(n_out, n_red))
            params.append(f'{ctype}* _p_{n}')
            values.append(buf.ctypes.data_as(ctypes.c_void_p))
            loads.append(f'const {ctype} {n} = _p_{n}[_o * _n_red + _r];')
        params.append(f'{_CTYPES[result.dtype.name]}* _p_out')
        values.append(result.ctypes.data_as(ctypes.c_void_p))
        map_expr, reduce_expr, post_map_expr, identity = self.exprs
        rt = self.reduce_type or t_out
        out_ct = _ctype(t_out)
        source = (self._header(types_) +
                  f'typedef {_ctype(rt)} _type_reduce;\n'
                  f'extern "C" void {self.name}({", ".join(params)}) {{\n'
                  '  const _Index _in_ind{_n_out * _n_red}, _out_ind{_n_out};\n'
                  '  for (long long _o = 0; _o < _n_out; ++_o) {\n'
                  f'    _type_reduce a = {identity};\n'
                  '    for (long long _r = 0; _r < _n_red; ++_r) {\n'
                  + ''.join(f'      {x}\n' for x in loads) +
                  f'      const _type_reduce b = ({map_expr});\n      a = ({reduce_expr});\n'
                  f'    }}\n    {out_ct}& {name_out} = _p_out[_o];\n    {post_map_expr};\n'
                  '  }\n}\n')
        _build(source, self.name)(ctypes.c_longlong(n_out), ctypes.c_longlong(n_red), *values)
        result = result.reshape(out_shape)
        if out is None:
            return ndarray(result)
        out._a[...] = result
        return out


# CuPy's RawKernel: a whole CUDA kernel, launched on a grid of blocks of threads. Here the
# blocks run one after another, each either on one thread (``RawKernel.threads[0]`` False, the
# default: fast; the source is compiled with EMBER_ONE_THREAD defined, under which ember's block
# reductions are the value itself, and its loops over a row step by blockDim.x = 1) or on all
# of its blockDim.x threads (True) as fibers that switch at each __syncthreads(); a warp
# shuffle is an exchange through memory between two barriers. Scalars are passed as CuPy passes
# them (a Python int as int64, a float as float64, a NumPy scalar as its own bytes), and read
# as the kernel's parameter types say, so a mismatch reads garbage here as it does on a GPU.

_RAW_PRELUDE = r"""
#include <ucontext.h>
#include <vector>
using std::log;
struct _Dim3 { unsigned int x, y, z; };
static _Dim3 threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __shared__ static
static ucontext_t _sched, *_fibers;
static unsigned _cur;
static char* _done;
static void __syncthreads() { if (blockDim.x > 1) swapcontext(&_fibers[_cur], &_sched); }
template <typename V> static V __shfl_xor_sync(unsigned, V v, int lane) {
    static V buf[1024];
    buf[threadIdx.x] = v;
    __syncthreads();
    const V r = buf[threadIdx.x ^ lane];
    __syncthreads();
    return r;
}
"""

_RAW_LAUNCH = r"""
static void** _args;
static void _body() { %(call)s; }
static void _entry() { _body(); _done[_cur] = 1; }
extern "C" void _ember_launch(unsigned gx, unsigned bx, void** args) {
    _args = args;
    gridDim = {gx, 1, 1};
    blockDim = {bx, 1, 1};
    std::vector<ucontext_t> ctx(bx);
    std::vector<std::vector<char>> stacks(bx > 1 ? bx : 0, std::vector<char>(1 << 16));
    std::vector<char> done(bx);
    _fibers = ctx.data();
    _done = done.data();
    for (unsigned b = 0; b < gx; ++b) {
        blockIdx = {b, 0, 0};
        if (bx == 1) { threadIdx = {0, 0, 0}; _cur = 0; _body(); continue; }
        for (unsigned t = 0; t < bx; ++t) {
            getcontext(&ctx[t]);
            ctx[t].uc_stack.ss_sp = stacks[t].data();
            ctx[t].uc_stack.ss_size = stacks[t].size();
            ctx[t].uc_link = &_sched;
            makecontext(&ctx[t], _entry, 0);
            done[t] = 0;
        }
        for (unsigned left = bx; left;)   // each round: every thread to its next barrier
            for (unsigned t = 0; t < bx; ++t)
                if (!done[t]) {
                    _cur = t;
                    threadIdx = {t, 0, 0};
                    swapcontext(&_sched, &ctx[t]);
                    left -= done[t];
                }
    }
}
"""


class RawKernel:
    """CuPy's RawKernel(code, name): ``kernel(grid, block, args)`` (one-dimensional grids and
    blocks here)."""
    threads = [False]   # run each block on all its threads (slow: tests of block code)

    def __init__(self, code, name, options=(), backend='nvrtc', **kwargs):
        import re
        m = re.search(r'__global__\s+void\s+' + name + r'\s*\(([^)]*)\)', code)
        if m is None:
            raise ValueError(f'fake CuPy: no __global__ void {name}(...) in the source')
        self.code, self.name = code, name
        self.types = [re.match(r'(.*?)\w+$', p.strip()).group(1).strip()
                      for p in m.group(1).split(',')]

    def __call__(self, grid, block, args, shared_mem=0, stream=None):
        import ctypes
        grid, block = tuple(grid), tuple(block)
        if len(args) != len(self.types):
            raise TypeError(f'{self.name}: {len(args)} arguments for {len(self.types)} '
                            'parameters')
        if any(n != 1 for n in grid[1:] + block[1:]) or not 1 <= block[0] <= 1024:
            raise ValueError(f'fake CuPy: {self.name}: grid {grid}, block {block} (1-D only, '
                             'at most 1024 threads)')
        keep = []
        for t, a in zip(self.types, args):
            if '*' in t:
                if type(a) is not ndarray:
                    raise TypeError(f'{self.name}: a pointer parameter ({t}) given {type(a)}')
                keep.append(ctypes.c_void_p(a._a.ctypes.data))
                continue
            if type(a) is ndarray or isinstance(a, bool):
                raise TypeError(f'{self.name}: scalar parameter ({t}) given {type(a)} '
                                '(CuPy: pass an int, a float or a NumPy scalar)')
            v = np.asarray(a, np.int64 if isinstance(a, int) else
                           np.float64 if isinstance(a, float) else None)
            buf = ctypes.create_string_buffer(b'\xab' * 16)   # (a wider read: garbage)
            ctypes.memmove(buf, v.tobytes(), v.itemsize)
            keep.append(buf)
        argv = (ctypes.c_void_p * max(1, len(keep)))(*map(ctypes.addressof, keep))
        call = f'{self.name}(' + ', '.join(f'*({t}*)_args[{k}]'
                                           for k, t in enumerate(self.types)) + ')'
        one = not self.threads[0]
        source = (_PRELUDE + ('#define EMBER_ONE_THREAD\n' if one else '') + _RAW_PRELUDE
                  + self.code + _RAW_LAUNCH % dict(call=call))
        _build(source, '_ember_launch')(ctypes.c_uint(max(1, grid[0])),
                                        ctypes.c_uint(1 if one else block[0]), argv)


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


class PinnedMemoryPointer(bytearray):
    """Host memory as ``cupyx.empty_pinned`` gives it (here ordinary memory, so marked)."""


def _empty_pinned(shape, dtype=float, order='C'):
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    dtype = np.dtype(dtype)
    mem = PinnedMemoryPointer(max(1, int(np.prod(shape)) * dtype.itemsize))
    return np.ndarray(shape, dtype=dtype, buffer=mem, order=order)


# cuBLAS's gemmEx as CuPy binds it (cupy_backends.cuda.libs.cublas): column-major matrices at
# raw addresses, alpha and beta read from host memory, leading dimensions checked as cuBLAS does
_CUDA_TYPES = {0: 'float32', 1: 'float64', 2: 'float16', 14: 'bfloat16'}


def _at(ptr, dtype, rows, cols, ld):
    """The column-major (rows, cols) matrix with leading dimension ``ld`` at address ``ptr``."""
    import ctypes
    count = ld * (cols - 1) + rows
    flat = np.frombuffer((ctypes.c_char * (count * dtype.itemsize)).from_address(ptr), dtype,
                         count)
    return np.lib.stride_tricks.as_strided(flat, (rows, cols),
                                           (dtype.itemsize, ld * dtype.itemsize))


def _cuda_dtype(code):
    name = _CUDA_TYPES[code]
    return np.dtype(__import__('ml_dtypes').bfloat16 if name == 'bfloat16' else name)


def _gemm_ex(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C,
             Ctype, ldc, computeType, algo):
    _gemm_strided_batched_ex(handle, transa, transb, m, n, k, alpha, A, Atype, lda, 0, B,
                             Btype, ldb, 0, beta, C, Ctype, ldc, 0, 1, computeType, algo)


def _gemm_strided_batched_ex(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA,
                             B, Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount,
                             computeType, algo):
    import ctypes
    half = Atype in (2, 14)
    if Atype != Btype or not (Ctype == Atype or half and Ctype == 0) or \
            computeType not in (68, 70, 77) or (computeType == 70) != (Atype == 1):
        raise ValueError('CUBLAS_STATUS_NOT_SUPPORTED (fake cuBLAS)')
    rows_a, cols_a = (m, k) if transa == 0 else (k, m)
    rows_b, cols_b = (k, n) if transb == 0 else (n, k)
    if min(m, n, k, batchCount) < 0 or lda < max(1, rows_a) or ldb < max(1, rows_b) or \
            ldc < max(1, m):
        raise ValueError('CUBLAS_STATUS_INVALID_VALUE (fake cuBLAS)')
    scalar = ctypes.c_double if computeType == 70 else ctypes.c_float
    al, be = scalar.from_address(alpha).value, scalar.from_address(beta).value
    dt, dc = _cuda_dtype(Atype), _cuda_dtype(Ctype)
    for i in range(batchCount):
        a = _at(A + i * strideA * dt.itemsize, dt, rows_a, cols_a, lda).astype(np.float64)
        b = _at(B + i * strideB * dt.itemsize, dt, rows_b, cols_b, ldb).astype(np.float64)
        c = _at(C + i * strideC * dc.itemsize, dc, m, n, ldc)
        c[...] = (al * ((a if transa == 0 else a.T) @ (b if transb == 0 else b.T))
                  + (be * c.astype(np.float64) if be else 0)).astype(dc)


cublas = types.ModuleType('cupy_backends.cuda.libs.cublas')
cublas.gemmEx = _gemm_ex
cublas.gemmStridedBatchedEx = _gemm_strided_batched_ex
cublas.setStream = lambda handle, stream: None

_runtime = types.SimpleNamespace(getDeviceCount=lambda: 1)
cuda = types.SimpleNamespace(Device=_Device, runtime=_runtime,
                             get_device_id=lambda: 0,
                             Stream=types.SimpleNamespace(null=None),
                             PinnedMemoryPointer=PinnedMemoryPointer,
                             get_current_stream=lambda: types.SimpleNamespace(ptr=0),
                             device=types.SimpleNamespace(get_cublas_handle=lambda: 1))
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


def _scatter_add(a, slices, value):
    np.add.at(_unwrap(a, 'cupyx.scatter_add'), _index(slices),
              _unwrap(value, 'cupyx.scatter_add'))


def install():
    """Make ``import cupy`` (and ``cupyx``) give this stand-in (call before importing ember)."""
    sys.modules['cupy'] = sys.modules[__name__]
    special = types.ModuleType('cupyx.scipy.special')
    special.erf, special.erfc = _special('erf'), _special('erfc')
    scipy = types.ModuleType('cupyx.scipy')
    scipy.special = special
    cupyx = types.ModuleType('cupyx')
    cupyx.scipy, cupyx.scatter_add = scipy, _scatter_add
    cupyx.empty_pinned = _empty_pinned
    sys.modules.update({'cupyx': cupyx, 'cupyx.scipy': scipy, 'cupyx.scipy.special': special})
    libs = types.ModuleType('cupy_backends.cuda.libs')
    libs.cublas = cublas
    sys.modules.update({'cupy_backends': types.ModuleType('cupy_backends'),
                        'cupy_backends.cuda': types.ModuleType('cupy_backends.cuda'),
                        'cupy_backends.cuda.libs': libs,
                        'cupy_backends.cuda.libs.cublas': cublas})
