"""``ember.onnx.load``: an ONNX file as an ember Module that runs its graph with ember ops
(so it trains). The file is checked first (``validate.py``); the ops are ``run.py``'s."""
import io
import os

import numpy as np

from .. import _tensor
from ..nn.module import Module, Parameter
from . import run, validate
from .validate import OnnxError

Tensor = _tensor.Tensor
ATTR_TYPES = {1: 'f', 2: 'i', 3: 's', 4: 't', 6: 'floats', 7: 'ints', 8: 'strings'}


def read(f):
    """The bytes of ``f`` (a path or a binary file), the name errors use, and the folder
    external data may be read from (None for a stream)."""
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        try:
            with open(path, 'rb') as fh:
                return fh.read(), path, os.path.dirname(os.path.abspath(path))
        except OSError as e:
            raise OnnxError(f'{path}: cannot read: {e.strerror}') from None
    if isinstance(f, (bytes, bytearray)):
        return bytes(f), '<bytes>', None
    if isinstance(f, io.IOBase) or hasattr(f, 'read'):
        return f.read(), getattr(f, 'name', '<stream>'), None
    raise TypeError(f'load: expected a path or a binary file, got {type(f).__name__}')


def _attrs(node, where, folder):
    out = {}
    for a in node.attribute:
        kind = ATTR_TYPES.get(a.type)
        if kind is None:
            raise OnnxError(f'{where}: node {node.name!r} ({node.op_type}) has attribute '
                            f'{a.name!r} of a kind ember.onnx.load does not read (a graph?)')
        if kind == 't':
            out[a.name] = Tensor._make(validate.tensor_array(a.t, where, folder))
        elif kind == 's':
            out[a.name] = a.s.decode('utf-8', 'replace')
        elif kind == 'strings':
            out[a.name] = [s.decode('utf-8', 'replace') for s in a.strings]
        else:
            value = getattr(a, kind)
            out[a.name] = list(value) if kind in ('floats', 'ints') else value
    return out


class OnnxModule(Module):
    """An ONNX graph run with ember ops: what ``ember.onnx.load`` returns. Float initializers
    are its parameters (trainable), under their ONNX names (``'0.weight'`` is the weight of
    a submodule ``0``); ``forward`` takes the graph's inputs in order and returns its output
    (a tuple where there are several).

    >>> import io
    >>> f = io.BytesIO()
    >>> ember.onnx.export(ember.nn.Linear(2, 1), ember.ones(1, 2), f)
    >>> m = ember.onnx.load(io.BytesIO(f.getvalue()))
    >>> [n for n, _ in m.named_parameters()], tuple(m(ember.ones(3, 2)).shape)
    (['weight', 'bias'], (3, 1))
    """

    def __init__(self, nodes, inputs, outputs, params, consts):
        super().__init__()
        object.__setattr__(self, '_graph', (nodes, inputs, outputs))
        object.__setattr__(self, '_consts', consts)
        object.__setattr__(self, '_params', {})
        for name, p in params.items():
            owner, attr = self, name
            *path, attr = name.split('.') if all(name.split('.')) else [name]
            for part in path:
                child = owner.__dict__.get(part)
                if not isinstance(child, Module):
                    child = Module()
                    setattr(owner, part, child)
                owner = child
            setattr(owner, attr, p)
            self._params[name] = p

    def forward(self, *args):
        nodes, inputs, outputs = self._graph
        if len(args) != len(inputs):
            raise TypeError(f'forward: the graph takes {len(inputs)} inputs '
                            f'({", ".join(inputs)}), got {len(args)}')
        env = dict(self._consts)
        env.update(self._params)
        for name, a in zip(inputs, args):
            env[name] = a if isinstance(a, Tensor) else _tensor.tensor(a)
        for op, name, fn, attrs, ins, outs in nodes:
            try:
                result = fn(attrs, *[env[i] if i else None for i in ins])
            except (NotImplementedError, RuntimeError, ValueError, IndexError) as e:
                raise RuntimeError(f'onnx node {name!r} ({op}): {e}') from None
            result = result if isinstance(result, (list, tuple)) else [result]
            for o, r in zip(outs, result):
                if o:
                    env[o] = r
        got = tuple(env[o] for o in outputs)
        return got[0] if len(got) == 1 else got


def load(f):
    """Read the ONNX model in ``f`` (a path, a binary file or bytes) as an ``OnnxModule``.

    The file is checked before anything is built (``OnnxError`` naming the file and what is
    wrong): the protobuf parses, the opset is one ember reads (13 to 22), every node is an
    operator ember has and reads only values defined before it, every tensor's bytes match
    its declared shape and type (checked before allocating), external data stays inside the
    model's folder. An operator ember has not is named with its node.

    >>> import io
    >>> model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU())
    >>> f = io.BytesIO()
    >>> ember.onnx.export(model, ember.ones(2, 3), f)
    >>> loaded = ember.onnx.load(io.BytesIO(f.getvalue()))
    >>> x = ember.randn(5, 3)
    >>> bool((loaded(x) - model(x)).abs().max() < 1e-6)
    True
    >>> sorted(dict(loaded.named_parameters()))
    ['0.bias', '0.weight']
    """
    data, where, folder = read(f)
    model = validate.parse(data, where)
    validate.check_model(model, where)
    g = model.graph
    table = run.table()
    for i, n in enumerate(g.node):
        if n.op_type not in table:
            raise OnnxError(f'{where}: node {n.name or "#" + str(i)!r} is the ONNX operator '
                            f'{n.op_type}, which ember.onnx.load does not support (it reads '
                            f'{len(table)} operators: docs/deploy.md)')
    arrays = {t.name: validate.tensor_array(t, where, folder) for t in g.initializer}
    nodes = [(n.op_type, n.name or f'#{i}', table[n.op_type], _attrs(n, where, folder),
              list(n.input), list(n.output)) for i, n in enumerate(g.node)]
    params, consts = {}, {}
    for name, a in arrays.items():
        if a.dtype.kind == 'f':
            params[name] = Parameter(Tensor._make(np.array(a)))
        else:
            consts[name] = Tensor._make(np.array(a))
    inputs = [v.name for v in g.input if v.name not in arrays]
    return OnnxModule(nodes, inputs, [v.name for v in g.output], params, consts)
