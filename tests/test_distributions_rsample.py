"""``rsample`` of the gamma family (Gamma, Chi2, Beta, Dirichlet, StudentT): implicit
reparameterisation, as torch's. The derivative of a draw in its concentration against
torch's own (``torch._standard_gamma_grad``, ``torch._dirichlet_grad`` and torch's Dirichlet
backward, fed ember's draws) and against finite differences of the cdf (an independent
check of both); each distribution's pathwise gradients against torch's rule on the same
draws; a pathwise fit of a concentration; the samples as samples (Kolmogorov-Smirnov,
which fails for a wrong parameter)."""
import math

import numpy as np
import pytest
import torch

import ember
import ember.distributions as ED
import torch.distributions as TD
from ember.distributions._reparam import dirichlet_grad, standard_gamma_grad
from tests.test_distributions import KS_C, _ks_stat

# ember's derivatives are torch's formulas in the same order of float64 operations; pow, log
# and exp round differently in the two libraries (a few ulps), which the Rice expansion's
# 1 / (alpha - x) and the rational approximations' p / q amplify: measured within 5e-14
# relative over 10^5 draws, compared at 1e-12.
RTOL = 1e-12


def _log_uniform(rng, lo, hi, n):
    return np.exp(rng.uniform(math.log(lo), math.log(hi), n))


def test_standard_gamma_grad_matches_torch():
    """Every branch: small draws (x < 0.8, the Taylor series), alpha > 8 near and away from
    the mode (Rice), and the rational approximation between."""
    rng = np.random.default_rng(1)
    alpha = np.concatenate([_log_uniform(rng, 0.01, 500.0, 20000), [0.5, 9.0, 9.0, 30.0]])
    x = np.concatenate([np.maximum(rng.gamma(alpha[:-4]), 1e-300), [0.3, 9.0, 2.0, 40.0]])
    with np.errstate(all='ignore'):
        e = standard_gamma_grad(np, alpha, x)
    t = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    assert (x < 0.8).sum() > 1000 and ((alpha > 8) & (np.abs(x / alpha - 1) < 0.1)).sum() > 1000
    np.testing.assert_allclose(e, t, rtol=RTOL, atol=0)
    # float32 draws: the same float64 computation rounded once, as torch's CPU kernel
    a32, x32 = alpha.astype(np.float32), np.maximum(x.astype(np.float32), 1e-37)
    with np.errstate(all='ignore'):
        e32 = standard_gamma_grad(np, a32.astype(np.float64), x32.astype(np.float64))
    t32 = torch._standard_gamma_grad(torch.tensor(a32), torch.tensor(x32)).numpy()
    np.testing.assert_allclose(e32.astype(np.float32), t32, rtol=2 ** -23, atol=0)


def test_dirichlet_grad_matches_torch():
    """Compared at 1e-11: digamma(alpha) - digamma(total) - log(x) cancels in the series for
    small draws, which turns the two libraries' digammas' last-bit differences into 1.3e-12
    (measured, worst of 20000)."""
    rng = np.random.default_rng(2)
    alpha = _log_uniform(rng, 0.02, 80.0, 20000)
    total = alpha + _log_uniform(rng, 0.02, 80.0, 20000)
    x = np.clip(rng.beta(alpha, total - alpha), 1e-300, 1 - 2 ** -53)
    with np.errstate(all='ignore'):
        e = dirichlet_grad(np, x, alpha, total)
    t = torch._dirichlet_grad(torch.tensor(x), torch.tensor(alpha), torch.tensor(total))
    np.testing.assert_allclose(e, t.numpy(), rtol=1e-11, atol=1e-300)


def _gammainc(a, x):
    return ember.special.gammainc(ember.tensor(a), ember.tensor(x)).numpy()


def test_standard_gamma_grad_against_the_cdf():
    """-(dF/dalpha) / f by central differences of ember.special.gammainc (within 5e-15):
    torch's approximations are within 2e-3 relative of it (measured: 1.1e-3 worst, in the
    rational approximation; the five-term Taylor series 1.3e-4 at x near 0.8)."""
    rng = np.random.default_rng(3)
    alpha = _log_uniform(rng, 0.05, 60.0, 3000)
    x = np.maximum(rng.gamma(alpha), 1e-30)
    h = 1e-5 * alpha
    dfda = (_gammainc(alpha + h, x) - _gammainc(alpha - h, x)) / (2 * h)
    logpdf = (alpha - 1) * np.log(x) - x - np.array([math.lgamma(a) for a in alpha])
    exact = -dfda / np.exp(logpdf)
    with np.errstate(all='ignore'):
        got = standard_gamma_grad(np, alpha, x)
    ok = np.isfinite(exact) & (np.exp(logpdf) > 1e-200)
    assert ok.sum() > 2900
    rel = np.abs(got - exact)[ok] / np.abs(exact[ok])
    assert rel.max() < 2e-3, rel.max()


def _lbeta(a, b):
    lg = np.vectorize(math.lgamma)
    return lg(a) + lg(b) - lg(a + b)


def _beta_cf(a, b, x, terms=300):
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = np.ones_like(x), 1 - (a + b) * x / (a + 1)
    d = 1 / np.where(np.abs(d) < tiny, tiny, d)
    h = d
    for m in range(1, terms):
        for num in (m * (b - m) * x / ((a - 1 + 2 * m) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1 + 2 * m))):
            d = 1 + num * d
            d = 1 / np.where(np.abs(d) < tiny, tiny, d)
            c = 1 + num / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            h = h * d * c
    return h


def _beta_cdf(x, a, b):
    """The regularized incomplete beta function (Numerical Recipes' betai: the continued
    fraction from the nearer end, within about 1e-14 here)."""
    x, a, b = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (x, a, b)))
    front = np.exp(a * np.log(x) + b * np.log1p(-x) - _lbeta(a, b))
    low = x < (a + 1) / (a + b + 2)
    with np.errstate(all='ignore'):
        near0 = front * _beta_cf(a, b, x) / a
        near1 = 1 - front * _beta_cf(b, a, 1 - x) / b
    return np.where(low, near0, near1)


def test_dirichlet_grad_against_the_cdf():
    """The Beta case of the scaled derivative, -(dF/dalpha) / f / (1 - x), against central
    differences of the cdf: within 2e-3 (measured: 1.2e-3 worst of 4000), as torch's."""
    rng = np.random.default_rng(4)
    alpha = _log_uniform(rng, 0.1, 30.0, 1500)
    beta = _log_uniform(rng, 0.1, 30.0, 1500)
    x = np.clip(rng.beta(alpha, beta), 1e-6, 1 - 1e-6)
    h = 1e-5 * alpha
    dfda = (_beta_cdf(x, alpha + h, beta) - _beta_cdf(x, alpha - h, beta)) / (2 * h)
    pdf = np.exp((alpha - 1) * np.log(x) + (beta - 1) * np.log1p(-x) - _lbeta(alpha, beta))
    exact = -dfda / pdf / (1 - x)
    with np.errstate(all='ignore'):
        got = dirichlet_grad(np, x, alpha, alpha + beta)
    ok = (pdf > 1e-8) & np.isfinite(exact)
    assert ok.sum() > 1400
    rel = np.abs(got - exact)[ok] / np.maximum(np.abs(exact[ok]), 1e-8)
    assert rel.max() < 2e-3, rel.max()


# ---------------------------------------------------------------- pathwise gradients

def _t(a, grad=True):
    return torch.tensor(np.asarray(a, np.float64), requires_grad=grad)


def _e(a, grad=True):
    return ember.tensor(np.asarray(a, np.float64), requires_grad=grad)


def _torch_gamma(alpha_t, x):
    """Standard gamma draws ``x`` (ember's) as a function of torch's ``alpha_t``: the value
    x, the derivative torch's."""
    d = torch._standard_gamma_grad(alpha_t.detach(), torch.tensor(x))
    return torch.tensor(x) + (alpha_t - alpha_t.detach()) * d


_rng = np.random.default_rng(5)
CONC = _rng.uniform(0.3, 12.0, (3, 4))
RATE = _rng.uniform(0.5, 2.0, (3, 4))
W = _rng.uniform(-1, 1, (5, 3, 4))


def _grads(out, params, w=W):
    mod = torch if isinstance(out, torch.Tensor) else ember
    s = (out * mod.tensor(w)).sum()
    g = (torch.autograd.grad if mod is torch else ember.autograd.grad)(s, params)
    return [x.detach().numpy() for x in g]


def test_gamma_and_chi2_rsample():
    ca, ra = _e(CONC), _e(RATE)
    ember.manual_seed(3)
    v = ED.Gamma(ca, ra).rsample((5,))
    eg = _grads(v, [ca, ra])
    ct, rt = _t(CONC), _t(RATE)
    x = (v.detach().numpy() * RATE)   # ember's standard draws
    tg = _grads(_torch_gamma(ct.expand(5, 3, 4), x) / rt, [ct, rt])
    for a, b, n in zip(eg, tg, ('concentration', 'rate')):
        np.testing.assert_allclose(a, b, rtol=RTOL * 10, err_msg=n)
    df = _e(2 * CONC)
    ember.manual_seed(3)
    v = ED.Chi2(df).rsample((5,))
    dft = _t(2 * CONC)
    x = v.detach().numpy() * 0.5
    np.testing.assert_allclose(_grads(v, [df])[0],
                               _grads(_torch_gamma(0.5 * dft.expand(5, 3, 4), x) * 2, [dft])[0],
                               rtol=RTOL * 10)


def test_dirichlet_and_beta_rsample():
    rng = np.random.default_rng(6)
    conc = rng.uniform(0.3, 9.0, (3, 4))
    c = _e(conc)
    ember.manual_seed(4)
    x = ED.Dirichlet(c).rsample((5,))
    w = rng.uniform(-1, 1, (5, 3, 4))
    eg = _grads(x, [c], w)[0]
    from torch.distributions.dirichlet import _Dirichlet_backward
    xt = torch.tensor(x.detach().numpy())
    tg = _Dirichlet_backward(xt, torch.tensor(conc).expand(5, 3, 4), torch.tensor(w)).sum(0)
    np.testing.assert_allclose(eg, tg.numpy(), rtol=RTOL * 10)
    # Beta: the first coordinate of a two-way Dirichlet (the same draws, by the seed)
    a, b = _e(conc[..., 0]), _e(conc[..., 1])
    ember.manual_seed(5)
    both = ED.Dirichlet(ember.stack([a, b], -1).detach()).sample((5,)).numpy()
    ember.manual_seed(5)
    v = ED.Beta(a, b).rsample((5,))
    np.testing.assert_array_equal(v.detach().numpy(), both[..., 0])
    eg = _grads(v, [a, b], w[..., 0])
    g2 = np.stack([w[..., 0], np.zeros_like(w[..., 0])], -1)
    tg = _Dirichlet_backward(torch.tensor(both), torch.tensor(conc[..., :2]).expand(5, 3, 2),
                             torch.tensor(g2)).sum(0).numpy()
    np.testing.assert_allclose(np.stack(eg, -1), tg, rtol=RTOL * 10)


def test_student_t_rsample():
    rng = np.random.default_rng(7)
    df, loc, scale = rng.uniform(1.0, 9.0, (3, 4)), rng.standard_normal((3, 4)), \
        rng.uniform(0.5, 2.0, (3, 4))
    ps = [_e(df), _e(loc), _e(scale)]
    ember.manual_seed(6)
    v = ED.StudentT(*ps).rsample((5,))
    eg = _grads(v, ps)
    ember.manual_seed(6)   # the same draws: the normal first, then the chi-squared's gammas
    z = ember.randn(5, 3, 4, dtype=ember.float64).numpy()
    chi2 = ED.Chi2(ember.tensor(df)).sample((5,)).numpy()
    dft, loct, scalet = _t(df), _t(loc), _t(scale)
    chi2_t = _torch_gamma(0.5 * dft.expand(5, 3, 4), chi2 * 0.5) * 2
    vt = loct + scalet * (torch.tensor(z) * torch.rsqrt(chi2_t / dft))
    # (the same chain of five roundings; loc + scale * y cancels: relative to its terms)
    vt_ = vt.detach().numpy()
    assert np.all(np.abs(v.detach().numpy() - vt_) <= 8 * 2 ** -53 * (np.abs(loc)
                                                                      + np.abs(vt_ - loc)))
    for a, b, n in zip(eg, _grads(vt, [dft, loct, scalet]), ('df', 'loc', 'scale')):
        np.testing.assert_allclose(a, b, rtol=RTOL * 10, err_msg=n)


@pytest.mark.parametrize('make', [lambda c: ED.Gamma(c, 1.0), lambda c: ED.Dirichlet(c)],
                         ids=['Gamma', 'Dirichlet'])
def test_no_second_derivative_as_torch(make):
    c = ember.tensor([1.5, 2.5], dtype=ember.float64, requires_grad=True)
    (g,) = ember.autograd.grad(make(c).rsample().pow(2).sum(), c, create_graph=True)
    with pytest.raises(NotImplementedError, match='derivative for .*(gamma|dirichlet)_grad'):
        g.sum().backward()


def test_pathwise_fit_of_a_concentration():
    """Stochastic gradient descent on KL(q || p) = E_q[log q(x) - log p(x)], estimated with
    q's rsample: q = Gamma(alpha, 1) moves from alpha = 0.5 to p's 4.0 (and Beta's two
    concentrations to p's)."""
    ember.manual_seed(8)
    log_a = ember.tensor(math.log(0.5), dtype=ember.float64, requires_grad=True)
    p = ED.Gamma(4.0, 1.0)
    opt = ember.optim.Adam([log_a], lr=0.05)
    for _ in range(300):
        q = ED.Gamma(log_a.exp(), ember.tensor(1.0, dtype=ember.float64))
        x = q.rsample((64,))
        loss = (q.log_prob(x) - p.log_prob(x)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert abs(log_a.exp().item() - 4.0) < 0.3, log_a.exp().item()
    ab = ember.tensor([0.0, 0.0], dtype=ember.float64, requires_grad=True)
    p = ED.Beta(ember.tensor(2.0, dtype=ember.float64), ember.tensor(5.0, dtype=ember.float64))
    opt = ember.optim.Adam([ab], lr=0.05)
    for _ in range(300):
        q = ED.Beta(ab[0].exp(), ab[1].exp())
        x = q.rsample((64,))
        loss = (q.log_prob(x) - p.log_prob(x)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(ab.exp().detach().numpy(), [2.0, 5.0], rtol=0.2)


# ---------------------------------------------------------------- samples as samples

N = 20000


def _student_t_cdf(t, df, nodes=200):
    """By Gauss-Legendre quadrature of the density in theta = atan(s)."""
    u, w = np.polynomial.legendre.leggauss(nodes)
    top = np.arctan(np.abs(t))[..., None]
    theta = top * (u + 1) / 2
    dens = (1 + np.tan(theta) ** 2 / df) ** (-(df + 1) / 2) / np.cos(theta) ** 2
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    half = c * (w * dens).sum(-1) * top[..., 0] / 2
    return 0.5 + np.sign(t) * half


# (name, make(D, k), cdf(x, k), k: a parameter off by this factor fails)
GOF = [('Gamma', lambda D, k: D.Gamma(2.5 * k, 1.5),
        lambda x, k: TD.Gamma(2.5 * k, 1.5).cdf(torch.tensor(x)).numpy(), 1.1),
       ('Gamma_small', lambda D, k: D.Gamma(0.3 * k, 2.0),
        lambda x, k: TD.Gamma(0.3 * k, 2.0).cdf(torch.tensor(x)).numpy(), 1.1),
       ('Beta', lambda D, k: D.Beta(2.0 * k, 0.7), lambda x, k: _beta_cdf(x, 2.0 * k, 0.7), 1.1),
       ('Dirichlet[1]', lambda D, k: D.Dirichlet(ember.tensor([0.5, 2.0 * k, 3.5])),
        lambda x, k: _beta_cdf(x[:, 1], 2.0 * k, 4.0), 1.1),
       ('StudentT', lambda D, k: D.StudentT(3.0 * k, 0.5, 2.0),
        lambda x, k: _student_t_cdf((x - 0.5) / 2.0, 3.0 * k), 1.5)]


@pytest.mark.parametrize('name, make, cdf, wrong', GOF, ids=[g[0] for g in GOF])
def test_rsample_goodness_of_fit(name, make, cdf, wrong):
    """Kolmogorov-Smirnov at 1 - 1e-4 (a correct sampler fails one seed in 10,000; the seed
    is fixed), which the cdf of a concentration 10% off (StudentT's df: 50%) fails at this
    N."""
    for k, fits in ((1.0, True), (wrong, False)):
        ember.manual_seed(1234)
        x = make(ED, 1.0).rsample((N,)).detach().numpy().astype(np.float64)
        stat = _ks_stat(cdf(x, k))
        assert (stat < KS_C / math.sqrt(N)) == fits, (name, k, stat)
