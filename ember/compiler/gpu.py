"""``ember.compile`` on the GPU: tracing CuPy calls, fused CUDA kernels and CUDA graphs.

Three parts, each usable alone:

- ``TracedXP``: the ``xp`` a tracer over a CuPy array hands to op code. CuPy's functions do
  not dispatch on foreign arrays as NumPy's do, so the namespace itself records: a call with a
  tracer among its arguments runs ``cupy.<name>`` on the real arrays and becomes a node whose
  function is that same ``cupy.<name>`` object (what the replay calls); a call without one runs
  as it is (its result is a constant of the program).
- ``fuse``: a run of elementwise calls (the kinds ``fusion.py`` fuses on the CPU: ``+ - * /``,
  negation, ``x ** 2``, ``sqrt``) becomes one CuPy ``ElementwiseKernel``. Operands are cast
  to each call's result dtype first and Python numbers are weak, as in NumPy and CuPy; the
  kernel is compiled with ``--fmad=false`` so that no product and sum are contracted into one
  FMA: each step rounds as CuPy's own one-op kernels do, and the fused program gives eager's
  bits.
- ``CudaGraphRunner`` (``mode='reduce-overhead'``): one replay captured into a CUDA graph over
  static input and output buffers, then each call is a copy in, one graph launch and a copy
  out, instead of a kernel launch (and its microseconds of Python) per call of the program.
  Programs that must run on the host between their kernels (a host call, a random draw, a
  check read on the host) are replayed as they are.
"""
import weakref

import numpy as np

from .graph import Const, Graph, Node, Ref
from .tracer import (ALLOC_NAMES, DATA_SHAPED_NAMES, MUTATES_NAMES, NEW_NAMES,
                     SHAPE_ONLY_NAMES, Tracer, has_tracer)

# ---------------------------------------------------------------------- recording namespace

_lookups = {}    # (id(namespace), name) -> (namespace, attribute): one object for each name
_namespaces = weakref.WeakKeyDictionary()   # capture -> {id(xp): TracedXP}


def lookup(xp, name):
    """``getattr(xp, name)``, the same object each time (CuPy's stand-in makes its function
    wrappers afresh at each access; a node's function must compare equal across calls)."""
    key = (id(xp), name)
    hit = _lookups.get(key)
    if hit is None or hit[0] is not xp:
        hit = _lookups[key] = (xp, getattr(xp, name))
    return hit[1]


def traced_namespace(cap, arr):
    """The recording ``xp`` of capture ``cap`` for the device array ``arr`` (one per capture:
    ``Tracer.traced_namespace`` for a CuPy array)."""
    import cupy
    per_cap = _namespaces.setdefault(cap, {})
    xp = per_cap.get(id(cupy))
    if xp is None:
        xp = per_cap[id(cupy)] = TracedXP(cap, cupy)
    return xp


def _is_module(v):
    return type(v).__name__ == 'module'


def _is_ufunc(v):
    return hasattr(v, 'nin') and hasattr(v, 'nout') and hasattr(v, 'reduce')


class TracedXP:
    """CuPy (``xp``) as capture ``cap`` sees it: calls that touch a tracer are recorded.

    >>> from tests import fakecupy
    >>> from ember.compiler.tracer import Capture
    >>> cap = Capture()
    >>> x = cap.new(fakecupy.asarray([1.0, 4.0]))
    >>> xp = TracedXP(cap, fakecupy)
    >>> y = xp.sqrt(xp.abs(x))
    >>> len(cap.nodes), y.v.get().tolist()
    (2, [1.0, 2.0])
    >>> xp.float32 is np.float32, len(xp.arange(3)), len(cap.nodes)   # (constants: not recorded)
    (True, 3, 2)
    """

    def __init__(self, cap, xp):
        self._cap, self._xp = cap, xp

    def __repr__(self):
        return f'<traced {getattr(self._xp, "__name__", "xp")}>'

    def __getattr__(self, name):
        v = lookup(self._xp, name)
        cap = self._cap
        if _is_module(v):
            out = TracedXP(cap, v)
        elif isinstance(v, type) or not callable(v):   # ndarray, dtypes, constants
            return v
        elif name == 'get_array_module':
            out = self._array_module
        elif name in SHAPE_ONLY_NAMES:
            def out(*args, **kwargs):
                return v(*cap._real(args), **cap._real(kwargs))
        elif getattr(self._xp, '__name__', '').endswith('random'):
            out = _TracedDraw(cap, _Drawn(v, name))
        elif _is_ufunc(v):
            out = _TracedUfunc(cap, v)
        elif name in ALLOC_NAMES | NEW_NAMES:   # op code writes into what it allocates: recorded,
            def out(*args, **kwargs):   # so the calls that fill it are (a constant it is not)
                return cap.call(v, args, kwargs)
        else:
            def out(*args, **kwargs):
                if not has_tracer((args, kwargs)):
                    return v(*args, **kwargs)
                if name in DATA_SHAPED_NAMES or name == 'where' and len(args) + len(kwargs) == 1:
                    cap.brk(f"the shape of {name}'s result depends on the data")
                writes = kwargs.get('out')
                writes = () if writes is None else \
                    tuple(writes) if type(writes) is tuple else (writes,)
                if name in MUTATES_NAMES and args:   # (put_along_axis...: writes its first arg)
                    writes += (args[0],)
                return cap.call(v, args, kwargs, writes=tuple(w for w in writes
                                                             if type(w) is Tracer))
        self.__dict__[name] = out   # (looked up once for each capture)
        return out

    def _array_module(self, *arrays):
        return self if has_tracer(arrays) else self._xp.get_array_module(*arrays)


class _TracedUfunc:
    """A CuPy ufunc during capture: recorded as NumPy's are (``out=`` a write, ``.reduce``,
    ``.at``... as ufunc methods), by ``Capture.call_ufunc``."""

    def __init__(self, cap, ufunc):
        self.cap, self.ufunc = cap, ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        if not has_tracer((args, kwargs)):
            return self.ufunc(*args, **kwargs)
        return self.cap.call_ufunc(self.ufunc, '__call__', args, kwargs)

    def __getattr__(self, method):
        attr = getattr(self.ufunc, method)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            if not has_tracer((args, kwargs)):
                return attr(*args, **kwargs)
            return self.cap.call_ufunc(self.ufunc, method, args, kwargs)
        return call


class _Drawn:
    """A draw from CuPy's global random state: impure (never folded, merged or captured)."""
    impure = True

    def __init__(self, fn, name):
        self.fn, self.__name__ = fn, f'cupy.random.{name}'

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


class _TracedDraw:
    def __init__(self, cap, drawn):
        self.cap, self.drawn = cap, drawn

    def __call__(self, *args, **kwargs):
        return self.cap.call(self.drawn, args, kwargs)


# ---------------------------------------------------------------------- fusion

OPTIONS = ('--fmad=false',)   # no FMA contraction: each + and * rounds as CuPy's own kernels
_CTYPES = {'float32': 'float', 'float64': 'double', 'int32': 'int', 'int64': 'long long'}
_C = {np.add: '{} + {}', np.subtract: '{} - {}', np.multiply: '{} * {}',
      np.true_divide: '{} / {}', np.negative: '-{}', np.positive: '{}', np.sqrt: 'sqrt({})'}
_KERNELS = {}    # (id(xp), source) -> (xp, ElementwiseKernel): one compile for each source


def _numpy_ufuncs(xp):
    """{id(function): NumPy ufunc} for the elementwise functions ``fusion.py`` fuses, as NumPy
    and as ``xp`` spell them (a tracer's operators record NumPy's; op code records ``xp``'s)."""
    from . import fusion
    table = {}
    for uf in list(fusion._BINARY) + list(fusion._UNARY) + [np.power]:
        table[id(uf)] = uf
        for name in {uf.__name__} | ({'true_divide'} if uf is np.true_divide else set()):
            f = lookup(xp, name) if xp is not None and hasattr(xp, name) else None
            if f is not None:
                table[id(f)] = uf
    return table


def _as_numpy(node, table):
    uf = table.get(id(node.fn))
    return None if uf is None else Node(uf, node.args, node.kwargs, node.outs, node.writes,
                                        node.where)


class KernelSpec:
    """A fused kernel's CuPy ``ElementwiseKernel`` arguments and how the program calls it:
    ``operands`` (templates: ``Ref``, ``Const`` or a NumPy scalar, in parameter order) and
    ``outs`` (the value numbers it makes)."""

    def __init__(self, in_params, out_params, operation, name, operands, outs):
        self.in_params, self.out_params = in_params, out_params
        self.operation, self.name = operation, name
        self.operands, self.outs = operands, outs

    @property
    def source(self):
        return (self.in_params, self.out_params, self.operation, self.name)


def kernel_spec(run, meta, outs):
    """The ``ElementwiseKernel`` for ``run`` (consecutive fusible nodes, as NumPy ufuncs:
    ``fusion._fusible`` holds for each) that makes the values ``outs``.

    Each operand is cast to its call's result dtype (a cast is a rounding, as NumPy's loops
    cast); a Python number is weak, converted to that dtype here and passed as a scalar
    argument (so a new learning rate reuses the compiled kernel)."""
    inside = {node.outs.i for node in run}
    params, operands, names = [], [], {}

    def operand(a, dtype):
        if type(a) is Ref and a.i in inside:
            name, have = f't{a.i}', meta[a.i][1]
        else:
            if type(a) is Ref:
                key, have = ('v', a.i), meta[a.i][1]
            elif type(a) is Const:
                key, have = ('c', a.k), a.arr.dtype
            else:
                a = dtype.type(a)   # weak: the call's dtype (NumPy and CuPy do the same)
                key, have = ('s', dtype, a.tobytes()), dtype
            name = names.get(key)
            if name is None:
                name = names[key] = f'a{len(operands)}'
                operands.append(a)
                params.append(f'{have.name} {name}')
        return name if have == dtype else f'(({_CTYPES[dtype.name]}){name})'

    body = []
    for node in run:
        dtype = meta[node.outs.i][1]
        args = node.args[:1] if node.fn is np.power else node.args   # (x ** 2: x * x)
        ops = [operand(a, dtype) for a in args]
        if node.fn is np.power:
            expr = ops[0] if node.args[1] == 1 else f'{ops[0]} * {ops[0]}'
        else:
            expr = _C[node.fn].format(*ops)
        body.append(f'const {_CTYPES[dtype.name]} t{node.outs.i} = {expr};')
    body += [f'o{k} = t{i};' for k, i in enumerate(outs)]
    out_params = ', '.join(f'{meta[i][1].name} o{k}' for k, i in enumerate(outs))
    return KernelSpec(', '.join(params), out_params, '\n'.join(body), f'ember_fused_{len(run)}',
                      operands, list(outs))


class FusedGPU:
    """A fused kernel in a program: ``FusedGPU(spec, shape, xp)(*operands)`` returns its
    outputs (new arrays of ``shape``). The kernel is made once for each source."""

    def __init__(self, spec, shape, xp):
        self.spec, self.shape, self.xp = spec, shape, xp
        self.dtypes = [np.dtype(p.split()[0]) for p in spec.out_params.split(', ')]
        self.__name__ = f'fused_gpu_{spec.name.rsplit("_", 1)[1]}'
        key = (id(xp), spec.source)
        hit = _KERNELS.get(key)
        if hit is None or hit[0] is not xp:
            hit = _KERNELS[key] = (xp, xp.ElementwiseKernel(*spec.source, options=OPTIONS))
        self.kernel = hit[1]

    def __call__(self, *operands):
        outs = [self.xp.empty(self.shape, d) for d in self.dtypes]
        self.kernel(*operands, *outs)
        return outs[0] if len(outs) == 1 else tuple(outs)


def fuse(graph, xp, min_run=None):
    """``fusion.fuse`` for a program of CuPy arrays: each run of at least ``min_run``
    consecutive fusible calls over one shape becomes one ``FusedGPU`` call."""
    from . import fusion
    min_run = fusion.MIN_RUN if min_run is None else min_run
    table = _numpy_ufuncs(xp)
    last_use = {i: len(graph.nodes) for i in graph.outputs}
    for n, node in enumerate(graph.nodes):
        for i in node.refs():
            last_use[i] = max(last_use.get(i, -1), n)
    nodes, run, shape = [], [], None

    def flush():
        if len(run) >= min_run:
            end = run[-1][0]
            outs = [node.outs.i for _, node in run if last_use.get(node.outs.i, -1) > end]
            if outs:
                spec = kernel_spec([node for _, node in run], graph.meta, outs)
                fused = FusedGPU(spec, graph.meta[outs[0]][0], xp)
                nodes.append(Node(fused, tuple(spec.operands), {},
                                  Ref(outs[0]) if len(outs) == 1 else
                                  tuple(Ref(i) for i in outs)))
                run.clear()
                return
        nodes.extend(graph.nodes[n] for n, _ in run)
        run.clear()

    for n, node in enumerate(graph.nodes):
        as_np = _as_numpy(node, table)
        sig = None if as_np is None else fusion._fusible(as_np, graph.meta)
        if sig is None or (run and sig[0] != shape):
            flush()
            if sig is None:
                nodes.append(node)
                continue
        shape = sig[0]
        run.append((n, as_np))
    flush()
    return Graph(graph.inputs, nodes, graph.outputs, graph.consts, graph.meta)


# ---------------------------------------------------------------------- CUDA graphs

def uncapturable(graph):
    """Why ``graph`` cannot be one CUDA graph (a host call, a random draw, a check or a copy
    read on the host), or None."""
    from .program import Draw, HostStep
    for node in graph.nodes:
        fn = node.fn
        if isinstance(fn, HostStep):
            return f'{fn.__name__} runs Python on the host'
        if isinstance(fn, (Draw, _Drawn)):
            return f'{fn.__name__} draws new numbers at each call'
        if getattr(fn, 'impure', False):
            return f'{getattr(fn, "__name__", fn)} runs on the host at each call'
        if getattr(fn, 'name', None) == 'get' or getattr(fn, '__name__', '') == 'asnumpy':
            return 'a value is copied to the host'
    return None


def written_inputs(graph):
    """The positions of the inputs that the program writes in place (or through a view)."""
    from .passes import _written
    written = _written(graph)
    return [k for k, i in enumerate(graph.inputs) if i in written]


class CudaGraphRunner:
    """``replay`` (a program's function of its input arrays) as one CUDA graph.

    The first call runs ``replay`` as it is and returns its results; it then runs it once
    more on static copies of the inputs, on a stream of its own with a memory pool of its own
    (compiling kernels and filling the pool with the blocks the program takes, so that
    nothing is allocated from the driver during capture), and captures a third replay into a
    graph. The pool stays the graph's: the addresses baked into it are never handed to anyone
    else. Each later call copies its inputs into the static ones, launches the graph on the
    current stream, copies the inputs the program writes back to the caller's arrays and
    returns copies of the static outputs (the next launch overwrites them).

    Where capture is not possible (``uncapturable(graph)``, or the capture fails: a copy to the
    host, a synchronization) every call is ``replay`` itself; ``reason`` says why.
    ``graph`` (the program's ``Graph``) says which inputs are written; without it all are
    copied back.
    """

    def __init__(self, replay, xp, graph=None):
        self.replay, self.xp = replay, xp
        self.reason = None if graph is None else uncapturable(graph)
        self.written = None if graph is None else written_inputs(graph)
        self.graph = self.stream = self.pool = None
        self.static_in, self.static_out = (), ()
        self.__name__ = f'cuda_graph({getattr(replay, "__name__", "program")})'

    def __call__(self, *inputs):
        if self.graph is None:
            out = self.replay(*inputs)
            if self.reason is None:
                try:
                    self._capture(inputs)
                except Exception as e:   # noqa: BLE001 (any failure: replay as it is)
                    self.reason = f'capture failed: {type(e).__name__}: {e}'
                    self.graph = self.stream = self.pool = None
                    self.static_in = self.static_out = ()
            return out
        for s, a in zip(self.static_in, inputs):
            s[...] = a
        self.graph.launch()
        for k in range(len(inputs)) if self.written is None else self.written:
            inputs[k][...] = self.static_in[k]
        return tuple(o.copy() for o in self.static_out)

    def _capture(self, inputs):
        xp = self.xp
        self.static_in = [xp.empty_like(a) for a in inputs]
        for s, a in zip(self.static_in, inputs):
            s[...] = a
        xp.cuda.Device().synchronize()   # (the copies, on the current stream, are done)
        self.stream, self.pool = xp.cuda.Stream(non_blocking=True), xp.cuda.MemoryPool()
        with self.stream, xp.cuda.using_allocator(self.pool.malloc):
            warm = self.replay(*self.static_in)
            del warm
            self.stream.synchronize()
            self.stream.begin_capture()
            try:
                outs = self.replay(*self.static_in)
            except BaseException:
                try:
                    self.stream.end_capture()   # (leaves the stream usable)
                except Exception:   # noqa: BLE001 (the capture is invalid: the first error)
                    pass
                raise
            self.graph = self.stream.end_capture()
        self.static_out = tuple(outs)
