"""``torch.utils.tensorboard.SummaryWriter`` for ember: TensorBoard event files written by
tensorboardX (``pip install ember[viz]``), the field's writer that needs no TensorFlow and no
PyTorch. Tensors are handed over as NumPy arrays; ``add_graph`` writes the ops of one
forward call (``ember.viz.capture``), each named by its module path, as the GraphDef
TensorBoard's graph tab draws.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d, SummaryWriter(d) as w:
...     w.add_scalar('loss', ember.tensor(0.5), global_step=1)
...     w.get_logdir() == d
True
"""
import numpy as np

from .._tensor import Tensor

__all__ = ['SummaryWriter']


def _np(x):
    """A tensor (or array, number, list) as a NumPy array."""
    if isinstance(x, Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _scalar(x):
    return float(_np(x).reshape(())) if not isinstance(x, (int, float)) else float(x)


def _graph_def(model, inputs):
    """The GraphDef of one forward call: a node per input, parameter and op."""
    from tensorboardX.proto.attr_value_pb2 import AttrValue
    from tensorboardX.proto.graph_pb2 import GraphDef
    from tensorboardX.proto.node_def_pb2 import NodeDef
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboardX.proto.versions_pb2 import VersionDef

    from ..viz import capture
    records = capture(model, *inputs)
    params = dict(model.named_parameters())
    params.update(dict(model.named_buffers()))

    def shape_attr(shape):
        dims = [TensorShapeProto.Dim(size=int(d)) for d in shape]
        return AttrValue(list=AttrValue.ListValue(shape=[TensorShapeProto(dim=dims)]))

    nodes, names, leaves = [], [], {}
    for k, r in enumerate(records):
        names.append(f'{r.scope}/{r.op}_{k}' if r.scope else f'{r.op}_{k}')

    def source(kind, ref):
        if kind == 'op':
            return names[ref]
        key = (kind, ref)
        if key not in leaves:
            if kind == 'param':
                name, shape, op = ref, tuple(params[ref].shape), 'Parameter'
            elif kind == 'input':
                name, shape, op = f'input/{ref}', tuple(inputs[ref].shape), 'IO Node'
            else:
                name, shape, op = f'const/{len(leaves)}', ref, 'Const'
            leaves[key] = name
            nodes.append(NodeDef(name=name.replace('.', '/') if kind == 'param' else name,
                                 op=op, attr={'_output_shapes': shape_attr(shape)}))
        name = leaves[key]
        return name.replace('.', '/') if kind == 'param' else name

    for k, r in enumerate(records):
        ins = [source(kind, ref) for kind, ref in r.inputs]
        attr = {'_output_shapes': shape_attr(r.shape or ()),
                'line': AttrValue(s=(r.where or '').encode())}
        nodes.append(NodeDef(name=names[k], op=r.op, input=ins, attr=attr))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))


class SummaryWriter:
    """Write TensorBoard event files to ``log_dir`` (``runs/<date>_<host><comment>`` by
    default), with ``torch.utils.tensorboard.SummaryWriter``'s methods. A context manager;
    ``close()`` flushes.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> w = SummaryWriter(d)
    >>> w.add_histogram('w', ember.randn(100), 0); w.close()
    """

    def __init__(self, log_dir=None, comment='', purge_step=None, max_queue=10,
                 flush_secs=120, filename_suffix=''):
        try:
            import tensorboardX
        except ImportError:
            raise ImportError('ember.utils.tensorboard needs tensorboardX: '
                              'pip install ember[viz]') from None
        self._w = tensorboardX.SummaryWriter(log_dir, comment=comment, purge_step=purge_step,
                                             max_queue=max_queue, flush_secs=flush_secs,
                                             filename_suffix=filename_suffix)

    def get_logdir(self):
        """The folder the event files go to."""
        return self._w.logdir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False):
        """One number (a Python number or a one-element tensor) at ``global_step``
        (``new_style`` is accepted: tensorboardX writes the one style TensorBoard reads)."""
        self._w.add_scalar(tag, _scalar(scalar_value), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several numbers under ``main_tag`` ({name: value}), one run each as torch's."""
        self._w.add_scalars(main_tag, {k: _scalar(v) for k, v in tag_scalar_dict.items()},
                            global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins='tensorflow', walltime=None,
                      max_bins=None):
        """A histogram of ``values`` (bins: 'tensorflow', 'auto', a number ...)."""
        self._w.add_histogram(tag, _np(values), global_step, bins, walltime, max_bins)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats='CHW'):
        """One image: floats in [0, 1] or uint8, laid out as ``dataformats``."""
        self._w.add_image(tag, _np(img_tensor), global_step, walltime, dataformats)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None,
                   dataformats='NCHW'):
        """A batch of images, shown as a grid."""
        self._w.add_images(tag, _np(img_tensor), global_step, walltime, dataformats)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """A matplotlib figure (or a list of them), rendered to an image."""
        self._w.add_figure(tag, figure, global_step, close, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """A text (markdown)."""
        self._w.add_text(tag, text_string, global_step, walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None,
                    run_name=None, global_step=None):
        """Hyperparameters and the metrics they gave, for the HParams tab (in a run of its
        own, ``run_name`` or the time; ``hparam_domain_discrete`` is accepted and unused:
        tensorboardX takes the values as they come)."""
        self._w.add_hparams({k: _scalar(v) if isinstance(v, Tensor) else v
                             for k, v in hparam_dict.items()},
                            {k: _scalar(v) for k, v in metric_dict.items()},
                            name=run_name, global_step=global_step)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """The ops of ``model(*input_to_model)`` (a tensor or a tuple of them), by module."""
        inputs = input_to_model if isinstance(input_to_model, (tuple, list)) else \
            (input_to_model,)
        graph = _graph_def(model, tuple(inputs))
        if verbose:
            print(graph)
        self._w._get_file_writer().add_onnx_graph(graph)   # (writes any GraphDef as is)

    def flush(self):
        """Write what is queued to disk."""
        self._w.flush()

    def close(self):
        """Flush and close the event files."""
        self._w.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
