"""Debugging tools: stop at the first op that makes a NaN (``watch_nan``) and record every op
with its shapes, dtypes, device and time (``trace``). Both listen at the op door
(``autograd._State.op_hooks``), which every ember op passes once (not the constructors:
``ember.ones`` makes an array, it runs no op); off, they cost nothing.
``ember.autograd.detect_anomaly`` finds the op whose *backward* goes wrong.

>>> with ember.debug.trace() as t:
...     y = (ember.ones(2, 3) * 2).sum()
>>> [e['op'] for e in t.events]
['mul', 'sum']
"""
import json
import sys
import time

import numpy as np

from .. import _anomaly
from ..autograd import _State, _timing, op_name

__all__ = ['NonFiniteError', 'trace', 'watch_nan', 'compare_with_torch', 'main']


def _device(arr):
    if isinstance(arr, np.ndarray):
        return 'cpu'
    dev = getattr(arr, 'device', None)
    return f'cuda:{getattr(dev, "id", 0)}' if dev is not None else type(arr).__name__


class NonFiniteError(RuntimeError):
    """Raised by ``watch_nan`` at the first op whose result holds a NaN (or an infinity).

    >>> issubclass(ember.debug.NonFiniteError, RuntimeError)
    True
    """


class watch_nan:
    """Stop at the first op whose result holds a NaN (and, with ``inf=True``, the default,
    an infinity): raises ``NonFiniteError`` naming the op, its inputs and the user's line.

    >>> x = ember.tensor([1.0, -1.0])
    >>> with ember.debug.watch_nan():
    ...     y = x * 2
    ...     try:
    ...         z = y.sqrt()
    ...     except ember.debug.NonFiniteError as e:
    ...         print(str(e).split(':')[0])
    sqrt made nan
    """

    def __init__(self, inf=True):
        self.inf = inf

    def _hook(self, node, tensors, out):
        if out is None or out.dtype.kind not in 'fc':
            return
        xp = np if isinstance(out, np.ndarray) else __import__('cupy')
        bad = xp.isnan(out) if not self.inf else ~xp.isfinite(out)
        if not bool(bad.any()):
            return
        kind = 'nan' if bool(xp.isnan(out).any()) else 'inf'
        inputs = ', '.join(f'{tuple(t.shape)} {t.dtype.name}' for t in tensors if t is not None)
        already = [t for t in tensors if t is not None and t.dtype.is_floating_point and
                   not bool(xp.isfinite(t._data).all())]
        place = _anomaly.where(_anomaly._user_stack())
        raise NonFiniteError(
            f'{op_name(node)} made {kind}: {int(bad.sum())} of {out.size} elements of its '
            f'{tuple(out.shape)} result, from inputs '
            f'[{inputs}]' + (' (an input already held NaN or inf)' if already else '') +
            (f', at {place}' if place else ''))

    def __enter__(self):
        _State.op_hooks.append(self._hook)
        return self

    def __exit__(self, *exc):
        _State.op_hooks.remove(self._hook)


class trace:
    """Record each op run inside the block: its name (ember's op, as backward names it:
    ``piecewiselinear`` runs ``relu``, ``hardtanh``...), input and output shapes and dtypes,
    device, wall time in ms and (``stack=True``) the user's line. The result prints as a table
    (``print(t)``), filters (``t.filter(op='matmul')``), sums by op (``t.totals()``) and saves
    as JSON (``t.save(path)``).

    >>> with ember.debug.trace() as t:
    ...     a = ember.ones(4, 8) @ ember.ones(8, 2)
    >>> t.events[-1]['op'], t.events[-1]['output']
    ('matmul', [4, 2])
    >>> len(t.filter(op='mul')), len(t.filter(op=('matmul', 'mul')))
    (0, 1)
    """

    def __init__(self, stack=False, events=None):
        self.stack = stack
        self.events = [] if events is None else events
        self._last = None

    def _hook(self, node, tensors, out):
        now = time.perf_counter()
        start = _State.op_start if _State.op_start is not None else self._last or now
        self.events.append({
            'op': op_name(node),
            'inputs': [list(t.shape) for t in tensors if t is not None],
            'dtypes': [t.dtype.name for t in tensors if t is not None],
            'output': None if out is None else list(out.shape),
            'dtype': None if out is None else str(out.dtype),
            'device': None if out is None else _device(out),
            'ms': (now - start) * 1e3,
            **({'where': _anomaly.where(_anomaly._user_stack())} if self.stack else {})})
        self._last = time.perf_counter()

    def __enter__(self):
        _State.op_hooks.append(self._hook)
        _timing(True)
        self._last = time.perf_counter()
        return self

    def __exit__(self, *exc):
        _State.op_hooks.remove(self._hook)
        _timing(False)

    def __len__(self):
        return len(self.events)

    def filter(self, op=None, min_ms=0.0, device=None):
        """The events of op ``op`` (a name or a tuple of names), taking ``min_ms`` or more,
        on ``device`` ('cpu', 'cuda:0'), as a new trace."""
        names = (op,) if isinstance(op, str) else op
        return trace(self.stack, [e for e in self.events
                                  if (names is None or e['op'] in names) and
                                  e['ms'] >= min_ms and (device is None or e['device'] == device)])

    def totals(self):
        """{op: (calls, total ms)}, the most time first."""
        out = {}
        for e in self.events:
            n, ms = out.get(e['op'], (0, 0.0))
            out[e['op']] = (n + 1, ms + e['ms'])
        return dict(sorted(out.items(), key=lambda kv: -kv[1][1]))

    def save(self, path):
        """Write the events as JSON (a list of objects, one per op)."""
        with open(path, 'w') as f:
            json.dump(self.events, f, indent=1)

    def __str__(self):
        rows = [('op', 'inputs', 'output', 'dtype', 'device', 'ms')] + [
            (e['op'], ' '.join(str(tuple(s)) for s in e['inputs']),
             str(tuple(e['output'])) if e['output'] is not None else '-', e['dtype'] or '-',
             e['device'] or '-', f"{e['ms']:.3f}") for e in self.events]
        widths = [max(len(r[k]) for r in rows) for k in range(6)]
        lines = ['  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, '-' * len(lines[0]))
        total = sum(e['ms'] for e in self.events)
        return '\n'.join(lines + [f'{len(self.events)} ops, {total:.3f} ms'])


from ..debug_compare import compare_with_torch  # noqa: E402  (ember.debug.compare_with_torch)


def main(argv=None):
    """The command ``python -m ember.debug compare script.py [--rtol R --atol A --train]``:
    ``compare_with_torch`` on the script's ``build(fw)`` and ``inputs(fw)`` (as
    ``python -m ember.debug_compare``); 0 when ember and PyTorch agree, 1 when they differ,
    2 for a wrong command.

    >>> main([])
    usage: python -m ember.debug compare script.py [--rtol R] [--atol A] [--train]
    2
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] != 'compare':
        print('usage: python -m ember.debug compare script.py [--rtol R] [--atol A] [--train]')
        return 2
    from ..debug_compare import main as compare
    return compare(argv[1:])
