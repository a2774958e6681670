"""Automatic differentiation: the graph, the one door every op goes through, the backward walk.

Every differentiable operation is a ``Node`` subclass: internal ops subclass ``Op`` (forward on
arrays, backward in ember ops), user code subclasses ``Function`` (PyTorch's shape). Both record
themselves through ``_record``; the backward walk (``_run_backward``) is iterative, runs nodes
in topological order, reduces broadcast gradients in one place (``_fit``) and frees saved
tensors afterwards unless ``retain_graph=True``.
"""
import functools
import time

import numpy as np

from . import _anomaly, _leak, _tensor
from ._anomaly import (detect_anomaly, is_anomaly_check_nan_enabled,  # noqa: F401
                       is_anomaly_enabled, set_detect_anomaly)
from ._quiet import _QUIET, _quiet_off, _quiet_on, quiet_numpy  # noqa: F401
from .backend import array_device, namespace

Tensor = _tensor.Tensor


class _State:
    grad_enabled = True
    op_hooks = []          # callables (node, inputs, output) run after each op
    anomaly = False        # detect_anomaly with check_nan: backward checks each gradient
    timed = 0              # open traces and profilers: each op's start time is kept,
    op_start = None        # and each backward node's time goes to the node hooks
    node_hooks = []        # callables (name, start, end) for each backward node while timed
    post_hooks = False     # a post-accumulate-grad hook was ever registered (DDP)



FREED = ('Trying to backward through the graph a second time (or directly access saved tensors '
         'after they have already been freed). Saved intermediate values of the graph are freed '
         'when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to '
         'backward through the graph a second time or if you need to access saved tensors after '
         'calling backward.')


# ---------------------------------------------------------------- grad mode

class _GradMode:
    """Base of the grad-mode switches: each is a context manager and a decorator."""
    mode = True

    def __enter__(self):
        self.prev, _State.grad_enabled = _State.grad_enabled, self.mode
        return self

    def __exit__(self, *exc):
        _State.grad_enabled = self.prev

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev, _State.grad_enabled = _State.grad_enabled, mode
            try:
                return fn(*args, **kwargs)
            finally:
                _State.grad_enabled = prev
        return wrapper


class no_grad(_GradMode):
    """Run without recording gradients (context manager or decorator).

    >>> x = ember.ones(2, requires_grad=True)
    >>> with ember.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """
    mode = False


class enable_grad(_GradMode):
    """Record gradients again inside a ``no_grad`` block (context manager or decorator).

    >>> x = ember.ones(2, requires_grad=True)
    >>> with ember.no_grad():
    ...     with ember.enable_grad():
    ...         (x * 2).requires_grad
    True
    """
    mode = True


class inference_mode(_GradMode):
    """Like ``no_grad`` (ember has no separate inference tensors; this is the documented
    difference from PyTorch). ``inference_mode(False)`` records as usual.

    >>> with ember.inference_mode():
    ...     ember.ones(2, requires_grad=True).exp().requires_grad
    False
    """

    def __init__(self, mode=True):
        self.mode = not mode


class set_grad_enabled(_GradMode):
    """Turn gradient recording on or off: a plain call, a context manager or a decorator.

    >>> x = ember.ones(2, requires_grad=True)
    >>> with ember.set_grad_enabled(False):
    ...     (x * 2).requires_grad
    False
    """

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self.prev, _State.grad_enabled = _State.grad_enabled, self.mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        _State.grad_enabled = self.prev
        return _GradMode.__call__(self, fn)


def is_grad_enabled():
    """True when operations are being recorded for backward.

    >>> ember.is_grad_enabled()
    True
    """
    return _State.grad_enabled


# ---------------------------------------------------------------- graph nodes

def _edge(t):
    """Where the gradient of tensor ``t`` goes: (node or leaf, output index, shape, dtype)."""
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr, t._data.shape, t._data.dtype)
    if t._requires_grad:
        return (t, 0, t._data.shape, t._data.dtype)
    return None


class Node:
    """A recorded operation: what backward calls, and the edges to its inputs. A tensor made
    by a recorded op holds its node as ``grad_fn``.

    >>> x = ember.ones(2, requires_grad=True)
    >>> isinstance((x * 2).grad_fn, ember.autograd.Node)
    True
    """
    next_edges: tuple = ()
    _saved: tuple = ()
    _freed = False
    _pre_hooks = None      # {output_nr: [hook]}: tensor hooks of non-leaf outputs
    n_outputs = 1

    @property
    def name(self):
        """The node's name, as printed: the op's class name and ``Backward``.

        >>> (ember.ones(1, requires_grad=True) * 2).grad_fn.name
        'MulBackward'
        """
        return type(self).__name__ + 'Backward'

    def __repr__(self):
        return f'<{self.name}>'

    def needs(self, i):
        """Whether input ``i`` wants a gradient (so backward can skip the others)."""
        return self.next_edges[i] is not None

    @property
    def needs_input_grad(self):
        """For each input, whether it wants a gradient.

        >>> x, y = ember.ones(2, requires_grad=True), ember.ones(2)
        >>> (x * y).grad_fn.needs_input_grad
        (True, False)
        """
        return tuple(e is not None for e in self.next_edges)

    @property
    def next_functions(self):
        """``(node, output index)`` for each input, as torch's: the node that made it, an
        ``AccumulateGrad`` for a leaf that requires grad, None for an input without one.

        >>> x, y = ember.ones(2, requires_grad=True), ember.ones(2)
        >>> (x * y).grad_fn.next_functions
        ((<AccumulateGrad>, 0), (None, 0))
        """
        return tuple((None if e is None else e[0] if isinstance(e[0], Node)
                      else _LeafView(e[0]), 0 if e is None else e[1]) for e in self.next_edges)

    def _check_saved(self, pairs):
        if self._freed:
            raise RuntimeError(FREED)
        for t, version in pairs:
            if t._version[0] != version:
                raise RuntimeError(
                    f'one of the variables needed for gradient computation has been modified by '
                    f'an inplace operation: [{self.name}] {getattr(t, "what", "a tensor")} of '
                    f'shape {tuple(t.shape)} and dtype {t.dtype} is at version {t._version[0]}; '
                    f'expected version {version} instead. Hint: do the in-place operation out '
                    f'of place (x = x + y, not x += y), or clone the tensor before changing it.')

    def release(self):
        """Free what the node saved for backward (``backward()`` does it unless
        ``retain_graph=True``); a second backward through it is then an error.

        >>> x = ember.ones(2, requires_grad=True); y = (x * x).sum()
        >>> y.backward(); y.backward()
        Traceback (most recent call last):
        ...
        RuntimeError: Trying to backward through the graph a second time ...
        """
        self._saved = ()
        self._freed = True

    def register_prehook(self, output_nr, hook):
        """Call ``hook(grad)`` on the gradient of output ``output_nr`` before the node runs;
        a returned tensor replaces it (``Tensor.register_hook`` of a non-leaf uses this).

        >>> x = ember.ones(2, requires_grad=True); y = x * 2
        >>> h = y.grad_fn.register_prehook(0, lambda g: g * 10)
        >>> y.sum().backward(); x.grad
        tensor([20., 20.])
        """
        if self._pre_hooks is None:
            self._pre_hooks = {}
        self._pre_hooks.setdefault(output_nr, []).append(hook)
        return _tensor.RemovableHandle(self._pre_hooks[output_nr], hook)


def op_name(node):
    """An op's name as the debugger, the profiler and the graphs show it: ``Node.name``
    without ``Backward``, lower case.

    >>> ember.autograd.op_name((ember.ones(1, requires_grad=True) * 2).grad_fn)
    'mul'
    """
    name = getattr(node, 'name', type(node).__name__)
    return (name[:-len('Backward')] if name.endswith('Backward') else name).lower()


class _LeafView:
    """What ``next_functions`` shows for a leaf: PyTorch's AccumulateGrad."""

    def __init__(self, t):
        self.variable = t

    def __repr__(self):
        return '<AccumulateGrad>'


def _run_op_hooks(node, tensors, out):
    """The op hooks (the debugger's, the profiler's), then the op's start time is spent."""
    for h in _State.op_hooks:
        h(node, tensors, out)
    _State.op_start = None


def _record(node, tensors, out):
    """The one door: attach ``node`` to the graph if grad mode is on and an input needs grad.

    ``tensors`` are the node's inputs in order (non-tensors as None); ``out`` is the result
    array. Returns the output Tensor.
    """
    if _State.op_hooks:
        _run_op_hooks(node, tensors, out)
    if not _State.grad_enabled:
        return Tensor._make(out)
    edges = []
    for t in tensors:   # _edge, inlined: this runs for every input of every op
        if t is None:
            edges.append(None)
        elif t.grad_fn is not None:
            edges.append((t.grad_fn, t._output_nr, t._data.shape, t._data.dtype))
        elif t._requires_grad:
            edges.append((t, 0, t._data.shape, t._data.dtype))
        else:
            edges.append(None)
    if not any(edges):
        return Tensor._make(out)
    node.next_edges = edges
    return Tensor._make(out, node)


class Op(Node):
    """Base of ember's own ops: ``forward`` on arrays (via ``ctx.xp``), ``backward`` in ember ops.

    Class attributes say what backward needs: ``save`` (indices of inputs to keep) and
    ``save_output``. ``ctx.saved_tensors`` gives them back, checked against in-place changes;
    ``save_only_for`` drops an input that only another input's gradient reads when that
    gradient is not wanted (its place in ``saved_tensors`` then holds a stand-in).
    A view op sets ``is_view`` so its output shares the input's version counter.

    >>> class Double(ember.autograd.Op):
    ...     def forward(ctx, a):
    ...         return a * 2
    ...     def backward(ctx, g):
    ...         return g * 2
    >>> x = ember.ones(2, requires_grad=True); Double.apply(x).sum().backward(); x.grad
    tensor([2., 2.])
    """
    save: tuple[int, ...] = ()
    save_output = False
    save_only_for = None   # {i: j}: keep input i only when input j wants a gradient
    is_view = False
    differentiable = True
    complex_ok = False     # whether the op takes complex inputs (the door refuses them else)

    @classmethod
    def apply(cls, *tensors, **params):
        ctx = cls.__new__(cls)
        try:
            arrays = [t._data for t in tensors]
        except AttributeError:
            raise _argument_error(cls, tensors) from None
        dev = type(arrays[0])
        for a in arrays:
            if type(a) is not dev:
                raise _device_error(cls.__name__.lower(), tensors)
            if a.dtype in _COMPLEX and not cls.complex_ok:   # (a set: half a .kind test)
                raise _complex_error(cls, tensors)
        ctx.xp = np if dev is np.ndarray else namespace(arrays[0])
        quiet = _quiet_on(_QUIET) if dev is np.ndarray else None   # (see quiet_numpy)
        try:
            out = ctx.forward(*arrays, **params)
        except ValueError as e:
            raise RuntimeError(f'{cls.__name__.lower()}: {e} ({_describe(tensors)})') from None
        except IndexError as e:
            raise IndexError(f'{cls.__name__.lower()}: {e} ({_describe(tensors)})') from None
        finally:
            if quiet is not None:
                _quiet_off(quiet)
        if type(out) is not dev:   # NumPy gives scalars for 0-d results
            out = ctx.xp.asarray(out)
        if not cls.differentiable:
            if _State.op_hooks:
                _run_op_hooks(ctx, tensors, out)
            return Tensor._make(out)
        result = _record(ctx, tensors, out)
        if cls.is_view:   # share the version counter; remember how to redo the view
            base = tensors[0]
            result._version = base._version
            if base._base is None:
                result._base, result._view_chain = base, ((cls, params),)
            else:   # a view of a detached tensor is no view for autograd (chain None)
                result._base = base._base
                chain = base._view_chain   # None (detached) and 'multi' (unbind) stay as they are
                result._view_chain = chain + ((cls, params),) if type(chain) is tuple else chain
        if result.grad_fn is ctx and (cls.save or cls.save_output):
            only = cls.save_only_for
            if only is None:
                ctx._saved = [(tensors[i], tensors[i]._version[0]) for i in cls.save]
            else:
                edges = ctx.next_edges
                ctx._saved = [(tensors[i], tensors[i]._version[0])
                              if i not in only or edges[only[i]] is not None else (_UNSAVED, 0)
                              for i in cls.save]
            if cls.save_output:   # the array and version only: the tensor would be a cycle
                ctx._saved.append((_UNSAVED, 0))
                ctx._out = (out, result._version)
        return result

    @property
    def saved_tensors(self):
        """What ``save`` (and ``save_output``) kept for backward, checked against in-place
        changes since.

        >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).grad_fn.saved_tensors
        [tensor([1., 2.], requires_grad=True), tensor([1., 2.], requires_grad=True)]
        """
        if self._on_arrays:
            return self.saved_arrays
        self._check_saved(self._saved)
        saved = [t for t, _ in self._saved]
        if self.save_output:   # rebuilt, so the node does not keep its own output alive
            out = Tensor._make(self._out[0], self)
            out._version = self._out[1]
            saved[-1] = out
        return saved

    def _check_saved(self, pairs):
        if self.save_output and pairs:
            pairs = pairs[:-1] + [(_VersionOnly(self._out[1], self._out[0]), 0)]
        Node._check_saved(self, pairs)

    def release(self):
        """Free the saved tensors and the output (``Node.release``).

        >>> y = ember.ones(2, requires_grad=True).exp(); y.grad_fn.release()
        >>> y.grad_fn.saved_tensors
        Traceback (most recent call last):
        ...
        RuntimeError: Trying to backward through the graph a second time ...
        """
        self._saved = ()
        self._freed = True
        self._out = None

    # A plain backward pass (no graph of the gradient) may run on arrays, skipping the op door:
    # an op whose ``backward`` is operators only sets ``arithmetic`` (the same formula then
    # runs on arrays: ``saved_tensors`` hands out arrays meanwhile); an op whose formula needs
    # ember functions may give ``fast_backward(ctx, *grad_arrays)`` on ``ctx.saved_arrays``,
    # returning NotImplemented to fall back. First-order tests take the array path,
    # second-order tests (create_graph) the ember-op one.
    arithmetic = False
    fast_backward = None
    _on_arrays = False

    def _backward(self, grads):
        if not _State.grad_enabled and (self.arithmetic or self.fast_backward is not None):
            arrays = [g._data for g in grads]
            if self.arithmetic:
                self._on_arrays = True
                try:
                    out = self.backward(*arrays)
                finally:
                    self._on_arrays = False
            else:
                out = self.fast_backward(*arrays)
            if out is not NotImplemented:
                if type(out) is not tuple:   # one input: the common case, without a loop
                    if out is arrays[0] and len(grads) == 1:   # passed through (add, views)
                        return (grads[0],)
                    return (None if out is None else Tensor._make(
                        self.xp.asarray(out) if isinstance(out, np.generic) else out),)
                xp = self.xp
                return tuple(None if a is None else
                             Tensor._make(xp.asarray(a) if isinstance(a, np.generic) else a)
                             for a in out)
        g = self.backward(*grads)
        return g if isinstance(g, tuple) else (g,)

    @property
    def saved_arrays(self):
        """The saved tensors' arrays (checked against in-place changes like saved_tensors)."""
        self._check_saved(self._saved)
        arrays = [t._data for t, _ in self._saved]
        if self.save_output:
            arrays[-1] = self._out[0]
        return arrays


def _timing(on):
    """Count a trace or profiler in (``on``) or out. While one is open, ``Op.apply`` is a
    version that notes each op's start time first; with none, the op door is as it was (no
    test for a profiler on each op)."""
    _State.timed += 1 if on else -1
    if on and _State.timed == 1:
        _TIMED['plain'] = Op.__dict__['apply']
        Op.apply = classmethod(_timed_apply)
    elif not on and _State.timed == 0:
        Op.apply = _TIMED.pop('plain')
        _State.op_start = None


_TIMED = {}


def _timed_apply(cls, *tensors, **params):
    _State.op_start = time.perf_counter()
    return _TIMED['plain'].__func__(cls, *tensors, **params)


class _Unsaved:
    """An input an op did not keep, since the one gradient that reads it is not wanted (``x``
    in ``x * c`` for a constant ``c``: keeping it would hold its memory until backward)."""
    __slots__ = ()
    _version = (0,)
    _data = None


_UNSAVED = _Unsaved()


class _VersionOnly:
    """A saved output as the version check sees it: its version counter, shape and dtype."""
    __slots__ = ('_version', 'shape', 'dtype')
    what = 'its output'

    def __init__(self, v, out):
        self._version, self.shape, self.dtype = v, out.shape, _tensor.from_np(out.dtype)


def _argument_error(cls, args):
    got = ', '.join(type(a).__name__ for a in args)
    return TypeError(f'{cls.__name__} (an ember op): expected Tensor arguments, got ({got}); '
                     f'make one with ember.tensor(...)')


_COMPLEX = {np.dtype(np.complex64), np.dtype(np.complex128)}


def _complex_error(cls, tensors):
    return RuntimeError(f'{cls.__name__.lower()}: not implemented for complex tensors '
                        f'({_describe(tensors)}); ember.real, ember.imag or ember.abs give '
                        f'real ones')


def _describe(tensors):
    return ', '.join(f'{tuple(t.shape)} {t.dtype.name} on {t.device}' for t in tensors)


def _device_error(op, tensors):
    devs = ', '.join(f'{tuple(t.shape)} on {t.device}' for t in tensors)
    return RuntimeError(f'{op}: expected all tensors on the same device, got {devs}; '
                        f'move them with .to(device)')


# ---------------------------------------------------------------- the backward walk

def _children(n):
    if isinstance(n, Node):
        return [e[0] for e in n.next_edges if e is not None]
    return ()


def _topo_order(roots):
    """Nodes reachable from ``roots``, each before the nodes it feeds (iterative DFS)."""
    order, seen = [], set()
    for r in roots:
        if r in seen:
            continue
        seen.add(r)
        stack = [(r, iter(r.next_edges if isinstance(r, Node) else ()))]
        while stack:
            node, it = stack[-1]
            for e in it:       # edges: (target, output index, shape, dtype) or None
                if e is not None and e[0] not in seen:
                    child = e[0]
                    seen.add(child)
                    stack.append((child, iter(child.next_edges if isinstance(child, Node)
                                              else ())))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def _fit(g, shape, dtype, node):
    """Bring a gradient to its input's shape (sum over broadcast dims) and dtype, or raise."""
    if not isinstance(g, Tensor):
        raise TypeError(f'{node.name} returned a gradient of type {type(g).__name__}, '
                        f'expected a Tensor')
    if g._data.shape != shape:
        if not _tensor.broadcasts_to(shape, g._data.shape):
            raise RuntimeError(f'{node.name}: gradient of shape {tuple(g._data.shape)} does not '
                               f'match its input of shape {tuple(shape)}')
        g = g.sum_to_size(shape)
    if g._data.dtype == dtype:   # dtype: the input's NumPy/CuPy dtype
        return g
    if g._data.dtype.kind == 'c' and dtype.kind != 'c':   # a real input of a complex result:
        g = g.real                                        # the real part, as torch
        if g._data.dtype == dtype:
            return g
    from .ops import convert   # create_graph: a cast op (differentiable), else the array's
    return g.to(_tensor.from_np(dtype)) if _State.grad_enabled else convert.cast_data(g, dtype)


def _run_backward(roots, grads, retain_graph, create_graph, inputs=None, allow_unused=False):
    root_edges = []
    for i, t in enumerate(roots):
        e = _edge(t)
        if e is None:
            raise RuntimeError(f'element {i} of tensors does not require grad and does not have '
                               f'a grad_fn')
        root_edges.append(e)
    buffers = {}
    shared = {id(g._data) for g in grads}   # arrays a leaf may not keep without a copy
    for (target, nr, _, _), g in zip(root_edges, grads):
        buf = buffers.setdefault(target, [None] * _n_out(target))
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    order = _topo_order([e[0] for e in root_edges])

    capture = None
    run = None
    if inputs is not None:
        capture = {}
        for i, t in enumerate(inputs):
            e = _edge(t)
            if e is None:
                raise RuntimeError(f'grad: input {i} does not require grad')
            capture.setdefault((e[0], e[1]), []).append(i)
        targets = {k[0] for k in capture}
        reach, run = set(targets), set()
        for n in reversed(order):
            if any(c in reach for c in _children(n)):
                run.add(n)
                reach.add(n)
        results = [None] * len(inputs)

    timed, anomaly = _State.timed, _State.anomaly   # (profilers and detect_anomaly: read once)
    with set_grad_enabled(create_graph), quiet_numpy():
        for n in order:
            buf = buffers.pop(n, None)
            if buf is None:
                continue
            is_node = isinstance(n, Node)
            hooks = n._pre_hooks if is_node else n._hooks
            if hooks:
                for nr in range(len(buf)):
                    for h in (hooks.get(nr, ()) if is_node else hooks):
                        if buf[nr] is not None:
                            r = h(buf[nr])
                            if r is not None:
                                buf[nr] = r
                                shared.add(id(r._data))
            if capture is not None:
                for nr, g in enumerate(buf):
                    for i in capture.get((n, nr), ()):
                        results[i] = g
                if n not in run:
                    continue
            elif not is_node:
                _accumulate(n, buf[0], create_graph, shared)
                continue
            if n._freed:
                raise RuntimeError(FREED)
            if len(buf) > 1 and any(g is None for g in buf):   # multi-output nodes only
                buf = [g if g is not None else _zeros_for(n, i) for i, g in enumerate(buf)]
            if timed:
                start = time.perf_counter()
                gin = n._backward(buf)
                for h in _State.node_hooks:
                    h(n.name, start, time.perf_counter())
            else:
                gin = n._backward(buf)
            if anomaly:
                _anomaly.check(n, gin)
            if not retain_graph:
                n.release()
            edges = n.next_edges
            if len(gin) != len(edges):
                raise RuntimeError(f'function {n.name} returned an incorrect number of gradients '
                                   f'(expected {len(edges)}, got {len(gin)})')
            for e, g in zip(edges, gin):
                if e is None or g is None:
                    continue
                target, nr, shape, dt = e
                if g.__class__ is not Tensor or g._data.shape != shape or g._data.dtype != dt:
                    g = _fit(g, shape, dt, n)      # the rare case: reduce or cast (or raise)
                b = buffers.get(target)
                if b is None:
                    n_out = target.n_outputs if isinstance(target, Node) else 1
                    buffers[target] = [g] if nr == 0 and n_out == 1 else _first(n_out, nr, g)
                else:
                    b[nr] = g if b[nr] is None else b[nr] + g
    if capture is not None:
        if not allow_unused:
            for i, r in enumerate(results):
                if r is None:
                    raise RuntimeError(f'grad: input {i} was not used in the graph; pass '
                                       f'allow_unused=True to get None for it')
        return results


def _first(n, nr, g):
    buf = [None] * n
    buf[nr] = g
    return buf


def _n_out(target):
    return target.n_outputs if isinstance(target, Node) else 1


def _zeros_for(node, i):
    shape, dt, dev = node._out_meta[i]
    return _tensor.zeros(shape, dtype=dt, device=dev)


def _accumulate(leaf, g, create_graph, shared=None):
    """Add ``g`` into ``leaf.grad``. A first gradient is kept as it is when its array is owned
    by nobody else (not a view, not given by the caller or a hook, not kept by another leaf);
    otherwise it is copied, so that no two ``.grad`` ever share memory."""
    if leaf._grad is None and create_graph:
        leaf._grad = g
    elif leaf._grad is None:
        d = g._data
        if shared is None or d.base is not None or id(d) in shared:
            d = d.copy()
        if shared is not None:
            shared.add(id(d))
        leaf._grad = Tensor._make(d)
    elif create_graph or leaf._grad.requires_grad:
        leaf._grad = leaf._grad + g
    else:
        leaf._grad._data += g._data
        leaf._grad._version[0] += 1
    if _State.post_hooks:   # (the slot is unset until one is registered: getattr's miss is slow)
        for h in getattr(leaf, '_post_hooks', ()):
            h(leaf)


@_tensor.method('register_post_accumulate_grad_hook')
def _register_post_accumulate_grad_hook(self, hook):
    """Call ``hook(tensor)`` on this leaf after backward has added its gradient into
    ``.grad`` (DistributedDataParallel starts its all-reduce there). Returns a handle whose
    ``remove()`` takes the hook out.

    >>> w = ember.ones(2, requires_grad=True)
    >>> h = w.register_post_accumulate_grad_hook(lambda p: print(p.grad))
    >>> (w * 3).sum().backward()
    tensor([3., 3.])
    """
    if self.grad_fn is not None or not self.requires_grad:
        raise RuntimeError('post accumulate grad hooks can only be registered on leaf '
                           'tensors that require grad')
    hooks = getattr(self, '_post_hooks', None)
    if hooks is None:
        hooks = self._post_hooks = []
    _State.post_hooks = True
    hooks.append(hook)
    return _tensor.RemovableHandle(hooks, hook)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
    >>> ember.autograd.backward([(x * x).sum()]); x.grad
    tensor([2., 4.])
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors) if grad_tensors is None else [grad_tensors]
    grads = [_root_grad(t, g, i) for i, (t, g) in enumerate(zip(tensors, grad_tensors))]
    retain = create_graph if retain_graph is None else retain_graph
    if _State.timed:   # (a profiler is on: the whole walk is one range)
        from .profiler import record_function
        with record_function('autograd::backward'):
            _backward(tensors, grads, retain, create_graph, inputs)
    else:
        _backward(tensors, grads, retain, create_graph, inputs)
    _leak.after_backward(tensors)   # (a warning for total_loss += loss)


def _backward(tensors, grads, retain, create_graph, inputs):
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        got = _run_backward(tensors, grads, retain, create_graph, inputs, allow_unused=True)
        with quiet_numpy():
            for t, g in zip(inputs, got):
                if g is not None:
                    _accumulate(t, g, create_graph)
    else:
        _run_backward(tensors, grads, retain, create_graph)


def _root_grad(t, g, i):
    if g is None:
        if t._data.dtype.kind == 'c':
            raise RuntimeError(f'grad can be implicitly created only for real scalar outputs '
                               f'but got {t.dtype} (output {i}); pass gradient= or take '
                               f'.real or .abs() first')
        if t.numel() != 1:
            raise RuntimeError(f'grad can be implicitly created only for scalar outputs; output '
                               f'{i} has shape {tuple(t.shape)}: pass gradient= of that shape')
        d = t._data          # ones on the output's device and dtype, without the factory
        return Tensor._make((np if type(d) is np.ndarray else namespace(d)).ones_like(d))
    if not isinstance(g, Tensor):
        g = _tensor.tensor(g, dtype=t.dtype, device=t.device)
    if g.shape != t.shape:
        raise RuntimeError(f'Mismatch in shape: grad_output[{i}] has a shape of '
                           f'{tuple(g.shape)} and output[{i}] has a shape of {tuple(t.shape)}')
    if type(g._data) is not type(t._data) and array_device(g._data) != array_device(t._data):
        raise RuntimeError(f'invalid gradient at index {i} - expected device {t.device} but '
                           f'got {g.device} (output of shape {tuple(t.shape)})')
    return g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` is untouched).

    >>> x = ember.tensor(3.0, requires_grad=True)
    >>> (dx,) = ember.autograd.grad(x ** 3, x, create_graph=True); dx
    tensor(27., grad_fn=<MulBackward>)
    >>> ember.autograd.grad(dx, x)
    (tensor(18.),)
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if not inputs:
        raise RuntimeError('grad: the `inputs` argument cannot be empty')
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grads = [_root_grad(t, g, i) for i, (t, g) in enumerate(zip(outputs, grad_outputs))]
    retain = create_graph if retain_graph is None else retain_graph
    return tuple(_run_backward(outputs, grads, retain, create_graph, inputs, allow_unused))


# gradcheck, gradgradcheck and GradcheckError live in _gradcheck.py (finite differences)
from ._gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402,F401


# PyTorch-shaped custom functions (Function, FunctionCtx): ember/_function.py, on this file's
# Node, _record and _zeros_for (this file's size)
from ._function import Function, FunctionCtx  # noqa: E402,F401
