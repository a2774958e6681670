"""Data types, with PyTorch's names and PyTorch's type-promotion rules."""
import numpy as np


class dtype:
    """A tensor element type, named as in PyTorch (``ember.float32`` is ``torch.float32``).

    >>> ember.float32.is_floating_point, ember.int64.itemsize
    (True, 8)
    >>> ember.tensor([1, 2]).dtype
    ember.int64
    >>> ember.complex64.is_complex, ember.complex64.is_floating_point
    (True, False)
    """
    __slots__ = ('name', 'np', 'is_floating_point', 'is_complex', 'is_signed', 'itemsize',
                 'kind')

    def __init__(self, name, np_dtype, kind=None):
        self.name = name
        self.np = np.dtype(np_dtype)
        # bool < int < float < complex
        self.kind = {'b': 0, 'u': 1, 'i': 1, 'f': 2, 'c': 3}[kind or self.np.kind]
        self.is_floating_point = self.kind == 2
        self.is_complex = self.kind == 3
        self.is_signed = (kind or self.np.kind) in 'ifc'
        self.itemsize = self.np.itemsize

    def to_real(self):
        """The real dtype of a complex one's parts (``complex64`` -> ``float32``); a real
        dtype itself.

        >>> ember.complex128.to_real(), ember.float32.to_real()
        (ember.float64, ember.float32)
        """
        return _BY_NP[np.dtype(self.np.char.lower())] if self.kind == 3 else self

    def to_complex(self):
        """The complex dtype whose parts are this float dtype (``float64`` ->
        ``complex128``; float16 and bfloat16 -> ``complex64``: ember has no complex32).

        >>> ember.float64.to_complex(), ember.complex64.to_complex()
        (ember.complex128, ember.complex64)
        """
        if self.kind == 3:
            return self
        return complex128 if self.np == np.float64 else complex64

    def __repr__(self):
        return f'ember.{self.name}'

    def __reduce__(self):
        raise TypeError('ember dtypes are not pickled; save tensors with ember.save')

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):   # one object per dtype: copying a module keeps it
        return self


bool_ = dtype('bool', np.bool_)
uint8 = dtype('uint8', np.uint8)
int8 = dtype('int8', np.int8)
int16 = dtype('int16', np.int16)
int32 = dtype('int32', np.int32)
int64 = dtype('int64', np.int64)
float16 = dtype('float16', np.float16)
float32 = dtype('float32', np.float32)
float64 = dtype('float64', np.float64)
complex64 = dtype('complex64', np.complex64)
complex128 = dtype('complex128', np.complex128)

try:   # NumPy has no bfloat16; the ml_dtypes package (JAX's, also read by CuPy) gives one
    import ml_dtypes as _ml_dtypes
    bfloat16 = dtype('bfloat16', _ml_dtypes.bfloat16, kind='f')
except ImportError:
    bfloat16 = None

ALL = tuple(d for d in (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32,
                        float64, complex64, complex128) if d is not None)
_BY_NP = {d.np: d for d in ALL}
# PyTorch's aliases
ALIASES = {'bool': bool_, 'uint8': uint8, 'int8': int8, 'int16': int16, 'short': int16,
           'int32': int32, 'int': int32, 'int64': int64, 'long': int64,
           'float16': float16, 'half': float16, 'float32': float32, 'float': float32,
           'float64': float64, 'double': float64, 'complex64': complex64, 'cfloat': complex64,
           'complex128': complex128, 'cdouble': complex128}
if bfloat16 is not None:
    ALIASES['bfloat16'] = bfloat16

_default = [float32]


def get_default_dtype():
    """The dtype of tensors made from Python floats (float32 unless changed).

    >>> ember.get_default_dtype()
    ember.float32
    """
    return _default[0]


def default_complex():
    """The dtype of tensors made from Python complex numbers: complex64 when the default
    dtype is float32, complex128 when it is float64 (as torch)."""
    return get_default_dtype().to_complex()


def set_default_dtype(d):
    """Set the dtype used for Python floats: ``ember.float32`` or ``ember.float64``.

    >>> ember.set_default_dtype(ember.float64); ember.tensor(1.5).dtype
    ember.float64
    >>> ember.set_default_dtype(ember.float32)
    """
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f'set_default_dtype: only floating-point dtypes are allowed, got {d}')
    _default[0] = d


def as_dtype(d):
    """An ember dtype from an ember dtype, a NumPy dtype or a name such as ``'float32'``."""
    if isinstance(d, dtype):
        return d
    if isinstance(d, str) and d in ALIASES:
        return ALIASES[d]
    if d is bool:
        return bool_
    if d is int:
        return int64
    if d is float:
        return get_default_dtype()
    if d is complex:
        return default_complex()
    try:
        return _BY_NP[np.dtype(d)]
    except (TypeError, KeyError):
        raise TypeError(f'unsupported dtype {d!r}; ember has '
                        + ', '.join(x.name for x in ALL)) from None


def from_np(np_dtype):
    """The ember dtype of a NumPy (or CuPy) dtype."""
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        raise TypeError(f'unsupported array dtype {np_dtype}; ember has '
                        + ', '.join(x.name for x in ALL)) from None


def _promote_same_tier(dtypes):
    """Promote dtypes of one tier: the highest kind wins; within floats or ints, the widest.
    A complex result's parts are as wide as the widest float or complex part among them
    (complex64 with float64 is complex128, as torch)."""
    kind = max(d.kind for d in dtypes)
    if kind == 3:
        wide = any(d.np in (np.float64, np.complex128) for d in dtypes)
        return complex128 if wide else complex64
    same = [d for d in dtypes if d.kind == kind]
    out = same[0]
    for d in same[1:]:
        if {out.name, d.name} == {'float16', 'bfloat16'}:
            out = float32   # as torch: neither half type holds the other
        elif d is not out:
            out = _BY_NP[np.promote_types(out.np, d.np)]
    return out


def _scalar_kind(x):
    if isinstance(x, (bool, np.bool_)):
        return 0
    if isinstance(x, (int, np.integer)):
        return 1
    if isinstance(x, (float, np.floating)):
        return 2
    if isinstance(x, (complex, np.complexfloating)):
        return 3
    kind = np.asarray(x).dtype.kind if isinstance(x, (list, tuple)) else ''
    if kind and kind in 'biufc':   # nested numbers: the kind an array of them has
        return {'b': 0, 'i': 1, 'u': 1, 'f': 2, 'c': 3}[kind]
    # (None became nan and a list of ints a float tensor here, silently)
    raise TypeError(f'unsupported operand of type {type(x).__name__}: ember combines tensors '
                    f'with tensors, numbers, (nested) lists of numbers and arrays')


def result_type(*operands):
    """PyTorch's type promotion for tensors and Python scalars.

    Tensors with dimensions decide, unless a 0-d tensor or a scalar is of a higher kind
    (bool < integer < floating < complex): then a 0-d tensor's dtype, or for a Python float
    the default dtype, for a Python complex the default complex dtype and for a Python int
    int64, is taken. A complex of a higher tier meeting floats keeps their width (a float64
    tensor and a Python complex give complex128), as torch.

    >>> ember.result_type(ember.tensor([1, 2]), 2.5)
    ember.float32
    >>> ember.result_type(ember.tensor([1], dtype=ember.int8), ember.tensor(7))
    ember.int8
    >>> ember.result_type(ember.tensor([1.0], dtype=ember.float64), 1j)
    ember.complex128
    """
    dims, zeros, scalars = [], [], []
    for x in operands:
        if hasattr(x, 'dtype') and hasattr(x, 'ndim'):
            d = x.dtype if isinstance(x.dtype, dtype) else from_np(x.dtype)
            (dims if x.ndim else zeros).append(d)
        else:
            scalars.append(_scalar_kind(x))
    out = _promote_same_tier(dims) if dims else None
    if zeros:
        z = _promote_same_tier(zeros)
        if out is None or z.kind > out.kind:
            out = _lift(z, out)
    if scalars:
        k = max(scalars)
        if out is None or k > out.kind:
            out = _lift((bool_, int64, get_default_dtype(), default_complex())[k], out)
    return out


def _lift(higher, lower):
    """A complex dtype of a higher tier over a float one: complex at the float's width
    (torch's combine_categories); otherwise ``higher``."""
    if higher.kind == 3 and lower is not None and lower.kind == 2:
        return lower.to_complex()
    return higher


def check_fits(op, values, npdt):
    """torch's overflow check for Python numbers written into an integer dtype: NaN, inf or
    a value out of its range raises (a negative into an unsigned type wraps, as in torch)."""
    npdt = np.dtype(npdt)
    if npdt.kind not in 'iu':
        return
    a = np.asarray(values)
    if a.dtype.kind not in 'fiu' or not a.size:   # (complex into an integer: as NumPy)
        return
    info = np.iinfo(npdt)
    lo = -int(info.max) if info.min == 0 else int(info.min)
    if a.dtype.kind == 'f':
        with np.errstate(all='ignore'):
            bad = ~np.isfinite(a) | (a < lo) | (a > info.max)
    else:
        bad = (a < lo) | (a > info.max)
    if bad.any():
        raise RuntimeError(f'{op}: value {a[bad].flat[0]} cannot be converted to type '
                           f'{from_np(npdt)} without overflow')
