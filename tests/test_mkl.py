"""ember.backend.mkl: MKL's GEMM through ctypes, against NumPy's matmul on every layout it
takes, and the cases it must hand back to NumPy (None)."""
import importlib.metadata
import os
import subprocess
import sys

import numpy as np
import pytest

from ember.backend import mkl
from tests.helpers import assert_sum_close

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _installed():
    try:
        importlib.metadata.version('mkl')
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def _available_in(env):
    """mkl.available() in a fresh interpreter with ``env`` added."""
    env = dict({k: v for k, v in os.environ.items() if k not in (
        'EMBER_MKL', 'OPENBLAS_NUM_THREADS', 'GOTO_NUM_THREADS', 'OMP_NUM_THREADS')},
        PYTHONPATH=ROOT, **env)
    out = subprocess.run([sys.executable, '-c', 'from ember.backend import mkl; '
                          'print(mkl.available())'], capture_output=True, text=True, env=env,
                         check=True)
    return out.stdout.strip() == 'True'


def test_used_when_installed_and_products_run_on_one_thread():
    # `make test` installs the dev extra, which has mkl
    assert _available_in({'OPENBLAS_NUM_THREADS': '1'}) == _installed()
    assert _available_in({'OMP_NUM_THREADS': '1'}) == _installed()
    assert not _available_in({'OPENBLAS_NUM_THREADS': '2'})    # two BLAS pools would fight
    assert _available_in({'OPENBLAS_NUM_THREADS': '2', 'EMBER_MKL': '1'}) == _installed()
    assert not _available_in({'OPENBLAS_NUM_THREADS': '1', 'EMBER_MKL': '0'})


def test_openblas_threads_follows_openblas_order(monkeypatch):
    for name in ('OPENBLAS_NUM_THREADS', 'GOTO_NUM_THREADS', 'OMP_NUM_THREADS'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('OMP_NUM_THREADS', '3')
    assert mkl.openblas_threads() == 3
    monkeypatch.setenv('OPENBLAS_NUM_THREADS', '1')    # OpenBLAS reads its own first
    assert mkl.openblas_threads() == 1
    monkeypatch.setenv('OPENBLAS_NUM_THREADS', 'x')
    monkeypatch.delenv('OMP_NUM_THREADS')
    assert mkl.openblas_threads() == len(os.sched_getaffinity(0))


@pytest.fixture(autouse=True)
def forced(monkeypatch):
    """Every other test here with MKL switched on (EMBER_MKL=1) where it is installed; the
    module's state is reset before and after, so the rest of the suite sees the default."""
    monkeypatch.setenv('EMBER_MKL', '1')
    monkeypatch.setattr(mkl, '_tried', False)
    monkeypatch.setattr(mkl, '_lib', None)
    yield
    mkl._tried, mkl._lib = False, None


def test_forced_on_where_installed():
    assert mkl.available() == _installed()


def _views(rng, rows, cols, dtype):
    """The same matrix as a C-contiguous array, a transposed F-contiguous one, a row-padded
    slice of a wider array and a transposed slice."""
    base = rng.standard_normal((rows, cols)).astype(dtype)
    wide = np.zeros((rows, cols + 3), dtype)
    wide[:, 1:cols + 1] = base
    tall = np.zeros((cols, rows + 5), dtype)
    tall[:, 2:rows + 2] = base.T
    return {'c': base, 'f': np.asfortranarray(base), 'padded': wide[:, 1:cols + 1],
            'padded_t': tall[:, 2:rows + 2].T}


@pytest.fixture
def any_size(monkeypatch):
    """Every product size to MKL (small ones normally stay with NumPy)."""
    monkeypatch.setattr(mkl, 'MIN_WORK', 0)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('shape', [(2, 2, 2), (5, 3, 7), (64, 130, 33), (1000, 17, 2)])
def test_every_layout_matches_numpy(dtype, shape, any_size):
    m, k, n = shape
    rng = np.random.default_rng(m * k * n)
    for name_a, a in _views(rng, m, k, dtype).items():
        for name_b, b in _views(rng, k, n, dtype).items():
            want = np.matmul(a, b)
            got = mkl.matmul(a, b)
            if not mkl.available():
                assert got is None
                continue
            assert got is not None, (name_a, name_b)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert got.flags.c_contiguous
            assert_sum_close(got, want, dtype, k, np.abs(a) @ np.abs(b),
                             f'{name_a} @ {name_b}')


def test_layouts_blas_cannot_read_are_copied_first(any_size):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 16)).astype(np.float32)[:, ::2]      # strided columns
    b = np.broadcast_to(np.float32(0.5), (8, 5))                       # a sum's gradient
    got = mkl.matmul(a, b)
    assert (got is not None) == mkl.available()
    if got is not None:   # a sum of 8 terms that cancel: relative to |a| @ |b|
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        assert_sum_close(got, a64 @ b64, np.float32, 8, np.abs(a64) @ np.abs(b64))


def test_small_products_stay_with_numpy():
    a = np.ones((64, 64), np.float32)
    assert mkl.matmul(a, a) is None           # 64^3 < MIN_WORK: NumPy's is faster
    big = np.ones((256, 256), np.float32)
    assert (mkl.matmul(big, big) is not None) == mkl.available()


def test_writes_into_out(any_size):
    a, b = np.ones((3, 4), np.float32), np.full((4, 5), 2.0, np.float32)
    out = np.zeros((3, 5), np.float32)
    got = mkl.matmul(a, b, out=out)
    if mkl.available():
        assert got is out and (out == 8.0).all()
    else:
        assert got is None and (out == 0).all()


@pytest.mark.parametrize('a,b', [
    (np.ones((3, 4), np.int64), np.ones((4, 2), np.int64)),              # not float
    (np.ones((3, 4), np.float16), np.ones((4, 2), np.float16)),          # no half GEMM
    (np.ones((3, 4), np.float32), np.ones((4, 2), np.float64)),          # mixed dtypes
    (np.ones((1, 4), np.float32), np.ones((4, 2), np.float32)),          # a single row
    (np.ones((3, 4), np.float32), np.ones((4, 1), np.float32)),          # a single column
    (np.ones((3, 0), np.float32), np.ones((0, 2), np.float32)),          # empty
    (np.ones((2, 3, 4), np.float32), np.ones((2, 4, 2), np.float32)),    # batched
])
def test_hands_back_what_blas_cannot_take(a, b, any_size):
    assert mkl.matmul(a, b) is None


def test_products_agree_with_it_on_and_off(tmp_path):
    """A Linear forward and backward (products above MIN_WORK) give the same numbers with
    MKL and without it, within the rounding of the products behind them."""
    code = ('import sys, numpy as np, ember\n'
            'rng = np.random.default_rng(0)\n'
            'lin = ember.nn.Linear(512, 256)\n'
            'x = ember.tensor(rng.standard_normal((128, 512)).astype(np.float32), '
            'requires_grad=True)\n'
            'lin(x).square().sum().backward()\n'
            'np.savez(sys.argv[1], x=x.detach().numpy(), w=lin.weight.detach().numpy(), '
            'b=lin.bias.detach().numpy(), gx=x.grad.numpy(), gw=lin.weight.grad.numpy())\n')
    out = {}
    for flag in ('1', '0'):
        env = dict(os.environ, EMBER_MKL=flag, PYTHONPATH=ROOT)
        path = tmp_path / f'mkl{flag}.npz'
        subprocess.run([sys.executable, '-c', 'import ember; ember.manual_seed(0)\n' + code,
                        str(path)], capture_output=True, text=True, env=env, check=True)
        out[flag] = dict(np.load(path))
    on, off = out['1'], out['0']
    for name in ('x', 'w', 'b'):
        np.testing.assert_array_equal(on[name], off[name])
    x, w, b = (off[n].astype(np.float64) for n in ('x', 'w', 'b'))
    # g = 2 (x w^T + b) is a sum of 512 terms; x.grad = g w adds 256 more, w.grad = g^T x 128
    g_mag = 2 * (np.abs(x) @ np.abs(w).T + np.abs(b))
    assert_sum_close(on['gx'], off['gx'], np.float32, 512 + 256, g_mag @ np.abs(w), 'x.grad')
    assert_sum_close(on['gw'], off['gw'], np.float32, 512 + 128, g_mag.T @ np.abs(x),
                     'weight.grad')
    g = 2 * (x @ w.T + b)                  # and both are the float64 answer to that bound
    assert_sum_close(off['gx'], g @ w, np.float32, 512 + 256, g_mag @ np.abs(w), 'x.grad')


def test_a_large_linear_layer_matches_torch():
    """Linear forward and backward at a size whose products MKL takes."""
    import torch
    import ember
    rng = np.random.default_rng(3)
    x = rng.standard_normal((128, 512)).astype(np.float32)
    w = (rng.standard_normal((256, 512)) / 20).astype(np.float32)
    b = rng.standard_normal(256).astype(np.float32)
    out = {}
    for m in (ember, torch):
        xt = m.tensor(x, requires_grad=True)
        wt, bt = m.tensor(w, requires_grad=True), m.tensor(b, requires_grad=True)
        y = m.nn.functional.linear(xt, wt, bt)
        (y * y).sum().backward()
        out[m.__name__] = [t.detach().numpy() for t in (y, xt.grad, wt.grad, bt.grad)]
    for e, t in zip(out['ember'], out['torch']):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-4)
