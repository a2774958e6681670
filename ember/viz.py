"""Graphs to look at: ``make_dot`` draws the autograd graph behind a tensor, the ops of one
forward call of a model (with the module each ran in and the user's line), or a compiled
program, as a Graphviz ``Digraph`` (the ``graphviz`` package, ``pip install ember[viz]``):
``.source`` is the DOT text, ``.pipe(format='svg')`` the picture (that needs Graphviz's
``dot`` program: ``apt install graphviz``). ``capture`` is the op graph of one forward call,
which ``SummaryWriter.add_graph`` also writes for TensorBoard.

>>> x = ember.ones(2, 3, requires_grad=True)
>>> dot = ember.viz.make_dot((x * 2).sum(), params={'x': x})
>>> 'MulBackward' in dot.source and 'x\\n(2, 3)' in dot.source
True
"""
import os

from . import _anomaly
from ._tensor import Tensor
from .autograd import Node, _State, op_name

__all__ = ['OpRecord', 'capture', 'make_dot']


class OpRecord:
    """One op of a captured forward call: ``op`` (ember's op name), ``scope`` (the module
    path it ran in, ``'Sequential/Linear[0]'``), ``inputs`` (for each input: ``('op', k)``
    for the k-th op's result, ``('param', name)``, ``('input', k)`` or ``('const', shape)``),
    ``shape`` and ``dtype`` of its result, and ``where`` (the user's file:line).

    >>> ops = ember.viz.capture(ember.nn.Linear(3, 2), ember.ones(4, 3))
    >>> ops[0].op, ops[0].scope, ops[0].inputs[0], ops[0].shape
    ('linear', 'Linear', ('input', 0), (4, 2))
    """

    def __init__(self, op, scope, inputs, shape, dtype, where, out):
        self.op, self.scope, self.inputs = op, scope, inputs
        self.shape, self.dtype, self.where, self._out = shape, dtype, where, out

    def __repr__(self):
        return f'OpRecord({self.op!r}, scope={self.scope!r}, shape={self.shape})'


def capture(model, *inputs, keep_outputs=False):
    """Run ``model(*inputs)`` once (without gradients) and return its ops as ``OpRecord``s,
    in the order they ran (``keep_outputs``: each with its result's array as ``.output``)."""
    from .autograd import no_grad
    params = {id(p._data): name for name, p in model.named_parameters()}
    params.update({id(b._data): name for name, b in model.named_buffers()})
    given = {id(t._data): k for k, t in enumerate(inputs) if isinstance(t, Tensor)}
    made, records, scope = {}, [], []
    names = {id(m): name for name, m in model.named_modules()}

    def label(m):
        name = names.get(id(m), '')
        last = name.rsplit('.', 1)[-1]
        return f'{type(m).__name__}[{last}]' if last else type(m).__name__

    def pre(m, args):
        scope.append(label(m))

    def post(m, args, out):
        scope.pop()

    def hook(node, tensors, out):
        ins = []
        for t in tensors:
            if t is None:
                continue
            key = id(t._data)
            ins.append(('op', made[key]) if key in made else ('param', params[key])
                       if key in params else ('input', given[key]) if key in given
                       else ('const', tuple(t.shape)))
        if out is not None:
            made[id(out)] = len(records)
        records.append(OpRecord(op_name(node), '/'.join(scope), ins,
                                None if out is None else tuple(out.shape),
                                None if out is None else str(out.dtype),
                                _anomaly.where(_anomaly._user_stack()), out))

    handles = [h for m in model.modules() for h in (m.register_forward_pre_hook(pre),
                                                    m.register_forward_hook(post))]
    _State.op_hooks.append(hook)
    try:
        with no_grad():
            model(*inputs)
    finally:
        _State.op_hooks.remove(hook)
        for h in handles:
            h.remove()
    for r in records:      # (kept alive while capturing: ids of live arrays stay unique)
        r.output = r._out if keep_outputs else None
        r._out = None
    return records


def _digraph(name):
    try:
        import graphviz
    except ImportError:
        raise ImportError('ember.viz.make_dot needs the graphviz package: '
                          'pip install ember[viz]') from None
    return graphviz.Digraph(name, node_attr={'shape': 'box', 'fontsize': '10',
                                             'fontname': 'monospace'},
                            graph_attr={'rankdir': 'TB'})


def _short(where):
    if not where:
        return ''
    place = where.split(' (', 1)[0]
    path, _, line = place.rpartition(':')
    return f'\n{os.path.basename(path)}:{line}'


def make_dot(obj, *inputs, params=None):
    """The graph of ``obj`` as a Graphviz ``Digraph``:

    - a tensor: the autograd graph behind it (torchviz's ``make_dot``): each node with its
      name, the shapes of its inputs' gradients and, where known (made under
      ``detect_anomaly``), the user's line; leaves named from ``params`` ({name: tensor});
    - a model and its inputs: the ops of one forward call, boxed by module, with shapes and
      the user's line of each op;
    - a compiled function (``ember.compile``, after a call) or a traced module
      (``ember.jit``): its program's calls.

    >>> m = ember.nn.Sequential(ember.nn.Linear(3, 2), ember.nn.ReLU())
    >>> src = ember.viz.make_dot(m, ember.ones(4, 3)).source
    >>> 'linear' in src and 'Sequential/Linear[0]' in src and '(4, 2)' in src
    True
    """
    if isinstance(obj, Tensor):
        return _autograd_dot(obj, params or {})
    from .compiler.graph import Graph
    graph = getattr(obj, 'graph', None)
    if isinstance(graph, Graph) and not inputs:
        return _program_dot(graph)
    if not callable(obj):
        raise TypeError(f'make_dot: expected a tensor, a model with its inputs or a compiled '
                        f'function after a call, got {type(obj).__name__}')
    return _ops_dot(capture(obj, *inputs))


def _autograd_dot(t, params):
    dot = _digraph('autograd')
    names = {id(p): name for name, p in params.items()}
    seen = set()

    def leaf_id(leaf):
        key = f'leaf{id(leaf)}'
        if key not in seen:
            seen.add(key)
            dot.node(key, f'{names.get(id(leaf), "")}\n{tuple(leaf.shape)}'.lstrip('\n'),
                     fillcolor='lightblue', style='filled')
        return key

    out = f'out{id(t)}'
    dot.node(out, f'{tuple(t.shape)}', fillcolor='darkolivegreen1', style='filled')
    if t.grad_fn is None:
        dot.edge(leaf_id(t), out)
        return dot
    stack = [t.grad_fn]
    dot.edge(str(id(t.grad_fn)), out)
    while stack:
        n = stack.pop()
        key = str(id(n))
        if key in seen:
            continue
        seen.add(key)
        shapes = ', '.join(str(tuple(e[2])) for e in n.next_edges if e is not None)
        line = _short(_anomaly.where(getattr(n, '_forward_stack', None)))
        dot.node(key, f'{n.name}\n{shapes}{line}')
        for e in n.next_edges:
            if e is None:
                continue
            target = e[0]
            if isinstance(target, Node):
                dot.edge(str(id(target)), key)
                stack.append(target)
            else:
                dot.edge(leaf_id(target), key)
    return dot


def _ops_dot(records):
    dot = _digraph('ops')
    for k, r in enumerate(records):
        for j, (kind, ref) in enumerate(r.inputs):
            if kind == 'op':
                dot.edge(f'op{ref}', f'op{k}')
            else:
                src = f'{kind}{ref}'
                dot.node(src, f'{ref}' if kind == 'param' else f'{kind} {ref}',
                         fillcolor='lightblue', style='filled')
                dot.edge(src, f'op{k}')
        dot.node(f'op{k}', f'{r.scope}\n{r.op} -> {r.shape}{_short(r.where)}')
    return dot


def _program_dot(graph):
    from .compiler.graph import _fn_name, render
    dot = _digraph('program')
    made = {i: f'in{i}' for i in graph.inputs}
    for i in graph.inputs:
        dot.node(f'in{i}', f'v{i}', fillcolor='lightblue', style='filled')
    for k, node in enumerate(graph.nodes):
        key = f'n{k}'
        shapes = [str(graph.meta[i][0]) for i in node.out_ids() if i in graph.meta]
        dot.node(key, render(node, _fn_name) + (f'\n{", ".join(shapes)}' if shapes else ''))
        for i in node.refs():
            if i in made:
                dot.edge(made[i], key)
        for i in list(node.out_ids()) + list(node.writes):
            made[i] = key
    return dot
