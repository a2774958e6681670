"""The CUDA source of ember's own GPU kernels, run through CuPy by ``backend.cuda``:
``ELEMENTWISE`` and ``REDUCTION`` (CuPy's ElementwiseKernel and ReductionKernel: a body per
element or per reduced element) and ``RAW`` (whole CUDA kernels for CuPy's RawKernel). Text
only: importing it needs neither CuPy nor a GPU (tools/check_kernels.py compiles it with
NVRTC; the CPU tests run it through the CuPy stand-in, tests/fakecupy.py)."""

# Where CuPy's composite of ufuncs and reductions costs a launch per step (17-50 us of host
# time each on the H200 machine), ember writes the loop once as CuPy's ElementwiseKernel or
# ReductionKernel source. Each is compiled on first use (CuPy keeps the binary on disk);
# tools/check_kernels.py compiles every one with NVRTC without a GPU, and the CPU tests run
# the same bodies through the CuPy stand-in (tests/fakecupy.py), which compiles them as C++.
# Arithmetic is in float32 for float16/bfloat16/float32 and in float64 for float64 (``A``).

# the start of every kernel's preamble (ElementwiseKernel, ReductionKernel and RawKernel)
COMMON = r"""
template <typename X> struct ember_acc { typedef float type; };
template <> struct ember_acc<double> { typedef double type; };

// float32 -> bfloat16 bits, to nearest even on the bits (c10's round_to_nearest_even)
__device__ inline unsigned short ember_bf16_bits(const float x) {
    const unsigned int b = __float_as_uint(x);
    return isnan(x) ? 0x7FC0 : (unsigned short)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

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

PREAMBLE = COMMON + r"""

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


def _slotted(name, arrays, scalars, call):
    """A RawKernel ``name`` over the elements of up to ``SLOTS`` parameters (a grid-stride loop
    over their total length; element i finds its parameter by the sizes n0, n1, ...):
    ``arrays`` the C parameters of slot {k}, ``scalars`` those of all, ``call`` the statement
    for element j of slot {k}."""
    params = ', '.join(arrays.format(k=k) for k in range(SLOTS))
    sizes = ', '.join(f'long long n{k}' for k in range(SLOTS))
    return (f'extern "C" __global__ void {name}({params}, {sizes}, {scalars}, '
            'long long total) {\n'
            f'    const long long ns[{SLOTS}] = {{{", ".join(f"n{k}" for k in range(SLOTS))}}};\n'
            '    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; '
            'i < total; i += (long long)blockDim.x * gridDim.x) {\n'
            '        long long j = i; int t = 0;\n'
            f'        while (t < {SLOTS - 1} && j >= ns[t]) {{ j -= ns[t]; ++t; }}\n'
            '        switch (t) {\n' + ''.join(
                f'        case {k}: {call.format(k=k)}; break;\n' for k in range(SLOTS))
            + '        }\n    }\n}\n')


# SGD on one element, as ``optim.SGD``'s composite rounds it: g' = -g (maximize: flags & 2),
# + weight_decay p; with momentum the buffer b = g' (the first step: flags & 4) or momentum b +
# (1 - dampening) g', and g' = b, or g' + momentum b (Nesterov: flags & 1); p -= lr g'
_SGD_ONE = r"""
__device__ inline void ember_sgd_one(T& p, const T g, T& b, const double lr,
        const double momentum, const double dampening, const double weight_decay,
        const long long flags) {
    T d = flags & 2 ? -g : g;
    if (weight_decay != 0) d = d + (T)((T)weight_decay * p);
    if (momentum != 0) {
        b = flags & 4 ? d : (T)((T)(b * (T)momentum) + (T)((T)(1 - dampening) * d));
        d = flags & 1 ? (T)(d + (T)((T)momentum * b)) : b;
    }
    p = p - (T)((T)lr * d);
}
"""


ELEMENTWISE = {
    # Adam/AdamW on one parameter: m, v and p in place
    'ember_adam': (
        'T g, float64 b1, float64 b2, float64 step_size, float64 bias2_sqrt, float64 eps, '
        'float64 decay', 'T p, T m, T v',
        'ember_adam_one(p, g, m, v, b1, b2, step_size, bias2_sqrt, eps, decay)'),
    # float32 -> bfloat16 bits, to nearest even
    'ember_bf16': ('float32 x', 'uint16 y', 'y = ember_bf16_bits(x)'),
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

ROW_PREAMBLE = COMMON + r"""
struct ember_add { template <typename V> __device__ V operator()(V a, V b) const {
    return a + b; } };
struct ember_max { template <typename V> __device__ V operator()(V a, V b) const {
    return a > b ? a : b; } };
// along one axis of a window op: the window whose tap i reads input position r (window o
// reads o stride - pad + i dil), or -1 where none does
__device__ inline long long ember_window(const long long r, const long long i,
        const long long pad, const long long dil, const long long stride, const long long out) {
    const long long d = r + pad - i * dil;
    return d >= 0 && d % stride == 0 && d / stride < out ? d / stride : -1;
}
// the sum, taps (i, j) in order, of f(i, j, p, q) over the windows (p, q) of a 2-D window op
// whose tap (i, j) reads input position (r, s): the gathered adjoint of a window op
template <typename F>
__device__ A ember_taps_sum(const long long r, const long long s, const long long kh,
        const long long kw, const long long ho, const long long wo, const long long sh,
        const long long sw, const long long ph, const long long pw, const long long dh,
        const long long dw, F f) {
    A acc = 0;
    for (long long i = 0; i < kh; ++i) {
        const long long p = ember_window(r, i, ph, dh, sh, ho);
        for (long long j = 0; p >= 0 && j < kw; ++j) {
            const long long q = ember_window(s, j, pw, dw, sw, wo);
            if (q >= 0) acc += f(i, j, p, q);
        }
    }
    return acc;
}
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
    'ember_adam_raw': _slotted(
        'ember_adam_raw', 'const T* g{k}, T* p{k}, T* m{k}, T* v{k}',
        'double b1, double b2, double step_size, double bias2_sqrt, double eps, double decay',
        'ember_adam_one(p{k}[j], g{k}[j], m{k}[j], v{k}[j], b1, b2, step_size, bias2_sqrt, '
        'eps, decay)'),
    # SGD on up to SLOTS parameters of float32/float64 (b: the momentum buffer; without
    # momentum p again, not read)
    'ember_sgd_raw': _SGD_ONE + _slotted(
        'ember_sgd_raw', 'const T* g{k}, T* p{k}, T* b{k}',
        'double lr, double momentum, double dampening, double weight_decay, long long flags',
        'ember_sgd_one(p{k}[j], g{k}[j], b{k}[j], lr, momentum, dampening, weight_decay, '
        'flags)'),
    # float32 -> bfloat16 bits, to nearest even (as ember_bf16), a thread for each so many
    # elements
    'ember_bf16_raw': r"""
extern "C" __global__ void ember_bf16_raw(const float* x, unsigned short* y, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x) {
        y[i] = ember_bf16_bits(x[i]);
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
    y = ember_bf16_bits(v); }
extern "C" __global__ void ember_add_rows(Y* y, const T* b, long long n, long long cols) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x)
        ember_store(y[i], (A)ember_load(y[i]) + (A)b[i % cols]);
}
""",
    # im2col, the batch innermost: cols (c, kh, kw, ho, wo, n) from x (n, c, hv, wv) at
    # element strides xs (any layout), zero outside it (padding, or rows cut off); T the
    # elements' bits (any dtype of that size). Window (p, q)'s tap (i, j) reads input row
    # p sh - ph + i dh, column q sw - pw + j dw
    'ember_im2col': r"""
extern "C" __global__ void ember_im2col(const T* x, T* cols, long long n, long long hv,
        long long wv, long long xs_n, long long xs_c, long long xs_h, long long xs_w,
        long long kh, long long kw, long long ho, long long wo, long long sh, long long sw,
        long long ph, long long pw, long long dh, long long dw, long long total) {
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total;
         e += (long long)blockDim.x * gridDim.x) {
        long long t = e;
        const long long b = t % n; t /= n;
        const long long q = t % wo; t /= wo;
        const long long p = t % ho; t /= ho;
        const long long j = t % kw; t /= kw;
        const long long i = t % kh, ch = t / kh;
        const long long r = p * sh - ph + i * dh, s = q * sw - pw + j * dw;
        cols[e] = r >= 0 && r < hv && s >= 0 && s < wv
            ? x[b * xs_n + ch * xs_c + r * xs_h + s * xs_w] : (T)0;
    }
}
""",
    # col2im, its adjoint: gx (n, c, h, w) C-contiguous, each element the sum of the columns
    # (c, kh, kw, ho, wo, n) that read it, taps in order (as the composite's strided adds)
    'ember_col2im': r"""
extern "C" __global__ void ember_col2im(const T* cols, T* gx, long long n, long long c,
        long long h, long long w, long long kh, long long kw, long long ho, long long wo,
        long long sh, long long sw, long long ph, long long pw, long long dh, long long dw,
        long long total) {
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total;
         e += (long long)blockDim.x * gridDim.x) {
        long long t = e;
        const long long s = t % w; t /= w;
        const long long r = t % h; t /= h;
        const long long ch = t % c, b = t / c;
        gx[e] = (T)ember_taps_sum(r, s, kh, kw, ho, wo, sh, sw, ph, pw, dh, dw,
            [&](long long i, long long j, long long p, long long q) {
                return (A)cols[((((ch * kh + i) * kw + j) * ho + p) * wo + q) * n + b]; });
    }
}
""",
    # max pooling: each window's maximum y and its tap arg (i kw + j, of type I) from x
    # (n, c, hv, wv) at element strides xs, -inf outside it; ties go to the first tap, NaN
    # wins (as the composite's running maximum, and torch's CPU kernel); y and arg
    # (n, c, ho, wo) C-contiguous
    'ember_max_pool': r"""
extern "C" __global__ void ember_max_pool(const T* x, T* y, I* arg, long long c, long long hv,
        long long wv, long long xs_n, long long xs_c, long long xs_h, long long xs_w,
        long long kh, long long kw, long long ho, long long wo, long long sh, long long sw,
        long long ph, long long pw, long long dh, long long dw, long long total) {
    const T ninf = (T)__int_as_float(0xff800000);
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total;
         e += (long long)blockDim.x * gridDim.x) {
        long long t = e;
        const long long q = t % wo; t /= wo;
        const long long p = t % ho; t /= ho;
        const long long ch = t % c, b = t / c;
        const T* xb = x + b * xs_n + ch * xs_c;
        T best = ninf;
        long long a = -1;   // padding never wins: a window of -inf keeps its first tap inside
        for (long long i = 0; i < kh; ++i)
            for (long long j = 0; j < kw; ++j) {
                const long long r = p * sh - ph + i * dh, s = q * sw - pw + j * dw;
                if (r < 0 || r >= hv || s < 0 || s >= wv)
                    continue;
                const T v = xb[r * xs_h + s * xs_w];
                if (a < 0 || v > best || v != v) {
                    best = v;
                    a = i * kw + j;
                }
            }
        if (a < 0)
            a = 0;
        y[e] = best;
        arg[e] = (I)a;
    }
}
""",
    # its backward: gx (n, c, h, w) C-contiguous, each element the sum of the gradients g
    # (n, c, ho, wo; element strides gs) of the windows whose maximum it was (arg
    # C-contiguous), taps in order
    'ember_max_pool_grad': r"""
extern "C" __global__ void ember_max_pool_grad(const T* g, const I* arg, T* gx, long long c,
        long long h, long long w, long long gs_n, long long gs_c, long long gs_h,
        long long gs_w, long long kh, long long kw, long long ho, long long wo, long long sh,
        long long sw, long long ph, long long pw, long long dh, long long dw,
        long long total) {
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total;
         e += (long long)blockDim.x * gridDim.x) {
        long long t = e;
        const long long s = t % w; t /= w;
        const long long r = t % h; t /= h;
        const long long ch = t % c, b = t / c;
        const I* ab = arg + (b * c + ch) * ho * wo;
        const T* gb = g + b * gs_n + ch * gs_c;
        gx[e] = (T)ember_taps_sum(r, s, kh, kw, ho, wo, sh, sw, ph, pw, dh, dw,
            [&](long long i, long long j, long long p, long long q) {
                return (long long)ab[p * wo + q] == i * kw + j ? (A)gb[p * gs_h + q * gs_w]
                                                               : (A)0; });
    }
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


def raw_source(name, T='float', **types):
    """The CUDA source of ``RAW[name]`` for the C type ``T`` ('float' or 'double'; ``A``, the
    arithmetic's, the same) and the C types of the other placeholders in ``types``.

    >>> raw_source('ember_add_rows', 'float', Y='unsigned short').splitlines()[:3]
    ['typedef float T;', 'typedef float A;', 'typedef unsigned short Y;']
    """
    return ''.join(f'typedef {c} {n};\n' for n, c in dict(T=T, A=T, **types).items()) + \
        ROW_PREAMBLE + RAW[name]
