"""Complex tensors against PyTorch: the ops that take them, one table entry each (forward,
gradients in PyTorch's convention, second order, complex gradcheck)."""
import numpy as np

from tests.helpers import BINARY, NC, UNARY, Case, make_tests
from tests.ops.test_linalg import MATMUL

C = ('complex64', 'complex128')
NONZERO = (0.3, 2.0)   # both parts: away from 0, where abs, angle and log have kinks


def mixed(rng, shapes, dtype):
    """A complex input and a real one of the same precision."""
    real = np.float32 if dtype == 'complex64' else np.float64
    a = rng.uniform(-2, 2, shapes[0]) + 1j * rng.uniform(-2, 2, shapes[0])
    return [np.asarray(a, dtype), np.asarray(rng.uniform(-2, 2, shapes[1]), real)]


def pairs(rng, shapes, dtype):
    """A real input whose last dimension is 2, for view_as_complex."""
    real = np.float32 if dtype == 'complex64' else np.float64
    return [np.asarray(rng.uniform(-2, 2, shapes[0] + (2,)), real)]


CASES = [
    Case('add', lambda m, a, b: a + b, BINARY, dtypes=C),
    Case('sub', lambda m, a, b: a - b, BINARY, dtypes=C),
    Case('mul', lambda m, a, b: a * b, BINARY, dtypes=C),
    Case('div', lambda m, a, b: a / b, BINARY, domain=NONZERO, dtypes=C),
    Case('neg', lambda m, a: -a, UNARY, dtypes=C),
    Case('add_number', lambda m, a: a + (1.5 - 2j), UNARY, dtypes=C),
    Case('rmul_number', lambda m, a: 1j * a, UNARY, dtypes=C),
    Case('mul_real_number', lambda m, a: a * 2.5, UNARY, dtypes=C),
    Case('rdiv_number', lambda m, a: (1 + 1j) / a, UNARY, domain=NONZERO, dtypes=C),
    Case('mul_real_tensor', lambda m, a, b: a * b, BINARY[:6], dtypes=C, make=mixed),
    Case('div_by_real_tensor', lambda m, a, b: a / (b.abs() + 0.5), BINARY[:6], dtypes=C,
         make=mixed),
    Case('pow_scalar', lambda m, a: a ** 3, UNARY, dtypes=C),
    Case('pow_frac', lambda m, a: a ** 0.5, UNARY, domain=NONZERO, dtypes=C),
    Case('exp', lambda m, a: m.exp(a), UNARY, dtypes=C),
    Case('log', lambda m, a: m.log(a), UNARY, domain=NONZERO, dtypes=C),
    Case('sqrt', lambda m, a: m.sqrt(a), UNARY, domain=NONZERO, dtypes=C),
    Case('sin', lambda m, a: m.sin(a), UNARY, dtypes=C),
    Case('cos', lambda m, a: m.cos(a), UNARY, dtypes=C),
    Case('tanh', lambda m, a: m.tanh(a), UNARY, domain=(-1, 1), dtypes=C),
    Case('abs', lambda m, a: m.abs(a), UNARY, domain=NONZERO, dtypes=C),
    Case('abs_times_z', lambda m, a: m.abs(a) * a, UNARY, domain=NONZERO, dtypes=C),
    Case('sgn', lambda m, a: m.sgn(a), UNARY, domain=NONZERO, dtypes=C),
    Case('angle', lambda m, a: m.angle(a), UNARY, domain=NONZERO, dtypes=C),
    Case('angle_times_z', lambda m, a: m.angle(a) * a, UNARY, domain=NONZERO, dtypes=C),
    Case('angle_real', lambda m, a: m.angle(a) * a, UNARY),   # pi below 0, gradient 0
    Case('real', lambda m, a: m.real(a), UNARY, dtypes=C),
    Case('imag', lambda m, a: m.imag(a), UNARY, dtypes=C),
    Case('real_attr_squared', lambda m, a: a.real * a.imag * a, UNARY, dtypes=C),
    Case('conj', lambda m, a: m.conj(a) * a * a, UNARY, dtypes=C),
    Case('conj_physical', lambda m, a: m.conj_physical(a), UNARY, dtypes=C),
    # (torch's view_as_real refuses an empty (0, 3) in backward: strides)
    Case('view_as_real', lambda m, a: m.view_as_real(a * a), UNARY[:2] + UNARY[3:], dtypes=C),
    Case('view_as_real_of_leaf', lambda m, a: m.view_as_real(a) ** 2, UNARY, dtypes=C),
    Case('view_as_complex', lambda m, x: m.view_as_complex(x) ** 2, [((3, 4),), ((),)],
         dtypes=C, make=pairs),   # (torch refuses an empty (0, 3, 2): strides)
    Case('complex', lambda m, a, b: m.complex(a, b), BINARY),
    Case('polar', lambda m, a, b: m.polar(a, b), BINARY, domain=(0.2, 3.0)),
    Case('sum', lambda m, a: (a * a).sum(), UNARY, dtypes=C),
    Case('sum_dim', lambda m, a: a.sum(-1), UNARY[:1] + UNARY[3:], dtypes=C),
    Case('mean', lambda m, a: (a * a).mean(), UNARY[:2] + UNARY[3:], dtypes=C),
    Case('matmul', lambda m, a, b: a @ b, MATMUL, dtypes=C),
    Case('reshape_permute', lambda m, a: (a * a).reshape(-1).flip(0), UNARY, dtypes=C),
    Case('transpose_index', lambda m, a: a.T[1:] * 2, [((3, 4),), (NC((4, 3)),)], dtypes=C),
    Case('cat_stack', lambda m, a, b: m.cat([a, b]) * m.stack([a, b]).sum(0).mean(),
         [((3, 4), (3, 4))], dtypes=C),
    Case('where', lambda m, a, b: m.where(a.real > 0, a, b), BINARY[:4], dtypes=C),
    Case('to_complex', lambda m, a: a.to(m.complex128) * 1j, UNARY),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)
