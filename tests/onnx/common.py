"""Helpers of the ONNX tests: export to bytes, run in ONNX Runtime, compare with ember."""
import io

import numpy as np
import pytest

import ember
from tests.helpers import TOL

onnx = pytest.importorskip('onnx')           # the onnx extra; `make test`'s venv has it
ort = pytest.importorskip('onnxruntime')


def export_bytes(model, args, **kw):
    f = io.BytesIO()
    ember.onnx.export(model, args, f, **kw)
    return f.getvalue()


def run_ort(data, arrays):
    """The model in ``data`` run by ONNX Runtime on ``arrays`` (its inputs, in order)."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    s = ort.InferenceSession(data, options, providers=['CPUExecutionProvider'])
    return s.run(None, {i.name: a for i, a in zip(s.get_inputs(), arrays)})


def assert_matches(got, want, what=''):
    """ONNX Runtime's array equals ember's tensor: dtype and shape exactly, floats within the
    op tables' float32/float64 tolerance (docs/testing.md), the rest bit for bit."""
    w = want.detach().numpy()
    assert got.dtype == w.dtype and got.shape == w.shape, \
        f'{what}: {got.dtype}{got.shape} from ONNX Runtime, {w.dtype}{w.shape} from ember'
    if w.dtype.kind == 'f':
        np.testing.assert_allclose(got, w, err_msg=what, equal_nan=True,
                                   **TOL.get(w.dtype.name, TOL['float32']))
    else:
        np.testing.assert_array_equal(got, w, err_msg=what)
