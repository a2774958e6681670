"""ember.quantization against torch.ao.quantization: observers' qparams, fake quantization
(forward and the straight-through gradient), the int8 layers against torch's fbgemm quantized
Linear and Conv2d on the same qparams, dynamic Linear against torch's quantize_dynamic; the
prepare/convert and QAT flows, saving, and the errors."""
import os

import numpy as np
import pytest

import ember
from ember import nn
from ember import quantization as Q

torch = pytest.importorskip('torch')
import torch.ao.nn.quantized as tnnq  # noqa: E402
import torch.ao.quantization as tq  # noqa: E402

torch.backends.quantized.engine = 'fbgemm'
pytestmark = pytest.mark.filterwarnings(   # torch's own notices about its quantization API
    'ignore:torch.ao.quantization is deprecated:DeprecationWarning',
    'ignore:Please use quant_min and quant_max:UserWarning',
    'ignore:torch.quantize_per_tensor, torch.quantize_per_channel:UserWarning')
TQSCHEME = {'per_tensor_affine': torch.per_tensor_affine,
            'per_tensor_symmetric': torch.per_tensor_symmetric,
            'per_channel_affine': torch.per_channel_affine,
            'per_channel_symmetric': torch.per_channel_symmetric}
TDTYPE = {'quint8': torch.quint8, 'qint8': torch.qint8}


def batches(seed=0, shape=(4, 50)):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape) * s + o).astype(np.float32)
            for s, o in ((1.0, 0.0), (3.0, 1.0), (0.5, -2.0))]


def both(cls, tcls, **kw):
    tkw = dict(kw)
    tkw['dtype'] = TDTYPE[kw.get('dtype', 'quint8')]
    if 'qscheme' in kw:
        tkw['qscheme'] = TQSCHEME[kw['qscheme']]
    return cls(**kw), tcls(**tkw)


OBSERVERS = [
    (Q.MinMaxObserver, tq.MinMaxObserver, {}),
    (Q.MinMaxObserver, tq.MinMaxObserver, {'dtype': 'qint8', 'qscheme': 'per_tensor_symmetric'}),
    (Q.MinMaxObserver, tq.MinMaxObserver, {'reduce_range': True}),
    (Q.MinMaxObserver, tq.MinMaxObserver, {'quant_min': 0, 'quant_max': 15}),
    (Q.MinMaxObserver, tq.MinMaxObserver, {'qscheme': 'per_tensor_symmetric'}),
    (Q.MovingAverageMinMaxObserver, tq.MovingAverageMinMaxObserver, {}),
    (Q.MovingAverageMinMaxObserver, tq.MovingAverageMinMaxObserver,
     {'averaging_constant': 0.3, 'dtype': 'qint8'}),
    (Q.PerChannelMinMaxObserver, tq.PerChannelMinMaxObserver, {}),
    (Q.PerChannelMinMaxObserver, tq.PerChannelMinMaxObserver,
     {'ch_axis': 1, 'dtype': 'qint8', 'qscheme': 'per_channel_symmetric'}),
    (Q.MovingAveragePerChannelMinMaxObserver, tq.MovingAveragePerChannelMinMaxObserver,
     {'averaging_constant': 0.5, 'reduce_range': True}),
    (Q.HistogramObserver, tq.HistogramObserver, {}),
    (Q.HistogramObserver, tq.HistogramObserver, {'reduce_range': True}),
    (Q.HistogramObserver, tq.HistogramObserver, {'dtype': 'qint8',
                                                  'qscheme': 'per_tensor_symmetric'}),
]


@pytest.mark.parametrize('cls,tcls,kw', OBSERVERS,
                         ids=[f'{c.__name__}-{i}' for i, (c, _, _) in enumerate(OBSERVERS)])
def test_observer_qparams_equal_torch(cls, tcls, kw):
    e, t = both(cls, tcls, **kw)
    assert (e.quant_min, e.quant_max) == (t.quant_min, t.quant_max)
    for i, a in enumerate(batches(shape=(4, 500) if cls is Q.HistogramObserver else (4, 50))):
        e(ember.tensor(a))
        t(torch.tensor(a))
        (es, ez), (ts, tz) = e.calculate_qparams(), t.calculate_qparams()
        assert np.array_equal(es.numpy(), ts.numpy()), (i, es, ts)
        assert np.array_equal(ez.numpy(), tz.numpy()), (i, ez, tz)


def test_histogram_observer_with_outliers_equals_torch():
    rng = np.random.default_rng(3)
    e, t = Q.HistogramObserver(), tq.HistogramObserver()
    for a in (rng.laplace(size=20000), np.concatenate([rng.standard_normal(5000), [40.0]]),
              rng.standard_normal(300) - 9):
        e(ember.tensor(a.astype(np.float32)))
        t(torch.tensor(a.astype(np.float32)))
        assert np.array_equal(e.histogram.numpy(), t.histogram.numpy())
        assert e.calculate_qparams()[0].item() == t.calculate_qparams()[0].item()
        assert e.calculate_qparams()[1].item() == t.calculate_qparams()[1].item()


@pytest.mark.parametrize('qmin,qmax,zp', [(0, 255, 7), (-128, 127, 0), (0, 15, 3)])
def test_fake_quantize_per_tensor_forward_backward(qmin, qmax, zp):
    a = np.random.default_rng(1).standard_normal(200).astype(np.float32) * 3
    a[:6] = [0.25, 0.75, -0.25, 300, -300, 200]   # halfway cases (half to even); outside
    x, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y = ember.fake_quantize_per_tensor_affine(x, 0.5, zp, qmin, qmax)
    yt = torch.fake_quantize_per_tensor_affine(xt, 0.5, zp, qmin, qmax)
    assert np.array_equal(y.detach().numpy(), yt.detach().numpy())
    g = np.random.default_rng(2).standard_normal(200).astype(np.float32)
    y.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    assert np.array_equal(x.grad.numpy(), xt.grad.numpy())
    assert np.array_equal(x.grad.numpy()[3:6], [0, 0, 0]) and x.grad.numpy()[0] != 0


def test_fake_quantize_per_channel_forward_backward():
    a = np.random.default_rng(4).standard_normal((3, 5, 4)).astype(np.float32) * 2
    scale, zp = np.array([0.01, 0.02, 0.05, 0.1, 0.3], np.float32), np.array([0, 1, -3, 2, 0])
    x, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y = ember.fake_quantize_per_channel_affine(x, ember.tensor(scale), ember.tensor(zp), 1,
                                               -128, 127)
    yt = torch.fake_quantize_per_channel_affine(xt, torch.tensor(scale), torch.tensor(zp,
                                                dtype=torch.int32), 1, -128, 127)
    assert np.array_equal(y.detach().numpy(), yt.detach().numpy())
    y.sum().backward()
    yt.sum().backward()
    assert np.array_equal(x.grad.numpy(), xt.grad.numpy())


def test_fake_quantize_module_and_its_gradient_equal_torch():
    """The STE gradient of QAT's FakeQuantize (moving-average observer) equals torch's."""
    e = Q.FakeQuantize(quant_min=0, quant_max=255)
    t = tq.FakeQuantize(quant_min=0, quant_max=255)
    for a in batches(5):
        x, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, yt = e(x), t(xt)
        assert np.array_equal(y.detach().numpy(), yt.detach().numpy())
        (y * y).sum().backward()
        (yt * yt).sum().backward()
        assert np.array_equal(x.grad.numpy(), xt.grad.numpy())
        assert np.array_equal(e.scale.numpy(), t.scale.numpy())
    e.disable_observer()
    t.disable_observer()
    a = batches(6)[1]
    assert np.array_equal(e(ember.tensor(a)).numpy(), t(torch.tensor(a)).numpy())


def to_int(y, mod):
    """A quantized layer's float output back on its integer grid."""
    return np.round(y.numpy() / mod.scale.item()).astype(np.int64) + int(mod.zero_point.item())


def torch_weight(mod):
    return torch._make_per_channel_quantized_tensor(
        torch.tensor(mod.weight.numpy()), torch.tensor(mod.weight_scale.numpy(),
                                                       dtype=torch.float64),
        torch.tensor(mod.weight_zero_point.numpy(), dtype=torch.int64), 0)


def close_to_torch(e_mod, t_mod, x):
    """Inputs in 0..127 (fbgemm's range without overflow), the same qparams; returns the
    share of outputs equal to torch's, after checking all are within one step (all are
    equal, on these inputs and on 40 seeds tried)."""
    s, z = e_mod.input_scale.item(), int(e_mod.input_zero_point.item())
    t_mod.scale, t_mod.zero_point = e_mod.scale.item(), int(e_mod.zero_point.item())
    yt = t_mod(torch.quantize_per_tensor(torch.tensor(x), s, z, torch.quint8)).int_repr()
    ye = to_int(e_mod(ember.tensor(x)), e_mod)
    diff = np.abs(ye - yt.numpy().astype(np.int64))
    assert diff.max() <= 1
    return (diff == 0).mean()


@pytest.mark.parametrize('relu', [False, True])
def test_quantized_linear_against_torch_fbgemm(relu):
    ember.manual_seed(0)
    rng = np.random.default_rng(7)
    lin = nn.Linear(40, 12)
    q = Q.QuantizedLinear.from_float(lin, (0.02, 30), (0.03, 0 if relu else 110), relu=relu)
    x = (rng.uniform(-0.6, 1.94, (64, 40))).astype(np.float32)   # quantizes into 0..127
    t = (tnnq.LinearReLU if relu else tnnq.Linear)(40, 12) if not relu else \
        torch.ao.nn.intrinsic.quantized.LinearReLU(40, 12)
    t.set_weight_bias(torch_weight(q), torch.tensor(q.bias.numpy()))
    w = torch.quantize_per_channel(torch.tensor(lin.weight.detach().numpy()),
                                   torch.tensor(q.weight_scale.numpy(), dtype=torch.float64),
                                   torch.zeros(12, dtype=torch.int64), 0, torch.qint8)
    assert np.array_equal(w.int_repr().numpy(), q.weight.numpy())
    assert close_to_torch(q, t, x) == 1.0


def test_quantized_conv2d_against_torch_fbgemm():
    ember.manual_seed(0)
    rng = np.random.default_rng(8)
    conv = nn.Conv2d(3, 6, 3, padding=1, stride=2)
    q = Q.QuantizedConv2d.from_float(conv, (0.02, 20), (0.05, 90))
    x = rng.uniform(-0.4, 2.14, (2, 3, 9, 9)).astype(np.float32)
    t = tnnq.Conv2d(3, 6, 3, padding=1, stride=2)
    t.set_weight_bias(torch_weight(q), torch.tensor(q.bias.numpy()))
    assert close_to_torch(q, t, x) == 1.0


def test_dynamic_linear_against_torch_quantize_dynamic():
    rng = np.random.default_rng(9)
    w, b = rng.standard_normal((10, 30)).astype(np.float32), rng.standard_normal(10).astype(
        np.float32)
    e, t = nn.Sequential(nn.Linear(30, 10)), torch.nn.Sequential(torch.nn.Linear(30, 10))
    with ember.no_grad(), torch.no_grad():
        e[0].weight.copy_(ember.tensor(w))
        e[0].bias.copy_(ember.tensor(b))
        t[0].weight.copy_(torch.tensor(w))
        t[0].bias.copy_(torch.tensor(b))
    qe = Q.quantize_dynamic(e, {nn.Linear}, dtype=ember.qint8)
    qt = tq.quantize_dynamic(t, {torch.nn.Linear: tq.per_channel_dynamic_qconfig})
    assert np.array_equal(qe[0].weight.numpy(), qt[0].weight().int_repr().numpy())
    x = (rng.standard_normal((16, 30)) * 2).astype(np.float32)
    ye, yt = qe(ember.tensor(x)).numpy(), qt(torch.tensor(x)).numpy()
    step = (x.max() - min(x.min(), 0)) / 127 * (qe[0].weight_scale.numpy() * 127).max()
    assert np.abs(ye - yt).max() <= step
    y = e(ember.tensor(x)).detach().numpy()
    assert np.abs(ye - y).max() < 0.03 * np.abs(y).max()


def test_dynamic_lstm_keeps_int8_weights():
    lstm = nn.LSTM(6, 8, num_layers=2, bidirectional=True)
    q = Q.quantize_dynamic(nn.Sequential(lstm))[0]
    assert q.weight_hh_l1_reverse.dtype == ember.int8 and q.bias_ih_l0.dtype == ember.float32
    assert q.weight_ih_l0_scale.shape == (32,) and not list(q.parameters())
    x = ember.randn(5, 3, 6)
    assert (q(x)[0] - lstm(x)[0]).abs().max().item() < 0.02


def small_model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 3))


def test_prepare_convert_flow():
    model = small_model()
    x = ember.randn(64, 1, 8, 8)
    prepared = Q.prepare(model, Q.QConfig(Q.MinMaxObserver,
                                          Q.default_per_channel_weight_observer))
    assert not hasattr(model[0], 'input_observer')   # a copy, as torch's inplace=False
    assert np.array_equal(prepared(x).detach().numpy(), model(x).detach().numpy())
    q = Q.convert(prepared)
    assert [type(m).__name__ for m in q] == ['QuantizedConv2d', 'ReLU', 'MaxPool2d', 'Flatten',
                                              'QuantizedLinear', 'ReLU', 'QuantizedLinear']
    assert q[0].relu and q[4].relu and not q[6].relu
    assert not hasattr(q[1], 'activation_post_process') and not q[1]._forward_hooks
    assert q[0].weight_axis == 0 and q[0].weight_scale.shape == (4,)
    assert q[0].input_zero_point.dtype == ember.uint8 and q[0].zero_point.item() == 0
    y, yq = model(x).detach().numpy(), q(x).numpy()
    assert np.abs(y - yq).max() < 4 * q[6].scale.item() + 0.05
    assert np.allclose(np.round(yq / q[6].scale.item()), yq / q[6].scale.item(), atol=1e-3)


def fit(model, x, target, steps, lr=0.05):
    opt = ember.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_qat_trains_and_converts():
    """QAT fine-tunes a trained float model (as torch's recipe): the loss keeps going down."""
    model = small_model()
    x = ember.randn(32, 1, 8, 8)
    target = (x[:, 0, :4].sum((1, 2)) > 0).long() + (x[:, 0, 4:].sum((1, 2)) > 0).long()
    fit(model, x, target, 25)
    qat = Q.prepare_qat(model)
    assert type(qat[0]).__name__ == 'QATConv2d'
    losses = fit(qat, x, target, 25)
    assert losses[-1] < 0.5 * losses[0]
    q = Q.convert(qat.eval())
    with ember.no_grad():
        ref = qat(x).numpy()
    assert np.abs(q(x).numpy() - ref).max() < 3 * q[6].scale.item()


def test_state_dict_saves_and_loads(tmp_path):
    x = ember.randn(16, 1, 8, 8)
    q = Q.prepare(small_model())
    q(x)
    q = Q.convert(q)
    path = str(tmp_path / 'q.safetensors')
    ember.save(q.state_dict(), path)
    other = Q.prepare(small_model())
    other(x[:2] * 3)
    other = Q.convert(other)
    other.load_state_dict(ember.load(path))
    assert np.array_equal(other(x).numpy(), q(x).numpy())
    big = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    ember.save(big.state_dict(), str(tmp_path / 'f.safetensors'))
    prepared = Q.prepare(big)
    prepared(ember.randn(8, 256))
    ember.save(Q.convert(prepared).state_dict(), path)
    assert os.path.getsize(path) < 0.3 * os.path.getsize(tmp_path / 'f.safetensors')


def test_bad_input_errors():
    with pytest.raises(ValueError, match=r'prepare: found no nn.Linear or nn.Conv2d .*Tanh'):
        Q.prepare(nn.Sequential(nn.Tanh()))
    with pytest.raises(RuntimeError, match='convert: Sequential has no prepared layers'):
        Q.convert(small_model())
    with pytest.raises(RuntimeError, match=r"input observer of layer '0' has no statistics"):
        Q.convert(Q.prepare(small_model()))
    with pytest.raises(ValueError, match=r"MinMaxObserver: dtype='int4' is not a quantized"):
        Q.MinMaxObserver(dtype='int4')
    with pytest.raises(ValueError, match=r"MinMaxObserver: qscheme='per_channel_affine'"):
        Q.MinMaxObserver(qscheme='per_channel_affine')
    with pytest.raises(ValueError, match='only dtype=ember.qint8'):
        Q.quantize_dynamic(small_model(), dtype='quint8')
    with pytest.raises(ValueError, match="can quantize nn.Linear and nn.LSTM, not 'Conv2d'"):
        Q.quantize_dynamic(small_model(), {nn.Conv2d})
    with pytest.raises(ValueError, match='QConfig: activation should be an observer class'):
        Q.QConfig(Q.MinMaxObserver(), Q.MinMaxObserver)
    with pytest.raises(ValueError, match=r'expected an input of shape \(\*, 4\), got \(2, 3\)'):
        Q.QuantizedLinear(4, 2)(ember.ones(2, 3))
    with pytest.raises(ValueError, match=r'should have shape \(3,\)'):
        ember.fake_quantize_per_channel_affine(ember.ones(3, 2), ember.ones(2), ember.zeros(2),
                                               0, 0, 255)
    with pytest.raises(ValueError, match="backend='arm' is not one of"):
        Q.get_default_qconfig('arm')


def test_a_converted_model_exports_as_qdq_and_onnx_runtime_agrees():
    ort = pytest.importorskip('onnxruntime')
    pytest.importorskip('onnx')
    import io
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 10)).eval()
    x = ember.randn(64, 1, 8, 8)
    prepared = Q.prepare(model)
    with ember.no_grad():
        prepared(x)
    q = Q.convert(prepared)
    f = io.BytesIO()
    ember.onnx.export(q, (x[:4],), f, input_names=['x'], output_names=['y'],
                      dynamic_axes={'x': {0: 'batch'}, 'y': {0: 'batch'}})
    graph = __import__('onnx').load_from_string(f.getvalue()).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count('QuantizeLinear') == 4 and 'Conv' in ops and 'Gemm' in ops
    sess = ort.InferenceSession(f.getvalue(), providers=['CPUExecutionProvider'])
    got = sess.run(None, {'x': x.numpy()})[0]
    with ember.no_grad():
        want = q(x).numpy()
    step = float(q[4].scale.item())     # the last layer's output grid
    # ONNX Runtime rounds the int32 bias once more: within two steps of the output grid
    assert np.abs(got - want).max() <= 2 * step + 1e-6
