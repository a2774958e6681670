"""``ember.finfo`` and ``ember.iinfo``: the limits of a dtype, with torch's fields."""
import numpy as np

from ._dtype import dtype as _dtype, get_default_dtype


def _limits(np_dtype):
    if np_dtype.name == 'bfloat16':   # NumPy's finfo does not know ml_dtypes' types
        import ml_dtypes
        return ml_dtypes.finfo(np_dtype)
    return np.finfo(np_dtype)


class finfo:
    """The limits of a floating dtype (the default dtype when none is given): ``bits``,
    ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``), ``resolution`` and ``dtype``
    (its name), as Python numbers, as ``torch.finfo``; a complex dtype gives its parts'.

    >>> ember.finfo(ember.float16).max, ember.finfo(ember.float16).eps
    (65504.0, 0.0009765625)
    >>> ember.finfo(ember.complex128).dtype
    'float64'
    >>> ember.finfo().dtype
    'float32'
    """

    def __init__(self, type=None):
        dt = get_default_dtype() if type is None else type
        if isinstance(dt, _dtype) and dt.is_complex:
            dt = dt.to_real()
        if not isinstance(dt, _dtype) or not dt.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use "
                            "torch.iinfo to handle 'torch.finfo'")
        f = _limits(dt.np)
        self.bits, self.dtype = dt.itemsize * 8, dt.name
        self.eps, self.max, self.min = float(f.eps), float(f.max), float(f.min)
        self.tiny = self.smallest_normal = float(f.smallest_normal)
        self.resolution = 10.0 ** -int(f.precision)   # (a float32 1e-6 is not 1e-6)

    def __eq__(self, other):
        return isinstance(other, finfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(('finfo', self.dtype))

    def __repr__(self):
        return (f'finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, '
                f'eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, '
                f'tiny={self.tiny:g}, dtype={self.dtype})')


class iinfo:
    """The limits of an integer dtype: ``bits``, ``max``, ``min`` (Python ints) and ``dtype``
    (its name), as ``torch.iinfo``.

    >>> ember.iinfo(ember.int8).min, ember.iinfo(ember.uint8).max, ember.iinfo(ember.int32).bits
    (-128, 255, 32)
    """

    def __init__(self, type):
        if not isinstance(type, _dtype) or type.is_floating_point or type.kind == 0:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo "
                            "to handle 'torch.iinfo'")
        i = np.iinfo(type.np)
        self.bits, self.dtype, self.max, self.min = type.itemsize * 8, type.name, int(i.max), \
            int(i.min)

    def __eq__(self, other):
        return isinstance(other, iinfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(('iinfo', self.dtype))

    def __repr__(self):
        return f'iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})'
