"""Implicit reparameterisation of gamma and Dirichlet draws: the derivative of a draw in its
concentration, ``dx/dalpha = -(dF/dalpha)(x; alpha) / f(x; alpha)`` (F the cdf, f the
density), which makes ``Gamma``, ``Chi2``, ``Beta``, ``Dirichlet`` and ``StudentT``
``rsample`` differentiable as torch's are.

The derivative is computed as torch computes it (``torch._standard_gamma_grad``,
``torch._dirichlet_grad``: aten/src/ATen/native/Distributions.h), written here on arrays: a
Taylor series of the incomplete gamma function for small draws, Rice's saddle-point expansion
for large concentrations, and fitted rational approximations elsewhere (within about 1e-3
relative of the exact derivative: the tests measure it against finite differences of the
cdf). Like torch, these derivatives have no derivative of their own: a second backward
through them raises ``NotImplementedError``.
"""
import numpy as np

from ..autograd import Op
from ..special import _digamma

# torch compares with float literals (0.8f ...): the same bounds, as doubles
_F = {k: float(np.float32(k)) for k in (0.8, 0.9, 1.1, 0.5, 2.5, 0.75)}

_GAMMA_UV = np.array([
    [0.16009398, -0.094634809, 0.025146376, -0.0030648343,
     1, 0.32668115, 0.10406089, 0.0014179084],
    [0.53487893, 0.1298071, 0.065735949, -0.0015649758,
     0.16639465, 0.020070113, -0.0035938915, -0.00058392623],
    [0.040121004, -0.0065914022, -0.0026286047, -0.0013441777,
     0.017050642, -0.0021309326, 0.00085092367, -1.5247877e-07]])

_DIRICHLET_C = np.array([
    [[[1.003668233, -0.01061107488, -0.0657888334, 0.01201642863],
      [0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033],
      [-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013]],
     [[0.221950385, -0.3187676331, 0.01799915743, 0.01074823814],
      [-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057],
      [0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05]],
     [[-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565],
      [0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181],
      [0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05]]],
    [[[1, -0.02924021934, -0.04438342661, 0.007285809825],
      [0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521],
      [-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149]],
     [[0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273],
      [0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956],
      [-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05]],
     [[0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05],
      [0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05],
      [-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06]]]])


def _nan_to_zero(xp, v):
    return xp.where(xp.isnan(v), 0.0, v)


def standard_gamma_grad(xp, alpha, x):
    """dx/dalpha of a standard gamma draw ``x`` of concentration ``alpha`` (float64 arrays,
    broadcast), as ``torch._standard_gamma_grad(x, alpha)``."""
    alpha, x = xp.broadcast_arrays(alpha, x)
    # small x: the incomplete gamma function's Taylor series, differentiated in alpha
    numer, denom = xp.ones_like(x), alpha
    s1, s2 = numer / denom, numer / (denom * denom)
    for i in range(1, 6):
        numer = numer * (-x / i)
        denom = denom + 1
        s1, s2 = s1 + numer / denom, s2 + numer / (denom * denom)
    pow_xa = x ** alpha
    pdf = x ** (alpha - 1) * xp.exp(-x)
    cdf_alpha = (xp.log(x) - _digamma(xp, alpha)) * (pow_xa * s1) - pow_xa * s2
    small = _nan_to_zero(xp, -cdf_alpha / pdf)
    # large alpha: Rice's saddle-point expansion (a polynomial near the mode)
    n1 = 1 + 24 * alpha * (1 + 12 * alpha)
    n2 = (1440 * alpha * alpha + 6 * x * (53 - 120 * x) - 65 * x * x / alpha
          + alpha * (107 + 3600 * x))
    near = n1 * n2 / (1244160 * alpha ** 4)
    d = xp.sqrt(8 * alpha)
    t2 = d / (alpha - x)
    t3 = (x - alpha - alpha * xp.log(x / alpha)) ** -1.5
    t1 = (xp.log(x / alpha) * xp.where(x < alpha, t2 - t3, t2 + t3)
          - xp.sqrt(2 / alpha) * (alpha + x) / ((alpha - x) * (alpha - x)))
    stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
    far = -stirling * x * t1 / d
    mid = (_F[0.9] * alpha <= x) & (x <= _F[1.1] * alpha)
    rice = xp.where(mid, near, far)
    # elsewhere: a bivariate rational approximation in log(x / alpha) and log(alpha)
    u, v = xp.log(x / alpha), xp.log(alpha)
    c = [_GAMMA_UV[0, i] + u * (_GAMMA_UV[1, i] + u * _GAMMA_UV[2, i]) for i in range(8)]
    p = c[0] + v * (c[1] + v * (c[2] + v * c[3]))
    q = c[4] + v * (c[5] + v * (c[6] + v * c[7]))
    rational = xp.exp(p / q)
    return xp.where(x < _F[0.8], small, xp.where(alpha > 8, rice, rational))


def _beta_grad_alpha_small(xp, x, alpha, beta):
    factor = _digamma(xp, alpha) - _digamma(xp, alpha + beta) - xp.log(x)
    numer = xp.ones_like(x)
    series = numer / alpha * (factor + 1 / alpha)
    for i in range(1, 11):
        numer = numer * ((i - beta) * x / i)
        denom = alpha + i
        series = series + numer / denom * (factor + 1 / denom)
    return _nan_to_zero(xp, x * (1 - x) ** -beta * series)


def _beta_grad_beta_small(xp, x, alpha, beta):
    factor = _digamma(xp, alpha + beta) - _digamma(xp, beta)
    numer, betas, dbetas = xp.ones_like(x), xp.ones_like(x), xp.zeros_like(x)
    series = factor / alpha
    for i in range(1, 9):
        numer = numer * (-x / i)
        dbetas = dbetas * (beta - i) + betas
        betas = betas * (beta - i)
        series = series + numer / (alpha + i) * (dbetas + factor * betas)
    return _nan_to_zero(xp, -(1 - x) ** (1 - beta) * series)


def _beta_grad_alpha_mid(xp, x, alpha, beta):
    total = alpha + beta
    mean = alpha / total
    std = xp.sqrt(alpha * beta / (total + 1)) / total
    b2 = beta * beta
    poly = 47 * x * b2 * b2 + alpha * (
        (43 + 20 * (16 + 27 * beta) * x) * b2 * beta + alpha * (
            3 * (59 + 180 * beta - 90 * x) * b2 + alpha * (
                (453 + 1620 * beta * (1 - x) - 455 * x) * beta + alpha * (
                    8 * (1 - x) * (135 * beta - 11)))))
    pre_num = (1 + 12 * alpha) * (1 + 12 * beta) / (total * total)
    pre_den = 12960 * alpha ** 3 * b2 * (1 + 12 * total)
    at_mean = pre_num / (1 - x) * poly / pre_den
    prefactor = -x / xp.sqrt(2 * alpha * beta / total)
    stirling = ((1 + 1 / (12 * alpha) + 1 / (288 * alpha * alpha))
                * (1 + 1 / (12 * beta) + 1 / (288 * b2))
                / (1 + 1 / (12 * total) + 1 / (288 * total * total)))
    axbx = alpha * (x - 1) + beta * x
    term1 = ((2 * alpha * alpha * (x - 1) + alpha * beta * (x - 1) - x * b2)
             / (xp.sqrt(2 * alpha / beta) * total ** 1.5 * axbx * axbx))
    term2 = 0.5 * xp.log(alpha / (total * x))
    term3 = xp.sqrt(8 * alpha * beta / total) / axbx
    term4 = (beta * xp.log(beta / (total * (1 - x)))
             + alpha * xp.log(alpha / (total * x))) ** -1.5
    away = stirling * prefactor * (term1 + term2 * (term3 + xp.where(x < mean, term4, -term4)))
    return xp.where((mean - 0.1 * std <= x) & (x <= mean + 0.1 * std), at_mean, away)


def dirichlet_grad(xp, x, alpha, total):
    """The scaled derivative ``-(dF/dalpha) / f / (1 - x)`` of a Beta(alpha, total - alpha)
    draw ``x`` (float64 arrays, broadcast), as ``torch._dirichlet_grad(x, alpha, total)``."""
    x, alpha, total = xp.broadcast_arrays(x, alpha, total)
    beta = total - alpha
    boundary = total * x * (1 - x)
    small_a = _beta_grad_alpha_small(xp, x, alpha, beta)
    small_b = -_beta_grad_beta_small(xp, 1 - x, beta, alpha)
    mid = _beta_grad_alpha_mid(xp, x, alpha, beta)
    u = xp.log(x)
    a = xp.log(alpha) - u
    b = xp.log(total) - a
    p, q = xp.zeros_like(x), xp.zeros_like(x)
    for i, pu in enumerate((1.0, u, u * u)):
        for j, pa in enumerate((1.0, a, a * a)):
            cp, cq = _DIRICHLET_C[0, i, j], _DIRICHLET_C[1, i, j]
            p = p + pu * pa * (cp[0] + b * (cp[1] + b * (cp[2] + b * cp[3])))
            q = q + pu * pa * (cq[0] + b * (cq[1] + b * (cq[2] + b * cq[3])))
    approx = x * (_digamma(xp, total) - _digamma(xp, alpha)) / beta
    rational = p / q * approx
    out = xp.where((alpha > 6) & (beta > 6), mid, rational)
    out = xp.where((x >= _F[0.5]) & (boundary < _F[0.75]), small_b, out)
    return xp.where((x <= _F[0.5]) & (boundary < _F[2.5]), small_a, out)


def _f64(xp, *arrays):
    return [a.astype(xp.float64, copy=False) for a in arrays]


class StandardGammaGrad(Op):
    """dx/dalpha of standard gamma draws ``x`` (no derivative of its own, as torch's)."""

    def forward(ctx, alpha, x):
        xp = ctx.xp
        with np.errstate(all='ignore'):
            out = standard_gamma_grad(xp, *_f64(xp, alpha, x))
        return out.astype(x.dtype, copy=False)

    def backward(ctx, g):
        raise NotImplementedError("the derivative for 'standard_gamma_grad' is not "
                                  'implemented (as torch\'s _standard_gamma_grad)')


class DirichletGrad(Op):
    """``dirichlet_grad`` of draws ``x`` (no derivative of its own, as torch's)."""

    def forward(ctx, x, alpha, total):
        xp = ctx.xp
        with np.errstate(all='ignore'):
            out = dirichlet_grad(xp, *_f64(xp, x, alpha, total))
        return out.astype(x.dtype, copy=False)

    def backward(ctx, g):
        raise NotImplementedError("the derivative for 'dirichlet_grad' is not implemented "
                                  '(as torch\'s _dirichlet_grad)')


class GammaPath(Op):
    """Standard gamma draws ``x`` (made outside the graph) as a function of their
    concentration: the identity on ``x``, with the implicit gradient in ``alpha``."""
    save = (0, 1)

    def forward(ctx, alpha, x):
        return x.copy()

    def backward(ctx, g):
        alpha, x = ctx.saved_tensors
        # alpha itself (not detached): a second backward reaches the op and raises, as torch's
        return g * StandardGammaGrad.apply(alpha, x), None


class DirichletPath(Op):
    """Dirichlet draws ``x`` (made outside the graph) as a function of their concentration
    (torch's ``_Dirichlet`` function)."""
    save = (0, 1)

    def forward(ctx, alpha, x):
        return x.copy()

    def backward(ctx, g):
        alpha, x = ctx.saved_tensors
        grad = DirichletGrad.apply(x, alpha, alpha.sum(-1, keepdim=True).expand(*alpha.shape))
        return grad * (g - (x * g).sum(-1, keepdim=True)), None


def tiny(dtype):
    """The smallest normal number of ``dtype`` (torch clamps gamma draws to it)."""
    return float(np.finfo(dtype.np).tiny)

