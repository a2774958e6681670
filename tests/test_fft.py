"""ember.fft against torch.fft: every transform in the op table (forward, gradients, second
order, complex gradcheck) over sizes, dims and norms; frequencies, shifts and errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import ember
from tests.helpers import NC, Case, E, T, host, make_tests

C = ('complex64', 'complex128')
# (no empty batch: torch's MKL FFT refuses (0, 3); ember's answer is tested below)
ONE = [((3, 4),), ((2, 3, 4),), (NC((4, 3)),), ((1, 5),)]   # along the last dim
TWO = [((3, 4),), ((2, 3, 4),), (NC((4, 3)),), ((2, 1),)]
NORMS = (None, 'ortho', 'forward')


def fn(name, **kw):
    return lambda m, a: getattr(m.fft, name)(a, **kw)


def cases(name, shapes, dtypes, variants):
    """One case per keyword set, named after it."""
    return [Case(f'{name}[{",".join(f"{k}={v}" for k, v in kw.items())}]', fn(name, **kw),
                 shapes, dtypes=dtypes) for kw in variants]


NORM_VARIANTS = [dict(norm=n) for n in NORMS]
CASES = (
    cases('fft', ONE, C, NORM_VARIANTS + [dict(n=6), dict(n=3), dict(dim=0, n=2)])
    + cases('fft', ONE, ('float32', 'float64'), [dict(), dict(n=5, norm='ortho')])
    + cases('ifft', ONE, C, NORM_VARIANTS + [dict(n=7), dict(dim=-2)])
    + cases('ifft', ONE[:2], ('float32', 'float64'), [dict()])
    + cases('fft2', TWO, C, NORM_VARIANTS + [dict(s=(2, 5)), dict(s=(-1, 3), dim=(0, -1))])
    + cases('ifft2', TWO, C, [dict(norm='ortho'), dict(s=(5, 2))])
    + cases('fftn', TWO, C, NORM_VARIANTS + [dict(dim=(0,)), dict(s=(3, 2))])
    + cases('fftn', TWO[:2], ('float32', 'float64'), [dict()])
    + cases('ifftn', TWO, C, [dict(), dict(s=(2, 6), norm='forward')])
    + cases('rfft', ONE, ('float32', 'float64'), NORM_VARIANTS + [dict(n=7), dict(n=2),
                                                                  dict(dim=0)])
    + cases('irfft', ONE, C, NORM_VARIANTS + [dict(n=5), dict(n=8), dict(n=3)])
    + cases('irfft', TWO[:3], C, [dict(dim=0, n=4)])
    + cases('rfft2', TWO, ('float32', 'float64'), NORM_VARIANTS + [dict(s=(3, 5))])
    + cases('irfft2', TWO[:3], C, NORM_VARIANTS + [dict(s=(3, 5)), dict(s=(2, 4))])
    + cases('rfftn', TWO, ('float32', 'float64'), [dict(), dict(dim=(0,), norm='ortho')])
    + cases('irfftn', TWO[:3], C, [dict(), dict(s=(4, 3), norm='forward')])
    + cases('hfft', ONE, C, NORM_VARIANTS + [dict(n=5)])
    + cases('ihfft', ONE, ('float32', 'float64'), NORM_VARIANTS + [dict(n=5)])
    + cases('hfft2', TWO[:3], C, [dict(), dict(s=(2, 5), norm='ortho')])
    + cases('ihfft2', TWO, ('float32', 'float64'), [dict(), dict(norm='forward')])
    + cases('hfftn', TWO[:3], C, [dict(), dict(dim=(0,))])
    + cases('ihfftn', TWO, ('float32', 'float64'), [dict()])
    + cases('fftshift', ONE, C, [dict(), dict(dim=-1)])
    + cases('ifftshift', ONE, ('float32', 'float64'), [dict(), dict(dim=(0,))])
    + [Case('abs_of_fft', lambda m, a: m.fft.fft(a).abs(), ONE[:3]),
       Case('power_spectrum', lambda m, a: (m.fft.rfft(a, norm='ortho').abs() ** 2).sum(),
            ONE),
       Case('filter', lambda m, a, b: m.fft.irfft(m.fft.rfft(a) * m.fft.rfft(b), n=4),
            [((3, 4), (3, 4)), ((3, 4), (4,))]),
       Case('real_of_ifft', lambda m, a: m.fft.ifft(a * a).real, ONE[:3], dtypes=C),
       # the short-time transform (ember.stft, Tensor.stft): signal and window gradients
       Case('stft', lambda m, a, w: m.stft(a, 8, window=w, return_complex=True),
            [((20,), (8,)), ((2, 20), (8,))]),
       Case('stft_hop_win', lambda m, a, w: a.stft(8, hop_length=3, win_length=6, window=w,
                                                   return_complex=True),
            [((2, 20), (6,))]),
       Case('stft_options', lambda m, a, w: m.stft(
           a, 7, window=w, center=False, onesided=False, normalized=True,
           return_complex=True), [((2, 20), (7,))]),
       Case('stft_constant_pad', lambda m, a, w: m.stft(a, 6, 2, window=w, pad_mode='constant',
                                                        return_complex=False), [((15,), (6,))])])

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


def test_integer_input_gives_the_default_complex():
    assert ember.fft.fft(ember.arange(4)).dtype is ember.complex64
    assert ember.fft.rfft(ember.arange(4)).dtype is ember.complex64
    assert ember.fft.irfft(ember.arange(4)).dtype is ember.float32
    assert str(ember.fft.fft(ember.arange(4))) == str(torch.fft.fft(torch.arange(4)))


@pytest.mark.parametrize('n', [1, 2, 5, 8])
@pytest.mark.parametrize('d', [1.0, 0.25])
def test_frequencies_match_torch(n, d):
    for name in ('fftfreq', 'rfftfreq'):
        e, t = getattr(ember.fft, name)(n, d), getattr(torch.fft, name)(n, d)
        assert e.dtype is ember.float32
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-7)
    e = ember.fft.fftfreq(n, d, dtype=ember.float64, requires_grad=True)
    assert e.dtype is ember.float64 and e.requires_grad


@pytest.mark.parametrize('shape,dim', [((5,), None), ((4, 5), None), ((4, 5), 1),
                                       ((4, 5), (0,)), ((2, 3, 4), (-1, 0))])
def test_shifts_match_torch(shape, dim):
    x = np.arange(int(np.prod(shape))).reshape(shape)
    for name in ('fftshift', 'ifftshift'):
        e = getattr(ember.fft, name)(E(x), dim)
        np.testing.assert_array_equal(host(e), getattr(torch.fft, name)(T(x), dim).numpy())
        back = ember.fft.ifftshift(ember.fft.fftshift(E(x), dim), dim)
        np.testing.assert_array_equal(host(back), x)


@pytest.mark.parametrize('call,match', [
    (lambda m: m.fft.fft(m.ones(4), norm='x'), 'Invalid normalization mode: "x"'),
    (lambda m: m.fft.fft(m.ones(4), n=0), r'Invalid number of data points \(0\)'),
    (lambda m: m.fft.irfft(m.ones(1)), r'Invalid number of data points \(0\)'),
    (lambda m: m.fft.fft(m.ones(4, dtype=m.float16)), 'Unsupported dtype'),
    (lambda m: m.fft.rfft(m.ones(4, dtype=m.complex64)), 'rfft expects a real input tensor'),
    (lambda m: m.fft.ihfft(m.ones(4, dtype=m.complex64)), 'expects a real input tensor'),
    (lambda m: m.fft.fftn(m.ones(4, 4), dim=(0, 0)), 'FFT dims must be unique'),
    (lambda m: m.fft.fftn(m.ones(4, 4), s=(2,), dim=(0, 1)), 'must have the same length'),
    (lambda m: m.fft.fft(m.ones(4, 4), dim=2), 'Dimension out of range'),
    (lambda m: m.fft.fft(m.ones(())), 'Dimension specified as -1 but tensor has no dim'),
])
def test_bad_input_raises_as_torch(call, match):
    with pytest.raises((RuntimeError, IndexError)) as t:
        call(torch)
    with pytest.raises(t.type, match=match):
        call(ember)


def test_errors_name_the_op():
    with pytest.raises(RuntimeError, match=r'^rfft2: Invalid normalization'):
        ember.fft.rfft2(ember.ones(2, 2), norm='both')
    with pytest.raises(RuntimeError, match=r'^hfft: Invalid number of data points \(-3\)'):
        ember.fft.hfft(ember.ones(3), n=-3)
    with pytest.raises(TypeError, match=r'^fft: expected a Tensor, got list'):
        ember.fft.fft([1.0, 2.0])


def test_round_trips_and_parseval():
    rng = np.random.default_rng(0)
    x = E(rng.standard_normal((3, 8)))
    for fwd, inv, kw in (('fft', 'ifft', {}), ('rfft', 'irfft', {'n': 8}),
                         ('fft2', 'ifft2', {}), ('rfftn', 'irfftn', {'s': (3, 8)}),
                         ('ihfft', 'hfft', {'n': 8})):
        for norm in NORMS:
            y = getattr(ember.fft, inv)(getattr(ember.fft, fwd)(x, norm=norm), norm=norm, **kw)
            np.testing.assert_allclose(np.real(host(y)), host(x), atol=1e-12)
    energy = (ember.fft.fft(x, norm='ortho').abs() ** 2).sum()
    np.testing.assert_allclose(energy.item(), (x ** 2).sum().item(), rtol=1e-12)


def test_an_empty_batch_gives_an_empty_result():
    # NOTE: torch's CPU FFT (MKL) refuses a batch of 0 signals; ember answers with none
    z = ember.zeros(0, 4, dtype=ember.complex64, requires_grad=True)
    for y in (ember.fft.fft(z), ember.fft.ifft(z, n=6), ember.fft.irfft(z),
              ember.fft.rfft(ember.zeros(0, 4))):
        assert y.shape[0] == 0
    ember.fft.fft(z).abs().sum().backward()
    assert z.grad.shape == (0, 4)


ONE_D = ['fft', 'ifft', 'rfft', 'irfft', 'hfft', 'ihfft']


@settings(deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), st.sampled_from(ONE_D),
       st.one_of(st.none(), st.integers(1, 9)), st.sampled_from(NORMS), st.integers(0, 5),
       st.integers(0, 2 ** 16))
def test_one_dimensional_transforms_match_torch(shape, name, n, norm, axis, seed):
    """Any shape, dim, n and norm: values and the gradient of a random real loss."""
    rng = np.random.default_rng(seed)
    dim = axis % len(shape) - len(shape)
    real_input = name in ('rfft', 'ihfft')
    a = rng.standard_normal(shape) + (0 if real_input else 1j * rng.standard_normal(shape))
    if n is None and name in ('irfft', 'hfft') and shape[dim] == 1:
        n = 2   # (the default length 2 * (1 - 1) is refused by both)
    res = []
    for m in (ember, torch):
        x = (E if m is ember else T)(a)
        x.requires_grad_()
        y = getattr(m.fft, name)(x, n=n, dim=dim, norm=norm)
        w = (E if m is ember else T)(np.random.default_rng(seed + 1).standard_normal(
            tuple(y.shape)))
        loss = ((y.real if y.is_complex() else y) * w).sum() + (y.abs() * w).sum()
        loss.backward()
        res.append((host(y), host(x.grad)))
    (ey, eg), (ty, tg) = res
    np.testing.assert_allclose(ey, ty, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(eg, tg, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize('call,match', [
    (lambda m: m.stft(m.ones(20), 8), 'requires the return_complex parameter'),
    (lambda m: m.stft(m.ones(20), 24, center=False, return_complex=True), 'n_fft'),
    (lambda m: m.stft(m.ones(20), 40, return_complex=True), 'too large for mode .reflect'),
    (lambda m: m.stft(m.ones(20), 8, win_length=9, return_complex=True), 'win_length'),
    (lambda m: m.stft(m.ones(20), 8, window=m.ones(7), return_complex=True), 'window'),
    (lambda m: m.stft(m.ones(2, 2, 20), 8, return_complex=True), '1-D .* or 2-D'),
])
def test_stft_bad_input_raises_as_torch(call, match):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match=match):
        call(ember)
