"""Anomaly detection (``ember.autograd.detect_anomaly``): each node made while it is on keeps
the stack of the forward call that made it, and the backward walk checks every gradient a
node returns; a NaN or an infinity raises, naming the node and the user's line of its forward.

PyTorch checks for NaN only; ember also stops at an infinity (``log(0)``'s gradient is
``1 / 0``), since an infinite gradient wrecks a step as surely (docs/differences.md).
Off, it costs the backward walk one flag read per backward and the forward nothing.
"""
import functools
import os
import traceback
import warnings

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))


class _Mode:
    on = False
    check_nan = True


def _remember(node, tensors, out):
    """An op hook: keep the forward's stack on the node (outside ember's own frames)."""
    node._forward_stack = _user_stack()


def _user_stack():
    """The calling stack without ember's frames (and NumPy's)."""
    return [fr for fr in traceback.extract_stack()[:-1]
            if not os.path.abspath(fr.filename).startswith(_HERE) and
            f'{os.sep}numpy{os.sep}' not in fr.filename]


def where(stack):
    """``file:line`` and the source line of the innermost frame of ``stack``, or ''."""
    if not stack:
        return ''
    fr = stack[-1]
    return f'{fr.filename}:{fr.lineno}' + (f' ({fr.line.strip()})' if fr.line else '')


def _set(on, check_nan):
    from .autograd import _State
    if on and not _Mode.on:
        _State.op_hooks.append(_remember)
    elif not on and _Mode.on:
        _State.op_hooks.remove(_remember)
    _Mode.on, _Mode.check_nan = on, check_nan
    _State.anomaly = on and check_nan


def check(node, grads):
    """Raise if a gradient ``node`` returned holds a NaN or an infinity."""
    for i, g in enumerate(grads):
        if g is None or not g.dtype.is_floating_point:
            continue
        a = g._data
        xp = np if isinstance(a, np.ndarray) else __import__('cupy')
        if bool(xp.isfinite(a).all()):
            continue
        kind = 'nan' if bool(xp.isnan(a).any()) else 'inf'
        stack = getattr(node, '_forward_stack', None)
        op = node.name[:-len('Backward')] if node.name.endswith('Backward') else node.name
        place = where(stack)
        if stack:
            warnings.warn(f'Error detected in {node.name}. Traceback of forward call that caused '
                          f'the error:\n' + ''.join(traceback.format_list(stack)),
                          RuntimeWarning, stacklevel=2)
        raise RuntimeError(
            f"Function '{node.name}' returned {kind} values in its {i}th output (the "
            f'backward of {op.lower()}' + (f', whose forward ran at {place}' if place else
                                           ', made before anomaly detection was on') + ')')


class detect_anomaly:
    """Find the op whose backward makes a NaN or an infinity (context manager or decorator).

    While on, each op remembers the stack of the forward call that made it (slow: for
    debugging only), and backward raises at the first gradient holding a NaN or an
    infinity, naming the op and the user's line where its forward ran.

    >>> x = ember.tensor([-1.0, 4.0], requires_grad=True)
    >>> with warnings.catch_warnings(record=True), ember.autograd.detect_anomaly():
    ...     try:
    ...         x.sqrt().sum().backward()
    ...     except RuntimeError as e:
    ...         print(str(e).split(' (')[0])
    Function 'SqrtBackward' returned nan values in its 0th output
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        warnings.warn('Anomaly Detection has been enabled. This mode will increase the runtime '
                      'and should only be enabled for debugging.', stacklevel=2)
        self.prev = _Mode.on, _Mode.check_nan
        _set(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        _set(*self.prev)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off: a plain call or a context manager (as torch's).

    >>> _ = ember.autograd.set_detect_anomaly(True); ember.autograd.is_anomaly_enabled()
    True
    >>> _ = ember.autograd.set_detect_anomaly(False); ember.autograd.is_anomaly_enabled()
    False
    """

    def __init__(self, mode, check_nan=True):
        self.prev = _Mode.on, _Mode.check_nan
        _set(bool(mode), bool(check_nan))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(*self.prev)


def is_anomaly_enabled():
    """Whether anomaly detection is on.

    >>> ember.autograd.is_anomaly_enabled()
    False
    """
    return _Mode.on


def is_anomaly_check_nan_enabled():
    """Whether anomaly detection checks gradients for NaN (and infinities).

    >>> ember.autograd.is_anomaly_check_nan_enabled()
    True
    """
    return _Mode.check_nan
