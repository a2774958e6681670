"""Passes over a captured graph, each small and tested alone (tests/test_compile_passes.py).

Constant folding happens during capture: a call whose arguments hold no traced array is
run there and then and its result is a constant of the program (the backward of ``x * 2``
seeds ``ones_like(loss)``, a constant, and its chain of constant products folds away). Here:

- ``cse``: a call repeated with the same arguments (and nothing written in between) is
  made once;
- ``dce``: a call whose values nobody reads, and which writes nothing, is dropped;
- ``fuse`` (``fusion.py``): chains of elementwise calls become one generated kernel.

Liveness (each value freed after its last read) is in ``Graph.code``.
"""
import operator

import numpy as np

from .graph import Const, Graph, Node, Ref, map_refs


def optimize(graph, xp=None):
    """The default pipeline: constant folding, CSE, DCE, fusion, then lowering. ``xp``: CuPy
    for a program of GPU arrays (fused into CUDA kernels, ``gpu.fuse``; nothing lowered)."""
    if xp is not None:
        from .gpu import fuse
        return fuse(dce(cse(fold(graph))), xp)
    from .fusion import fuse
    return lower(fuse(dce(cse(fold(graph)))))


def lower(graph):
    """NumPy's Python-level reductions called as what they call: ``np.sum(x, axis=...)`` is
    ``np.add.reduce(x, axis=...)`` on an array (NumPy's ``_wrapreduction``), the same loop,
    without a microsecond of Python around it."""
    from .tracer import _ufunc_method
    nodes = []
    for node in graph.nodes:
        uf = _REDUCTIONS.get(node.fn)
        if uf is not None and len(node.args) == 1 and \
                set(node.kwargs) <= {'axis', 'dtype', 'out', 'keepdims', 'initial', 'where'}:
            node = Node(_ufunc_method(uf, 'reduce'), node.args, node.kwargs, node.outs,
                        node.writes, node.where)
        nodes.append(node)
    return Graph(graph.inputs, nodes, graph.outputs, graph.consts, graph.meta)


_REDUCTIONS = {np.sum: np.add, np.prod: np.multiply}


def _written(graph):
    """Values written in place, and every value a written one may be a view of (a call with
    one traced argument may return a view of it: counted as one, to be safe)."""
    written = {i for n in graph.nodes for i in n.writes}
    for node in reversed(graph.nodes):
        if written.intersection(node.out_ids()):
            refs = node.refs()
            if len(refs) == 1:
                written.add(refs[0])
    return written


def fold(graph):
    """Constant folding: a new array shaped like a traced one (``zeros_like``...) that nothing
    writes is a constant; so is a pure call whose arguments are all constants (computed now,
    once). Values written in place (or views of them) are never folded."""
    from .tracer import ALLOC, NEW
    written = _written(graph)
    known = {}   # value -> constant array
    consts = list(graph.consts)
    nodes = []

    def const_of(r):
        c = known.get(r.i)
        return r if c is None else c

    for node in graph.nodes:
        outs = node.out_ids()
        foldable = _pure(node) and outs and None not in outs and not written.intersection(outs)
        refs = node.refs()
        alloc = node.fn in ALLOC and type(node.args[0]) is Ref and node.args[0].i in graph.meta
        if alloc:   # only the prototype's shape and dtype matter
            refs = [i for i in node.refs() if i != node.args[0].i]
        if foldable and all(i in known for i in refs) and (alloc or refs or node.fn in NEW):
            args = map_refs(node.args, lambda r: known.get(r.i, r))
            if alloc:
                shape, dtype = graph.meta[node.args[0].i]
                args = (Const(-1, np.empty(shape, dtype)),) + args[1:]
            with np.errstate(all='ignore'):   # (as the op door runs it)
                value = _unconst(node.fn(*_arrays(args), **_arrays(map_refs(
                    node.kwargs, lambda r: known[r.i]))))
            if value is not None and len(outs) == 1:
                c = Const(f'f{len(consts)}', value)
                consts.append(c)
                known[outs[0]] = c
                continue
        nodes.append(Node(node.fn, map_refs(node.args, const_of), map_refs(node.kwargs,
                                                                             const_of),
                          node.outs, node.writes, node.where))
    outputs = list(graph.outputs)
    tail = []
    for k, i in enumerate(outputs):   # a folded output: a node handing back a copy of the
        if i in known:                  # constant (the caller may write into it)
            tail.append(Node(np.copy, (known[i],), {}, Ref(i)))
    return Graph(graph.inputs, nodes + tail, outputs, consts, graph.meta)


def _arrays(x):
    t = type(x)
    if t is Const:
        return x.arr
    if t is tuple or t is list:
        return t(_arrays(a) for a in x)
    if t is dict:
        return {k: _arrays(a) for k, a in x.items()}
    return x


def _unconst(v):
    if isinstance(v, np.generic):
        return np.asarray(v)
    return v if isinstance(v, np.ndarray) else None


def _pure(node):
    return not node.writes and not getattr(node.fn, 'impure', False) and \
        node.fn is not operator.setitem


def _key(x):
    """A hashable form of an argument template (None where it has none)."""
    t = type(x)
    if t is tuple or t is list:
        parts = tuple(_key(a) for a in x)
        return None if None in parts else (t, parts)
    if t is dict:
        parts = tuple((k, _key(a)) for k, a in sorted(x.items()))
        return None if any(p[1] is None for p in parts) else (dict, parts)
    if t is slice:
        return ('slice', _key(x.start), _key(x.stop), _key(x.step))
    if isinstance(x, np.ndarray):
        return None
    try:
        hash(x)
    except TypeError:
        return None
    return (t, x)


def cse(graph):
    """Common subexpression elimination (pure calls only; forgets all after any write, and
    never merges a value that is later written in place)."""
    written = {i for n in graph.nodes for i in n.writes}
    seen, alias, nodes = {}, {}, []

    def sub(r):
        return Ref(alias.get(r.i, r.i))

    for node in graph.nodes:
        node = Node(node.fn, map_refs(node.args, sub), map_refs(node.kwargs, sub), node.outs,
                    tuple(alias.get(i, i) for i in node.writes), node.where)
        if node.writes or not _pure(node):
            seen.clear()
            nodes.append(node)
            continue
        outs = node.out_ids()
        key = None
        if outs and None not in outs and not written.intersection(outs):
            try:
                key = (node.fn, _key(node.args), _key(node.kwargs))
                hash(key)
            except TypeError:
                key = None
            if key is not None and (key[1] is None or key[2] is None):
                key = None
        if key is not None and key in seen:
            for a, b in zip(outs, seen[key]):
                alias[a] = b
            continue
        if key is not None:
            seen[key] = outs
        nodes.append(node)
    outputs = [alias.get(i, i) for i in graph.outputs]
    return Graph(graph.inputs, nodes, outputs, graph.consts, graph.meta)


def dce(graph):
    """Dead code elimination: keep the calls that write, or that make a value read later."""
    live = set(graph.outputs)
    kept = []
    for node in reversed(graph.nodes):
        outs = node.out_ids()
        if node.writes or not _pure(node) or any(i in live for i in outs):
            kept.append(node)
            live.update(node.refs())
            live.update(node.writes)
    kept.reverse()
    return Graph(graph.inputs, kept, graph.outputs, graph.consts, graph.meta)
