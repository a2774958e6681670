"""ONNX export and import: ``ember.onnx.export`` writes a model as an ONNX graph (run it in
ONNX Runtime, from any language), ``ember.onnx.load`` reads one back as an ember Module that
runs and trains. Needs the ``onnx`` extra (``pip install 'ember[onnx]'``); ``import ember``
does not import onnx. The design and what is supported: docs/deploy.md.

>>> import io
>>> model, x = ember.nn.Linear(3, 2), ember.ones(1, 3)
>>> f = io.BytesIO()
>>> ember.onnx.export(model, (x,), f, input_names=['x'], output_names=['y'])
>>> f.seek(0)
0
>>> again = ember.onnx.load(f)
>>> bool((again(x) - model(x)).abs().max() < 1e-6)
True

In another language, ONNX Runtime runs the same file (Python's, for instance:
``onnxruntime.InferenceSession(path).run(None, {'x': array})``).
"""
from .trace import ExportError
from .exporter import DEFAULT_OPSET, build, write
from .validate import OnnxError
from .importer import OnnxModule, load

__all__ = ['export', 'load', 'ExportError', 'OnnxError', 'OnnxModule']

# arguments of torch.onnx.export ember has no other value for: (name, the value accepted)
_ONLY = (('operator_export_type', None), ('custom_opsets', None),
         ('export_modules_as_functions', False), ('dynamo', False))


def export(model, args, f, export_params=True, verbose=False, training=None,
           input_names=None, output_names=None, operator_export_type=None,
           opset_version=None, do_constant_folding=True, dynamic_axes=None,
           keep_initializers_as_inputs=None, custom_opsets=None,
           export_modules_as_functions=False, autograd_inlining=True, dynamo=False):
    """Export ``model(*args)`` to ONNX in ``f`` (a path or a binary file), in the shape of
    ``torch.onnx.export``: the model is run once in eval mode and ember's ops are recorded.

    Parameters and buffers become initializers named as in ``state_dict()``;
    ``input_names``/``output_names`` name the graph's inputs and outputs, ``dynamic_axes``
    (``{name: [axes]}`` or ``{name: {axis: label}}``) marks dimensions as free, and
    ``opset_version`` is 18 (the default, as torch's) or 17 to 20. The result is checked with
    ``onnx.checker.check_model(full_check=True)``. An op ONNX cannot express raises
    ``ExportError`` naming it and its module. ``do_constant_folding`` is accepted (ONNX
    Runtime folds constants when it loads a model); ``training``, ``operator_export_type``,
    ``custom_opsets``, ``export_modules_as_functions`` and ``dynamo`` other than their
    defaults are refused.

    >>> import io
    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU())
    >>> f = io.BytesIO()
    >>> ember.onnx.export(model, (ember.randn(2, 4),), f, input_names=['x'],
    ...                   output_names=['y'], dynamic_axes={'x': {0: 'batch'}, 'y': [0]})
    >>> import onnx
    >>> [i.name for i in onnx.load_from_string(f.getvalue()).graph.initializer][:2]
    ['0.weight', '0.bias']
    """
    if training not in (None, False) and str(training).split('.')[-1] != 'EVAL':
        raise ExportError(f'export: training={training} is not supported; ember exports the '
                          f'eval-mode graph (dropout off, running statistics)')
    given = dict(operator_export_type=operator_export_type, custom_opsets=custom_opsets or None,
                 export_modules_as_functions=export_modules_as_functions, dynamo=dynamo)
    for name, accepted in _ONLY:
        if given[name] != accepted:
            raise ExportError(f'export: {name}={given[name]!r} is not supported by ember.onnx')
    if not callable(model):
        raise TypeError(f'export: model must be a Module or a function, got '
                        f'{type(model).__name__}')
    del verbose, do_constant_folding, autograd_inlining   # (accepted: see above)
    proto = build(model, args, input_names, output_names, dynamic_axes,
                  DEFAULT_OPSET if opset_version is None else int(opset_version),
                  export_params, bool(keep_initializers_as_inputs))
    write(proto, f)
