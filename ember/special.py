"""Special functions, as ``torch.special``: the gamma family (``gammaln``, ``digamma``,
``polygamma``, ``multigammaln``, the Hurwitz ``zeta``), the error-function family (``erfinv``,
``erfcx``, ``ndtr``, ``ndtri``, ``log_ndtr``), modified Bessel functions (``i0``, ``i0e``,
``i1``, ``i1e``), ``bessel_j0``/``bessel_j1``, and ``xlogy``, ``xlog1py``, ``logit``,
``expit``, ``sinc``, ``entr``; torch's aliases of ember's own ops (``erf``, ``log1p``,
``softmax`` ...) are here too.

Forward runs on float64 arrays and is rounded once to the input's dtype. NumPy has only ``i0``
and ``sinc``, and ember needs no SciPy, so the rest are computed here from published methods,
each cited where it is written: Python's ``math.lgamma`` elementwise, recurrence and asymptotic
series (digamma, Hurwitz zeta by Euler-Maclaurin), Cody's rational approximations (``erfcx``,
through ember's ``erf``), Newton's method on them (``ndtri``, ``erfinv``), power series and
Hankel's asymptotic expansions (Bessel functions), Miller's backward recurrence (``j0``,
``j1``). Backward is written in ember ops (the derivative of ``lgamma`` is ``digamma``, of
``digamma`` ``polygamma(1, .)`` ...), so gradients of gradients work.

>>> ember.special.gammaln(ember.tensor([1.0, 5.0]))
tensor([0.0000, 3.1781])
>>> ember.special.ndtri(ember.tensor([0.5, 0.975]))
tensor([0.0000, 1.9600])
"""
import math
from fractions import Fraction

import numpy as np

from ._tensor import Tensor, method
from .autograd import Op
from .backend import cpu as _cpu
from .ops import elementwise as _ew
from .ops.inplace_methods import _inplace_method
from .ops.elementwise import erf, erfc, exp2, expm1, floating, log1p, narrow, operands
from .ops.elementwise import sigmoid as expit
from .ops.index import where
from .ops.reduce import logsumexp
from .ops.rounding import round
from .nn.functional import log_softmax, softmax

__all__ = ['erf', 'erfc', 'erfinv', 'erfcx', 'gammaln', 'digamma', 'psi', 'polygamma',
           'multigammaln', 'xlogy', 'xlog1py', 'i0', 'i0e', 'i1', 'i1e', 'logit', 'expit',
           'sinc', 'entr', 'ndtr', 'ndtri', 'log_ndtr', 'zeta', 'bessel_j0', 'bessel_j1',
           'log1p', 'expm1', 'exp2', 'round', 'softmax', 'log_softmax', 'logsumexp',
           'gammainc', 'gammaincc']

SQRT_PI, SQRT_2, SQRT_2PI = math.sqrt(math.pi), math.sqrt(2.0), math.sqrt(2.0 * math.pi)
# Bernoulli numbers B_2, B_4, ..., B_24: the coefficients of the Euler-Maclaurin and
# Stirling series (Abramowitz & Stegun, table 23.2)
BERNOULLI = [Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30),
             Fraction(5, 66), Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510),
             Fraction(43867, 798), Fraction(-174611, 330), Fraction(854513, 138),
             Fraction(-236364091, 2730)]


# ---------------------------------------------------------------- forward, on float64 arrays

def _lgamma1(v):
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):   # the poles (0, -1, ...) and past float64's range
        return math.inf


_LGAMMA = np.frompyfunc(_lgamma1, 1, 1)


def _gammaln(xp, x):
    """Python's ``math.lgamma`` (correctly rounded to within an ulp or two) elementwise: speed
    is secondary here; CuPy's ``gammaln`` kernel on the GPU, a round trip to the host on a
    CuPy without it."""
    if xp is not np:
        try:
            from cupyx.scipy.special import gammaln
        except ImportError:
            gammaln = None
        if gammaln is not None:
            return gammaln(x)
        return xp.asarray(_gammaln(np, xp.asnumpy(x)))
    out = np.asarray(_LGAMMA(x), dtype=np.float64)
    # CPython's Lanczos sum loses digits near the roots 1 and 2 (1e-12 relative at 1.00035):
    # on [0.5, 2.5]
    # there lgamma(1 + z) = -gamma z + sum_k (-1)^k zeta(k) z^k / k (A&S 6.1.33)
    z1, z2 = x - 1.0, x - 2.0
    near1, near2 = np.abs(z1) < 0.5, np.abs(z2) <= 0.5
    if near1.any() or near2.any():
        z = np.where(near1, z1, np.where(near2, z2, 0.0))
        series = np.zeros_like(z)
        for c in reversed(_LGAMMA_SERIES):
            series = (series + c) * z
        series = series * z - 0.5772156649015329 * z
        out = np.where(near1, series, np.where(near2, series + np.log1p(z), out))
    return out


# psi(x) ~ log x - 1 / (2x) - sum_k B_2k / (2k x^2k) (Abramowitz & Stegun 6.3.18), for x >= 10
_PSI_SERIES = [float(b / (2 * k + 2)) for k, b in enumerate(BERNOULLI[:7])]


def _digamma(xp, x):
    """Recurrence ``psi(x) = psi(x + 1) - 1 / x`` up to x >= 10, then the asymptotic series;
    reflection ``psi(x) = psi(1 - x) - pi / tan(pi x)`` below 0 (the method of Cephes' psi and
    torch's CPU kernel, so the two agree closely also near the root at 1.4616)."""
    neg = x < 0
    z = xp.where(neg, 1.0 - x, x)
    acc = xp.zeros_like(z)
    for _ in range(10):
        small = z < 10.0
        acc -= xp.where(small, 1.0 / xp.where(small, z, 1.0), 0.0)
        z = xp.where(small, z + 1.0, z)
        if not bool(small.any()):
            break
    zz = 1.0 / (z * z)
    series = xp.zeros_like(z)
    for c in reversed(_PSI_SERIES):
        series = (series + c) * zz
    out = acc + xp.log(z) - 0.5 / z - xp.where(z < 1e17, series, 0.0)
    frac = x - xp.trunc(x)   # tan(pi * frac) keeps the precision tan(pi * x) loses
    out = xp.where(neg, out - math.pi / xp.tan(math.pi * frac), out)
    out = xp.where(neg & (frac == 0), xp.nan, out)       # the poles at -1, -2, ...
    return xp.where(x == 0, xp.copysign(xp.inf, -x), out)  # +-inf at -+0, as C's and torch's


def _zeta(xp, s, q):
    """Hurwitz's ``zeta(s, q) = sum_k (q + k)^-s`` by Euler-Maclaurin summation (Abramowitz &
    Stegun 23.1.30; the method of Cephes' zeta): the terms to ``w = q + n >= 10`` directly,
    then ``w^(1-s) / (s-1) + w^-s / 2 + sum_j B_2j / (2j)! (s)_(2j-1) w^(-s-2j+1)``."""
    s, q = s + xp.zeros_like(q), q + xp.zeros_like(s)   # (broadcast, as new arrays)
    n = xp.where(xp.isfinite(q), xp.maximum(10.0, xp.ceil(10.0 - q)), 10.0)
    total = xp.zeros(s.shape)
    for k in range(int(n.max()) if n.size else 0):   # (more terms only where q < 0)
        a = q + k
        total += xp.where(k < n, xp.power(xp.where(k < n, a, 1.0), -s), 0.0)
    w = q + n
    b = xp.power(w, -s)
    total += w * b / (s - 1.0) + 0.5 * b
    poch, wp = s.copy(), b / w
    fact = 2.0
    for j, bern in enumerate(BERNOULLI):
        total += float(bern) / fact * poch * wp
        poch = poch * (s + 2 * j + 1) * (s + 2 * j + 2)
        wp = wp / (w * w)
        fact *= (2 * j + 3) * (2 * j + 4)
    total = xp.where(s == 1, xp.inf, xp.where(s < 1, xp.nan, total))
    pole = (q <= 0) & (q == xp.floor(q))
    total = xp.where(pole & (s > 1), xp.inf, total)
    return xp.where((q < 0) & ~pole & (s != xp.floor(s)), xp.nan, total)


# (-1)^k zeta(k) / k, k = 2..60: lgamma's Taylor series at 1 (above), to 1e-19 for |z| <= 0.5
_LGAMMA_SERIES = [(-1) ** k * float(_zeta(np, np.float64(k), np.float64(1.0))) / k
                  for k in range(60, 1, -1)][::-1]


def _igamma(xp, a, x, upper):
    """The regularised incomplete gamma functions ``P(a, x)`` (``upper`` False) and ``Q(a, x)
    = 1 - P``: the series ``x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1)...(a + n))`` below
    ``x = a + 1``, the continued fraction for Q (Lentz's method) above (Numerical Recipes
    6.2; the split of Cephes' igam), each run until every element has converged; the one on
    the other side of the split by ``1 - ``, where it is not small."""
    a, x = a + xp.zeros_like(x), x + xp.zeros_like(a)
    valid = (a > 0) & (x > 0) & xp.isfinite(a) & xp.isfinite(x)
    aa, xx = xp.where(valid, a, 1.0), xp.where(valid, x, 1.0)
    logpre = aa * xp.log(xx) - xx - _gammaln(xp, aa)
    series = xx < aa + 1.0
    term = xp.where(series, 1.0 / aa, 0.0)
    total, ap = term, aa
    for _ in range(5000):
        ap = ap + 1.0
        term = term * xx / ap
        total = total + term
        if not bool((term > total * 1e-17).any()):
            break
    p_series = total * xp.exp(logpre)
    tiny = 1e-300
    b = xp.where(series, 1.0, xx + 1.0 - aa)
    c, d = xp.full_like(b, 1.0 / tiny), 1.0 / b
    h = d
    for i in range(1, 5000):
        an = -i * (i - aa)
        b = b + 2.0
        d = an * d + b
        d = 1.0 / xp.where(xp.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = xp.where(xp.abs(c) < tiny, tiny, c)
        h = h * d * c
        if not bool((xp.abs(d * c - 1.0) > 1e-16).any()):
            break
    q_frac = xp.exp(logpre) * h
    out = xp.where(series, 1.0 - p_series, q_frac) if upper else \
        xp.where(series, p_series, 1.0 - q_frac)
    one, zero = (0.0, 1.0) if upper else (1.0, 0.0)   # P's values at x = inf and x = 0
    out = xp.where((x == xp.inf) & (a >= 0) & (a < xp.inf) | (a == 0) & (x > 0), one, out)
    out = xp.where((x == 0) & (a > 0) | (a == xp.inf) & (x >= 0) & (x < xp.inf), zero, out)
    return xp.where((a < 0) | (x < 0) | xp.isnan(a) | xp.isnan(x), xp.nan, out)


def _polygamma(xp, x, n):
    """``psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x)`` (Abramowitz & Stegun 6.4.10)."""
    if n == 0:
        return _digamma(xp, x)
    return (-1.0) ** (n + 1) * float(math.factorial(n)) * _zeta(xp, xp.full_like(x, n + 1.0), x)


def _erfcx(xp, x):
    """``exp(x^2) erfc(x)`` by Cody's rational approximations (the ones ember's ``erfc`` uses,
    ``backend/cpu.py``), which compute exactly this before their final ``exp(-x^2)``; below 0
    ``2 exp(x^2) - erfcx(-x)``."""
    y = xp.abs(x)
    small = y <= 0.46875
    out_small = xp.exp(y * y) * (1.0 - _ew._special(xp, 'erf', xp.where(small, y, 0.0)))
    mid = y <= 4.0
    ym = xp.where(mid, y, 1.0)
    num, den = _cpu._ratio(_cpu._C[:7], _cpu._D[:7], _cpu._C[8], ym)
    out_mid = (num + _cpu._C[7]) / (den + _cpu._D[7])
    yt = xp.where(mid, 5.0, y)
    z = 1.0 / (yt * yt)
    num, den = _cpu._ratio(_cpu._P[:4], _cpu._Q[:4], _cpu._P[5], z)
    out_tail = (0.5641895835477562869 - z * (num + _cpu._P[4]) / (den + _cpu._Q[4])) / yt
    out = xp.where(small, out_small, xp.where(mid, out_mid, out_tail))
    return xp.where(x < 0, 2.0 * xp.exp(x * x) - out, out)


def _log_ndtr(xp, x):
    """``log Phi(x)``: ``log(erfcx(-x / sqrt 2) / 2) - x^2 / 2`` in the lower tail, where Phi
    underflows, ``log1p(-erfc(x / sqrt 2) / 2)`` above (torch's formula)."""
    low = x < -1.0
    tail = xp.log(_erfcx(xp, xp.where(low, -x, 1.0) / SQRT_2) / 2.0) - x * x / 2.0
    head = xp.log1p(-_ew._special(xp, 'erfc', xp.where(low, 0.0, x) / SQRT_2) / 2.0)
    return xp.where(low, tail, head)


def _ndtri(xp, p):
    """The standard normal quantile: Abramowitz & Stegun 26.2.23 (error < 4.5e-4) as the
    start, then Newton's method on ``log Phi(x) = log p`` in the lower tail (its step,
    ``(log Phi(x) - log p) Phi(x) / phi(x)``, with ``Phi / phi = sqrt(pi / 2) erfcx(-x /
    sqrt 2)``, neither under- nor overflows): three steps reach full precision."""
    upper = p > 0.5
    q = xp.where(upper, 1.0 - p, p)   # (exact for p >= 0.5)
    qs = xp.where((q > 0) & (q <= 0.5), q, 0.5)
    t = xp.sqrt(-2.0 * xp.log(qs))
    x = -(t - (2.515517 + t * (0.802853 + t * 0.010328))
          / (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))))
    logq = xp.log(qs)
    for _ in range(3):
        mills = math.sqrt(math.pi / 2) * _erfcx(xp, -x / SQRT_2)
        # near the centre, Phi(x) - q as erf(x / sqrt 2) / 2 - (q - 1/2), both exact enough
        centre = (0.5 * _ew._special(xp, 'erf', x / SQRT_2) - (qs - 0.5)) \
            * (SQRT_2PI * xp.exp(x * x / 2.0))
        x = x - xp.where(qs > 0.25, centre, (_log_ndtr(xp, x) - logq) * mills)
    x = xp.where(p == 0.5, 0.0, xp.where(upper, -x, x))
    x = xp.where(p == 0, -xp.inf, xp.where(p == 1, xp.inf, x))
    return xp.where((p < 0) | (p > 1) | xp.isnan(p), xp.nan, x)


def _erfinv(xp, y):
    """The inverse error function: ``ndtri((1 + y) / 2) / sqrt 2`` as the start, then two
    Newton steps on ``erf(x) = y`` (on ``erfc(x) = 1 - y`` above 0.5, which keeps the tail's
    precision), which restore full relative precision for small ``y``."""
    a = xp.abs(y)
    inside = a < 1
    a1 = xp.where(inside, a, 0.0)
    x = -_ndtri(xp, (1.0 - a1) / 2.0) / SQRT_2
    for _ in range(2):
        r = xp.where(a1 <= 0.5, _ew._special(xp, 'erf', x) - a1,
                     (1.0 - a1) - _ew._special(xp, 'erfc', x))
        x = x - r / (2.0 / SQRT_PI * xp.exp(-x * x))
    x = xp.where(inside, x, xp.where(a == 1, xp.inf, xp.nan))
    return xp.copysign(x, y)


def _hankel(xp, nu, y, n):
    """The terms ``prod_{j<=k} (4 nu^2 - (2j - 1)^2) / (8 j y)``, k = 0..n, of Hankel's
    asymptotic expansions (Abramowitz & Stegun 9.2.5, 9.7.1)."""
    t = xp.ones_like(y)
    terms = [t]
    for j in range(1, n + 1):
        t = t * ((4.0 * nu * nu - (2 * j - 1) ** 2) / (8.0 * j)) / y
        terms.append(t)
    return terms


_BIG = 30.0   # past it the asymptotic series of I reach full precision (least term e^-2x)


def _ie(xp, x, nu):
    """``I_nu(|x|) exp(-|x|)`` for nu = 0, 1: the power series ``(x/2)^nu sum_k (x^2/4)^k /
    (k! (k + nu)!)`` (positive terms, A&S 9.6.10) below 30 (``np.i0``, Cephes' Chebyshev
    series, for nu = 0), Hankel's expansion ``sum_k (-1)^k a_k / sqrt(2 pi x)`` above."""
    y = xp.abs(x)
    ys = xp.where(y <= _BIG, y, 0.0)
    if nu == 0:
        low = xp.i0(ys) * xp.exp(-ys)
    else:
        term, total, quarter = ys / 2.0, ys / 2.0, ys * ys / 4.0
        for k in range(1, 60):
            term = term * quarter / (k * (k + nu))
            total = total + term
        low = total * xp.exp(-ys)
    yb = xp.where(y > _BIG, y, 2 * _BIG)
    high = sum(((-1.0) ** k) * t for k, t in enumerate(_hankel(xp, nu, yb, 40)))
    high = high / xp.sqrt(2.0 * math.pi * yb)
    return xp.where(y <= _BIG, low, xp.where(xp.isnan(y), y, high))


def _jn(xp, x, nu):
    """Bessel's ``J_nu(x)``, nu = 0, 1: Taylor below 1e-3; Miller's backward recurrence
    ``J_(k-1) = (2k / x) J_k - J_(k+1)`` from k = 80, normalised by ``J_0 + 2 sum J_2k = 1``
    (A&S 9.1.27, 9.1.46; accurate in absolute terms, as any method is near the zeros) up to
    25; Hankel's expansion ``sqrt(2 / (pi x)) (P cos chi - Q sin chi)`` (A&S 9.2.5) above."""
    y = xp.abs(x)
    tiny, big = y < 1e-3, y > 25.0
    ym = xp.where(tiny | big, 1.0, y)
    hi, mid, total = xp.zeros_like(ym), xp.full_like(ym, 1e-30), xp.zeros_like(ym)
    for k in range(80, 0, -1):   # (hi, mid) = (J_(k+1), J_k) -> (J_k, J_(k-1)), rescaled
        hi, mid = mid, (2.0 * k / ym) * mid - hi
        if k % 2 == 0:
            total = total + 2.0 * hi
        scale = xp.where(xp.abs(mid) > 1e200, 1e-200, 1.0)
        hi, mid, total = hi * scale, mid * scale, total * scale
    total = total + mid
    miller = (mid if nu == 0 else hi) / total   # (J_1, J_0) = (hi, mid) at the end
    yb = xp.where(big, y, 50.0)
    terms = _hankel(xp, nu, 8.0 * yb / 8.0, 40)
    p = sum(((-1.0) ** (k // 2)) * t for k, t in enumerate(terms) if k % 2 == 0)
    q = sum(((-1.0) ** (k // 2)) * t for k, t in enumerate(terms) if k % 2 == 1)
    c, s = xp.cos(yb), xp.sin(yb)   # cos and sin of x - pi/4 (nu = 0), x - 3 pi/4 (nu = 1)
    cc, ss = ((c + s), (s - c)) if nu == 0 else ((s - c), -(c + s))
    hankel = xp.sqrt(1.0 / (math.pi * yb)) * (p * cc - q * ss)
    taylor = 1.0 - y * y / 4.0 + y ** 4 / 64.0 if nu == 0 else \
        y / 2.0 * (1.0 - y * y / 8.0 + y ** 4 / 192.0)
    out = xp.where(tiny, taylor, xp.where(big, hankel, miller))
    return out if nu == 0 else out * xp.sign(x)


_FORWARD = {
    'lgamma': _gammaln,
    'digamma': _digamma,
    'polygamma': _polygamma,
    'erfinv': _erfinv,
    'erfcx': _erfcx,
    'log_ndtr': _log_ndtr,
    'ndtri': _ndtri,
    'i0': lambda xp, x: xp.i0(x),
    'i0e': lambda xp, x: _ie(xp, x, 0),
    'i1': lambda xp, x: _ie(xp, x, 1) * xp.exp(xp.abs(x)) * xp.sign(x),
    'i1e': lambda xp, x: _ie(xp, x, 1) * xp.sign(x),
    'sinc': lambda xp, x: xp.sinc(x),
    'entr': lambda xp, x: xp.where(x > 0, -x * xp.log(xp.where(x > 0, x, 1.0)),
                                   xp.where(x == 0, 0.0, xp.where(x < 0, -xp.inf, x))),
    'bessel_j0': lambda xp, x: _jn(xp, x, 0),
    'bessel_j1': lambda xp, x: _jn(xp, x, 1),
}


# ---------------------------------------------------------------- backward, in ember ops

def _eps(x):
    return float(np.finfo(np.float64 if x.dtype.name == 'float64' else np.float32).eps)


def _i1_grad(g, x, y):
    # NOTE: at |x| <= eps the rule's y / x is 0 / 0; torch takes its limit 1/2 there
    big = x.abs() > _eps(x)
    safe = where(big, x, _eps(x))
    return g * where(big, i0(safe) - y / safe, 0.5)


def _i1e_grad(g, x, y):
    big = x.abs() > _eps(x)   # NOTE: as for i1, the limit 1/2 at |x| <= eps
    safe = where(big, x, _eps(x))
    return g * where(big, i0e(safe) - y * (safe.sign() + 1 / safe), 0.5)


def _sinc_grad(g, x, y):
    # NOTE: the rule (pi x cos(pi x) - sin(pi x)) / (pi x^2) is 0 / 0 at 0; its limit is 0
    zero = x == 0
    px = where(zero, 1.0, x) * math.pi
    return g * where(zero, 0.0, (px * px.cos() - px.sin()) / (px * where(zero, 1.0, x)))


_GRAD = {
    'lgamma': lambda g, x, y, n: g * digamma(x),
    'digamma': lambda g, x, y, n: g * polygamma(1, x),
    'polygamma': lambda g, x, y, n: g * polygamma(n + 1, x),
    'erfinv': lambda g, x, y, n: g * (0.5 * SQRT_PI) * (y * y).exp(),
    'erfcx': lambda g, x, y, n: g * (2.0 * x * y - 2.0 / SQRT_PI),
    'log_ndtr': lambda g, x, y, n: g / SQRT_2PI * (-(y + x * x / 2.0)).exp(),
    'ndtri': lambda g, x, y, n: g * SQRT_2PI * (y * y / 2.0).exp(),
    'i0': lambda g, x, y, n: g * i1(x),
    'i0e': lambda g, x, y, n: g * (i1e(x) - x.sign() * y),
    'i1': lambda g, x, y, n: _i1_grad(g, x, y),
    'i1e': lambda g, x, y, n: _i1e_grad(g, x, y),
    'sinc': lambda g, x, y, n: _sinc_grad(g, x, y),
    'entr': lambda g, x, y, n: g * -(1 + x.log()),
}


class Special(Op):
    """A special function of one tensor: ``_FORWARD[fn]`` on float64 arrays, rounded once to
    the input's dtype; its derivative ``_GRAD[fn]`` in ember ops, from the input and output."""
    save = (0,)
    save_output = True

    @property
    def name(self):
        return ''.join(p.title() for p in self.fn.split('_')) + 'Backward'

    def forward(ctx, x, fn, n=0):
        ctx.fn, ctx.n = fn, n
        f = _FORWARD[fn]
        y = f(ctx.xp, x.astype(np.float64), n) if fn == 'polygamma' else \
            f(ctx.xp, x.astype(np.float64))
        return narrow(ctx.xp, y, x.dtype)

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return _GRAD[ctx.fn](g, x, y, ctx.n)


class Bessel(Special):
    """``bessel_j0`` and ``bessel_j1``: no gradient, as in torch."""
    differentiable = False


def _special(fn, x, **kw):
    return Special.apply(floating(x), fn=fn, **kw)


# ---------------------------------------------------------------- the gamma family

@method('lgamma')
def gammaln(input: Tensor) -> Tensor:
    """``log |Gamma(x)|`` elementwise (``torch.special.gammaln``, ``torch.lgamma``); inf at
    the poles 0, -1, -2 ...; its derivative is ``digamma``.

    >>> ember.special.gammaln(ember.tensor([0.5, 1.0, 10.0]))
    tensor([ 0.5724,  0.0000, 12.8018])
    """
    return _special('lgamma', input)


lgamma = gammaln


@method('digamma')
def digamma(input: Tensor) -> Tensor:
    """The digamma function ``psi(x) = d/dx log Gamma(x)`` elementwise (``psi`` is the same
    function); nan at the negative integers, ``-inf`` at +0 and ``inf`` at -0, as torch.

    >>> ember.special.digamma(ember.tensor([1.0, 0.5]))
    tensor([-0.5772, -1.9635])
    """
    return _special('digamma', input)


psi = digamma


def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of the digamma function (``polygamma(0, x)`` is ``digamma``),
    elementwise; ``x.polygamma(n)`` on a tensor.

    >>> ember.special.polygamma(1, ember.tensor([1.0, 2.0]))
    tensor([1.6449, 0.6449])
    """
    n = int(n)
    if n < 0:
        raise RuntimeError(f'polygamma(n, x) does not support negative n (got n={n}).')
    return _special('polygamma', input, n=n)


@method('polygamma')
def _polygamma_method(self, n):
    """``polygamma(n, self)``: the ``n``-th derivative of digamma.

    >>> ember.tensor([1.0]).polygamma(1)
    tensor([1.6449])
    """
    return polygamma(n, self)


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension ``p``: ``p (p - 1) / 4 log(pi) +
    sum_(i < p) lgamma(x - i / 2)`` (``torch.mvlgamma``), defined where every element
    exceeds ``(p - 1) / 2``.

    >>> ember.special.multigammaln(ember.tensor([2.5]), 2)
    tensor([0.8570])
    """
    x = floating(input)
    if p < 1:   # (elements at or below (p - 1) / 2 give inf or nan, as in torch 2.13)
        raise RuntimeError('p has to be greater than or equal to 1')
    total = p * (p - 1) / 4 * math.log(math.pi)
    out = gammaln(x)
    for i in range(1, p):
        out = out + gammaln(x - i / 2)
    return out + total


@method('mvlgamma')
def mvlgamma(input: Tensor, p: int) -> Tensor:
    """``multigammaln(input, p)`` (torch's older name, also ``Tensor.mvlgamma``).

    >>> ember.tensor([2.5]).mvlgamma(2)
    tensor([0.8570])
    """
    return multigammaln(input, p)


class Zeta(Op):
    save = (0, 1)

    def forward(ctx, s, q):
        return narrow(ctx.xp, _zeta(ctx.xp, s.astype(np.float64), q.astype(np.float64)),
                      s.dtype)

    def backward(ctx, g):
        s, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise RuntimeError("the derivative for 'zeta' is not implemented (in its first "
                               "argument, as in torch; it is in q)")
        return None, g * -s * zeta(s + 1, q)


def zeta(input, other) -> Tensor:
    """Hurwitz's zeta function ``zeta(x, q) = sum_(k >= 0) (q + k)^-x`` (Riemann's at
    ``q = 1``), elementwise with broadcasting; either argument may be a number. Its gradient
    is in ``q`` only (``-x zeta(x + 1, q)``), as in torch.

    >>> ember.special.zeta(ember.tensor([2.0, 4.0]), 1.0)
    tensor([1.6449, 1.0823])
    """
    s, q = operands(input, other)
    return Zeta.apply(floating(s), floating(q))


class IncompleteGamma(Op):
    save = (0, 1)

    def forward(ctx, a, x, upper):
        ctx.upper = upper
        return narrow(ctx.xp, _igamma(ctx.xp, a.astype(np.float64), x.astype(np.float64),
                                      upper), a.dtype)

    def backward(ctx, g):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise RuntimeError("the derivative for 'igamma: input' is not implemented (in a, "
                               "as in torch; it is in x)")
        density = ((a - 1) * x.log() - x - gammaln(a)).exp()   # d P / dx
        return None, g * (-density if ctx.upper else density)


def gammainc(input, other) -> Tensor:
    """The regularised lower incomplete gamma function ``P(a, x) = gamma(a, x) / Gamma(a)``
    (``a`` = ``input``, ``x`` = ``other``), elementwise with broadcasting: the gamma
    distribution's cdf. Its gradient is in ``x`` only, as in torch.

    >>> ember.special.gammainc(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 1.0]))
    tensor([0.6321, 0.2642])
    """
    a, x = operands(input, other)
    return IncompleteGamma.apply(floating(a), floating(x), upper=False)


def gammaincc(input, other) -> Tensor:
    """The regularised upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``, computed
    directly where it is small (the gamma distribution's tail).

    >>> ember.special.gammaincc(ember.tensor([1.0, 2.0]), ember.tensor([30.0, 1.0]))
    tensor([9.3576e-14, 7.3576e-01])
    """
    a, x = operands(input, other)
    return IncompleteGamma.apply(floating(a), floating(x), upper=True)


# ---------------------------------------------------------------- the error-function family

@method('erfinv')
def erfinv(input: Tensor) -> Tensor:
    """The inverse error function, elementwise: ``erf(erfinv(y)) = y`` on ``[-1, 1]``
    (``+-inf`` at ``+-1``, nan outside).

    >>> ember.special.erfinv(ember.tensor([0.0, 0.5, 1.0]))
    tensor([0.0000, 0.4769,    inf])
    """
    return _special('erfinv', input)


def erfcx(input: Tensor) -> Tensor:
    """The scaled complementary error function ``exp(x^2) erfc(x)``, elementwise, without
    erfc's underflow for large x.

    >>> ember.special.erfcx(ember.tensor([0.0, 30.0]))
    tensor([1.0000, 0.0188])
    """
    return _special('erfcx', input)


def ndtr(input: Tensor) -> Tensor:
    """The standard normal distribution function ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``,
    elementwise (as ``erfc(-x / sqrt 2) / 2``, which keeps the lower tail's precision).

    >>> ember.special.ndtr(ember.tensor([0.0, 1.959964]))
    tensor([0.5000, 0.9750])
    """
    return 0.5 * erfc(floating(input) * (-1 / SQRT_2))


def ndtri(input: Tensor) -> Tensor:
    """The standard normal quantile function, the inverse of ``ndtr``, elementwise (``-inf``
    at 0, ``inf`` at 1, nan outside ``[0, 1]``).

    >>> ember.special.ndtri(ember.tensor([0.025, 0.5]))
    tensor([-1.9600,  0.0000])
    """
    return _special('ndtri', input)


def log_ndtr(input: Tensor) -> Tensor:
    """``log(ndtr(x))``, elementwise, accurate far in the lower tail where ``ndtr``
    underflows.

    >>> ember.special.log_ndtr(ember.tensor([0.0, -40.0]))
    tensor([  -0.6931, -804.6085])
    """
    return _special('log_ndtr', input)


# ---------------------------------------------------------------- Bessel functions

@method('i0')
def i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 0, elementwise (NumPy's
    ``i0``); its derivative is ``i1``.

    >>> ember.special.i0(ember.tensor([0.0, 1.0]))
    tensor([1.0000, 1.2661])
    """
    return _special('i0', input)


def i0e(input: Tensor) -> Tensor:
    """The exponentially scaled ``i0(x) exp(-|x|)``, elementwise, finite for large ``|x|``.

    >>> ember.special.i0e(ember.tensor([0.0, 1000.0]))
    tensor([1.0000, 0.0126])
    """
    return _special('i0e', input)


def i1(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 1, elementwise.

    >>> ember.special.i1(ember.tensor([0.0, 1.0]))
    tensor([0.0000, 0.5652])
    """
    return _special('i1', input)


def i1e(input: Tensor) -> Tensor:
    """The exponentially scaled ``i1(x) exp(-|x|)``, elementwise.

    >>> ember.special.i1e(ember.tensor([-1.0, 1000.0]))
    tensor([-0.2079,  0.0126])
    """
    return _special('i1e', input)


def bessel_j0(input: Tensor) -> Tensor:
    """Bessel's function of the first kind of order 0, elementwise; no gradient, as in torch.

    >>> ember.special.bessel_j0(ember.tensor([0.0, 1.0]))
    tensor([1.0000, 0.7652])
    """
    return Bessel.apply(floating(input), fn='bessel_j0')


def bessel_j1(input: Tensor) -> Tensor:
    """Bessel's function of the first kind of order 1, elementwise; no gradient, as in torch.

    >>> ember.special.bessel_j1(ember.tensor([0.0, 1.0]))
    tensor([0.0000, 0.4401])
    """
    return Bessel.apply(floating(input), fn='bessel_j1')


# ---------------------------------------------------------------- and the rest

class XLogY(Op):
    """``x log(y)`` (``xlogy``) and ``x log1p(y)`` (``xlog1py``): 0 where x is 0, unless y
    is nan."""
    save = (0, 1)

    def forward(ctx, x, y, fn):
        xp, ctx.fn = ctx.xp, fn
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        out = x64 * (xp.log(y64) if fn == 'xlogy' else xp.log1p(y64))
        out = xp.where((x64 == 0) & ~xp.isnan(y64), 0.0, out)
        return narrow(xp, out, x.dtype)

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        if ctx.fn == 'xlogy':   # NOTE: as torch: 0 where x = 0 and y <= 0 (log's domain ends)
            gx = xlogy(g, y).masked_fill((x == 0) & (y <= 0), 0.0)
            return gx, g * x / y
        gx = xlog1py(g, y).masked_fill((x == 0) & (y <= -1), 0.0)
        return gx, g * x / (y + 1)


@method('xlogy')
def xlogy(input, other) -> Tensor:
    """``x * log(y)`` elementwise with broadcasting, 0 where ``x`` is 0 (unless ``y`` is nan):
    the entropy term that stays finite at ``x = 0``. Either argument may be a number.

    >>> ember.special.xlogy(ember.tensor([0.0, 2.0]), ember.tensor([0.0, 3.0]))
    tensor([0.0000, 2.1972])
    """
    x, y = operands(input, other)
    return XLogY.apply(floating(x), floating(y), fn='xlogy')


def xlog1py(input, other) -> Tensor:
    """``x * log1p(y)`` elementwise with broadcasting, 0 where ``x`` is 0 (unless ``y`` is
    nan).

    >>> ember.special.xlog1py(ember.tensor([0.0, 2.0]), ember.tensor([-1.0, 1e-10]))
    tensor([0.0000e+00, 2.0000e-10])
    """
    x, y = operands(input, other)
    return XLogY.apply(floating(x), floating(y), fn='xlog1py')


@method('logit')
def logit(input: Tensor, eps=None) -> Tensor:
    """``log(p / (1 - p))``, the inverse of ``expit`` (``sigmoid``), elementwise; with ``eps``
    the input is clamped to ``[eps, 1 - eps]`` first (no gradient outside it).

    >>> ember.special.logit(ember.tensor([0.5, 0.75, 1.0]), eps=1e-6)
    tensor([ 0.0000,  1.0986, 13.8023])
    """
    x = floating(input)
    if eps is not None:
        x = x.clamp(eps, 1 - eps)
    return (x / (1 - x)).log()


@method('sinc')
def sinc(input: Tensor) -> Tensor:
    """The normalised sinc ``sin(pi x) / (pi x)``, 1 at 0, elementwise (NumPy's ``sinc``).

    >>> ember.special.sinc(ember.tensor([0.0, 0.5]))
    tensor([1.0000, 0.6366])
    """
    return _special('sinc', input)


def entr(input: Tensor) -> Tensor:
    """The entropy term ``-x log(x)`` elementwise: 0 at 0, ``-inf`` below 0.

    >>> ember.special.entr(ember.tensor([0.0, 0.5, -1.0]))
    tensor([0.0000, 0.3466,   -inf])
    """
    return _special('entr', input)


class Hypot(Op):
    save_output = True
    save = (0, 1)

    def forward(ctx, a, b):
        return ctx.xp.hypot(a, b)

    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        return g * a / y, g * b / y


@method('hypot')
def hypot(input: Tensor, other: Tensor) -> Tensor:
    """``sqrt(a^2 + b^2)`` elementwise with broadcasting, without overflow for large values
    (``torch.hypot``; float tensors).

    >>> ember.hypot(ember.tensor([3.0, 1e200], dtype=ember.float64), ember.tensor([4.0, 1e200],
    ...             dtype=ember.float64))
    tensor([ 5.0000e+00, 1.4142e+200], dtype=ember.float64)
    """
    a, b = operands(input, other)
    if not a.dtype.is_floating_point:
        raise NotImplementedError(f'hypot: not implemented for {a.dtype} tensors; convert '
                                  f'with .float()')
    return Hypot.apply(a, b)


for _name in ('lgamma', 'digamma', 'erfinv', 'i0', 'sinc', 'logit', 'xlogy', 'hypot'):
    _inplace_method(_name, *{'xlogy': ('[0.25, 0.5]', '2.0'),
                                 'hypot': ('[0.25, 0.5]', 'ember.tensor([1.0, 1.0])')}
                        .get(_name, ()))
del _name
