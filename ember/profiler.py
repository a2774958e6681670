"""``torch.profiler``'s shape: ``profile`` records each op (at the op door), each backward
node (in the backward walk), ``record_function`` ranges and the optimizer's ``step`` and
``zero_grad``; ``key_averages().table()`` sums them by name; ``export_chrome_trace`` writes
the Trace Event JSON that Perfetto and ``chrome://tracing`` open.

Times are the host's wall clock (``time.perf_counter``). On the GPU an op's time is its
launch (CuPy runs asynchronously): GPU kernel times are not measured yet (docs/tools.md).
Off, it costs nothing per op: while one is open, a timed ``Op.apply`` is swapped in.

>>> x = ember.randn(64, 32, requires_grad=True)
>>> with ember.profiler.profile() as prof:
...     with ember.profiler.record_function('model'):
...         y = (x @ x.T).relu().sum()
...     y.backward()
>>> names = [e.name for e in prof.events() if e.kind != 'backward']
>>> names[:3], names[-2:]          # (add: the sum of x's two gradients)
(['model', 'ember::permute', 'ember::matmul'], ['autograd::backward', 'ember::add'])
>>> 'ember::matmul' in prof.key_averages().table(sort_by='cpu_time_total')
True
"""
import enum
import functools
import json
import os
import threading
import time

from .autograd import _State, _timing, op_name

__all__ = ['ProfilerAction', 'ProfilerActivity', 'profile', 'record_function', 'schedule']

_active = []        # the profilers recording now


class ProfilerActivity(enum.Enum):
    """What to profile: ``CPU`` (ops' host time) and ``CUDA`` (accepted; GPU kernel times are
    not measured yet, see the module's notes).

    >>> ember.profiler.ProfilerActivity.CPU.name
    'CPU'
    """
    CPU = 'cpu'
    CUDA = 'cuda'


class ProfilerAction(enum.Enum):
    """What a ``schedule`` asks of a step: ``NONE``, ``WARMUP``, ``RECORD``,
    ``RECORD_AND_SAVE`` (record, then hand the trace to ``on_trace_ready``).

    >>> ember.profiler.ProfilerAction.RECORD_AND_SAVE.name
    'RECORD_AND_SAVE'
    """
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0):
    """torch's schedule: skip ``skip_first`` steps, then cycles of ``wait`` idle steps,
    ``warmup`` steps and ``active`` recorded ones (the last of them saves), ``repeat``
    cycles (0: for ever).

    >>> s = ember.profiler.schedule(wait=1, warmup=1, active=2)
    >>> [s(k).name for k in range(4)]
    ['NONE', 'WARMUP', 'RECORD', 'RECORD_AND_SAVE']
    """
    if min(wait, warmup, repeat, skip_first) < 0 or active <= 0:
        raise ValueError(f'schedule: wait, warmup, repeat and skip_first must be >= 0 and '
                         f'active > 0, got wait={wait}, warmup={warmup}, active={active}, '
                         f'repeat={repeat}, skip_first={skip_first}')

    def action(step):
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        k = step % cycle
        if k < wait:
            return ProfilerAction.NONE
        if k < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if k < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


class FunctionEvent:
    """One recorded call: ``name``, ``start``/``end`` (seconds, ``perf_counter``),
    ``input_shapes``, ``cpu_memory_usage`` (bytes of its result), ``kind`` ('op',
    'backward', 'range'), its ``self_cpu_time_total`` (microseconds: less its children's)
    and ``cpu_time_total``.

    >>> e = FunctionEvent('ember::mul', 1.0, 1.000002, [[2]], 8, 'op')
    >>> round(e.cpu_time_total, 3)
    2.0
    """

    def __init__(self, name, start, end, input_shapes=None, memory=0, kind='op', tid=0):
        self.name, self.start, self.end = name, start, end
        self.input_shapes, self.cpu_memory_usage = input_shapes or [], memory
        self.kind, self.tid = kind, tid
        self.self_cpu_time_total = self.cpu_time_total
        self.self_cpu_memory_usage = memory

    @property
    def cpu_time_total(self):
        return (self.end - self.start) * 1e6

    key = property(lambda self: self.name)


class FunctionEventAvg:
    """The events of one name (and, grouped by shape, one ``input_shapes``) summed:
    ``count``, ``cpu_time_total``, ``self_cpu_time_total``, ``cpu_time`` (mean, us),
    ``cpu_memory_usage``, ``self_cpu_memory_usage``.

    >>> a = FunctionEventAvg('ember::mul', [])
    >>> a.count, a.cpu_time
    (0, 0.0)
    """

    def __init__(self, key, input_shapes):
        self.key, self.input_shapes = key, input_shapes
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0

    def add(self, e):
        self.count += 1
        self.cpu_time_total += e.cpu_time_total
        self.self_cpu_time_total += e.self_cpu_time_total
        self.cpu_memory_usage += e.cpu_memory_usage
        self.self_cpu_memory_usage += e.self_cpu_memory_usage

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0


def _us(t):
    return f'{t / 1e3:.3f}ms' if t >= 1e3 else f'{t:.3f}us'


def _bytes(b):
    for unit, size in (('Gb', 1 << 30), ('Mb', 1 << 20), ('Kb', 1 << 10)):
        if abs(b) >= size:
            return f'{b / size:.2f} {unit}'
    return f'{b} b'


class EventList(list):
    """A list of events (or of their averages) that prints as torch's table.

    >>> len(ember.profiler.EventList())
    0
    """

    def table(self, sort_by='self_cpu_time_total', row_limit=100, max_name_column_width=55):
        """torch's table: name, self and total CPU time (and share of all), mean, memory
        when recorded, calls, and input shapes when grouped by them."""
        rows = sorted(self, key=lambda e: -getattr(e, sort_by)) if sort_by else list(self)
        total = sum(e.self_cpu_time_total for e in self) or 1.0
        memory = any(e.cpu_memory_usage for e in self)
        shapes = any(e.input_shapes for e in self) and \
            all(isinstance(e, FunctionEventAvg) for e in self)
        head = ['Name', 'Self CPU %', 'Self CPU', 'CPU total %', 'CPU total', 'CPU time avg'] + \
            (['CPU Mem', 'Self CPU Mem'] if memory else []) + ['# of Calls'] + \
            (['Input Shapes'] if shapes else [])
        body = []
        for e in rows[:row_limit]:
            count = getattr(e, 'count', 1)
            mean = e.cpu_time_total / count if count else 0.0
            body.append([e.key[:max_name_column_width],
                         f'{100 * e.self_cpu_time_total / total:.2f}%',
                         _us(e.self_cpu_time_total),
                         f'{100 * e.cpu_time_total / total:.2f}%', _us(e.cpu_time_total),
                         _us(mean)] +
                        ([_bytes(e.cpu_memory_usage), _bytes(e.self_cpu_memory_usage)]
                         if memory else []) + [str(count)] +
                        ([str(e.input_shapes)] if shapes else []))
        widths = [max(len(r[k]) for r in [head] + body) for k in range(len(head))]
        rule = '  '.join('-' * w for w in widths)
        fmt = '  '.join(f'{{:>{w}}}' if k else f'{{:<{w}}}' for k, w in enumerate(widths))
        return '\n'.join([rule, fmt.format(*head), rule] + [fmt.format(*r) for r in body] +
                         [rule, f'Self CPU time total: {_us(total)}'])

    def __str__(self):
        return self.table()


class record_function:
    """Name a range of code in the profile (context manager or decorator), as torch's.

    >>> with ember.profiler.profile() as prof:
    ...     with ember.profiler.record_function('data'):
    ...         pass
    >>> [e.name for e in prof.events()]
    ['data']
    """

    def __init__(self, name, args=None):
        self.name, self.args = name, args

    def __enter__(self):
        self.start = time.perf_counter() if _active else None
        return self

    def __exit__(self, *exc):
        if self.start is not None:
            end = time.perf_counter()
            for p in _active:
                p._add(FunctionEvent(self.name, self.start, end, kind='range'))

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)
        return wrapper


class profile:
    """Record ember's ops, backward nodes and ``record_function`` ranges, as
    ``torch.profiler.profile``: a context manager (or ``start()``/``stop()``), ``step()`` for
    a ``schedule``, ``on_trace_ready`` called with the profiler when a cycle's last active
    step ends, ``record_shapes``, ``profile_memory`` (bytes of each op's result).

    >>> with ember.profiler.profile(record_shapes=True) as prof:
    ...     ember.ones(3, 4) @ ember.ones(4, 5)
    tensor(...)
    >>> [(e.key, e.input_shapes) for e in prof.key_averages(group_by_input_shape=True)]
    [('ember::matmul', [[3, 4], [4, 5]])]
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False,
                 with_flops=False, with_modules=False):
        self.activities = set(activities or [ProfilerActivity.CPU])
        self.schedule, self.on_trace_ready = schedule, on_trace_ready
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.step_num, self._events, self._saved, self._on = 0, [], [], False

    # ------------------------------------------------------------ recording
    def _op(self, node, tensors, out):
        end = time.perf_counter()
        start = _State.op_start if _State.op_start is not None else end
        shapes = [list(t.shape) for t in tensors if t is not None] if self.record_shapes \
            else None
        memory = int(out.nbytes) if self.profile_memory and out is not None else 0
        self._add(FunctionEvent('ember::' + op_name(node), start, end, shapes, memory))

    def _node(self, name, start, end):
        self._add(FunctionEvent(name, start, end, kind='backward'))

    def _add(self, event):
        if self._recording():
            event.tid = threading.get_native_id()
            self._events.append(event)

    def _recording(self):
        return self.schedule is None or \
            self.schedule(self.step_num) in (ProfilerAction.RECORD,
                                             ProfilerAction.RECORD_AND_SAVE)

    def start(self):
        """Start listening (``__enter__`` calls it)."""
        if not self._on:
            self._on = True
            _active.append(self)
            _State.op_hooks.append(self._op)
            _State.node_hooks.append(self._node)
            _timing(True)
        return self

    def stop(self):
        """Stop listening (``__exit__`` calls it); without a schedule, hand the trace to
        ``on_trace_ready``."""
        if self._on:
            self._on = False
            _active.remove(self)
            _State.op_hooks.remove(self._op)
            _State.node_hooks.remove(self._node)
            _timing(False)
            if self.schedule is None and self.on_trace_ready is not None:
                self.on_trace_ready(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def step(self):
        """End a training step: a ``schedule`` moves on (and after the last active step of a
        cycle, ``on_trace_ready`` gets the trace and the next cycle starts empty)."""
        if self.schedule is not None and \
                self.schedule(self.step_num) is ProfilerAction.RECORD_AND_SAVE:
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
            self._saved, self._events = self._events, []
        self.step_num += 1

    # ------------------------------------------------------------ results
    def events(self):
        """The recorded events in start order, each with its self time (less the events
        nested in it)."""
        events = sorted(self._events or self._saved,
                        key=lambda e: (e.start, -e.end))
        stack = []
        for e in events:
            e.self_cpu_time_total = e.cpu_time_total
            e.self_cpu_memory_usage = e.cpu_memory_usage
            while stack and stack[-1].end <= e.start:
                stack.pop()
            if stack and e.end <= stack[-1].end:
                stack[-1].self_cpu_time_total -= e.cpu_time_total
                stack[-1].cpu_memory_usage += e.cpu_memory_usage
            stack.append(e)
        return EventList(events)

    def key_averages(self, group_by_input_shape=False):
        """The events summed by name (and by input shapes): an ``EventList`` whose
        ``table(sort_by=...)`` prints them."""
        groups = {}
        for e in self.events():
            key = (e.name, str(e.input_shapes) if group_by_input_shape else '')
            if key not in groups:
                groups[key] = FunctionEventAvg(e.name, e.input_shapes
                                               if group_by_input_shape else [])
            groups[key].add(e)
        return EventList(groups.values())

    def export_chrome_trace(self, path):
        """Write the events as Trace Event JSON (complete events, microseconds), which
        Perfetto (ui.perfetto.dev) and ``chrome://tracing`` open."""
        events = self.events()
        t0 = events[0].start if events else 0.0
        trace = {'traceEvents': [
            {'name': e.name, 'cat': {'op': 'cpu_op', 'backward': 'cpu_op',
                                     'range': 'user_annotation'}[e.kind],
             'ph': 'X', 'ts': round((e.start - t0) * 1e6, 3),
             'dur': round(e.cpu_time_total, 3), 'pid': os.getpid(), 'tid': e.tid,
             'args': {'Input Dims': e.input_shapes, 'Memory': e.cpu_memory_usage}}
            for e in events], 'displayTimeUnit': 'ms'}
        with open(path, 'w') as f:
            json.dump(trace, f)
