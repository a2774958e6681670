"""Training visualization (issue 20): event files ember writes, read back by TensorBoard's own
reader; ember.viz.make_dot's graphs; the demos' --tensorboard."""
import io
import shutil

import numpy as np
import pytest

import ember
from ember import nn

pytest.importorskip('tensorboardX', reason='pip install ember[viz]')
event_accumulator = pytest.importorskip(
    'tensorboard.backend.event_processing.event_accumulator',
    reason="TensorBoard's reader (the test venv installs tensorboard)")
SummaryWriter = ember.utils.tensorboard.SummaryWriter


def read(folder):
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={
        'scalars': 0, 'histograms': 0, 'images': 0, 'tensors': 0})
    acc.Reload()
    return acc


def test_scalars_histograms_images_and_text_read_back(tmp_path):
    values = ember.randn(1000)
    images = ember.rand(2, 3, 8, 8)
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalar('train/loss', ember.tensor(1.0 / (step + 1)), step)
        w.add_histogram('weights', values, 7)
        w.add_image('picture', images[0], 1)
        w.add_images('batch', images, 2)
        w.add_text('note', 'hello *ember*', 0)
    acc = read(tmp_path)
    tags = acc.Tags()
    assert set(tags['scalars']) == {'train/loss'}
    got = acc.Scalars('train/loss')
    assert [e.step for e in got] == [0, 1, 2]
    assert np.allclose([e.value for e in got], [1.0, 0.5, 1 / 3])
    (h,) = acc.Histograms('weights')
    v = values.numpy()
    assert h.step == 7 and h.histogram_value.num == 1000
    assert np.isclose(h.histogram_value.min, v.min()) and np.isclose(h.histogram_value.max,
                                                                        v.max())
    assert np.isclose(h.histogram_value.sum, v.sum(), atol=1e-3)
    (img,) = acc.Images('picture')
    assert (img.step, img.width, img.height) == (1, 8, 8)
    from PIL import Image
    png = np.asarray(Image.open(io.BytesIO(img.encoded_image_string)))
    want = np.round(images[0].numpy().transpose(1, 2, 0) * 255)
    assert png.shape == (8, 8, 3) and np.abs(png.astype(float) - want).max() <= 1
    (grid,) = acc.Images('batch')
    assert grid.step == 2 and grid.width >= 16
    (text,) = acc.Tensors('note/text_summary')
    assert text.tensor_proto.string_val[0] == b'hello *ember*'


def test_add_scalars_and_hparams(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalars('acc', {'train': 0.9, 'test': ember.tensor(0.8)}, 5)
        w.add_hparams({'lr': 0.1, 'depth': 3}, {'hparam/accuracy': 0.75}, run_name='run1')
    # one run per scalar, in acc/train and acc/test (tensorboardX's layout; torch's
    # writes acc_train and acc_test)
    assert {p.name for p in (tmp_path / 'acc').iterdir()} == {'train', 'test'}
    assert [(e.step, e.value) for e in read(tmp_path / 'acc' / 'test').Scalars('acc')] == \
        [(5, pytest.approx(0.8))]
    plugin = read(tmp_path / 'run1').PluginTagToContent('hparams')
    assert '_hparams_/session_start_info' in plugin
    assert read(tmp_path / 'run1').Scalars('hparam/accuracy')[0].value == pytest.approx(0.75)


def test_add_graph_writes_each_op_by_module_with_shapes(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            return self.head(self.body(x)).log_softmax(-1)

    with SummaryWriter(tmp_path) as w:
        w.add_graph(Net(), ember.randn(5, 4))
    graph = read(tmp_path).Graph()
    nodes = {n.name: n for n in graph.node}
    ops = [n for n in graph.node if n.op not in ('Parameter', 'IO Node', 'Const')]
    assert [n.op for n in ops] == ['linear', 'piecewiselinear', 'linear', 'logsoftmax']
    assert [n.name.rsplit('/', 1)[0] for n in ops] == [
        'Net/Sequential[body]/Linear[0]', 'Net/Sequential[body]/ReLU[1]', 'Net/Linear[head]',
        'Net']
    first = ops[0]
    assert list(first.input) == ['input/0', 'body/0/weight', 'body/0/bias']
    assert nodes['body/0/weight'].op == 'Parameter'
    dims = [d.size for d in first.attr['_output_shapes'].list.shape[0].dim]
    assert dims == [5, 8] and list(ops[1].input) == [first.name]
    assert b'test_tensorboard.py' in ops[3].attr['line'].s


def test_make_dot_draws_autograd_ops_and_programs():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = ember.randn(5, 3)
    with pytest.warns(UserWarning, match='Anomaly Detection'):
        with ember.autograd.detect_anomaly():
            loss = model(x).sum()          # nodes made here know the user's line
    src = ember.viz.make_dot(loss, params=dict(model.named_parameters())).source
    for text in ('SumBackward', 'LinearBackward', 'PiecewiseLinearBackward', '0.weight\n(4, 3)',
                 '2.bias\n(2,)', 'test_tensorboard.py:'):
        assert text in src, text
    ops = ember.viz.make_dot(model, x).source
    assert 'Sequential/Linear[0]\nlinear -> (5, 4)' in ops and 'input 0' in ops
    step = ember.compile(lambda a: (a * 2 + 1).sum())
    step(ember.ones(3))
    prog = ember.viz.make_dot(step).source
    assert 'np.multiply(v0, 2)' in prog and 'in0 -> n0' in prog
    with pytest.raises(TypeError, match='make_dot: expected a tensor'):
        ember.viz.make_dot(3)


@pytest.mark.skipif(shutil.which('dot') is None, reason="Graphviz's dot program is not "
                    'installed (apt install graphviz): the DOT text is tested above')
def test_make_dot_renders_svg():
    svg = ember.viz.make_dot(ember.ones(2, requires_grad=True).exp().sum()).pipe(format='svg')
    assert svg.startswith(b'<?xml') and b'<svg' in svg and b'ExpBackward' in svg


def test_the_demos_log_to_tensorboard(tmp_path):
    from ember.demos import classification, regression
    regression.run(epochs=3, out=None, bars=False, tensorboard=tmp_path)
    classification.run(epochs=2, out=None, bars=False, tensorboard=tmp_path)
    reg = read(tmp_path / 'regression')
    assert [e.step for e in reg.Scalars('loss')] == [1, 2, 3]
    assert reg.Graph().node and set(reg.Tags()['histograms']) == {'line_layer.weight',
                                                                  'line_layer.bias'}
    cls = read(tmp_path / 'classification')
    assert set(cls.Tags()['scalars']) >= {'loss', 'test_accuracy'}
    assert len(cls.Scalars('test_accuracy')) == 2
