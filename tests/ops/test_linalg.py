"""Linear algebra against PyTorch: matmul and its relatives, einsum, and their errors."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import NC, Case, make_tests

MATMUL = [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
          ((4,), (4,)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
          ((4,), (2, 4, 5)), ((2, 3, 4), (4,)), ((0, 4), (4, 5)), ((3, 0), (0, 5)),
          (NC((3, 4)), NC((4, 5)))]
MM = [((3, 4), (4, 5)), ((1, 4), (4, 1)), ((0, 4), (4, 5)), (NC((3, 4)), (4, 5))]
BMM = [((2, 3, 4), (2, 4, 5)), ((1, 1, 4), (1, 4, 1)), ((0, 3, 4), (0, 4, 5))]
VEC = [((4,), (4,)), ((1,), (1,)), ((0,), (0,))]
OUTER = [((3,), (4,)), ((1,), (4,)), ((0,), (4,))]
LINEAR = [((3, 4), (5, 4), (5,)), ((2, 3, 4), (5, 4), (5,)), ((4,), (5, 4), (5,)),
          ((0, 4), (5, 4), (5,)), (NC((3, 4)), NC((5, 4)), (5,))]
DOT_MATRIX = [((3, 4), (4, 5)), ((2, 3, 4), (4, 5))]


def einsum(eq, *shapes):
    return Case(f'einsum[{eq}]{"x".join(map(str, shapes))}', lambda m, *xs: m.einsum(eq, *xs),
                [shapes])


CASES = [
    Case('matmul', lambda m, a, b: a @ b, MATMUL),
    Case('matmul_fn', lambda m, a, b: m.matmul(a, b), MATMUL[5:8]),
    Case('matmul_vector', lambda m, a, b: m.matmul(a, b), MATMUL[2:5] + MATMUL[8:10]),
    # torch has no integer matmul on CUDA: there its answer comes from the CPU
    Case('matmul_int', lambda m, a, b: a @ b if m is ember or a.device.type == 'cpu' else
         a.cpu() @ b.cpu(), MATMUL[:3], ints=((0, -3, 3), (1, -3, 3)), grad=False),
    Case('mm', lambda m, a, b: m.mm(a, b), MM),
    Case('mm_method', lambda m, a, b: a.mm(b), MM[:1]),
    Case('bmm', lambda m, a, b: m.bmm(a, b), BMM),
    Case('bmm_method', lambda m, a, b: a.bmm(b), BMM[:1]),
    Case('dot', lambda m, a, b: m.dot(a, b), VEC),
    Case('dot_method', lambda m, a, b: a.dot(b), VEC[:1]),
    Case('dot_method_matrix', lambda m, a, b: a.dot(b) if m is ember else a @ b, DOT_MATRIX),
    Case('outer', lambda m, a, b: m.outer(a, b), OUTER),
    Case('outer_method', lambda m, a, b: a.outer(b), OUTER[:1]),
    Case('linear', lambda m, x, w, b: (m.linear if m is ember else m.nn.functional.linear)(
        x, w, b), LINEAR),
    Case('linear_no_bias', lambda m, x, w: (m.linear if m is ember else m.nn.functional.linear)(
        x, w), [s[:2] for s in LINEAR]),
    einsum('ij,jk->ik', (3, 4), (4, 5)),
    einsum('bij,bjk->bik', (2, 3, 4), (2, 4, 5)),
    einsum('ij,jk', (3, 4), (4, 5)),
    einsum('i,i->', (4,), (4,)),
    einsum('i,j->ij', (3,), (4,)),
    einsum('ij->ji', (3, 4)),
    einsum('ij->', (3, 4)),
    einsum('ij->j', (3, 4)),
    einsum('ii->i', (3, 3)),
    einsum('ii', (3, 3)),
    einsum('iij->ji', (3, 3, 2)),
    einsum('ij,ij,ij->i', (3, 4), (3, 4), (3, 4)),
    einsum('ij,jk,kl->il', (2, 3), (3, 4), (4, 2)),
    einsum('...ij,...jk->...ik', (2, 3, 4), (1, 4, 5)),
    einsum('b...,b...->b', (2, 3, 4), (2, 3, 4)),
    einsum('...i->...', (2, 3, 4)),
    einsum('bi,i->b', (0, 4), (4,)),
    einsum('i,j->ij', (3,), (1,)),
    Case('ger', lambda m, a, b: a.ger(b), OUTER[:2]),
    Case('matmul_method', lambda m, a, b: a.matmul(b), MATMUL[:3]),
    # a @ b with a a NumPy array: NumPy defers to the tensor's __rmatmul__
    Case('rmatmul', lambda m, a, b: b.__rmatmul__(a), MM[:2]),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


# ---------------------------------------------------------------- plain tests

def test_einsum_takes_a_list_of_operands():
    a, b = ember.ones(2, 3), ember.ones(3)
    np.testing.assert_array_equal(ember.einsum('ij,j->i', [a, b])._data, [3.0, 3.0])


def test_einsum_promotes_dtypes():
    a, b = ember.ones(2, 3, dtype=ember.float64), ember.ones(3)
    assert ember.einsum('ij,j->i', a, b).dtype is ember.float64


def test_matmul_broadcast_batch_gradient_is_summed():
    a = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    b = ember.randn(2, 5, 4, 6, dtype=ember.float64, requires_grad=True)
    ta, tb = torch.tensor(a._data, requires_grad=True), torch.tensor(b._data, requires_grad=True)
    (a @ b).sum().backward()
    (ta @ tb).sum().backward()
    np.testing.assert_allclose(a.grad._data, ta.grad.numpy())
    np.testing.assert_allclose(b.grad._data, tb.grad.numpy())


@pytest.mark.parametrize('fn,match', [
    (lambda: ember.ones(3, 4) @ ember.ones(5, 6),
     r'matmul: \(3, 4\) @ \(5, 6\): inner dimensions 4 and 5 differ'),
    (lambda: ember.ones(3) @ ember.ones(4), r'matmul: \(3,\) @ \(4,\): inner dimensions 3 and 4'),
    (lambda: ember.matmul(ember.tensor(2.0), ember.ones(3)), r'matmul: .*at least 1 dim'),
    (lambda: ember.ones(2, 3, 4) @ ember.ones(5, 4, 2), r'matmul: .*\(2, 3, 4\)'),
    (lambda: ember.mm(ember.ones(3), ember.ones(3, 4)),
     r'mm: expected two 2-D tensors, got \(3,\) and \(3, 4\)'),
    (lambda: ember.mm(ember.ones(3, 4), ember.ones(5, 6)), r'inner dimensions 4 and 5'),
    (lambda: ember.bmm(ember.ones(3, 4), ember.ones(3, 4, 5)), r'bmm: expected two 3-D'),
    (lambda: ember.bmm(ember.ones(2, 3, 4), ember.ones(3, 4, 5)),
     r'bmm: batch sizes 2 and 3 differ'),
    (lambda: ember.dot(ember.ones(3), ember.ones(4)), r'dot: .*different lengths'),
    (lambda: ember.dot(ember.ones(2, 3), ember.ones(3)), r'dot: expected two 1-D'),
    (lambda: ember.outer(ember.ones(2, 3), ember.ones(3)), r'outer: expected two 1-D'),
    (lambda: ember.einsum('ij,jk->ik', ember.ones(3, 4)), r'einsum: .*2 operand subscripts'),
    (lambda: ember.einsum('ij,jk->ik', ember.ones(3, 4), ember.ones(5, 6)),
     r"einsum: subscript 'j' has size 5"),
    (lambda: ember.einsum('ijk->i', ember.ones(3, 4)), r'einsum: operand 0 has 2 dim'),
    (lambda: ember.einsum('ij->iz', ember.ones(3, 4)), r"einsum: output subscript 'z'"),
    (lambda: ember.einsum('ij->ii', ember.ones(3, 4)), r'einsum: .*repeat'),
    (lambda: ember.linear(ember.ones(3, 4), ember.ones(2, 5, 4)), r'linear: weight'),
])
def test_errors_name_the_op_and_shapes(fn, match):
    with pytest.raises(RuntimeError, match=match):
        fn()


@pytest.mark.parametrize('shapes', [((6, 25), (25, 50176)), ((1, 6, 25), (1, 25, 20000)),
                                    ((6, 50176), (50176, 25)), ((1, 16, 40000), (1, 40000, 9))],
                         ids=['wide', 'wide-batch1', 'long', 'long-batch1'])
def test_skinny_products_in_blocks_match_numpy(shapes):
    """A few rows or columns over a long dimension run blockwise on the CPU (LeNet's first
    convolution and its weight gradient): the same product as NumPy's, to float32 rounding."""
    from ember.ops.linalg import gemm
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    got = gemm(np, a, b)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3 * np.abs(want).max())


def test_lenet_first_convolution_matches_torch():
    """The shape that takes the blockwise product, forward and weight gradient, vs torch."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    w = rng.standard_normal((6, 1, 5, 5)).astype(np.float32)
    ew, tw = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    ey = ember.nn.functional.conv2d(ember.tensor(x), ew, padding=2)
    ty = torch.nn.functional.conv2d(torch.tensor(x), tw, padding=2)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    (ey * ey).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(ew.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-2)
