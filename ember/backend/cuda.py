"""The CUDA backend: arrays are CuPy arrays. CuPy is optional (``pip install ember[gpu]``)."""
import os

import numpy as np

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
    st = [x // a.itemsize for x in a.strides]
    if any(x < 0 or x * a.itemsize != y for x, y in zip(st, a.strides)):
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
# Where CuPy's composite of ufuncs and reductions costs a launch per step (17-50 us of host
# time each on the H200 machine), ember writes the loop once as CuPy's ElementwiseKernel or
# ReductionKernel source. Each is compiled on first use (CuPy keeps the binary on disk);
# tools/check_kernels.py compiles every one with NVRTC without a GPU, and the CPU tests run
# the same bodies through the CuPy stand-in (tests/fakecupy.py), which compiles them as C++.
# Arithmetic is in float32 for float16/bfloat16/float32 and in float64 for float64 (``A``).

ADAM = r"""
template <typename X> struct ember_acc { typedef float type; };
template <> struct ember_acc<double> { typedef double type; };

// Adam/AdamW on one element: m, v and p in place, computed in float32 (float64 for double)
// from the coefficients in float64 and rounded once into X (in float16 or bfloat16 arithmetic
// b2 = 0.999 would be 0.99902 or 1, and eps = 1e-8 zero in float16)
template <typename X>
__device__ void ember_adam_one(X& p, const X g, X& m, X& v, const double b1, const double b2,
                               const double step_size, const double bias2_sqrt,
                               const double eps, const double decay) {
    typedef typename ember_acc<X>::type A;
    const A ga = (A)g;
    const A ma = (A)b1 * (A)m + (A)(1 - b1) * ga;
    const A va = (A)b2 * (A)v + (A)(1 - b2) * ga * ga;
    m = (X)ma;
    v = (X)va;
    p = (X)((A)p * (A)decay - (A)step_size * ma / (sqrt(va) / (A)bias2_sqrt + (A)eps));
}
"""

PREAMBLE = ADAM + r"""

// Layer norm's row statistics in one pass, summed in float64 whatever the input, as one
// complex number (CuPy's reductions take no struct): each element's (x - k, (x - k)^2 + eps),
// k the row's first element (the data shifted near its mean), then (mean - k, 1 / sqrt(var +
// eps)). float64 sums keep the variance where the squares are large against it (a row far
// from zero, or whose first element is far out), as Welford's update would
template <typename X>
__device__ complex<double> ember_ln_pair(const X x, const X k, const double eps) {
    typedef typename ember_acc<X>::type A;
    const double d = (double)(A)x - (double)(A)k;
    return complex<double>(d, d * d + eps);
}
__device__ complex<double> ember_ln_stats(const complex<double> a, const long long n) {
    const double m = a.real() / (double)n;
    return complex<double>(m, 1.0 / sqrt(a.imag() / (double)n - m * m));
}
// Softmax's row maximum and sum of exp(x - maximum) in one pass, as one complex number
// (maximum, sum), parts combined as online softmax (flash attention) does; a part whose
// maximum is -inf (every score masked) sums to 0
template <typename C>
__device__ C ember_score(const typename C::value_type v) {
    return C(v, v == (typename C::value_type)__int_as_float(0xff800000) ? 0 : 1);
}
template <typename C>
__device__ C ember_online(const C a, const C b) {
    typedef typename C::value_type S;
    const S ninf = (S)__int_as_float(0xff800000);
    if (a.real() == ninf) return b;
    if (b.real() == ninf) return a;
    const S m = max(a.real(), b.real());
    return C(m, a.imag() * exp(a.real() - m) + b.imag() * exp(b.real() - m));
}
// its backward's two row sums in one pass: (g w, g w xhat)
template <typename X>
__device__ complex<double> ember_ln_grad_pair(const X g, const X w, const X x, const X k,
                                              const complex<double> st) {
    typedef typename ember_acc<X>::type A;
    const double gw = (double)(A)g * (double)(A)w;
    return complex<double>(gw, gw * (((double)(A)x - (double)(A)k - st.real()) * st.imag()));
}
"""

SLOTS = 16   # parameters per launch of ember_adam_multi (4 arrays each: 64 kernel arguments)


def _adam_multi():
    """Adam/AdamW on up to ``SLOTS`` parameters in one kernel over their total length: the
    thread of element ``i`` finds its parameter by the sizes ``n0, n1, ...`` and updates it
    as ``ember_adam`` does."""
    ins = ', '.join(f'raw T g{k}' for k in range(SLOTS)) + \
        ', float64 b1, float64 b2, float64 step_size, float64 bias2_sqrt, float64 eps, ' \
        'float64 decay, ' + \
        ', '.join(f'int64 n{k}' for k in range(SLOTS))
    outs = ', '.join(f'raw T p{k}, raw T m{k}, raw T v{k}' for k in range(SLOTS))
    body = (f'const long long ns[{SLOTS}] = {{{", ".join(f"n{k}" for k in range(SLOTS))}}};\n'
            'long long j = i; int t = 0;\n'
            f'while (t < {SLOTS - 1} && j >= ns[t]) {{ j -= ns[t]; ++t; }}\n'
            'switch (t) {\n' + ''.join(
                f'case {k}: ember_adam_one(p{k}[j], g{k}[j], m{k}[j], v{k}[j], b1, b2, '
                f'step_size, bias2_sqrt, eps, decay); break;\n' for k in range(SLOTS)) + '}')
    return ins, outs, body


def _adam_raw():
    """The RawKernel twin of ``_adam_multi`` (a grid-stride loop over the total length)."""
    arrays = ', '.join(f'const T* g{k}, T* p{k}, T* m{k}, T* v{k}' for k in range(SLOTS))
    sizes = ', '.join(f'long long n{k}' for k in range(SLOTS))
    return (f'extern "C" __global__ void ember_adam_raw({arrays}, {sizes}, double b1, '
            'double b2, double step_size, double bias2_sqrt, double eps, double decay, '
            'long long total) {\n'
            f'    const long long ns[{SLOTS}] = {{{", ".join(f"n{k}" for k in range(SLOTS))}}};\n'
            '    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; '
            'i < total; i += (long long)blockDim.x * gridDim.x) {\n'
            '        long long j = i; int t = 0;\n'
            f'        while (t < {SLOTS - 1} && j >= ns[t]) {{ j -= ns[t]; ++t; }}\n'
            '        switch (t) {\n' + ''.join(
                f'        case {k}: ember_adam_one(p{k}[j], g{k}[j], m{k}[j], v{k}[j], b1, b2, '
                f'step_size, bias2_sqrt, eps, decay); break;\n'
                for k in range(SLOTS)) + '        }\n    }\n}\n')


ELEMENTWISE = {
    # Adam/AdamW on one parameter: m, v and p in place
    'ember_adam': (
        'T g, float64 b1, float64 b2, float64 step_size, float64 bias2_sqrt, float64 eps, '
        'float64 decay', 'T p, T m, T v',
        'ember_adam_one(p, g, m, v, b1, b2, step_size, bias2_sqrt, eps, decay)'),
    # float32 -> bfloat16 bits, to nearest even on the bits (c10's round_to_nearest_even)
    'ember_bf16': (
        'float32 x', 'uint16 y',
        '''unsigned int b = __float_as_uint(x);
           y = isnan(x) ? 0x7FC0 : (unsigned short)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);'''),
    # GELU, x Phi(x), and its gradient g (Phi(x) + x phi(x))
    'ember_gelu': (
        'T x', 'T y',
        '''typedef ember_acc<T>::type A;
           A v = (A)x;
           y = (T)(v * (A)0.5 * erfc(-v * (A)0.70710678118654752440));'''),
    'ember_gelu_grad': (
        'T x, T g', 'T gx',
        '''typedef ember_acc<T>::type A;
           A v = (A)x;
           A cdf = (A)0.5 * erfc(-v * (A)0.70710678118654752440);
           A pdf = exp((A)-0.5 * v * v) * (A)0.39894228040143267794;
           gx = (T)((A)g * (cdf + v * pdf));'''),
    # layer norm: y = (x - mean) rstd w + b, from the row's first element k and its
    # statistics st = (mean - k, rstd) (ember_ln_stats)
    'ember_ln': (
        'T x, T k, complex128 st, T w, T b', 'T y',
        '''typedef ember_acc<T>::type A;
           y = (T)((((A)x - (A)k - (A)st.real()) * (A)st.imag()) * (A)w + (A)b);'''),
    # its input gradient, rstd (g w - mean(g w) - xhat mean(g w xhat)) from the two row
    # means m (ember_ln_grad_means), and g xhat, whose column sums are the weight's gradient
    'ember_ln_grad': (
        'T g, T x, T w, T k, complex128 st, complex128 m', 'T gx, T gxhat',
        '''typedef ember_acc<T>::type A;
           A xhat = ((A)x - (A)k - (A)st.real()) * (A)st.imag();
           A gw = (A)g * (A)w;
           gx = (T)((A)st.imag() * (gw - (A)m.real() - xhat * (A)m.imag()));
           gxhat = (T)((A)g * xhat);'''),
    # softmax of attention scores along their last axis, scaled and masked on the way, from
    # the rows' (maximum, sum) st (ember_max_sum_exp): a row whose every score is -inf (a
    # query that attends to nothing) gets zero weights without a host sync (torch's "safe
    # softmax")
    'ember_softmax': (
        'T s, T mask, T scale, C st', 'T w',
        'w = st.imag() == (T)0 ? (T)0 : exp(s * scale + mask - st.real()) / st.imag()'),
    # its backward: d scores = w (d w - sum(w d w)) scale
    'ember_softmax_grad': (
        'T w, T gw, T dot, T scale', 'T gs', 'gs = w * (gw - dot) * scale'),
    # softmax and log-softmax along any axis from its (maximum, sum) (torch's: a row of -inf
    # gives nan), and log-softmax's backward g - exp(y) sum(g)
    'ember_softmax_plain': ('T x, C st', 'T y', 'y = exp(x - st.real()) / st.imag()'),
    'ember_log_softmax': ('T x, C st', 'T y', 'y = x - st.real() - log(st.imag())'),
    'ember_log_softmax_grad': ('T y, T g, T total', 'T gx', 'gx = g - exp(y) * total'),
    # negative log-likelihood of class-index targets t on the rows of (N, C) log-probabilities:
    # each row's loss and whether it counts (a target equal to ignore counts for nothing; one
    # out of range, which the loss's deferred index check reports, reads nothing either)
    'ember_nll_rows': (
        'raw T logp, I t, int64 classes, int64 ignore', 'S loss, S valid',
        '''bool ok = t != ignore && t >= 0 && t < classes;
           loss = ok ? -(S)logp[i * classes + t] : (S)0;
           valid = ok ? (S)1 : (S)0;'''),
    # the loss from the sums of the rows' losses and counts: their mean (nan when no target
    # counts, as torch) or their sum
    'ember_nll_total': (
        'raw S sums, bool mean', 'T loss', 'loss = (T)(mean ? sums[0] / sums[1] : sums[0])'),
    # its gradient: -g (over the count, for the mean) at each counted row's target, else 0
    'ember_nll_grad': (
        'raw I t, raw S sums, raw T g, int64 classes, int64 ignore, bool mean', 'T gl',
        '''long long n = i / classes, k = t[n];
           gl = k == i - n * classes && k != ignore ?
               (T)(-(S)g[0] / (mean ? sums[1] : (S)1)) : (T)0;'''),
    # Adam/AdamW on up to SLOTS parameters in one launch
    'ember_adam_multi': _adam_multi(),
}


REDUCTION = {   # name: in, out, map, reduce, post-map, identity, reduce type
    # layer norm's row statistics (mean - k, rstd) in one pass (eps is added in the map: a
    # reduction's post-map sees only the result and the outputs)
    'ember_ln_stats': (
        'T x, T k, float64 eps', 'complex128 st', 'ember_ln_pair(x, k, eps)', 'a + b',
        'st = ember_ln_stats(a, _in_ind.size() / _out_ind.size())', '0', None),
    # the two row means of its backward, (mean(g w), mean(g w xhat)), in one pass
    'ember_ln_grad_means': (
        'T g, T w, T x, T k, complex128 st', 'complex128 m',
        'ember_ln_grad_pair(g, w, x, k, st)', 'a + b',
        'm = a / (double)(_in_ind.size() / _out_ind.size())', '0', None),
    # softmax's (maximum, sum of exp(x - maximum)) along rows of scaled, masked scores, in
    # one pass (C: complex64 for float32, complex128 for float64) ...
    'ember_max_sum_exp': (
        'T s, T mask, T scale', 'C m', 'ember_score<C>(s * scale + mask)',
        'ember_online(a, b)', 'm = a', 'C(__int_as_float(0xff800000), 0)', None),
    # ... and sum(w d w) for attention's backward
    'ember_sum_product': ('T a_, T b_', 'T m', 'a_ * b_', 'a + b', 'm = a', '0', None),
    # an index check: any of the integers x outside [0, high), other than skip (if any)?
    'ember_outside': (
        'T x, int64 high, int64 skip, bool has_skip', 'bool bad',
        '(x < 0 || x >= high) && !(has_skip && x == skip)', 'a || b', 'bad = a', 'false',
        None),
}

# RawKernels (``RAW``): whole CUDA kernels, launched through CuPy's thinnest door (the
# arguments go to the driver as they are: no type, shape or broadcasting dispatch), for
# C-contiguous arrays; other layouts take the kernels above. Row kernels: a block of threads
# for each row, the row's reduction and its outputs in one launch (a reduction and an
# elementwise kernel are two, and a ReductionKernel costs more host time than any other
# launch: 28-49 us on the H200 machine), for float32 and float64 (``T``, arithmetic in ``A``).

ROW_PREAMBLE = ADAM + r"""
struct ember_add { template <typename V> __device__ V operator()(V a, V b) const {
    return a + b; } };
struct ember_max { template <typename V> __device__ V operator()(V a, V b) const {
    return a > b ? a : b; } };
// v reduced by f over the block's threads, in every thread: across each warp by shuffles,
// then across the warps through sh (32 slots of shared memory). blockDim.x is a multiple of
// 32, at most 1024. (EMBER_ONE_THREAD: the CPU stand-in's one-thread blocks, tests/fakecupy.py)
template <typename V, typename F>
__device__ V ember_block_reduce(V v, V* sh, F f) {
#ifndef EMBER_ONE_THREAD
    for (int o = 16; o > 0; o >>= 1) v = f(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int warps = blockDim.x >> 5;
    if (warps > 1) {
        __syncthreads();   // (sh may still be read for the last reduction)
        if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
        __syncthreads();
        v = sh[0];
        for (int w = 1; w < warps; ++w) v = f(v, sh[w]);
    }
#endif
    return v;
}
"""

RAW = {
    # layer norm along rows of length cols: y = (x - mean) rstd w (+ b), and each row's
    # statistics st as two float64 numbers, (mean - k, rstd), k the row's first element (the
    # layout of layer_norm's complex128 statistics): two passes over the row, float64 sums
    'ember_ln_rows': r"""
extern "C" __global__ void ember_ln_rows(const T* x, const T* w, const T* b, T* y,
        double* st, long long rows, long long cols, double eps, long long has_bias) {
    __shared__ double sh[32];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const T* xr = x + r * cols;
        T* yr = y + r * cols;
        const double k = (double)xr[0];
        double s = 0;
        for (long long j = threadIdx.x; j < cols; j += blockDim.x) s += (double)xr[j] - k;
        const double mean = ember_block_reduce(s, sh, ember_add()) / (double)cols;
        double q = 0;
        for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
            const double d = (double)xr[j] - k - mean;
            q += d * d;
        }
        const double rstd = 1.0 / sqrt(ember_block_reduce(q, sh, ember_add()) / (double)cols
                                       + eps);
        if (threadIdx.x == 0) { st[2 * r] = mean; st[2 * r + 1] = rstd; }
        for (long long j = threadIdx.x; j < cols; j += blockDim.x)
            yr[j] = (T)((((A)xr[j] - (A)k - (A)mean) * (A)rstd) * (A)w[j]
                        + (has_bias ? (A)b[j] : (A)0));
    }
}
""",
    # its backward from st: gx = rstd (g w - mean(g w) - xhat mean(g w xhat)), and g xhat
    # (whose column sums are the weight's gradient)
    'ember_ln_grad_rows': r"""
extern "C" __global__ void ember_ln_grad_rows(const T* g, const T* x, const T* w,
        const double* st, T* gx, T* gxhat, long long rows, long long cols) {
    __shared__ double sh[32];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const T* gr = g + r * cols;
        const T* xr = x + r * cols;
        const double k = (double)xr[0], mean = st[2 * r], rstd = st[2 * r + 1];
        double s1 = 0, s2 = 0;
        for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
            const double gw = (double)(A)gr[j] * (double)(A)w[j];
            s1 += gw;
            s2 += gw * (((double)(A)xr[j] - k - mean) * rstd);
        }
        const A m1 = (A)(ember_block_reduce(s1, sh, ember_add()) / (double)cols);
        const A m2 = (A)(ember_block_reduce(s2, sh, ember_add()) / (double)cols);
        for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
            const A xhat = ((A)xr[j] - (A)k - (A)mean) * (A)rstd;
            const A gw = (A)gr[j] * (A)w[j];
            gx[r * cols + j] = (T)((A)rstd * (gw - m1 - xhat * m2));
            gxhat[r * cols + j] = (T)((A)gr[j] * xhat);
        }
    }
}
""",
    # softmax (or log-softmax: flags & 2) along rows of x * scale + mask, into y (which may
    # be x): mask (flags & 1) the additive mask, its row r % mrows at element r * ms_r + j *
    # ms_c; a row whose every value is -inf gets zeros with flags & 4 (attention's "safe
    # softmax"), else nan (torch's softmax)
    'ember_softmax_rows': r"""
extern "C" __global__ void ember_softmax_rows(const T* x, T* y, const T* mask,
        long long rows, long long cols, long long mrows, long long ms_r, long long ms_c,
        double scale, long long flags) {
    __shared__ A sh[32];
    const A ninf = (A)__int_as_float(0xff800000);
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const T* xr = x + r * cols;
        T* yr = y + r * cols;
        const T* mr = mask + (flags & 1 ? (r % mrows) * ms_r : 0);
        A m = ninf;
        for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
            const A v = (A)xr[j] * (A)scale + (flags & 1 ? (A)mr[j * ms_c] : (A)0);
            m = v > m ? v : m;
        }
        m = ember_block_reduce(m, sh, ember_max());
        A s = 0;
        for (long long j = threadIdx.x; j < cols; j += blockDim.x)
            s += exp((A)xr[j] * (A)scale + (flags & 1 ? (A)mr[j * ms_c] : (A)0) - m);
        s = ember_block_reduce(s, sh, ember_add());
        const bool dead = m == ninf && (flags & 4);
        const A ls = log(s);
        for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
            const A v = (A)xr[j] * (A)scale + (flags & 1 ? (A)mr[j * ms_c] : (A)0) - m;
            yr[j] = (T)(dead ? (A)0 : flags & 2 ? v - ls : exp(v) / s);
        }
    }
}
""",
    # Adam/AdamW on up to SLOTS parameters of float32/float64 (as ember_adam_multi), their
    # arrays C-contiguous
    'ember_adam_raw': _adam_raw(),
    # float32 -> bfloat16 bits, to nearest even (as ember_bf16), a thread for each so many
    # elements
    'ember_bf16_raw': r"""
extern "C" __global__ void ember_bf16_raw(const float* x, unsigned short* y, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x) {
        const float v = x[i];
        const unsigned int b = __float_as_uint(v);
        y[i] = isnan(v) ? 0x7FC0 : (unsigned short)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
    }
}
""",
    # y (..., cols) += b (cols,) in place: y of Y (T, or bfloat16's bits for a float32 b,
    # rounded to nearest even), b of T
    'ember_add_rows': r"""
__device__ inline float ember_load(const float v) { return v; }
__device__ inline double ember_load(const double v) { return v; }
__device__ inline float ember_load(const unsigned short v) {
    return __uint_as_float((unsigned int)v << 16); }
__device__ inline void ember_store(float& y, const float v) { y = v; }
__device__ inline void ember_store(double& y, const double v) { y = v; }
__device__ inline void ember_store(unsigned short& y, const float v) {
    const unsigned int b = __float_as_uint(v);
    y = isnan(v) ? 0x7FC0 : (unsigned short)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16); }
extern "C" __global__ void ember_add_rows(Y* y, const T* b, long long n, long long cols) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x)
        ember_store(y[i], (A)ember_load(y[i]) + (A)b[i % cols]);
}
""",
    # their backward from the output y, into gx (which may be g): softmax's y (g - sum(g y))
    # scale, log-softmax's (flags & 2) g - exp(y) sum(g)
    'ember_softmax_grad_rows': r"""
extern "C" __global__ void ember_softmax_grad_rows(const T* y, const T* g, T* gx,
        long long rows, long long cols, double scale, long long flags) {
    __shared__ A sh[32];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const T* yr = y + r * cols;
        const T* gr = g + r * cols;
        A s = 0;
        for (long long j = threadIdx.x; j < cols; j += blockDim.x)
            s += flags & 2 ? (A)gr[j] : (A)gr[j] * (A)yr[j];
        s = ember_block_reduce(s, sh, ember_add());
        for (long long j = threadIdx.x; j < cols; j += blockDim.x)
            gx[r * cols + j] = (T)(flags & 2 ? (A)gr[j] - exp((A)yr[j]) * s
                                   : (A)yr[j] * ((A)gr[j] - s) * (A)scale);
    }
}
""",
}
_RAW_TYPES = {np.dtype(np.float32): 'float', np.dtype(np.float64): 'double'}


def raw_source(name, T='float', **types):
    """The CUDA source of ``RAW[name]`` for the C type ``T`` ('float' or 'double'; ``A``, the
    arithmetic's, the same) and the C types of the other placeholders in ``types``."""
    return ''.join(f'typedef {c} {n};\n' for n, c in dict(T=T, A=T, **types).items()) + \
        ROW_PREAMBLE + RAW[name]


def _raw_kernel(name, dtype=np.dtype(np.float32), **types):
    """``RAW[name]`` for float32 or float64 ``dtype`` (and ``types``), made once."""
    key = (name, dtype) + tuple(types.items())
    k = _kernels.get(key)
    if k is None:
        k = _kernels[key] = xp.RawKernel(raw_source(name, _RAW_TYPES[dtype], **types), name)
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
    ``m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p = decay p - step_size m / (sqrt(v)/bias2_sqrt + eps)``."""
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
        for s in range(0, len(arrays), SLOTS):
            chunk = arrays[s:s + SLOTS]
            sizes = [group[0].size for group in chunk]
            chunk += [chunk[0]] * (SLOTS - len(chunk))     # unused slots: size 0
            sizes += [0] * (SLOTS - len(sizes))
            total = sum(sizes)
            if total:
                _launch_flat(k, total, (*[a for p, g, m, v in chunk for a in (g, p, m, v)],
                                        *sizes, float(b1), float(b2), float(step_size),
                                        float(bias2_sqrt), float(eps), float(decay), total))
        return
    by_ndim = {}
    for group in arrays:
        by_ndim.setdefault(group[1].ndim, []).append(group)
    for batch in by_ndim.values():
        _adam_multi_launches(batch, b1, b2, step_size, bias2_sqrt, eps, decay)


def _adam_multi_launches(arrays, b1, b2, step_size, bias2_sqrt, eps, decay):
    k = kernel('ember_adam_multi')
    for s in range(0, len(arrays), SLOTS):
        chunk = arrays[s:s + SLOTS]
        sizes = [group[0].size for group in chunk]
        chunk += [chunk[0]] * (SLOTS - len(chunk))     # unused slots: size 0
        sizes += [0] * (SLOTS - len(sizes))
        if sum(sizes):
            k(*[g for _, g, _, _ in chunk], b1, b2, step_size, bias2_sqrt, eps, decay,
              *sizes, *[a for p, _, m, v in chunk for a in (p, m, v)], size=sum(sizes))


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
