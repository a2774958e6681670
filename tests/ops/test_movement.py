"""Shape and movement ops against PyTorch: one table entry per op, then views and errors."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import NC, UNARY, Case, make_tests

F = 'nn.functional'
ND = [((3, 4),), ((0, 3),), ((2, 3, 4),), (NC((4, 3)),)]          # at least 1-d
MAT = [((3, 4),), ((2, 3, 4),), ((0, 3),), (NC((4, 3)),), ((4, 2),)]  # at least 2-d
LAST4 = [((3, 4),), ((2, 3, 4),), ((0, 4),), (NC((3, 4)),)]          # last dim 4


def pad(m, *args, **kw):
    return m.nn.functional.pad(*args, **kw)


CASES = [
    # existing views
    Case('reshape', lambda m, a: a.reshape(-1, 2), [((3, 4),), ((2, 3, 4),), (NC((4, 3)),)]),
    Case('reshape_0d', lambda m, a: a.reshape(1, 1), [((),)]),
    Case('view', lambda m, a: a.view(-1), [((3, 4),), ((),), ((0, 3),)]),
    Case('view_keep_nc', lambda m, a: a.view(4, 1, 3), [((4, 3),), (NC((4, 3)),)]),
    Case('expand', lambda m, a: a.expand(2, -1, 4), [((3, 1),), ((1, 4),), (NC((3, 1)),)]),
    Case('permute', lambda m, a: a.permute(2, 0, 1), [((2, 3, 4),), ((0, 1, 2),)]),
    Case('transpose', lambda m, a: a.transpose(0, -1), MAT),
    Case('t', lambda m, a: a.t(), [((3, 4),), ((3,),), (NC((4, 3)),)]),
    Case('squeeze', lambda m, a: a.squeeze(), [((1, 3, 1),), ((),), ((1, 0),)]),
    Case('squeeze_dims', lambda m, a: a.squeeze((0, 2)), [((1, 3, 1),), ((1, 3, 2),)]),
    Case('unsqueeze', lambda m, a: a.unsqueeze(-1), UNARY),
    Case('clone', lambda m, a: a.clone(), UNARY),
    Case('contiguous', lambda m, a: a.contiguous(), UNARY),
    # reshaping composites
    Case('flatten', lambda m, a: a.flatten(), UNARY),
    Case('flatten_range', lambda m, a: m.flatten(a, 1, -1), MAT),
    Case('flatten_same', lambda m, a: a.flatten(1, 1), MAT[:2]),
    Case('unflatten', lambda m, a: a.unflatten(-1, (2, -1)), LAST4),
    Case('movedim', lambda m, a: m.movedim(a, 0, -1), [((2, 3, 4),), (NC((4, 3)),)]),
    Case('movedim_tuple', lambda m, a: a.movedim((0, 1), (2, 0)), [((2, 3, 4),), ((0, 2, 3),)]),
    Case('repeat', lambda m, a: a.repeat(2, 1, 3), [((3, 4),), ((),), ((0, 3),), ((2, 3, 4),),
                                                     (NC((4, 3)),)]),
    Case('repeat_zero', lambda m, a: a.repeat(0, 2), [((3, 4),)]),
    Case('tile', lambda m, a: a.tile((2,)), UNARY),
    Case('flip', lambda m, a: a.flip(0, -1), MAT),
    Case('flip_1d', lambda m, a: m.flip(a, (0,)), [((5,),), ((0,),)]),
    Case('fliplr', lambda m, a: m.fliplr(a), MAT[:2]),
    Case('flipud', lambda m, a: m.flipud(a), ND),
    Case('roll', lambda m, a: a.roll(1, 0), ND),
    Case('roll_tuple', lambda m, a: m.roll(a, (1, -2), (0, -1)), MAT),
    Case('roll_flat', lambda m, a: a.roll(5), UNARY),
    Case('tril', lambda m, a: a.tril(), MAT),
    Case('tril_k', lambda m, a: m.tril(a, -1), MAT[:2]),
    Case('triu', lambda m, a: a.triu(), MAT),
    Case('triu_k', lambda m, a: m.triu(a, 2), MAT[:2]),
    Case('diagonal', lambda m, a: a.diagonal(), MAT),
    Case('diagonal_offset', lambda m, a: m.diagonal(a, 1), MAT),
    Case('diagonal_neg', lambda m, a: a.diagonal(-2, 0, -1), [((3, 4),), ((4, 2, 3),)]),
    Case('diagonal_dims', lambda m, a: a.diagonal(0, -1, 0), [((2, 3, 4),), ((4, 3, 2),)]),
    # joining
    Case('cat', lambda m, a, b: m.cat([a, b], 1),
         [((3, 4), (3, 2)), ((0, 4), (0, 1)), (NC((4, 3)), (4, 1)), ((2, 1, 3), (2, 2, 3))]),
    Case('cat_dim0', lambda m, a, b, c: m.cat((a, b, c)),
         [((2, 3), (1, 3), (0, 3)), ((1,), (3,), (2,))]),
    Case('cat_neg_dim', lambda m, a, b: m.concat([a, b], dim=-1), [((2, 3), (2, 1))]),
    Case('cat_legacy_empty', lambda m, a, b: m.cat([a, b]), [((0,), (2, 3)), ((2, 3), (0,))]),
    Case('cat_promote', lambda m, a, b: m.cat([a, b]), [((2, 3), (1, 3))], ints=((1, -5, 5),)),
    Case('stack', lambda m, a, b: m.stack([a, b]), [((3, 4), (3, 4)), ((), ()), ((0, 2), (0, 2)),
                                                    (NC((4, 3)), (4, 3))]),
    Case('stack_dim', lambda m, a, b, c: m.stack((a, b, c), -1), [((3, 4),) * 3, ((2,),) * 3]),
    Case('hstack', lambda m, a, b: m.hstack([a, b]), [((3, 4), (3, 2)), ((3,), (2,)), ((), ())]),
    Case('vstack', lambda m, a, b: m.vstack([a, b]), [((3, 4), (2, 4)), ((3,), (3,)), ((), ())]),
    # splitting (tuples of views)
    Case('split', lambda m, a: a.split(2, -1), [((3, 4),), ((3, 5),), ((2, 0),), (NC((3, 5)),)]),
    Case('split_sizes', lambda m, a: m.split(a, [1, 0, 3], 1), [((2, 4),), (NC((3, 4)),)]),
    Case('split_empty', lambda m, a: a.split(2), [((0,),)]),
    Case('chunk', lambda m, a: a.chunk(3, 0), [((5, 2),), ((6,),), ((2, 2),), ((0, 3),)]),
    Case('unbind', lambda m, a: m.unbind(a, 1), MAT),
    Case('iter', lambda m, a: list(a), [((3, 4),), ((2,),)]),
    Case('narrow', lambda m, a: a.narrow(-1, 1, 2), [((3, 4),), ((2, 3, 4),), (NC((4, 3)),)]),
    Case('narrow_neg_start', lambda m, a: m.narrow(a, 0, -2, 2), [((3, 4),), ((2,),)]),
    Case('select', lambda m, a: a.select(1, -1), MAT),
    Case('select_1d', lambda m, a: m.select(a, 0, 2), [((4,),)]),
    # padding
    Case('pad_constant', lambda m, a: pad(m, a, (1, 2)), UNARY[:1] + ND[1:]),
    Case('pad_value', lambda m, a: pad(m, a, (0, 1, 2, 1), value=-3.5), MAT),
    Case('pad_negative', lambda m, a: pad(m, a, (-1, 2, 1, -1)), [((3, 4),), ((2, 3, 4),)]),
    Case('pad_reflect', lambda m, a: pad(m, a, (2, 1), mode='reflect'),
         [((2, 3, 4),), ((3, 4),)]),
    Case('pad_reflect_2d', lambda m, a: pad(m, a, (1, 1, 2, 0), mode='reflect'),
         [((1, 3, 4),), ((2, 1, 3, 4),)]),
    Case('pad_replicate', lambda m, a: pad(m, a, (3, 1), mode='replicate'),
         [((2, 3, 4),), ((3, 1),)]),
    Case('pad_replicate_3d', lambda m, a: pad(m, a, (1, 0, 0, 2, 1, 1), mode='replicate'),
         [((1, 2, 2, 3, 2),)]),
    Case('pad_circular', lambda m, a: pad(m, a, (2, 3), mode='circular'), [((2, 3, 4),)]),
    Case('pad_circular_2d', lambda m, a: pad(m, a, (1, 2, 2, 1), mode='circular'),
         [((1, 3, 4),), (NC((1, 3, 4)),)]),
    # shapes taken from another tensor, broadcasting, and torch's other names
    Case('expand_as', lambda m, a, b: a.expand_as(b), [((3, 1), (2, 3, 4)), ((), (3, 4)),
                                                       ((1, 4), (0, 4))]),
    Case('view_as', lambda m, a, b: a.view_as(b), [((3, 4), (4, 3)), ((), (1, 1)),
                                                   ((0, 3), (3, 0))]),
    Case('reshape_as', lambda m, a, b: a.reshape_as(b), [((3, 4), (2, 6)), (NC((4, 3)), (12,))]),
    Case('broadcast_to', lambda m, a: m.broadcast_to(a, (2, 3, 4)), [((3, 1),), ((),), ((4,),),
                                                                     ((1, 4),)]),
    Case('atleast_1d', lambda m, a: m.atleast_1d(a), [((),), ((3,),), ((2, 3),)]),
    Case('atleast_2d', lambda m, a: m.atleast_2d(a), [((),), ((3,),), ((2, 3),), ((0,),)]),
    Case('sum_to_size', lambda m, a: a.sum_to_size(3, 1), [((3, 4),), ((2, 3, 4),), ((3, 0),)]),
    Case('sum_to_size_tuple', lambda m, a: a.sum_to_size((1, 4)), [((3, 4),), (NC((4, 4)),)]),
    Case('swapaxes', lambda m, a: m.swapaxes(a, 0, -1) + a.swapaxes(-1, 0), MAT[:2]),
    Case('swapdims', lambda m, a: m.swapdims(a, 0, 1) * a.swapdims(1, 0), [((3, 3),),
                                                                           ((2, 2, 4),)]),
    Case('moveaxis', lambda m, a: m.moveaxis(a, 0, -1) + a.moveaxis(-1, 0).movedim(0, -1)
         .movedim(0, -1),
         [((2, 3, 4),), ((0, 2, 3),)]),
    Case('concatenate', lambda m, a, b: m.concatenate([a, b], 1), [((3, 4), (3, 2))]),
    Case('mT', lambda m, a: a.mT, [((3, 4),), ((2, 3, 4),), (NC((4, 3)),)]),
    Case('T', lambda m, a: a.T, [((3, 4),), ((),), ((5,),)]),
    Case('methods', lambda m, a: a.flip(0).roll(1, 1).tril().triu(-1).diagonal().repeat(2)
         .tile((2,)).unsqueeze(0).squeeze(0).flatten().narrow(0, 1, 3), [((3, 4),)]),
    Case('reshape_fns', lambda m, a: m.reshape(m.permute(m.transpose(a, 0, 1), (1, 0)), (-1,)),
         [((3, 4),), (NC((4, 3)),)]),
    Case('squeeze_fns', lambda m, a: m.unsqueeze(m.squeeze(a), 0), [((1, 3, 1),)]),
    Case('cat_method', lambda m, a, b: m.cat((a, b), dim=-1).chunk(2, 1)[0], [((3, 4), (3, 2))]),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


# ---------------------------------------------------------------- views and copies

def _mutates(view_fn):
    """Write through the base; True when the op's result sees the write."""
    x = ember.arange(24.0).reshape(2, 3, 4)
    out = view_fn(x)
    out = out[0] if isinstance(out, tuple) else out
    before = out.numpy().copy()
    x._data[...] += 100
    return not np.array_equal(before, out.numpy())


@pytest.mark.parametrize('fn', [
    lambda x: x.reshape(6, 4), lambda x: x.flatten(), lambda x: x.unflatten(2, (2, 2)),
    lambda x: x.movedim(0, 2), lambda x: x.narrow(1, 0, 2), lambda x: x.select(0, 1),
    lambda x: x.split(1, 1), lambda x: x.chunk(2, 2), lambda x: x.unbind(1),
    lambda x: x.diagonal(0, 1, 2), lambda x: x.transpose(0, 1), lambda x: x[:, 1:],
], ids=['reshape', 'flatten', 'unflatten', 'movedim', 'narrow', 'select', 'split', 'chunk',
        'unbind', 'diagonal', 'transpose', 'slice'])
def test_views_share_memory_and_version(fn):
    assert _mutates(fn)
    x = ember.arange(24.0).reshape(2, 3, 4)
    out = fn(x)
    out = out[0] if isinstance(out, tuple) else out
    x.add_(1) if hasattr(x, 'add_') else x.fill_(1)
    assert out._version is x._version


@pytest.mark.parametrize('fn', [
    lambda x: x.flip(0), lambda x: x.roll(1, 0), lambda x: x.repeat(1, 1, 1),
    lambda x: x.tril(), lambda x: ember.cat([x, x]), lambda x: ember.stack([x]),
    lambda x: ember.nn.functional.pad(x, (1, 1)), lambda x: x.transpose(0, 2).reshape(-1),
], ids=['flip', 'roll', 'repeat', 'tril', 'cat', 'stack', 'pad', 'reshape_copy'])
def test_copies_do_not_share_memory(fn):
    assert not _mutates(fn)


def test_diagonal_is_writable_like_torch():
    for m in (ember, torch):
        x = m.zeros(3, 3)
        with m.no_grad():
            x.diagonal().fill_(2.0)
        assert x.sum().item() == 6.0


def test_view_of_noncontiguous_raises_like_torch():
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match='view'):
            m.zeros(3, 4).t().view(-1)


def test_split_grad_through_some_pieces():
    for m in (ember, torch):
        x = m.arange(6.0, requires_grad=True)
        a, b, c = x.split(2)
        (a * 2 + c).sum().backward()
        assert x.grad.tolist() == [2.0, 2.0, 0.0, 0.0, 1.0, 1.0]


# ---------------------------------------------------------------- errors

ERRORS = [
    ('cat', lambda m: m.cat([m.zeros(2, 3), m.zeros(2, 4)]), 'dimension 0.*size 3.*size 4'),
    ('cat_ndim', lambda m: m.cat([m.zeros(2, 3), m.zeros(2)]), 'same number of dimensions'),
    ('cat_0d', lambda m: m.cat([m.zeros(())]), 'zero-dimensional'),
    ('cat_empty', lambda m: m.cat([]), 'non-empty'),
    ('stack', lambda m: m.stack([m.zeros(2, 3), m.zeros(2, 4)]), r'\[2, 3\] at entry 0'),
    ('split', lambda m: m.zeros(5).split([2, 2]), 'sum exactly to 5'),
    ('narrow', lambda m: m.zeros(5).narrow(0, 4, 2), r'start \(4\) \+ length \(2\)'),
    ('select', lambda m: m.zeros(3, 4).select(0, 5), 'index 5 out of range'),
    ('repeat', lambda m: m.zeros(3, 4).repeat(2), 'can not be smaller'),
    ('roll', lambda m: m.zeros(3, 4).roll((1, 2), (0,)), 'shifts and dimensions must align'),
    ('flatten', lambda m: m.zeros(2, 3).flatten(1, 0), 'start_dim'),
    ('unflatten', lambda m: m.zeros(5).unflatten(0, (2, 2)), r'\[2, 2\]'),
    ('movedim', lambda m: m.zeros(2, 3).movedim((0, 1), (0,)), 'same number of dims'),
    ('diagonal', lambda m: m.zeros(2, 3).diagonal(0, 1, 1), 'cannot be identical'),
    ('tril', lambda m: m.tril(m.zeros(3)), 'at least 2'),
    ('chunk', lambda m: m.zeros(3).chunk(0), 'greater than 0'),
    ('pad_reflect', lambda m: pad(m, m.zeros(1, 2, 3), (3, 3), mode='reflect'), r'\(3, 3\)'),
    ('pad_dims', lambda m: pad(m, m.zeros(3), (1, 1), mode='reflect'), 'not supported'),
    ('permute', lambda m: m.zeros(2, 3).permute(0), 'input.dim'),
    ('expand', lambda m: m.zeros(2, 3).expand(3, 3), 'must match the existing size'),
]


@pytest.mark.parametrize('fn,pattern', [pytest.param(f, p, id=n) for n, f, p in ERRORS])
def test_errors_like_torch(fn, pattern):
    """Both raise; ember's message carries torch's phrase and the shapes or sizes."""
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(Exception, match=pattern) as e_err:
        fn(ember)
    assert issubclass(e_err.type, (RuntimeError, IndexError, ValueError, NotImplementedError))
    if t_err.type is not RuntimeError:   # torch's RuntimeError subclasses vary; others match
        assert issubclass(e_err.type, t_err.type) or t_err.type is NotImplementedError
