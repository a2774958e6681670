"""Checkpoints as safetensors files: ``ember.save(obj, f)`` and ``ember.load(f)``.

A file is a plain safetensors file: 8 bytes of little-endian header length ``N``, ``N`` bytes
of JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian
bytes. Loading runs no code from the file; the header is checked in full before any tensor
byte is read.

Any nesting of dicts, lists, tuples, ints, floats, bools, None, strings, ember tensors, NumPy
arrays and scalars, ember dtypes and devices can be saved: the structure is JSON in the
``__metadata__`` entry under ``"ember.structure"``, its leaves naming tensors. Tensors are named
by their path (``model.weight``, ``optimizer.state.0.exp_avg``), so a plain
``model.state_dict()`` is stored under its own dotted keys and any safetensors reader can use it.

Where ember differs from ``torch.save``/``torch.load``:

- ``requires_grad`` is not stored, and a ``Parameter`` loads as a plain tensor (as a torch
  state_dict holds detached tensors).
- A tensor saved twice (or two views of one array) is stored twice and loads as two
  independent tensors; safetensors has no shared storage.
- Only the types above can be saved; any other object raises ``TypeError`` naming its path.
  Dict subclasses other than ``OrderedDict`` load as ``dict``; tuple subclasses (``ember.Size``,
  named tuples) as ``tuple``; list subclasses as ``list``.
"""
from __future__ import annotations

import errno
import io
import json
import math
import os
import tempfile
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from . import _dtype
from ._tensor import Tensor
from .backend import device as Device

if TYPE_CHECKING:   # (names for annotations only)
    from typing import IO, Any, Mapping, Union

    from ._typing import DeviceLike

    # a path, or a binary file object open for writing (save) or reading (load)
    FileLike = Union[str, bytes, os.PathLike[str], IO[bytes]]

MAX_HEADER_BYTES = 100_000_000   # the safetensors library's own limit
STRUCTURE_KEY = 'ember.structure'

# complex64 is safetensors' C64; the format has no complex128 (save refuses it, naming the fix)
_DTYPES = {'F64': np.float64, 'F32': np.float32, 'F16': np.float16, 'I64': np.int64,
           'I32': np.int32, 'I16': np.int16, 'I8': np.int8, 'U8': np.uint8, 'BOOL': np.bool_,
           'C64': np.complex64}
if _dtype.bfloat16 is not None:
    _DTYPES['BF16'] = _dtype.bfloat16.np
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}
_ENTRY_KEYS = {'dtype', 'shape', 'data_offsets'}


class CheckpointError(RuntimeError, ValueError):
    """A file ``ember.load`` refuses: not safetensors, truncated, or with an invalid header.
    The message names the file and the problem.

    >>> ember.load(io.BytesIO(b'hello'))
    Traceback (most recent call last):
    ...
    ember.serialization.CheckpointError: <BytesIO>: file too short to be a safetensors file...
    """


# ---------------------------------------------------------------------------- save
def save(obj: Any, f: FileLike) -> None:
    """Save ``obj`` to ``f`` (a path or a binary file object) as a safetensors file.

    The file is safetensors whatever its name (``model.pt`` too): ``torch.load`` cannot read
    it; ``ember.load`` can, and so can ``safetensors.torch.load_file`` for a plain state_dict.
    ``obj`` is data (see the module's docstring), not a model or an optimizer: save their
    ``state_dict()``, as below; ``ember.save(model)`` is a TypeError that says so.

    A path is written atomically: into a temporary file in the same directory, flushed and
    synced, then renamed over ``f``, so a crash never leaves a half-written checkpoint.

    >>> import os, tempfile
    >>> model = ember.nn.Linear(3, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), 'model.safetensors')
    >>> ember.save(model.state_dict(), path)
    >>> sd = ember.load(path)
    >>> list(sd), bool((sd['weight'] == model.weight).all())
    (['weight', 'bias'], True)
    >>> buf = io.BytesIO(); ember.save({'step': 3, 'x': np.arange(2)}, buf); _ = buf.seek(0)
    >>> ember.load(buf)
    {'step': 3, 'x': array([0, 1])}
    """
    arrays: list[tuple[str, np.ndarray]] = []
    names: set[str] = set()
    structure = _encode(obj, (), arrays, names)
    metadata = {STRUCTURE_KEY: json.dumps(structure, separators=(',', ':'), allow_nan=False)}
    if (isinstance(obj, dict) and obj and all(isinstance(v, Tensor) for v in obj.values())
            and all(isinstance(k, str) for k in obj)):
        metadata['format'] = 'pt'   # a plain state_dict: what other safetensors tools expect
    header: dict[str, dict[str, Any]] = {'__metadata__': metadata}
    offset = 0
    for name, arr in arrays:
        header[name] = {'dtype': _NAMES[arr.dtype.newbyteorder('=')], 'shape': list(arr.shape),
                        'data_offsets': [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    raw = json.dumps(header, separators=(',', ':'), allow_nan=False).encode()
    raw += b' ' * (-len(raw) % 8)   # pad so the data starts 8-byte aligned, as safetensors does
    if not isinstance(f, (str, bytes, os.PathLike)):
        _binary_file('ember.save', f, 'write', "'wb'")
        _write(f, raw, arrays)
        return
    _save_path(os.fsdecode(f), raw, arrays)


def _save_path(given, raw, arrays):
    """Write atomically where ``open(given, 'wb')`` would write (what torch.save does): through
    a symlink into its target, refusing a file or folder the user may not write."""
    path = os.path.realpath(given)   # a link stays a link; its target gets the new file
    folder, base = os.path.split(path)
    shown = given if path == os.path.abspath(given) else f'{given} (-> {path})'
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, 'ember.save: is a directory', shown)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f'ember.save: parent directory {folder} does not '
                                f'exist', shown)
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, 'ember.save: permission denied (the file is '
                              'read-only for this user)', shown)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{base}.', suffix='.tmp')
    except PermissionError:
        if not os.path.exists(path) or not os.access(path, os.W_OK):
            raise PermissionError(errno.EACCES, f'ember.save: permission denied (cannot '
                                  f'create a file in {folder})', shown) from None
        with open(path, 'r+b') as out:   # a writable file in a folder we may not write:
            out.truncate()               # written in place, as torch.save does (not atomic)
            _write(out, raw, arrays)
        return
    try:
        with os.fdopen(fd, 'wb') as out:
            _write(out, raw, arrays)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _sync_dir(folder)


def _write(f, raw_header, arrays):
    _write_all(f, len(raw_header).to_bytes(8, 'little') + raw_header)
    for _, arr in arrays:
        _write_data(f, arr)


def _write_data(f, arr):
    if arr.size:
        _write_all(f, arr.reshape(-1).view(np.uint8))


def _write_all(f, data):
    view = memoryview(data)
    while view:   # an unbuffered file may take fewer bytes than offered
        n = f.write(view)
        if n is None or n >= len(view):
            break
        view = view[n:]


def _file_mode(path):
    """Keep an existing file's permissions; a new file gets the usual 0o666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_dir(folder):
    try:   # make the rename itself durable; not every platform can open a directory
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _encode(x, path, arrays, names):
    """The JSON description of ``x``; tensors and arrays are appended to ``arrays``."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return float(x) if math.isfinite(x) else {'$type': 'float', 'value': repr(float(x))}
    if isinstance(x, Tensor):
        return {'$type': 'tensor', 'name': _add(x._data, path, arrays, names),
                'device': str(x.device)}
    if isinstance(x, np.ndarray):
        return {'$type': 'ndarray', 'name': _add(x, path, arrays, names)}
    if isinstance(x, np.generic):
        return {'$type': 'npscalar', 'name': _add(np.asarray(x), path, arrays, names)}
    if isinstance(x, _dtype.dtype):
        return {'$type': 'dtype', 'name': x.name}
    if isinstance(x, Device):
        return {'$type': 'device', 'value': str(x)}
    if isinstance(x, dict):
        items = [[_encode_key(k, path), _encode(v, path + (k,), arrays, names)]
                 for k, v in x.items()]
        return {'$type': 'ordereddict' if isinstance(x, OrderedDict) else 'dict',
                'items': items}
    if isinstance(x, tuple):
        return {'$type': 'tuple', 'items': [_encode(v, path + (i,), arrays, names)
                                            for i, v in enumerate(x)]}
    if isinstance(x, list):
        return [_encode(v, path + (i,), arrays, names) for i, v in enumerate(x)]
    if callable(getattr(x, 'state_dict', None)):   # a model, optimizer or scheduler
        raise TypeError(f'ember.save: cannot save {_where(path)} of type {type(x).__name__}: '
                        f'ember saves data, not models or optimizers; save their state_dict() '
                        f'instead, e.g. ember.save({{"model": model.state_dict(), "optimizer": '
                        f'optimizer.state_dict()}}, f), and restore it into new objects with '
                        f'their load_state_dict()')
    raise TypeError(f'ember.save: cannot save {_where(path)} of type {type(x).__name__}; '
                    f'ember saves dicts, lists, tuples, numbers, strings, None, ember tensors, '
                    f'NumPy arrays, dtypes and devices (no arbitrary objects: nothing is run '
                    f'on load)')


def _encode_key(k, path):
    if k is None or isinstance(k, (bool, int, float, str)):
        return _encode(k, path, None, None)
    if isinstance(k, tuple):
        return {'$type': 'tuple', 'items': [_encode_key(v, path) for v in k]}
    raise TypeError(f'ember.save: cannot save the dict key {k!r} in {_where(path)}; keys must '
                    f'be strings, numbers, bools, None or tuples of them')


def _where(path):
    return 'obj' + ''.join(f'[{p!r}]' for p in path)


def _add(arr, path, arrays, names):
    arr = np.asarray(arr.get() if hasattr(arr, 'get') and not isinstance(arr, np.ndarray)
                     else arr)
    if arr.dtype.newbyteorder('=') not in _NAMES:
        hint = ('; save ember.view_as_real(t) (float64) and load it back through '
                'ember.view_as_complex' if arr.dtype.kind == 'c' else '')
        raise TypeError(f'ember.save: {_where(path)} has dtype {arr.dtype}, which safetensors '
                        f'files in ember do not hold; supported: '
                        + ', '.join(str(d) for d in _NAMES) + hint)
    arr = np.asarray(arr, dtype=arr.dtype.newbyteorder('<'), order='C')   # keeps 0-d
    name = '.'.join(str(p) for p in path) or 'tensor'
    base, n = name, 1
    while name in names or name == '__metadata__':
        name, n = f'{base}#{n}', n + 1
    names.add(name)
    arrays.append((name, arr))
    return name


# ---------------------------------------------------------------------------- load
def load(f: FileLike, map_location: DeviceLike | Mapping[str, DeviceLike] | None = None,
         weights_only: bool = True) -> Any:
    """Load what ``ember.save`` wrote, or any safetensors file, from a path or binary file.

    Only safetensors files load: a ``torch.save`` file (a zip of pickles) is refused, and
    ``torch.load`` cannot read ember's files, whatever their name (``.pt`` or
    ``.safetensors``). What loads is data: a model's ``state_dict`` goes back in with
    ``model.load_state_dict(ember.load(f))``.

    The header is validated before any data is read; a file that is not a valid safetensors
    file (``torch.save`` files and Python object streams among them) raises ``CheckpointError``
    and nothing in it is run. ``map_location`` is ``None`` (each tensor back on the device it
    was saved from), a device such as ``'cpu'``, or a dict such as ``{'cuda:0': 'cpu'}``. A file
    without ember's structure metadata loads as a dict of name to tensor, in file order.
    ``weights_only`` is accepted for PyTorch code and ignored: ember only ever loads data.

    >>> buf = io.BytesIO()
    >>> ember.save({'w': ember.ones(2), 'lr': 0.1, 'betas': (0.9, 0.99)}, buf); _ = buf.seek(0)
    >>> ember.load(buf, map_location='cpu')
    {'w': tensor([1., 1.]), 'lr': 0.1, 'betas': (0.9, 0.99)}
    """
    del weights_only
    where = _describe(f)
    if isinstance(map_location, dict):
        map_location = {_key(Device(k)): Device(v) for k, v in map_location.items()}
    elif map_location is not None:
        if callable(map_location) or not isinstance(map_location, (str, Device)):
            raise TypeError(f'ember.load: map_location may be None, a device or a dict of '
                            f'device to device, got {map_location!r}')
        map_location = Device(map_location)
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, 'rb') as fh:
            return _load(fh, where, map_location)
    if not (hasattr(f, 'read') and hasattr(f, 'seek')):
        raise TypeError(f'ember.load: expected a path or a seekable binary file object, got '
                        f'{type(f).__name__}')
    _binary_file('ember.load', f, 'read', "'rb'")
    return _load(f, where, map_location)


def _binary_file(op, f, method, mode):
    if not hasattr(f, method):
        raise TypeError(f'{op}: expected a path or a binary file object, got '
                        f'{type(f).__name__}')
    if isinstance(f, io.TextIOBase):
        raise TypeError(f'{op}: {_describe(f)} is open in text mode; open it in binary mode '
                        f'({mode})')


def _describe(f):
    if isinstance(f, (str, bytes, os.PathLike)):
        return os.fsdecode(f)
    name = getattr(f, 'name', None)
    return name if isinstance(name, str) else f'<{type(f).__name__}>'


def _load(f, where, map_location):
    start = f.tell()
    size = f.seek(0, io.SEEK_END) - start
    f.seek(start)
    entries, metadata = _read_header(f, size, where)
    structure = _structure(metadata, entries, where)
    arrays = {name: _read_array(f, e, name, where) for name, e in entries}
    try:
        if structure is None:
            return {name: _tensor(arr, None, map_location) for name, arr in arrays.items()}
        return _decode(structure, arrays, map_location)
    except _NoDevice as e:
        raise RuntimeError(f'ember.load: {where}: {e}') from None


class _NoDevice(RuntimeError):
    pass


def _fail(where, msg):
    raise CheckpointError(f'{where}: {msg}')


def _read_header(f, size, where):
    """The (name, entry) pairs sorted by offset, and the metadata dict; everything checked."""
    if size < 8:
        _fail(where, f'file too short to be a safetensors file: {size} bytes, the 8-byte '
                     f'header length is missing')
    head = f.read(8)
    n = int.from_bytes(head, 'little')
    if n > MAX_HEADER_BYTES or n > size - 8 or n < 2:
        _not_safetensors(f, head, where, f'the header length {n} is impossible for a file of '
                         f'{size} bytes (at most {min(size - 8, MAX_HEADER_BYTES)} allowed)',
                         tail=True)
    raw = f.read(n)
    if len(raw) != n:
        _fail(where, f'file truncated: the header needs {n} bytes, only {len(raw)} read')
    try:
        header = json.loads(raw.decode('utf-8'), object_pairs_hook=_no_duplicates,
                            parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        _not_safetensors(f, head, where, f'the header is not valid UTF-8 JSON ({err})')
    if not isinstance(header, dict):
        _fail(where, f'the header must be a JSON object, got {type(header).__name__}')
    metadata = header.pop('__metadata__', None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        _fail(where, '__metadata__ must map strings to strings')
    entries = [(name, _check_entry(name, e, where)) for name, e in header.items()]
    entries.sort(key=lambda ne: tuple(ne[1]['data_offsets']))
    end, prev = 0, None
    for name, e in entries:
        begin, stop = e['data_offsets']
        if begin < end:
            _fail(where, f'tensor {name!r} (bytes {begin}..{stop}) overlaps tensor {prev!r} '
                         f'(which ends at {end})')
        if begin > end:
            _fail(where, f'a gap of {begin - end} bytes before tensor {name!r} (bytes '
                         f'{begin}..{stop}); the tensors must cover the data without gaps')
        end, prev = stop, name
    if end > size - 8 - n:
        _fail(where, f'file truncated: the tensors need {end} bytes of data, the file holds '
                     f'{size - 8 - n}')
    if end < size - 8 - n:
        _fail(where, f'{size - 8 - n - end} trailing bytes after the last tensor (the data '
                     f'section must hold exactly the tensors)')
    return entries, metadata


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f'duplicate name {k!r}')
        out[k] = v
    return out


def _no_constant(name):
    raise ValueError(f'{name} is not valid JSON')


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check_entry(name, e, where):
    if not isinstance(e, dict) or set(e) != _ENTRY_KEYS:
        _fail(where, f'tensor {name!r}: an entry must be an object with exactly the keys '
                     f'dtype, shape and data_offsets, got {e!r:.200}')
    if e['dtype'] == 'BF16' and 'BF16' not in _DTYPES:
        _fail(where, f'tensor {name!r} is bfloat16 (BF16), which NumPy reads only with the '
                     f'ml_dtypes package: pip install ml_dtypes')
    if not isinstance(e['dtype'], str) or e['dtype'] not in _DTYPES:
        _fail(where, f'tensor {name!r}: unsupported dtype {e["dtype"]!r:.50}; ember reads '
                     + ', '.join(_DTYPES))
    shape = e['shape']
    if not (isinstance(shape, list) and len(shape) <= 64
            and all(_is_int(s) and 0 <= s < 2**62 for s in shape)):
        _fail(where, f'tensor {name!r}: the shape must be a list of at most 64 non-negative '
                     f'integers, got {shape!r:.200}')
    offsets = e['data_offsets']
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_int, offsets))
            and 0 <= offsets[0] <= offsets[1]):
        _fail(where, f'tensor {name!r}: data_offsets must be two integers [begin, end] with '
                     f'0 <= begin <= end, got {offsets!r:.200}')
    nbytes = math.prod(shape) * np.dtype(_DTYPES[e['dtype']]).itemsize
    if offsets[1] - offsets[0] != nbytes:
        _fail(where, f'tensor {name!r}: shape {shape} of {e["dtype"]} needs {nbytes} bytes but '
                     f'data_offsets {offsets} hold {offsets[1] - offsets[0]}')
    return e


def _not_safetensors(f, head, where, msg, tail=False):
    """Name the usual wrong formats before giving the generic reason."""
    if head[:4] == b'PK\x03\x04':
        msg = ('looks like a PyTorch zip checkpoint (torch.save); ember.load only reads '
               'safetensors files. Convert it where you trust it: load with torch and save '
               'with safetensors.torch.save_file')
    elif (head[:1] == b'\x80' and 1 <= head[1] <= 5) or (tail and _last_byte(f) == b'.'):
        # protocol 2+ starts with PROTO; every protocol ends with STOP ('.')
        msg = ("looks like a Python object stream (Python's own serialization format, also "
               "used by legacy torch.save files), which can run code when loaded; ember.load "
               "only reads safetensors files and never runs code from a file")
    _fail(where, f'not a safetensors file: {msg}')


def _last_byte(f):
    try:
        f.seek(-1, io.SEEK_END)
        return f.read(1)
    except (OSError, ValueError):
        return b''


def _read_array(f, e, name, where):
    arr = np.empty(tuple(e['shape']), dtype=np.dtype(_DTYPES[e['dtype']]).newbyteorder('<'))
    if arr.size:
        buf = memoryview(arr.reshape(-1).view(np.uint8))
        got = 0
        while got < len(buf):
            k = f.readinto(buf[got:]) if hasattr(f, 'readinto') else None
            if k is None:
                chunk = f.read(len(buf) - got)
                k = len(chunk)
                buf[got:got + k] = chunk
            if not k:
                _fail(where, f'file truncated inside tensor {name!r}')
            got += k
    if arr.dtype == np.bool_ and (arr.view(np.uint8) > 1).any():
        _fail(where, f'tensor {name!r}: BOOL data holds bytes other than 0 and 1')
    return arr.astype(arr.dtype.newbyteorder('='), copy=False)


def _structure(metadata, entries, where):
    text = metadata.get(STRUCTURE_KEY)
    if text is None:
        return None
    try:
        structure = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        _fail(where, f'the {STRUCTURE_KEY} metadata is not valid JSON ({e})')
    names = {name: e['dtype'] for name, e in entries}
    try:
        _check_structure(structure, names)
    except RecursionError:
        _fail(where, f'the {STRUCTURE_KEY} metadata is nested too deeply')
    except ValueError as e:
        _fail(where, f'the {STRUCTURE_KEY} metadata is invalid: {e}')
    return structure


_FIELDS = {'tensor': {'name', 'device'}, 'ndarray': {'name'}, 'npscalar': {'name'},
           'float': {'value'}, 'dtype': {'name'}, 'device': {'value'}, 'dict': {'items'},
           'ordereddict': {'items'}, 'tuple': {'items'}}


def _check_structure(s, names):
    """Raise ValueError unless ``s`` is a structure ``_decode`` can build from ``names``."""
    if s is None or isinstance(s, (bool, int, float, str)):
        return
    if isinstance(s, list):
        for v in s:
            _check_structure(v, names)
        return
    kind = s.get('$type') if isinstance(s, dict) else None
    if kind not in _FIELDS or set(s) != _FIELDS[kind] | {'$type'}:
        raise ValueError(f'unknown node {s!r:.200}')
    if kind in ('tensor', 'ndarray', 'npscalar'):
        if s['name'] not in names:
            raise ValueError(f'it refers to tensor {s["name"]!r:.100}, which is not in the file')
        if kind == 'tensor':
            if not isinstance(s['device'], str):
                raise ValueError(f'bad device {s["device"]!r:.100}')
            _device(s['device'])
    elif kind == 'float':
        if s['value'] not in ('nan', 'inf', '-inf'):
            raise ValueError(f'bad float {s["value"]!r:.100}')
    elif kind == 'dtype':
        if s['name'] not in {d.name for d in _dtype.ALL}:
            raise ValueError(f'unknown dtype {s["name"]!r:.100}')
    elif kind == 'device':
        _device(s['value'])
    elif kind == 'tuple':
        if not isinstance(s['items'], list):
            raise ValueError('tuple items must be a list')
        for v in s['items']:
            _check_structure(v, names)
    else:
        if not (isinstance(s['items'], list)
                and all(isinstance(kv, list) and len(kv) == 2 for kv in s['items'])):
            raise ValueError('dict items must be a list of [key, value] pairs')
        for k, v in s['items']:
            _check_key(k)
            _check_structure(v, names)


def _check_key(k):
    if isinstance(k, dict) and k.get('$type') == 'tuple' and set(k) == {'$type', 'items'} \
            and isinstance(k['items'], list):
        for v in k['items']:
            _check_key(v)
    elif isinstance(k, dict) and k.get('$type') == 'float':
        _check_structure(k, {})
    elif not (k is None or isinstance(k, (bool, int, float, str))):
        raise ValueError(f'bad dict key {k!r:.100}')


def _device(text):
    if not isinstance(text, str):
        raise ValueError(f'bad device {text!r:.100}')
    try:
        return Device(text)
    except (RuntimeError, TypeError) as e:
        raise ValueError(str(e)) from None


def _decode(s, arrays, map_location):
    if s is None or isinstance(s, (bool, int, float, str)):
        return s
    if isinstance(s, list):
        return [_decode(v, arrays, map_location) for v in s]
    kind = s['$type']
    if kind == 'tensor':
        return _tensor(arrays[s['name']], s['device'], map_location)
    if kind == 'ndarray':
        return arrays[s['name']]
    if kind == 'npscalar':
        return arrays[s['name']].reshape(())[()]
    if kind == 'float':
        return float(s['value'])
    if kind == 'dtype':
        return _dtype.ALIASES[s['name']]
    if kind == 'device':
        return Device(s['value'])
    if kind == 'tuple':
        return tuple(_decode(v, arrays, map_location) for v in s['items'])
    cls = OrderedDict if kind == 'ordereddict' else dict
    return cls((_decode(k, arrays, map_location), _decode(v, arrays, map_location))
               for k, v in s['items'])


def _key(dev):
    return 'cpu' if dev.type == 'cpu' else f'{dev.type}:{dev.index or 0}'


def _tensor(arr, saved_device, map_location):
    """An ember tensor on the device ``map_location`` picks (the saved one by default)."""
    dev = Device(saved_device or 'cpu')
    if isinstance(map_location, dict):
        dev = map_location.get(_key(dev), dev)
    elif map_location is not None:
        dev = map_location
    t = Tensor._make(arr)
    if dev.type == 'cpu':
        return t
    from .backend import cuda
    if not cuda.is_available():
        raise _NoDevice(f"a tensor saved on {saved_device or 'cpu'} is to be loaded on device "
                        f"'{dev}', but CUDA is not available (CuPy and an NVIDIA GPU are "
                        f"needed). On a CPU-only machine, use ember.load(..., "
                        f"map_location='cpu') to load the tensors on the CPU")
    return t.to(dev)
