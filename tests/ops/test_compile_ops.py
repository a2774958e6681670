"""Every case of the op tables (tests/ops, tests/nn's functional table and tests/test_fft.py's)
again through ``ember.compile``.

A compiled function takes a case's inputs and output seeds, computes the op and its
gradients with ``ember.autograd.grad`` (backward inside the compiled program), and returns
the outputs and gradients. It is called twice, with different data of the same shapes: the
first call captures, the second must replay the captured program. Both are compared with
eager ember bit for bit (the program is eager's NumPy calls in eager's order).

Ops that read their data (to choose a formula, to check it, to size a result) break the
graph, and so do a few the tracer cannot follow yet; they must still give eager's answer, and
``BREAKS`` says why each breaks (the test asserts that each still does, so the list stays
true). ``FAILING``: cases whose compiled run fails, left out until fixed.
"""
import numpy as np
import pytest

import ember
import tests.ops.test_compare as compare
import tests.ops.test_complex as complex_table
import tests.ops.test_conv as conv
import tests.ops.test_convert as convert
import tests.ops.test_elementwise as elementwise
import tests.ops.test_index as index
import tests.ops.test_inplace as inplace
import tests.ops.test_linalg as linalg
import tests.ops.test_linalg_eig as linalg_eig
import tests.ops.test_movement as movement
import tests.ops.test_reduce as reduce
import tests.nn.test_functional as functional
import tests.test_fft as fft
from tests.helpers import DEVICE, E, arrays, host, outputs

# `make test` runs tests/ops again on 'cuda' (CuPy's stand-in): CUDA capture is off by default
# (EMBER_COMPILE_GPU; tests/test_compile_cuda.py), and BREAKS is the CPU's list
pytestmark = pytest.mark.skipif(DEVICE != 'cpu', reason='ember.compile of CPU arrays')

TABLES = [compare.CASES, conv.CASES, convert.CASES, elementwise.CASES,
          index.GETITEM + index.SETITEM + index.TABLE, inplace.CASES, linalg.CASES,
          movement.CASES, reduce.CASES, functional.CASES, complex_table.CASES, fft.CASES,
          linalg_eig.CASES]

# Why a capture breaks the graph. By design: the op reads its data to choose what to compute,
# to check it, or to size its result.
ZEROS_TEST = 'backward tests the input for zeros, (x == 0).any(), to choose its formula'
INT_DIVISOR = 'an integer divisor is tested for zeros (ZeroDivisionError, as torch)'
DATA_SHAPE = "the result's shape depends on the data"
INDEX_CHECK = 'the index is bounds-checked on the host: int(index.min()), int(index.max())'
VALUE_CHECK = "the arguments are checked on the host (_any(...).item(): bce's target range, " \
              "one_hot's classes)"
DEAD_ROWS = 'attention tests its mask for rows with nothing to attend to (alive.all())'
# Limits of the tracer or of an op's code today (reported with the commit that made this file):
ERF_MASKS = 'erf and erfc (backend/cpu.py) compute each range of x by boolean-mask indexing'
UNTRACED_GATHER = 'weight[safe] in NllLoss: an untraced array indexed by a traced one'
EIG = ('eig checks its input for inf and nan on the host (and its backward whether the '
       'eigenvectors have a gradient); np.linalg.eig returns a named tuple, not followed')

BREAKS = {
    **dict.fromkeys(['prod_all', 'prod_last', 'prod_first_keep', 'prod_zeros_all',
                     'prod_zeros_dim', 'cumprod_last', 'cumprod_first', 'cumprod_zeros'],
                    ZEROS_TEST),
    **dict.fromkeys(['floor_div', 'floor_divide', 'rfloordiv_op', 'remainder_int', 'fmod_int'],
                    INT_DIVISOR),
    **dict.fromkeys(['where_1arg', 'nonzero', 'nonzero_tuple', 'argwhere', 'masked_select'],
                    DATA_SHAPE),
    **dict.fromkeys(['gather', 'gather_dim0', 'gather_0d', 'take_along_dim',
                     'take_along_dim_flat', 'scatter', 'scatter_big_src', 'scatter_value',
                     'scatter_', 'scatter_add', 'scatter_add_big_src', 'scatter_add_dim0',
                     'scatter_add_', 'index_select', 'index_select_dim1', 'index_add',
                     'index_add_', 'index_fill', 'index_fill_tensor', 'index_fill_'], INDEX_CHECK),
    **dict.fromkeys(['bce', 'bce_weight_none', 'one_hot', 'one_hot_infer'], VALUE_CHECK),
    **dict.fromkeys(['sdpa_const_mask', 'sdpa_dead_row', 'sdpa_bool_mask', 'sdpa_float_mask'],
                    DEAD_ROWS),
    **dict.fromkeys(['erf', 'erf_int', 'erf_', 'erfc', 'erfc_', 'special_methods'], ERF_MASKS),
    'nll_loss_weight': UNTRACED_GATHER,
    **dict.fromkeys(['eigvals', 'eigvals_complex', 'eig_values', 'eig_vectors',
                     'eig_vectors_complex'], EIG),
    # (cross-entropy gathers its weights by another path where the input is (N, C) or more)
    **dict.fromkeys(['cross_entropy_weight-(3,)x()', 'cross_entropy_weight_smooth-(3,)x()',
                     'cross_entropy_weight_smooth_none-(3,)x()'], UNTRACED_GATHER),
}
# shapes of those cases that never reach the data read: an empty input, a 0-d cumprod
NO_BREAK = {'gather-(0, 3)x(0, 2)', 'cumprod_last-()', 'cumprod_first-()', 'bce-(0, 4)x(0, 4)',
            'one_hot-(0,)'}

# Cases (by name, or name-shapes) whose compiled run fails today, each a compiler bug with a
# repro in its report: left out. (None today: the SyntaxError of a slice in a call, the
# gradient device check after a break, np.bfloat16 in the program and NLL's put_along_axis
# write, found here, are fixed.)
FAILING = {}


def tensors(case, arrs):
    """Fresh ember tensors of ``arrs``; float ones require grad where the case has gradients."""
    out = []
    for a in arrs:
        if isinstance(a, np.ndarray):
            t = E(a)
            t.requires_grad = case.grad and a.dtype.kind in 'fc'
            a = t
        out.append(a)
    return out


def op_and_grads(case, n):
    """``f(*inputs, *seeds)``: the case's outputs (detached) and the gradients of its
    differentiable outputs, weighted by ``seeds``, with respect to its float inputs."""
    def f(*args):
        xs, seeds = args[:n], args[n:]
        outs = outputs(case.fn(ember, *xs))
        diff = [o for o in outs if isinstance(o, ember.Tensor) and o.requires_grad]
        leaves = [x for x in xs if isinstance(x, ember.Tensor) and x.requires_grad]
        grads = ember.autograd.grad(diff, leaves, list(seeds), allow_unused=True) \
            if diff else ()
        return [o.detach() if isinstance(o, ember.Tensor) else o for o in outs], list(grads)
    return f


def seeds_for(case, arrs, seed):
    """Output seeds (of the differentiable outputs' shapes and dtypes), from an eager run."""
    outs = outputs(case.fn(ember, *tensors(case, arrs)))
    rng = np.random.default_rng(seed)
    return [E(rng.standard_normal(tuple(o.shape)).astype(o.dtype.name))
            for o in outs if isinstance(o, ember.Tensor) and o.requires_grad]


def same(got, want, what):
    if not isinstance(want, ember.Tensor):
        assert got is None if want is None else got == want, f'{what}: {got} vs {want}'
        return
    assert isinstance(got, ember.Tensor), f'{what}: {type(got)}'
    g, w = host(got), host(want)
    assert (g.dtype, g.shape) == (w.dtype, w.shape), f'{what}: {g.dtype}{g.shape} vs ' \
                                                      f'{w.dtype}{w.shape}'
    np.testing.assert_array_equal(g, w, err_msg=what, strict=True)


def case_id(case, shapes):
    return f'{case.name}-{"x".join(map(str, shapes))}'


PARAMS = [pytest.param(c, s, id=case_id(c, s)) for table in TABLES for c in table
          for s in c.shapes if c.name not in FAILING and case_id(c, s) not in FAILING]


@pytest.mark.parametrize('case,shapes', PARAMS)
def test_compiled_equals_eager(case, shapes):
    dtype = case.dtypes[0]
    inputs = [arrays(case, shapes, dtype, seed) for seed in (0, 1)]
    n = len(inputs[0])
    f = op_and_grads(case, n)
    compiled = ember.compile(f)
    for call, arrs in enumerate(inputs):
        seeds = seeds_for(case, arrs, 10 + call)
        want = f(*tensors(case, arrs), *seeds)
        got = compiled(*tensors(case, arrs), *seeds)
        if call == 0:
            first = compiled.last
        for kind, gs, ws in zip(('output', 'grad'), got, want):
            assert len(gs) == len(ws)
            for k, (g, w) in enumerate(zip(gs, ws)):
                same(g, w, f'call {call}: {kind} {k}')
    key = case_id(case, shapes)
    if (case.name in BREAKS or key in BREAKS) and key not in NO_BREAK:
        assert first.breaks, f'{case.name} no longer breaks the graph: take it off BREAKS'
    else:
        assert not first.breaks, f'graph breaks: {first.breaks}'
        assert compiled.recompiles == 1 and compiled.last is first and first.fn is not None


def test_the_lists_name_real_cases():
    names = {c.name for table in TABLES for c in table}
    ids = {case_id(c, s) for table in TABLES for c in table for s in c.shapes}
    assert all(k in names or k in ids for k in BREAKS) and NO_BREAK <= ids
    assert all(k in names or k in ids for k in FAILING)
