"""The graph IR: a straight-line program of array calls, printable as Python.

A ``Graph`` has inputs (value numbers read when the program starts), nodes and outputs
(value numbers handed back). A ``Node`` is one call: the function (a NumPy ufunc or
function, an array method, indexing, or one of the compiler's own kernels), its arguments
as a template (``Ref(i)`` for value ``i``, ``Const`` for a constant array, anything else a
Python value), the values it makes (``outs``: a ``Ref``, a tuple of them, or None) and the
values it writes in place (``writes``).

>>> from ember.compiler.graph import Graph, Node, Ref
>>> import numpy as np
>>> g = Graph([0, 1], [Node(np.add, (Ref(0), Ref(1)), {}, Ref(2))], [2])
>>> print(g)
def program(v0, v1):
    v2 = np.add(v0, v1)
    return v2
>>> g.compile()(np.ones(2), np.ones(2))
(array([2., 2.]),)
"""
import operator

import numpy as np


class Ref:
    """A value of the program, by number."""
    __slots__ = ('i',)

    def __init__(self, i):
        self.i = i

    def __eq__(self, other):
        return type(other) is Ref and other.i == self.i

    def __hash__(self):
        return hash(('ref', self.i))

    def __repr__(self):
        return f'v{self.i}'


class Const:
    """A constant array baked into the program (``arr``: a snapshot taken when recorded)."""
    __slots__ = ('k', 'arr', 'source')

    def __init__(self, k, arr, source=None):
        self.k, self.arr, self.source = k, arr, source

    def __repr__(self):
        return f'c{self.k}'

    def __hash__(self):
        return hash(('const', self.k))

    def __eq__(self, other):
        return other is self


class Node:
    """One call of the program (see the module's docstring)."""
    __slots__ = ('fn', 'args', 'kwargs', 'outs', 'writes', 'where')

    def __init__(self, fn, args, kwargs, outs, writes=(), where=''):
        self.fn, self.args, self.kwargs = fn, tuple(args), dict(kwargs)
        self.outs, self.writes, self.where = outs, tuple(writes), where

    def refs(self):
        """The value numbers the node reads (its arguments' Refs)."""
        found = []
        _walk((self.args, self.kwargs), found)
        return found

    def out_ids(self):
        found = []
        _walk(self.outs, found)
        return found

    def __repr__(self):
        return render(self, _fn_name)


def _walk(x, found):
    t = type(x)
    if t is Ref:
        found.append(x.i)
    elif t is tuple or t is list:
        for a in x:
            _walk(a, found)
    elif t is dict:
        for a in x.values():
            _walk(a, found)
    elif t is slice:
        _walk((x.start, x.stop, x.step), found)


def map_refs(x, f):
    """``x`` with each ``Ref`` replaced by ``f(ref)``."""
    t = type(x)
    if t is Ref:
        return f(x)
    if t is tuple or t is list:
        return t(map_refs(a, f) for a in x)
    if t is dict:
        return {k: map_refs(a, f) for k, a in x.items()}
    if t is slice:
        return slice(map_refs(x.start, f), map_refs(x.stop, f), map_refs(x.step, f))
    return x


# ---------------------------------------------------------------------- printing

def _fn_name(fn):
    if isinstance(fn, np.ufunc):
        return f'np.{fn.__name__}'
    name = getattr(fn, '__name__', None)
    mod = getattr(fn, '__module__', '') or ''
    if name and mod.startswith('numpy'):
        sub = mod.split('.')[1] if mod.count('.') and mod.split('.')[1] in ('linalg', 'fft') \
            else ''
        return f"np.{sub + '.' if sub else ''}{name}"
    return name or repr(fn)


def _literal(x, names):
    """Source text for a Python value in a call; ``names`` binds what has no literal."""
    t = type(x)
    if t is Ref:
        return f'v{x.i}'
    if t is Const:
        return f'c{x.k}'
    if x is None or x is Ellipsis or t is bool or t is int or t is str:
        return 'Ellipsis' if x is Ellipsis else repr(x)
    if t is float and np.isfinite(x):
        return repr(x)
    if t is tuple:
        inner = ', '.join(_literal(a, names) for a in x)
        return f'({inner},)' if len(x) == 1 else f'({inner})'
    if t is list:
        return '[' + ', '.join(_literal(a, names) for a in x) + ']'
    if t is slice:   # (in a subscript, _index writes a:b:c)
        return f'slice({_literal(x.start, names)}, {_literal(x.stop, names)}, ' \
               f'{_literal(x.step, names)})'
    if t is dict:
        return '{' + ', '.join(f'{k!r}: {_literal(a, names)}' for k, a in x.items()) + '}'
    if isinstance(x, np.dtype):
        return f'np.{x.name}' if x.name.isidentifier() and getattr(np, x.name, None) is \
            x.type else names(x)
    if isinstance(x, type) and issubclass(x, np.generic) and getattr(np, x.__name__, None) is x:
        return f'np.{x.__name__}'
    return names(x)


def _index(idx, names):
    """A subscript's text: slices as ``a:b:c`` at its top level."""
    def one(a):
        if type(a) is not slice:
            return _literal(a, names)
        s = ':'.join(_literal(b, names) if b is not None else '' for b in (a.start, a.stop))
        return s + (':' + _literal(a.step, names) if a.step is not None else '')
    if type(idx) is tuple:
        return ', '.join(one(a) for a in idx) + (',' if len(idx) == 1 else '') or '()'
    return one(idx)


def render(node, fn_name, names=lambda x: repr(x)):
    """One node as a Python statement."""
    fn, args, kw = node.fn, node.args, node.kwargs
    outs = _literal(node.outs, names) if node.outs is not None else None
    if fn is operator.setitem:
        return f'{_literal(args[0], names)}[{_index(args[1], names)}] = ' \
               f'{_literal(args[2], names)}'
    if fn is operator.getitem:
        expr = f'{_literal(args[0], names)}[{_index(args[1], names)}]'
    elif type(fn).__name__ == '_attribute':
        expr = f'{_literal(args[0], names)}.{fn.name}'
    elif type(fn).__name__ == '_method':
        inner = ', '.join([_literal(a, names) for a in args[1:]] +
                          [f'{k}={_literal(v, names)}' for k, v in kw.items()])
        expr = f'{_literal(args[0], names)}.{fn.name}({inner})'
    else:
        inner = ', '.join([_literal(a, names) for a in args] +
                          [f'{k}={_literal(v, names)}' for k, v in kw.items()])
        expr = f'{fn_name(fn)}({inner})'
    if outs is None or outs == '()':
        return expr
    return f'{outs} = {expr}'


class Graph:
    """A program: ``inputs`` (value numbers), ``nodes``, ``outputs`` (value numbers)."""

    def __init__(self, inputs, nodes, outputs, consts=(), meta=None):
        self.inputs, self.nodes, self.outputs = list(inputs), list(nodes), list(outputs)
        self.consts = list(consts)
        self.meta = {} if meta is None else meta   # value -> (shape, dtype), where known

    def __str__(self):
        return self.code(readable=True).rstrip('\n')

    def code(self, readable=False):
        """The program as Python source (``readable``: NumPy names, else bound names)."""
        env = {}

        def names(x):
            key = ('k', id(x))
            if key not in env:
                env[key] = (f'k{len(env)}', x)
            return env[key][0]

        def fn_name(fn):
            if readable:
                return _fn_name(fn)
            key = ('f', id(fn))
            if key not in env:
                env[key] = (f'f{len(env)}', fn)
            return env[key][0]

        lines = [f"def program({', '.join(f'v{i}' for i in self.inputs)}):"]
        last = {} if readable else self._last_uses()
        for n, node in enumerate(self.nodes):
            lines.append('    ' + render(node, fn_name, names))
            dead = last.get(n)
            if dead:
                lines.append('    del ' + ', '.join(f'v{i}' for i in sorted(dead)))
        outs = ', '.join(f'v{i}' for i in self.outputs)
        lines.append(f'    return {outs}' + (',' if len(self.outputs) == 1 and not readable
                                                else ''))
        self._env = {name: obj for name, obj in env.values()}
        return '\n'.join(lines) + '\n'

    def _last_uses(self):
        """{node index: values no longer needed after it} (liveness: memory planning)."""
        keep = set(self.outputs)
        last = {}
        for n, node in enumerate(self.nodes):
            for i in node.refs() + node.out_ids():
                if i is not None:
                    last[i] = n
        dead = {}
        for i, n in last.items():
            if i not in keep:
                dead.setdefault(n, set()).add(i)
        return dead

    def compile(self):
        """The program as a Python function of its input arrays (generated source, so each
        call is plain NumPy calls; values are freed after their last use)."""
        src = self.code()
        env = dict(self._env)
        env.update({f'c{c.k}': c.arr for c in self.consts})
        env['np'] = np
        exec(compile(src, '<ember.compile>', 'exec'), env)   # (source made here, from the graph)
        fn = env['program']
        fn.source = src
        return fn
