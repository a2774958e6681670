"""linalg.eig and linalg.eigvals against torch: complex results of real and complex matrices,
gradients (losses that do not depend on the eigenvectors' arbitrary phases), second order,
complex gradcheck, and the errors."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import NC, Case, make_tests

C = ('complex64', 'complex128')
SQUARE = [((3, 3),), ((2, 4, 4),), (NC((3, 3)),), ((1, 1),)]


def vectors(m, a):
    """Phase-free functions of the eigenvectors (|v|, and v times the conjugate of its first
    row), with the eigenvalues."""
    w, v = m.linalg.eig(a)
    return w, v.abs(), v * v[..., :1, :].conj()


CASES = [
    Case('eigvals', lambda m, a: m.linalg.eigvals(a), SQUARE),
    Case('eigvals_complex', lambda m, a: m.linalg.eigvals(a), SQUARE, dtypes=C),
    Case('eig_values', lambda m, a: m.linalg.eig(a).eigenvalues, SQUARE),
    Case('eig_vectors', vectors, SQUARE),
    Case('eig_vectors_complex', vectors, SQUARE[:3], dtypes=C),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)


def test_real_eigenvalues_are_still_complex():
    w = ember.linalg.eigvals(ember.tensor([[2.0, 0.0], [0.0, 3.0]], dtype=ember.float64))
    assert w.dtype is ember.complex128 and w.tolist() == [2, 3]


def test_eigvals_gradient_with_repeated_eigenvalues_matches_torch():
    # eigvals' gradient needs no gaps between eigenvalues (ones(3, 3): 0 twice)
    for m in (ember, torch):
        x = m.ones(3, 3, dtype=m.float64, requires_grad=True)
        m.linalg.eigvals(x).real.sum().backward()
        if m is ember:
            got = x.grad.numpy()
        else:
            np.testing.assert_allclose(got, x.grad.numpy(), atol=1e-12)


def test_a_phase_dependent_loss_raises_as_torch():
    a = np.random.default_rng(0).standard_normal((3, 3))
    for m in (torch, ember):
        x = m.tensor(a, requires_grad=True)
        v = m.linalg.eig(x).eigenvectors
        with pytest.raises(RuntimeError, match=r'specified up to multiplication by e\^\{i phi\}'):
            (v * m.tensor([1j, 2.0, -1j])).real.sum().backward()


@pytest.mark.parametrize('call,match', [
    (lambda m: m.linalg.eig(m.ones(2, 3)), 'must be batches of square matrices'),
    (lambda m: m.linalg.eigvals(m.ones(3)), 'at least 2 dimensions'),
    (lambda m: m.linalg.eig(m.ones(2, 2, dtype=m.int64)), 'int64'),
    (lambda m: m.linalg.eig(m.tensor([[1.0, float('nan')], [0.0, 1.0]])),
     'should not contain infs or NaNs'),
])
def test_bad_input_raises_as_torch(call, match):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match=match):
        call(ember)
