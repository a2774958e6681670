"""Complex dtypes against PyTorch: names, promotion, creation, printing, conversion, views,
the errors of ops that take no complex input, and autograd's rules for complex results (the
ops themselves are in tests/ops/test_complex.py)."""
import io
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import E, T, host


def test_names_and_aliases_match_torch():
    for name in ('complex64', 'complex128', 'cfloat', 'cdouble'):
        assert getattr(ember, name).name == str(getattr(torch, name))[6:]
    assert ember.complex64.is_complex and not ember.complex64.is_floating_point
    assert not ember.float32.is_complex
    assert ember.complex64.itemsize == 8 and ember.complex128.itemsize == 16
    assert ember.complex128.to_real() is ember.float64
    for dt in ('complex64', 'complex128'):   # finfo of a complex dtype: its parts', as torch
        e, t = ember.finfo(getattr(ember, dt)), torch.finfo(getattr(torch, dt))
        assert (e.dtype, e.bits, e.eps) == (str(t.dtype), t.bits, t.eps)
    assert ember.tensor([1j]).is_complex() and not ember.ones(1).is_complex()
    assert ember.is_complex(ember.tensor([1j])) and not ember.is_complex(ember.ones(1))


SCALARS = [1j, 2.5, 3, True]
DTYPES = ['bool', 'int64', 'float16', 'float32', 'float64', 'complex64', 'complex128']


@pytest.mark.parametrize('a', DTYPES)
@pytest.mark.parametrize('b', DTYPES)
def test_promotion_matches_torch(a, b):
    for shape in ((2,), ()):   # b with dimensions, and 0-d
        ea, ta = E(np.ones(2, a)), T(np.ones(2, a))
        eb, tb = E(np.ones(shape, b)), T(np.ones(shape, b))
        want = torch.result_type(ta, tb)
        if want is not torch.complex32:   # (ComplexHalf, which ember lacks: tested below)
            assert ember.result_type(ea, eb).name == str(want)[6:], (a, b)
    for s in SCALARS:
        want = torch.result_type(T(np.ones(2, a)), s)
        if want is torch.complex32:
            continue
        assert ember.result_type(E(np.ones(2, a)), s).name == str(want)[6:], (a, s)


def test_float16_with_complex_gives_complex64():
    # NOTE: torch gives complex32 (ComplexHalf), which ember has not: complex64 instead
    assert ember.result_type(ember.ones(2, dtype=ember.float16), 1j) is ember.complex64
    assert (ember.ones(2, dtype=ember.float16) * ember.tensor(1j)).dtype is ember.complex64


def test_python_complex_follows_the_default_dtype():
    assert ember.tensor([1 + 2j]).dtype is ember.complex64
    assert (ember.ones(2, dtype=ember.float64) + 1j).dtype is ember.complex128
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.tensor([1 + 2j]).dtype is ember.complex128
        assert str(ember.tensor([1j])) == 'tensor([0.+1.j])'
    finally:
        ember.set_default_dtype(ember.float32)


@pytest.mark.parametrize('make', [
    lambda m, dt: m.zeros(2, 3, dtype=dt), lambda m, dt: m.ones(2, dtype=dt),
    lambda m, dt: m.empty(0, 2, dtype=dt), lambda m, dt: m.full((2,), 1 - 2j, dtype=dt),
    lambda m, dt: m.tensor([1 + 2j, -3.5], dtype=dt), lambda m, dt: m.eye(2, dtype=dt),
    lambda m, dt: m.zeros_like(m.ones(2), dtype=dt)])
@pytest.mark.parametrize('dtype', ['complex64', 'complex128'])
def test_creation_and_printing_match_torch(make, dtype):
    e, t = make(ember, getattr(ember, dtype)), make(torch, getattr(torch, dtype))
    assert e.dtype.name == dtype
    np.testing.assert_array_equal(host(e), host(t), strict=True)
    assert repr(e).replace('ember.', '') == repr(t).replace('torch.', '')


@pytest.mark.parametrize('values', [[1 + 2j, 3.5 - 1j], [1e10 + 1j], [1e-4 + 1j], [0j],
                                    [float('nan') + 1j, complex(0, float('inf'))],
                                    [[-1.5 - 2.25j, 3 + 0j], [0.125j, -7 + 1j]], 2 - 3j])
def test_printing_matches_torch(values):
    for dt in ('complex64', 'complex128'):
        e = repr(ember.tensor(values, dtype=getattr(ember, dt))).replace('ember.', '')
        assert e == repr(torch.tensor(values, dtype=getattr(torch, dt))).replace('torch.', '')


def test_full_infers_complex_and_rand_draws_both_parts():
    assert ember.full((2,), 1j).dtype is ember.complex64 is ember.tensor(1j).dtype
    ember.manual_seed(0)
    z = ember.randn(20000, dtype=ember.complex64)
    assert z.dtype is ember.complex64
    assert abs(float((z.abs() ** 2).mean()) - 1) < 0.05       # as torch: E|z|^2 = 1
    assert abs(float(z.real.std()) - 0.5 ** 0.5) < 0.02
    u = ember.rand(1000, dtype=ember.complex128)
    assert u.dtype is ember.complex128 and 0 <= float(u.imag.min()) and float(u.real.max()) < 1


def test_item_numpy_tolist_and_casts():
    z = ember.tensor([1 + 2j])
    assert z.item() == 1 + 2j and isinstance(z.item(), complex)
    assert z.numpy().dtype == np.complex64 and z.tolist() == [1 + 2j]
    assert ember.tensor([1, 2]).to(ember.complex64).tolist() == [1, 2]
    with pytest.warns(UserWarning, match='discards the imaginary part'):
        assert z.to(ember.float32).tolist() == [1.0]   # as torch: the real part, a warning
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert ember.tensor([0j, 1j]).bool().tolist() == [False, True]   # nonzero, as torch
    with pytest.warns(UserWarning, match='discards the imaginary part'):
        assert ember.tensor([1.5 + 2j]).long().tolist() == [1]


def test_save_and_load():
    buf = io.BytesIO()
    ember.save({'z': ember.tensor([1 + 2j, -3j])}, buf)
    buf.seek(0)
    out = ember.load(buf)['z']
    assert out.dtype is ember.complex64 and out.tolist() == [1 + 2j, -3j]


def test_real_and_imag_are_views_written_through():
    z = ember.tensor([1 + 2j, 3 - 4j])
    z.real[0] = 9
    z.imag.mul_(2)
    assert z.tolist() == [9 + 4j, 3 - 8j]
    r = ember.view_as_real(z)
    r[1, 0] = 0
    assert z.tolist() == [9 + 4j, -8j]
    c = ember.view_as_complex(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert c.tolist() == [1 + 2j, 3 + 4j]
    x = ember.ones(2)
    assert x.real is x and x.conj() is x
    for m in (ember, torch):   # assigning a part copies into it, as torch
        w = m.tensor([1 + 2j, 3 - 4j])
        w.real = m.tensor([5.0, 6.0])
        w.imag = 0
        assert w.tolist() == [5, 6]


def test_writing_through_a_part_keeps_gradients_right():
    for m in (ember, torch):
        a = m.tensor([1 + 2j, 3 - 4j], requires_grad=True)
        w = m.tensor([0.5, -2.0], requires_grad=True)
        z = a * 1
        z.real.mul_(w)        # z = w Re(a) + i Im(a)
        z.imag.add_(w * w)
        (z * m.tensor([1 - 1j, 2 + 1j])).abs().sum().backward()
        if m is ember:
            got = host(a.grad), host(w.grad)
        else:
            np.testing.assert_allclose(got[0], host(a.grad), rtol=1e-6)
            np.testing.assert_allclose(got[1], host(w.grad), rtol=1e-6)


def test_backward_of_a_complex_scalar_raises_as_torch():
    z = ember.tensor([1 + 2j], requires_grad=True)
    with pytest.raises(RuntimeError, match='real scalar outputs but got ember.complex64'):
        (z * z).sum().backward()
    (z * z).sum().backward(ember.tensor(1 + 0j))   # a given gradient is fine, as torch
    assert z.grad.tolist() == [2 - 4j]


def test_real_inputs_of_complex_results_get_real_gradients():
    for m in (ember, torch):
        x = m.tensor([0.5, -1.5], requires_grad=True)
        (m.exp(x * (1 + 2j)) * (2 - 1j)).real.sum().backward()
        if m is ember:
            got = x.grad
        else:
            assert got.dtype is ember.float32
            np.testing.assert_allclose(host(got), host(x.grad), rtol=1e-6)


@pytest.mark.parametrize('fn', [
    lambda z: z < z, lambda z: z >= 1, lambda z: z.relu(), lambda z: z.max(),
    lambda z: z.sort(), lambda z: z.floor(), lambda z: z.clamp(0, 1), lambda z: z.erf(),
    lambda z: z.sign(), lambda z: z.argmax(), lambda z: z.softmax(0), lambda z: z.atan2(z)])
def test_ops_without_complex_raise_as_torch(fn):
    with pytest.raises((RuntimeError, NotImplementedError)):
        fn(T([1 + 2j, 3 - 1j]))
    z = ember.tensor([1 + 2j, 3 - 1j])
    with pytest.raises(RuntimeError, match='complex'):
        fn(z)
    assert z.tolist() == [1 + 2j, 3 - 1j]


# NOTE: torch takes these complex inputs; ember refuses them with a clear error
# (docs/differences.md): its complex ops are those the FFT and eig need, and arithmetic
@pytest.mark.parametrize('fn', [lambda z: z.sigmoid(), lambda z: z.cumsum(0),
                                lambda z: z ** z, lambda z: z.prod(), lambda z: z.log2()])
def test_ops_ember_keeps_real_raise_clearly(fn):
    fn(T([1 + 2j, 3 - 1j]))
    z = ember.tensor([1 + 2j, 3 - 1j])
    with pytest.raises(RuntimeError, match='complex'):
        fn(z)
    assert z.tolist() == [1 + 2j, 3 - 1j]


def test_eq_and_ne_take_complex_as_torch():
    z = ember.tensor([1 + 2j, 3 - 1j])
    assert (z == ember.tensor([1 + 2j, 3 + 1j])).tolist() == [True, False]
    assert (z != 1 + 2j).tolist() == [False, True]


def test_bad_inputs_name_the_op():
    with pytest.raises(RuntimeError, match='imag is not implemented .* ember.float32'):
        ember.ones(2).imag
    with pytest.raises(RuntimeError, match='view_as_real: expected a complex tensor'):
        ember.view_as_real(ember.ones(2))
    with pytest.raises(RuntimeError, match='last dimension of size 2'):
        ember.view_as_complex(ember.ones(3))
    with pytest.raises(RuntimeError, match='stride 1'):
        ember.view_as_complex(ember.ones(2, 2).T)
    with pytest.raises(RuntimeError, match='only float32 and float64'):
        ember.view_as_complex(ember.ones(2, 2, dtype=ember.float16))
    with pytest.raises(RuntimeError, match='complex: expected both .* got ember.float32 and'):
        ember.complex(ember.ones(2), ember.ones(2, dtype=ember.float64))
    with pytest.raises(RuntimeError, match='only Tensors of floating point and complex'):
        ember.tensor([1, 2], requires_grad=True)


def test_gradcheck_counts_both_parts():
    z = ember.tensor([1 + 2j, 0.5 - 1j], dtype=ember.complex128, requires_grad=True)
    w = ember.tensor([0.3, -0.7], dtype=ember.float64, requires_grad=True)

    def f(z, w):
        return (z * z / (w + 2) + z.conj() * z.abs() + ember.angle(z) * w).exp()
    assert ember.autograd.gradcheck(f, (z, w))
    assert ember.autograd.gradgradcheck(f, (z, w))

    class NoConj(ember.autograd.Function):   # the derivative, not its conjugate: wrong
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z * z

        @staticmethod
        def backward(ctx, g):
            (z,) = ctx.saved_tensors
            return g * 2 * z
    assert not ember.autograd.gradcheck(NoConj.apply, (z,), raise_exception=False)
