"""A static model to keep: ``ember.jit.trace``, ``ember.jit.save`` and ``ember.jit.load``.

``save`` writes a captured program (``ember.compile``'s, or ``trace``'s) as one safetensors
file: the graph, as captured, in ember's checkpoint structure (calls named from a fixed list
of NumPy functions, ufuncs and array methods; nothing that can run code), the weights and
constants as tensors. ``load`` checks every name, value and reference before it builds
anything, and gives back a Module that runs the program without the model's Python class:
for inference, and for further training where the traced result had a gradient (its
backward program was captured with it: the loaded parameters get their ``.grad``).

>>> model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Tanh(), ember.nn.Linear(4, 2))
>>> traced = ember.jit.trace(model, ember.ones(5, 3))
>>> import tempfile, os; path = os.path.join(tempfile.mkdtemp(), 'model.safetensors')
>>> ember.jit.save(traced, path)
>>> loaded = ember.jit.load(path)
>>> bool((loaded(ember.ones(5, 3)) == model(ember.ones(5, 3))).all())
True
>>> sorted(n for n, _ in loaded.named_parameters())
['0.bias', '0.weight', '2.bias', '2.weight']
"""
import operator
import re

import numpy as np

from . import nn, serialization
from ._tensor import Tensor
from .compiler import CompiledFunction
from .compiler.capture import capture
from .compiler.program import Backward, Guards, Program, _ArgOut, _GradOut, _Out
from .compiler.graph import Const, Graph, Node, Ref
from .compiler.passes import optimize
from .compiler.tracer import _METHODS, Check, _attribute, _method, _ufunc_method

__all__ = ['trace', 'save', 'load', 'TracedModule', 'LoadedModule', 'JitError']

FORMAT = 'ember.jit/1'


class JitError(serialization.CheckpointError):
    """A saved program that cannot be saved, read or trusted.

    >>> import io
    >>> ember.jit.load(io.BytesIO(b'not a program'))
    Traceback (most recent call last):
    ...
    ember.serialization.CheckpointError: ...
    """


class TracedModule:
    """What ``trace`` returns: the program captured from one call, callable like the model
    on inputs of the traced shapes (``.graph`` prints it).

    >>> t = ember.jit.trace(ember.nn.ReLU(), ember.ones(2))
    >>> t(ember.tensor([-1.0, 3.0]))
    tensor([0., 3.])
    """

    def __init__(self, fn, program, module):
        self.fn, self.program, self.module = fn, program, module

    @property
    def graph(self):
        return self.program.graph

    def __call__(self, *args):
        tensors = list(args)
        _check_args(self.program.arg_meta, tensors, 'ember.jit.trace')
        if self.program.failed_guard(tensors) is not None:
            return self.fn(*args)
        return self.program(tensors)


def trace(model, example_inputs):
    """Capture ``model(*example_inputs)`` once (running it) as a static program.

    >>> t = ember.jit.trace(lambda x: x * 2 + 1, ember.ones(2))
    >>> print(t.graph)
    def program(v0):
        v1 = np.multiply(v0, 2)
        v2 = np.add(v1, 1)
        return v2
    """
    args = tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else \
        (example_inputs,)
    _, program = capture(model, args, {})
    if program.breaks:
        reason, where = program.breaks[0]
        raise JitError(f'ember.jit.trace: the model left the graph at {where}: {reason} (a '
                       f'traced program runs without Python: data-dependent Python cannot be '
                       f'kept)')
    return TracedModule(model, program, model if isinstance(model, nn.Module) else None)


# ---------------------------------------------------------------------- saving

_DENIED = {'save', 'savez', 'savez_compressed', 'savetxt', 'load', 'loadtxt', 'genfromtxt',
           'fromfile', 'fromregex', 'memmap', 'frompyfunc', 'vectorize', 'piecewise',
           'apply_along_axis', 'apply_over_axes', 'fromstring', 'frombuffer', 'fromiter',
           'tofile', 'dump', 'dumps', 'setbufsize', 'seterr', 'seterrcall', 'set_printoptions'}


_CONSTRUCTORS = {'asarray', 'asanyarray', 'ascontiguousarray', 'array', 'empty', 'zeros',
                 'ones', 'full'}


def _fn_code(fn):
    if fn is operator.getitem:
        return 'getitem'
    if fn is operator.setitem:
        return 'setitem'
    if isinstance(fn, np.ufunc):
        return f'ufunc:{fn.__name__}'
    t = type(fn)
    if t is _ufunc_method:
        return f'ufunc.{fn.name}:{fn.ufunc.__name__}'
    if t is _attribute:
        return f'attr:{fn.name}'
    if t is _method:
        return f'method:{fn.name}'
    if t is Check:
        return 'check'
    if type(fn).__name__ == 'Draw':
        from .random import default_generator
        if fn.gen is not default_generator:
            raise JitError('ember.jit.save: the program draws from a generator other than '
                           'the default one; it cannot be saved')
        return f'draw:{fn.method}'
    if type(fn).__name__ == 'HostStep':
        raise JitError('ember.jit.save: the program runs an optimizer step; save a model\'s '
                       'forward (ember.jit.trace(model, inputs)) and train the loaded model '
                       'with an optimizer of its own')
    from .backend import mkl
    if fn is mkl.matmul:
        return 'ember:mkl.matmul'
    mod = getattr(fn, '__module__', '') or ''
    name = getattr(fn, '__name__', '')
    if mod.startswith('numpy') and name:
        for sub in ('', 'linalg.', 'fft.'):
            target = np
            for part in (sub + name).split('.'):
                target = getattr(target, part, None)
            if target is fn:
                return f'np:{sub}{name}'
    raise JitError(f'ember.jit.save: the program calls {fn!r}, which a saved program cannot '
                   f'name')


def _enc(x, consts):
    t = type(x)
    if t is Ref:
        return {'ref': x.i}
    if t is Const:
        return {'const': consts(x)}
    if x is None or t in (bool, int, str, float):
        return x
    if t is tuple:
        return {'tuple': [_enc(a, consts) for a in x]}
    if t is list:
        return {'list': [_enc(a, consts) for a in x]}
    if t is dict:
        return {'dict': [[k, _enc(a, consts)] for k, a in x.items()]}
    if t is slice:
        return {'slice': [_enc(a, consts) for a in (x.start, x.stop, x.step)]}
    if x is Ellipsis:
        return {'ellipsis': True}
    if isinstance(x, np.dtype):
        return {'dtype': x.str if x.name != 'bfloat16' else 'bfloat16'}
    if isinstance(x, type) and issubclass(x, np.generic):
        return {'sctype': np.dtype(x).str}
    if isinstance(x, np.generic):
        return {'scalar': np.asarray(x)}
    raise JitError(f'ember.jit.save: a call\'s argument of type {t.__name__} cannot be saved')


def _enc_graph(g, consts):
    nodes = [[_fn_code(n.fn), _enc(n.args, consts), _enc(n.kwargs, consts),
              _enc(n.outs, consts), list(n.writes)] for n in g.nodes]
    used = {i for n in g.nodes for i in n.refs() + n.out_ids() if i is not None}
    used.update(g.inputs)
    used.update(g.outputs)
    meta = [[i, list(g.meta[i][0]), g.meta[i][1].str] for i in sorted(used) if i in g.meta]
    return {'inputs': list(g.inputs), 'outputs': list(g.outputs), 'nodes': nodes,
            'meta': meta}


def _enc_result(x):
    t = type(x)
    if t is _GradOut:
        return {'out': x.k, 'grad': x.nr}
    if t is _ArgOut:
        return {'arg': x.k}
    if t is _Out:
        return {'out': x.k}
    if t is tuple:
        return {'tuple': [_enc_result(a) for a in x]}
    if t is list:
        return {'list': [_enc_result(a) for a in x]}
    if t is dict:
        return {'dict': [[k, _enc_result(a)] for k, a in x.items()]}
    if x is None or t in (bool, int, float, str):
        return {'value': x}
    raise JitError(f'ember.jit.save: the result holds a {t.__name__}, which cannot be saved')


def save(traced, f):
    """Write a traced or compiled program and its weights to ``f`` (a path or binary file).

    ``traced``: what ``trace`` returns, or an ``ember.compile``d function or model that has
    run once (its last program is saved). See the module's docstring for an example."""
    if isinstance(traced, TracedModule):
        program, module = traced.program, traced.module
    elif isinstance(traced, CompiledFunction):
        program = traced.last
        module = traced.fn if isinstance(traced.fn, nn.Module) else None
        if program is None or program.breaks:
            raise JitError('ember.jit.save: the compiled function has no program yet (call it '
                           'once) or it runs eagerly (see ember.compile.explain)')
    else:
        raise TypeError(f'ember.jit.save: expected what ember.jit.trace or ember.compile '
                        f'returns, got {type(traced).__name__}')
    names = {}
    if module is not None:
        for n, t in list(module.named_parameters()) + list(module.named_buffers()):
            names.setdefault(id(t), n)
    state, tensors, arrays = {}, {}, {}

    def const(c):
        key = str(c.k)
        arrays[key] = c.arr
        return key

    def source(ref):
        kind = ref[0]
        if kind == 'arg':
            return {'arg': ref[1]}
        if kind == 'obj':
            t = ref[1]
            name = names.get(id(t))
            if name is None:
                name = names[id(t)] = f'extra.{len(names)}'
            state[name] = {'requires_grad': bool(t._requires_grad),
                           'parameter': isinstance(t, nn.Parameter)}
            tensors[name] = t.detach()
            return {'state': name}
        if kind in ('const', 'const_written'):
            return {'const': const(Const(f'input{len(arrays)}', ref[1])), 'fresh':
                    kind == 'const_written'}
        raise JitError('ember.jit.save: the program reads a .grad; it cannot be saved')

    raw = program.raw
    doc = {'format': FORMAT,
           'args': [[list(s), d.str, bool(r)] for s, d, r in program.arg_meta],
           'sources': [source(r) for r in program.sources],
           'graph': _enc_graph(raw, const),
           'writes': [[kind, source(ref), k] for kind, ref, k in program.writes],
           'result': _enc_result(program.result)}
    b = program.backward
    if b is not None:
        doc['backward'] = {'graph': _enc_graph(b.raw, const),
                           'sources': [source(r) for r in b.sources],
                           'leaves': [source(r) for r in b.leaf_refs],
                           'grad_index': list(b.grad_index),
                           'seeds': [[list(s), d.str] for s, d in b.seed_meta],
                           'n_out': b.n_out, 'n_saved': b.n_saved}
    doc['state'] = state
    serialization.save({'ember.jit': doc, 'state': tensors, 'consts': arrays}, f)


# ---------------------------------------------------------------------- loading

class LoadedModule(nn.Module):
    """A program read by ``load``: a Module with the saved parameters and buffers (by their
    names), whose forward runs the program. Inputs must have the traced shapes and dtypes.

    >>> import io
    >>> f = io.BytesIO()
    >>> ember.jit.save(ember.jit.trace(ember.nn.Linear(2, 1), ember.ones(3, 2)), f)
    >>> _ = f.seek(0)
    >>> loaded = ember.jit.load(f)
    >>> type(loaded).__name__, loaded(ember.ones(3, 2)).shape
    ('LoadedModule', ember.Size([3, 1]))
    """

    def forward(self, *args):
        tensors = list(args)
        _check_args(self._arg_meta, tensors, 'ember.jit.load')
        return self._program(tensors)


def load(f):
    """Read a program written by ``save``; see the module's docstring."""
    obj = serialization.load(f)
    where = f if isinstance(f, str) else 'the file'
    try:
        return _build(obj, where)
    except JitError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise JitError(f'ember.jit.load: {where} is not a valid saved program ({type(e).__name__}:'
                       f' {e})') from None


def _fail(where, msg):
    raise JitError(f'ember.jit.load: {where}: {msg}')


def _build(obj, where):
    if not isinstance(obj, dict) or not isinstance(obj.get('ember.jit'), dict):
        _fail(where, 'not a program saved by ember.jit.save')
    doc = obj['ember.jit']
    if doc.get('format') != FORMAT:
        _fail(where, f"unknown format {doc.get('format')!r} (expected {FORMAT!r})")
    consts = {k: v.numpy() if isinstance(v, Tensor) else v
              for k, v in obj.get('consts', {}).items()}
    for k, v in consts.items():
        if not isinstance(v, np.ndarray):
            _fail(where, f'constant {k!r} is not an array')
    module = LoadedModule()
    store = {}
    for name, t in obj.get('state', {}).items():
        if not isinstance(t, Tensor) or not isinstance(name, str) or \
                not re.fullmatch(r'[A-Za-z0-9_.]+', name):
            _fail(where, f'bad state entry {name!r}')
        store[name] = t

    made = {}

    def tensor_for(name, info):
        if name not in made:
            if name not in store:
                _fail(where, f'the program reads {name!r}, which the file does not hold')
            t = store[name]
            if info.get('parameter'):
                t = nn.Parameter(t, requires_grad=bool(info.get('requires_grad')))
            _attach(module, name, t, info.get('parameter'))
            made[name] = t
        return made[name]

    infos = {}

    def source(s):
        if 'arg' in s:
            k = s['arg']
            if not isinstance(k, int) or not 0 <= k < len(doc['args']):
                _fail(where, f'argument {k!r} out of range')
            return ('arg', k)
        if 'state' in s:
            return ('obj', tensor_for(s['state'], infos.setdefault(s['state'], {})))
        if 'const' in s:
            if s['const'] not in consts:
                _fail(where, f"constant {s['const']!r} missing")
            return ('const_written' if s.get('fresh') else 'const', consts[s['const']])
        _fail(where, f'bad source {s!r}')

    for name, info in doc.get('state', {}).items():   # which are parameters, needing grad
        if not isinstance(info, dict):
            _fail(where, f'bad state description for {name!r}')
        infos[name] = info
    arg_meta = [(tuple(s), np.dtype(d), bool(r)) for s, d, r in doc['args']]
    sources = [source(s) for s in doc['sources']]
    graph = _dec_graph(doc['graph'], consts, where)
    writes = []
    for kind, s, k in doc['writes']:
        if kind not in ('data', 'grad', 'requires_grad'):
            _fail(where, f'bad write {kind!r}')
        writes.append((kind, source(s), k))
    backward = None
    if 'backward' in doc:
        b = doc['backward']
        bgraph = _dec_graph(b['graph'], consts, where)
        backward = Backward(optimize(bgraph), [source(s) for s in b['sources']],
                            [source(s) for s in b['leaves']], list(b['grad_index']),
                            [(tuple(s), np.dtype(d)) for s, d in b['seeds']],
                            int(b['n_out']), int(b['n_saved']))
    result = _dec_result(doc['result'], where)
    program = Program(optimize(graph), sources, writes, result, Guards(), [], backward)
    program.arg_meta = arg_meta
    module._program, module._arg_meta = program, arg_meta
    return module


def _attach(module, dotted, t, parameter):
    """Register ``t`` under its dotted name, making the submodules on the way."""
    *path, leaf = dotted.split('.')
    m = module
    for part in path:
        sub = getattr(m, part, None) if part in m.__dict__ else None
        if sub is None:
            sub = nn.Module()
            setattr(m, part, sub)
        m = sub
    if parameter and isinstance(t, nn.Parameter):
        setattr(m, leaf, t)
    else:
        m.register_buffer(leaf, t)


_NAME = re.compile(r'[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?')


def _dec_fn(code, where):
    if code == 'getitem':
        return operator.getitem
    if code == 'setitem':
        return operator.setitem
    if code == 'ember:mkl.matmul':   # MKL's product (None where MKL is absent: then NumPy's)
        return _mkl_or_numpy
    if code == 'check':
        return Check(lambda: 'an index is out of range (checked by a saved program)', [])
    kind, _, name = code.partition(':')
    if not _NAME.fullmatch(name or '') and not (kind in ('method', 'attr') and name.isidentifier()):
        _fail(where, f'bad call name {code!r}')
    if kind == 'ufunc' or kind.startswith('ufunc.'):
        uf = getattr(np, name, None)
        if not isinstance(uf, np.ufunc):
            _fail(where, f'{name!r} is not a NumPy ufunc')
        if kind == 'ufunc':
            return uf
        method = kind.partition('.')[2]
        if method not in ('reduce', 'accumulate', 'reduceat', 'outer', 'at'):
            _fail(where, f'bad ufunc method {method!r}')
        return _ufunc_method(uf, method)
    if kind == 'method':
        if name not in _METHODS:
            _fail(where, f'array method {name!r} is not one a program may call')
        return _method(name)
    if kind == 'attr':
        if name not in ('T', 'mT', 'real', 'imag'):
            _fail(where, f'array attribute {name!r} is not one a program may read')
        return _attribute(name)
    if kind == 'draw':
        from .compiler.program import Draw
        from .random import default_generator
        if name not in ('random', 'standard_normal', 'integers', 'permutation', 'normal',
                        'uniform', 'exponential', 'bernoulli'):
            _fail(where, f'bad random draw {name!r}')
        return Draw(default_generator, name)
    if kind == 'np':
        # NumPy's array functions (those that dispatch to array-likes: what a capture
        # records), less those that touch files, and the few constructors the capture
        # records itself; from np, np.linalg and np.fft only
        sub, _, leaf = name.rpartition('.')
        if sub not in ('', 'linalg', 'fft') or leaf in _DENIED:
            _fail(where, f'np.{name} is not one a program may call')
        target = getattr(np if not sub else getattr(np, sub), leaf, None)
        if not (type(target).__name__ == '_ArrayFunctionDispatcher' or
                leaf in _CONSTRUCTORS and target is getattr(np, leaf)):
            _fail(where, f'np.{name} is not a NumPy array function')
        return target
    _fail(where, f'bad call {code!r}')


def _mkl_or_numpy(a, b):
    from .backend import mkl
    out = mkl.matmul(a, b)
    return np.matmul(a, b) if out is None else out


def _dec(x, consts, where):
    if x is None or type(x) in (bool, int, str, float):
        return x
    if type(x) is list:
        _fail(where, 'bad argument list')
    if not isinstance(x, dict) or len(x) != 1:
        _fail(where, f'bad argument {x!r}')
    (k, v), = x.items()
    if k == 'ref':
        if not isinstance(v, int):
            _fail(where, 'bad value reference')
        return Ref(v)
    if k == 'const':
        if v not in consts:
            _fail(where, f'constant {v!r} missing')
        return Const(v, consts[v])
    if k == 'tuple':
        return tuple(_dec(a, consts, where) for a in v)
    if k == 'list':
        return [_dec(a, consts, where) for a in v]
    if k == 'dict':
        return {str(kk): _dec(a, consts, where) for kk, a in v}
    if k == 'slice':
        return slice(*(_dec(a, consts, where) for a in v))
    if k == 'ellipsis':
        return Ellipsis
    if k == 'dtype':
        return np.dtype(_bf16() if v == 'bfloat16' else v)
    if k == 'sctype':
        return np.dtype(v).type
    if k == 'scalar':
        return (v.numpy() if isinstance(v, Tensor) else np.asarray(v))[()]
    _fail(where, f'bad argument {k!r}')


def _bf16():
    import ml_dtypes
    return ml_dtypes.bfloat16


def _dec_graph(g, consts, where):
    defined = set()
    inputs = [int(i) for i in g['inputs']]
    defined.update(inputs)
    nodes = []
    for code, args, kwargs, outs, writes in g['nodes']:
        node = Node(_dec_fn(code, where), _dec(args, consts, where),
                    _dec(kwargs, consts, where), _dec(outs, consts, where),
                    tuple(int(w) for w in writes))
        if not isinstance(node.args, tuple) or not isinstance(node.kwargs, dict):
            _fail(where, 'bad call arguments')
        for i in node.refs() + list(node.writes):
            if i not in defined:
                _fail(where, f'value v{i} is read before it is made')
        for i in node.out_ids():
            if i is not None:
                defined.add(i)
        nodes.append(node)
    outputs = [int(i) for i in g['outputs']]
    for i in outputs:
        if i not in defined:
            _fail(where, f'output v{i} is never made')
    meta = {int(i): (tuple(s), np.dtype(_bf16() if d == 'bfloat16' else d))
            for i, s, d in g['meta']}
    return Graph(inputs, nodes, outputs, [c for c in _consts_of(nodes)], meta)


def _consts_of(nodes):
    seen = {}

    def walk(x):
        t = type(x)
        if t is Const:
            seen.setdefault(x.k, x)
        elif t in (tuple, list):
            for a in x:
                walk(a)
        elif t is dict:
            for a in x.values():
                walk(a)
    for n in nodes:
        walk((n.args, n.kwargs))
    return list(seen.values())


def _dec_result(x, where):
    if not isinstance(x, dict) or not x:
        _fail(where, 'bad result')
    if 'out' in x:
        if 'grad' in x:
            return _GradOut(int(x['out']), int(x['grad']))
        return _Out(int(x['out']))
    if 'arg' in x:
        return _ArgOut(int(x['arg']))
    if 'tuple' in x:
        return tuple(_dec_result(a, where) for a in x['tuple'])
    if 'list' in x:
        return [_dec_result(a, where) for a in x['list']]
    if 'dict' in x:
        return {k: _dec_result(a, where) for k, a in x['dict']}
    if 'value' in x:
        return x['value']
    _fail(where, 'bad result')


def _check_args(meta, tensors, who):
    if len(tensors) != len(meta) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f'{who}: the program takes {len(meta)} tensor argument(s), got '
                        f'{len(tensors)}: ({", ".join(type(t).__name__ for t in tensors)})')
    for k, (t, (shape, dtype, _)) in enumerate(zip(tensors, meta)):
        if tuple(t._data.shape) != tuple(shape) or t._data.dtype != dtype:
            raise RuntimeError(f'{who}: argument {k} has shape {tuple(t.shape)} and dtype '
                               f'{t.dtype}; the program was traced for shape {tuple(shape)} '
                               f'and {dtype} (trace again for other shapes)')
