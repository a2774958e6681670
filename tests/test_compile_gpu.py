"""``ember/compiler/gpu.py`` on CuPy's CPU stand-in (tests/fakecupy.py): the recording
namespace, fused CUDA kernels (their C++ bodies run by the stand-in; NVRTC compiles them in
tools/check_kernels.py) and the CUDA-graph runner, against a fake stream capture defined here.

A program is compared with its own unfused, uncaptured replay bit for bit.
"""
import contextlib
import types

import numpy as np
import pytest

from ember.compiler import gpu, passes
from ember.compiler.graph import Graph
from ember.compiler.tracer import Capture
from tests import fakecupy as cp


def trace(fn, *arrays):
    """``fn(xp, *tracers)`` recorded over device copies of ``arrays``: (graph, capture)."""
    cap = Capture()
    ins = [cap.new(cp.asarray(a)) for a in arrays]
    out = fn(gpu.TracedXP(cap, cp), *ins)
    outs = out if isinstance(out, tuple) else (out,)
    graph = Graph([t.i for t in ins], cap.nodes, [o.i for o in outs], cap.consts,
                  dict(enumerate(cap.meta)))
    return graph, cap


def same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.get(), w.get(), strict=True)


def device(*arrays):
    return [cp.asarray(a) for a in arrays]


RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4)).astype(np.float32)
Y = RNG.standard_normal((3, 4)).astype(np.float32)


# ---------------------------------------------------------------------- TracedXP

def test_traced_calls_are_recorded_and_replayed():
    def f(xp, x, y):
        z = xp.tanh(x) * y + xp.linalg.norm(x)
        return xp.sum(z, axis=0), xp.add.reduce(z, axis=1), xp.matmul(x, y.T)
    graph, _ = trace(f, X, Y)
    assert graph.nodes[0].fn is gpu.lookup(cp, 'tanh')
    assert graph.nodes[2].fn is gpu.lookup(cp.linalg, 'norm')
    program = graph.compile()
    x2, y2 = device(X * 3, Y - 1)
    same(program(x2, y2), f(cp, x2, y2))


def test_constants_and_metadata_are_not_recorded():
    graph, cap = trace(lambda xp, x: x, X)
    xp = gpu.TracedXP(cap, cp)
    x = cap.new(cp.asarray(X))
    assert xp.float32 is np.float32 and xp.ndarray is cp.ndarray and xp.pi == np.pi
    assert type(xp.arange(3)) is cp.ndarray
    assert xp.shape(x) == (3, 4) and xp.result_type(x, 1.0) == np.float32
    assert xp.get_array_module(x) is xp and xp.get_array_module(cp.asarray(X)) is cp
    assert cap.nodes == []
    assert xp.linalg is xp.linalg and xp.add is xp.add   # (looked up once a capture)


def test_one_function_object_for_each_name():
    """The stand-in makes its wrappers afresh at each access; the nodes' functions must be one
    object for CSE to merge a repeated call."""
    graph, _ = trace(lambda xp, x: xp.exp(x) + xp.exp(x), X)
    assert len(passes.cse(graph).nodes) == len(graph.nodes) - 1


def test_out_and_ufunc_methods_are_writes():
    def f(xp, x, z):
        y = xp.multiply(x, 2.0, out=z)          # a ufunc: the out tracer comes back
        xp.add.at(z, cp.asarray([0, 0, 2]), 1.0)  # a ufunc method writing in place
        w = xp.clip(x, -0.5, 0.5, out=x)        # a function with out=
        return y, w
    graph, cap = trace(f, X, np.zeros_like(X))
    assert [n.writes for n in graph.nodes] == [(1,), (1,), (0,)]
    assert graph.outputs[0] == 1
    assert gpu.written_inputs(graph) == [0, 1]
    x2, z2 = device(X * 2, Y)
    x3, z3 = device(X * 2, Y)
    got = graph.compile()(x2, z2)
    want = f(cp, x3, z3)
    same(got, want)
    same((x2, z2), (x3, z3))


def test_random_draws_are_impure_nodes():
    graph, _ = trace(lambda xp, x: x * xp.random.rand(3, 4), X)
    assert isinstance(graph.nodes[0].fn, gpu._Drawn) and graph.nodes[0].args == (3, 4)
    program = graph.compile()
    x = cp.asarray(X)
    assert not np.array_equal(program(x)[0].get(), program(x)[0].get())
    assert 'draws' in gpu.uncapturable(graph)


# ---------------------------------------------------------------------- fusion

def chain_f32(xp, x, y):
    a = x * 1.0001 + 0.0001       # weak Python floats: float32 products
    b = (a - y) / (y * y + 0.5)
    c = -b + x ** 2
    return xp.sqrt(c * c + 1.0), b   # b is read after the run: a second output


def chain_mixed(xp, i, j, f, d):
    a = i / j                     # int32 / int32: float64 operands first
    b = a * 0.1 + i               # int32 cast to float64 inside
    c = xp.sqrt(j) - b            # sqrt of int32: float64
    e = f * 3.0 + 2               # float32 and weak numbers
    g = e - f / 7.0
    h = (g * d) + c               # float32 times a 0-d float64 array: float64
    return h, g


def chain_special(xp, x, y):
    a = x * float('nan') + y
    b = a * float('inf') - x
    c = y - b / -0.0
    return c + x.T.T, xp.add(c, 1e-30)


def chain_ints(xp, i, k):
    a = i * 3 - k
    b = a * a + 7
    c = -b * k + 2 ** 40          # int64 wrapping
    return c // 3, c


INT32 = RNG.integers(-50, 50, (3, 4)).astype(np.int32)
NONZERO = np.where(INT32 == 0, 1, INT32).astype(np.int32)


@pytest.mark.parametrize('fn, arrays, kernels', [
    (chain_f32, (X, Y), 1),
    (chain_mixed, (INT32, np.abs(NONZERO), X, np.array(1.5)), 1),
    (chain_special, (X, Y.T.copy().T), 1),
    (chain_ints, (INT32.astype(np.int64), RNG.integers(-9, 9, (3, 4))), 1),
], ids=['float32', 'mixed dtypes', 'nan inf -0 transposed', 'int64'])
def test_fused_equals_unfused(fn, arrays, kernels):
    graph, _ = trace(fn, *arrays)
    fused = gpu.fuse(graph, cp)
    found = [n.fn for n in fused.nodes if isinstance(n.fn, gpu.FusedGPU)]
    assert len(found) == kernels and len(fused.nodes) < len(graph.nodes)
    fresh = device(*(a * 2 if a.dtype.kind == 'f' else a + 1 for a in arrays))
    same(fused.compile()(*fresh), graph.compile()(*fresh))


def test_kernel_source():
    graph, _ = trace(chain_f32, X, Y)
    spec = [n.fn for n in gpu.fuse(graph, cp).nodes if isinstance(n.fn, gpu.FusedGPU)][0].spec
    print(spec.operation)
    assert spec.in_params == ', '.join(f'float32 a{k}' for k in range(6))
    assert spec.out_params == 'float32 o0, float32 o1'
    assert [type(a).__name__ for a in spec.operands] == ['Ref', 'float32', 'float32', 'Ref',
                                                         'float32', 'float32']
    assert spec.operation.splitlines()[0] == 'const float t2 = a0 * a1;'


def test_scalars_are_arguments_and_kernels_are_shared():
    """A chain with other numbers is the same kernel (one compile); other dtypes are not."""
    def g(xp, x, s):
        return ((x * s + 1.0) * s - 2.0) / s
    kernels = set()
    for s, dtype in ((0.5, np.float32), (0.25, np.float32), (0.5, np.float64)):
        graph, _ = trace(lambda xp, x: g(xp, x, s), X.astype(dtype))
        fused = gpu.fuse(graph, cp)
        (k,) = [n.fn for n in fused.nodes if isinstance(n.fn, gpu.FusedGPU)]
        kernels.add(id(k.kernel))
        x = cp.asarray(Y.astype(dtype))
        same(fused.compile()(x), (g(cp, x, s),))
    assert len(kernels) == 2


def test_short_runs_and_other_shapes_stay_calls():
    graph, _ = trace(lambda xp, x, r: ((x + 1) * 2 - 3) + r, X, X[:1])
    assert all(not isinstance(n.fn, gpu.FusedGPU) for n in gpu.fuse(graph, cp).nodes)


# ---------------------------------------------------------------------- CUDA graphs

class FakeGraph:
    """A captured graph: the calls the capture made, run again on the same buffers."""

    def __init__(self, records):
        self.records = records

    def launch(self, stream=None):
        for thunk, out in self.records:
            _store(out, thunk())


def _store(old, new):
    if type(old) is cp.ndarray:
        old._a[...] = new._a
    elif isinstance(old, (tuple, list)):
        for o, n in zip(old, new):
            _store(o, n)


def _arrays(x):
    if type(x) is cp.ndarray:
        yield x
    elif isinstance(x, (tuple, list)):
        for a in x:
            yield from _arrays(a)
    elif isinstance(x, dict):
        yield from _arrays(list(x.values()))


@pytest.fixture
def capture(monkeypatch):
    """Stream capture on the stand-in: each array call, kernel and store made during a
    capture is recorded (and made), and the arrays it made are then filled with garbage: as
    on a GPU, nothing has run until the graph is launched. Reading a value on the host during
    a capture raises and invalidates it, as CUDA does."""
    state = types.SimpleNamespace(records=None, invalid=False, begun=0)
    call, kernel = cp._call, cp.ElementwiseKernel.__call__
    getitem, setitem = cp.ndarray.__getitem__, cp.ndarray.__setitem__

    def record(thunk):
        out = thunk()
        if state.records is not None:
            state.records.append((thunk, out))
        return out

    def host(orig):
        def read(self, *a, **k):
            if state.records is not None:
                state.invalid = True
                raise RuntimeError('cudaErrorStreamCaptureUnsupported (fake capture)')
            return orig(self, *a, **k)
        return read

    class Stream:
        def __init__(self, non_blocking=False):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def synchronize(self):
            pass

        def begin_capture(self, mode=None):
            state.records, state.invalid = [], False
            state.begun += 1

        def end_capture(self):
            records, state.records = state.records, None
            if state.invalid:
                raise RuntimeError('cudaErrorStreamCaptureInvalidated (fake capture)')
            made = {id(a) for _, out in records for a in _arrays(out)}
            before = [a for thunk, _ in records for a in _arrays(
                [c.cell_contents for c in thunk.__closure__ or ()]) if id(a) not in made]
            for _, out in records:
                for a in _arrays(out):
                    if a._a.dtype.kind in 'fiu' and not any(
                            np.may_share_memory(a._a, b._a) for b in before):
                        a._a[...] = np.nan if a._a.dtype.kind == 'f' else 77
            return FakeGraph(records)

    monkeypatch.setattr(cp, '_call', lambda fn, args, kwargs, where:
                        record(lambda: call(fn, args, kwargs, where)))
    monkeypatch.setattr(cp.ElementwiseKernel, '__call__', lambda self, *args, **kw:
                        record(lambda: kernel(self, *args, **kw)))
    monkeypatch.setattr(cp.ndarray, '__getitem__', lambda self, idx:
                        record(lambda: getitem(self, idx)))
    monkeypatch.setattr(cp.ndarray, '__setitem__', lambda self, idx, value:
                        record(lambda: setitem(self, idx, value)))
    for name in ('get', '__bool__', '__float__', '__int__'):
        monkeypatch.setattr(cp.ndarray, name, host(getattr(cp.ndarray, name)))
    pool = types.SimpleNamespace(malloc=lambda size: None)
    monkeypatch.setattr(cp, 'cuda', types.SimpleNamespace(**{
        **vars(cp.cuda), 'Stream': Stream, 'MemoryPool': lambda: pool,
        'using_allocator': lambda alloc: contextlib.nullcontext()}))
    return state


def model(xp, x, w, idx):
    h = x @ w
    h = ((h * 0.5 + 1.0) * h - 0.25) * h   # a fused kernel
    return xp.tanh(h)[idx].sum(axis=0), h


def test_graph_runner_gives_the_replays_results(capture):
    idx = np.array([2, 0, 2])
    graph, _ = trace(lambda xp, x, w: model(xp, x, w, idx), X, Y.T)
    graph = gpu.fuse(graph, cp)
    replay = graph.compile()
    runner = gpu.CudaGraphRunner(replay, cp, graph)
    inputs = [device(X * k, Y.T - k) for k in range(4)]
    results = [runner(*a) for a in inputs]
    assert runner.reason is None and capture.begun == 1 and runner.graph is not None
    for got, a in zip(results, inputs):   # (and each result is its own copy)
        same(got, replay(*a))


def test_graph_runner_writes_inputs_back(capture):
    def f(xp, x, v):
        flat = x.reshape(-1)
        xp.multiply(flat, 0.5, out=flat)   # x written through a view of it
        return x + v,
    graph, _ = trace(f, X, Y)
    runner = gpu.CudaGraphRunner(graph.compile(), cp, graph)
    assert runner.written == [0]
    for k in range(3):
        x, v = device(X + k, Y)
        x2, v2 = device(X + k, Y)
        same(runner(x, v), graph.compile()(x2, v2))
        same((x, v), (x2, v2))
    assert runner.graph is not None


def test_graph_runner_falls_back_where_capture_fails(capture):
    def replay(x):
        return x * float(x.sum()),   # a value read on the host between kernels
    runner = gpu.CudaGraphRunner(replay, cp)
    for k in range(3):
        x = cp.asarray(X + k)
        same(runner(x), replay(x))
    assert runner.graph is None and 'cudaErrorStreamCapture' in runner.reason
    assert capture.begun == 1


def test_graph_runner_refuses_host_work(capture):
    def f(xp, x):
        cap = x.cap
        cap.check(xp.any(x > 100), lambda: 'x is too large')
        return x + 1,
    graph, _ = trace(f, X)
    runner = gpu.CudaGraphRunner(graph.compile(), cp, graph)
    same(runner(cp.asarray(X)), (cp.asarray(X + 1),))
    with pytest.raises(IndexError, match='too large'):
        runner(cp.asarray(X * 1000))
    assert 'check' in runner.reason and capture.begun == 0


def test_the_fake_capture_runs_nothing_until_launch(capture, monkeypatch):
    """The fake is strict enough to fail a runner that forgets to launch."""
    graph, _ = trace(lambda xp, x, w: model(xp, x, w, np.array([1])), X, Y.T)
    runner = gpu.CudaGraphRunner(graph.compile(), cp, graph)
    runner(*device(X, Y.T))
    monkeypatch.setattr(FakeGraph, 'launch', lambda self, stream=None: None)
    assert np.isnan(runner(*device(X, Y.T))[0].get()).all()


def test_one_namespace_for_each_capture(monkeypatch):
    """What ``Tracer.traced_namespace`` hands op code for a CuPy array."""
    import sys
    monkeypatch.setitem(sys.modules, 'cupy', cp)
    cap, other = Capture(), Capture()
    xp = gpu.traced_namespace(cap, cp.asarray(X))
    assert isinstance(xp, gpu.TracedXP) and xp._xp is cp and xp._cap is cap
    assert gpu.traced_namespace(cap, cp.asarray(Y)) is xp
    assert gpu.traced_namespace(other, cp.asarray(X)) is not xp
