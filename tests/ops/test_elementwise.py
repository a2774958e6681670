"""Elementwise ops against PyTorch: one table entry per op."""
from tests.helpers import BINARY, UNARY, Case, make_tests

CASES = [
    Case('add', lambda m, a, b: m.add(a, b), BINARY, second_order=True),
    Case('add_alpha', lambda m, a, b: m.add(a, b, alpha=2.5), BINARY[:3]),
    Case('add_scalar', lambda m, a: a + 1.5, UNARY),
    Case('radd_scalar', lambda m, a: 1.5 + a, UNARY),
    Case('sub', lambda m, a, b: a - b, BINARY, second_order=True),
    Case('rsub_scalar', lambda m, a: 2 - a, UNARY),
    Case('mul', lambda m, a, b: a * b, BINARY, second_order=True),
    Case('div', lambda m, a, b: a / b, BINARY, domain=(0.5, 2.0), second_order=True),
    Case('rdiv_scalar', lambda m, a: 2 / a, UNARY, domain=(0.5, 2.0)),
    Case('neg', lambda m, a: -a, UNARY, second_order=True),
    Case('pow_scalar', lambda m, a: a ** 3, UNARY, second_order=True),
    Case('pow_frac', lambda m, a: a ** 0.5, UNARY, domain=(0.5, 2.0), second_order=True),
    Case('pow_tensor', lambda m, a, b: a ** b, BINARY, domain=(0.5, 2.0), second_order=True),
    Case('rpow_scalar', lambda m, a: 2 ** a, UNARY, second_order=True),
    Case('exp', lambda m, a: m.exp(a), UNARY, second_order=True),
    Case('log', lambda m, a: m.log(a), UNARY, domain=(0.1, 3.0), second_order=True),
    Case('int_add_float', lambda m, a: a + 2.5, UNARY, ints=((0, -5, 5),)),
    Case('int_true_div', lambda m, a, b: a / b, BINARY[:3], ints=((0, -5, 5), (1, 1, 4))),
    Case('floor_div', lambda m, a, b: m.div(a, b, rounding_mode='floor'), BINARY[:3],
         ints=((0, -9, 9), (1, 1, 4)), grad=False),
    Case('trunc_div', lambda m, a, b: m.div(a, b, rounding_mode='trunc'), BINARY[:3],
         domain=(0.5, 3.0), grad=False),
]

test_forward_backward, test_second_order, test_gradcheck = make_tests(CASES)
