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

from .graph import Graph, Node, Ref, map_refs


def optimize(graph):
    """The default pipeline: CSE, then DCE."""
    return dce(cse(graph))


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
    return Graph(graph.inputs, nodes, outputs, graph.consts)


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
    return Graph(graph.inputs, kept, graph.outputs, graph.consts)
