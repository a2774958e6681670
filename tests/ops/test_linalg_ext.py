"""ember.linalg against torch.linalg: norms, determinants, inverses, solves, decompositions,
matrix functions (and torch's old top-level names), forward, gradients, second order and
float64 gradcheck, plus their errors.

Inputs are built by makers, not drawn uniformly: well-conditioned square matrices (a random
matrix plus 4 I), symmetric positive-definite ones made inside ``fn`` (``A A^T + I``, so a
finite difference of any element of A stays symmetric), and, for SVD and eigh, a random
orthogonal matrix times a chosen spectrum with gaps of 1 or more. NOTE: SVD and eigh
gradients are only defined for distinct singular values / eigenvalues (they divide by their
differences) and for losses that do not depend on the vectors' signs: the cases build distinct
spectra and compare sign-fixed vectors (``_fix``: each column's first entry made positive).
"""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import NC, Case, make_tests

SQ = [((3, 3),), ((2, 3, 3),), (NC((3, 3)),), ((0, 3, 3),)]
RECT = [((4, 3),), ((3, 4),), ((2, 4, 3),), (NC((4, 3)),)]
TALL = [((4, 3),), ((2, 4, 3),), (NC((4, 3)),)]


def _shape(s):
    return tuple(s)[::-1] if isinstance(s, NC) else tuple(s)


def _out(a, s):
    return np.ascontiguousarray(a).T if isinstance(s, NC) else np.ascontiguousarray(a)


def _orthogonal(rng, batch, n):
    q, r = np.linalg.qr(rng.standard_normal(batch + (n, n)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def well_conditioned(rng, shapes, dtype):
    """Square matrices ``R + 4 I`` (R uniform in [-1, 1]): condition numbers below ~5, so
    float32 results stay within the op tables' tolerance. Other inputs: uniform."""
    out = []
    for s in shapes:
        shape = _shape(s)
        a = rng.uniform(-1, 1, shape)
        if len(shape) >= 2 and shape[-1] == shape[-2]:
            a = a + 4 * np.eye(shape[-1])
        out.append(_out(a.astype(dtype), s))
    return out


def spectrum(rng, shapes, dtype, symmetric=False):
    """``U diag(s) V^T`` with U, V random orthogonal and s distinct (3.5, 2.5, 1.5... plus
    noise below 0.1): gaps of 1 or more, so SVD's and eigh's gradients are well defined. With
    ``symmetric`` ``U diag(s) U^T`` with s of both signs."""
    out = []
    for s in shapes:
        shape = _shape(s)
        batch, (m, n) = shape[:-2], shape[-2:]
        k = min(m, n)
        vals = np.arange(k, 0, -1) + 0.5 + rng.uniform(-0.1, 0.1, batch + (k,))
        if symmetric:
            vals = vals - k / 2
            u = _orthogonal(rng, batch, n)
            a = (u * vals[..., None, :]) @ np.swapaxes(u, -1, -2)
            a = (a + np.swapaxes(a, -1, -2)) / 2
        else:
            u, v = _orthogonal(rng, batch, m)[..., :k], _orthogonal(rng, batch, n)[..., :k]
            a = (u * vals[..., None, :]) @ np.swapaxes(v, -1, -2)
        out.append(_out(a.astype(dtype), s))
    return out


def symmetric(rng, shapes, dtype):
    return spectrum(rng, shapes, dtype, symmetric=True)


def spd(m, a):
    """A symmetric positive-definite matrix from any square one."""
    return a @ a.mT + m.eye(a.shape[-1], dtype=a.dtype, device=a.device)


def sym(a):
    """The symmetric part: the identity on the makers' symmetric inputs, and what keeps a
    finite difference of one element symmetric (eigh reads one triangle only)."""
    return (a + a.mT) / 2


def _fix(m, u, vh=None):
    """Vectors with their sign gauge fixed (each column's first entry positive), and Vh's
    rows flipped with U's columns."""
    sign = m.sign(u[..., :1, :])
    return u * sign if vh is None else (u * sign, vh * sign.mT)


def svd_fixed(m, a, full_matrices=False):
    u, s, vh = m.linalg.svd(a, full_matrices=full_matrices)
    u, vh = _fix(m, u, vh)
    return u, s, vh


def svd_old_fixed(m, a):
    u, s, v = old(m, 'svd', a)
    u, vh = _fix(m, u, v.mT)
    return u, s, vh.mT


def eigh_fixed(m, a, uplo='L'):
    w, v = m.linalg.eigh(sym(a), UPLO=uplo)
    return w, _fix(m, v)


def qr_fixed(m, a, mode='reduced'):
    q, r = m.linalg.qr(a, mode=mode)
    return q, r


def old(m, name, *args, **kw):
    """``m.name(*args)``: torch's deprecated spellings (torch.cholesky, qr, svd, cross without
    dim), without their deprecation warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        return getattr(m, name)(*args, **kw)


WELL = dict(make=well_conditioned)
SPEC = dict(make=spectrum)
INF = math.inf

CASES = [
    Case('det', lambda m, a: m.linalg.det(a), SQ, **WELL),
    Case('det_method', lambda m, a: a.det(), SQ[:1], **WELL),
    Case('det_top', lambda m, a: m.det(a), SQ[1:2], **WELL),
    Case('slogdet', lambda m, a: m.linalg.slogdet(a), SQ, **WELL),
    Case('slogdet_method', lambda m, a: a.slogdet(), SQ[:1], **WELL),
    Case('logdet', lambda m, a: m.logdet(spd(m, a)), SQ[:3], **WELL),
    Case('logdet_method', lambda m, a: spd(m, a).logdet(), SQ[:1], **WELL),
    Case('inv', lambda m, a: m.linalg.inv(a), SQ, **WELL),
    Case('inverse', lambda m, a: m.inverse(a), SQ[:1], **WELL),
    Case('inverse_method', lambda m, a: a.inverse(), SQ[1:2], **WELL),
    Case('solve', lambda m, a, b: m.linalg.solve(a, b),
         [((3, 3), (3, 2)), ((3, 3), (3,)), ((2, 3, 3), (3, 2)), ((2, 3, 3), (2, 3)),
          ((3, 3), (2, 3, 4)), (NC((3, 3)), NC((3, 2))), ((0, 3, 3), (3, 1))], **WELL),
    Case('solve_right', lambda m, a, b: m.linalg.solve(a, b, left=False),
         [((3, 3), (2, 3)), ((2, 3, 3), (4, 3))], **WELL),
    Case('lstsq', lambda m, a, b: m.linalg.lstsq(a, b).solution,
         [((4, 3), (4, 2)), ((2, 5, 3), (2, 5, 1))], **SPEC),
    Case('cholesky', lambda m, a: m.linalg.cholesky(spd(m, a)), SQ, **WELL),
    Case('cholesky_upper', lambda m, a: m.linalg.cholesky(spd(m, a), upper=True), SQ[:2],
         **WELL),
    Case('cholesky_top', lambda m, a: old(m, 'cholesky', spd(m, a)), SQ[:1], **WELL),
    Case('cholesky_method', lambda m, a: spd(m, a).cholesky(upper=True), SQ[:1], **WELL),
    Case('qr', qr_fixed, RECT + [((3, 3),)], **SPEC),
    Case('qr_complete', lambda m, a: qr_fixed(m, a, 'complete'), [((3, 4),), ((3, 3),)],
         **SPEC),
    # NOTE: mode='r' has no gradient (torch: its derivative depends on Q)
    Case('qr_r', lambda m, a: m.linalg.qr(a, mode='r').R, [((4, 3),), ((3, 4),)], grad=False,
         **SPEC),
    Case('qr_top', lambda m, a: old(m, 'qr', a), [((4, 3),)], **SPEC),
    Case('qr_top_complete', lambda m, a: old(m, 'qr', a, some=False)[1], [((4, 3),)], grad=False,
         **SPEC),
    Case('qr_method', lambda m, a: a.qr(), [((3, 4),)], **SPEC),
    Case('svd', svd_fixed, RECT + [((3, 3),)], **SPEC),
    Case('svd_full', lambda m, a: svd_fixed(m, a, True), [((3, 3),), ((2, 3, 3),)], **SPEC),
    Case('svdvals', lambda m, a: m.linalg.svdvals(a), RECT, **SPEC),
    Case('svd_top', svd_old_fixed, [((4, 3),), ((3, 4),)], **SPEC),
    Case('svd_method', lambda m, a: a.svd()[1], [((4, 3),)], **SPEC),
    Case('eigh', eigh_fixed, SQ[:3], make=symmetric),
    Case('eigh_upper', lambda m, a: eigh_fixed(m, a, 'U'), SQ[:2], make=symmetric),
    Case('eigvalsh', lambda m, a: m.linalg.eigvalsh(sym(a)), SQ[:3], make=symmetric),
    Case('pinv', lambda m, a: m.linalg.pinv(a), RECT, **SPEC),
    Case('pinv_hermitian', lambda m, a: m.linalg.pinv(sym(a), hermitian=True), SQ[:2],
         make=symmetric),
    Case('pinverse', lambda m, a: m.pinverse(a), [((4, 3),)], **SPEC),
    Case('pinverse_method', lambda m, a: a.pinverse(), [((3, 4),)], **SPEC),
    Case('matrix_rank', lambda m, a: m.linalg.matrix_rank(a), RECT, grad=False, **SPEC),
    Case('matrix_power_3', lambda m, a: m.linalg.matrix_power(a, 3), SQ, **WELL),
    Case('matrix_power_0', lambda m, a: m.linalg.matrix_power(a, 0), SQ[:2], **WELL),
    Case('matrix_power_neg', lambda m, a: m.linalg.matrix_power(a, -2), SQ[:2], **WELL),
    Case('matrix_power_top', lambda m, a: m.matrix_power(a, 2), SQ[:1], **WELL),
    Case('matrix_power_method', lambda m, a: a.matrix_power(5), SQ[:1], **WELL),
    Case('matrix_exp', lambda m, a: m.linalg.matrix_exp(a), SQ, domain=(-1, 1)),
    # 1-norms up to ~10: the scaled-and-squared path (2^-s A, squared s times)
    Case('matrix_exp_large', lambda m, a: m.linalg.matrix_exp(a), SQ[:2], domain=(-3, 3)),
    Case('matrix_exp_top', lambda m, a: m.matrix_exp(a), SQ[:1], domain=(-1, 1)),
    Case('matrix_exp_method', lambda m, a: a.matrix_exp(), SQ[:1], domain=(-1, 1)),
    Case('cross', lambda m, a, b: m.linalg.cross(a, b),
         [((4, 3), (4, 3)), ((3,), (3,)), ((2, 1, 3), (1, 4, 3)), (NC((4, 3)), (4, 3))]),
    Case('cross_dim', lambda m, a, b: m.linalg.cross(a, b, dim=0), [((3, 4), (3, 4))]),
    Case('cross_top', lambda m, a, b: old(m, 'cross', a, b), [((3, 4), (3, 4)), ((2, 3), (2, 3))]),
    Case('cross_method', lambda m, a, b: a.cross(b, dim=1), [((2, 3), (2, 3))]),
    Case('multi_dot', lambda m, *xs: m.linalg.multi_dot(xs),
         [((2, 3), (3, 4), (4, 5)), ((3,), (3, 4), (4, 2), (2,)), ((5, 1), (1, 6), (6, 2)),
          ((2, 3), (3,))]),
    Case('vander', lambda m, x: m.linalg.vander(x), [((3,),), ((2, 4),), ((0, 3),)]),
    Case('vander_n', lambda m, x: m.linalg.vander(x, N=5), [((3,),), ((2, 2),)]),
    Case('vector_norm', lambda m, x: m.linalg.vector_norm(x), [((3, 4),), ((2, 3, 4),)]),
    Case('vector_norm_dims', lambda m, x: m.linalg.vector_norm(x, 3, dim=(0, 2), keepdim=True),
         [((2, 3, 4),)]),
    Case('vector_norm_inf', lambda m, x: m.linalg.vector_norm(x, INF, dim=-1), [((3, 4),)]),
    Case('vector_norm_neginf', lambda m, x: m.linalg.vector_norm(x, -INF, dim=1),
         [((3, 4),)]),
    Case('vector_norm_1', lambda m, x: m.linalg.vector_norm(x, 1), [((3, 4),)]),
    Case('vector_norm_0', lambda m, x: m.linalg.vector_norm(x, 0, dim=0), [((3, 4),)]),
    Case('vector_norm_half', lambda m, x: m.linalg.vector_norm(x, 0.5), [((3, 4),)],
         domain=(0.5, 2)),
] + [
    Case(f'matrix_norm_{name}', (lambda o: lambda m, a: m.linalg.matrix_norm(a, o))(o),
         [((3, 4),), ((2, 4, 3),)], **SPEC)
    for name, o in [('fro', 'fro'), ('nuc', 'nuc'), ('2', 2), ('m2', -2), ('1', 1),
                    ('m1', -1), ('inf', INF), ('minf', -INF)]
] + [
    Case('matrix_norm_dims', lambda m, a: m.linalg.matrix_norm(a, 'nuc', dim=(2, 0),
                                                                keepdim=True),
         [((3, 2, 4),)], **SPEC),
    Case('matrix_norm_dims_1', lambda m, a: m.linalg.matrix_norm(a, 1, dim=(0, 2)),
         [((3, 2, 4),)]),
    Case('matrix_norm_keepdim', lambda m, a: m.linalg.matrix_norm(a, -INF, keepdim=True),
         [((2, 3, 4),)]),
    Case('norm', lambda m, a: m.linalg.norm(a), [((2, 3, 4),), ((3,),)]),
    Case('norm_vector', lambda m, a: m.linalg.norm(a, 3), [((4,),)]),
    Case('norm_matrix', lambda m, a: m.linalg.norm(a, 'nuc'), [((3, 4),)], **SPEC),
    Case('norm_dim', lambda m, a: m.linalg.norm(a, INF, dim=1), [((3, 4),)]),
    Case('norm_dim2', lambda m, a: m.linalg.norm(a, 2, dim=(1, 2)), [((2, 3, 4),)], **SPEC),
    Case('solve_triangular', lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False),
         [((3, 3), (3, 2)), ((2, 3, 3), (3, 4)), (NC((3, 3)), (1, 3, 2))], **WELL),
    Case('solve_triangular_upper', lambda m, a, b: m.linalg.solve_triangular(
        a, b, upper=True, left=False), [((3, 3), (2, 3)), ((2, 3, 3), (2, 4, 3))], **WELL),
    Case('solve_triangular_unit', lambda m, a, b: m.linalg.solve_triangular(
        a, b, upper=True, unitriangular=True), [((3, 3), (3, 2))], **WELL),
] + [
    # torch 2.13 cannot differentiate cond for p other than None/2/-2 (its inverse is
    # overwritten in place: 'modified by an inplace operation'): ember's gradient is checked by
    # gradcheck instead (test_cond_gradient)
    Case(f'cond_{name}', (lambda p: lambda m, a: m.linalg.cond(a, p))(p), [((3, 3),),
         ((2, 3, 3),)], grad=p in (None, -2), **SPEC)
    for name, p in [('none', None), ('m2', -2), ('fro', 'fro'), ('nuc', 'nuc'), ('1', 1),
                    ('inf', INF)]
] + [
    Case('cond_rect', lambda m, a: m.linalg.cond(a), [((4, 3),)], **SPEC),
    Case('matmul', lambda m, a, b: m.linalg.matmul(a, b), [((2, 3, 4), (4, 5)), ((3,), (3,))]),
    Case('diagonal', lambda m, a: m.linalg.diagonal(a, offset=1), [((2, 3, 4),), ((3, 3),)]),
    Case('diagonal_dims', lambda m, a: m.linalg.diagonal(a, dim1=0, dim2=2), [((3, 2, 4),)]),
    Case('vecdot', lambda m, x, y: m.linalg.vecdot(x, y), [((3, 4), (3, 4)), ((2, 1, 4), (3, 4)),
                                                           ((4,), (4,))]),
    Case('vecdot_dim', lambda m, x, y: m.linalg.vecdot(x, y, dim=0), [((3, 4), (3, 1))]),
    Case('tensorinv', lambda m, a: m.linalg.tensorinv(a.reshape(2, 3, 6), ind=2), [((6, 6),)],
         **WELL),
    Case('tensorinv_1', lambda m, a: m.linalg.tensorinv(a.reshape(4, 2, 2), ind=1),
         [((4, 4),)], **WELL),
    Case('tensorsolve', lambda m, a, b: m.linalg.tensorsolve(a.reshape(2, 3, 6), b),
         [((6, 6), (2, 3))], **WELL),
    Case('tensorsolve_dims', lambda m, a, b: m.linalg.tensorsolve(a.reshape(6, 2, 3), b,
                                                                   dims=(0,)),
         [((6, 6), (2, 3))], **WELL),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


# ---------------------------------------------------------------- plain tests

def _cofactor(a):
    n = a.shape[-1]
    c = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, 0), j, 1)
            c[i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return c


@pytest.mark.parametrize('a', [[[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]],
                               [[1.0, 2.0], [2.0, 4.0]], [[0.0, 0.0], [0.0, 1.0]]],
                         ids=['rank2of3', 'rank1of2', 'zero-row'])
def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix(a):
    """NOTE: det's gradient is the cofactor matrix, defined where A has no inverse (rank
    n - 1); ember then takes it from the SVD, as torch documents. Checked against the
    cofactors computed from minors, and against torch's gradient with create_graph=True:
    torch 2.13's plain backward answers zeros at an exactly singular matrix (its LU formula
    times det = 0), which ember does not copy."""
    a = np.array(a)
    x = ember.tensor(a, requires_grad=True)
    ember.linalg.det(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), _cofactor(a), atol=1e-12)
    t = torch.tensor(a, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.linalg.det(t), t, create_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), tg.detach().numpy(), atol=1e-12)


def test_det_second_order_at_a_singular_matrix():
    """The singular branch is written in ember ops too: its gradient differentiates (SVD's
    backward, on distinct singular values 0 < s2 < s1)."""
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    x = ember.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    (g,) = ember.autograd.grad(ember.linalg.det(x), x, create_graph=True)
    (tg,) = torch.autograd.grad(torch.linalg.det(t), t, create_graph=True)
    w = np.arange(9.0).reshape(3, 3)
    (gg,) = ember.autograd.grad((g * ember.tensor(w)).sum(), x)
    (tgg,) = torch.autograd.grad((tg * torch.tensor(w)).sum(), t)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), atol=1e-9)


def test_matrix_exp_matches_its_series_far_out():
    """1-norm ~40 (five squarings): against the Taylor series in float64."""
    rng = np.random.default_rng(0)
    a = rng.uniform(-4, 4, (4, 4))
    want, term = np.eye(4), np.eye(4)
    for k in range(1, 200):
        term = term @ a / k
        want = want + term
    got = ember.linalg.matrix_exp(ember.tensor(a)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11 * np.abs(want).max())
    np.testing.assert_allclose(got, torch.linalg.matrix_exp(torch.tensor(a)).numpy(),
                               rtol=1e-11, atol=1e-11 * np.abs(want).max())


def test_decompositions_reconstruct_their_input():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 5, 3))
    e = ember.tensor(a)
    u, s, vh = ember.linalg.svd(e)
    assert u.shape == (2, 5, 5) and s.shape == (2, 3) and vh.shape == (2, 3, 3)
    np.testing.assert_allclose((u[..., :3] * s.unsqueeze(-2) @ vh).numpy(), a, atol=1e-12)
    q, r = ember.linalg.qr(e, mode='complete')
    assert q.shape == (2, 5, 5) and r.shape == (2, 5, 3)
    np.testing.assert_allclose((q @ r).numpy(), a, atol=1e-12)
    q, r = ember.linalg.qr(e, mode='r')
    assert q.shape == (0,) and r.shape == (2, 3, 3)
    u, s, v = ember.svd(e, some=False)
    assert u.shape == (2, 5, 5) and v.shape == (2, 3, 3)
    u, s, v = ember.svd(e, compute_uv=False)
    assert not u.numpy().any() and u.shape == (2, 5, 5) and v.shape == (2, 3, 3)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(a, compute_uv=False), rtol=1e-12)


def test_lstsq_returns_torchs_default_driver_fields():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    e = ember.linalg.lstsq(ember.tensor(a), ember.tensor(b), driver='gelsd')
    t = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(e.solution.numpy(), t.solution.numpy(), rtol=1e-10)
    assert e.rank.item() == t.rank.item() == 3 and e.rank.dtype is ember.int64
    assert e.residuals.shape == t.residuals.shape == (0,)
    np.testing.assert_allclose(ember.linalg.lstsq(ember.tensor(a), ember.tensor(b[:, 0]))
                               .solution.numpy(), t.solution.numpy()[:, 0], rtol=1e-10)


@pytest.mark.parametrize('kw', [dict(), dict(atol=1.0), dict(rtol=0.3), dict(hermitian=True),
                                dict(atol=0.5, rtol=0.2)])
def test_pinv_and_matrix_rank_tolerances_match_torch(kw):
    rng = np.random.default_rng(0)
    u = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    a = (u * np.array([3.0, 1.5, 0.6, 1e-17])) @ u.T   # symmetric, rank 3 (numerically)
    a = (a + a.T) / 2
    e, t = ember.tensor(a), torch.tensor(a)
    np.testing.assert_allclose(ember.linalg.pinv(e, **kw).numpy(),
                               torch.linalg.pinv(t, **kw).numpy(), atol=1e-12)
    assert ember.linalg.matrix_rank(e, **kw).item() == torch.linalg.matrix_rank(t, **kw).item()


def test_qr_mode_r_and_complete_tall_have_no_gradient():
    a = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        ember.linalg.qr(a, mode='r').R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        ember.linalg.qr(a, mode='complete').Q.sum().backward()


@pytest.mark.parametrize('p', ['fro', 'nuc', 1, -INF])
def test_cond_gradient(p):
    (a,) = spectrum(np.random.default_rng(0), [(3, 3)], 'float64')
    x = ember.tensor(a, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: ember.linalg.cond(x, p), (x,), eps=1e-6,
                                    atol=1e-5, rtol=1e-3)


def test_logdet_of_negative_and_zero_determinants():
    e = ember.logdet(ember.tensor([[[-1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 1.0]]]))
    t = torch.logdet(torch.tensor([[[-1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 1.0]]]))
    np.testing.assert_array_equal(e.numpy(), t.numpy())   # nan, -inf


def _raises_like_torch(fe, ft, match):
    with pytest.raises(RuntimeError, match=match):
        fe(ember)
    with pytest.raises(RuntimeError):
        ft(torch)


@pytest.mark.parametrize('fn,match', [
    (lambda m: m.linalg.det(m.ones(2, 3)),
     r'linalg.det: A must be batches of square matrices, but they are 2 by 3 matrices'),
    (lambda m: m.linalg.inv(m.ones(3)), r'linalg.inv: .*at least 2 dimensions.*\(3,\)'),
    (lambda m: m.linalg.inv(m.ones(2, 2, dtype=m.int64)),
     r'linalg.inv: Expected a floating point .*int64'),
    (lambda m: m.linalg.inv(m.zeros(3, 3)), r'linalg.inv: .*singular.*\(3, 3\)'),
    (lambda m: m.linalg.cholesky(-m.eye(3)),
     r'linalg.cholesky: .*not positive-definite \(the leading minor of order 1'),
    (lambda m: m.linalg.cholesky(m.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]])),
     r'linalg.cholesky: \(Batch element 1\): .*leading minor of order 2'),
    (lambda m: m.linalg.solve(m.eye(3), m.ones(4, 2)), r'linalg.solve: Incompatible shapes'),
    (lambda m: m.linalg.solve(m.eye(3), m.ones(3, dtype=m.float64)),
     r'linalg.solve: .*same dtype'),
    (lambda m: m.linalg.solve(m.zeros(3, 3), m.ones(3)), r'linalg.solve: .*singular'),
    (lambda m: m.linalg.qr(m.ones(3, 3), mode='x'), r"linalg.qr: .*unrecognized mode 'x'"),
    (lambda m: m.linalg.eigh(m.ones(2, 3)), r'linalg.eigh: .*square'),
    (lambda m: m.linalg.eigh(m.eye(2), UPLO='X'), r'linalg.eigh: .*UPLO'),
    (lambda m: m.linalg.matrix_norm(m.ones(3, 3), 3), r'linalg.matrix_norm: Order 3'),
    (lambda m: m.linalg.norm(m.ones(2, 2, 2), 2), r'linalg.norm: .*1D or 2D'),
    (lambda m: m.linalg.vector_norm(m.ones(3, dtype=m.int64)), r'linalg.vector_norm: .*int64'),
    (lambda m: m.linalg.cross(m.ones(4), m.ones(4)), r'linalg.cross: .*length 3'),
    (lambda m: m.linalg.cross(m.ones(2, 3), m.ones(3)), r'linalg.cross: .*same number'),
    (lambda m: m.linalg.multi_dot([m.ones(2, 3)]), r'multi_dot\(\): expected at least 2'),
    (lambda m: m.linalg.multi_dot([m.ones(2, 3), m.ones(4, 2)]), r'multi_dot\(\): .*\(4, 2\)'),
    (lambda m: m.linalg.matrix_power(m.ones(2, 3), 2), r'linalg.matrix_power: .*square'),
    (lambda m: m.linalg.matrix_exp(m.ones(2, 3)), r'linalg.matrix_exp: .*square'),
    (lambda m: m.linalg.vander(m.ones(3), N=1), r'linalg.vander: N must be greater than 1'),
    (lambda m: m.linalg.tensorinv(m.ones(2, 3, 4), ind=1), r'linalg.tensorinv: .*12 != 2'),
    (lambda m: m.linalg.tensorsolve(m.ones(2, 3, 4), m.ones(2, 3)),
     r'linalg.tensorsolve: .*\(2, 3, 4\)'),
    (lambda m: m.linalg.solve_triangular(m.eye(3), m.ones(3), upper=True),
     r'linalg.solve_triangular: .*at least 2 dimensions'),
    (lambda m: m.linalg.solve_triangular(m.eye(3), m.ones(2, 2), upper=True),
     r'linalg.solve_triangular: Incompatible shapes'),
])
def test_errors_name_the_op_shapes_and_dtypes(fn, match):
    _raises_like_torch(fn, fn, match)
