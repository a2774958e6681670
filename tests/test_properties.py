"""Property-based tests against PyTorch: broadcasting of binary ops, and indexing
(``x[idx]`` and ``x[idx] = v``) with random shapes and random valid index expressions."""
import numpy as np
import pytest
import torch
from hypothesis import example, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import ember
from tests.helpers import DEVICE, TORCH_DEVICE, host

# the number of examples and their randomness come from the profile conftest.py loads
SETTINGS = settings(deadline=None)


def both(a, requires_grad=True):
    """The same float64 array as an ember and a torch tensor (on the test device)."""
    e = ember.tensor(a, device=DEVICE)
    e.requires_grad = requires_grad
    return e, torch.tensor(a, requires_grad=requires_grad, device=TORCH_DEVICE)


def close(e, t):
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(host(e), host(t), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- broadcasting

@SETTINGS
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4),
       st.sampled_from(['add', 'mul']), st.integers(0, 2 ** 16))
def test_broadcast_binary_ops_match_torch(shapes, op, seed):
    rng = np.random.default_rng(seed)
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    (ea, ta), (eb, tb) = both(rng.standard_normal(sa)), both(rng.standard_normal(sb))
    fn = (lambda a, b: a + b) if op == 'add' else (lambda a, b: a * b)
    eo, to = fn(ea, eb), fn(ta, tb)
    assert tuple(eo.shape) == tuple(out_shape)
    close(eo, to)
    seed_grad = rng.standard_normal(out_shape)
    eg = ember.autograd.grad(eo, [ea, eb], ember.tensor(seed_grad, device=DEVICE))
    tg = torch.autograd.grad(to, [ta, tb], torch.tensor(seed_grad, device=TORCH_DEVICE))
    for e, t in zip(eg, tg):
        close(e, t)


@st.composite
def incompatible_shapes(draw):
    """Two shapes that do not broadcast: some aligned pair of sizes differs and neither is 1."""
    a = draw(st.lists(st.integers(0, 4), min_size=1, max_size=4))
    b = list(a[draw(st.integers(0, len(a) - 1)):])
    k = draw(st.integers(1, len(b)))   # counted from the end
    b[-k] = draw(st.integers(2, 5).filter(lambda s: s != a[-k]))
    if a[-k] == 1:
        a[-k] = draw(st.integers(2, 5).filter(lambda s: s != b[-k]))
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    return tuple(a), tuple(lead + b)


@SETTINGS
@given(incompatible_shapes(), st.sampled_from(['add', 'mul']), st.booleans())
def test_incompatible_shapes_raise_in_both(shapes, op, swap):
    sa, sb = shapes[::-1] if swap else shapes
    with pytest.raises(ValueError):
        np.broadcast_shapes(sa, sb)
    for m in (ember, torch):
        a, b = m.zeros(sa), m.zeros(sb)
        with pytest.raises(RuntimeError):
            (a + b) if op == 'add' else (a * b)


# ---------------------------------------------------------------- type promotion

PROMOTE_DTYPES = ['bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float32', 'float64',
                  'complex64', 'complex128']
PROMOTE_OPS = {
    'add': lambda m, a, b: a + b if isinstance(a, m.Tensor) else b.__radd__(a),
    'sub': lambda m, a, b: m.sub(a, b) if isinstance(a, m.Tensor) else b.__rsub__(a),
    'mul': lambda m, a, b: m.mul(a, b) if isinstance(a, m.Tensor) else b * a,
    'div': lambda m, a, b: m.div(a, b) if isinstance(a, m.Tensor) else b.__rtruediv__(a),
    'maximum': lambda m, a, b: m.maximum(*(x if isinstance(x, m.Tensor) else
                                           m.tensor(x, device=dev(m)) for x in (a, b))),
    'lt': lambda m, a, b: a < b,
    'eq': lambda m, a, b: a == b,
    'where': lambda m, a, b: m.where(m.tensor([True, False, True], device=dev(m)), a, b),
    'bitwise_or': lambda m, a, b: a | b if isinstance(a, m.Tensor) else b.__ror__(a),
}


def dev(m):
    return DEVICE if m is ember else TORCH_DEVICE


def operand(m, kind, dtype, values):
    """A tensor of 3 elements, a 0-d tensor or a Python number, of ``dtype``'s kind."""
    if dtype[0] == 'c':   # (never 0: complex division by 0 has no one answer)
        values = values + 0.5j
    if kind == 'scalar':
        v = values[0].item()
        return bool(v) if dtype == 'bool' else float(v) + 0.5 if dtype[0] == 'f' else \
            complex(v) if dtype[0] == 'c' else int(v)
    a = values if kind == 'tensor' else values[0]
    return m.tensor(a, dtype=getattr(m, dtype), device=dev(m))


@SETTINGS
@given(st.sampled_from(PROMOTE_DTYPES), st.sampled_from(PROMOTE_DTYPES),
       st.sampled_from(['tensor', '0d', 'scalar']), st.sampled_from(['tensor', '0d', 'scalar']),
       st.sampled_from(sorted(PROMOTE_OPS)), st.integers(0, 2 ** 16))
# always tried: a 0-d tensor of a higher dtype of the same kind (no part in the result),
# a Python float with integers, uint8 with int8 (int16), bool with a Python int, sub of bools
@example('float32', 'float64', 'tensor', '0d', 'add', 0)
@example('int32', 'float64', 'tensor', 'scalar', 'mul', 0)
@example('int8', 'float64', 'tensor', '0d', 'lt', 0)
@example('uint8', 'int8', 'tensor', 'tensor', 'maximum', 0)
@example('bool', 'int64', 'tensor', 'scalar', 'add', 0)
@example('int64', 'bool', 'tensor', 'tensor', 'sub', 0)
@example('bool', 'float32', 'scalar', 'tensor', 'sub', 0)
def test_type_promotion_matches_torch(da, db, ka, kb, op, seed):
    """A binary op on two operands of random dtypes, each a tensor, a 0-d tensor or a Python
    number: the result's dtype and values are torch's, or both refuse."""
    if 'tensor' not in (ka, kb) and (ka, kb) != ('0d', '0d'):
        ka = 'tensor'
    rng = np.random.default_rng(seed)
    vals = [rng.integers(0, 4 if d != 'bool' else 2, 3).astype(d) for d in (da, db)]
    res = []
    for m in (ember, torch):
        a, b = operand(m, ka, da, vals[0]), operand(m, kb, db, vals[1])
        try:
            res.append(PROMOTE_OPS[op](m, a, b))
        except (RuntimeError, TypeError) as err:
            res.append(err)
    e, t = res
    if isinstance(t, Exception):
        assert isinstance(e, Exception), f'torch refused ({t}), ember gave {e}'
        return
    assert not isinstance(e, Exception), f'ember refused ({e}), torch gave {t}'
    assert str(e.dtype).split('.')[-1] == str(t.dtype).split('.')[-1], (e.dtype, t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(host(e).astype(np.complex128), host(t).astype(np.complex128),
                               rtol=1e-6)


@SETTINGS
@given(st.sampled_from(PROMOTE_DTYPES), st.sampled_from(PROMOTE_DTYPES),
       st.sampled_from(['tensor', '0d', 'scalar']), st.sampled_from(['tensor', '0d']))
def test_result_type_matches_torch(da, db, ka, kb):
    vals = [np.ones(3, dtype=d) for d in (da, db)]
    got = [str(m.result_type(operand(m, ka, da, vals[0]), operand(m, kb, db, vals[1])))
           .split('.')[-1] for m in (ember, torch)]
    assert got[0] == got[1]


# ---------------------------------------------------------------- indexing

@st.composite
def index_exprs(draw, unique=False):
    """A shape and a valid index for it, as a builder ``make(m)`` (for ember or torch).

    Items walk the dimensions left to right: ints (negative too), slices with positive steps,
    None, at most one Ellipsis, and either integer arrays (lists or int64 tensors, all of one
    length so they broadcast) or one bool mask (over one or several dimensions). ``unique``
    keeps integer arrays free of repeated positions (for deterministic assignment).
    """
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=4)))
    advanced = draw(st.sampled_from(['none', 'ints', 'mask']))
    n_arr = draw(st.integers(1, 3))
    items, dim, used_ellipsis, used_mask = [], 0, False, False
    while dim < len(shape):
        kind = draw(st.sampled_from(['int', 'slice', 'none', 'ellipsis', 'array', 'stop']))
        size = shape[dim]
        if kind == 'stop' and not used_ellipsis:   # after ..., items must reach the end
            break
        if kind == 'stop':
            kind = 'slice'
        if kind == 'none':
            items.append(('none',))
            continue
        if kind == 'ellipsis':
            if used_ellipsis:
                continue
            used_ellipsis = True
            skip = draw(st.integers(0, len(shape) - dim))
            items.append(('ellipsis',))
            dim += skip
            continue
        if kind == 'int':
            items.append(('int', draw(st.integers(-size, size - 1))))
        elif kind == 'slice':
            start = draw(st.none() | st.integers(-size - 1, size + 1))
            stop = draw(st.none() | st.integers(-size - 1, size + 1))
            step = draw(st.none() | st.integers(1, 3))
            items.append(('slice', start, stop, step))
        elif advanced == 'ints':
            if unique:
                vals = draw(st.permutations(range(-size, size)))[:min(n_arr, size)]
                vals = sorted(set(v % size for v in vals))[:n_arr]
                n_arr = len(vals)
            else:
                vals = draw(st.lists(st.integers(-size, size - 1), min_size=n_arr,
                                     max_size=n_arr))
            items.append(('ints', vals, draw(st.booleans())))
            unique = False   # only the first array needs distinct values
        elif advanced == 'mask' and not used_mask:
            k = draw(st.integers(1, len(shape) - dim))   # a mask may span several dims
            used_mask = True
            mask = draw(hnp.arrays(np.bool_, shape[dim:dim + k]))
            items.append(('mask', mask))
            dim += k - 1
        else:
            items.append(('slice', None, None, None))
        dim += 1
    if advanced == 'ints':   # arrays given as tensors and as lists must keep one length
        lengths = {len(i[1]) for i in items if i[0] == 'ints'}
        if len(lengths) > 1:
            items = [i if i[0] != 'ints' else ('ints', i[1][:min(lengths)], i[2])
                     for i in items]

    return shape, builder(items)


def builder(items):
    """``make(m)``: the index that ``items`` describe, for ember or torch."""
    def make(m):
        out = []
        for item in items:
            kind = item[0]
            if kind == 'int':
                out.append(item[1])
            elif kind == 'slice':
                out.append(slice(*item[1:]))
            elif kind == 'none':
                out.append(None)
            elif kind == 'ellipsis':
                out.append(Ellipsis)
            elif kind == 'ints':
                out.append(m.tensor(item[1], dtype=m.int64) if item[2] else list(item[1]))
            else:
                out.append(m.tensor(item[1]))
        return tuple(out)
    return make


# Index expressions where torch and NumPy read an index differently, always tried (the
# derandomized profile's 40 draws need not reach them): an int and an integer array split by a
# slice (torch applies the int first; NumPy moves the broadcast dimensions to the front), a
# list and a tensor of indices together, a mask over two dimensions after a slice, None and
# ... around an array, negative ints and indices.
ALL, MASK2 = ('slice', None, None, None), np.array([[True, False, True], [False, True, True]])
TRICKY = [
    ((2, 3, 4), [('int', 1), ALL, ('ints', [0, 3], True)]),
    ((2, 3, 4), [('ints', [1, 0], False), ALL, ('int', -1)]),
    ((3, 2, 4), [('int', -2), ('slice', None, None, 2), ('ints', [2, 1, 0], True)]),
    ((2, 3, 4, 2), [ALL, ('ints', [1, 0], True), ALL, ('ints', [-1, 0], False)]),
    ((4, 2, 3), [ALL, ('mask', MASK2)]),
    ((2, 3, 4), [('none',), ('ellipsis',), ('ints', [3, -4], True), ('none',)]),
    ((3, 4), [('ints', [-1, 0], True), ('slice', 1, -1, None)]),
    # ... standing for no dimension between two arrays: adjacent for torch, not for NumPy
    ((2, 1, 1, 1), [ALL, ('ints', [0], False), ('int', 0), ('ellipsis',), ('ints', [0], False)]),
    ((3, 3, 4), [ALL, ('ints', [0, 2], True), ('ellipsis',), ('ints', [1, 3], True)]),
]


def tricky(fn):
    for shape, items in TRICKY:
        fn = example((shape, builder(items)), 0)(fn)
    return fn


@SETTINGS
@given(index_exprs(), st.integers(0, 2 ** 16))
@tricky
def test_getitem_matches_torch(expr, seed):
    shape, make = expr
    rng = np.random.default_rng(seed)
    ex, tx = both(rng.standard_normal(shape))
    eo, to = ex[make(ember)], tx[make(torch)]
    close(eo, to)
    g = rng.standard_normal(tuple(to.shape))
    (eg,) = ember.autograd.grad(eo, [ex], ember.tensor(g, device=DEVICE))
    (tg,) = torch.autograd.grad(to, [tx], torch.tensor(g, device=TORCH_DEVICE))
    close(eg, tg)


@SETTINGS
@given(index_exprs(unique=True), st.booleans(), st.integers(0, 2 ** 16))
@example(((2, 3, 4), builder(TRICKY[0][1])), False, 0)
@example(((2, 3, 4, 2), builder(TRICKY[3][1])), False, 1)
@example(((4, 2, 3), builder(TRICKY[4][1])), True, 0)
@example(((3, 3, 4), builder(TRICKY[-1][1])), False, 0)
def test_setitem_matches_torch(expr, scalar, seed):
    shape, make = expr
    rng = np.random.default_rng(seed)
    ex, tx = both(rng.standard_normal(shape))
    with torch.no_grad():
        region = tuple(tx[make(torch)].shape)
    if scalar:
        ev = tv = 1.5
    else:
        ev, tv = both(rng.standard_normal(region[draw_lead(rng, region):]))
    ey, ty = ex * 1, tx * 1
    ey[make(ember)] = ev
    ty[make(torch)] = tv
    close(ey, ty)
    g = rng.standard_normal(shape)
    leaves_e = [ex] if scalar else [ex, ev]
    leaves_t = [tx] if scalar else [tx, tv]
    eg = ember.autograd.grad(ey, leaves_e, ember.tensor(g, device=DEVICE))
    tg = torch.autograd.grad(ty, leaves_t, torch.tensor(g, device=TORCH_DEVICE))
    for e, t in zip(eg, tg):
        close(e, t)


def draw_lead(rng, region):
    """How many leading dimensions of the indexed region the value leaves out (it is then
    broadcast over them)."""
    return int(rng.integers(0, len(region) + 1))


# ---------------------------------------------------------------- attention

@SETTINGS
@given(st.lists(st.integers(1, 3), max_size=2), st.integers(1, 5), st.integers(1, 5),
       st.integers(1, 4), st.integers(1, 4),
       st.sampled_from(['none', 'causal', 'bool', 'float', 'bool_row', 'float_row']),
       st.integers(0, 2 ** 16))
def test_attention_matches_torch(batch, L, S, E, Ev, mask_kind, seed):
    """scaled_dot_product_attention (ember's fused op where it applies) against torch: random
    batch dimensions, query and key lengths, head sizes and masks, including queries whose
    every key is masked (torch's safe softmax gives them zeros)."""
    rng = np.random.default_rng(seed)
    batch = tuple(batch)
    (eq, tq), (ek, tk), (ev, tv) = (both(rng.standard_normal(batch + s))
                                    for s in ((L, E), (S, E), (S, Ev)))
    kw_e, kw_t = {}, {}
    if mask_kind == 'causal':
        kw_e['is_causal'] = kw_t['is_causal'] = True
    elif mask_kind != 'none':
        shape = (1, S) if mask_kind.endswith('_row') else (L, S)   # (torch rejects (S,) on 4-D)
        keep = rng.random(shape) < 0.6
        mask = keep if mask_kind.startswith('bool') else np.where(keep, rng.standard_normal(
            shape), -np.inf)
        kw_e['attn_mask'] = ember.tensor(mask, device=DEVICE)
        kw_t['attn_mask'] = torch.tensor(mask, device=TORCH_DEVICE)
    eo = ember.nn.functional.scaled_dot_product_attention(eq, ek, ev, **kw_e)
    to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **kw_t)
    close(eo, torch.nan_to_num(to) if mask_kind.startswith('float') else to)
    seed_grad = rng.standard_normal(tuple(to.shape))
    eg = ember.autograd.grad(eo, [eq, ek, ev], ember.tensor(seed_grad, device=DEVICE))
    tg = torch.autograd.grad(to, [tq, tk, tv], torch.tensor(seed_grad, device=TORCH_DEVICE))
    for e, t in zip(eg, tg):
        close(e, torch.nan_to_num(t) if mask_kind.startswith('float') else t)


# ---------------------------------------------------------------- layer norm

@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=4, max_side=5), st.integers(1, 2),
       st.sampled_from(['weight_bias', 'weight', 'none']), st.integers(0, 2 ** 16))
def test_layer_norm_matches_torch(shape, k, affine, seed):
    """layer_norm (ember's fused op when there is a weight) against torch: random shapes,
    one or two normalised dimensions, with and without weight and bias."""
    k = min(k, len(shape))
    rng = np.random.default_rng(seed)
    norm = shape[len(shape) - k:]
    (ex, tx) = both(rng.standard_normal(shape) * 3 + 1)
    params = [both(rng.standard_normal(norm)) for _ in range({'weight_bias': 2, 'weight': 1,
                                                               'none': 0}[affine])]
    ew, tw = params[0] if params else (None, None)
    eb, tb = params[1] if len(params) > 1 else (None, None)
    eo = ember.nn.functional.layer_norm(ex, norm, ew, eb)
    to = torch.nn.functional.layer_norm(tx, norm, tw, tb)
    np.testing.assert_allclose(host(eo), host(to), rtol=1e-9, atol=1e-9)
    seed_grad = rng.standard_normal(shape)
    eins, tins = [ex] + [p[0] for p in params], [tx] + [p[1] for p in params]
    eg = ember.autograd.grad(eo, eins, ember.tensor(seed_grad, device=DEVICE))
    tg = torch.autograd.grad(to, tins, torch.tensor(seed_grad, device=TORCH_DEVICE))
    for e, t in zip(eg, tg):
        np.testing.assert_allclose(host(e), host(t), rtol=1e-8, atol=1e-8)
