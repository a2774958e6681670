"""The CUDA backend: arrays are CuPy arrays. CuPy is optional (``pip install ember[gpu]``)."""
import os

import numpy as np

from .kernels import ELEMENTWISE, PREAMBLE, REDUCTION, SLOTS, raw_source

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


def to_device(arr, index, non_blocking=False):
    """``arr`` (a NumPy array) on GPU ``index``. From pinned memory with ``non_blocking`` the
    copy is queued on the current stream and the host goes on; otherwise it waits."""
    with xp.cuda.Device(index):
        if non_blocking and type(arr) is not xp.ndarray and is_pinned(arr):
            out = xp.empty(arr.shape, arr.dtype)
            out.set(np.ascontiguousarray(arr), stream=xp.cuda.get_current_stream())
            return out
        return xp.asarray(arr)


def pinned(arr):
    """A copy of the NumPy array ``arr`` in page-locked (pinned) host memory, which the GPU
    reads by DMA: copies from it can run while the host goes on."""
    import cupyx
    out = cupyx.empty_pinned(arr.shape, arr.dtype)
    out[...] = arr
    return out


def is_pinned(arr):
    """Whether the NumPy array ``arr`` lies in pinned memory (CuPy's, as ``pinned`` makes)."""
    base = arr
    while base is not None:
        if isinstance(base, xp.cuda.PinnedMemoryPointer):
            return True
        base = getattr(base, 'base', None)
    return False


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
    """float32 matmuls on the tensor cores in TF32 (CuPy's compute type for float32, and
    ``gemm``'s)."""
    from cupy._core import _routines_linalg as linalg
    linalg.set_compute_type(xp.float32, linalg.COMPUTE_TYPE_TF32 if allow
                            else linalg.COMPUTE_TYPE_DEFAULT)
    _tf32[0] = bool(allow)


# ---------------------------------------------------------------- GEMM through cuBLAS directly
# cupy.matmul costs 23-27 us of host time a call on the H200 machine (W9 makes 111 products
# a step), and has no batched bfloat16 product; cuBLAS's gemmEx and gemmStridedBatchedEx
# called directly skip its dispatch and take float16/bfloat16 operands with a float32
# result. Each kind of product (dtypes, layouts, batched or not) is checked once against
# cupy.matmul on its first call, and the direct path is dropped (with a warning) where the
# two disagree or the call fails.

_tf32 = [False]
# cudaDataType by NumPy dtype (not by its name: a dtype's ``.name`` costs 4 us of host time)
_CUDA_TYPE = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.float16): 2}
try:
    import ml_dtypes
    _CUDA_TYPE[np.dtype(ml_dtypes.bfloat16)] = 14
except ImportError:
    pass
_COMPUTE_32F, _COMPUTE_32F_TF32, _COMPUTE_64F, _GEMM_DEFAULT = 68, 77, 70, -1   # cublas_api.h
_SCALARS = {n: (np.ones((), n), np.zeros((), n)) for n in (np.float32, np.float64)}
_POINTERS = {n: (one.ctypes.data, zero.ctypes.data) for n, (one, zero) in _SCALARS.items()}
_checked = {}   # a kind of product -> the direct call agreed with cupy.matmul (False: it
#                 disagreed or failed). EMBER_CUBLAS=0 turns the direct path off (to measure it).
_direct = [os.environ.get('EMBER_CUBLAS', '1') != '0']
_cublas = []   # the binding module, imported on first use


def _matrices(a):
    """How cuBLAS reads the matrices in the last two axes of ``a``: (transpose flag, leading
    dimension, stride between matrices), or None (a layout it cannot read)."""
    r, c = a.shape[-2:]
    if a.flags.c_contiguous:   # the common layouts first (3.5 us less host time each)
        return 0, max(1, c), r * c if a.size > r * c else 0
    if a.ndim == 2 and a.flags.f_contiguous:   # (a transposed matrix)
        return 1, max(1, r), 0
    st = _element_strides(a)
    if st is None or min(st) < 0:
        return None
    if (st[-1] == 1 or c == 1) and (r == 1 or st[-2] >= c):
        op, ld = 0, max(1, c, st[-2] if r > 1 else 1)
    elif (st[-2] == 1 or r == 1) and (c == 1 or st[-1] >= r):
        op, ld = 1, max(1, r, st[-1] if c > 1 else 1)
    else:
        return None
    batch = [(n, x) for n, x in zip(a.shape[:-2], st[:-2]) if n > 1]
    for (_, outer), (n, inner) in zip(batch, batch[1:]):
        if outer != inner * n:   # the batch axes do not fold into one stride
            return None
    return op, ld, batch[-1][1] if batch else 0


def _element_strides(a):
    """``a``'s strides in elements, or None where one is not a whole number of them."""
    st = [x // a.itemsize for x in a.strides]
    return None if any(x * a.itemsize != y for x, y in zip(st, a.strides)) else st


def readable(a):
    """``a``, or a C-contiguous copy where cuBLAS cannot read its batch of matrices at one
    stride (heads split from one projection): made once where several products read it,
    each of which would copy it again."""
    return a if _matrices(a) is not None else xp.ascontiguousarray(a)


def gemm(a, b, out=None, out_dtype=None):
    """``a @ b`` for CuPy arrays of one float dtype, (..., m, k) and (..., k, n) with the same
    batch shape, or a C-contiguous (..., k) and a matrix (k, n) (its rows folded: one 2-D
    product, no reshapes), through cuBLAS called directly, into ``out`` (C-contiguous, of the
    product's size; its shape is the caller's) or a new array of ``out_dtype`` (default:
    ``out``'s or the operands'; float32 also for float16/bfloat16 operands). None where it
    does not apply (the caller then uses cupy.matmul)."""
    if not _direct[0] or _CUDA_TYPE.get(a.dtype) is None or b.dtype != a.dtype \
            or a.ndim < 2 or b.ndim < 2:
        return None
    k, n = a.shape[-1], b.shape[-1]
    if a.ndim > 2 and b.ndim == 2 and a.flags.c_contiguous:   # (a CuPy reshape is 5 us)
        m, batch, shape = a.size // k if k else 0, 1, a.shape[:-1] + (n,)
        la = 0, max(1, k), 0
    elif b.ndim == a.ndim and a.shape[:-2] == b.shape[:-2]:
        m = a.shape[-2]
        batch = a.size // (m * k) if m * k else 0
        shape, la = a.shape[:-2] + (m, n), _matrices(a)
    else:
        return None
    if not (m and n and k and batch) or b.shape[-2] != k:
        return None
    lb = _matrices(b)
    if la is None:   # (a view whose batch axes do not fold, as split heads: copied, as
        a = xp.ascontiguousarray(a)   # cupy.matmul would)
        la = _matrices(a)
    if lb is None:
        b = xp.ascontiguousarray(b)
        lb = _matrices(b)
    return _product(a, b, la, lb, m, n, k, batch, shape, out, out_dtype,
                    lambda f: xp.matmul(f(a), f(b)))


def gemm_t(a, b, out=None, out_dtype=None):
    """``a2^T @ b2`` (m, n) for C-contiguous ``a`` (..., m) and ``b`` (..., n) with as many
    rows (their leading axes folded: a2, b2 the (rows, m) and (rows, n) matrices, without
    reshapes, 5 us of host time each): a weight's gradient from the upstream gradient and the
    input, or column sums from a column of ones. As ``gemm`` otherwise."""
    if not _direct[0] or _CUDA_TYPE.get(a.dtype) is None or b.dtype != a.dtype \
            or not (a.ndim and b.ndim and a.flags.c_contiguous and b.flags.c_contiguous):
        return None
    m, n = a.shape[-1], b.shape[-1]
    rows = a.size // m if m else 0
    if not (m and n and rows) or b.size != rows * n:
        return None
    return _product(a, b, (1, m, 0), (0, n, 0), m, n, rows, 1, (m, n), out, out_dtype,
                    lambda f: xp.matmul(f(a).reshape(-1, m).T, f(b).reshape(-1, n)))


def _product(a, b, la, lb, m, n, k, batch, shape, out, out_dtype, reference):
    """The cuBLAS call of ``gemm`` and ``gemm_t``: the row-major product (m, k) @ (k, n) of
    ``batch`` pairs of matrices, each operand read as its layout (transpose flag, leading
    dimension, batch stride) says, into ``out`` or a new array of ``shape``; on a kind's first
    call checked against ``reference(f)``, cupy.matmul of the operands passed through ``f``."""
    t = _CUDA_TYPE[a.dtype]
    out_dtype = np.dtype(out_dtype) if out_dtype is not None else \
        a.dtype if out is None else out.dtype
    tc = _CUDA_TYPE.get(out_dtype)
    if tc != t and not (tc == 0 and a.itemsize == 2):
        return None
    key = (a.dtype, out_dtype, la[0], lb[0], batch > 1)
    ok = _checked.get(key)
    if ok is False:
        return None
    if out is None:
        out = xp.empty(shape, out_dtype)
    f64 = t == 1
    one, zero = _POINTERS[np.float64 if f64 else np.float32]   # (host pointers)
    compute = _COMPUTE_64F if f64 else _COMPUTE_32F_TF32 if t == 0 and _tf32[0] else \
        _COMPUTE_32F
    try:
        if not _cublas:
            from cupy_backends.cuda.libs import cublas as binding
            _cublas.append(binding)
        cublas = _cublas[0]
        handle = xp.cuda.device.get_cublas_handle()
        cublas.setStream(handle, xp.cuda.get_current_stream().ptr)
        # row-major out = a @ b is column-major out^T = b^T a^T
        if batch == 1:
            cublas.gemmEx(handle, lb[0], la[0], n, m, k, one, b.data.ptr, t,
                          lb[1], a.data.ptr, t, la[1], zero, out.data.ptr, tc, n,
                          compute, _GEMM_DEFAULT)
        else:
            cublas.gemmStridedBatchedEx(
                handle, lb[0], la[0], n, m, k, one, b.data.ptr, t, lb[1], lb[2],
                a.data.ptr, t, la[1], la[2], zero, out.data.ptr, tc, n, m * n,
                batch, compute, _GEMM_DEFAULT)
    except Exception as e:   # noqa: BLE001  (no such binding, a cuBLAS error: matmul instead)
        _checked[key] = False
        _warn(f'cuBLAS called directly failed for {key} ({type(e).__name__}: {e})')
        return None
    if ok is None:
        wide = a.itemsize == 2   # (cupy.matmul has no batched bfloat16: checked in float32)
        want = reference((lambda z: z.astype(xp.float32)) if wide else (lambda z: z)).reshape(
            out.shape)   # (a 1-D out for a row: its shape)
        if not bool(xp.isfinite(want).all()):   # inf or nan: checked on a later product
            out[...] = want.astype(out_dtype)
            return out
        tol = 1e-2 if wide else 1e-3 if t == 0 else 1e-9
        scale = float(xp.abs(want).max()) or 1.0
        agree = bool(xp.abs(out.astype(xp.float64) - want.astype(xp.float64)).max()
                     <= tol * scale)
        _checked[key] = agree
        if not agree:
            _warn(f'cuBLAS called directly disagreed with cupy.matmul for {key}')
            out[...] = want.astype(out_dtype)
    return out


def _warn(what):
    import warnings
    warnings.warn(f'ember: {what}; products of this kind go through cupy.matmul',
                  RuntimeWarning, stacklevel=3)


# ---------------------------------------------------------------- ember's own kernels
# Their CUDA source is in backend/kernels.py; here they are made (once, compiled on first use)
# and launched.

_RAW_TYPES = {np.dtype(np.float32): 'float', np.dtype(np.float64): 'double'}


def _raw_kernel(name, dtype=np.dtype(np.float32), **types):
    """``RAW[name]`` for float32 or float64 ``dtype`` (its ``T``, unless ``types`` gives
    another) and the other placeholders' C types ``types``, made once."""
    key = (name, dtype) + tuple(types.items())
    k = _kernels.get(key)
    if k is None:
        types = {'T': _RAW_TYPES.get(dtype), **types}
        k = _kernels[key] = xp.RawKernel(raw_source(name, **types), name)
    return k


def _rows(*arrays):
    """Whether the row kernels take ``arrays``: C-contiguous, of one dtype, float32 or
    float64, with rows to work on."""
    a = arrays[0]
    return a.dtype in _RAW_TYPES and a.size > 0 and all(
        b.dtype == a.dtype and b.flags.c_contiguous for b in arrays)


def _launch_rows(name, x, *args):
    """``RAW[name]`` on ``args`` (which give the kernel the rows and columns of ``x``) over
    the rows of ``x`` along its last axis: a block for each row (at most 2^31 - 1 blocks,
    each then takes every so many rows) of 32-1024 threads by the row's length, about four
    elements a thread."""
    cols = x.shape[-1]
    threads = min(1024, max(32, 1 << max(0, (cols - 1) // 4).bit_length()))
    _raw_kernel(name, x.dtype)((min(x.size // cols, 2 ** 31 - 1),), (threads,), args)


def _launch_flat(k, n, args):
    """The RawKernel ``k`` on ``args`` over ``n`` elements: blocks of 256 threads (at most
    2^31 - 1 blocks; each thread then takes every so many elements)."""
    k((min(-(-n // 256), 2 ** 31 - 1),), (256,), args)


_kernels = {}
# EMBER_KERNELS=0 turns ember's own kernels off (to measure what they bring, or to run where one
# fails on a GPU): the ops then take their composites of CuPy calls
KERNELS = [os.environ.get('EMBER_KERNELS', '1') != '0']


def kernel(name):
    """ember's CUDA kernel ``name`` (``ELEMENTWISE`` or ``REDUCTION``), made once."""
    k = _kernels.get(name)
    if k is None:
        if name in ELEMENTWISE:
            k = xp.ElementwiseKernel(*ELEMENTWISE[name], name=name, preamble=PREAMBLE)
        else:
            *exprs, reduce_type = REDUCTION[name]
            k = xp.ReductionKernel(*exprs, name=name, reduce_type=reduce_type,
                                   preamble=PREAMBLE)
        _kernels[name] = k
    return k


def adam_step(p, g, m, v, b1, b2, step_size, bias2_sqrt, eps, decay):
    """One Adam/AdamW update of ``p``, ``m``, ``v`` in place as one kernel (the composite
    is a dozen launches a parameter):
    ``m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;``
    ``p = decay p - step_size m / (sqrt(v)/bias2_sqrt + eps)``."""
    kernel('ember_adam')(g, b1, b2, step_size, bias2_sqrt, eps, decay, p, m, v)


def adam_steps(arrays, b1, b2, step_size, bias2_sqrt, eps, decay):
    """``adam_step`` on many parameters, ``SLOTS`` to a kernel: ``arrays`` is a list of
    C-contiguous (p, g, m, v) of one dtype, p, m and v 1-D, the gradients g read by their flat
    index. float32/float64 as a RawKernel (86 arguments passed as they are; an
    ElementwiseKernel's dispatch looks at each); other dtypes as an ElementwiseKernel, the
    gradients batched by their number of dimensions (CuPy compiles a kernel for each pattern
    of the arguments' dimensions)."""
    dtype = arrays[0][0].dtype
    if dtype in _RAW_TYPES:
        k = _raw_kernel('ember_adam_raw', dtype)
        for chunk, sizes, total in _slots(arrays):
            _launch_flat(k, total, (*[a for p, g, m, v in chunk for a in (g, p, m, v)],
                                    *sizes, float(b1), float(b2), float(step_size),
                                    float(bias2_sqrt), float(eps), float(decay), total))
        return
    by_ndim = {}
    for group in arrays:
        by_ndim.setdefault(group[1].ndim, []).append(group)
    k = kernel('ember_adam_multi')
    for batch in by_ndim.values():
        for chunk, sizes, total in _slots(batch):
            k(*[g for _, g, _, _ in chunk], b1, b2, step_size, bias2_sqrt, eps, decay,
              *sizes, *[a for p, _, m, v in chunk for a in (p, m, v)], size=total)


def sgd_steps(arrays, lr, momentum, dampening, weight_decay, flags):
    """``optim.SGD``'s update of many float32/float64 parameters, ``SLOTS`` to a RawKernel (the
    composite is five launches a parameter): ``arrays`` a list of C-contiguous (p, g, b) of
    one dtype, b the momentum buffer (without momentum p again, not read); ``flags`` 1
    Nesterov, 2 maximize, 4 the first step (the buffer is set to the gradient)."""
    k = _raw_kernel('ember_sgd_raw', arrays[0][0].dtype)
    for chunk, sizes, total in _slots(arrays):
        _launch_flat(k, total, (*[a for p, g, b in chunk for a in (g, p, b)], *sizes,
                                float(lr), float(momentum), float(dampening),
                                float(weight_decay), int(flags), total))


def _slots(arrays):
    """``arrays`` (p, g, m, v) in launches of ``SLOTS``: (the chunk padded with unused slots
    of size 0, its parameters' sizes, their total), for each chunk with elements."""
    for s in range(0, len(arrays), SLOTS):
        chunk = arrays[s:s + SLOTS]
        sizes = [group[0].size for group in chunk]
        if sum(sizes):
            yield (chunk + [chunk[0]] * (SLOTS - len(chunk)),
                   sizes + [0] * (SLOTS - len(sizes)), sum(sizes))


def add_rows(y, b):
    """``y += b`` for a C-contiguous ``y`` (..., n) and a 1-D ``b`` (n,) (a bias): a RawKernel
    for float32/float64 ``y`` and ``b`` of one dtype, and a bfloat16 ``y`` with a float32
    ``b`` (autocast's ``Linear``: rounded once, as CuPy's in-place add); CuPy's add otherwise.
    """
    if KERNELS[0] and y.flags.c_contiguous and b.ndim == 1 and b.flags.c_contiguous \
            and y.size and y.shape[-1] == b.size and b.dtype in _RAW_TYPES:
        if y.dtype == b.dtype:
            store = _RAW_TYPES[b.dtype]
        elif b.dtype == np.float32 and _is_bfloat16(y.dtype):
            store = 'unsigned short'
        else:
            store = None
        if store:
            _launch_flat(_raw_kernel('ember_add_rows', b.dtype, Y=store), y.size,
                         (y, b, y.size, b.size))
            return y
    y += b
    return y


# ---------------------------------------------------------------- window ops (convolution,
# max pooling): a kernel each where the composite takes a strided copy or add per kernel tap
# (LeNet's 5x5 convolutions: 25 each way; W4's step made 284 launches)

_BITS = {1: 'unsigned char', 2: 'unsigned short', 4: 'unsigned int', 8: 'unsigned long long'}
_INDEX = {np.dtype(np.int8): 'signed char', np.dtype(np.int64): 'long long'}


def _window(k, geom, out):
    """A window op's geometry as its kernels take it: kernel size, output size, stride,
    padding before, dilation (``geom``: ``ops.conv.Geom``)."""
    return (*k, *out, *geom.stride, *geom.before, *geom.dilation)


def _planes(a):
    """The element strides of ``a``'s planes (n, c, h, w; one leading axis read as c of n =
    1), or None where a stride is not a whole number of elements."""
    st = _element_strides(a)
    return None if st is None else st if a.ndim == 4 else [0] + st


def im2col(x, k, geom, out):
    """``ops.conv._columns``' columns (c, kh, kw, ho, wo, n) of ``x`` (n, c, h, w; any
    layout and dtype) for windows ``k`` of ``geom`` with ``out`` positions, zero outside x:
    one kernel (the composite pads, transposes and copies once per kernel tap). None where
    ember's kernels are off."""
    st = _planes(x)
    if not KERNELS[0] or st is None or x.itemsize not in _BITS:
        return None
    n, c, h, w = x.shape
    cols = xp.empty((c, *k, *out, n), x.dtype)
    if cols.size:
        _launch_flat(_raw_kernel('ember_im2col', T=_BITS[x.itemsize]), cols.size,
                     (x, cols, n, h + min(geom.after[0], 0), w + min(geom.after[1], 0), *st,
                      *_window(k, geom, out), cols.size))
    return cols


def col2im(cols, size, geom):
    """Its adjoint: the (n, c, *size) sums of the columns ``cols`` (c, kh, kw, ho, wo, n) at
    the input positions they read, in one kernel (the composite: a strided add per kernel
    tap, into a padded buffer copied out). C-contiguous float32/float64 ``cols``; else None."""
    if not (KERNELS[0] and cols.dtype in _RAW_TYPES and cols.flags.c_contiguous):
        return None
    c, kh, kw, ho, wo, n = cols.shape
    gx = xp.empty((n, c, *size), cols.dtype)
    if gx.size:
        _launch_flat(_raw_kernel('ember_col2im', cols.dtype), gx.size,
                     (cols, gx, n, c, *size, *_window((kh, kw), geom, (ho, wo)), gx.size))
    return gx


def max_pool(x, k, geom, out, index):
    """``ops.conv._window_argmax``: (each window's tap of its maximum, as ``index``; the
    maxima) of ``x`` (n, c, h, w) or (c, h, w), any layout, in one kernel (the composite:
    three launches a kernel tap). float32/float64 ``x``; else None."""
    st, index = _planes(x), np.dtype(index)
    if not (KERNELS[0] and x.dtype in _RAW_TYPES and index in _INDEX) or st is None:
        return None
    y = xp.empty(x.shape[:-2] + tuple(out), x.dtype)
    arg = xp.empty(y.shape, index)
    if y.size:
        _launch_flat(_raw_kernel('ember_max_pool', x.dtype, I=_INDEX[index]), y.size,
                     (x, y, arg, x.shape[-3], x.shape[-2] + min(geom.after[0], 0),
                      x.shape[-1] + min(geom.after[1], 0), *st, *_window(k, geom, out),
                      y.size))
    return arg, y


def max_pool_grad(g, arg, k, geom, size):
    """Max pooling's input gradient (..., *size) from ``g`` (any layout) and the taps
    ``arg`` (C-contiguous) of ``max_pool``: each input position's sum of the gradients of
    the windows whose maximum it was, in one kernel. float32/float64 ``g``; else None."""
    st = _planes(g)
    if not (KERNELS[0] and g.dtype in _RAW_TYPES and arg.dtype in _INDEX
            and arg.flags.c_contiguous) or st is None:
        return None
    gx = xp.empty(g.shape[:-2] + tuple(size), g.dtype)
    if gx.size:
        _launch_flat(_raw_kernel('ember_max_pool_grad', g.dtype, I=_INDEX[arg.dtype]),
                     gx.size, (g, arg, gx, g.shape[-3], *size, *st,
                               *_window(k, geom, g.shape[-2:]), gx.size))
    return gx


def to_bfloat16(x):
    """A float32 array rounded to bfloat16 (to nearest even, subnormals kept) in one kernel
    (a RawKernel for a C-contiguous one: torch's autocast casts each Linear's input and
    weight, 63 launches a W9 step)."""
    if not x.flags.c_contiguous:
        return kernel('ember_bf16')(x).view(_bfloat16())
    y = xp.empty(x.shape, _bfloat16())
    if x.size:
        _launch_flat(_raw_kernel('ember_bf16_raw'), x.size, (x, y, x.size))
    return y


def _bfloat16():
    from .._dtype import bfloat16
    return bfloat16.np


def _is_bfloat16(dtype):
    from .._dtype import bfloat16
    return bfloat16 is not None and dtype == bfloat16.np


def _acc(dtype):
    return xp.float64 if dtype == xp.float64 else xp.float32


def layer_norm(x, w, b, eps):
    """Layer norm of ``x`` along its last axis: (y, st), ``st`` each row's statistics for
    ``layer_norm_grad``: (mean - the row's first element, 1 / std), a (..., 1) complex128
    array (float64 sums). One row kernel for C-contiguous float32/float64, else two kernels;
    the composite is ten."""
    if _rows(x, w, *(() if b is None else (b,))):
        y, st = xp.empty_like(x), xp.empty(x.shape[:-1] + (1,), xp.complex128)
        _launch_rows('ember_ln_rows', x, x, w, w if b is None else b, y, st,
                     x.size // x.shape[-1], x.shape[-1], float(eps), int(b is not None))
        return y, st
    k = x[..., :1]
    st = kernel('ember_ln_stats')(x, k, eps, out=xp.empty(x.shape[:-1] + (1,), xp.complex128),
                                  axis=-1, keepdims=True)
    return kernel('ember_ln')(x, k, st, w, 0 if b is None else b), st


def softmax_scores(s, mask, scale):
    """Attention's softmax of the scores ``s`` (..., L, S) along the last axis, of
    ``s * scale + mask`` (``mask`` additive, broadcasting, or None), into ``s`` itself. A row
    of -inf scores gets zero weights. One row kernel for C-contiguous float32/float64 scores
    and a mask that is one (L, S) matrix (or none), else two kernels; the composite is
    seven."""
    layout = (1, 0, 0) if mask is None else _mask_layout(mask, *s.shape[-2:])
    if layout and _rows(s) and (mask is None or mask.dtype == s.dtype):
        _launch_rows('ember_softmax_rows', s, s, s, s if mask is None else mask,
                     s.size // s.shape[-1], s.shape[-1], *layout, float(scale),
                     (0 if mask is None else 1) | 4)
        return s
    mask = 0 if mask is None else mask
    st = kernel('ember_max_sum_exp')(s, mask, scale, out=xp.empty(
        s.shape[:-1] + (1,), _complex(s.dtype)), axis=-1, keepdims=True)
    return kernel('ember_softmax')(s, mask, scale, st, s)


def _mask_layout(mask, L, S):
    """How the row kernel reads an additive ``mask`` broadcast over scores (..., L, S):
    (its rows: 1 or L, row stride, column stride) in elements, or None where it is not one
    matrix (leading axes of size 1)."""
    if mask.ndim < 2 or any(n != 1 for n in mask.shape[:-2]):
        return None
    ml, ms = mask.shape[-2:]
    if ml not in (1, L) or ms not in (1, S):
        return None
    sr, sc = (x // mask.itemsize for x in mask.strides[-2:])
    return ml, sr if ml > 1 else 0, sc if ms > 1 else 0


def _complex(dtype):
    """The complex dtype holding two numbers of the float32/float64 ``dtype``."""
    return xp.complex128 if dtype == xp.float64 else xp.complex64


def nll_loss(logp, t, ignore, mean):
    """Negative log-likelihood of the (N, C) log-probabilities ``logp`` at class indices ``t``
    (N,), those equal to ``ignore`` left out, reduced to its mean (``mean``) or sum:
    (the 0-d loss, the sums of the rows' losses and counts, for ``nll_loss_grad``). Three
    kernels, where the composite is fourteen."""
    n, c = logp.shape
    rows = xp.empty((2, n), _acc(logp.dtype))
    kernel('ember_nll_rows')(logp, t, c, ignore, rows[0], rows[1])   # (raw: any layout)
    sums = rows.sum(axis=1)
    return kernel('ember_nll_total')(sums, mean, xp.empty((), logp.dtype)), sums


def nll_loss_grad(g, t, sums, classes, ignore, mean, dtype):
    """The gradient of ``nll_loss`` for the upstream 0-d gradient ``g``: (N, C) of ``dtype``,
    ``-g`` (over the count, for the mean) at each counted target, else 0. One kernel."""
    return kernel('ember_nll_grad')(t, sums, g.reshape(1), classes, ignore, mean,
                                    xp.empty((t.size, classes), dtype))


def softmax(x, dim, log=False):
    """``softmax`` (or ``log_softmax``) of float32/float64 ``x`` along ``dim``: one row kernel
    along the last axis of a C-contiguous ``x``, else two kernels; the composite is five
    (six)."""
    if dim % x.ndim == x.ndim - 1 and _rows(x):
        y = xp.empty_like(x)
        _launch_rows('ember_softmax_rows', x, x, y, x, x.size // x.shape[-1], x.shape[-1],
                     1, 0, 0, 1.0, 2 if log else 0)
        return y
    rows = x.shape[:dim % x.ndim] + (1,) + x.shape[dim % x.ndim + 1:]
    st = kernel('ember_max_sum_exp')(x, 0, 1, out=xp.empty(rows, _complex(x.dtype)),
                                     axis=dim, keepdims=True)
    return kernel('ember_log_softmax' if log else 'ember_softmax_plain')(x, st)


def softmax_grad(y, g, dim, log=False):
    """The gradient of ``softmax`` (or ``log_softmax``) from its output ``y``: one row kernel
    (as ``softmax``), else two."""
    if dim % y.ndim == y.ndim - 1 and _rows(y, g):
        gx = xp.empty_like(y)
        _launch_rows('ember_softmax_grad_rows', y, y, g, gx, y.size // y.shape[-1],
                     y.shape[-1], 1.0, 2 if log else 0)
        return gx
    rows = y.shape[:dim % y.ndim] + (1,) + y.shape[dim % y.ndim + 1:]
    total = kernel('ember_sum_product')(g, 1 if log else y, out=xp.empty(rows, y.dtype),
                                        axis=dim, keepdims=True)
    if log:
        return kernel('ember_log_softmax_grad')(y, g, total)
    return kernel('ember_softmax_grad')(y, g, total, 1)


def softmax_scores_grad(w, gw, scale):
    """The scores' gradient from the weights ``w`` and their gradient ``gw`` (into ``gw``):
    ``w (gw - sum(w gw)) scale``. One row kernel (C-contiguous float32/float64), else two."""
    if _rows(w, gw):
        _launch_rows('ember_softmax_grad_rows', w, w, gw, gw, w.size // w.shape[-1],
                     w.shape[-1], float(scale), 0)
        return gw
    dot = kernel('ember_sum_product')(w, gw, out=xp.empty(w.shape[:-1] + (1,), w.dtype),
                                      axis=-1, keepdims=True)
    return kernel('ember_softmax_grad')(w, gw, dot, scale, gw)


def layer_norm_grad(g, x, w, st):
    """Layer norm's backward along the last axis from ``layer_norm``'s statistics ``st``:
    (gx, g xhat); ``g xhat``'s column sums are the weight's gradient. One row kernel
    (C-contiguous float32/float64), else two; the composite is eleven."""
    if _rows(g, x, w) and st.flags.c_contiguous:
        gx, gxhat = xp.empty_like(x), xp.empty_like(x)
        _launch_rows('ember_ln_grad_rows', x, g, x, w, st, gx, gxhat, x.size // x.shape[-1],
                     x.shape[-1])
        return gx, gxhat
    k = x[..., :1]
    m = kernel('ember_ln_grad_means')(g, w, x, k, st, out=xp.empty_like(st), axis=-1,
                                      keepdims=True)
    return kernel('ember_ln_grad')(g, x, w, k, st, m)


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
