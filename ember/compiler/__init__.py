"""``ember.compile``: dynamic to static. See docs/compiler.md.

The first call of a compiled function runs it eagerly under capture (``capture.py``) and
records the NumPy program it ran: forward, the backward that ``loss.backward()`` ran, and the
optimizer's step as a host call. Later calls whose guards hold run that program alone: no
tensors, no autograd bookkeeping, the same array calls in the same order (so the same bits),
less what the passes removed. A call whose guards fail is captured again, up to
``recompile_limit`` programs; after that the function runs eagerly, with a warning naming the
guard. A capture that had to leave the graph (``.item()``, ``if tensor:``...) leaves that
function eager for those arguments; ``explain`` names each break and its line.
"""
import functools
import warnings

from .._tensor import Tensor
from . import capture as _capture
from .capture import ACTIVE, flatten_args
from .tracer import GraphBreak

__all__ = ['compile', 'explain', 'GraphBreak', 'CompiledFunction']

RECOMPILE_LIMIT = 8


class CompiledFunction:
    """What ``ember.compile(fn)`` returns: call it as ``fn``.

    >>> w = ember.tensor([2.0])
    >>> @ember.compile
    ... def f(x):
    ...     return (x * w).sum()
    >>> f(ember.ones(3)), f(ember.full((3,), 2.0))
    (tensor(6.), tensor(12.))
    >>> print(f.graph)
    def program(v0, v1):
        v2 = np.multiply(v0, v1)
        v3 = np.add.reduce(v2, axis=(0,), keepdims=False, dtype=None)
        v4 = np.asarray(v3)
        return v4
    """

    def __init__(self, fn, fullgraph=False, dynamic=False, mode=None, backend='ember'):
        if not callable(fn):
            raise TypeError(f'ember.compile: expected a function or a Module, got '
                            f'{type(fn).__name__}')
        if mode not in (None, 'default', 'reduce-overhead', 'max-autotune',
                        'max-autotune-no-cudagraphs'):
            raise ValueError(f"ember.compile: unknown mode {mode!r}; choose None, 'default', "
                             f"'reduce-overhead', 'max-autotune' or "
                             f"'max-autotune-no-cudagraphs'")
        if backend not in ('ember', 'eager', 'inductor'):
            raise ValueError(f"ember.compile: unknown backend {backend!r}; choose 'ember' "
                             f"('inductor' is taken as 'ember') or 'eager'")
        self.fn, self.fullgraph, self.dynamic, self.mode = fn, fullgraph, dynamic, mode
        self.eager = backend == 'eager'
        self.programs = {}        # argument signature -> [Program or None (eager)]
        self.recompiles = 0
        self.last = None
        self.given_up = None
        functools.update_wrapper(self, fn, updated=())

    def __getattr__(self, name):   # a compiled model is still the model: parameters(), eval()
        fn = self.__dict__.get('fn')
        if fn is None:
            raise AttributeError(name)
        return getattr(fn, name)

    @property
    def graph(self):
        """The graph of the program the last call ran (or captured)."""
        return None if self.last is None else self.last.graph

    def __get__(self, obj, objtype=None):   # a compiled method binds like a function
        return self if obj is None else functools.partial(self.__call__, obj)

    def __call__(self, *args, **kwargs):
        if self.eager or self.given_up or ACTIVE:   # (inside another capture: inlined)
            return self.fn(*args, **kwargs)
        if not kwargs and all(isinstance(a, Tensor) for a in args):   # the common call
            tensors = list(args)
            key = tuple((a._data.shape, a._data.dtype, type(a._data), a._requires_grad)
                        for a in args)
        else:
            arg_tensors, sig = flatten_args((args, kwargs))
            key = tuple(sig)
            tensors = [t for _, t in arg_tensors]
        if len(set(map(id, tensors))) != len(tensors):   # a tensor passed twice: by where
            key += (tuple(next(k for k, u in enumerate(tensors) if u is t)
                          for t in tensors),)
        programs = self.programs.get(key)
        failed = None
        if programs:
            for p in programs:
                if p is None:
                    return self.fn(*args, **kwargs)
                failed = p.failed_guard(tensors)
                if failed is None:
                    self.last = p
                    return p(tensors)
        if self.recompiles >= RECOMPILE_LIMIT:
            self.given_up = failed or 'the arguments changed (shape, dtype, requires_grad or ' \
                                      'a Python value)'
            warnings.warn(f'ember.compile: {getattr(self.fn, "__name__", "function")} was '
                          f'captured {RECOMPILE_LIMIT} times (recompile_limit); it runs eagerly '
                          f'from now on. The guard that kept failing: {self.given_up}',
                          stacklevel=2)
            return self.fn(*args, **kwargs)
        self.recompiles += 1
        result, program = _capture.capture(self.fn, args, kwargs, self.fullgraph, self.mode)
        self.last = program
        self.programs.setdefault(key, []).append(None if program.breaks else program)
        return result


def compile(model=None, *, fullgraph=False, dynamic=False, mode=None, backend='ember',
            options=None, disable=False):
    """Compile a function or a Module (``torch.compile``'s shape); usable as a decorator.

    >>> model = ember.nn.Linear(3, 1)
    >>> fast = ember.compile(model)
    >>> with ember.no_grad():
    ...     bool((fast(ember.ones(2, 3)) == model(ember.ones(2, 3))).all())
    True
    >>> len(list(fast.parameters()))   # the model's own attributes, through the wrapper
    2
    """
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, mode=mode,
                                 backend=backend, options=options, disable=disable)
    if disable:
        return model
    return CompiledFunction(model, fullgraph, dynamic, mode, backend)


class Explanation:
    """What ``explain`` found: the graphs, the graph breaks (reason and user line), guards."""

    def __init__(self, program):
        self.graph = program.graph
        self.breaks = program.breaks
        self.guards = [what for _, what in program.guards.checks]
        self.graph_count = 0 if program.breaks else 1
        self.graph_break_count = len(program.breaks)

    def __str__(self):
        lines = [f'graphs: {self.graph_count}, graph breaks: {self.graph_break_count}']
        for reason, where in self.breaks:
            lines.append(f'  break at {where}: {reason}')
        if not self.breaks:
            lines.append(f'  {len(self.graph.nodes)} calls; guards:')
            lines += [f'    {g}' for g in self.guards]
            lines.append(str(self.graph))
        return '\n'.join(lines)

    __repr__ = __str__


def explain(fn, *args, **kwargs):
    """Capture ``fn(*args, **kwargs)`` once (running it) and say what compile would do.

    >>> def f(x):
    ...     y = x * 2
    ...     if y.sum() > 0:
    ...         y = y + 1
    ...     return y
    >>> print(ember.compile.explain(f, ember.ones(2)))   # doctest: +ELLIPSIS
    graphs: 0, graph breaks: 1
      break at ...: __bool__() read the values
    """
    _, program = _capture.capture(fn, args, kwargs)
    return Explanation(program)


compile.explain = explain
