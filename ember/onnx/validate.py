"""Checks of an ONNX file before ``ember.onnx.load`` builds anything from it.

An ONNX file is a protobuf message: data, no code. What can still go wrong is data that
lies: a truncated file, a tensor whose declared shape does not match its bytes or asks for
terabytes, an element type ember has no dtype for, external data whose path leaves the
model's folder (``..``, an absolute path, a symbolic link out), a node reading a value no
one made. Each is an ``OnnxError`` naming the file and what is wrong; nothing is allocated
before the sizes are checked, and nothing outside the model's folder is opened.
"""
import os

import numpy as np

MAX_ELEMENTS = 2 ** 32          # per tensor: 16 GiB of float32; more is refused
OPSETS = range(13, 23)          # the default domain's versions whose op forms load.py reads

# ONNX's element types (TensorProto.DataType) and their NumPy dtypes
DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64,
          9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}
# where each type's values sit when not in raw_data
FIELDS = {1: 'float_data', 2: 'int32_data', 3: 'int32_data', 5: 'int32_data',
          6: 'int32_data', 7: 'int64_data', 9: 'int32_data', 10: 'int32_data',
          11: 'double_data', 12: 'uint64_data', 13: 'uint64_data'}


class OnnxError(ValueError):
    """An ONNX file ``ember.onnx.load`` cannot read or trust: the message names the file and
    what is wrong.

    >>> import io
    >>> ember.onnx.load(io.BytesIO(b'not a model'))
    Traceback (most recent call last):
    ...
    ember.onnx.validate.OnnxError: <stream>: not an ONNX model (the protobuf does not parse: ...)
    """


def parse(data, where):
    """The ModelProto in ``data`` (bytes)."""
    from .exporter import onnx_modules
    onnx, _, _ = onnx_modules()
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:   # protobuf's DecodeError, and others on garbage
        raise OnnxError(f'{where}: not an ONNX model (the protobuf does not parse: '
                        f'{e})') from None
    if not model.HasField('graph') or not model.graph.node and not model.graph.output:
        raise OnnxError(f'{where}: not an ONNX model (no graph; a truncated or empty file?)')
    return model


def check_model(model, where):
    """The opset, every node's inputs and every value's type; the default domain's opset."""
    opset = None
    for o in model.opset_import:
        if o.domain in ('', 'ai.onnx'):
            opset = o.version
    if opset is None or opset not in OPSETS:
        raise OnnxError(f'{where}: opset {opset} of the default domain is not supported '
                        f'(ember.onnx.load reads {OPSETS.start} to {OPSETS.stop - 1})')
    g = model.graph
    known = set()
    for v in g.input:
        dtype_of(v.type.tensor_type.elem_type, where, f'input {v.name!r}')
        known.add(v.name)
    for t in g.initializer:
        known.add(t.name)
    for i, n in enumerate(g.node):
        name = n.name or f'#{i}'
        if n.domain not in ('', 'ai.onnx'):
            raise OnnxError(f'{where}: node {name!r} ({n.op_type}) is in domain {n.domain!r}; '
                            f'ember.onnx.load reads the default ONNX domain only')
        for x in n.input:
            if x and x not in known:
                raise OnnxError(f'{where}: node {name!r} ({n.op_type}) reads {x!r}, which no '
                                f'input, initializer or earlier node defines')
        known.update(n.output)
    for v in g.output:
        if v.name not in known:
            raise OnnxError(f'{where}: the graph output {v.name!r} is never computed')
    return opset


def dtype_of(elem_type, where, what):
    if elem_type not in DTYPES:
        raise OnnxError(f'{where}: {what} has element type {elem_type} '
                        f'({_type_name(elem_type)}), which ember has no dtype for')
    return np.dtype(DTYPES[elem_type])


def _type_name(elem_type):
    try:
        from onnx import TensorProto
        return TensorProto.DataType.Name(elem_type)
    except Exception:
        return 'unknown'


def tensor_array(t, where, folder):
    """A TensorProto's values as a NumPy array, its size checked before anything is
    allocated; external data read only from files inside ``folder``."""
    what = f'tensor {t.name!r}'
    dtype = dtype_of(t.data_type, where, what)
    dims = list(t.dims)
    if any(d < 0 for d in dims):
        raise OnnxError(f'{where}: {what} has a negative dimension in {dims}')
    n = 1
    for d in dims:
        n *= int(d)
    if n > MAX_ELEMENTS:
        raise OnnxError(f'{where}: {what} declares shape {dims} ({n:,} elements); ember.onnx '
                        f'reads tensors of at most {MAX_ELEMENTS:,} elements')
    nbytes = n * dtype.itemsize
    if t.data_location == 1:   # EXTERNAL
        raw = _external(t, where, folder, nbytes)
    elif t.HasField('raw_data') or t.raw_data:
        raw = t.raw_data
    else:
        values = getattr(t, FIELDS[t.data_type])
        if len(values) != n:
            raise OnnxError(f'{where}: {what} of shape {dims} holds {len(values)} values, '
                            f'not {n}')
        if t.data_type == 10:   # float16 bits in int32_data
            return np.asarray(values, dtype=np.uint16).view(np.float16).reshape(dims)
        return np.asarray(values, dtype=dtype).reshape(dims)
    if len(raw) != nbytes:
        raise OnnxError(f'{where}: {what} of shape {dims} ({dtype.name}) needs {nbytes:,} '
                        f'bytes, its data has {len(raw):,}')
    return np.frombuffer(raw, dtype=dtype.newbyteorder('<')).astype(dtype).reshape(dims)


def _external(t, where, folder, nbytes):
    """The bytes of an external tensor: its file must lie inside ``folder``."""
    what = f'tensor {t.name!r}'
    info = {e.key: e.value for e in t.external_data}
    location = info.get('location', '')
    if folder is None:
        raise OnnxError(f'{where}: {what} keeps its data in an external file '
                        f'({location!r}); load the model from a path, not a stream')
    if not location or os.path.isabs(location) or '..' in location.replace('\\', '/').split(
            '/') or '\x00' in location:
        raise OnnxError(f'{where}: {what} names external data {location!r}: a path inside '
                        f'the model\'s folder is required (no absolute paths, no ..)')
    root = os.path.realpath(folder)
    path = os.path.realpath(os.path.join(root, location))
    if os.path.commonpath([root, path]) != root:
        raise OnnxError(f'{where}: {what} names external data {location!r}, which leads out '
                        f'of the model\'s folder (a symbolic link?)')
    try:
        offset, length = int(info.get('offset', 0)), int(info.get('length', nbytes))
    except ValueError:
        raise OnnxError(f'{where}: {what} has a non-integer offset or length') from None
    if offset < 0 or length != nbytes:
        raise OnnxError(f'{where}: {what} needs {nbytes:,} bytes of external data, its '
                        f'entry gives offset {offset} and length {length}')
    if not os.path.isfile(path):
        raise OnnxError(f'{where}: {what}: external data file {location!r} not found')
    if os.path.getsize(path) < offset + length:
        raise OnnxError(f'{where}: {what}: external data file {location!r} has '
                        f'{os.path.getsize(path):,} bytes, fewer than offset + length '
                        f'({offset + length:,})')
    with open(path, 'rb') as f:
        f.seek(offset)
        return f.read(length)
