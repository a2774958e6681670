"""The few matrix and special functions the distributions need, as ops with backward in ember
ops (so gradients of gradients work): Cholesky, a triangular solve, erfinv. ember.linalg is
written elsewhere; these stay private until it lands."""
import math

from ..autograd import Op
from ..ops.elementwise import _special


def _phi(x):
    """The lower triangle with the diagonal halved (Murray's Phi)."""
    return x.tril() - 0.5 * (x.tril() - x.tril(-1))


class Cholesky(Op):
    save_output = True

    def forward(ctx, a):
        xp = ctx.xp
        try:
            return xp.linalg.cholesky(a)
        except xp.linalg.LinAlgError:
            raise ValueError('the input is not positive-definite') from None

    def backward(ctx, g):
        # Murray (2016): S = L^-T Phi(L^T G) L^-1, symmetrized (A is read as symmetric)
        (low,) = ctx.saved_tensors
        x = solve_triangular(low.mT, _phi(low.mT @ g.tril()), upper=True)
        s = solve_triangular(low.mT, x.mT, upper=True).mT
        return 0.5 * (s + s.mT)


class TriangularSolve(Op):
    """X = A^-1 B for a triangular A (only its triangle is read): NumPy's general solve, which
    is exact on the zeros, and a backward that keeps the triangle."""
    save = (0,)
    save_output = True

    def forward(ctx, a, b, upper):
        ctx.upper = upper
        a = ctx.xp.triu(a) if upper else ctx.xp.tril(a)
        return ctx.xp.linalg.solve(a, b)

    def backward(ctx, g):
        a, x = ctx.saved_tensors
        gb = solve_triangular(a.mT, g, upper=not ctx.upper)
        if not ctx.needs(0):
            return None, gb
        ga = -(gb @ x.mT)
        return (ga.triu() if ctx.upper else ga.tril()), gb


def solve_triangular(a, b, upper=False):
    """A^-1 B for a triangular ``a`` (..., n, n) and ``b`` (..., n, m), batch dims broadcast."""
    batch = tuple(_broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    a = a.expand(*batch, *a.shape[-2:]) if tuple(a.shape[:-2]) != batch else a
    b = b.expand(*batch, *b.shape[-2:]) if tuple(b.shape[:-2]) != batch else b
    return TriangularSolve.apply(a, b, upper=upper)


def cholesky(a):
    """The lower Cholesky factor of a symmetric positive-definite ``a`` (..., n, n)."""
    return Cholesky.apply(a)


def _broadcast_shapes(*shapes):
    import numpy as np
    return np.broadcast_shapes(*(tuple(s) for s in shapes))


class Erfinv(Op):
    save_output = True

    def forward(ctx, x):
        xp = ctx.xp
        # Giles' single-precision start, then Newton on erf (Cody's, accurate to float64)
        w = -xp.log((1 - x) * (1 + x))
        small = w < 5
        ws, wl = w - 2.5, xp.sqrt(w) - 3
        ps = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
            ps = c + ps * ws
        pl = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                  -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
            pl = c + pl * wl
        y = xp.where(small, ps, pl) * x
        for _ in range(3):
            y = y - (_special(xp, 'erf', y) - x) / (2 / math.sqrt(math.pi) * xp.exp(-y * y))
        y = xp.where(xp.abs(x) == 1, x * xp.inf, y)
        return y.astype(x.dtype, copy=False)

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (0.5 * math.sqrt(math.pi)) * (y * y).exp()


def erfinv(x):
    """The inverse of erf on (-1, 1)."""
    return Erfinv.apply(x)
