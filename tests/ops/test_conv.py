"""Convolution, pooling and resampling ops against PyTorch: one table entry per configuration."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import Case, E, T, host, make_tests

# torch warns that 'same' padding with an even kernel copies the input; ember does the same
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def distinct(rng, shapes, dtype):
    """Inputs without ties (a shuffled ramp), so max pooling has one answer everywhere."""
    out = []
    for s in shapes:
        n = int(np.prod(s))
        out.append((rng.permutation(n).reshape(s) * (4.0 / max(n, 1)) - 2).astype(dtype))
    return out


def F(m):
    return m.nn.functional


def conv2d(**kw):
    return lambda m, x, w, b: F(m).conv2d(x, w, b, **kw)


def conv2d_nobias(**kw):
    return lambda m, x, w: F(m).conv2d(x, w, **kw)


def conv1d(**kw):
    return lambda m, x, w, b: F(m).conv1d(x, w, b, **kw)


def conv_t2d(**kw):
    return lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, **kw)


def conv_t1d(**kw):
    return lambda m, x, w, b: F(m).conv_transpose1d(x, w, b, **kw)


def pool(name, **kw):
    return lambda m, x: getattr(F(m), name)(x, **kw)


# (input, weight, bias) shapes; the first entry is small enough for finite differences
C2 = [((1, 1, 3, 3), (2, 1, 2, 2), (2,)), ((2, 3, 5, 6), (4, 3, 3, 2), (4,)),
      ((1, 2, 7, 5), (3, 2, 3, 3), (3,))]
C2_ODD = [C2[0], ((2, 3, 6, 8), (4, 3, 3, 2), (4,)), ((1, 2, 9, 7), (2, 2, 2, 3), (2,))]
C2_GROUPS = [((1, 2, 3, 3), (2, 1, 2, 2), (2,)), ((2, 6, 5, 5), (4, 3, 3, 3), (4,)),
             ((1, 4, 6, 7), (8, 2, 2, 3), (8,))]
C2_DEPTHWISE = [((1, 2, 3, 3), (2, 1, 2, 2), (2,)), ((2, 3, 6, 5), (6, 1, 3, 3), (6,))]
C1 = [((1, 1, 5), (2, 1, 3), (2,)), ((2, 3, 9), (4, 3, 3), (4,)), ((3, 2, 8), (2, 2, 4), (2,))]
C1_GROUPS = [((1, 2, 5), (2, 1, 2), (2,)), ((2, 4, 9), (6, 2, 3), (6,))]
# transposed: weight is (in, out / groups, k...)
T2 = [((1, 1, 2, 2), (1, 2, 2, 2), (2,)), ((2, 3, 4, 3), (3, 2, 3, 2), (2,)),
      ((1, 2, 5, 5), (2, 3, 3, 3), (3,))]
T2_GROUPS = [((1, 2, 2, 2), (2, 1, 2, 2), (2,)), ((2, 4, 3, 4), (4, 3, 3, 3), (6,))]
T1 = [((1, 1, 3), (1, 2, 2), (2,)), ((2, 3, 5), (3, 4, 3), (4,))]
P2 = [((1, 1, 4, 4),), ((2, 3, 5, 7),), ((3, 6, 5),)]      # batched, odd sizes, unbatched
P1 = [((1, 1, 6),), ((2, 3, 11),), ((3, 7),)]

CASES = [
    # conv2d
    Case('conv2d', conv2d(), C2),
    Case('conv2d_nobias', conv2d_nobias(), [s[:2] for s in C2] + [((0, 2, 4, 4), (3, 2, 3, 3))]),
    Case('conv2d_stride_pad', conv2d(stride=2, padding=1), C2_ODD),
    Case('conv2d_asym', conv2d(stride=(2, 3), padding=(0, 1)), C2_ODD),
    Case('conv2d_dilation', conv2d(dilation=2, padding=(1, 2)),
         [((1, 1, 3, 3), (1, 1, 2, 2), (1,))] + C2[1:]),
    Case('conv2d_groups', conv2d(groups=2, stride=(1, 2), padding=1), C2_GROUPS),
    Case('conv2d_depthwise', conv2d(groups=3, dilation=(1, 2), padding=(1, 2)),
         [((1, 3, 3, 3), (3, 1, 2, 2), (3,)), C2_DEPTHWISE[1]]),
    Case('conv2d_same', conv2d(padding='same'), C2[:1] + [((2, 3, 5, 6), (4, 3, 2, 4), (4,))]),
    Case('conv2d_same_dilated', conv2d(padding='same', dilation=(2, 1)), C2),
    Case('conv2d_valid', conv2d(padding='valid'), C2[:2]),
    Case('conv2d_unbatched', conv2d(padding=1), [((1, 3, 3), (2, 1, 2, 2), (2,)),
                                                  ((3, 4, 5), (2, 3, 3, 3), (2,))]),
    # conv1d
    Case('conv1d', conv1d(), C1),
    Case('conv1d_stride_pad_dilation', conv1d(stride=2, padding=2, dilation=2), C1),
    Case('conv1d_groups', conv1d(groups=2, padding=1), C1_GROUPS),
    Case('conv1d_same', conv1d(padding='same'), C1),
    Case('conv1d_nobias_unbatched', lambda m, x, w: F(m).conv1d(x, w, stride=2),
         [((1, 5), (2, 1, 2)), ((3, 8), (2, 3, 3))]),
    # transposed convolutions
    Case('conv_transpose2d', conv_t2d(), T2),
    Case('conv_transpose2d_stride', conv_t2d(stride=2, padding=1, output_padding=1), T2),
    Case('conv_transpose2d_asym', conv_t2d(stride=(3, 2), padding=(0, 1),
                                           output_padding=(2, 0)), T2),
    Case('conv_transpose2d_groups_dilation', conv_t2d(groups=2, dilation=2, stride=2,
                                                      output_padding=1), T2_GROUPS),
    Case('conv_transpose2d_nobias', lambda m, x, w: F(m).conv_transpose2d(x, w, stride=2),
         [s[:2] for s in T2]),
    Case('conv_transpose1d', conv_t1d(stride=2, padding=1, output_padding=1), T1),
    Case('conv_transpose1d_dilation', conv_t1d(dilation=2, padding=2), T1),
    # max pooling (inputs without ties)
    Case('max_pool2d', pool('max_pool2d', kernel_size=2), P2 + [((0, 2, 4, 4),)], make=distinct),
    Case('max_pool2d_indices', pool('max_pool2d', kernel_size=3, stride=2, padding=1,
                                    return_indices=True), P2, make=distinct),
    Case('max_pool2d_dilation_ceil', pool('max_pool2d', kernel_size=(2, 3), stride=(1, 2),
                                          dilation=2, ceil_mode=True, return_indices=True),
         [((1, 1, 5, 6),), ((2, 3, 6, 7),), ((2, 5, 8),)], make=distinct),
    Case('max_pool2d_ceil_pad', pool('max_pool2d', kernel_size=3, stride=2, padding=1,
                                     ceil_mode=True, return_indices=True), P2, make=distinct),
    Case('max_pool1d', pool('max_pool1d', kernel_size=3, stride=2, padding=1,
                            return_indices=True), P1, make=distinct),
    Case('max_pool1d_ceil_dilation', pool('max_pool1d', kernel_size=2, dilation=2,
                                          ceil_mode=True, return_indices=True), P1,
         make=distinct),
    # average pooling
    Case('avg_pool2d', pool('avg_pool2d', kernel_size=2), P2),
    Case('avg_pool2d_pad', pool('avg_pool2d', kernel_size=3, stride=2, padding=1), P2),
    Case('avg_pool2d_exclude_pad', pool('avg_pool2d', kernel_size=(3, 2), stride=(2, 1),
                                        padding=1, count_include_pad=False), P2),
    Case('avg_pool2d_ceil', pool('avg_pool2d', kernel_size=3, stride=2, padding=1,
                                 ceil_mode=True), P2),
    Case('avg_pool2d_ceil_exclude', pool('avg_pool2d', kernel_size=2, stride=2, ceil_mode=True,
                                         count_include_pad=False), P2),
    Case('avg_pool2d_divisor', pool('avg_pool2d', kernel_size=2, stride=1,
                                    divisor_override=3), P2),
    Case('avg_pool1d', pool('avg_pool1d', kernel_size=3, stride=2, padding=1,
                            ceil_mode=True, count_include_pad=False), P1),
    Case('avg_pool1d_default', pool('avg_pool1d', kernel_size=2), P1),
    # adaptive average pooling
    Case('adaptive_avg_pool2d', pool('adaptive_avg_pool2d', output_size=2), P2),
    Case('adaptive_avg_pool2d_uneven', pool('adaptive_avg_pool2d', output_size=(3, 4)),
         [((1, 1, 4, 5),), ((2, 3, 5, 7),), ((3, 7, 3),)]),
    Case('adaptive_avg_pool2d_none', pool('adaptive_avg_pool2d', output_size=(None, 1)), P2),
    Case('adaptive_avg_pool1d', pool('adaptive_avg_pool1d', output_size=4), P1),
    # interpolation
    Case('interpolate_nearest_size', pool('interpolate', size=(5, 3)), P2[:2]),
    Case('interpolate_nearest_scale', pool('interpolate', scale_factor=2), P2[:2]),
    Case('interpolate_nearest_frac', pool('interpolate', scale_factor=(1.5, 0.7)), P2[:2]),
    Case('interpolate_nearest_1d', pool('interpolate', size=7), P1[:2]),
    Case('interpolate_bilinear', pool('interpolate', size=(6, 5), mode='bilinear',
                                      align_corners=False), P2[:2]),
    Case('interpolate_bilinear_corners', pool('interpolate', size=(3, 9), mode='bilinear',
                                              align_corners=True), P2[:2]),
    Case('interpolate_bilinear_scale', pool('interpolate', scale_factor=(2, 0.6),
                                            mode='bilinear'), P2[:2]),
    Case('interpolate_linear', pool('interpolate', scale_factor=2.5, mode='linear'), P1[:2]),
    Case('interpolate_linear_corners', pool('interpolate', size=4, mode='linear',
                                            align_corners=True), P1[:2]),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


def test_gradgradcheck_conv2d():
    """Second order by finite differences, through ConvTranspose and ConvWeight both."""
    rng = np.random.default_rng(0)
    x, w, b = (ember.tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((1, 2, 3, 3), (2, 1, 2, 2), (2,)))
    assert ember.autograd.gradgradcheck(
        lambda x, w, b: ember.nn.functional.conv2d(x, w, b, stride=2, padding=1, groups=2),
        (x, w, b))


def test_max_pool_ties_take_first():
    # NOTE: like torch's CPU kernel, a tie goes to the first maximum in window order
    x = np.array([[[[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [2.0, 0.0, 2.0]]]])
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ey, ei), (ty, ti) = (F(m).max_pool2d(v, 2, stride=1, return_indices=True)
                          for m, v in ((ember, e), (torch, t)))
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())
    ey.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize('kw', [dict(kernel_size=2), dict(kernel_size=2, stride=1),
                                dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(2, 3), stride=(1, 2), padding=1,
                                     ceil_mode=True),
                                dict(kernel_size=3, padding=1, stride=1, dilation=2)])
def test_max_pool_nan_and_inf_as_in_torch(kw):
    # NaN is the maximum of any window holding one, and the last NaN its index (torch's
    # kernels: `val > max || isnan(val)`); a window of -inf takes its first position inside
    # the input, never the padding
    x = np.array([[[[1.0, np.nan, 0.0, 5.0], [3.0, 2.0, np.nan, np.nan],
                    [-np.inf, np.nan, 7.0, 1.0], [np.nan, 4.0, -np.inf, -np.inf]]],
                  [[[-np.inf] * 4] * 3 + [[-np.inf, -np.inf, -np.inf, 2.0]]]],
                 dtype=np.float32)
    e, t = E(x).requires_grad_(), T(x, requires_grad=True)
    (ey, ei), (ty, ti) = (F(m).max_pool2d(v, return_indices=True, **kw)
                          for m, v in ((ember, e), (torch, t)))
    np.testing.assert_array_equal(host(ey), host(ty))
    np.testing.assert_array_equal(host(ei), host(ti))
    ey2, ty2 = F(ember).max_pool2d(e, **kw), F(torch).max_pool2d(t, **kw)
    np.testing.assert_array_equal(host(ey2), host(ty2))
    ey2.sum().backward()
    ty2.sum().backward()
    np.testing.assert_array_equal(host(e.grad), host(t.grad))


def test_conv2d_large_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 20, 18)).astype(np.float32)
    w = rng.standard_normal((16, 4, 3, 3)).astype(np.float32)
    e = F(ember).conv2d(ember.tensor(x), ember.tensor(w), stride=2, padding=1, groups=2)
    t = F(torch).conv2d(torch.tensor(x), torch.tensor(w), stride=2, padding=1, groups=2)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- errors

def z(*shape, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


ERRORS = [
    ('channels', lambda m, x, w: F(m).conv2d(x, w), (z(1, 3, 5, 5), z(4, 2, 3, 3)),
     ['conv2d', '[4, 2, 3, 3]', '[1, 3, 5, 5]', 'with 3 channels']),
    ('groups_channels', lambda m, x, w: F(m).conv2d(x, w, groups=2),
     (z(1, 4, 5, 5), z(3, 2, 3, 3)), ['conv2d', 'groups=2']),
    ('kernel_too_big', lambda m, x, w: F(m).conv2d(x, w), (z(1, 1, 2, 2), z(1, 1, 3, 3)),
     ['conv2d', "Kernel size can't be greater", '[1, 1, 2, 2]']),
    ('conv1d_kernel_too_big', lambda m, x, w: F(m).conv1d(x, w, dilation=3),
     (z(1, 1, 5), z(1, 1, 3)), ['conv1d', '(7)']),
    ('same_strided', lambda m, x, w: F(m).conv2d(x, w, stride=2, padding='same'),
     (z(1, 1, 5, 5), z(1, 1, 3, 3)), ['conv2d', "padding='same'", 'strided']),
    ('bad_padding_string', lambda m, x, w: F(m).conv2d(x, w, padding='full'),
     (z(1, 1, 5, 5), z(1, 1, 3, 3)), ['conv2d', "'full'", "'same'"]),
    ('weight_dims', lambda m, x, w: F(m).conv2d(x, w), (z(1, 1, 5, 5), z(1, 3, 3)),
     ['conv2d', '4-D weight', '[1, 3, 3]']),
    ('input_dims', lambda m, x, w: F(m).conv2d(x, w), (z(5, 5), z(1, 1, 3, 3)),
     ['conv2d', '[5, 5]']),
    ('bias_shape', lambda m, x, w, b: F(m).conv2d(x, w, b), (z(1, 1, 5, 5), z(2, 1, 3, 3),
                                                             z(3)), ['conv2d', '[2]', '[3]']),
    ('dtype_mismatch', lambda m, x, w: F(m).conv2d(x, w),
     (z(1, 1, 5, 5), z(1, 1, 3, 3, dtype=np.float64)), ['conv2d', 'float32', 'float64']),
    ('transpose_channels', lambda m, x, w: F(m).conv_transpose2d(x, w),
     (z(1, 3, 4, 4), z(2, 2, 3, 3)), ['conv_transpose2d', '[2, 2, 3, 3]', '[1, 3, 4, 4]']),
    ('transpose_output_padding', lambda m, x, w: F(m).conv_transpose2d(x, w, output_padding=1),
     (z(1, 1, 4, 4), z(1, 1, 3, 3)), ['conv_transpose2d', 'output padding', 'stride']),
    ('pool_pad_too_big', lambda m, x: F(m).max_pool2d(x, 3, padding=2), (z(1, 1, 6, 6),),
     ['max_pool2d', 'pad should be at most half']),
    ('pool_output_too_small', lambda m, x: F(m).max_pool2d(x, 3), (z(1, 1, 2, 2),),
     ['max_pool2d', 'too small', '[1, 1, 2, 2]']),
    ('avg_pool_pad_too_big', lambda m, x: F(m).avg_pool2d(x, 2, padding=2), (z(1, 1, 6, 6),),
     ['avg_pool2d', 'pad should be at most half']),
    ('interpolate_both', lambda m, x: F(m).interpolate(x, size=4, scale_factor=2),
     (z(1, 1, 3, 3),), ['interpolate', 'size', 'scale_factor']),
    ('interpolate_bilinear_3d', lambda m, x: F(m).interpolate(x, size=4, mode='bilinear'),
     (z(1, 1, 3),), ['interpolate', 'bilinear', '4-D']),
    ('interpolate_nearest_corners',
     lambda m, x: F(m).interpolate(x, size=4, align_corners=True), (z(1, 1, 3, 3),),
     ['interpolate', 'align_corners']),
]


@pytest.mark.parametrize('fn,arrs,words', [pytest.param(*e[1:], id=e[0]) for e in ERRORS])
def test_errors(fn, arrs, words):
    with pytest.raises(Exception) as t_err:
        fn(torch, *[torch.tensor(a) for a in arrs])
    with pytest.raises(Exception) as e_err:
        fn(ember, *[ember.tensor(a) for a in arrs])
    assert isinstance(e_err.value, type(t_err.value)), \
        f'ember raised {type(e_err.value).__name__}, torch {type(t_err.value).__name__}'
    for w in words:
        assert w in str(e_err.value), f'{w!r} not in {str(e_err.value)!r}'


def test_max_pool_second_order_by_finite_differences():
    rng = np.random.default_rng(7)
    x = ember.tensor(rng.permutation(2 * 36).reshape(1, 2, 6, 6) / 10.0, requires_grad=True)
    pool = lambda t: ember.nn.functional.max_pool2d(t * t, 2, stride=2, padding=1)  # noqa: E731
    assert ember.autograd.gradcheck(pool, (x,))
    assert ember.autograd.gradgradcheck(pool, (x,))
