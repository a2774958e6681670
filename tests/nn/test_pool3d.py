"""3-D pooling and transposed convolution (ember/nn/_volumetric.py) against torch: a table of
functional cases (forward, gradients, second order, gradcheck), a table of layers (state,
repr, two training steps and one eval step), then indices and errors."""
import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.helpers import Case, host, make_tests
from tests.nn.test_layers import load_from_torch, make_inputs, on_device, run_both


def fn(name, **kw):
    """``m.nn.functional.<name>(*xs, **kw)`` for either framework."""
    return lambda m, *xs: getattr(m.nn.functional, name)(*xs, **kw)


X = [((2, 2, 5, 4, 6),), ((2, 4, 5, 3),)]   # batched and unbatched
CASES = [
    Case('max_pool3d', fn('max_pool3d', kernel_size=2), X),
    Case('max_pool3d_all', fn('max_pool3d', kernel_size=(3, 2, 2), stride=(2, 1, 2),
                              padding=(1, 1, 0), dilation=(1, 1, 2), ceil_mode=True),
         [((1, 2, 6, 5, 7),)]),
    Case('max_pool3d_indices', lambda m, x: m.nn.functional.max_pool3d(
        x, 2, stride=1, padding=1, return_indices=True), [((1, 2, 3, 4, 3),)]),
    Case('avg_pool3d', fn('avg_pool3d', kernel_size=2), X),
    Case('avg_pool3d_all', fn('avg_pool3d', kernel_size=(3, 2, 3), stride=(2, 1, 2),
                              padding=(1, 1, 1), ceil_mode=True), [((1, 2, 6, 5, 7),)]),
    Case('avg_pool3d_no_pad', fn('avg_pool3d', kernel_size=3, stride=2, padding=1,
                                 count_include_pad=False), [((1, 2, 5, 4, 6),)]),
    Case('avg_pool3d_divisor', fn('avg_pool3d', kernel_size=2, divisor_override=3),
         [((1, 2, 4, 4, 5),)]),
    Case('adaptive_avg_pool3d', fn('adaptive_avg_pool3d', output_size=(2, 3, None)), X),
    Case('adaptive_max_pool3d', fn('adaptive_max_pool3d', output_size=(3, 2, 4),
                                   return_indices=True), X),
    Case('conv_transpose3d', lambda m, x, w, b: m.nn.functional.conv_transpose3d(x, w, b),
         [((2, 3, 3, 4, 3), (3, 2, 2, 2, 2), (2,)), ((2, 3, 2, 3), (2, 2, 1, 2, 2), (2,))]),
    Case('conv_transpose3d_all', lambda m, x, w: m.nn.functional.conv_transpose3d(
        x, w, stride=(2, 1, 3), padding=(1, 0, 1), output_padding=(1, 0, 2), groups=2,
        dilation=(1, 2, 1)), [((1, 4, 3, 3, 2), (4, 1, 3, 2, 2))]),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


LAYERS = [
    ('maxpool3d', lambda m: m.MaxPool3d(2, stride=1), [(2, 2, 3, 4, 3)]),
    ('avgpool3d', lambda m: m.AvgPool3d((2, 1, 2), padding=(1, 0, 0)), [(2, 2, 3, 4, 3)]),
    ('adaptive_avgpool3d', lambda m: m.AdaptiveAvgPool3d(2), [(2, 3, 5, 4, 3)]),
    ('adaptive_maxpool3d', lambda m: m.AdaptiveMaxPool3d((2, None, 1)), [(3, 5, 4, 3)]),
    ('conv_transpose3d', lambda m: m.ConvTranspose3d(2, 4, 3, stride=2, padding=1),
     [(2, 2, 3, 2, 3)]),
    ('conv_transpose3d_groups', lambda m: m.ConvTranspose3d(4, 2, (2, 1, 2), groups=2,
                                                            bias=False), [(4, 2, 3, 2)]),
]


@pytest.mark.parametrize('name,factory,specs', LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_matches_torch(name, factory, specs):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    t_mod, e_mod = factory(torch.nn), factory(nn)
    assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    load_from_torch(e_mod, t_mod)
    for train in (True, True, False):
        e_mod.train(train), t_mod.train(train)
        e_mod.zero_grad(), t_mod.zero_grad()
        run_both(e_mod, t_mod, make_inputs(rng, specs), rng)


def test_indices_and_output_size_match_torch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 6, 4)).astype(np.float32)
    for e_m, t_m in ((nn.MaxPool3d(3, 2, 1, return_indices=True),
                      torch.nn.MaxPool3d(3, 2, 1, return_indices=True)),
                     (nn.AdaptiveMaxPool3d((2, 4, 3), return_indices=True),
                      torch.nn.AdaptiveMaxPool3d((2, 4, 3), return_indices=True))):
        (ye, ie), (yt, it) = e_m(on_device(x, ember)), t_m(on_device(x, torch))
        np.testing.assert_array_equal(host(ye), host(yt))
        np.testing.assert_array_equal(host(ie), host(it))
        assert ie.dtype == ember.int64
    up_e, up_t = nn.ConvTranspose3d(3, 2, 3, stride=2), torch.nn.ConvTranspose3d(3, 2, 3, 2)
    load_from_torch(up_e, up_t)
    size = (12, 14, 10)
    ye, yt = up_e(on_device(x, ember), output_size=size), up_t(on_device(x, torch),
                                                               output_size=size)
    assert tuple(ye.shape) == tuple(yt.shape) == (2, 2) + size
    np.testing.assert_allclose(host(ye), host(yt), rtol=1e-5, atol=1e-5)


ERRORS = [
    ('pool_ndim', lambda m: m.nn.functional.max_pool3d(m.ones(2, 3, 4), 2), RuntimeError,
     '4-D'),
    ('pool_pad', lambda m: m.nn.functional.avg_pool3d(m.ones(1, 4, 4, 4), 2, padding=2),
     RuntimeError, 'pad should be at most half'),
    ('pool_small', lambda m: m.nn.functional.max_pool3d(m.ones(1, 1, 4, 4), 2), RuntimeError,
     'too small'),
    ('adaptive_size', lambda m: m.nn.functional.adaptive_max_pool3d(m.ones(1, 2, 2, 2),
                                                                    (1, 2)), RuntimeError,
     'output_size'),
    ('transpose_channels', lambda m: m.nn.functional.conv_transpose3d(
        m.ones(1, 2, 2, 2, 2), m.ones(3, 1, 2, 2, 2)), RuntimeError, 'channels'),
    ('transpose_output_padding', lambda m: m.nn.functional.conv_transpose3d(
        m.ones(1, 1, 2, 2, 2), m.ones(1, 1, 2, 2, 2), output_padding=1), RuntimeError,
     'output padding'),
]


@pytest.mark.parametrize('f,kind,pattern', [pytest.param(f, k, p, id=n)
                                            for n, f, k, p in ERRORS])
def test_errors_like_torch(f, kind, pattern):
    with pytest.raises(Exception):
        f(torch)
    with pytest.raises(kind, match=pattern):
        f(ember)
