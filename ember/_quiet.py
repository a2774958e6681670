"""NumPy's floating-point warnings, off inside ember: the op door and the backward walk run
their array code under ``quiet_numpy`` (torch prints nothing for ``log(0)``)."""
import numpy as np

# torch prints nothing for log(0), 1 / 0, sqrt(-1), an overflow or a cast of nan; NumPy warns
# (RuntimeWarning) from inside ember. Ember's array code runs with NumPy's floating-point
# errors ignored, the user's own NumPy code keeps its settings. NumPy 2 keeps that state in a
# context variable: the op door sets a state made once (about 0.1 us an op, where np.errstate,
# which builds the state each time, costs about 0.9 us), the backward walk and an optimizer
# step set it once for all their array work (``quiet_numpy``).
try:
    from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj
    _QUIET = _make_extobj(all='ignore')
    _quiet_on, _quiet_off = _extobj_contextvar.set, _extobj_contextvar.reset
except (ImportError, AttributeError, TypeError):   # a NumPy without that context variable
    # (1.x, or a later 2.x that moved it): np.seterr, restored after (per process)
    _QUIET = 'ignore'

    def _quiet_on(mode):
        return np.seterr(all=mode)

    def _quiet_off(old):
        np.seterr(**old)


class quiet_numpy:
    """Run array code with NumPy's floating-point warnings off, as torch is silent
    (context manager; what every ember op does around its array code).

    >>> with ember.autograd.quiet_numpy():
    ...     np.log(np.zeros(1))
    array([-inf])
    """
    __slots__ = ('token',)

    def __enter__(self):
        self.token = _quiet_on(_QUIET)
        return self

    def __exit__(self, *exc):
        _quiet_off(self.token)
