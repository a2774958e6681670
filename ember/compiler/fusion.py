"""Fusion: a run of elementwise calls becomes one generated loop (Numba, ``ember[compile]``).

Eager ember runs ``x * 1.0001 + 0.0001 ...`` as one NumPy call per op, each a pass over
memory and about half a microsecond of dispatch. A run of consecutive elementwise calls over
arrays of one shape becomes one loop, compiled by Numba: each element goes through the whole
chain in registers, and only the values read after the run are stored.

Only the correctly rounded operations are fused (``+ - * /``, negation, ``x ** 2``,
``sqrt``): IEEE arithmetic gives the same bits in any loop, so a fused program gives eager's
bits. Every operand is cast to the call's result dtype first, as NumPy's loops do (a Python
number is weak: ``float32 * 0.5`` is a float32 product). NumPy's own ``exp``, ``tanh``...
differ from a compiler's libm in the last bit, so they stay NumPy calls. Without Numba the
program is unfused (the same answers, more calls). Measured on W6 (200 ops on a 1x16 tensor):
see docs/compiler.md.
"""
import numpy as np

from .graph import Const, Graph, Node, Ref

MIN_RUN = 4          # shorter runs stay NumPy calls (a Numba call costs about two NumPy calls)
_DTYPES = {np.dtype(np.float32): 'np.float32', np.dtype(np.float64): 'np.float64',
           np.dtype(np.int32): 'np.int32', np.dtype(np.int64): 'np.int64'}
_BINARY = {np.add: '+', np.subtract: '-', np.multiply: '*', np.true_divide: '/'}
_UNARY = {np.negative: '-{}', np.positive: '+{}', np.sqrt: 'np.sqrt({})'}
_KERNELS = {}        # source -> compiled kernel (the same run in another program: no recompile)


def available():
    try:
        import numba  # noqa: F401
        return True
    except ImportError:
        return False


def _fusible(node, meta):
    """The node's result dtype and shape where it is an elementwise call we fuse, else None."""
    fn = node.fn
    if node.writes or node.kwargs or type(node.outs) is not Ref:
        return None
    if fn in _BINARY:
        if len(node.args) != 2:
            return None
    elif fn in _UNARY:
        if len(node.args) != 1:
            return None
    elif fn is np.power:
        if len(node.args) != 2 or type(node.args[1]) not in (int, float) or \
                node.args[1] not in (1, 2):
            return None
    else:
        return None
    shape, dtype = meta[node.outs.i]
    if dtype not in _DTYPES:
        return None
    for a in node.args:
        if type(a) is Ref:
            s, d = meta[a.i]
            if (s != shape and s != ()) or d not in _DTYPES:
                return None
        elif type(a) is Const:
            if (a.arr.shape != shape and a.arr.shape != ()) or a.arr.dtype not in _DTYPES:
                return None
        elif type(a) not in (int, float, bool):
            return None
    return shape, dtype


def fuse(graph, min_run=MIN_RUN):
    """Replace each run of at least ``min_run`` fusible calls by one fused kernel call."""
    if not available():
        return graph
    meta = graph.meta
    uses = {}
    for n, node in enumerate(graph.nodes):
        for i in node.refs():
            uses.setdefault(i, []).append(n)
    for i in graph.outputs:
        uses.setdefault(i, []).append(len(graph.nodes))
    nodes, run, run_sig = [], [], None

    def flush():
        node = _kernel_node(run, meta, uses, run_index) if len(run) >= min_run else None
        if node is not None:
            nodes.append(node)
        else:
            nodes.extend(graph.nodes[k] for k in run)
        run.clear()

    run_index = {}
    for n, node in enumerate(graph.nodes):
        sig = _fusible(node, meta)
        if sig is None or (run and sig[0] != run_sig[0]):
            flush()
            if sig is None:
                nodes.append(node)
                continue
        if not run:
            run_sig = sig
        run.append(n)
        run_index[n] = node
    flush()
    return Graph(graph.inputs, nodes, graph.outputs, graph.consts, meta)


def _kernel_node(run, meta, uses, by_index):
    """One Node calling a generated kernel for the nodes ``run`` (indices, consecutive)."""
    inside = {by_index[n].outs.i for n in run}
    last = run[-1]
    outs = [by_index[n].outs.i for n in run
            if any(u > last for u in uses.get(by_index[n].outs.i, ()))]
    ins, names = [], {}

    def operand(a, dtype):
        cast = _DTYPES[dtype]
        if type(a) is Ref:
            if a.i in inside:
                return f'{cast}(t{a.i})' if meta[a.i][1] != dtype else f't{a.i}'
            if a.i not in names:
                names[a.i] = f'a{len(ins)}'
                ins.append(a)
            return f"{cast}({names[a.i]}[{'0' if meta[a.i][0] == () else 'i'}])"
        if type(a) is Const:
            key = ('c', a.k)
            if key not in names:
                names[key] = f'a{len(ins)}'
                ins.append(a)
            return f"{cast}({names[key]}[{'0' if a.arr.shape == () else 'i'}])"
        if a != a or a in (float('inf'), float('-inf')):
            return f'{cast}({"np.nan" if a != a else ("np.inf" if a > 0 else "-np.inf")})'
        return f'{cast}({a!r})'

    body = []
    for n in run:
        node = by_index[n]
        dtype = meta[node.outs.i][1]
        ops = [operand(a, dtype) for a in node.args]
        if node.fn in _BINARY:
            expr = f'{ops[0]} {_BINARY[node.fn]} {ops[1]}'
        elif node.fn is np.power:
            expr = ops[0] if node.args[1] == 1 else f'{ops[0]} * {ops[0]}'
        else:
            expr = _UNARY[node.fn].format(ops[0])
        body.append(f'        t{node.outs.i} = {_DTYPES[dtype]}({expr})')
    args = [f'a{k}' for k in range(len(ins))] + [f'o{k}' for k in range(len(outs))]
    src = [f"def kernel({', '.join(args)}):", '    for i in range(o0.size):'] + body + \
        [f'        o{k}[i] = t{i}' for k, i in enumerate(outs)]
    src = '\n'.join(src) + '\n'
    if not outs:
        return None
    shape = meta[outs[0]][0]
    # the run as it was, for operands laid out otherwise than in C order: NumPy's results then
    # take their layout (and a later sum its order of additions), which a flat loop would not
    unfused = Graph([a.i for a in ins if type(a) is Ref], [by_index[n] for n in run], outs,
                    [a for a in ins if type(a) is Const], meta).compile()
    kernel = Fused(src, [meta[i][1] for i in outs], shape, len(run),
                   [meta[a.i] if type(a) is Ref else (a.arr.shape, a.arr.dtype) for a in ins],
                   unfused, [type(a) is Ref for a in ins])
    return Node(kernel, tuple(ins), {}, tuple(Ref(i) for i in outs) if len(outs) != 1
                else Ref(outs[0]))


class Fused:
    """A fused kernel: ``Fused(src, out dtypes, shape, n)(*operands)`` returns its outputs."""

    def __init__(self, src, dtypes, shape, n, operands, unfused=None, refs=None):
        self.src, self.dtypes, self.shape, self.n = src, dtypes, shape, n
        self.unfused, self.refs = unfused, refs
        self.__name__ = f'fused_{n}'
        kernel = _KERNELS.get(src)
        if kernel is None:
            import numba
            env = {'np': np}
            exec(compile(src, '<ember fused kernel>', 'exec'), env)   # (source made here)
            kernel = _KERNELS[src] = numba.njit(error_model='numpy', nogil=True)(env['kernel'])
            # compiled now, for these dtypes (not at the first run of the program)
            kernel(*[np.zeros(max(1, int(np.prod(s))), d) for s, d in operands],
                   *[np.zeros(1, d) for d in dtypes])
        self.kernel = kernel

    def __call__(self, *operands):
        if self.unfused is not None and not all(a.flags.c_contiguous for a in operands):
            outs = self.unfused(*[a for a, ref in zip(operands, self.refs) if ref])
            return outs[0] if len(outs) == 1 else outs
        outs = [np.empty(self.shape, d) for d in self.dtypes]
        self.kernel(*[np.ascontiguousarray(a).reshape(-1) for a in operands],
                    *[o.reshape(-1) for o in outs])
        return outs[0] if len(outs) == 1 else tuple(outs)
