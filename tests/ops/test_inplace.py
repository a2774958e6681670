"""In-place methods and operators against PyTorch, through the op tables: each runs on a
non-leaf copy of its input (``y = a * 1``), must return that tensor itself, and the values and
gradients (first and second order) reaching ``a`` and the other inputs must be torch's. Some
also run on a view (a transpose, a slice) of the copy, where the write reaches the base."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import NC, UNARY, Case, make_tests

POS = (0.1, 3.0)
UNIT = (-0.9, 0.9)
# binary in place: the first input has the broadcast shape
IN_BINARY = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), ()), ((), ()), ((0, 4), (4,)),
             ((2, 3, 4), (3, 1)), (NC((4, 3)), (4, 3))]
# torch has these only as functions (F.elu_ ...) or with inplace=True
TORCH_FN = {
    'celu_': lambda y, *a: torch.nn.functional.celu_(y, *a),
    'elu_': lambda y, *a: torch.nn.functional.elu_(y, *a),
    'hardtanh_': lambda y, *a: torch.nn.functional.hardtanh_(y, *a),
    'leaky_relu_': lambda y, *a: torch.nn.functional.leaky_relu_(y, *a),
    'selu_': lambda y: torch.nn.functional.selu_(y),
    'hardsigmoid_': lambda y: torch.nn.functional.hardsigmoid(y, inplace=True),
    'hardswish_': lambda y: torch.nn.functional.hardswish(y, inplace=True),
    'mish_': lambda y: torch.nn.functional.mish(y, inplace=True),
    'relu6_': lambda y: torch.nn.functional.relu6(y, inplace=True),
    'silu_': lambda y: torch.nn.functional.silu(y, inplace=True),
}


def run(m, y, name, args):
    if m is torch and name in TORCH_FN:
        return TORCH_FN[name](y, *args)
    return getattr(y, name)(*args)


def inplace(name, *args, view=None, suffix='', shapes=None, **kw):
    """``y = a * 1`` (or a view of it), then ``y.<name>(*tensors, *args)``; returns the base."""
    def fn(m, a, *tensors):
        base = a * 1
        y = view(base) if view else base
        r = run(m, y, name, tensors + args)
        assert r is y, f'{name} returned another tensor'
        return base
    n_in = 1 + kw.pop('tensors', 0)
    shapes = shapes or (UNARY if n_in == 1 else IN_BINARY)
    return Case(f'{name}{suffix}', fn, shapes, **kw)


UNARY_INPLACE = [
    inplace('abs_'), inplace('absolute_'), inplace('neg_'), inplace('sign_'),
    inplace('square_'), inplace('exp_'), inplace('exp2_'), inplace('expm1_'),
    inplace('log_', domain=POS), inplace('log2_', domain=POS), inplace('log10_', domain=POS),
    inplace('log1p_', domain=(-0.5, 2.0)), inplace('sqrt_', domain=POS),
    inplace('rsqrt_', domain=POS), inplace('reciprocal_', domain=(0.5, 2.0)),
    inplace('sin_'), inplace('cos_'), inplace('tan_', domain=(-1.2, 1.2)),
    inplace('asin_', domain=UNIT), inplace('arcsin_', domain=UNIT),
    inplace('acos_', domain=UNIT), inplace('arccos_', domain=UNIT),
    inplace('atan_'), inplace('arctan_'), inplace('sinh_'), inplace('cosh_'),
    inplace('tanh_'), inplace('sigmoid_'), inplace('erf_'), inplace('erfc_'),
    inplace('floor_', domain=(-3, 3)), inplace('ceil_', domain=(-3, 3)),
    inplace('round_', domain=(-3, 3)), inplace('trunc_', domain=(-3, 3)),
    inplace('fix_', domain=(-3, 3)), inplace('frac_', domain=(-3, 3)),
    inplace('nan_to_num_'), inplace('zero_'),
    inplace('relu_'), inplace('relu6_', domain=(-2, 8)), inplace('silu_'), inplace('mish_'),
    inplace('selu_', domain=(-3, 3)), inplace('elu_', 1.5, domain=(-3, 3)),
    inplace('celu_', 0.7, domain=(-3, 3)), inplace('leaky_relu_', 0.2),
    inplace('hardtanh_', -0.5, 1.5), inplace('hardswish_', domain=(-5, 5)),
    # torch has no double backward for hardsigmoid (see test_elementwise.py)
    inplace('hardsigmoid_', domain=(-5, 5), second_order=False),
    inplace('clamp_', -0.5, 1.0), inplace('clamp_min_', 0.2), inplace('clamp_max_', 0.3),
    inplace('clip_', -1, 1), inplace('fmod_', 0.7), inplace('remainder_', 0.7),
    inplace('pow_', 2), inplace('pow_', 0.5, suffix='_frac', domain=(0.5, 2.0)),
    inplace('mul_', 2.5, suffix='_scalar'), inplace('div_', 4.0, suffix='_scalar'),
    inplace('add_', 1.5, suffix='_scalar'), inplace('sub_', 0.5, suffix='_scalar'),
    inplace('fill_', 1.5),
    # a 0-d tensor's detach_ gives a tensor outside the graph (no gradient to compare)
    inplace('detach_', grad=False),
]

def add_alpha(m, a, b):
    y = a * 1
    assert y.add_(b, alpha=2.0) is y and y.sub_(b, alpha=0.5) is y
    return y


BINARY_INPLACE = [
    inplace('add_', tensors=1), Case('add_alpha_', add_alpha, IN_BINARY),
    inplace('sub_', tensors=1), inplace('mul_', tensors=1),
    inplace('div_', tensors=1, domain=(0.5, 2.0)), inplace('pow_', tensors=1, suffix='_tensor',
                                                          domain=(0.5, 2.0)),
    inplace('atan2_', tensors=1), inplace('arctan2_', tensors=1),
    inplace('lerp_', 0.3, tensors=1), inplace('fmod_', tensors=1, suffix='_tensor',
                                              domain=(0.5, 3.0)),
    inplace('remainder_', tensors=1, suffix='_tensor', domain=(0.5, 3.0)),
    inplace('floor_divide_', tensors=1, domain=(0.5, 3.0), grad=False),
    inplace('copy_', tensors=1), inplace('clamp_min_', tensors=1, suffix='_tensor'),
    # the operators: y += b is y.__iadd__(b), which must write into y
    inplace('__iadd__', tensors=1), inplace('__isub__', tensors=1),
    inplace('__imul__', tensors=1), inplace('__itruediv__', tensors=1, domain=(0.5, 2.0)),
    inplace('__ipow__', tensors=1, domain=(0.5, 2.0)),
    inplace('__imod__', tensors=1, domain=(0.5, 3.0)),
    inplace('__ifloordiv__', tensors=1, domain=(0.5, 3.0), grad=False),
]

# in place on views: the write reaches the base (torch's CopySlices)
VIEW_INPLACE = [
    inplace('exp_', view=lambda y: y.t(), suffix='_transposed', shapes=[((3, 4),), ((4, 3),)]),
    inplace('mul_', view=lambda y: y[1:], tensors=1, suffix='_slice',
            shapes=[((3, 4), (2, 4)), ((3, 4), (4,))]),
    inplace('clamp_', -0.5, 0.5, view=lambda y: y[:, ::2], suffix='_strided',
            shapes=[((3, 4),), ((2, 6),)]),
    inplace('sigmoid_', view=lambda y: y.diagonal(), suffix='_diagonal',
            shapes=[((3, 3),), ((3, 4),)]),
    inplace('add_', view=lambda y: y.select(0, 1), tensors=1, suffix='_select',
            shapes=[((3, 4), (4,)), ((2, 3, 4), (1, 4))]),
]

CASES = UNARY_INPLACE + BINARY_INPLACE + VIEW_INPLACE
test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


# ---------------------------------------------------------------- integers and errors

@pytest.mark.parametrize('name,args', [('add_', (2,)), ('mul_', (3,)), ('sub_', (1,)),
                                       ('floor_divide_', (2,)), ('remainder_', (3,)),
                                       ('__iadd__', (2,)), ('__imod__', (3,)), ('abs_', ()),
                                       ('neg_', ()), ('clamp_', (-1, 2)), ('fill_', (7,)),
                                       ('zero_', ()), ('bitwise_not_', ()), ('__ixor__', (6,))])
def test_integer_inplace_like_torch(name, args):
    out = []
    for m in (ember, torch):
        y = m.tensor([[-3, 5, 0], [7, -8, 2]])
        r = getattr(y, name)(*args)
        out.append((y.tolist(), str(r.dtype).split('.')[-1], str(y.dtype).split('.')[-1]))
    assert out[0] == out[1]


@pytest.mark.parametrize('fn', [
    lambda m: m.tensor([1, 2]).div_(2),              # a float result into int64
    lambda m: m.tensor([1, 2]).mul_(2.5),
    lambda m: m.tensor([1, 2]).sqrt_(),
    lambda m: m.tensor([True, False]).add_(1),       # an int result into bool
    lambda m: m.ones(3).add_(m.ones(2, 3)),          # the result would be larger than y
    lambda m: m.ones(3, 1).mul_(m.ones(1, 3)),
    lambda m: m.ones(2, requires_grad=True).exp_(),  # a leaf that requires grad
], ids=['int_div', 'int_mul_float', 'int_sqrt', 'bool_add', 'broadcast', 'broadcast_both',
        'leaf'])
def test_inplace_errors_like_torch(fn):
    with pytest.raises(RuntimeError):
        fn(torch)
    with pytest.raises(RuntimeError):
        fn(ember)


def test_inplace_bumps_the_version_and_saved_values_are_checked_like_torch():
    for m in (ember, torch):
        a = m.tensor(np.array([0.5, 1.0, 2.0]), requires_grad=True)
        y = a * 1
        z = y.exp()           # saves its output
        z.mul_(2)
        with pytest.raises(RuntimeError, match='modified by an inplace operation|version'):
            z.sum().backward()
