"""Bad input gets a clear error naming the op, shapes, dtypes or devices, and changes nothing."""
import numpy as np
import pytest

import ember


def snapshot(*tensors):
    return [(t._data.copy(), t._version[0], None if t.grad is None else t.grad._data.copy(),
             t.grad_fn) for t in tensors]


def unchanged(before, *tensors):
    for (data, version, grad, fn), t in zip(before, tensors):
        assert np.array_equal(data, t._data) and version == t._version[0] and t.grad_fn is fn
        assert (grad is None and t.grad is None) or np.array_equal(grad, t.grad._data)
    return True


def expect(exc, pattern, fn, *tensors):
    """``fn()`` raises ``exc`` matching ``pattern`` and leaves ``tensors`` as they were."""
    before = snapshot(*tensors)
    with pytest.raises(exc, match=pattern):
        fn()
    assert unchanged(before, *tensors)


a34 = lambda: ember.randn(3, 4, requires_grad=True)   # noqa: E731


def test_matmul_inner_dimensions():
    a, b = ember.randn(3, 4), ember.randn(5, 6)
    expect(RuntimeError, r'matmul: \(3, 4\) @ \(5, 6\): inner dimensions 4 and 5 differ',
           lambda: a @ b, a, b)


def test_matmul_zero_dim():
    a = ember.tensor(2.0)
    expect(RuntimeError, 'matmul: both arguments need at least 1 dimension',
           lambda: ember.matmul(a, ember.ones(2)), a)


def test_broadcast_mismatch_names_op_shapes_dtypes_devices():
    a, b = ember.ones(2, 3), ember.ones(4)
    expect(RuntimeError, r'add: .*broadcast.*\(2, 3\) float32 on cpu, \(4,\) float32 on cpu',
           lambda: a + b, a, b)


def test_mul_broadcast_mismatch():
    a, b = ember.ones(2, 3), ember.ones(2)
    expect(RuntimeError, r'mul: .*\(2, 3\).*\(2,\)', lambda: a * b, a, b)


def test_inplace_on_saved_tensor_raises_at_backward():
    x = ember.randn(3, requires_grad=True)
    h = x * 2
    y = h * h
    h.add_(1)
    with pytest.raises(RuntimeError, match=r'modified by an inplace operation: \[MulBackward\] '
                                           r'a tensor of shape \(3,\).*version 1; expected '
                                           r'version 0'):
        y.sum().backward()
    assert x.grad is None


def test_inplace_on_saved_output_raises():
    x = ember.randn(3, requires_grad=True)
    y = x.exp()
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r'\[ExpBackward\].*expected version 0'):
        y.sum().backward()


def test_inplace_through_a_view_bumps_shared_version():
    x = ember.randn(4, requires_grad=True)
    h = x * 1
    y = h * h
    v = h.detach()[1:]
    with ember.no_grad():
        v.add_(1)
    with pytest.raises(RuntimeError, match='modified by an inplace operation'):
        y.sum().backward()


def test_inplace_on_leaf_requiring_grad():
    x = ember.ones(3, requires_grad=True)
    expect(RuntimeError, r'add_: a leaf Variable that requires grad \(shape \(3,\)\) is being '
                         r'used in an in-place operation', lambda: x.add_(1), x)


def test_setitem_on_leaf_requiring_grad():
    x = ember.ones(3, requires_grad=True)

    def assign():
        x[0] = 5.0
    expect(RuntimeError, 'setitem: a leaf Variable that requires grad', assign, x)


def test_inplace_shape_mismatch():
    x = ember.zeros(3)
    expect(RuntimeError, r"add_: output with shape \(3,\) doesn't match the broadcast shape "
                         r'\(2, 3\)', lambda: x.add_(ember.ones(2, 3)), x)


def test_inplace_dtype_cannot_be_cast():
    x = ember.zeros(3, dtype=ember.int64)
    expect(RuntimeError, r"add_: result type ember.float32 can't be cast to the desired output "
                         r'type ember.int64', lambda: x.add_(1.5), x)


def test_backward_twice():
    x = ember.ones(2, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    expect(RuntimeError, 'Trying to backward through the graph a second time', y.backward, x)


def test_non_scalar_backward():
    x = ember.ones(2, requires_grad=True)
    expect(RuntimeError, r'grad can be implicitly created only for scalar outputs; output 0 '
                         r'has shape \(2,\)', (x * 2).backward, x)


def test_requires_grad_on_integer_tensor():
    t = ember.tensor([1, 2])
    expect(RuntimeError, r'only Tensors of floating point and complex dtype can require '
                         r'gradients; this tensor is ember.int64', lambda: t.requires_grad_(), t)
    with pytest.raises(RuntimeError, match='floating point'):
        ember.tensor([1, 2], requires_grad=True)


def test_index_out_of_range():
    x = ember.arange(3)
    expect(IndexError, 'index 5 is out of bounds for axis 0 with size 3', lambda: x[5], x)


def test_index_with_float_tensor():
    x = ember.arange(3)
    expect(IndexError, 'tensors used as indices must be long, int, byte or bool tensors',
           lambda: x[ember.tensor([0.0])], x)


def test_setitem_out_of_range_changes_nothing():
    x = ember.arange(3)

    def assign():
        x[7] = 1
    expect(IndexError, r'setitem: index 7 is out of bounds.*tensor \(3,\)', assign, x)


def test_reshape_invalid():
    x = ember.arange(6)
    expect(RuntimeError, r"reshape: shape '\[4, -1\]' is invalid for input of size 6",
           lambda: x.reshape(4, -1), x)


def test_view_of_non_contiguous():
    x = ember.zeros(3, 4).t()
    expect(RuntimeError, r'view: size is not compatible.*use \.reshape', lambda: x.view(12), x)


def test_expand_non_singleton():
    x = ember.ones(3)
    expect(RuntimeError, r'expand: the expanded size of the tensor \(4\) must match the existing'
                         r' size \(3\)', lambda: x.expand(2, 4), x)


def test_dim_out_of_range():
    x = ember.ones(2, 3)
    expect(IndexError, r'sum: Dimension out of range \(expected to be in range of \[-2, 1\], '
                       r'but got 2\)', lambda: x.sum(2), x)


def test_permute_wrong_length():
    x = ember.ones(2, 3)
    expect(RuntimeError, 'permute: number of dimensions in the tensor input does not match',
           lambda: x.permute(1, 0, 2), x)


def test_item_of_many_elements():
    x = ember.ones(3)
    expect(RuntimeError, r'item: a Tensor with 3 elements cannot be converted to a Python number',
           x.item, x)


def test_bool_of_many_elements():
    x = ember.ones(3)
    expect(RuntimeError, 'Boolean value of Tensor with more than one value is ambiguous',
           lambda: bool(x), x)


def test_numpy_of_tensor_requiring_grad():
    x = ember.ones(2, requires_grad=True)
    expect(RuntimeError, r"Can't call numpy\(\) on Tensor that requires grad", x.numpy, x)


def test_cuda_device_without_cupy_or_gpu():
    if ember.cuda.is_available():
        pytest.skip('a GPU is present: this checks the CPU-only message')
    x = ember.ones(2)
    expect(RuntimeError, "device 'cuda': ", lambda: x.to('cuda'), x)
    with pytest.raises(RuntimeError, match="device 'cuda': "):
        ember.zeros(2, device='cuda')


def test_unknown_device_string():
    with pytest.raises(RuntimeError, match='device: unknown device type .tpu.'):
        ember.zeros(2, device='tpu')


def test_unsupported_dtype():
    with pytest.raises(TypeError, match='unsupported dtype'):
        ember.zeros(2, dtype='complex32')
    with pytest.raises(TypeError, match='unsupported'):
        ember.tensor(np.array(['a']))


def test_sub_bools_and_neg_bool():
    a = ember.tensor([True, False])
    expect(RuntimeError, 'sub: subtraction with a bool tensor is not supported', lambda: a - a, a)
    expect(RuntimeError, 'neg: negation, the `-` operator, on a bool tensor is not supported',
           lambda: -a, a)


def test_where_needs_bool_condition():
    x = ember.ones(2)
    expect(RuntimeError, 'where: expected condition to be a bool tensor',
           lambda: ember.where(x, x, x), x)


def test_mean_of_integers():
    x = ember.arange(4)
    expect(RuntimeError, r'mean\(\): could not infer output dtype.*Got: int64', x.mean, x)


def test_requires_grad_false_on_non_leaf():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match='you can only change requires_grad flags of leaf'):
        y.requires_grad = False
    assert y.requires_grad


def test_hook_on_tensor_without_grad():
    x = ember.ones(2)
    expect(RuntimeError, "cannot register a hook on a tensor that doesn't require gradient",
           lambda: x.register_hook(lambda g: g), x)


def test_bad_size_argument():
    with pytest.raises(RuntimeError, match='zeros: Trying to create tensor with negative '
                                           r'dimension -1: \[2, -1\]'):   # as torch
        ember.zeros(2, -1)
    with pytest.raises(TypeError, match='size: expected non-negative integers'):
        ember.ones(2.5)


def test_rng_state_garbage():
    state = ember.get_rng_state()
    with pytest.raises(RuntimeError, match='Generator.set_state: not a state'):
        ember.set_rng_state(ember.tensor([1, 2, 3], dtype=ember.uint8))
    assert ember.get_rng_state().tolist() == state.tolist()


def test_pickle_is_refused():
    import pickle
    with pytest.raises(TypeError, match='not pickled'):
        pickle.dumps(ember.ones(2))


def test_inplace_on_unbind_output_with_autograd():
    x = ember.randn(3, 2, requires_grad=True)
    h = x * 1
    a, b, c = h.unbind(0)
    expect(RuntimeError, 'add_: this tensor is one of several views returned by unbind',
           lambda: a.add_(1), h, x)
