"""ember.compile's passes, each alone, on hand-built graphs (docs/compiler.md)."""
import operator

import numpy as np
import pytest

from ember.compiler import fusion
from ember.compiler.graph import Const, Graph, Node, Ref
from ember.compiler.passes import cse, dce, fold, lower
from ember.compiler.tracer import _method, _ufunc_method


def run(graph, *inputs):
    return graph.compile()(*inputs)


def meta(*pairs):
    return {i: (shape, np.dtype(dt)) for i, shape, dt in pairs}


def test_dce_drops_unread_pure_calls_and_keeps_writes():
    g = Graph([0], [Node(np.exp, (Ref(0),), {}, Ref(1)),          # read by nobody
                    Node(np.negative, (Ref(0),), {}, Ref(2)),
                    Node(np.add, (Ref(0), 1.0), {'out': (Ref(0),)}, None, (0,))],  # a write
              [2])
    out = dce(g)
    assert [n.fn for n in out.nodes] == [np.negative, np.add]
    x = np.ones(3)
    (y,) = run(out, x)
    assert np.array_equal(y, -np.ones(3)) and np.array_equal(x, np.full(3, 2.0))


def test_cse_merges_repeats_but_not_across_a_write():
    g = Graph([0], [Node(np.exp, (Ref(0),), {}, Ref(1)),
                    Node(np.exp, (Ref(0),), {}, Ref(2)),            # a repeat: merged
                    Node(np.add, (Ref(1), Ref(2)), {}, Ref(3)),
                    Node(np.multiply, (Ref(0), 2.0), {'out': (Ref(0),)}, None, (0,)),
                    Node(np.exp, (Ref(0),), {}, Ref(4)),            # after the write: kept
                    Node(np.add, (Ref(3), Ref(4)), {}, Ref(5))], [5])
    out = cse(g)
    assert [n.fn for n in out.nodes].count(np.exp) == 2
    assert out.nodes[1].args == (Ref(1), Ref(1))
    x = np.array([0.5, 1.0])
    (want,) = run(g, x.copy())
    (got,) = run(out, x.copy())
    assert np.array_equal(got, want)


def test_cse_never_merges_a_value_written_later():
    g = Graph([0], [Node(_method('copy'), (Ref(0),), {}, Ref(1)),
                    Node(_method('copy'), (Ref(0),), {}, Ref(2)),
                    Node(np.add, (Ref(2), 1.0), {'out': (Ref(2),)}, None, (2,)),
                    Node(np.subtract, (Ref(2), Ref(1)), {}, Ref(3))], [3])
    (got,) = run(cse(g), np.zeros(2))
    assert np.array_equal(got, np.ones(2))


def test_fold_makes_unwritten_allocations_and_their_products_constants():
    g = Graph([0], [Node(np.ones_like, (Ref(0),), {}, Ref(1)),
                    Node(np.multiply, (Ref(1), 3.0), {}, Ref(2)),    # constant * constant
                    Node(np.add, (Ref(0), Ref(2)), {}, Ref(3))], [3],
              meta=meta((0, (2,), 'float32'), (1, (2,), 'float32'), (2, (2,), 'float32')))
    out = fold(g)
    assert [n.fn for n in out.nodes] == [np.add]
    assert type(out.nodes[0].args[1]) is Const
    assert np.array_equal(out.nodes[0].args[1].arr, np.full(2, 3.0, np.float32))
    (y,) = run(out, np.zeros(2, np.float32))
    assert y.dtype == np.float32 and np.array_equal(y, np.full(2, 3.0))


def test_fold_keeps_an_allocation_that_is_written_or_viewed_and_written():
    g = Graph([0], [Node(np.zeros_like, (Ref(0),), {}, Ref(1)),
                    Node(operator.getitem, (Ref(1), slice(0, 1)), {}, Ref(2)),
                    Node(np.add, (Ref(2), 5.0), {'out': (Ref(2),)}, None, (2,)),
                    Node(np.multiply, (Ref(1), 2.0), {}, Ref(3))], [3],
              meta=meta((0, (3,), 'float64'), (1, (3,), 'float64'), (2, (1,), 'float64')))
    out = fold(g)
    assert out.nodes[0].fn is np.zeros_like
    run(out, np.zeros(3))
    (y,) = run(out, np.zeros(3))   # a fresh allocation each call
    assert np.array_equal(y, [10.0, 0.0, 0.0])


def test_fold_hands_back_a_copy_of_a_folded_output():
    g = Graph([0], [Node(np.ones_like, (Ref(0),), {}, Ref(1))], [1],
              meta=meta((0, (2,), 'float32')))
    fn = fold(g).compile()
    (a,), (b,) = fn(np.zeros(2, np.float32)), fn(np.zeros(2, np.float32))
    a[0] = 7
    assert b[0] == 1


def test_lower_calls_np_sum_as_the_ufunc_reduce():
    g = Graph([0], [Node(np.sum, (Ref(0),), {'axis': (0,), 'keepdims': False, 'dtype': None},
                         Ref(1))], [1])
    out = lower(g)
    assert out.nodes[0].fn == _ufunc_method(np.add, 'reduce')
    x = np.random.default_rng(0).standard_normal((1000, 3)).astype(np.float32)
    assert np.array_equal(run(out, x)[0], np.sum(x, axis=0))


def test_liveness_frees_each_value_after_its_last_read():
    g = Graph([0], [Node(np.exp, (Ref(0),), {}, Ref(1)),
                    Node(np.negative, (Ref(1),), {}, Ref(2)),
                    Node(np.add, (Ref(2), 1.0), {}, Ref(3))], [3])
    lines = g.code().splitlines()
    assert lines[1:] == ['    v1 = f0(v0)', '    del v0', '    v2 = f1(v1)', '    del v1',
                         '    v3 = f2(v2, 1.0)', '    del v2', '    return v3,']


needs_numba = pytest.mark.skipif(not fusion.available(), reason='Numba is not installed '
                                 '(pip install ember[compile])')


@needs_numba
def test_fuse_a_run_gives_the_bits_of_the_unfused_calls():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    c = Const(0, rng.standard_normal((3, 5)).astype(np.float32))
    nodes = [Node(np.multiply, (Ref(0), 1.0001), {}, Ref(1)),
             Node(np.add, (Ref(1), c), {}, Ref(2)),
             Node(np.true_divide, (Ref(2), 3), {}, Ref(3)),
             Node(np.power, (Ref(3), 2), {}, Ref(4)),
             Node(np.subtract, (0.5, Ref(4)), {}, Ref(5)),
             Node(np.negative, (Ref(5),), {}, Ref(6)),
             Node(np.sqrt, (Ref(4),), {}, Ref(7))]
    m = {i: ((3, 5), np.dtype(np.float32)) for i in range(8)}
    g = Graph([0], nodes, [6, 7, 2], [c], m)
    fused = fusion.fuse(g)
    assert len(fused.nodes) == 1 and type(fused.nodes[0].fn) is fusion.Fused
    want = run(g, x)
    got = run(fused, x)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@needs_numba
def test_fuse_leaves_short_runs_other_shapes_and_libm_functions():
    nodes = [Node(np.add, (Ref(0), 1.0), {}, Ref(1)),
             Node(np.exp, (Ref(1),), {}, Ref(2)),                     # not correctly rounded
             Node(np.multiply, (Ref(2), 2.0), {}, Ref(3))]
    m = {i: ((4,), np.dtype(np.float64)) for i in range(4)}
    g = Graph([0], nodes, [3], [], m)
    assert [n.fn for n in fusion.fuse(g).nodes] == [np.add, np.exp, np.multiply]


@needs_numba
def test_fuse_casts_operands_to_the_result_dtype_as_numpy_does():
    x = np.array([1, 2, 3], np.int32)
    nodes = [Node(np.add, (Ref(0), 1), {}, Ref(1)),                  # int32 + weak int
             Node(np.multiply, (Ref(1), 2147483647), {}, Ref(2)),     # wraps in int32
             Node(np.true_divide, (Ref(2), 7), {}, Ref(3)),           # float64
             Node(np.subtract, (Ref(3), 0.1), {}, Ref(4))]
    m = {0: ((3,), np.dtype(np.int32)), 1: ((3,), np.dtype(np.int32)),
         2: ((3,), np.dtype(np.int32)), 3: ((3,), np.dtype(np.float64)),
         4: ((3,), np.dtype(np.float64))}
    g = Graph([0], nodes, [4], [], m)
    fused = fusion.fuse(g)
    assert type(fused.nodes[0].fn) is fusion.Fused
    with np.errstate(all='ignore'):
        (want,) = run(g, x)
    (got,) = run(fused, x)
    assert got.dtype == want.dtype and np.array_equal(got, want)


@needs_numba
def test_fuse_in_place_calls_store_what_they_write_with_numpys_bits():
    # GELU's forward as ember's op code runs it on a chunk: calls that write in place
    # (out=), maximum and absolute, and a NaN, infinities and both zeros among the inputs
    rng = np.random.default_rng(2)
    x = rng.standard_normal(64).astype(np.float32)
    x[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30]
    nodes = [Node(np.absolute, (Ref(0),), {}, Ref(2)),
             Node(np.multiply, (Ref(2), 0.2316418882663604), {}, Ref(3)),
             Node(np.add, (Ref(3), 1), {'out': (Ref(3),)}, (), (3,)),
             Node(np.reciprocal, (Ref(3),), {'out': (Ref(3),)}, (), (3,)),
             Node(np.multiply, (Ref(3), 0.5307027145), {}, Ref(4)),
             Node(np.add, (Ref(4), -0.7265760135), {'out': (Ref(4),)}, (), (4,)),
             Node(np.multiply, (Ref(4), Ref(3)), {'out': (Ref(4),)}, (), (4,)),
             Node(np.maximum, (Ref(0), 0), {'out': (Ref(1),)}, (), (1,)),
             Node(np.subtract, (Ref(1), Ref(4)), {'out': (Ref(1),)}, (), (1,)),
             Node(np.minimum, (Ref(4), Ref(0)), {}, Ref(5))]
    m = {i: ((64,), np.dtype(np.float32)) for i in range(6)}
    g = Graph([0, 1], nodes, [5], [], m)
    fused = fusion.fuse(g)
    assert len(fused.nodes) == 1 and fused.nodes[0].writes == (1,)
    outs = {}
    for name, graph in (('want', g), ('got', fused)):
        buf = np.full(64, 7.0, np.float32)                  # the array written in place
        with np.errstate(all='ignore'):
            (five,) = graph.compile()(x, buf)
        outs[name] = buf, five
    for a, b in zip(outs['got'], outs['want']):
        assert np.array_equal(a.view(np.int32), b.view(np.int32))     # bits, zeros' signs too


@needs_numba
@pytest.mark.parametrize('a, b', [(-0.0, 0.0), (0.0, -0.0), (np.nan, 1.0), (1.0, np.nan),
                                  (2.0, 1.0), (1.0, 2.0)])
def test_fused_maximum_and_minimum_pick_the_operand_numpy_picks(a, b):
    x = np.full(8, a, np.float64)
    y = np.full(8, b, np.float64)
    nodes = [Node(np.maximum, (Ref(0), Ref(1)), {}, Ref(2)),
             Node(np.minimum, (Ref(0), Ref(1)), {}, Ref(3)),
             Node(np.maximum, (Ref(1), Ref(0)), {}, Ref(4)),
             Node(np.minimum, (Ref(1), Ref(0)), {}, Ref(5))]
    g = Graph([0, 1], nodes, [2, 3, 4, 5], [], {i: ((8,), np.dtype(np.float64))
                                                for i in range(6)})
    fused = fusion.fuse(g)
    assert len(fused.nodes) == 1
    for got, want in zip(run(fused, x, y), run(g, x, y)):
        assert np.array_equal(got.view(np.int64), want.view(np.int64))


@needs_numba
def test_fused_in_place_run_falls_back_when_a_written_array_overlaps_an_operand():
    # v1 is written, then v2 (a view of v1 one element on) is read: a loop would read v2's
    # old elements, NumPy's calls read the new ones
    nodes = [Node(np.multiply, (Ref(1), 2.0), {'out': (Ref(1),)}, (), (1,)),
             Node(np.add, (Ref(1), 1.0), {'out': (Ref(1),)}, (), (1,)),
             Node(np.add, (Ref(2), Ref(0)), {}, Ref(3)),
             Node(np.multiply, (Ref(3), 3.0), {}, Ref(4))]
    g = Graph([0, 1, 2], nodes, [4], [], {i: ((5,), np.dtype(np.float64)) for i in range(5)})
    fused = fusion.fuse(g)
    assert type(fused.nodes[0].fn) is fusion.Fused
    x = np.arange(5.0)
    results = []
    for graph in (g, fused):
        base = np.arange(6.0)
        (out,) = graph.compile()(x, base[:5], base[1:])
        results.append((out, base))
    assert all(np.array_equal(a, b) for a, b in zip(*results))


@needs_numba
@pytest.mark.parametrize('shape, shapes', [
    ((6, 8), [(6, 1), (8,), ()]),                         # layer norm: rows, columns, a number
    ((2, 3, 5, 4), [(2, 3, 1, 4), (5, 4), (1, 1, 1, 1)]),  # softmax over axis -2, a mask
    ((3, 1, 4), [(1, 1, 4), (3, 1, 1), (4,)])])           # size-1 dimensions dropped
def test_fuse_reads_broadcast_operands_at_their_own_index(shape, shapes):
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal(shape).astype(np.float32)] + \
        [rng.standard_normal(s).astype(np.float32) for s in shapes]
    m = {0: (shape, np.dtype(np.float32))}
    m.update({k + 1: (s, np.dtype(np.float32)) for k, s in enumerate(shapes)})
    m.update({k: (shape, np.dtype(np.float32)) for k in (4, 5)})
    nodes = [Node(np.subtract, (Ref(0), Ref(1)), {}, Ref(4)),
             Node(np.multiply, (Ref(4), Ref(2)), {'out': (Ref(4),)}, (), (4,)),
             Node(np.add, (Ref(4), Ref(3)), {'out': (Ref(4),)}, (), (4,)),
             Node(np.true_divide, (Ref(2), Ref(4)), {}, Ref(5)),
             Node(np.maximum, (Ref(5), Ref(1)), {'out': (Ref(0),)}, (), (0,))]
    g = Graph([0, 1, 2, 3], nodes, [4, 5], [], m)
    fused = fusion.fuse(g)
    assert [type(n.fn) for n in fused.nodes] == [fusion.Fused]
    results = []
    for graph in (g, fused):
        x0 = xs[0].copy()
        results.append((*graph.compile()(x0, *xs[1:]), x0))
    for got, want in zip(*results):
        assert got.shape == want.shape and np.array_equal(got, want)
