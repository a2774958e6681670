"""The test contract: every op is one table entry, checked against PyTorch.

A ``Case`` names an op, a function ``fn(m, *xs)`` written once for both frameworks (``m`` is
the ``ember`` or ``torch`` module, ``xs`` the inputs), and a shape menu. ``make_tests`` turns a
table of cases into three parametrised tests:

- forward values and dtypes, and gradients of every float input, against PyTorch, in float32
  and float64, over the shape menu (same shape, broadcasting both ways, 0-d, empty,
  non-contiguous);
- second-order gradients against PyTorch (float64), for every case with a float input and
  gradients, unless it says ``second_order=False`` (with a comment saying why: PyTorch has
  no second derivative there, or ember differs for a documented reason);
- ``ember.autograd.gradcheck`` (float64 central differences) on a small shape.

Float results are compared within a tolerance, integer and bool results exactly. A case whose
dtypes are ``('complex64', 'complex128')`` draws complex inputs (real and imaginary parts from
``domain``), seeds its complex outputs with complex gradients and checks second order and
gradcheck in complex128; a complex gradient counts as its two real parts.
"""
import os
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)

# EMBER_TEST_DEVICE=cuda runs the op tables on the GPU, against PyTorch on the GPU (TF32 off).
# With EMBER_FAKE_CUPY=1 as well, 'cuda' is CuPy's CPU stand-in (tests/fakecupy.py) and
# PyTorch stays on the CPU.
DEVICE = os.environ.get('EMBER_TEST_DEVICE', 'cpu')
TORCH_DEVICE = 'cpu' if os.environ.get('EMBER_FAKE_CUPY') else DEVICE
if TORCH_DEVICE != 'cpu':
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

# The oracle is PyTorch 2.13 (CI's). A GPU machine may hold an older torch, whose reprs and
# constructor arguments (bias= of the norm layers) predate 2.13: tests of those need 2.13.
ORACLE = tuple(int(v) for v in torch.__version__.split('+')[0].split('.')[:2]) >= (2, 13)


def E(a):
    """An ember tensor on the test device."""
    return ember.tensor(a, device=DEVICE)


def T(a, **kw):
    """A torch tensor on the test device."""
    return torch.tensor(a, device=TORCH_DEVICE, **kw)


def host(t):
    """An ember or torch tensor's values as a NumPy array."""
    return t.detach().cpu().numpy(force=True)   # (force: torch resolves a conj view)


class NC(tuple):
    """A shape whose array is made non-contiguous (the transpose of a reversed-shape array)."""


# shape menus: each entry is a tuple of input shapes
UNARY = [((3, 4),), ((),), ((0, 3),), ((2, 3, 4),), (NC((4, 3)),)]
BINARY = [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((3, 1), (1, 4)), ((), (3, 4)),
          ((3, 4), ()), ((0, 4), (4,)), ((2, 1, 4), (3, 1)), (NC((4, 3)), (4, 3))]
TERNARY = [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((), (3, 4), ()),
           ((0, 4), (4,), (1,))]

# ---- The tolerance policy (docs/testing.md) ----
# Two computations of one float result (ember against torch, OpenBLAS's kernel for this CPU
# against another's, MKL against OpenBLAS, one thread against two) differ by rounding only,
# and rounding has a bound: a sum of n terms added in any order is within gamma_n = n*u/(1-n*u)
# of the exact sum, relative to the sum of the terms' magnitudes (u = eps/2, the unit
# roundoff; Higham, "Accuracy and Stability of Numerical Algorithms", 3.1). So two of them
# are within 2*gamma_n of each other, plus a few units in the last place for the elementwise
# functions around the sum (exp, log, tanh: libm, SLEEF and NumPy's SIMD loops differ by up to
# ~4 ulps). `tol` is that bound; tests pass the reduction's size n and, where the result can
# cancel, the magnitude it is relative to (|a| @ |b| for a product). float64 is 2^29 times
# tighter than float32 by construction. Bit-exact comparisons are kept for results defined to
# the bit (a correctly rounded cast, one IEEE operation, a checkpoint's bytes) and made
# against a reference computed in the test (NumPy, ml_dtypes), never against torch's CPU
# kernels, whose rounding can depend on the CPU (test_amp.py: float64 -> bfloat16).
# An iterative algorithm (L-BFGS on Rosenbrock) amplifies rounding by its conditioning: its
# tolerance is measured in the test (`ulp_spread`): how far its own result moves when its
# input moves by one ulp.

def tol(dtype, n=1, ulps=4):
    """The relative difference two computations of a ``dtype`` result may show when each
    sums ``n`` terms: 2 * gamma_n plus ``ulps`` units in the last place.

    >>> f'{tol(np.float32):.2e} {tol(np.float32, n=512):.2e} {tol(np.float64, n=512):.2e}'
    '5.96e-07 6.15e-05 1.15e-13'
    """
    u = float(np.finfo(dtype).eps) / 2
    n = max(int(n), 1)
    return 2 * n * u / (1 - n * u) + ulps * 2 * u


def assert_sum_close(got, want, dtype, n, magnitude=None, what=''):
    """``got`` and ``want``, each a computation of sums of ``n`` terms in ``dtype``, agree
    within ``tol(dtype, n)`` relative to ``magnitude``: the sum of the terms' absolute values
    (for ``a @ b``: ``abs(a) @ abs(b)``), or the results' own size when nothing cancels."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, f'{what}: shape {got.shape} vs {want.shape}'
    scale = np.abs(want) if magnitude is None else np.asarray(magnitude, np.float64)
    bound = tol(dtype, n) * scale + np.finfo(dtype).tiny
    err = np.abs(got - want)
    bad = ~(err <= bound)
    assert not bad.any(), (f'{what}: {bad.sum()} of {bad.size} differ by more than '
                           f'tol({np.dtype(dtype).name}, n={n}) = {tol(dtype, n):.2e} of their '
                           f'magnitude (worst: {(err / scale)[bad].max():.2e})')


def ulp_spread(run, x):
    """How far ``run(x)`` (an array) moves when one element of the float64 array ``x`` moves
    by one ulp, the largest over the elements: the rounding an ill-conditioned iterative
    computation amplifies, measured on the computation itself."""
    base = np.asarray(run(x), np.float64)
    spread = np.zeros_like(base)
    for i in range(x.size):
        y = x.copy()
        y.flat[i] = np.nextafter(y.flat[i], np.inf)
        spread = np.maximum(spread, np.abs(np.asarray(run(y), np.float64) - base))
    return spread


# The op tables' default: their ops reduce over a few hundred elements at most and chain a
# few elementwise functions: float32 within tol(float32, n=1024) = 1.2e-4 relative, atol for
# results near zero. float64 at 1e-7, far looser than tol(float64, n=1024) = 2.3e-13: a few
# ops compute float64 by another formula than torch (gradcheck checks them against finite
# differences instead); not machine-dependent either way. float16 (10 bits) at 1e-2.
TOL = {'float32': dict(atol=1e-5, rtol=1.3e-4), 'float64': dict(atol=1e-10, rtol=1e-7),
       'float16': dict(atol=1e-2, rtol=1e-2)}
TOL['complex64'], TOL['complex128'] = TOL['float32'], TOL['float64']   # (of each part)


def wide(case):
    """The dtype of a case's second-order and gradcheck inputs: float64, or complex128 for a
    case of complex inputs."""
    return 'complex128' if case.dtypes[0].startswith('complex') else 'float64'


def normal(rng, shape, dtype):
    """Standard normal values of ``dtype``; a complex dtype draws both parts."""
    a = np.asarray(rng.standard_normal(shape))
    if np.dtype(dtype).kind == 'c':
        a = a + 1j * rng.standard_normal(shape)
    return np.asarray(a, dtype=dtype)


def dot(g, w):
    """A real scalar from a gradient and weights of its shape (complex: part by part)."""
    if g.is_complex():
        return (g.real * w.real + g.imag * w.imag).sum()
    return (g * w).sum()


@dataclass
class Case:
    name: str
    fn: callable                       # fn(m, *xs) with m = ember or torch
    shapes: list = field(default_factory=lambda: UNARY)
    domain: tuple = (-2.0, 2.0)        # where float inputs are drawn from
    dtypes: tuple = ('float32', 'float64')
    grad: bool = True                  # compare gradients of float inputs
    second_order: bool = True          # compare second-order gradients with torch
    empty_second_order: bool = True    # ... on the menu's empty shapes too
    gradcheck: bool = True             # float64 finite differences (first order)
    ints: tuple = ()                   # positions of integer inputs: (index, low, high)
    bools: tuple = ()                  # positions of bool inputs
    atol: float = None
    rtol: float = None
    make: callable = None              # custom maker: make(rng, shapes, dtype) -> arrays

    def __str__(self):
        return self.name


def arrays(case, shapes, dtype, seed=0):
    """Seeded NumPy inputs for a case: floats in ``case.domain``, ints and bools where asked."""
    rng = np.random.default_rng(seed)
    if case.make is not None:
        return case.make(rng, shapes, dtype)
    ints = {i: (lo, hi) for i, lo, hi in case.ints}
    out = []
    for i, s in enumerate(shapes):
        shape = tuple(s)[::-1] if isinstance(s, NC) else tuple(s)
        if i in ints:
            a = rng.integers(*ints[i], size=shape)
        elif i in case.bools:
            a = rng.random(shape) < 0.5
        else:
            lo, hi = case.domain
            a = rng.uniform(lo, hi, size=shape)
            if np.dtype(dtype).kind == 'c':
                a = a + 1j * rng.uniform(lo, hi, size=shape)
            a = a.astype(dtype)
        out.append(np.asarray(a.T if isinstance(s, NC) else a))
    return out


def to_both(arrs, requires_grad):
    """The same inputs as ember and torch tensors (float ones requiring grad if asked)."""
    es, ts = [], []
    for a in arrs:
        if not isinstance(a, np.ndarray):
            es.append(a)
            ts.append(a)
            continue
        rg = requires_grad and a.dtype.kind in 'fc'
        e = E(a)
        e.requires_grad = rg
        es.append(e)
        ts.append(T(a.copy(order='C'), requires_grad=rg))
    return es, ts


def outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def assert_close(e, t, tol, what):
    """An ember tensor equals a torch tensor: shape, dtype and values."""
    assert isinstance(e, ember.Tensor), f'{what}: expected an ember Tensor, got {type(e)}'
    tn = t.detach().cpu().numpy(force=True)   # force: torch may answer with a ZeroTensor
    assert tuple(e.shape) == tuple(tn.shape), f'{what}: shape {tuple(e.shape)} vs torch ' \
                                              f'{tuple(tn.shape)}'
    assert e.dtype.name == str(t.dtype).replace('torch.', ''), \
        f'{what}: dtype {e.dtype} vs torch {t.dtype}'
    en = host(e)
    if tn.dtype.kind not in 'fc':   # integers and bools: exactly
        np.testing.assert_array_equal(en, tn, err_msg=what, strict=True)
        return
    wide = np.complex128 if en.dtype.kind == 'c' else np.float64
    np.testing.assert_allclose(en.astype(wide), tn, err_msg=what, equal_nan=True, **tol)


def tolerance(case, dtype):
    tol = dict(TOL[dtype])
    if case.atol is not None:
        tol['atol'] = max(tol['atol'], case.atol if dtype != 'float64' else case.atol * 1e-4)
    if case.rtol is not None:
        tol['rtol'] = max(tol['rtol'], case.rtol if dtype != 'float64' else case.rtol * 1e-4)
    return tol


def check_forward_backward(case, shapes, dtype):
    arrs = arrays(case, shapes, dtype)
    es, ts = to_both(arrs, case.grad)
    eo, to = outputs(case.fn(ember, *es)), outputs(case.fn(torch, *ts))
    assert len(eo) == len(to)
    for i, (e, t) in enumerate(zip(eo, to)):   # integer inputs may give float32 outputs
        assert e.requires_grad == t.requires_grad, \
            f'{case.name} output {i}: requires_grad {e.requires_grad} vs torch {t.requires_grad}'
        out_dt = str(t.dtype)[6:]
        assert_close(e, t, tolerance(case, out_dt if out_dt in TOL else dtype),
                     f'{case.name} output {i}')
    tol = tolerance(case, dtype)
    if not case.grad:
        return
    diff = [(e, t) for e, t in zip(eo, to) if t.requires_grad]
    if not diff:
        return
    rng = np.random.default_rng(1)
    seeds = [normal(rng, tuple(t.shape), host(t).dtype) for _, t in diff]
    leaves = [(e, t) for e, t in zip(es, ts) if isinstance(t, torch.Tensor) and t.requires_grad]
    tg = torch.autograd.grad([t for _, t in diff], [t for _, t in leaves],
                             [T(s) for s in seeds], allow_unused=True)
    eg = ember.autograd.grad([e for e, _ in diff], [e for e, _ in leaves],
                             [E(s) for s in seeds], allow_unused=True)
    for i, (e, t) in enumerate(zip(eg, tg)):
        if t is None:
            assert e is None or not np.any(host(e)), f'{case.name} grad {i}: torch has none'
            continue
        if e is None:   # no path in ember's graph: torch's must be zeros
            assert not np.any(host_zero(t)), f'{case.name} grad {i}: ember gave None, ' \
                                             f'torch a gradient'
            continue
        assert_close(e, t, tol, f'{case.name} grad of input {i}')


def check_second_order(case, shapes):
    """Gradients of the first-order gradients, against torch (float64), as gradgradcheck
    takes them: with respect to the inputs and to the seeds (the output gradients) both, so
    ops whose second derivative is zero (linear ones, max, pooling) still check that their
    backward is itself differentiable and right."""
    arrs = arrays(case, shapes, wide(case))
    es, ts = to_both(arrs, True)
    eo, to = outputs(case.fn(ember, *es)), outputs(case.fn(torch, *ts))
    pairs = [(e, t) for e, t in zip(eo, to) if t.requires_grad]
    assert pairs, f'{case.name}: no differentiable output for a second-order check'
    leaves = [(e, t) for e, t in zip(es, ts) if isinstance(t, torch.Tensor) and t.requires_grad]
    rng = np.random.default_rng(2)
    seeds = [to_both([normal(rng, tuple(t.shape), host(t).dtype)], True)
             for _, t in pairs]
    e_seeds, t_seeds = [s[0][0] for s in seeds], [s[1][0] for s in seeds]
    tg = torch.autograd.grad([t for _, t in pairs], [t for _, t in leaves], t_seeds,
                             create_graph=True, allow_unused=True)
    eg = ember.autograd.grad([e for e, _ in pairs], [e for e, _ in leaves], e_seeds,
                             create_graph=True, allow_unused=True)
    ws = [normal(rng, tuple(t.shape), host(t).dtype) for _, t in leaves]
    t_s = sum(dot(g, T(w)) for g, w in zip(tg, ws) if g is not None and g.requires_grad)
    e_s = sum(dot(g, E(w)) for g, w in zip(eg, ws) if g is not None and g.requires_grad)
    wrt_t = [t for _, t in leaves] + t_seeds
    wrt_e = [e for e, _ in leaves] + e_seeds
    names = [f'input {i}' for i in range(len(leaves))] + [f'output seed {i}'
                                                           for i in range(len(seeds))]
    if not isinstance(t_s, torch.Tensor):
        # torch's first-order gradients are constants (zeros: floor, sign ...): ember's must
        # be too, without a graph or with zero second-order gradients
        tgg = [None] * len(wrt_t)
    else:
        tgg = torch.autograd.grad(t_s, wrt_t, allow_unused=True)
    if isinstance(e_s, ember.Tensor) and e_s.requires_grad:
        egg = ember.autograd.grad(e_s, wrt_e, allow_unused=True)
    else:
        egg = [None] * len(wrt_e)
    for name, e, t in zip(names, egg, tgg):
        what = f'{case.name} second-order grad of {name}'
        if t is None or e is None:   # None is zero; the other must be zero too
            for z, who in ((e, 'ember'), (t, 'torch')):
                assert z is None or not np.any(host_zero(z)), f'{what}: only {who} nonzero'
            continue
        assert_close(e, t, TOL['float64'], what)


def host_zero(t):
    """A tensor's values on the host, torch's ZeroTensors included."""
    return t.detach().cpu().numpy(force=True) if isinstance(t, torch.Tensor) else host(t)


def check_gradcheck(case, shapes):
    arrs = arrays(case, shapes, wide(case), seed=3)
    es, _ = to_both(arrs, True)
    assert ember.autograd.gradcheck(lambda *xs: case.fn(ember, *xs), es, eps=1e-6, atol=1e-5,
                                    rtol=1e-3)


def _small(case):
    """The first shape entry with a non-empty, small input, for finite differences."""
    for shapes in case.shapes:
        sizes = [int(np.prod(s)) for s in shapes]
        if all(0 < n <= 24 for n in sizes):
            return shapes
    return case.shapes[0]


def differentiable(case):
    """Whether a case compares gradients: it asks for them, and torch's output on its first
    shape has a gradient (a float input, and not a comparison or an integer cast)."""
    if not case.grad:
        return False
    arrs = arrays(case, case.shapes[0], wide(case))
    if not any(getattr(a, 'dtype', np.dtype(int)).kind in 'fc' for a in arrs):
        return False
    _, ts = to_both(arrs, True)
    return any(t.requires_grad for t in outputs(case.fn(torch, *ts)))


def make_tests(cases):
    """Three parametrised test functions walking a table of cases."""
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), f'cases of one name in {names}'
    fb = [pytest.param(c, s, d, id=f'{c.name}-{"x".join(map(str, s))}-{d}')
          for c in cases for s in c.shapes for d in c.dtypes]
    diff = [c for c in cases if differentiable(c)]
    # second order on the first two shapes (same shape, broadcast or 0-d), the non-contiguous
    # ones, where a backward's strides go wrong, and the empty ones, where a division by a
    # count of 0 before a broadcast turns a sum of nothing into 0 * inf
    so = [pytest.param(c, s, id=f'{c.name}-{"x".join(map(str, s))}')
          for c in diff if c.second_order for s in c.shapes[:2] + [
              s for s in c.shapes[2:] if any(isinstance(x, NC) for x in s) or
              (c.empty_second_order and any(0 in tuple(x) for x in s))]]
    gc = [pytest.param(c, _small(c), id=c.name) for c in diff if c.gradcheck]

    @pytest.mark.parametrize('case,shapes,dtype', fb)
    def test_forward_backward(case, shapes, dtype):
        check_forward_backward(case, shapes, dtype)

    @pytest.mark.parametrize('case,shapes', so)
    def test_second_order(case, shapes):
        check_second_order(case, shapes)

    @pytest.mark.parametrize('case,shapes', gc)
    def test_gradcheck(case, shapes):
        check_gradcheck(case, shapes)

    # (a table with nothing for a test gets None in its place: no empty, skipped test)
    return (test_forward_backward, test_second_order if so else None,
            test_gradcheck if gc else None)
