"""The primitive ops behind ``ember.linalg``: each forward is one LAPACK call through
``xp.linalg`` (batched over leading dimensions), each backward the standard formula in ember
ops, so gradients of gradients come for free.

A factorization with several results (QR, SVD, eigh) is one op whose forward packs its
results along one last axis (``Factor``); the public functions unpack them with views, and
backward unpacks the packed gradient the same way (a result nobody used gives zeros)."""
import math

import numpy as np

from .._tensor import Tensor, eye
from ..autograd import Op
from ..backend import traced
from ..ops.join import cat

# Pade approximant of degree 13 for exp (Higham 2005, "The scaling and squaring method for
# the matrix exponential revisited"): backward error below float64's unit roundoff for
# matrices of 1-norm up to THETA13; larger ones are scaled by 2^-s and squared s times.
_B13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
        129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
        40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def expm(xp, a):
    """``exp`` of each square matrix of ``a`` (..., n, n), in float64 and rounded once."""
    dt = a.dtype
    if a.size == 0:
        return a.copy()
    a = a.astype(np.float64)
    norm = xp.abs(a).sum(-2).max(-1)
    s = xp.ceil(xp.log2(xp.maximum(norm, 1e-300) / _THETA13))
    s = xp.maximum(s, 0).astype(np.int64)
    a = a / xp.asarray(2.0 ** s)[..., None, None]
    i = xp.eye(a.shape[-1])
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    b = _B13
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
             + b[1] * i)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * i
    r = xp.linalg.solve(v - u, v + u)
    for k in range(int(s.max())):
        r = xp.where(xp.asarray(s > k)[..., None, None], r @ r, r)
    return r.astype(dt)


def diag_embed(v):
    """A batch of diagonal matrices with ``v`` (..., n) on their diagonals."""
    return v.unsqueeze(-1) * eye(v.shape[-1], dtype=v.dtype, device=v.device)


def _describe(a):
    return f'shape {tuple(a.shape)}, {a.dtype}'


# ---------------------------------------------------------------- inverse, det, solve

class Inv(Op):
    save_output = True

    def forward(ctx, a):
        try:
            return ctx.xp.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise RuntimeError(f'linalg.inv: the input matrix is singular, the inversion could '
                               f'not be completed ({_describe(a)})') from None

    def backward(ctx, g):
        (ainv,) = ctx.saved_tensors
        return -(ainv.mT @ g @ ainv.mT)


class Det(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a):
        return ctx.xp.linalg.det(a)

    def backward(ctx, g):
        a, det = ctx.saved_tensors
        n, xp = a.shape[-1], ctx.xp
        if _invertible(xp, a._data):
            return (g * det)[..., None, None] * Inv.apply(a).mT
        # NOTE: a (near-)singular matrix has no inverse but its gradient, the cofactor
        # matrix, is still defined: U diag(prod_{j != i} s_j) Vh det(U) det(Vh), as torch
        u, s, vh = svd_parts(a, False)
        mask = eye(n, dtype=s.dtype, device=s.device)
        cof = (s.unsqueeze(-2) * (1 - mask) + mask).prod(-1)
        sign = Tensor._make(xp.asarray(xp.sign(xp.linalg.det(u._data) * xp.linalg.det(vh._data))))
        return (g * sign)[..., None, None] * (u * cof.unsqueeze(-2)) @ vh


def _invertible(xp, a):
    """Whether each matrix of ``a`` is safely invertible: its smallest singular value above
    n eps times its largest. Under ``ember.compile``, whose programs cannot branch on
    values, taken as true (the inverse's formula, torch's for invertible matrices)."""
    if traced(a) or a.size == 0:
        return True
    s = xp.linalg.svd(a, compute_uv=False)
    return bool((s[..., -1] > s[..., 0] * a.shape[-1] * np.finfo(s.dtype).eps).all())


class LogAbsDet(Op):
    save = (0,)

    def forward(ctx, a):
        return ctx.xp.linalg.slogdet(a)[1]

    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g[..., None, None] * Inv.apply(a).mT


class DetSign(Op):
    """The sign of the determinant: in the graph (as torch's), with a zero gradient."""

    def forward(ctx, a):
        return ctx.xp.linalg.slogdet(a)[0]

    def backward(ctx, g):
        return None


class Solve(Op):
    """``a^-1 b`` for (..., n, n) and (..., n, k) of one batch shape (complex too: ``eig``'s
    backward solves with its eigenvectors)."""
    save = (0,)
    save_output = True
    complex_ok = True

    def forward(ctx, a, b):
        try:
            return ctx.xp.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise RuntimeError(f'linalg.solve: The solver failed because the input matrix is '
                               f'singular ({_describe(a)})') from None

    def backward(ctx, g):
        a, x = ctx.saved_tensors
        gb = Solve.apply(a.mH, g)   # (mH: the conjugate transpose; for real values mT)
        return -(gb @ x.mH) if ctx.needs(0) else None, gb


class Pinv(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a, atol, rtol, hermitian):
        xp = ctx.xp
        atol, rtol = xp.asarray(atol, dtype=a.dtype), xp.asarray(rtol, dtype=a.dtype)
        if hermitian:
            w, v = xp.linalg.eigh(a)
            s, u, vt = xp.abs(w), v, xp.where((w < 0)[..., None, :], -v, v).swapaxes(-1, -2)
        else:
            u, s, vt = xp.linalg.svd(a, full_matrices=False)
        big = s.max(-1, keepdims=True) if s.shape[-1] else s[..., :1]
        keep = s > xp.maximum(atol[..., None], rtol[..., None] * big)
        sinv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(a.dtype)
        return (vt.swapaxes(-1, -2) * sinv[..., None, :]) @ u.swapaxes(-1, -2)

    def backward(ctx, g):   # torch's pinv_backward
        a, p = ctx.saved_tensors
        ph, gh = p.mT, g.mT
        if a.shape[-2] <= a.shape[-1]:
            k = gh @ p
            kph = k @ ph
            return -(p @ k).mT + kph - (a @ p) @ kph + (ph @ p) @ (gh - k @ a)
        k = p @ gh
        phk = ph @ k
        return -(k @ p).mT + (gh - a @ k) @ p @ ph + phk - phk @ p @ a


class MatrixExp(Op):
    save = (0,)

    def forward(ctx, a):
        return expm(ctx.xp, a)

    def backward(ctx, g):
        # the gradient is the top-right block of exp([[A^T, G], [0, A^T]]) (Mathias 1996)
        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        at = a.mT
        top = cat([at, g], -1)
        bottom = cat([at * 0, at], -1)
        return MatrixExp.apply(cat([top, bottom], -2))[..., :n, n:]


# ---------------------------------------------------------------- factorizations

class Factor(Op):
    """A factorization whose results are packed along one last axis: ``factor(xp, a,
    **params)`` gives the arrays, ``unpack`` the tensors back."""
    save_output = True

    def forward(ctx, a, **params):
        outs = ctx.factor(ctx.xp, a, **params)
        batch = a.shape[:-2]
        ctx.batch, ctx.shapes = batch, [o.shape[len(batch):] for o in outs]
        return ctx.xp.concatenate([o.reshape(batch + (math.prod(o.shape[len(batch):]),))
                                   for o in outs], axis=-1)

    def unpack(ctx, t):
        out, at = [], 0
        for s in ctx.shapes:
            n = math.prod(s)
            out.append(t[..., at:at + n].reshape(ctx.batch + s))
            at += n
        return out

    def backward(ctx, g):
        (packed,) = ctx.saved_tensors
        return ctx.grad(ctx.unpack(packed), ctx.unpack(g))


def factor(op, a, **params):
    """The results of factorization ``op`` of tensor ``a``, as tensors."""
    packed = op.apply(a, **params)
    node = packed.grad_fn
    if node is None:   # no graph: unpack with a throwaway node holding the shapes
        node = op.__new__(op)
        node.batch = a.shape[:-2]
        node.shapes = op.shapes_of(a, **params)
    return node.unpack(packed)


class Cholesky(Factor):
    def factor(ctx, xp, a):
        try:
            return [xp.linalg.cholesky(a)]
        except np.linalg.LinAlgError:
            raise RuntimeError(_not_positive_definite(xp, a)) from None

    @staticmethod
    def shapes_of(a):
        return [tuple(a.shape[-2:])]

    def grad(ctx, outs, gs):   # torch's cholesky_backward
        (ell,), (g,) = outs, gs
        p = (ell.mT @ g).tril()
        s = 0.5 * (p + p.tril(-1).mT)
        x = Solve.apply(ell.mT, s)
        return Solve.apply(ell.mT, x.mT).mT


def _not_positive_definite(xp, a):
    batch = a.reshape((-1,) + a.shape[-2:])
    for b, m in enumerate(batch):
        for k in range(1, a.shape[-1] + 1):
            try:
                xp.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                where = f'(Batch element {b}): ' if a.ndim > 2 else ''
                return (f'linalg.cholesky: {where}The factorization could not be completed '
                        f'because the input is not positive-definite (the leading minor of '
                        f'order {k} is not positive-definite; {_describe(a)})')
    return f'linalg.cholesky: the input is not positive-definite ({_describe(a)})'


class Qr(Factor):
    def factor(ctx, xp, a, mode):
        ctx.mode = mode
        if mode == 'r':
            return [xp.linalg.qr(a, mode='r')]
        return list(xp.linalg.qr(a, mode=mode))

    @staticmethod
    def shapes_of(a, mode):
        m, n = a.shape[-2:]
        k = m if mode == 'complete' else min(m, n)
        r = (k, n)
        return [r] if mode == 'r' else [(m, k), r]

    def grad(ctx, outs, gs):
        if ctx.mode == 'r':
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you "
                               "are going to differentiate through linalg.qr.")
        (q, r), (gq, gr) = outs, gs
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == 'complete' and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when "
                               "mode='complete' and nrows > ncols.")
        if m >= n:
            return _qr_grad(q, r, gq, gr)
        # wide: A = Q [U V] with X = Q U square; Y = Q V
        u, v, gu, gv = r[..., :m], r[..., m:], gr[..., :m], gr[..., m:]
        gx = _qr_grad(q, u, gq + (q @ v) @ gv.mT, gu)
        return cat([gx, q @ gv], -1)


def _qr_grad(q, r, gq, gr):
    """(Liao et al. 2019) gA = (gQ + Q copyltu(M)) R^-T with M = R gR^T - gQ^T Q."""
    m = r @ gr.mT - gq.mT @ q
    b = gq + q @ (m.tril() + m.tril(-1).mT)
    return Solve.apply(r, b.mT).mT


class Eigh(Factor):
    def factor(ctx, xp, a, uplo):
        return list(xp.linalg.eigh(a, UPLO=uplo))

    @staticmethod
    def shapes_of(a, uplo):
        n = a.shape[-1]
        return [(n,), (n, n)]

    def grad(ctx, outs, gs):   # torch's linalg_eig_backward, the Hermitian case
        (w, v), (gw, gv) = outs, gs
        vgv = v.mT @ gv
        vgv = 0.5 * (vgv - vgv.mT)
        n = w.shape[-1]
        e = w.unsqueeze(-2) - w.unsqueeze(-1) + eye(n, dtype=w.dtype, device=w.device)
        return v @ (vgv / e + diag_embed(gw)) @ v.mT


class Eig(Factor):
    """The eigenvalues and unit eigenvectors of a general square matrix, complex (LAPACK's
    geev: each eigenvector of norm 1 with its largest component real, as PyTorch's)."""
    complex_ok = True

    def factor(ctx, xp, a):
        if not bool(xp.isfinite(a).all()):
            raise RuntimeError(f'linalg.eig: input tensor should not contain infs or NaNs '
                               f'({_describe(a)})')
        cdt = np.complex64 if a.dtype in (np.float32, np.complex64) else np.complex128
        if hasattr(xp.linalg, 'eig'):
            w, v = xp.linalg.eig(a)
        else:   # an array library without a general eigensolver: LAPACK on the host
            w, v = (xp.asarray(r) for r in np.linalg.eig(xp.asnumpy(a)))
        return [w.astype(cdt, copy=False), v.astype(cdt, copy=False)]

    @staticmethod
    def shapes_of(a):
        n = a.shape[-1]
        return [(n,), (n, n)]

    def grad(ctx, outs, gs):   # torch's linalg_eig_backward (distinct eigenvalues)
        (w, v), (gw, gv) = outs, gs
        vh = v.mH
        n = w.shape[-1]
        one = eye(n, dtype=w.dtype, device=w.device)
        if not bool(gv._data.any()):   # eigvals (the vectors unused): no eigenvector term,
            return Solve.apply(vh, diag_embed(gw) @ vh)   # no division by the gaps
        vhgv = vh @ gv
        phase = vhgv.diagonal(0, -2, -1).imag
        if bool((phase.abs() > 1e-2).any()):   # (torch's allclose(.., 0, 1e-2, 1e-2))
            raise RuntimeError('linalg_eig_backward: The eigenvectors in the complex case are '
                               'specified up to multiplication by e^{i phi}. The specified '
                               'loss function depends on this quantity, so it is ill-defined.')
        vhgv = vhgv - vh @ (v * vhgv.diagonal(0, -2, -1).real.unsqueeze(-2))
        lc = w.conj()
        gaps = lc.unsqueeze(-2) - lc.unsqueeze(-1) + one   # 1 on the diagonal
        ga = (vhgv / gaps) * (1 - one) + diag_embed(gw)
        return Solve.apply(vh, ga @ vh)


class Svd(Factor):
    def factor(ctx, xp, a, full_matrices):
        return list(xp.linalg.svd(a, full_matrices=full_matrices))

    @staticmethod
    def shapes_of(a, full_matrices):
        m, n = a.shape[-2:]
        k = min(m, n)
        return [(m, m if full_matrices else k), (k,), (n if full_matrices else k, n)]

    def grad(ctx, outs, gs):
        (u, s, vh), (gu, gs_, gvh) = outs, gs
        k = s.shape[-1]
        if u.shape[-1] > k:   # full_matrices: the extra columns do not enter (as torch)
            u, gu = u[..., :k], gu[..., :k]
        if vh.shape[-2] > k:
            vh, gvh = vh[..., :k, :], gvh[..., :k, :]
        return svd_grad(u, s, vh, gu, gs_, gvh)


def svd_parts(a, full_matrices):
    return factor(Svd, a, full_matrices=full_matrices)


def svd_grad(u, s, vh, gu, gs, gvh):
    """torch's svd_backward (real): U (.., m, k), S (.., k), Vh (.., k, n)."""
    m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
    v, gv = vh.mT, gvh.mT
    s2 = s * s
    e = s2.unsqueeze(-2) - s2.unsqueeze(-1) + eye(k, dtype=s.dtype, device=s.device)
    ugu, vgv = u.mT @ gu, vh @ gv
    ga = ((ugu - ugu.mT) * s.unsqueeze(-2) + s.unsqueeze(-1) * (vgv - vgv.mT)) / e
    ga = ga + diag_embed(gs)
    if m > k:   # U's columns span a subspace: the part of gU outside it
        gus = gu / s.unsqueeze(-2)
        return (u @ ga + gus - u @ (u.mT @ gus)) @ vh
    if n > k:
        sgv = gv.mT / s.unsqueeze(-1)
        return u @ (ga @ vh + sgv - (sgv @ v) @ vh)
    return u @ ga @ vh
