"""``ember.set_printoptions``: how tensors print (read by ``Tensor.__repr__``), and the
formatting of float and complex elements as torch's."""
import sys

import numpy as np

_PROFILES = {'default': dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             'short': dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             'full': dict(precision=4, threshold=sys.maxsize, edgeitems=3, linewidth=80)}
OPTIONS = dict(_PROFILES['default'], sci_mode=None)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print, as ``torch.set_printoptions``: ``precision`` (digits after the
    point), ``threshold`` (more elements than this are summarised with ``...``), ``edgeitems``
    (elements shown at each end then), ``linewidth`` (characters a line), ``profile``
    (``'default'``, ``'short'`` or ``'full'``: all four at once) and ``sci_mode`` (True:
    always scientific notation, False: never, None: when the values call for it).

    >>> ember.set_printoptions(precision=2)
    >>> ember.tensor([1.23456, 2.5])
    tensor([1.23, 2.50])
    >>> ember.set_printoptions(profile='default')
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be 'default', 'short' or 'full', "
                             f"got {profile!r}")
        OPTIONS.update(_PROFILES[profile])
    for name, value in (('precision', precision), ('threshold', threshold),
                        ('edgeitems', edgeitems), ('linewidth', linewidth)):
        if value is not None:   # (NumPy takes no inf: the largest int says the same)
            OPTIONS[name] = min(value, sys.maxsize) if name == 'threshold' else int(value)
    OPTIONS['sci_mode'] = sci_mode


def formatter(arr, p, sci):
    """A function formatting each element of the float or complex array ``arr`` as torch
    does: every element at one width, in one style (whole numbers as ``2.``, fixed point with
    ``p`` digits, or scientific where the values call for it or ``sci`` says so). A complex
    element is its real part at the real parts' width, then its signed imaginary part and
    ``j``, each part styled by its own values (``1.0000+2.j``)."""
    if arr.dtype.kind == 'c':
        re, im = _one(arr.real, p, sci), _one(arr.imag, p, sci)
        width = _width(re, arr.real)

        def both(v):
            i = im(v.imag)
            return re(v.real).rjust(width) + ('' if i[0] in '+-' else '+') + i + 'j'
        return both
    one = _one(arr, p, sci)
    width = _width(one, arr)
    return lambda v: one(v).rjust(width)


def _width(one, arr):
    """The width torch right-aligns to: that of the widest finite nonzero value (1 if none;
    nan, inf and 0 may stand out of it)."""
    a = arr[np.isfinite(arr) & (arr != 0)]
    return max((len(one(v)) for v in a.flat), default=1)


def _one(arr, p, sci):
    finite = arr[np.isfinite(arr)].astype(np.float64)   # (compared as torch, in double)
    whole = finite.size == 0 or bool(np.all(finite == np.round(finite)))
    big = finite.size and (float(np.abs(finite).max()) >= 1e8 or   # (1e8 > float16)
                           (np.abs(finite[finite != 0]).min() < 1e-4
                            if np.any(finite != 0) else False))
    big = big if sci is None else sci
    if whole and not big:
        return lambda v: f'{v:.0f}.' if np.isfinite(v) else str(v)
    if big:
        return lambda v: f'{v:.{p}e}'
    return lambda v: f'{v:.{p}f}' if np.isfinite(v) else str(v)
