"""Fusion: a run of elementwise calls becomes one generated loop (Numba, ``ember[compile]``).

Eager ember runs ``x * 1.0001 + 0.0001 ...`` as one NumPy call per op, each a pass over
memory and about half a microsecond of dispatch. A run of consecutive elementwise calls over
arrays of one shape becomes one loop, compiled by Numba: each element goes through the whole
chain in registers, and only the values read after the run are stored. Calls that write in
place (``np.add(x, 1, out=(x,))``, as ember's op code does in its chunked GELU, softmax and
layer norm) join a run: the loop keeps each array's current element and stores the written
arrays' last ones. A written array that shares memory with another operand (a loop would read
stale elements), or an operand not in C order, runs the calls as they were.

Only the correctly rounded operations are fused (``+ - * /``, negation, ``x ** 2``, ``sqrt``,
and on the CPU ``abs``, ``1 / x``, ``maximum``/``minimum`` with NumPy's NaN and signed-zero
choices): IEEE arithmetic gives the same bits in any loop, so a fused program gives eager's
bits. Every operand is cast to the call's result dtype first, as NumPy's loops do (a Python
number is weak: ``float32 * 0.5`` is a float32 product). NumPy's own ``exp``, ``tanh``...
differ from a compiler's libm in the last bit, so they stay NumPy calls. Kernels are named by
their source, with locals numbered by place in the run, so equal runs (GELU's chunks, each
block of a model) compile once. Without Numba the program is unfused (the same answers, more
calls). Measured on W6 and W5: see docs/compiler.md.
"""
import numpy as np

from .graph import Const, Graph, Node, Ref

MIN_RUN = 4          # shorter runs stay NumPy calls (a Numba call costs about two NumPy calls)
MIN_RUN_LARGE = 2    # ... except over arrays of LARGE elements or more, where each call saved
LARGE = 1 << 14      # is a pass over memory
_DTYPES = {np.dtype(np.float32): 'np.float32', np.dtype(np.float64): 'np.float64',
           np.dtype(np.int32): 'np.int32', np.dtype(np.int64): 'np.int64'}
_BINARY = {np.add: '+', np.subtract: '-', np.multiply: '*', np.true_divide: '/'}
_UNARY = {np.negative: '-{}', np.positive: '+{}', np.sqrt: 'np.sqrt({})'}
# exact on the CPU too, written as NumPy's loops compute them: ``maximum`` gives its first
# operand when it is larger or NaN, else the second (so maximum(-0.0, 0.0) is 0.0, as NumPy's)
_CPU_BINARY = {np.maximum: '({0} if {0} > {1} or {0} != {0} else {1})',
               np.minimum: '({0} if {0} < {1} or {0} != {0} else {1})'}
_CPU_UNARY = {np.absolute: 'abs({})', np.reciprocal: '{cast}(1) / {}'}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_KERNELS = {}        # source -> compiled kernel (the same run in another program: no recompile)


def available():
    try:
        import numba  # noqa: F401
        return True
    except ImportError:
        return False


def _target(node, cpu):
    """The value a call makes, or (``cpu``) writes in place with ``out=``: (id, in place),
    or None for any other call."""
    if not node.writes and not node.kwargs:
        return (node.outs.i, False) if type(node.outs) is Ref else None
    if cpu and node.outs == () and len(node.writes) == 1 and set(node.kwargs) == {'out'} \
            and node.kwargs['out'] == (Ref(node.writes[0]),):
        return node.writes[0], True
    return None


def _fusible(node, meta, cpu=False):
    """The node's result shape and dtype where it is an elementwise call we fuse, else None.
    ``cpu``: also the calls only the CPU kernels take (``maximum``, ``absolute``...) and
    calls writing in place (``np.add(x, 1, out=(x,))``) whose operands have the dtype they
    write (then NumPy's loop runs in that dtype, as the kernel does)."""
    target = _target(node, cpu)
    if target is None:
        return None
    fn, (out, inplace) = node.fn, target
    if fn in _BINARY or cpu and fn in _CPU_BINARY:
        if len(node.args) != 2:
            return None
    elif fn in _UNARY or cpu and fn in _CPU_UNARY:
        if len(node.args) != 1:
            return None
    elif fn is np.power:
        if len(node.args) != 2 or type(node.args[1]) not in (int, float) or \
                node.args[1] not in (1, 2):
            return None
    else:
        return None
    shape, dtype = meta[out]
    if dtype not in _DTYPES or fn is np.reciprocal and dtype not in _FLOATS:
        return None
    for a in node.args:
        if type(a) is Ref:
            s, d = meta[a.i]
            if not _fits(s, shape, cpu) or d not in _DTYPES or inplace and d != dtype:
                return None
        elif type(a) is Const:
            if not _fits(a.arr.shape, shape, cpu) or a.arr.dtype not in _DTYPES or \
                    inplace and a.arr.dtype != dtype:
                return None
        elif type(a) not in (int, float, bool) or \
                inplace and type(a) is float and dtype not in _FLOATS:
            return None
    return shape, dtype


def _fits(s, shape, cpu):
    """Whether an operand of shape ``s`` goes into a call making ``shape``: the same shape
    or a single element, or (``cpu``) any shape that broadcasts to it."""
    return s == shape or s == () or cpu and len(s) <= len(shape) and \
        all(a == 1 or a == b for a, b in zip(reversed(s), reversed(shape)))


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _loops(shape, operand_shapes):
    """The loop nest for a run making ``shape`` from operands of ``operand_shapes``
    (broadcasting): sizes of the collapsed dimensions (neighbours merged where every operand
    has both or neither; size-1 dimensions dropped), and each operand's shape over them
    (1 where it is broadcast). One loop when nothing broadcasts."""
    dims = [d for d, n in enumerate(shape) if n != 1]
    pad = [(1,) * (len(shape) - len(s)) + tuple(s) for s in operand_shapes]
    has = [tuple(p[d] != 1 for p in pad) for d in dims]
    sizes, masks = [], []
    for d, mask in zip(dims, has):
        if masks and masks[-1] == mask:
            sizes[-1] *= shape[d]
        else:
            sizes.append(shape[d])
            masks.append(mask)
    if not sizes:
        sizes, masks = [1], [tuple(True for _ in pad)]
    return sizes, [tuple(n if m[k] else 1 for n, m in zip(sizes, masks))
                   for k in range(len(pad))]


def fuse(graph, min_run=MIN_RUN):
    """Replace each run of at least ``min_run`` fusible calls (``MIN_RUN_LARGE`` over
    arrays of ``LARGE`` elements or more) by one fused kernel call."""
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
        least = min(min_run, MIN_RUN_LARGE) if run and _size(run_sig[0]) >= LARGE else min_run
        node = _kernel_node(run, meta, uses, run_index) if len(run) >= least else None
        if node is not None:
            nodes.append(node)
        else:
            nodes.extend(graph.nodes[k] for k in run)
        run.clear()

    run_index = {}
    for n, node in enumerate(graph.nodes):
        sig = _fusible(node, meta, cpu=True)
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
    """One Node calling a generated kernel for the nodes ``run`` (indices, consecutive).

    Each value's current element is a local of the loop (``now``); a value the run makes and
    a later call reads is stored in a new array, and a value the run writes in place (an
    operand of the kernel) gets its final element stored back. Operands that broadcast are
    read at their own index in a loop nest (``_loops``)."""
    last = run[-1]
    ins, names, now = [], {}, {}
    made, written = [], []
    shape = meta[_target(by_index[run[0]], True)[0]][0]

    def arg(a):
        key = ('v', a.i) if type(a) is Ref else ('c', a.k)
        if key not in names:
            names[key] = len(ins)
            ins.append(a)
        return names[key]

    def operand(a, dtype):
        cast = _DTYPES[dtype]
        if type(a) is Ref and a.i in now:
            return f'{cast}({now[a.i]})' if meta[a.i][1] != dtype else now[a.i]
        if type(a) in (Ref, Const):
            return f'{cast}(a{arg(a)}[@{arg(a)}])'    # (@k: operand k's index, filled below)
        if a != a or a in (float('inf'), float('-inf')):
            return f'{cast}({"np.nan" if a != a else ("np.inf" if a > 0 else "-np.inf")})'
        return f'{cast}({a!r})'

    body = []
    for k, n in enumerate(run):     # locals named by place in the run: equal runs, one kernel
        node = by_index[n]
        out, inplace = _target(node, True)
        dtype = meta[out][1]
        cast = _DTYPES[dtype]
        ops = [operand(a, dtype) for a in node.args]
        fn = node.fn
        if fn in _BINARY:
            expr = f'{ops[0]} {_BINARY[fn]} {ops[1]}'
        elif fn is np.power:
            expr = ops[0] if node.args[1] == 1 else f'{ops[0]} * {ops[0]}'
        elif fn in _CPU_BINARY:
            expr = _CPU_BINARY[fn].format(*ops)
        else:
            expr = (_UNARY.get(fn) or _CPU_UNARY[fn]).format(ops[0], cast=cast)
        body.append(f't{k} = {cast}({expr})')
        now[out] = f't{k}'
        if not inplace:
            made.append(out)
        elif out not in made and out not in written:
            written.append(out)
            arg(Ref(out))
    outs = [i for i in made if any(u > last for u in uses.get(i, ()))]
    if not outs and not written:
        return None
    sizes, shapes = _loops(shape, [meta[a.i][0] if type(a) is Ref else a.arr.shape
                                   for a in ins])
    loop = [f'j{d}' for d in range(len(sizes))]

    def index(view):
        return ', '.join(j if n != 1 else '0' for j, n in zip(loop, view))

    full = index(sizes)
    for k, view in enumerate(shapes):
        body = [line.replace(f'[@{k}]', f'[{index(view)}]') for line in body]
    body += [f'o{k}[{full}] = {now[i]}' for k, i in enumerate(outs)] + \
        [f'a{names["v", i]}[{full}] = {now[i]}' for i in written]
    params = [f'n{d}' for d in range(len(sizes))] + [f'a{k}' for k in range(len(ins))] + \
        [f'o{k}' for k in range(len(outs))]
    src = [f"def kernel({', '.join(params)}):"]
    for d, j in enumerate(loop):
        src.append('    ' * (d + 1) + f'for {j} in range(n{d}):')
    src += ['    ' * (len(loop) + 1) + line for line in body]
    src = '\n'.join(src) + '\n'
    # the run as it was: for operands laid out otherwise than in C order (NumPy's results then
    # take their layout, and a later sum its order of additions, which a flat loop would not)
    # and for a written operand that shares memory with another (a loop would read it stale)
    unfused = Graph([a.i for a in ins if type(a) is Ref], [by_index[n] for n in run], outs,
                    [a for a in ins if type(a) is Const], meta).compile()
    kernel = Fused(src, [meta[i][1] for i in outs], shape, len(run),
                   [(view, meta[a.i][1] if type(a) is Ref else a.arr.dtype)
                    for view, a in zip(shapes, ins)],
                   unfused, [type(a) is Ref for a in ins],
                   [ins.index(Ref(i)) for i in written], sizes)
    return Node(kernel, tuple(ins), {}, (Ref(outs[0]) if len(outs) == 1 else
                                         tuple(Ref(i) for i in outs)), tuple(written))


class Fused:
    """A fused kernel: ``Fused(src, out dtypes, shape, n, operands)(*operands)`` returns its
    outputs (new arrays of ``shape``) and writes the operands at positions ``written`` in
    place. ``operands``: each one's (shape over the loops, dtype); ``sizes``: the loops'."""

    def __init__(self, src, dtypes, shape, n, operands, unfused=None, refs=None, written=(),
                 sizes=None):
        self.src, self.dtypes, self.shape, self.n = src, dtypes, shape, n
        self.unfused, self.refs, self.written = unfused, refs, tuple(written)
        self.sizes = tuple(sizes) if sizes is not None else (_size(shape),)
        self.views = [view for view, _ in operands]
        self.__name__ = f'fused_{n}'
        kernel = _KERNELS.get(src)
        if kernel is None:
            import numba
            env = {'np': np}
            exec(compile(src, '<ember fused kernel>', 'exec'), env)   # (source made here)
            kernel = _KERNELS[src] = numba.njit(error_model='numpy', nogil=True)(env['kernel'])
            # compiled now, for these dtypes and dimensions (not at the first run)
            one = (1,) * len(self.sizes)
            kernel(*one, *[np.zeros(one, d) for _, d in operands],
                   *[np.zeros(one, d) for d in dtypes])
        self.kernel = kernel

    def _overlaps(self, operands):
        for k in self.written:
            w = operands[k]
            for j, a in enumerate(operands):
                if j != k and self.refs[j] and np.may_share_memory(w, a):
                    return True
        return False

    def __call__(self, *operands):
        if self.unfused is not None and (
                not all(a.flags.c_contiguous for a in operands) or
                self.written and self._overlaps(operands)):
            outs = self.unfused(*[a for a, ref in zip(operands, self.refs) if ref])
            if not outs:
                return None
            return outs[0] if len(outs) == 1 else outs
        outs = [np.empty(self.shape, d) for d in self.dtypes]
        self.kernel(*self.sizes, *[a.reshape(v) for a, v in zip(operands, self.views)],
                    *[o.reshape(self.sizes) for o in outs])
        if not outs:
            return None
        return outs[0] if len(outs) == 1 else tuple(outs)
