"""The CPU backend: arrays are NumPy arrays."""
import ctypes
import os
import sys

import numpy as xp  # noqa: F401  (the namespace ops use on this device)

name = 'cpu'

# glibc's malloc tuning names: a user who set any of them has chosen, and ember keeps out.
MALLOC_ENV = ('MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_',
              'MALLOC_MMAP_MAX_', 'GLIBC_TUNABLES', 'EMBER_SYSTEM_MALLOC')
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory(mmap_threshold=32 << 20, trim_threshold=128 << 20):
    """Let glibc's malloc reuse freed array memory instead of giving it back to the OS.

    By default glibc serves each block over a (moving) threshold of 128 KiB-32 MiB with a
    fresh ``mmap`` and returns the heap's free top beyond twice that, so a training step
    whose activations are freed at its end touches new pages in the next: every page a
    fault, about 1 us on a virtual machine. A GPT step of the benchmark (W5) took 5,200
    faults and 63 ms; with blocks up to ``mmap_threshold`` from the heap and up to
    ``trim_threshold`` of free top kept, none and about 50 ms (PyTorch, which allocates
    fewer temporaries: 1,400 faults). Called when ember is imported, on Linux with glibc,
    unless one of ``MALLOC_ENV`` is set (``EMBER_SYSTEM_MALLOC=1`` keeps glibc's defaults).
    The cost: up to ``trim_threshold`` bytes of freed memory stay with the process, as they
    do in a caching allocator. Returns whether the settings took.

    >>> os.environ['EMBER_SYSTEM_MALLOC'] = '1'   # the opt-out: glibc's defaults stay
    >>> keep_freed_memory()
    False
    >>> del os.environ['EMBER_SYSTEM_MALLOC']
    """
    if not sys.platform.startswith('linux') or any(k in os.environ for k in MALLOC_ENV):
        return False
    try:
        libc = ctypes.CDLL(None)          # the process's own C library
        libc.gnu_get_libc_version         # glibc's mallopt; musl's accepts and ignores
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) \
        and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))


keep_freed_memory()

# erf and erfc, which NumPy lacks: W. J. Cody's rational Chebyshev approximations ("Rational
# Chebyshev approximations for the error function", Math. Comp. 23, 1969), accurate to about
# 1e-16 relative in float64, evaluated on whole arrays.
_A = (3.16112374387056560e0, 1.13864154151050156e2, 3.77485237685302021e2,
      3.20937758913846947e3, 1.85777706184603153e-1)
_B = (2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3,
      2.84423683343917062e3)
_C = (5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1,
      2.98635138197400131e2, 8.81952221241769090e2, 1.71204761263407058e3,
      2.05107837782607147e3, 1.23033935479799725e3, 2.15311535474403846e-8)
_D = (1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2,
      1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3,
      3.43936767414372164e3, 1.23033935480374942e3)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)


def _ratio(num_coef, den_coef, lead, t):
    """Cody's nested form: (((lead t + n0) t + n1) ...) over ((t + d0) t + d1) ..."""
    num, den = lead * t, t
    for n, d in zip(num_coef, den_coef):
        num, den = (num + n) * t, (den + d) * t
    return num, den


def _erf_small(x):
    """erf(x) for |x| <= 0.46875."""
    num, den = _ratio(_A[:3], _B[:3], _A[4], x * x)
    return x * (num + _A[3]) / (den + _B[3])


def _erfc_large(y):
    """erfc(y) for y > 0.46875 (Cody's two outer intervals)."""
    y = xp.minimum(y, 28.0)    # erfc underflows to 0 past 27.3; keeps inf out of the sums
    out = xp.empty_like(y)
    mid = y <= 4.0
    ym = y[mid]
    num, den = _ratio(_C[:7], _D[:7], _C[8], ym)
    out[mid] = (num + _C[7]) / (den + _D[7])
    tail = ~mid
    yt = y[tail]
    z = 1.0 / (yt * yt)
    num, den = _ratio(_P[:4], _Q[:4], _P[5], z)
    out[tail] = (0.5641895835477562869 - z * (num + _P[4]) / (den + _Q[4])) / yt
    # exp(-y^2) as exp(-ysq^2) exp(-(y - ysq)(y + ysq)), which keeps precision for large y
    ysq = xp.trunc(y * 16.0) / 16.0
    return out * xp.exp(-ysq * ysq) * xp.exp(-(y - ysq) * (y + ysq))


def _work_dtype(x):
    return xp.float64 if x.dtype == xp.float64 or x.dtype.kind != 'f' else xp.float32


def erf(x):
    """The error function of a NumPy array (float32 inputs are computed in float32).

    >>> float(erf(np.array(0.5)))
    0.5204998778130465
    """
    dt = _work_dtype(x)
    x = xp.asarray(x, dtype=dt)
    out = xp.empty_like(x)
    y = xp.abs(x)
    small = y <= 0.46875
    out[small] = _erf_small(x[small])
    large = ~small
    out[large] = xp.sign(x[large]) * (1.0 - _erfc_large(y[large]))
    return out


def erfc(x):
    """The complementary error function of a NumPy array, accurate in the far tail.

    >>> abs(float(erfc(np.array(3.0))) - 2.2090496998585e-05) < 1e-17
    True
    """
    dt = _work_dtype(x)
    x = xp.asarray(x, dtype=dt)
    out = xp.empty_like(x)
    y = xp.abs(x)
    small = y <= 0.46875
    out[small] = 1.0 - _erf_small(x[small])
    large = ~small
    tail = _erfc_large(y[large])
    out[large] = xp.where(x[large] < 0, 2.0 - tail, tail)
    return out


# Abramowitz & Stegun 7.1.26: erfc(z) = t (a1 + a2 t + ... + a5 t^4) exp(-z^2), t = 1 / (1 +
# p z), |error| < 1.5e-7. ATen's vectorized CPU erf is this formula, so ember's float32 GELU
# rounds as torch's does; five coefficients make it the shortest chain of NumPy passes.
_AS_P = 0.3275911
_AS_A = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)   # a5 ... a1


def gelu(x):
    """GELU, ``x Phi(x)`` with Phi the standard normal CDF: Cody's erfc in float64; in float32
    (float16 and bfloat16 through float32) A&S 7.1.26 in cache-sized blocks, evaluated as
    ``max(x, 0) - |x| Phi(-|x|)`` (no branch on the sign, no cancellation in either tail).

    >>> [round(float(v), 6) for v in gelu(np.array([-1.0, 0.0, 1.0], dtype=np.float32))]
    [-0.158655, 0.0, 0.841345]
    """
    if x.dtype == xp.float64:
        return x * (0.5 * erfc(x * -0.7071067811865476))
    return blocked(_gelu32, x.astype(xp.float32, copy=False)).astype(x.dtype, copy=False)


_AS_Z = _AS_P / 2 ** 0.5                    # t = 1 / (1 + p |x| / sqrt 2)
_AS_HALF = tuple(a / 2 for a in _AS_A)      # Phi(-|x|) = erfc / 2


def _gelu32(x, out):
    a = xp.abs(x)
    t = a * _AS_Z
    t += 1
    xp.reciprocal(t, out=t)
    r = t * _AS_HALF[0]
    for c in _AS_HALF[1:]:
        r += c
        r *= t
    e = xp.multiply(a, a, out=t)             # exp(-x^2 / 2), in t's memory
    e *= -0.5
    xp.exp(e, out=e)
    r *= e                                   # Phi(-|x|)
    r *= a
    xp.maximum(x, 0, out=out)
    out -= r


_CHUNK = 65536


def blocked(fn, *arrays):
    """``fn(*blocks, out=block)`` over 1-D blocks of same-shaped arrays that stay in cache,
    writing each block of the result: for chains of elementwise NumPy calls on large arrays
    this is 2-3x faster than whole-array passes."""
    flats = [xp.ascontiguousarray(a).reshape(-1) for a in arrays]
    out = xp.empty(flats[0].shape, dtype=xp.result_type(*flats))
    for i in range(0, out.size, _CHUNK):
        fn(*(f[i:i + _CHUNK] for f in flats), out=out[i:i + _CHUNK])
    return out.reshape(arrays[0].shape)
