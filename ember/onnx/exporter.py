"""``ember.onnx.export``: run the model once, recording ember's ops, and write each as ONNX
nodes (the table in ``ops.py``), with the parameters and buffers as initializers."""
import io
import os

import numpy as np

from .. import _tensor
from ..autograd import no_grad
from .trace import ExportError, Recorder, _Rebind

Tensor = _tensor.Tensor

DEFAULT_OPSET = 18
OPSETS = range(17, 21)    # what the table is written and tested for


def onnx_modules():
    """``onnx`` and its helpers, or an ImportError naming the extra to install."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("ember.onnx needs the onnx package: pip install 'ember[onnx]' "
                          "(onnx==1.23.2, onnxruntime==1.31.1)") from None
    return onnx, helper, numpy_helper


def onnx_dtype(dtype):
    """The ONNX TensorProto element type of a NumPy dtype."""
    _, helper, _ = onnx_modules()
    name = np.dtype(dtype).name
    if name == 'bfloat16':
        return 16
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


class Builder:
    """The ONNX graph being written: nodes, initializers, and the name of each value (by the
    identity of the array a tensor holds; the arrays are kept alive while it runs)."""

    def __init__(self, opset):
        self.opset = opset
        self.nodes, self.inits = [], []
        self.names = {}            # id(array) -> (value name, array)
        self.counter = 0
        self.call = None           # the call being written (its errors name it)
        self.paths, self.twin, self.exempted = {}, {}, set()
        self.versions = {}         # id(array) -> the version its value had when named

    def fresh(self, hint='v'):
        self.counter += 1
        return f'{hint}_{self.counter}'

    def bind(self, tensor, name, version):
        self.names[id(tensor._data)] = (name, tensor._data)
        self.versions[id(tensor._data)] = version

    def const(self, array, hint='const'):
        """An initializer holding ``array``; its name."""
        _, _, numpy_helper = onnx_modules()
        array = np.asarray(array)
        if array.dtype.name == 'bfloat16':
            raise self.error('a bfloat16 constant (ONNX Runtime has no bfloat16 CPU kernels '
                             'for most ops); export in float32')
        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(array.copy(order='C'), name))
        return name

    def ints(self, values):
        return self.const(np.asarray(values, dtype=np.int64), 'ints')

    def scalar(self, value, dtype):
        return self.const(np.asarray(value, dtype=dtype), 'scalar')

    def value(self, tensor_or_array, derived_from=None):
        """The name of an op's input: a traced value, a parameter, or else a constant (a
        tensor made inside the model from Python data: ``arange``, a mask). A constant must
        be the same in the second run on other input values (``twin``): one that changed
        was computed from the inputs outside ember's ops, which the graph cannot repeat."""
        data = tensor_or_array._data if isinstance(tensor_or_array, Tensor) \
            else tensor_or_array
        known = self.names.get(id(data))
        if known is not None:
            return known[0]
        if not isinstance(data, np.ndarray):
            if np.isscalar(data):
                return self.const(np.asarray(data))
            raise self.error(f'an input on {type(data).__module__} arrays (export from the '
                             f'CPU: model.cpu())')
        self.check_constant(data if derived_from is None else derived_from)
        name = self.const(data)
        self.names[id(data)] = (name, data)
        return name

    def check_constant(self, data):
        src = derived = data._data if isinstance(data, Tensor) else data
        path = self.paths.get(id(src))
        if path is None or id(src) in self.exempted:
            return
        other = self.twin.get(path)
        derived = np.asarray(derived)
        if other is None or other.shape != derived.shape or not np.array_equal(
                other, derived, equal_nan=derived.dtype.kind in 'fc'):
            raise self.error('a value computed from the inputs outside ember\'s ops (on the '
                             'host: a sort, an argmax, a mask or index read from the data) '
                             'becomes a constant of the graph; ONNX cannot repeat it for other '
                             'inputs')

    def check_output(self, t, name, twin):
        """An output written in place outside the ops, or made on the host from the data,
        is refused."""
        key = id(t._data)
        if key in self.names and self.versions.get(key, t._version[0]) != t._version[0]:
            raise ExportError(f'export: the output {name} was written in place outside '
                              f'ember\'s ops (fill_, zero_, copy_ or NumPy on its array)')
        if key not in self.names and (twin is None or twin.shape != t.shape or not
                                      np.array_equal(twin._data, t._data, equal_nan=True)):
            raise ExportError(f'export: the output {name} was computed from the inputs '
                              f'outside ember\'s ops (on the host: indices of a maximum, a '
                              f'sort); ONNX cannot repeat it for other inputs')

    def exempt(self, array):
        """A host-computed argument the emitter recomputes in the graph (max's argmax)."""
        self.exempted.add(id(array))

    def start(self, call, twin):
        """Begin writing ``call``; ``twin`` is the same call in the run on other inputs."""
        self.call = call
        for t, seen in zip(call.inputs, call.extra.get('versions', ())):
            if self.versions.get(id(t._data), seen) != seen:
                raise self.error('an input was written in place outside ember\'s ops '
                                 '(fill_, zero_, copy_ or NumPy on its array) after it was '
                                 'computed; ONNX values are immutable')
        self.paths = {id(a): p for p, a in _leaves(call)}
        self.twin = dict(_leaves(twin))
        self.exempted = set()

    def node(self, op_type, inputs, n_out=1, domain='', **attrs):
        """Append a node; the names of its outputs (one name where ``n_out`` is 1)."""
        _, helper, _ = onnx_modules()
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs,
                                           name=f'{op_type}_{self.counter}', domain=domain,
                                           **{k: v for k, v in attrs.items() if v is not None}))
        return outs[0] if n_out == 1 else outs

    def need_opset(self, opset, what):
        if self.opset < opset:
            raise self.error(f'{what} needs opset_version {opset} or later (this export: '
                             f'{self.opset})')

    def cast(self, name, dtype):
        return self.node('Cast', [name], to=onnx_dtype(dtype))

    def error(self, why):
        c = self.call
        op = getattr(c.op, '__name__', str(c.op)) if c is not None else 'export'
        where = c.where if c is not None else ''
        return ExportError(f'export: ember op {op}{where}: {why}')


def _leaves(call):
    """(path, array) of each array among a call's inputs and parameters."""
    out = []

    def walk(x, path):
        if isinstance(x, Tensor):
            out.append((path, x._data))
        elif isinstance(x, np.ndarray):
            out.append((path, x))
        elif isinstance(x, (tuple, list)):
            for i, v in enumerate(x):
                walk(v, path + (i,))
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(v, path + (k,))
    walk(call.inputs, ('in',))
    walk(call.params, ('param',))
    return out


def _perturbed(args, rng):
    """``args`` with each tensor's values changed but kept in their range (an op that checks
    its input's values still accepts them): permuted, and floats also scaled by 0.9 to 0.99
    (signs kept, bounds not crossed)."""
    if isinstance(args, Tensor):
        a = args._data
        b = rng.permutation(a.reshape(-1)).reshape(a.shape) if a.size > 1 else a.copy()
        if a.dtype.kind == 'f':
            b = (b * rng.uniform(0.9, 0.99, a.shape)).astype(a.dtype)
        return Tensor._make(np.asarray(b))
    if isinstance(args, tuple):
        return tuple(_perturbed(a, rng) for a in args)
    if isinstance(args, list):
        return [_perturbed(a, rng) for a in args]
    if isinstance(args, dict):
        return {k: _perturbed(v, rng) for k, v in args.items()}
    return args


def _flatten(args):
    if isinstance(args, Tensor):
        return [args]
    if isinstance(args, (tuple, list)):
        out = []
        for a in args:
            out.extend(_flatten(a))
        return out
    if isinstance(args, dict):
        return [t for v in args.values() for t in _flatten(v)]
    return []


def _call_args(args):
    """torch's rule: a tensor is one argument; a tuple is the arguments, and a trailing dict
    in it is keyword arguments."""
    if isinstance(args, Tensor):
        return (args,), {}
    if not isinstance(args, tuple):
        raise TypeError(f'export: args must be a Tensor or a tuple of arguments, got '
                        f'{type(args).__name__}')
    if args and isinstance(args[-1], dict):
        return args[:-1], dict(args[-1])
    return args, {}


def _names(given, n, default, what):
    """The names given, then ``<default>_<i>`` for the rest (torch's rule)."""
    given = [] if given is None else list(given)
    if not all(isinstance(s, str) for s in given):
        raise ExportError(f'export: {what} must be strings, got {given}')
    if len(given) > n:
        raise ExportError(f'export: {len(given)} {what} for {n} {what.split("_")[0]}s')
    return given + [f'{default}_{i}' for i in range(len(given), n)]


def trace_model(model, args):
    """Run ``model(*args)`` once, recording ember's ops; the recorder, the inputs (flat)
    and the outputs (flat)."""
    from ..nn.module import Module
    modules = {}
    if isinstance(model, Module):
        modules = {id(m): name for name, m in model.named_modules() if name}
    pos, kw = _call_args(args)
    inputs = _flatten(pos) + _flatten(kw)
    with no_grad(), Recorder(modules) as rec:
        rec.versions = {id(t): t._version[0] for t in inputs}
        result = model(*pos, **kw)
    outputs = _flatten(result)
    if not outputs:
        raise ExportError(f'export: the model returned {type(result).__name__}, no tensors')
    return rec, inputs, outputs


def build(model, args, input_names, output_names, dynamic_axes, opset, export_params,
          keep_initializers_as_inputs=False):
    """The ONNX ModelProto of ``model(*args)``."""
    from . import ops
    from ..nn.module import Module
    onnx, helper, _ = onnx_modules()
    if opset not in OPSETS:
        raise ExportError(f'export: opset_version {opset} is not supported; ember writes '
                          f'opsets {OPSETS.start} to {OPSETS.stop - 1}')
    was_training = model.training if isinstance(model, Module) else None
    if was_training:
        model.eval()    # training=TrainingMode.EVAL, torch's default
    try:
        rec, inputs, outputs = trace_model(model, args)
        twin, _, twin_outputs = trace_model(model, _perturbed(args,
                                                              np.random.default_rng(0)))
    finally:
        if was_training:
            model.train()
    b = Builder(opset)
    versions = rec.versions
    in_names = _names(input_names, len(inputs), 'input', 'input_names')
    out_names = _names(output_names, len(outputs), 'output', 'output_names')
    graph_inputs = []
    for t, name in zip(inputs, in_names):
        if id(t._data) in b.names:
            raise ExportError(f'export: the input {name} is the same tensor as an earlier one')
        b.bind(t, name, versions[id(t)])
        graph_inputs.append((name, t))
    params = []
    if isinstance(model, Module):
        for name, p in list(model.named_parameters()) + list(model.named_buffers()):
            if id(p._data) not in b.names:
                b.names[id(p._data)] = (name, p._data)
                params.append((name, p))
    if [c.op for c in twin.calls] != [c.op for c in rec.calls]:
        first = next((c for c, d in zip(rec.calls, twin.calls) if c.op is not d.op),
                     rec.calls[min(len(rec.calls), len(twin.calls)) - 1])
        raise ExportError(f'export: the model runs other ops for other input values (Python '
                          f'control flow on the data, near {first.op.__name__}{first.where}); '
                          f'ONNX graphs are static')
    for call, other in zip(rec.calls, twin.calls):
        b.start(call, other)
        if call.op is _Rebind:
            src = call.inputs[0]
            name = b.value(src)
            if src._data.dtype != call.out._data.dtype:   # (x.eq_(y) keeps x's dtype)
                name = b.cast(name, call.out._data.dtype)
            b.bind(call.out, name, call.extra['out_version'])
            continue
        complex_ = [t for t in (*call.inputs, call.out)
                    if getattr(getattr(t, '_data', None), 'dtype', None) is not None and
                    t._data.dtype.kind == 'c']
        if complex_:
            raise b.error(f'complex tensors ({complex_[0].dtype}) have no ONNX Runtime '
                          f'kernels; export the real and imaginary parts '
                          f'(ember.view_as_real) instead')
        emit = ops.lookup(call.op)
        if emit is None:
            raise b.error(f'has no ONNX form in ember.onnx ({ops.why_not(call.op)})')
        name = emit(b, call, *call.inputs, **call.params)
        b.bind(call.out, name, call.extra['out_version'])
    b.call = None
    used = {i for n in b.nodes for i in n.input}
    outs = []
    for k, (t, name) in enumerate(zip(outputs, out_names)):
        b.check_output(t, name, twin_outputs[k] if k < len(twin_outputs) else None)
        src = b.value(t)
        b.nodes.append(helper.make_node('Identity', [src], [name], name=f'output_{name}'))
        used.add(src)
        outs.append((name, t))
    _, _, numpy_helper = onnx_modules()
    params = [(n, p) for n, p in params if n in used]
    weights = [numpy_helper.from_array(p._data.copy(order='C'), n) for n, p in params] \
        if export_params else []
    graph = helper.make_graph(
        b.nodes, 'ember', [_value_info(n, t, dynamic_axes) for n, t in graph_inputs]
        + ([_value_info(n, p, None) for n, p in params]
           if keep_initializers_as_inputs or not export_params else []),
        [_value_info(n, t, dynamic_axes) for n, t in outs], weights + b.inits)
    _check_dynamic(dynamic_axes, in_names + out_names)
    model_proto = helper.make_model(graph, producer_name='ember',
                                    opset_imports=[helper.make_opsetid('', opset)])
    model_proto.ir_version = 8 if opset <= 18 else 9   # what ONNX Runtimes of 2023 on read
    onnx.checker.check_model(model_proto, full_check=True)
    return model_proto


def _value_info(name, t, dynamic_axes):
    _, helper, _ = onnx_modules()
    shape = list(t._data.shape)
    for axis, label in _axes(dynamic_axes, name).items():
        if not -len(shape) <= axis < len(shape):
            raise ExportError(f'export: dynamic_axes[{name!r}] names axis {axis} of a '
                              f'{len(shape)}-d value')
        shape[axis] = label
    return helper.make_tensor_value_info(name, onnx_dtype(t._data.dtype), shape)


def _axes(dynamic_axes, name):
    """torch's forms: {name: [axes]} or {name: {axis: label}}."""
    given = (dynamic_axes or {}).get(name)
    if given is None:
        return {}
    if isinstance(given, dict):
        return {int(a): str(lab) for a, lab in given.items()}
    return {int(a): f'{name}_dynamic_axes_{i + 1}' for i, a in enumerate(given)}


def _check_dynamic(dynamic_axes, names):
    for key in dynamic_axes or {}:
        if key not in names:
            raise ExportError(f'export: dynamic_axes names {key!r}, which is no input or '
                              f'output (those are {names})')


def write(model_proto, f):
    """Write to a path or a binary file-like."""
    data = model_proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        with open(f, 'wb') as fh:
            fh.write(data)
    elif isinstance(f, io.IOBase) or hasattr(f, 'write'):
        f.write(data)
    else:
        raise TypeError(f'export: f must be a path or a binary file, got {type(f).__name__}')
