"""The layers and functions of ember/nn/extra.py and _functional_more.py against torch: a table
of functional cases (forward, gradients, second order, gradcheck), a table of layers (state,
repr, two training steps and one eval step), then what a table can't say (random masks,
moments, CTC's options, errors)."""
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.helpers import DEVICE, ORACLE, Case, E, T, host, make_tests
from tests.nn.test_layers import close, load_from_torch, make_inputs, on_device, run_both
from tests.nn.test_rnn import _check, _data, _pair

F = ember.nn.functional


def fn(name, **kw):
    """``m.nn.functional.<name>(*xs, **kw)`` for either framework."""
    return lambda m, *xs: getattr(m.nn.functional, name)(*xs, **kw)


def const(m, like, values):
    """An integer tensor of ``values`` in ``like``'s framework, on its device."""
    return m.tensor(values, device=like.device)


def bag(m, i, w, *rest, offsets=(0, 2, 2, 5), **kw):
    """embedding_bag over 1-D indices with fixed offsets (an empty bag among them)."""
    return m.nn.functional.embedding_bag(i, w, const(m, w, list(offsets)), *rest, **kw)


def ctc(m, x, t, *, il=(6, 5, 4), tl=(2, 3, 0), **kw):
    """ctc_loss of log_softmax(x) (T, N, C): the gradient torch defines is then the true one,
    so gradcheck can check it too."""
    return m.nn.functional.ctc_loss(x.log_softmax(2), t, const(m, x, list(il)),
                                    const(m, x, list(tl)), **kw)


NORM = [((2, 3, 4), (3,), (3,)), ((2, 3, 3, 2), (3,), (3,)), ((1, 2, 5), (2,), (2,))]
BAG = [((7,), (6, 3))]
BAG_INTS = ((0, 0, 6),)
CTC = [((6, 3, 4), (3, 3))]
CTC_INTS = ((1, 1, 4),)

CASES = [
    Case('instance_norm', lambda m, x, w, b: m.nn.functional.instance_norm(x, weight=w, bias=b),
         NORM),
    Case('instance_norm_plain', fn('instance_norm', eps=1e-3), [((2, 3, 5),), ((1, 2, 3, 3),)]),
    Case('pixel_shuffle', fn('pixel_shuffle', upscale_factor=2),
         [((1, 8, 2, 3),), ((2, 1, 4, 2, 2),), ((4, 1, 1),), ((2, 4, 1, 1),)]),
    Case('pixel_unshuffle', fn('pixel_unshuffle', downscale_factor=2),
         [((1, 2, 4, 6),), ((3, 2, 2),), ((2, 1, 1, 4, 2),)]),
    Case('unfold', fn('unfold', kernel_size=2), [((2, 3, 4, 3),), ((2, 3, 3),)]),
    Case('unfold_all', fn('unfold', kernel_size=(2, 3), dilation=(2, 1), padding=1,
                          stride=(1, 2)), [((2, 2, 5, 6),), ((1, 4, 4),)]),
    Case('fold', fn('fold', output_size=(4, 3), kernel_size=2), [((2, 8, 6),), ((4, 6),)]),
    Case('fold_all', fn('fold', output_size=5, kernel_size=(2, 3), dilation=(1, 2), padding=1,
                        stride=2), [((2, 6, 6),), ((12, 6),)]),
    Case('adaptive_max_pool1d', fn('adaptive_max_pool1d', output_size=3),
         [((2, 3, 7),), ((3, 5),), ((1, 2, 3),)]),
    Case('adaptive_max_pool1d_indices', fn('adaptive_max_pool1d', output_size=4,
                                           return_indices=True), [((2, 3, 9),)]),
    Case('adaptive_max_pool2d', fn('adaptive_max_pool2d', output_size=(3, 2)),
         [((2, 3, 7, 5),), ((3, 5, 5),), ((1, 1, 2, 2),)]),
    Case('adaptive_max_pool2d_none', fn('adaptive_max_pool2d', output_size=(None, 4),
                                        return_indices=True), [((2, 2, 3, 6),)]),
    # torch's embedding_bag has no second derivative: gradgradcheck below checks ember's
    Case('embedding_bag_sum', lambda m, i, w: bag(m, i, w, mode='sum'), BAG, ints=BAG_INTS,
         second_order=False),
    Case('embedding_bag_mean', lambda m, i, w: bag(m, i, w), BAG, ints=BAG_INTS,
         second_order=False),
    Case('embedding_bag_max', lambda m, i, w: bag(m, i, w, mode='max'), BAG, ints=BAG_INTS,
         second_order=False),
    Case('embedding_bag_2d', lambda m, i, w: m.nn.functional.embedding_bag(i, w, mode='mean'),
         [((3, 4), (6, 3))], ints=BAG_INTS, second_order=False),
    Case('embedding_bag_padding', lambda m, i, w: bag(m, i, w, mode='mean', padding_idx=2),
         BAG, ints=BAG_INTS, second_order=False),
    Case('embedding_bag_last_offset', lambda m, i, w: bag(
        m, i, w, offsets=(0, 3, 3, 7), mode='sum', include_last_offset=True), BAG,
         ints=BAG_INTS, second_order=False),
    Case('embedding_bag_weights', lambda m, i, w, p: bag(m, i, w, mode='sum',
                                                         per_sample_weights=p),
         [((7,), (6, 3), (7,))], ints=BAG_INTS, second_order=False),
    # torch's ctc_loss has no second derivative
    Case('ctc_loss', lambda m, x, t: ctc(m, x, t), CTC, ints=CTC_INTS, second_order=False),
    Case('ctc_loss_sum', lambda m, x, t: ctc(m, x, t, reduction='sum', blank=3), CTC,
         ints=((1, 0, 3),), second_order=False),
    Case('ctc_loss_none', lambda m, x, t: ctc(m, x, t, reduction='none', il=(6, 6, 2),
                                              tl=(3, 1, 1)), CTC, ints=CTC_INTS,
         second_order=False),
    Case('conv3d', lambda m, x, w, b: m.nn.functional.conv3d(x, w, b),
         [((2, 2, 3, 4, 3), (3, 2, 2, 2, 2), (3,)), ((2, 3, 3, 3), (2, 2, 1, 2, 2), (2,))]),
    Case('conv3d_all', lambda m, x, w: m.nn.functional.conv3d(
        x, w, stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1), groups=2),
         [((1, 4, 4, 5, 4), (2, 2, 2, 2, 3))]),
    Case('conv3d_same', lambda m, x, w: m.nn.functional.conv3d(x, w, padding='same',
                                                               dilation=(2, 1, 1)),
         [((1, 2, 4, 3, 3), (2, 2, 2, 3, 2))]),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


# ---------------------------------------------------------------- layers

LAYERS = [
    ('instance_norm1d', lambda m: m.InstanceNorm1d(3), [(2, 3, 5)]),
    ('instance_norm1d_unbatched', lambda m: m.InstanceNorm1d(3, affine=True), [(3, 6)]),
    ('instance_norm1d_tracked', lambda m: m.InstanceNorm1d(3, affine=True,
                                                           track_running_stats=True,
                                                           momentum=0.3), [(4, 3, 5)]),
    ('instance_norm2d', lambda m: m.InstanceNorm2d(2, eps=1e-3, affine=True), [(2, 2, 3, 4)]),
    ('instance_norm2d_tracked', lambda m: m.InstanceNorm2d(2, track_running_stats=True),
     [(3, 2, 4, 4)]),
    ('instance_norm2d_momentum_none', lambda m: m.InstanceNorm2d(
        2, track_running_stats=True, momentum=None, affine=True, bias=False), [(3, 2, 3, 3)]),
    ('instance_norm3d', lambda m: m.InstanceNorm3d(2, affine=True, track_running_stats=True),
     [(2, 2, 3, 2, 3)]),
    ('upsample', lambda m: m.Upsample(scale_factor=2), [(2, 3, 4)]),
    ('upsampling_nearest2d', lambda m: m.UpsamplingNearest2d(size=(3, 5)), [(1, 2, 2, 3)]),
    ('upsampling_bilinear2d', lambda m: m.UpsamplingBilinear2d(scale_factor=2), [(1, 2, 2, 3)]),
    ('upsample_size_bilinear', lambda m: m.Upsample(size=(5, 7), mode='bilinear',
                                                    align_corners=True), [(1, 2, 3, 4)]),
    ('upsample_pair', lambda m: m.Upsample(scale_factor=(2, 3), mode='bilinear'),
     [(1, 2, 3, 2)]),
    ('pixel_shuffle', lambda m: m.PixelShuffle(3), [(2, 9, 2, 3)]),
    ('pixel_unshuffle', lambda m: m.PixelUnshuffle(2), [(2, 1, 4, 6)]),
    ('fold', lambda m: m.Fold((4, 5), 2), [(2, 12, 12)]),
    ('fold_all', lambda m: m.Fold(4, (2, 3), dilation=2, padding=1, stride=(1, 2)),
     [(1, 6, 4)]),
    ('unfold', lambda m: m.Unfold(2, padding=1, stride=2), [(2, 3, 5, 4)]),
    ('adaptive_maxpool1d', lambda m: m.AdaptiveMaxPool1d(3), [(2, 3, 10)]),
    ('adaptive_maxpool2d', lambda m: m.AdaptiveMaxPool2d((2, None)), [(2, 3, 5, 4)]),
    ('embedding_bag', lambda m: m.EmbeddingBag(10, 3), [('i', 10, (4, 5))]),
    ('embedding_bag_max', lambda m: m.EmbeddingBag(10, 3, mode='max', padding_idx=2),
     [('i', 10, (3, 4))]),
    ('embedding_bag_sum_norm', lambda m: m.EmbeddingBag(10, 3, mode='sum', max_norm=1.0,
                                                        norm_type=3.0), [('i', 10, (3, 4))]),
    ('dropouts_p0', lambda m: m.Sequential(m.Dropout1d(0.0), m.AlphaDropout(0.0)), [(2, 3, 4)]),
    ('dropout2d_p0', lambda m: m.Dropout2d(0.0), [(2, 3, 4, 5)]),
    ('conv3d', lambda m: m.Conv3d(2, 3, 2), [(2, 2, 3, 4, 3)]),
    ('conv3d_all', lambda m: m.Conv3d(4, 2, (2, 3, 1), stride=(1, 2, 1), padding=(1, 1, 0),
                                      dilation=(2, 1, 1), groups=2, bias=False), [(2, 4, 3, 5, 2)]),
    ('conv3d_same_reflect', lambda m: m.Conv3d(2, 2, 3, padding='same',
                                               padding_mode='reflect'), [(2, 3, 3, 4)]),
    ('conv3d_circular', lambda m: m.Conv3d(1, 2, 2, padding=1, padding_mode='circular'),
     [(1, 1, 3, 3, 3)]),
]


@pytest.mark.filterwarnings('ignore:dropout2d')
@pytest.mark.parametrize('name,factory,specs', LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_matches_torch(name, factory, specs):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    t_mod, e_mod = factory(torch.nn), factory(nn)
    if ORACLE:   # (torch before 2.13 printed the norm layers without bias=)
        assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    assert [n for n, _ in e_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    load_from_torch(e_mod, t_mod)
    for train in (True, True, False):   # two training steps move running stats; then eval
        e_mod.train(train), t_mod.train(train)
        e_mod.zero_grad(), t_mod.zero_grad()
        run_both(e_mod, t_mod, make_inputs(rng, specs), rng)
        for (k, a), b in zip(e_mod.state_dict().items(), t_mod.state_dict().values()):
            close(a, b, what=f'state {k} after a {"training" if train else "eval"} step')


def test_layers_with_more_inputs_or_outputs_match_torch():
    """EmbeddingBag with offsets and per-sample weights, adaptive max pooling's indices and
    CTCLoss: outputs and gradients against torch."""
    rng = np.random.default_rng(1)
    torch.manual_seed(0)
    t_bag = torch.nn.EmbeddingBag(8, 4, mode='sum', include_last_offset=True)
    e_bag = nn.EmbeddingBag(8, 4, mode='sum', include_last_offset=True)
    load_from_torch(e_bag, t_bag)
    ids, off = rng.integers(0, 8, 9), np.array([0, 4, 4, 9])
    psw = rng.standard_normal(9).astype(np.float32)
    pe, pt = on_device(psw, ember, requires_grad=True), on_device(psw, torch, requires_grad=True)
    ye = e_bag(on_device(ids, ember), on_device(off, ember), pe)
    yt = t_bag(on_device(ids, torch), on_device(off, torch), pt)
    close(ye, yt)
    ye.sum().backward(), yt.sum().backward()
    close(pe.grad, pt.grad), close(e_bag.weight.grad, t_bag.weight.grad)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    e_pre = nn.EmbeddingBag.from_pretrained(on_device(w, ember), mode='max', padding_idx=1)
    t_pre = torch.nn.EmbeddingBag.from_pretrained(on_device(w, torch), mode='max', padding_idx=1)
    assert repr(e_pre) == repr(t_pre) and not e_pre.weight.requires_grad
    close(e_pre(on_device(ids[None, :6] % 5, ember)), t_pre(on_device(ids[None, :6] % 5, torch)))
    for m in (nn.AdaptiveMaxPool1d(4, return_indices=True),
              nn.AdaptiveMaxPool2d(3, return_indices=True)):
        t_m = getattr(torch.nn, type(m).__name__)(m.output_size, return_indices=True)
        assert repr(m) == repr(t_m)
        x = rng.standard_normal((2, 3, 7, 9)[:3 if '1d' in repr(m) else 4]).astype(np.float32)
        (ye, ie), (yt, it) = m(on_device(x, ember)), t_m(on_device(x, torch))
        close(ye, yt)
        np.testing.assert_array_equal(host(ie), host(it))
    for kw in ({}, {'blank': 2, 'reduction': 'sum', 'zero_infinity': True}):
        e_loss, t_loss = nn.CTCLoss(**kw), torch.nn.CTCLoss(**kw)
        assert repr(e_loss) == repr(t_loss) and e_loss.reduction == t_loss.reduction
        x = rng.standard_normal((5, 2, 3)).astype(np.float32)
        xe, xt = on_device(x, ember, requires_grad=True), on_device(x, torch, requires_grad=True)
        tg = np.array([1, 1, 0, 0, 1]) if kw else np.array([2, 1, 1, 2, 2])
        le = e_loss(xe.log_softmax(2), on_device(tg, ember), (5, 3), (2, 3))
        lt = t_loss(xt.log_softmax(2), on_device(tg, torch), (5, 3), (2, 3))
        close(le, lt)
        le.backward(), lt.backward()
        close(xe.grad, xt.grad)


@pytest.mark.parametrize('mode', ['sum', 'mean', 'max'])
def test_embedding_bag_of_no_indices_gives_zeros_and_zero_gradients_like_torch(mode):
    out = []
    for m, mk in ((ember, E), (torch, T)):
        w = mk(np.ones((4, 2))).requires_grad_()
        y = m.nn.functional.embedding_bag(mk(np.zeros(0, np.int64)), w, mk(np.zeros(3, np.int64)),
                                          mode=mode)
        y.sum().backward()
        out.append((host(y), host(w.grad)))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- second order torch lacks

@pytest.mark.parametrize('mode', ['sum', 'mean', 'max'])
def test_embedding_bag_second_order_by_finite_differences(mode):
    """torch's embedding_bag has no double backward; ember's backward is ember ops, checked
    by finite differences of its first derivatives (the per-sample weights' too)."""
    rng = np.random.default_rng(6)
    ids = E(rng.integers(0, 5, 7))
    w = E(rng.standard_normal((5, 3))).requires_grad_()
    psw = E(rng.standard_normal(7)).requires_grad_()
    if mode == 'sum':
        def f(w, p):
            return bag(ember, ids, w, mode='sum', per_sample_weights=p) ** 2
        assert ember.autograd.gradgradcheck(f, (w, psw))
    else:
        assert ember.autograd.gradgradcheck(lambda w: bag(ember, ids, w, mode=mode) ** 2, (w,))


def test_ctc_loss_has_no_second_order_like_torch():
    x = E(np.random.default_rng(7).standard_normal((5, 2, 3))).requires_grad_()
    loss = ctc(ember, x, E(np.array([[1, 2], [2, 2]])), il=(5, 5), tl=(2, 2))
    (g,) = ember.autograd.grad(loss, [x], create_graph=True)
    with pytest.raises(NotImplementedError, match='ctc_loss: the derivative of its backward'):
        g.sum().backward()


# ---------------------------------------------------------------- LSTM's projections

@pytest.mark.parametrize('kw,state', [
    (dict(), False), (dict(num_layers=2, bidirectional=True, batch_first=True), True),
    (dict(num_layers=2, bias=False), True), (dict(bidirectional=True), False)],
    ids=['plain', 'two-bi-batch-first-state', 'two-nobias-state', 'bi'])
def test_lstm_proj_size_matches_torch(kw, state):
    """weight_hr_l{k} projects each h_t to proj_size features: parameters (names, order,
    shapes), reprs, outputs, (h_n, c_n) and every gradient against torch."""
    e, t = _pair('LSTM', input_size=5, hidden_size=6, proj_size=3, **kw)
    assert repr(e) == repr(t)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    d = kw.get('num_layers', 1) * (2 if kw.get('bidirectional') else 1)
    hx = (_data((d, 2, 3), 'float32', 2), _data((d, 2, 6), 'float32', 3)) if state else None
    shape = (2, 4, 5) if kw.get('batch_first') else (4, 2, 5)
    _check(e, t, _data(shape, 'float32'), hx, 'float32')


def test_lstm_proj_size_unbatched_and_errors():
    e, t = _pair('LSTM', input_size=3, hidden_size=4, proj_size=2)
    _check(e, t, _data((5, 3), 'float32'), (_data((1, 2), 'float32', 1),
                                            _data((1, 4), 'float32', 2)), 'float32')
    assert [len(ws) for ws in e.all_weights] == [5]
    with pytest.raises(RuntimeError, match=r'LSTM: Expected hidden size \[1, 2, 2\] \(num_'
                                           r'layers \* num_directions, batch, proj_size\)'):
        e(ember.ones(4, 2, 3), (ember.zeros(1, 2, 4), ember.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match='proj_size argument is only supported for LSTM'):
        nn.RNNBase('GRU', 3, 4, proj_size=2)
    with pytest.raises(ValueError, match='LSTM: proj_size has to be smaller than hidden_size'):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match='LSTM: proj_size should be a positive integer'):
        nn.LSTM(3, 4, proj_size=-1)


# ---------------------------------------------------------------- ctc_loss's options

@pytest.mark.parametrize('seed', range(4))
def test_ctc_loss_random_cases_match_torch(seed):
    """Random lengths (some too short for their target: infinite losses, nan gradients as
    torch's), repeated labels (which need a blank between them), concatenated targets, every
    reduction with and without zero_infinity, on log_probs directly (torch's gradient)."""
    rng = np.random.default_rng(seed)
    t_max, n, c, s = 10, 4, 5, 4
    lp = torch.log_softmax(torch.tensor(rng.standard_normal((t_max, n, c))), -1).numpy()
    tl = rng.integers(0, s + 1, n)
    il = rng.integers(0, t_max + 1, n)   # (0: no time steps)
    tg = rng.integers(1, c, (n, s))
    tg[:, 1] = tg[:, 0]
    concat = np.concatenate([row[:k] for row, k in zip(tg, tl)])
    for targets in (tg, concat):
        for reduction in ('none', 'mean', 'sum'):
            for zero_infinity in (False, True):
                out = []
                for m, mk in ((ember, E), (torch, T)):
                    x = mk(lp).requires_grad_()
                    loss = m.nn.functional.ctc_loss(x, mk(targets), mk(il), mk(tl),
                                                    reduction=reduction,
                                                    zero_infinity=zero_infinity)
                    g = np.linspace(0.5, 1.5, loss.numel()).reshape(tuple(loss.shape))
                    loss.backward(mk(g))
                    out.append((host(loss), host(x.grad)))
                for a, b in zip(*out):
                    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, equal_nan=True)


def test_ctc_loss_unbatched_and_float32_like_torch():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 4)).astype(np.float32)
    out = []
    for m, mk in ((ember, E), (torch, T)):
        xt = mk(x).requires_grad_()
        loss = m.nn.functional.ctc_loss(xt.log_softmax(1), mk(np.array([1, 3, 3])),
                                        mk(np.array(7)), mk(np.array(3)), reduction='none')
        loss.backward()
        out.append((host(loss), host(xt.grad)))
        assert loss.dtype == m.float32 and tuple(loss.shape) == ()
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- random masks

@pytest.mark.parametrize('name,shape', [('dropout1d', (40, 50, 3)), ('dropout1d', (500, 4)),
                                        ('dropout2d', (40, 50, 2, 3))])
def test_channel_dropout_masks_whole_channels(name, shape):
    ember.manual_seed(3)
    x = ember.ones(*shape, requires_grad=True)
    y = getattr(F, name)(x, p=0.3)
    v = y.detach().numpy()
    chans = v.reshape(shape[:2] + (-1,)) if len(shape) > 2 else v.reshape(1, shape[0], -1)
    # each channel of each sample is all zeros or all 1 / (1 - p)
    assert np.all((chans == chans[..., :1]).all(-1))
    assert set(np.unique(chans)) == {0.0, np.float32(1 / 0.7)}
    assert abs((chans[..., 0] == 0).mean() - 0.3) < 0.05
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), v)   # the gradient is the scaled mask
    ember.manual_seed(3)
    np.testing.assert_array_equal(getattr(F, name)(ember.ones(*shape), p=0.3).numpy(), v)
    z = ember.ones(*shape)
    assert getattr(F, name)(z, 0.3, training=False) is z
    assert getattr(F, name)(z, 0.3, inplace=True) is z and set(np.unique(z.numpy())) <= \
        {0.0, np.float32(1 / 0.7)}
    assert not getattr(F, name)(z, 1.0).numpy().any()


@pytest.mark.parametrize('p', [0.2, 0.5])
def test_alpha_dropout_keeps_moments_and_its_affine_map(p):
    ember.manual_seed(4)
    x = ember.randn(400_000, requires_grad=True)
    y = nn.AlphaDropout(p)(x)
    xv, yv = x.detach().numpy().astype(np.float64), y.detach().numpy().astype(np.float64)
    assert abs(yv.mean()) < 0.01 and abs(yv.std() - 1) < 0.01
    alpha = 1.7580993408473766
    a = ((1 - p) * (1 + p * alpha ** 2)) ** -0.5
    dropped = np.isclose(yv, -alpha * a * (1 - p), rtol=0, atol=1e-6)
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(yv[~dropped], a * xv[~dropped] + alpha * a * p, rtol=1e-5,
                               atol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(dropped, 0.0, a), rtol=1e-6)
    z = ember.ones(3)
    assert F.alpha_dropout(z, 0.5) is z   # training=False by default, as torch's
    assert not F.alpha_dropout(z, 1.0, training=True).numpy().any()


def test_feature_alpha_dropout_drops_whole_channels_with_alpha_dropouts_map():
    ember.manual_seed(5)
    p, alpha = 0.4, 1.7580993408473766
    a = ((1 - p) * (1 + p * alpha ** 2)) ** -0.5
    x = ember.randn(300, 20, 3, 2, requires_grad=True)
    y = nn.FeatureAlphaDropout(p)(x)
    xv, yv = x.detach().numpy().astype(np.float64), y.detach().numpy().astype(np.float64)
    dropped = np.isclose(yv, -alpha * a * (1 - p), rtol=0, atol=1e-6).reshape(300, 20, -1)
    assert np.all(dropped.all(-1) | ~dropped.any(-1))   # a channel is dropped whole or kept
    assert abs(dropped[..., 0].mean() - p) < 0.03
    kept = ~dropped.reshape(yv.shape)
    np.testing.assert_allclose(yv[kept], a * xv[kept] + alpha * a * p, rtol=1e-5, atol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, a, 0.0), rtol=1e-6)
    assert repr(nn.FeatureAlphaDropout(0.3)) == repr(torch.nn.FeatureAlphaDropout(0.3))
    z = ember.ones(2, 3)
    assert F.feature_alpha_dropout(z, 0.5) is z and nn.FeatureAlphaDropout().eval()(z) is z


# ---------------------------------------------------------------- errors

def test_errors_name_the_layer_or_function_and_shapes():
    with pytest.raises(ValueError, match=r'InstanceNorm1d\(3.*expected 2D or 3D input \(got 4D'):
        nn.InstanceNorm1d(3)(ember.ones(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r'InstanceNorm2d\(3.*dim=1 to match num_features '
                                         r'\(3\).*\[2, 4, 5, 5\]'):
        nn.InstanceNorm2d(3, affine=True)(ember.ones(2, 4, 5, 5))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        nn.InstanceNorm2d(3)(ember.ones(2, 4, 5, 5))
    assert any('does not match num_features' in str(w.message) for w in seen)
    with pytest.raises(ValueError, match='instance_norm: expected more than 1 spatial'):
        F.instance_norm(ember.ones(2, 3, 1))
    with pytest.raises(RuntimeError, match=r'dropout1d: expected 2D or 3D input.*4D'):
        F.dropout1d(ember.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match='Dropout2d: dropout probability.*1.5'):
        nn.Dropout2d(1.5)
    with pytest.raises(RuntimeError, match=r'pixel_shuffle: .*\[1, 6, 2, 2\].*divisible by '
                                           r'upscale_factor squared, 4'):
        F.pixel_shuffle(ember.ones(1, 6, 2, 2), 2)
    with pytest.raises(RuntimeError, match=r'pixel_unshuffle: .*\[1, 1, 3, 4\]'):
        F.pixel_unshuffle(ember.ones(1, 1, 3, 4), 2)
    with pytest.raises(RuntimeError, match=r'unfold: expected a 3-D \(unbatched\) or 4-D'):
        F.unfold(ember.ones(3, 4), 2)
    with pytest.raises(RuntimeError, match=r'fold: given output_size=\(4, 4\).*3 \* 3 = 9, '
                                           r'but got input of size \[1, 4, 8\]'):
        F.fold(ember.ones(1, 4, 8), 4, 2)
    with pytest.raises(RuntimeError, match=r'adaptive_max_pool2d: .*output_size must have 2'):
        F.adaptive_max_pool2d(ember.ones(1, 2, 3, 3), (1, 2, 3))
    w = ember.ones(5, 2)
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for "
                                                  "mode='sum'"):
        F.embedding_bag(ember.tensor([[0, 1]]), w, per_sample_weights=ember.ones(1, 2))
    with pytest.raises(ValueError, match='if input is 2D, then offsets has to be None'):
        F.embedding_bag(ember.tensor([[0, 1]]), w, ember.tensor([0]))
    with pytest.raises(RuntimeError, match=r'offsets\[0\] has to be 0'):
        F.embedding_bag(ember.tensor([0, 1]), w, ember.tensor([1]))
    with pytest.raises(ValueError, match="EmbeddingBag: mode has to be one of"):
        nn.EmbeddingBag(5, 2, mode='median')
    lp = ember.randn(4, 2, 3).log_softmax(2)
    with pytest.raises(RuntimeError, match=r'ctc_loss: blank must be in label range 0..2'):
        F.ctc_loss(lp, ember.tensor([[1], [1]]), [4, 4], [1, 1], blank=3)
    with pytest.raises(RuntimeError, match=r'ctc_loss: expected input_lengths in 0..4'):
        F.ctc_loss(lp, ember.tensor([[1], [1]]), [5, 4], [1, 1])
    with pytest.raises(RuntimeError, match=r'ctc_loss: target labels must be in 0..2 and not '
                                           r'blank \(0\)'):
        F.ctc_loss(lp, ember.tensor([[1], [0]]), [4, 4], [1, 1])
    with pytest.raises(ValueError, match="ctc_loss: 'avg' is not a valid value"):
        F.ctc_loss(lp, ember.tensor([[1], [1]]), [4, 4], [1, 1], reduction='avg')
    with pytest.raises(RuntimeError, match=r'Conv3d\(1, 2.*expected input with 1 channels.*'
                                           r'\[1, 2, 3, 3, 3\]'):
        nn.Conv3d(1, 2, 2)(ember.ones(1, 2, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r'conv3d: expected a 4-D \(unbatched\) or 5-D'):
        F.conv3d(ember.ones(2, 3, 3), ember.ones(1, 2, 1, 1, 1))
    with pytest.raises(RuntimeError, match=r'conv3d: the padded input depth 2 .* kernel depth 3'):
        F.conv3d(ember.ones(1, 1, 2, 4, 4), ember.ones(1, 1, 3, 1, 1))
    assert DEVICE in ('cpu', 'cuda')
