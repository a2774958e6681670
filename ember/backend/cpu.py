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

    >>> keep_freed_memory() in (True, False)
    True
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


# Numerical Recipes' erfc (Chebyshev fit, fractional error < 1.2e-7 everywhere): one formula,
# no branches, evaluated in place; used for float32 where it is as exact as float32 allows.
_NR = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
       -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def normal_cdf(x):
    """Phi(x), the standard normal CDF, ``0.5 * erfc(-x / sqrt(2))``: Cody's erfc in float64,
    the Numerical Recipes form (in place, few temporaries) in float32 and float16.

    >>> round(float(normal_cdf(np.array(1.0, dtype=np.float32))), 6)
    0.841345
    """
    if x.dtype == xp.float64:
        return 0.5 * erfc(x * -0.7071067811865476)
    return blocked(_normal_cdf32, x.astype(xp.float32, copy=False)).astype(x.dtype, copy=False)


_CHUNK = 65536


def blocked(fn, *arrays):
    """``fn`` applied to 1-D blocks of same-shaped arrays that stay in cache: for chains of
    elementwise NumPy calls on large arrays this is 2-3x faster than whole-array passes."""
    flats = [xp.ascontiguousarray(a).reshape(-1) for a in arrays]
    out = xp.empty(flats[0].shape, dtype=xp.result_type(*flats))
    for i in range(0, out.size, _CHUNK):
        out[i:i + _CHUNK] = fn(*(f[i:i + _CHUNK] for f in flats))
    return out.reshape(arrays[0].shape)


def _normal_cdf32(x):
    z = xp.abs(x)
    z *= 0.7071067811865476                  # |x| / sqrt(2)
    t = z * 0.5
    t += 1
    xp.reciprocal(t, out=t)
    p = t * _NR[-1]
    for c in _NR[-2:0:-1]:
        p += c
        p *= t
    p += _NR[0]
    z *= z
    p -= z
    xp.exp(p, out=p)
    p *= t                                   # erfc(|x| / sqrt(2))
    p *= 0.5                                 # Phi(-|x|)
    q = p * -2                               # Phi(x) = Phi(-|x|) + [x > 0] (1 - 2 Phi(-|x|)):
    q += 1                                   # arithmetic, as a where() on random signs is
    q *= x > 0                               # many times slower
    p += q
    return p
