"""ember.nn.functional against PyTorch: tables of cases, then the behaviours a table can't
express (randomness, running statistics, every cross_entropy option, extremes, errors)."""
import itertools

import numpy as np
import pytest
import torch

import ember
from tests.helpers import NC, Case, E, T, host, make_tests

F = ember.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore:.*reduction.*'mean'.*:UserWarning")


def inputs(*kinds):
    """A ``make`` for mixed inputs, one kind per shape: 'f' floats in (-2, 2), 'p' floats in
    (0.05, 0.95), ('i', n) class indices in [0, n), ('ign', n) indices with some -100s,
    'b' bools."""
    def make(rng, shapes, dtype):
        out = []
        for shape, kind in zip(shapes, kinds):
            shape = tuple(shape)
            if kind == 'f':
                out.append(rng.uniform(-2, 2, shape).astype(dtype))
            elif kind == 'p':
                out.append(rng.uniform(0.05, 0.95, shape).astype(dtype))
            elif kind == 'b':
                out.append(rng.random(shape) < 0.7)
            elif kind[0] == 'i':
                out.append(rng.integers(0, kind[1], shape))
            else:
                t = rng.integers(0, kind[1], shape)
                t[rng.random(shape) < 0.3] = -100
                out.append(t)
        return out
    return make


def const_mask(m, q, k):
    """A fixed float attention mask (L, S) that wants no gradient, in q's dtype."""
    L, S = q.shape[-2], k.shape[-2]
    a = np.sin(np.arange(L * S).reshape(L, S)) * 2
    a[0, 1:] = -np.inf
    return m.tensor(a, dtype=q.dtype, device=q.device)


def dead_row_mask(m, q, k):
    """A bool mask (True: attend) whose second query attends to no key."""
    L, S = q.shape[-2], k.shape[-2]
    keep = np.arange(L)[:, None] + np.arange(S) < S
    keep[1 % L] = False
    return m.tensor(keep, device=q.device)


def probs(x, dim):
    """Class probabilities (rows summing to 1) made from any floats, in either framework."""
    return (x * 2).softmax(dim)


def weights(m, x, n=3):
    """Fixed positive per-class weights, in ``x``'s framework and dtype (torch's losses are
    not differentiable with respect to ``weight``)."""
    return m.tensor([0.3, 1.7, 0.9, 1.2][:n], dtype=x.dtype, device=x.device)


def fn_ce(**kw):
    return lambda m, x, t: m.nn.functional.cross_entropy(x, t, **kw)


def fn_ce_weighted(**kw):
    return lambda m, x, t: m.nn.functional.cross_entropy(x, t, weight=weights(m, x), **kw)


NORM3 = [((2, 3, 4), (3,), (3,)), ((4, 3), (3,), (3,)), ((2, 3, 2, 2), (3,), (3,))]
SM = [((3, 4),), ((2, 3, 4),), ((0, 3),), (NC((4, 3)),), ((5, 1),)]
CE = [((4, 3), (4,)), ((2, 3, 5), (2, 5)), ((3,), ()), ((0, 3), (0,)),
      ((2, 3, 2, 2), (2, 2, 2))]
PAIR = [((3, 4), (3, 4)), ((2, 3, 4), (2, 3, 4)), ((), ()), ((0, 4), (0, 4))]

CASES = [
    # softmax family
    Case('softmax_dim1', lambda m, x: m.nn.functional.softmax(x, dim=1), SM),
    Case('softmax_last', lambda m, x: m.nn.functional.softmax(x, dim=-1),
         [((3, 4),), ((),), ((4,),)]),
    Case('log_softmax_dim1', lambda m, x: m.nn.functional.log_softmax(x, dim=1), SM),
    Case('log_softmax_dim0', lambda m, x: m.nn.functional.log_softmax(x, 0),
         [((3, 4),), ((),), ((2, 3, 4),)]),
    Case('softmax_method', lambda m, x: x.softmax(0) * x.log_softmax(-1), SM[:2]),
    Case('logsoftmax_talk', lambda m, x: x.log_softmax(-1) if m is torch else x.logsoftmax(),
         SM[:2]),
    Case('softmax_wide', lambda m, x: m.nn.functional.softmax(x * 50, dim=1), SM[:2]),
    # normalisation
    Case('layer_norm', lambda m, x, w, b: m.nn.functional.layer_norm(x, tuple(w.shape), w, b),
         [((3, 4), (4,), (4,)), ((2, 3, 4), (3, 4), (3, 4)), ((0, 4), (4,), (4,))]),
    Case('layer_norm_weight', lambda m, x, w: m.nn.functional.layer_norm(x, tuple(w.shape), w),
         [((3, 4), (4,)), ((3, 4), (3, 4))]),
    Case('layer_norm_plain', lambda m, x: m.nn.functional.layer_norm(x, (4,), eps=1e-3),
         [((3, 4),), ((2, 4),)]),
    Case('batch_norm_train', lambda m, x, w, b: m.nn.functional.batch_norm(
        x, None, None, w, b, training=True), NORM3),
    Case('batch_norm_eval', lambda m, x, w, b: m.nn.functional.batch_norm(
        x, weights(m, x) - 1, weights(m, x), w, b, training=False, eps=1e-3), NORM3),
    Case('group_norm', lambda m, x, w, b: m.nn.functional.group_norm(x, 3, w, b),
         [((2, 6, 4), (6,), (6,)), ((2, 12), (12,), (12,)), ((1, 6, 2, 2), (6,), (6,))]),
    Case('group_norm_plain', lambda m, x: m.nn.functional.group_norm(x, 2, eps=1e-3),
         [((2, 4, 3),)]),
    # attention
    Case('sdpa', lambda m, q, k, v: m.nn.functional.scaled_dot_product_attention(q, k, v),
         [((2, 3, 4), (2, 5, 4), (2, 5, 6)), ((1, 3, 2), (1, 4, 2), (1, 4, 3)),
          ((1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4))]),
    Case('sdpa_causal_scale', lambda m, q, k, v: m.nn.functional.scaled_dot_product_attention(
        q, k, v, is_causal=True, scale=0.3), [((2, 3, 4), (2, 3, 4), (2, 3, 2)),
                                              ((2, 3, 4), (2, 5, 4), (2, 5, 2)),
                                              ((1, 2, 5, 4), (1, 2, 3, 4), (1, 2, 3, 3))]),
    # a constant mask (no gradient wanted): the fused op, broadcast over batch and heads
    Case('sdpa_const_mask', lambda m, q, k, v: m.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=const_mask(m, q, k)), [((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3))]),
    # a bool mask with a query that attends to nothing (its row of weights is zeros)
    Case('sdpa_dead_row', lambda m, q, k, v: m.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=dead_row_mask(m, q, k)), [((2, 3, 4), (2, 5, 4), (2, 5, 2))]),
    Case('sdpa_float_mask', lambda m, q, k, v, a: m.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=a), [((2, 3, 4), (2, 5, 4), (2, 5, 4), (3, 5))]),
    Case('sdpa_bool_mask', lambda m, q, k, v, a: m.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=a), [((2, 3, 4), (2, 5, 4), (2, 5, 4), (3, 5))],
         make=inputs('f', 'f', 'f', 'b')),
    # regression losses
    Case('mse_loss', lambda m, x, y: m.nn.functional.mse_loss(x, y), PAIR),
    Case('mse_loss_none', lambda m, x, y: m.nn.functional.mse_loss(x, y, reduction='none'),
         PAIR[:2]),
    Case('l1_loss', lambda m, x, y: m.nn.functional.l1_loss(x, y), PAIR),
    Case('l1_loss_sum', lambda m, x, y: m.nn.functional.l1_loss(x, y, reduction='sum'), PAIR[:2]),
    Case('smooth_l1', lambda m, x, y: m.nn.functional.smooth_l1_loss(x, y, beta=0.7), PAIR),
    Case('smooth_l1_none', lambda m, x, y: m.nn.functional.smooth_l1_loss(
        x, y, reduction='none'), PAIR[:2]),
    Case('smooth_l1_beta0', lambda m, x, y: m.nn.functional.smooth_l1_loss(x, y, beta=0.0),
         PAIR[:2]),
    Case('huber', lambda m, x, y: m.nn.functional.huber_loss(x, y, delta=0.8), PAIR),
    Case('huber_sum', lambda m, x, y: m.nn.functional.huber_loss(x, y, reduction='sum'),
         PAIR[:2]),
    # classification losses
    # (empty_second_order=False: over no targets the weighted mean is 0 / 0; torch's double
    # backward gives the output gradient's gradient nan there, ember a sum of nothing, 0)
    Case('cross_entropy', fn_ce(), CE, make=inputs('f', ('i', 3)), empty_second_order=False),
    Case('cross_entropy_sum', fn_ce(reduction='sum'), CE, make=inputs('f', ('i', 3))),
    Case('cross_entropy_none', fn_ce(reduction='none'), CE, make=inputs('f', ('i', 3))),
    Case('cross_entropy_ignore', fn_ce(ignore_index=-100), CE[:2],
         make=inputs('f', ('ign', 3))),
    Case('cross_entropy_ignore1', fn_ce(ignore_index=1, reduction='none'), CE[:2],
         make=inputs('f', ('i', 3))),
    Case('cross_entropy_smooth', fn_ce(label_smoothing=0.2), CE[:3],
         make=inputs('f', ('ign', 3))),
    Case('cross_entropy_weight', fn_ce_weighted(), CE, make=inputs('f', ('ign', 3)),
         empty_second_order=False),
    Case('cross_entropy_weight_smooth', fn_ce_weighted(label_smoothing=0.3), CE,
         make=inputs('f', ('ign', 3))),
    Case('cross_entropy_weight_smooth_none', fn_ce_weighted(label_smoothing=0.3,
                                                            reduction='none'), CE,
         make=inputs('f', ('ign', 3))),
    Case('cross_entropy_probs', lambda m, x, y: m.nn.functional.cross_entropy(
        x, probs(y, 1)), [((4, 3), (4, 3)), ((2, 3, 5), (2, 3, 5))]),
    Case('cross_entropy_probs_smooth_weight', lambda m, x, y: m.nn.functional.cross_entropy(
        x, probs(y, 1), weight=weights(m, x), label_smoothing=0.1),
         [((4, 3), (4, 3)), ((2, 3, 5), (2, 3, 5))]),
    Case('cross_entropy_probs_none', lambda m, x, y: m.nn.functional.cross_entropy(
        x, probs(y, 0), reduction='none'), [((3,), (3,)), ((4, 3), (4, 3))]),
    Case('nll_loss', lambda m, x, t: m.nn.functional.nll_loss(x, t), CE,
         make=inputs('f', ('ign', 3)), empty_second_order=False),
    Case('nll_loss_weight', lambda m, x, t: m.nn.functional.nll_loss(
        x, t, weight=weights(m, x), ignore_index=2), CE, make=inputs('f', ('i', 3)),
         empty_second_order=False),
    Case('nll_loss_none', lambda m, x, t: m.nn.functional.nll_loss(x, t, reduction='none'),
         CE, make=inputs('f', ('ign', 3))),
    Case('bce', lambda m, x, y: m.nn.functional.binary_cross_entropy(x, y), PAIR,
         domain=(0.05, 0.95)),
    Case('bce_weight_none', lambda m, x, y: m.nn.functional.binary_cross_entropy(
        x, y, weight=weights(m, x, 4), reduction='none'), [((3, 4), (3, 4)), ((2, 4), (2, 4))],
         domain=(0.05, 0.95)),
    Case('bce_logits', lambda m, x, y: m.nn.functional.binary_cross_entropy_with_logits(
        x * 3, y), PAIR, make=inputs('f', 'p')),
    Case('bce_logits_weights', lambda m, x, y: m.nn.functional.
         binary_cross_entropy_with_logits(x, y, weight=weights(m, x, 4).flip(0),
                                          pos_weight=weights(m, x, 4), reduction='sum'),
         [((3, 4), (3, 4)), ((2, 4), (2, 4))], make=inputs('f', 'p')),
    Case('kl_div', lambda m, x, y: m.nn.functional.kl_div(x, y, reduction='batchmean'),
         [((3, 4), (3, 4)), ((2, 3, 4), (2, 3, 4)), ((), ())], make=inputs('f', 'p')),
    Case('kl_div_mean_log_target', lambda m, x, y: m.nn.functional.kl_div(
        x, y, reduction='mean', log_target=True), PAIR[:3]),
    Case('kl_div_none', lambda m, x, y: m.nn.functional.kl_div(x, y, reduction='none'),
         PAIR[:2], make=inputs('f', 'p')),
    Case('cosine_similarity', lambda m, x, y: m.nn.functional.cosine_similarity(x, y),
         [((3, 4), (3, 4)), ((2, 3, 4), (2, 3, 4)), ((0, 4), (0, 4))]),
    Case('cosine_similarity_last', lambda m, x, y: m.nn.functional.cosine_similarity(
        x, y, dim=-1, eps=0.5), [((3, 4), (3, 4)), ((3, 2), (3, 2)), ((3, 4), (4,)),
                                 ((2, 1, 4), (3, 1))]),
    # embeddings
    Case('embedding', lambda m, i, w: m.nn.functional.embedding(i, w),
         [((5,), (4, 3)), ((2, 6), (4, 3)), ((0,), (4, 3))], make=inputs(('i', 4), 'f'),
         empty_second_order=False),   # torch's double backward cannot reshape 0 indices
    # the padding row's gradient is zero by design, so finite differences disagree
    Case('embedding_padding', lambda m, i, w: m.nn.functional.embedding(i, w, padding_idx=1),
         [((2, 6), (4, 3)), ((8,), (4, 2))], make=inputs(('i', 4), 'f'), gradcheck=False),
    # torch's double backward drops scale_grad_by_freq's 1 / count, which its own backward
    # applies (ember's keeps it: test_embedding_freq_double_backward_is_its_backward's below)
    Case('embedding_freq', lambda m, i, w: m.nn.functional.embedding(
        i, w, scale_grad_by_freq=True), [((2, 6), (4, 3)), ((8,), (4, 2))],
         make=inputs(('i', 4), 'f'), gradcheck=False, second_order=False),
    Case('one_hot', lambda m, i: m.nn.functional.one_hot(i, 5), [((4,),), ((2, 3),), ((0,),)],
         make=inputs(('i', 5)), grad=False),
    Case('one_hot_infer', lambda m, i: m.nn.functional.one_hot(i), [((6,),), ((2, 3),)],
         make=inputs(('i', 4)), grad=False),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


# ---------------------------------------------------------------- dropout

def test_dropout_statistics_and_seeding():
    ember.manual_seed(7)
    y = F.dropout(ember.ones(200_000), p=0.3)
    vals = np.unique(y.numpy())
    np.testing.assert_allclose(vals, [0.0, 1 / 0.7], rtol=1e-6)
    assert abs(float((y == 0).float().mean()) - 0.3) < 0.01
    assert abs(float(y.mean()) - 1.0) < 0.01
    ember.manual_seed(7)
    assert bool((F.dropout(ember.ones(200_000), p=0.3) == y).all())
    assert not bool((F.dropout(ember.ones(200_000), p=0.3) == y).all())


def test_dropout_gradient_is_the_mask():
    ember.manual_seed(0)
    x = ember.randn(50, 4, requires_grad=True)
    y = F.dropout(x, p=0.5)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (y.detach().numpy() != 0) * 2.0)


def test_dropout_identity_and_edges():
    x = ember.randn(3, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0).numpy().any()
    y = ember.ones(1000)
    ember.manual_seed(1)
    out = F.dropout(y, 0.5, inplace=True)
    assert out is y and set(np.unique(y.numpy())) == {0.0, 2.0}


# ---------------------------------------------------------------- batch norm

@pytest.mark.parametrize('shape', [(6, 3), (4, 3, 5), (2, 3, 2, 2)])
def test_batch_norm_running_stats_match_torch(shape):
    rng = np.random.default_rng(0)
    rm_e, rv_e = ember.zeros(3), ember.ones(3)
    rm_t, rv_t = torch.zeros(3), torch.ones(3)
    w, b = rng.standard_normal(3).astype('float32'), rng.standard_normal(3).astype('float32')
    for step in range(3):
        x = (rng.standard_normal(shape) * 3 + step).astype('float32')
        e = F.batch_norm(ember.tensor(x), rm_e, rv_e, ember.tensor(w), ember.tensor(b),
                         training=True, momentum=0.2)
        t = torch.nn.functional.batch_norm(torch.tensor(x), rm_t, rv_t, torch.tensor(w),
                                           torch.tensor(b), training=True, momentum=0.2)
        np.testing.assert_allclose(e.detach().numpy(), t.numpy(), atol=1e-5, rtol=1e-4)
        np.testing.assert_allclose(rm_e.detach().numpy(), rm_t.numpy(), atol=1e-6, rtol=1e-5)
        np.testing.assert_allclose(rv_e.detach().numpy(), rv_t.numpy(), atol=1e-6, rtol=1e-5)
    e = F.batch_norm(ember.tensor(x), rm_e, rv_e, training=False)
    t = torch.nn.functional.batch_norm(torch.tensor(x), rm_t, rv_t, training=False)
    np.testing.assert_allclose(e.detach().numpy(), t.numpy(), atol=1e-5, rtol=1e-4)


def test_batch_norm_running_stats_get_no_graph():
    rm, rv = ember.zeros(2), ember.ones(2)
    x = ember.randn(4, 2, requires_grad=True)
    F.batch_norm(x, rm, rv, training=True).sum().backward()
    assert rm.grad_fn is None and rv.grad_fn is None and not rm.requires_grad


# ---------------------------------------------------------------- cross-entropy, every option

# torch refuses ignore_index with probability targets (tested in ERRORS below): not generated
CE_OPTIONS = [o for o in itertools.product(
    ['index2d', 'index3d', 'index1d', 'probs'], ['mean', 'sum', 'none'], [False, True],
    [-100, 1], [0.0, 0.25]) if not (o[0] == 'probs' and o[3] >= 0)]


@pytest.mark.parametrize('kind,reduction,weighted,ignore_index,smoothing', CE_OPTIONS)
def test_cross_entropy_options_match_torch(kind, reduction, weighted, ignore_index, smoothing):
    rng = np.random.default_rng(5)
    shape = {'index2d': (6, 4), 'index3d': (3, 4, 5), 'index1d': (4,), 'probs': (6, 4)}[kind]
    x = rng.standard_normal(shape) * 3
    if kind == 'probs':
        t = rng.dirichlet(np.ones(4), size=6)
    else:
        t = rng.integers(0, 4, shape[:1] + shape[2:] if len(shape) > 1 else ())
        t = np.where(rng.random(t.shape) < 0.3, ignore_index, t) if ignore_index == -100 else t
    w = rng.uniform(0.2, 2.0, 4) if weighted else None
    kw = dict(reduction=reduction, ignore_index=ignore_index, label_smoothing=smoothing)
    xe, xt = E(x).requires_grad_(), T(x, requires_grad=True)
    e = F.cross_entropy(xe, E(t), weight=None if w is None else E(w), **kw)
    tt = torch.nn.functional.cross_entropy(xt, T(t), weight=None if w is None else T(w), **kw)
    np.testing.assert_allclose(host(e), host(tt), rtol=1e-10, atol=1e-12)
    seed = rng.standard_normal(tuple(tt.shape))
    e.backward(E(seed))
    tt.backward(T(seed))
    np.testing.assert_allclose(host(xe.grad), host(xt.grad), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('fn', ['nll_loss', 'cross_entropy'])
@pytest.mark.parametrize('dtype', ['float64', 'float32'])
def test_all_ignored_targets_give_a_nan_loss_and_zero_gradients_like_torch(fn, dtype):
    """The mean over no counted target is nan (0/0), as torch's, but the ignored targets get
    no gradient: zeros, not nans (a batch of padding only must not poison the weights)."""
    x, t = np.random.default_rng(0).standard_normal((2, 3)).astype(dtype), np.array([-100] * 2)
    xe, xt = E(x).requires_grad_(), T(x, requires_grad=True)
    e, tt = getattr(F, fn)(xe, E(t)), getattr(torch.nn.functional, fn)(xt, T(t))
    assert np.isnan(e.item()) and np.isnan(tt.item())
    e.backward()
    tt.backward()
    assert not host(xt.grad).any()
    np.testing.assert_array_equal(host(xe.grad), host(xt.grad))


# ---------------------------------------------------------------- extremes stay finite

def test_extreme_logits_stay_finite():
    x = ember.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], requires_grad=True)
    t = ember.tensor([1, 2])
    outs = [F.softmax(x, 1), F.log_softmax(x, 1), F.cross_entropy(x, t),
            F.cross_entropy(x, t, label_smoothing=0.1), x.logsoftmax(),
            F.binary_cross_entropy_with_logits(x, (x > 0).float()),
            F.binary_cross_entropy_with_logits(x, (x < 0).float(), pos_weight=ember.ones(3) * 2)]
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    tt = torch.tensor([1, 2])
    tf = torch.nn.functional
    refs = [tf.softmax(xt, 1), tf.log_softmax(xt, 1), tf.cross_entropy(xt, tt),
            tf.cross_entropy(xt, tt, label_smoothing=0.1), xt.log_softmax(-1),
            tf.binary_cross_entropy_with_logits(xt, (xt > 0).float()),
            tf.binary_cross_entropy_with_logits(xt, (xt < 0).float(), pos_weight=torch.ones(3) * 2)]
    for i, (e, r) in enumerate(zip(outs, refs)):
        assert np.isfinite(e.detach().numpy()).all(), f'output {i} not finite'
        np.testing.assert_allclose(e.detach().numpy(), r.detach().numpy(), rtol=1e-5, atol=1e-3)
        (g,) = ember.autograd.grad(e.sum(), [x])
        (gt,) = torch.autograd.grad(r.sum(), [xt])
        assert np.isfinite(g.detach().numpy()).all(), f'gradient {i} not finite'
        np.testing.assert_allclose(g.detach().numpy(), gt.numpy(), rtol=1e-5, atol=1e-5)


def test_cosine_similarity_of_zero_vectors_matches_torch():
    x = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    y = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    xe, ye = ember.tensor(x, requires_grad=True), ember.tensor(y, requires_grad=True)
    xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    e = F.cosine_similarity(xe, ye, eps=1e-3)
    t = torch.nn.functional.cosine_similarity(xt, yt, eps=1e-3)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy())
    e.sum().backward()
    t.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())
    np.testing.assert_allclose(ye.grad.numpy(), yt.grad.numpy())


def test_bce_clamps_log_at_minus_100():
    x = ember.tensor([0.0, 1.0, 1e-45], requires_grad=True)
    e = F.binary_cross_entropy(x, ember.tensor([1.0, 0.0, 1.0]), reduction='none')
    assert e.tolist() == [100.0, 100.0, 100.0]
    e.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]   # NOTE: zero where clamped (torch: huge)


def _sdpa_like_torch(q, k, v, mask):
    """Output and query gradient of masked attention, ember against torch (float64)."""
    qe, qt = ember.tensor(q, requires_grad=True), torch.tensor(q, requires_grad=True)
    e = F.scaled_dot_product_attention(qe, ember.tensor(k), ember.tensor(v), ember.tensor(mask))
    t = torch.nn.functional.scaled_dot_product_attention(qt, torch.tensor(k), torch.tensor(v),
                                                         torch.tensor(mask))
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), atol=1e-12)
    e.sum().backward()
    t.sum().backward()
    np.testing.assert_allclose(qe.grad.numpy(), qt.grad.numpy(), atol=1e-12)


def test_sdpa_fully_masked_row_gives_zeros_like_torch():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((1, 3, 4)) for _ in range(3))
    mask = np.ones((3, 3), bool)
    mask[1] = False
    _sdpa_like_torch(q, k, v, mask)


def test_sdpa_on_heads_split_from_one_projection_like_torch():
    """q, k and v as a GPT makes them: views of one (B, T, 3 d) projection with heads split
    off (batch axes that do not fold into one stride, copied once for the products on the
    GPU); output and the projection's gradient against torch, causal, on the test device.
    An in-place change to the projection before backward raises, as torch's."""
    rng = np.random.default_rng(3)
    x, g = rng.standard_normal((2, 5, 24)), rng.standard_normal((2, 2, 5, 4))
    out = {}
    for m, mk in ((ember, E), (torch, T)):
        p = mk(x).requires_grad_()
        qkv = p * 1.0
        q, k, v = (z.reshape(2, 5, 2, 4).transpose(1, 2) for z in qkv.split(8, dim=2))
        o = m.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        o.backward(mk(g), retain_graph=True)
        out[m.__name__] = host(o), host(p.grad)
        with torch.no_grad() if m is torch else ember.no_grad():
            qkv.add_(1.0)
        with pytest.raises(RuntimeError, match='inplace'):   # (torch names the split views)
            o.backward(mk(g))
    for e, t in zip(out['ember'], out['torch']):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('mask', [np.array([True, False, True, True]), np.array(True),
                                  np.array([0.5, -np.inf, 0.0, 1.0])])
def test_sdpa_mask_of_fewer_dimensions_broadcasts_like_torch(mask):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4), (2, 4, 4), (2, 4, 2)))
    _sdpa_like_torch(q, k, v, mask)


@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_layer_norm_in_half_precision_like_torch(dtype):
    x = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32) * 3 + 1
    w = np.linspace(0.5, 1.5, 8, dtype=np.float32)
    out = {}
    for m, mk in ((ember, E), (torch, T)):
        dt = getattr(m, dtype)
        xt = mk(x).to(dt).requires_grad_()
        y = m.nn.functional.layer_norm(xt, (8,), mk(w).to(dt), mk(np.zeros(8, np.float32)).to(dt))
        (y.float() * mk(np.arange(40.0, dtype=np.float32).reshape(5, 8))).sum().backward()
        out[m.__name__] = host(y.float()), host(xt.grad.float())
    tol = 1e-2 if dtype == 'float16' else 5e-2
    for a, b in zip(out['ember'], out['torch']):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * 4)


def test_layer_norm_of_rows_far_from_zero_in_float32_like_torch():
    """Rows whose mean is large against their spread (1000 + N(0, 1)), one row whose first
    element is far out, one constant row: float32 statistics that square before they
    subtract lose every digit of such a variance; ember's (on the GPU, sums shifted by each
    row's first element) keep it. Against torch in float64 on the same values, ember's
    float32 errors stay within twice torch's float32 errors (or 1e-5 of the largest value)."""
    rng = np.random.default_rng(7)
    x = (1000 + rng.standard_normal((6, 512))).astype(np.float32)
    x[1, 0] = 1100.0
    x[2] = 1000.0   # (a constant whose mean is exact: its normalised row is 0)
    w, b = rng.standard_normal(512).astype(np.float32), rng.standard_normal(512).astype(np.float32)
    g = rng.standard_normal((6, 512)).astype(np.float32)

    def run(m, mk, dtype):
        xt, wt, bt = (mk(a.astype(dtype)).requires_grad_() for a in (x, w, b))
        y = m.nn.functional.layer_norm(xt, (512,), wt, bt)
        y.backward(mk(g.astype(dtype)))
        return [host(t).astype(np.float64) for t in (y, xt.grad, wt.grad, bt.grad)]
    exact = run(torch, T, np.float64)
    for name, e, t, r in zip(('y', 'x.grad', 'w.grad', 'b.grad'), run(ember, E, np.float32),
                             run(torch, T, np.float32), exact):
        bound = max(2 * np.abs(t - r).max(), 1e-5 * np.abs(r).max())
        assert np.abs(e - r).max() <= bound, (name, np.abs(e - r).max(), bound)


def test_sdpa_dropout_is_seeded():
    q = ember.randn(2, 4, 8)
    ember.manual_seed(3)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    ember.manual_seed(3)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert bool((a == b).all())
    assert not bool((a == F.scaled_dot_product_attention(q, q, q)).all())


# ---------------------------------------------------------------- the talk's API

def test_tensor_uniform_is_a_seeded_leaf():
    ember.manual_seed(11)
    w = ember.Tensor.uniform(30, 20)
    assert w.shape == (30, 20) and w.requires_grad and w.is_leaf and w.dtype == ember.float32
    assert float(w.abs().amax()) < 1 / np.sqrt(600)
    assert float(w.abs().amax()) > 0.9 / np.sqrt(600)
    ember.manual_seed(11)
    assert bool((ember.Tensor.uniform((30, 20)) == w).all())


def test_embedding_max_norm_renormalises_rows_like_torch():
    rng = np.random.default_rng(0)
    w, idx = rng.standard_normal((5, 3)) * 2, np.array([[0, 2], [2, 4]])
    we, wt = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    e = F.embedding(ember.tensor(idx), we, max_norm=1.5, norm_type=3.0)
    t = torch.nn.functional.embedding(torch.tensor(idx), wt, max_norm=1.5, norm_type=3.0)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(we.detach().numpy(), wt.detach().numpy(), rtol=1e-12)
    e.sum().backward()
    t.sum().backward()
    np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy())


def test_embedding_freq_double_backward_is_its_backward():
    """With scale_grad_by_freq, the weight's gradient is linear in the output gradient g
    (each row's sum of g divided by its count); ember's double backward with respect to g is
    that map's transpose, taken here from torch's first-order gradient at each unit g (torch's
    own double backward leaves out the 1 / count)."""
    rng = np.random.default_rng(0)
    idx, w, v = np.array([[0, 2, 2], [1, 2, 0]]), rng.standard_normal((4, 3)), \
        rng.standard_normal((4, 3))
    we, g = E(w).requires_grad_(), E(np.zeros((2, 3, 3))).requires_grad_()
    (gw,) = ember.autograd.grad(F.embedding(E(idx), we, scale_grad_by_freq=True), [we], g,
                                create_graph=True)
    (dg,) = ember.autograd.grad((gw * E(v)).sum(), [g])
    wt = T(w, requires_grad=True)
    out = torch.nn.functional.embedding(T(idx), wt, scale_grad_by_freq=True)
    want = np.zeros(g.shape)
    for k in np.ndindex(*g.shape):
        unit = np.zeros(g.shape)
        unit[k] = 1.0
        (tw,) = torch.autograd.grad(out, [wt], T(unit), retain_graph=True)
        want[k] = (host(tw) * v).sum()
    np.testing.assert_allclose(host(dg), want, rtol=1e-12, atol=1e-12)
    assert not np.allclose(want, v[idx])   # rows seen once and twice: the counts matter


def test_logsoftmax_is_last_dim():
    x = ember.randn(2, 3, 4)
    np.testing.assert_allclose(x.logsoftmax().numpy(), F.log_softmax(x, -1).numpy())


# ---------------------------------------------------------------- errors

def e_t(a, dtype=None):
    return ember.tensor(np.asarray(a, dtype=dtype)), torch.tensor(np.asarray(a, dtype=dtype))


X = np.zeros((3, 4), 'float32')
ERRORS = [
    ('cross_entropy', (X, np.array([0, 1])), {}, ValueError, r'target of shape \[3\].*got \[2\]'),
    ('cross_entropy', (X, np.array([0, 1, 4])), {}, IndexError,
     r'target 4 is out of bounds for 4 classes; valid class indices are 0..3'),
    ('cross_entropy', (X, np.array([0, -2, 1])), {}, IndexError, r'target -2 is out of bounds'),
    ('cross_entropy', (X, np.zeros(3, 'float32')), {}, RuntimeError, r'integer dtype'),
    ('cross_entropy', (X, np.array([0, 1, 2])), {'reduction': 'avg'}, ValueError,
     r"'avg' is not a valid value for reduction"),
    ('cross_entropy', (X, np.ones((3, 4), 'float32') / 4), {'ignore_index': 0}, RuntimeError,
     r'ignore_index is not supported'),
    ('cross_entropy', (X, np.array([0, 1, 2])), {'label_smoothing': 1.5}, RuntimeError,
     r'label_smoothing must be between'),
    ('nll_loss', (X, np.array([0, 1, 9])), {}, IndexError, r'target 9 is out of bounds'),
    ('mse_loss', (X, X), {'reduction': 'mea'}, ValueError, r'not a valid value for reduction'),
    ('binary_cross_entropy', (X[0] + 0.5, X[0, :3]), {}, ValueError, r'must match input shape'),
    ('binary_cross_entropy', (X + 1.5, X), {}, RuntimeError, r'between 0 and 1'),
    ('layer_norm', (X, (3,)), {}, RuntimeError, r'normalized_shape=\[3\].*\[3, 4\]'),
    ('group_norm', (np.zeros((2, 6, 4), 'float32'), 4), {}, RuntimeError,
     r'divisible by num_groups.*\[2, 6, 4\] and num_groups=4'),
    ('batch_norm', (np.zeros((1, 3), 'float32'), np.zeros(3, 'float32'),
                    np.ones(3, 'float32')), {'training': True}, ValueError,
     r'more than 1 value per channel'),
    ('dropout', (X, 1.5), {}, ValueError, r'between 0 and 1, but got 1.5'),
    ('embedding', (np.array([5]), X), {}, IndexError, r'index 5 out of range.*0..2'),
    ('one_hot', (np.array([1, 5]), 3), {}, RuntimeError, r'class values must be in 0..2'),
    ('one_hot', (np.array([1.0]),), {}, RuntimeError, r'int64'),
]


@pytest.mark.parametrize('name,args,kw,exc,match', ERRORS,
                         ids=[f'{e[0]}-{i}' for i, e in enumerate(ERRORS)])
def test_errors_are_clear_and_match_torch_types(name, args, kw, exc, match):
    em = [ember.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    tm = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    with pytest.raises(exc, match=match) as info:
        getattr(F, name)(*em, **kw)
    assert name in str(info.value)
    with pytest.raises(exc):
        getattr(torch.nn.functional, name)(*tm, **kw)


@pytest.mark.parametrize('fn', ['softmax', 'log_softmax'])
@pytest.mark.parametrize('dim', [0, 1, -1])
def test_softmax_special_rows_match_torch(fn, dim):
    """Rows (along any dim) of all -inf, with +inf or nan, and extreme finite logits, on the
    test device (on a GPU, ember's kernels): the values and gradients torch gives, nan where
    torch's are nan."""
    inf = np.inf
    x = np.array([[-inf, -inf, -inf, -inf], [1e4, -1e4, 0.0, 3.0], [inf, 1.0, 2.0, 0.5],
                  [np.nan, 1.0, 2.0, 3.0], [0.5, -0.25, 2.0, -3.0]])
    g = np.linspace(-1, 1, x.size).reshape(x.shape)
    out = []
    for m, make in ((ember, E), (torch, T)):
        t = make(x).requires_grad_()
        y = getattr(m.nn.functional, fn)(t, dim=dim)
        (gx,) = m.autograd.grad(y, [t], make(g))
        out.append((host(y), host(gx)))
    for e, t in zip(*out):
        np.testing.assert_allclose(e, t, rtol=1e-6, atol=1e-9, equal_nan=True)
