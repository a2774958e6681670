"""ember.onnx.load on malformed or hostile files: each is an OnnxError naming the file and
what is wrong, raised before anything is allocated or read outside the model's folder."""
import io
import os

import numpy as np
import pytest

import ember
from tests.helpers import DEVICE
from tests.onnx.common import export_bytes, onnx

pytestmark = pytest.mark.skipif(DEVICE != 'cpu', reason='ONNX files load on the CPU')
helper, numpy_helper, TensorProto = onnx.helper, onnx.numpy_helper, onnx.TensorProto


def small_model(weight=None, nodes=None, opset=18, inputs=None):
    """y = x @ w, with ``w`` an initializer (or what the test gives instead)."""
    w = numpy_helper.from_array(np.ones((3, 2), np.float32), 'w') if weight is None else weight
    nodes = nodes or [helper.make_node('MatMul', ['x', 'w'], ['y'], name='mm')]
    graph = helper.make_graph(
        nodes, 'g', inputs or [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 2])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid('', opset)])


def write(tmp_path, model, name='m.onnx'):
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return str(path)


def test_a_good_small_model_loads(tmp_path):
    m = ember.onnx.load(write(tmp_path, small_model()))
    assert m(ember.ones(2, 3)).tolist() == [[3.0, 3.0], [3.0, 3.0]]


@pytest.mark.parametrize('cut', [0.1, 0.5, 0.9, 0.99])
def test_truncated_file(tmp_path, cut):
    data = export_bytes(ember.nn.Sequential(ember.nn.Linear(8, 8), ember.nn.ReLU()),
                        ember.ones(2, 8))
    path = tmp_path / 'cut.onnx'
    path.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(ember.onnx.OnnxError, match=str(path).replace('\\', '\\\\')):
        ember.onnx.load(str(path))


def test_not_onnx_and_empty(tmp_path):
    for data in (b'\x89PNG\r\n\x1a\n' + bytes(50), b''):
        path = tmp_path / 'x.onnx'
        path.write_bytes(data)
        with pytest.raises(ember.onnx.OnnxError, match='not an ONNX model'):
            ember.onnx.load(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(ember.onnx.OnnxError, match='cannot read'):
        ember.onnx.load(str(tmp_path / 'nothing.onnx'))


def test_wrong_element_types(tmp_path):
    strings = helper.make_tensor('w', TensorProto.STRING, [1], [b'a'])
    with pytest.raises(ember.onnx.OnnxError, match="tensor 'w' has element type 8 .STRING."):
        ember.onnx.load(write(tmp_path, small_model(strings)))
    bad_input = [helper.make_tensor_value_info('x', TensorProto.COMPLEX64, [2, 3])]
    with pytest.raises(ember.onnx.OnnxError, match="input 'x' has element type 14"):
        ember.onnx.load(write(tmp_path, small_model(inputs=bad_input)))


def test_absurd_shape_is_refused_before_allocating(tmp_path):
    huge = TensorProto(name='w', data_type=TensorProto.FLOAT, dims=[2 ** 40, 2 ** 40],
                       raw_data=b'\0' * 16)
    with pytest.raises(ember.onnx.OnnxError, match=r'declares shape \[1099511627776, '):
        ember.onnx.load(write(tmp_path, small_model(huge)))
    negative = TensorProto(name='w', data_type=TensorProto.FLOAT, dims=[-1, 3], raw_data=b'')
    with pytest.raises(ember.onnx.OnnxError, match='negative dimension'):
        ember.onnx.load(write(tmp_path, small_model(negative)))


def test_bytes_that_do_not_match_the_shape(tmp_path):
    short = TensorProto(name='w', data_type=TensorProto.FLOAT, dims=[3, 2], raw_data=b'\0' * 20)
    with pytest.raises(ember.onnx.OnnxError, match="needs 24 bytes, its data has 20"):
        ember.onnx.load(write(tmp_path, small_model(short)))
    few = TensorProto(name='w', data_type=TensorProto.FLOAT, dims=[3, 2], float_data=[1.0] * 5)
    with pytest.raises(ember.onnx.OnnxError, match='holds 5 values, not 6'):
        ember.onnx.load(write(tmp_path, small_model(few)))


def external(location, length=24, offset=0):
    t = TensorProto(name='w', data_type=TensorProto.FLOAT, dims=[3, 2])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (('location', location), ('offset', str(offset)), ('length', str(length))):
        entry = t.external_data.add()
        entry.key, entry.value = k, v
    return t


def test_external_data_inside_the_folder_loads(tmp_path):
    (tmp_path / 'weights.bin').write_bytes(np.arange(6, dtype='<f4').tobytes())
    m = ember.onnx.load(write(tmp_path, small_model(external('weights.bin'))))
    assert m(ember.ones(2, 3)).tolist() == [[6.0, 9.0], [6.0, 9.0]]


@pytest.mark.parametrize('location', ['../secret.bin', 'sub/../../secret.bin', '/etc/passwd',
                                      ''])
def test_external_data_outside_the_folder_is_refused(tmp_path, location):
    folder = tmp_path / 'model'
    folder.mkdir()
    (tmp_path / 'secret.bin').write_bytes(bytes(24))
    with pytest.raises(ember.onnx.OnnxError, match='a path inside the model.s folder'):
        ember.onnx.load(write(folder, small_model(external(location))))


def test_external_data_through_a_symlink_out_is_refused(tmp_path):
    folder = tmp_path / 'model'
    folder.mkdir()
    (tmp_path / 'secret.bin').write_bytes(bytes(24))
    os.symlink(tmp_path / 'secret.bin', folder / 'weights.bin')
    with pytest.raises(ember.onnx.OnnxError, match='leads out of the model.s folder'):
        ember.onnx.load(write(folder, small_model(external('weights.bin'))))


def test_external_data_too_short_or_from_a_stream(tmp_path):
    (tmp_path / 'weights.bin').write_bytes(bytes(10))
    with pytest.raises(ember.onnx.OnnxError, match='has 10 bytes, fewer than'):
        ember.onnx.load(write(tmp_path, small_model(external('weights.bin'))))
    with pytest.raises(ember.onnx.OnnxError, match='needs 24 bytes of external data'):
        ember.onnx.load(write(tmp_path, small_model(external('weights.bin', length=8))))
    data = small_model(external('weights.bin')).SerializeToString()
    with pytest.raises(ember.onnx.OnnxError, match='load the model from a path'):
        ember.onnx.load(io.BytesIO(data))


def test_undefined_input_unsupported_op_and_opset(tmp_path):
    dangling = [helper.make_node('MatMul', ['x', 'nope'], ['y'], name='mm')]
    with pytest.raises(ember.onnx.OnnxError, match="node 'mm' .MatMul. reads 'nope', which no"):
        ember.onnx.load(write(tmp_path, small_model(nodes=dangling)))
    unknown = [helper.make_node('Celu', ['x'], ['y'], name='odd')]
    with pytest.raises(ember.onnx.OnnxError,
                       match="node 'odd' is the ONNX operator Celu, which ember.onnx.load"):
        ember.onnx.load(write(tmp_path, small_model(nodes=unknown)))
    with pytest.raises(ember.onnx.OnnxError, match='opset 9 of the default domain'):
        ember.onnx.load(write(tmp_path, small_model(opset=9)))
    custom = [helper.make_node('MatMul', ['x', 'w'], ['y'], name='mm', domain='com.evil')]
    with pytest.raises(ember.onnx.OnnxError, match="in domain 'com.evil'"):
        ember.onnx.load(write(tmp_path, small_model(nodes=custom)))


def test_absurd_shapes_from_the_graph_are_refused_when_run(tmp_path):
    """Shapes read from the data at run time (Expand's, Pad's) are bounded too."""
    huge = numpy_helper.from_array(np.array([2 ** 30, 2 ** 30], np.int64), 'shape')
    nodes = [helper.make_node('Expand', ['x', 'shape'], ['y'], name='grow')]
    graph = helper.make_graph(
        nodes, 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)], [huge])
    m = ember.onnx.load(write(tmp_path, helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 18)])))
    with pytest.raises(RuntimeError, match=r"node 'grow' \(Expand\): Expand: a result of "
                                           r"shape \[1073741824, 1073741824\]"):
        m(ember.ones(1, 1))


def test_a_graph_attribute_is_refused(tmp_path):
    inner = helper.make_graph([], 'inner', [], [])
    node = helper.make_node('If', ['c'], ['y'], name='branch', then_branch=inner,
                            else_branch=inner)
    graph = helper.make_graph(
        [node], 'g', [helper.make_tensor_value_info('c', TensorProto.BOOL, [])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)])
    path = write(tmp_path, helper.make_model(graph, opset_imports=[helper.make_opsetid('', 18)]))
    with pytest.raises(ember.onnx.OnnxError, match="node 'branch' is the ONNX operator If"):
        ember.onnx.load(path)


def test_import_ember_does_not_import_onnx():
    """onnx is an extra: ember.onnx imports it when export or load runs, not before."""
    import subprocess
    import sys
    code = ('import sys, ember; print(sorted(m for m in ("onnx", "onnxruntime", '
            '"google.protobuf") if m in sys.modules))')
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=root, check=True).stdout
    assert out.strip() == '[]'
