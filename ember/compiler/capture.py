"""Run a function once under capture and turn what it did into a ``Program``.

The capture run is an eager run: the tensors it touches hold tracers that carry the real
arrays, so it returns and changes exactly what eager would. Around it, for its duration
only, the capture patches five places (and nothing else in the core changes):

- ``Op.apply`` (the op door): a tensor whose array is not yet traced becomes an input of
  the program, read again from the same tensor at each call (a parameter, a buffer, a
  tensor closed over), or a constant when the capture itself made it;
- ``Module.__call__``: the module's parameters and buffers become inputs before its forward,
  and its ``training`` flag a guard;
- ``Optimizer.step``: recorded as one host call that runs the optimizer's own Python at
  each call (its step counts and state stay its own) on the program's gradients;
- ``ember.random``'s generator: a draw is a node that draws again at each call, from the
  same generator, so dropout gets the numbers eager would;
- ``Tensor._make``: to know which tensors the capture made.

What the tensors look like afterwards (``.grad`` set or cleared, an array replaced) becomes
the program's writes, done after its last call at each run.
"""
import os
import sys
import weakref

import numpy as np

from .. import amp, autograd, random as _random
from ..backend import namespace
from .._tensor import Tensor
from ..autograd import Op, _State
from ..nn.module import Module
from ..optim.optimizer import Optimizer
from .graph import Graph, Node, Ref
from .passes import optimize
from .program import (Backward, Draw, GetState, Guards, HostStep, Program, SetState, _ArgOut,
                      _ConstOut, _GradOut, _hyper, _Out)
from .tracer import Capture, Tracer, has_tracer, recorded


class _TracedGenerator:
    def __init__(self, cap, gen):
        self.cap, self.gen = cap, gen

    def __getattr__(self, method):
        def draw(*a, **k):
            return self.cap.call(Draw(self.gen, method), a, k)
        return draw


def flatten_args(x, path=(), out=None, sig=None):
    """The tensors in ``x`` (args and kwargs, nested in lists, tuples and dicts) with their
    paths, and a hashable signature of everything else."""
    if out is None:
        out, sig = [], []
    t = type(x)
    if isinstance(x, Tensor):
        out.append((path, x))
        d = x._data
        sig.append(('T', d.shape, d.dtype, type(d), x._requires_grad))
    elif t is tuple or t is list:
        sig.append((t, len(x)))
        for i, a in enumerate(x):
            flatten_args(a, path + (i,), out, sig)
    elif t is dict:
        sig.append((dict, tuple(x)))
        for k, a in x.items():
            flatten_args(a, path + (k,), out, sig)
    else:
        try:
            hash(x)
            sig.append((t, x))
        except TypeError:
            sig.append((t, id(x)))
    return out, sig


ACTIVE = []   # the captures running now (a compiled function called inside one is inlined)

# Capturing CUDA tensors (compiler/gpu.py) is off unless EMBER_COMPILE_GPU=1: on CuPy's
# stand-in the op tables still give wrong answers through it (scatter-style backward, data-
# shaped CuPy calls: see docs/compiler.md), and it has never run on a GPU. Off, a CUDA tensor
# is a graph break: the function runs eagerly, correctly.
GPU = os.environ.get('EMBER_COMPILE_GPU') == '1'


def capture(fn, args, kwargs, fullgraph=False, mode=None):
    """Run ``fn(*args, **kwargs)`` under capture. Returns (its result, a Program)."""
    cap = Capture(fullgraph)
    python_values = _python_values(fn)
    born = {}          # id(tensor) -> weak reference, for the tensors the capture made
    promoted = {}      # id(tensor) -> [tensor, source index, initial tracer, initial grad]
    modules = {}       # id(module) -> (module, training)
    optimizers = []    # the optimizers whose step was recorded as array calls
    arg_list, _ = flatten_args((args, kwargs))
    arg_index = {}

    def promote(t, ref=None):
        if id(t) in promoted or type(t._data) is Tracer:
            return
        d = t._data
        if type(d) is not np.ndarray and not (GPU and hasattr(d, '__cuda_array_interface__')):
            cap.brk(f'a tensor on {t.device} (CUDA capture is off: EMBER_COMPILE_GPU=1 turns '
                    f'it on, untested on a GPU)' if hasattr(d, '__cuda_array_interface__') else
                    f'a tensor holding a {type(d).__name__} is not captured')
            return
        if type(d) is not np.ndarray:
            cap.device_arrays = True
        if ref is None:
            ref = ('const', d) if is_born(t) else ('obj', t)
        if t._hooks:
            cap.brk('a tensor has hooks (Python that a program would not run)')
        tr = cap.input(d, ref)
        t._data = tr
        g = t._grad
        promoted[id(t)] = [t, tr, g, t._requires_grad, ref]
        if g is not None and type(g._data) is not Tracer and ref[0] != 'const':
            promote(g, ('grad', ref))

    for k, (path, t) in enumerate(arg_list):
        if id(t) not in arg_index:
            arg_index[id(t)] = k
            promote(t, ('arg', k))

    orig_apply = Op.__dict__['apply']
    orig_call = Module.__call__
    orig_step = Optimizer.step
    orig_make = Tensor.__dict__['_make']
    orig_gen = _random._gen

    def apply(cls, *tensors, **params):
        for t in tensors:
            if isinstance(t, Tensor) and type(t._data) is not Tracer:
                promote(t)
        q = autograd._quiet_on(autograd._QUIET)   # (the door's NumPy state, as for arrays)
        try:
            return orig_apply.__func__(cls, *tensors, **params)
        finally:
            autograd._quiet_off(q)

    def call(self, *a, **k):
        if self._forward_pre_hooks or self._forward_hooks or self._backward_hooks:
            cap.brk(f'{type(self).__name__} has hooks (Python that a program would not run)')
        for m in self.modules():
            if id(m) not in modules:
                modules[id(m)] = (m, {k: v for k, v in vars(m).items()   # its settings
                                      if not k.startswith('_') and _simple(v)})
                for t in list(m.parameters(recurse=False)) + list(m.buffers(recurse=False)):
                    if t is not None:
                        promote(t)
        return orig_call(self, *a, **k)

    def step(self, closure=None):
        if closure is not None:
            cap.brk('optimizer.step(closure) runs Python between captured parts')
            return orig_step(self, closure)
        params = [p for g in self.param_groups for p in g['params']]
        for p in params:
            promote(p)
        if self.traceable() and not getattr(self, '_compile_host', False):
            for p in params:
                if p._grad is not None and type(p._grad._data) is not Tracer:
                    promote(p._grad)
            optimizers.append(self)   # its hyperparameters: a guard
            return orig_step(self)
        grads = [p._grad for p in params]
        refs = []
        for p, g in zip(params, grads):
            if g is None:
                refs.append(None)
                continue
            if type(g._data) is not Tracer:
                promote(g)
            refs.append(Ref(g._data.i))
        datas = [p._data for p in params]
        for p, g in zip(params, grads):   # the real step, on the real arrays
            p._data = p._data.v
            if g is not None:
                p._grad = Tensor._make(g._data.v)
        for name, f in saved_numpy.items():   # NumPy as it is, for the optimizer's own code
            setattr(np, name, f)
        try:
            out = orig_step(self)
        finally:
            for name, f in numpy_patches.items():
                setattr(np, name, f)
            for p, d, g in zip(params, datas, grads):
                if p._data is not d.v:
                    cap.brk(f'{type(self).__name__}.step replaced a parameter\'s array')
                p._data, p._grad = d, g
        cap.nodes.append(Node(HostStep(self, params), tuple(refs), {}, None,
                              tuple(d.i for d in datas)))
        return out

    # whether each tensor's first .grad mattered: read (by the user, or added to by
    # backward) before anything cleared it. Where it was cleared first, the program does not
    # depend on it and no guard on it is needed (the usual zero_grad() at the top of a step).
    grad_first = {}     # id(tensor) -> 'read' or 'cleared'
    orig_grad = Tensor.__dict__['grad']
    orig_accumulate = autograd._accumulate

    def first_use(t, how):
        if id(t) not in promoted and not is_born(t):
            promote(t)
        if id(t) in promoted and t._grad is promoted[id(t)][2]:
            grad_first.setdefault(id(t), how)

    def get_grad(self):
        first_use(self, 'read')
        return orig_grad.fget(self)

    def set_grad(self, value):
        first_use(self, 'cleared' if value is None else 'read')
        orig_grad.fset(self, value)

    def accumulate(leaf, g, create_graph, shared=None):
        first_use(leaf, 'read')
        return orig_accumulate(leaf, g, create_graph, shared)

    orig_get, orig_set = _random.Generator.get_state, _random.Generator.set_state
    orig_register_hook = Tensor.register_hook

    def register_hook(self, hook):
        cap.brk('a hook was registered (Python that a program would not run)')
        return orig_register_hook(self, hook)

    def get_state(self):
        return Tensor._make(cap.call(GetState(self, orig_get), (), {}))

    def set_state(self, state):
        arr = state._data if isinstance(state, Tensor) else np.asarray(state, np.uint8)
        if type(arr) is not Tracer:
            arr = cap.const(arr)
            cap.nodes.append(Node(SetState(self, orig_set), (arr,), {}, None))
            orig_set(self, arr.arr)
        else:
            cap.call(SetState(self, orig_set), (arr,), {})
        return self

    def is_born(t):
        r = born.get(id(t))
        return r is not None and r() is t

    def make(data, grad_fn=None):
        t = orig_make(data, grad_fn)
        born[id(t)] = weakref.ref(t, lambda r, i=id(t): born.pop(i, None))
        return t

    numpy_patches = _numpy_patches(cap)
    saved_numpy = {name: getattr(np, name) for name in numpy_patches}
    for name, f in numpy_patches.items():
        setattr(np, name, f)
    backend = _backend_patches()   # (module, name, original, recording wrapper)
    for module, name, _, f in backend:
        setattr(module, name, f)

    def eager_from_here():   # a break: no program will come of this capture, so ember's own
        for name in ('empty', 'zeros', 'ones', 'full'):   # allocations are real arrays again
            setattr(np, name, saved_numpy[name])           # (as eager makes them), and the
        for module, name, f, _ in backend:                 # backend's calls its own
            setattr(module, name, f)
    cap.on_break = eager_from_here
    if cap.breaks:   # (an argument already broke it: a CUDA tensor with GPU capture off)
        eager_from_here()
    _random.Generator.get_state, _random.Generator.set_state = get_state, set_state
    Tensor.register_hook = register_hook
    Op.apply = classmethod(apply)
    Module.__call__ = call
    Optimizer.step = step
    Tensor._make = staticmethod(make)
    Tensor.grad = property(get_grad, set_grad, doc=orig_grad.__doc__)
    autograd._accumulate = accumulate
    _random._gen = lambda generator: _TracedGenerator(cap, generator or
                                                      _random.default_generator)
    grad_mode, amp_state = _State.grad_enabled, (amp._State.on, dict(amp._State.dtypes))
    def restore(t):
        if type(t._data) is Tracer:
            t._data = t._data.v

    def restore_all():
        for t, tr, g0, rg0, key in promoted.values():
            restore(t)
            if t._grad is not None:
                restore(t._grad)
        live = [t for t in (r() for r in list(born.values())) if t is not None]
        for t in live:
            restore(t)
        _restore_nodes(t.grad_fn for t in live)   # what the capture run's graph kept

    ACTIVE.append(cap)
    try:
        result = fn(*args, **kwargs)
        needing = _needs_grad(result, [])
        bwd = _backward_ahead(cap, needing, promoted) if needing and not cap.breaks else None
    except BaseException:
        restore_all()
        raise
    finally:
        ACTIVE.pop()
        for module, name, f, _ in backend:
            setattr(module, name, f)
        for name, f in saved_numpy.items():
            setattr(np, name, f)
        _random.Generator.get_state, _random.Generator.set_state = orig_get, orig_set
        Tensor.register_hook = orig_register_hook
        Op.apply = orig_apply
        Module.__call__ = orig_call
        Optimizer.step = orig_step
        Tensor._make = orig_make
        Tensor.grad = orig_grad
        autograd._accumulate = orig_accumulate
        _random._gen = orig_gen
    cap.fullgraph = False   # (a check's message, made later from its tracers, may 'break')
    outputs, writes = [], []

    def out(i):
        outputs.append(i)
        return len(outputs) - 1

    try:   # what the tensors look like now: the writes
        for t, tr, g0, rg0, key in list(promoted.values()):
            if key[0] == 'const':   # made by the capture: nobody outside sees it
                continue
            d = t._data
            if type(d) is Tracer and d is not tr:
                writes.append(('data', key, out(d.i)))
            elif type(d) is not Tracer and d is not tr.v:
                cap.brk('a tensor\'s array was replaced by an untraced one')
            g = t._grad
            if g is not g0:
                if g is None:
                    writes.append(('grad', key, None))
                elif type(g._data) is Tracer:
                    writes.append(('grad', key, out(g._data.i)))
                else:
                    cap.brk('a .grad was set to an untraced tensor')
            if t._requires_grad != rg0:
                writes.append(('requires_grad', key, t._requires_grad))
        seeds = {id(t): j for j, t in enumerate(needing)} if bwd else {}
        result_t = _result_template(result, cap, arg_index, out, seeds)
    finally:
        restore_all()
    guards = _guards(promoted, modules, grad_mode, amp_state,
                     {i for i, how in grad_first.items() if how == 'cleared'}, optimizers)
    for holder, key, value, what in python_values:
        guards.add(f'{guards.bind(holder)}[{key!r}] == {guards.bind(value)} and '
                   f'type({guards.bind(holder)}[{key!r}]) is {guards.bind(type(value))}',
                   f'{what} is {value!r}')
    written = {i for n in cap.nodes for i in n.writes}
    meta = dict(enumerate(cap.meta))
    xp = None
    if cap.device_arrays:
        from ..backend import cuda_backend
        xp = cuda_backend().xp
    if bwd is not None:
        bwd_nodes, seed_ids, grad_ids, leaf_refs, n_before = bwd
        fwd_inputs = cap.inputs[:n_before]
        defined = {i for i, _ in fwd_inputs} | {i for n in cap.nodes for i in n.out_ids()}
        needed = set(i for i in grad_ids if i is not None)
        for n in bwd_nodes:
            needed.update(n.refs())
            needed.update(n.writes)
        saved = sorted(needed & defined)
        late = [(i, ref) for i, ref in cap.inputs[n_before:] if i not in seed_ids]
        n_out = len(outputs)
        bgraph = Graph(saved + list(seed_ids) + [i for i, _ in late], bwd_nodes,
                       [i for i in grad_ids if i is not None], cap.consts, meta)
        raw_bgraph = bgraph
        if not cap.breaks:
            bgraph = optimize(bgraph, xp)
        grad_index, k = [], 0
        for i in grad_ids:
            grad_index.append(None if i is None else k)
            k += i is not None
        backward = Backward(bgraph, [ref for _, ref in late], leaf_refs, grad_index,
                            [cap.meta[i] for i in seed_ids],
                            n_out, len(saved))
        backward.raw = raw_bgraph
        outputs = outputs + saved
    else:
        fwd_inputs, backward = cap.inputs, None
    read = set(outputs)   # an input no call reads (a .grad the step never accumulates into)
    for n in cap.nodes:   # is not an input: no live read each call, nothing jit must keep
        read.update(n.refs())
        read.update(n.writes)
    fwd_inputs = [(i, ref) for i, ref in fwd_inputs if i in read]
    sources = []
    for i, ref in fwd_inputs:
        if ref[0] == 'const' and i in written:
            ref = ('const_written', ref[1])
        sources.append(ref)
    raw = Graph([i for i, _ in fwd_inputs], cap.nodes, outputs, cap.consts, meta)
    graph = raw if cap.breaks else optimize(raw, xp)
    program = Program(graph, sources, writes, result_t, guards, list(cap.breaks), backward,
                      mode=mode, xp=xp)
    program.raw = raw   # as captured, before the passes (what ember.jit.save keeps)
    program.arg_meta = [(t._data.shape, t._data.dtype, t._requires_grad) for _, t in arg_list]
    return result, program


def _real(x):
    """``x`` with each tracer in it (also inside tuples, lists, dicts) its real array."""
    t = type(x)
    if t is Tracer:
        return x.v
    if t is tuple or t is list:
        new = [_real(e) for e in x]
        return x if all(a is b for a, b in zip(new, x)) else t(new)
    if t is dict:
        new = {k: _real(e) for k, e in x.items()}
        return x if all(new[k] is e for k, e in x.items()) else new
    return x


def _restore_nodes(roots):
    """The autograd nodes that the capture run recorded (its result's graph, which eager
    backward may walk after the first call) with real arrays wherever they kept a tracer:
    an output kept for backward (``Op._out``), arrays put on ``ctx`` in forward (im2col
    columns, pooling's taps...)."""
    stack, seen = [n for n in roots if n is not None], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for name, value in list(getattr(node, '__dict__', {}).items()):
            real = _real(value)
            if real is not value:
                setattr(node, name, real)
        stack.extend(e[0] for e in node.next_edges or ()
                     if e is not None and isinstance(e[0], autograd.Node))


_SIMPLE = (int, float, bool, str, type(None))


def _simple(x):
    return type(x) in _SIMPLE or type(x) is tuple and all(_simple(a) for a in x)


def _python_values(fn):
    """The plain Python values (numbers, strings, tuples of them) that ``fn`` reads from
    its closure and its module's globals: the program bakes them in, so they are guards.
    (Values reached otherwise, through an object's attributes, are not seen.)"""
    f = getattr(fn, '__func__', fn)
    code = getattr(f, '__code__', None)
    if code is None:
        return []
    found = []
    for name, cell in zip(code.co_freevars, f.__closure__ or ()):
        try:
            v = cell.cell_contents
        except ValueError:
            continue
        if _simple(v):
            found.append((_Cell(cell), 'v', v, f'the closed-over {name}'))
    g = f.__globals__
    for name in code.co_names:
        if name in g and _simple(g[name]):
            found.append((g, name, g[name], f'the global {name}'))
    return found


class _Cell:
    """A closure cell read like a dict (``cell['v']``), for the guards' expressions."""
    __slots__ = ('cell',)

    def __init__(self, cell):
        self.cell = cell

    def __getitem__(self, _):
        return self.cell.cell_contents


# The backend functions that read their arrays' pointers (ctypes, cuBLAS, ember's CUDA
# kernels), with the arguments each writes: while a capture runs, each is one node of the
# program (tracer.recorded), put in place here, so the backend's code knows nothing of it.
BACKEND_CALLS = {
    'ember.backend.mkl': {'matmul': ('out',)},
    'ember.backend.cuda': {
        'readable': (), 'gemm': (2, 'out'), 'gemm_t': (2, 'out'), 'add_rows': (0,),
        'im2col': (), 'col2im': (), 'max_pool': (), 'max_pool_grad': (), 'to_bfloat16': (),
        'layer_norm': (), 'layer_norm_grad': (), 'softmax_scores': (0,),
        'softmax_scores_grad': (1,), 'nll_loss': (), 'nll_loss_grad': (), 'softmax': (),
        'softmax_grad': ()},
}


def _backend_patches():
    """(module, name, original, wrapper) for the loaded backends' pointer-reading calls,
    and ``cuda.kernel``, whose kernels a capture records with their outputs as writes."""
    patches = []
    for mod_name, calls in BACKEND_CALLS.items():
        module = sys.modules.get(mod_name)
        if module is None:
            continue
        for name, writes in calls.items():
            f = getattr(module, name)
            patches.append((module, name, f, recorded(f, writes)))
    cuda = sys.modules.get('ember.backend.cuda')
    if cuda is not None:
        kernel = cuda.kernel

        def traced_kernel(name):
            spec = cuda.ELEMENTWISE.get(name)
            n_in, n_out = (len(spec[0].split(',')), len(spec[1].split(','))) if spec else (0, 0)
            return recorded(kernel(name), tuple(range(n_in, n_in + n_out)) + ('out',))
        patches.append((cuda, 'kernel', kernel, traced_kernel))
    return patches


# where ember's op code lives: its own np.empty/zeros/... are recorded (not, say, a C
# extension's, which the frame of its Python caller would not tell apart)
_OP_CODE = ('ember.ops.', 'ember.backend.cpu', 'ember.nn.', 'ember.autograd', 'ember.optim.')


def _numpy_patches(cap):
    """NumPy functions that do not dispatch to array-likes, as the capture sees them: an
    array made from a traced one is recorded (``np.asarray(t)`` is ``t``, as for an array),
    and a new array made by ember's op code (``np.empty`` for an ``out=``) is a recorded
    allocation, so the calls that write into it are recorded too (and the folding pass
    makes it a constant where nothing does). The user's own NumPy calls are left alone."""
    import sys
    orig = {name: getattr(np, name) for name in ('asarray', 'asanyarray', 'ascontiguousarray',
                                                   'array', 'empty', 'zeros', 'ones', 'full')}

    def converter(name):
        f = orig[name]

        def convert(a, *args, **kwargs):
            if type(a) is Tracer and name in ('asarray', 'asanyarray') and not args and \
                    kwargs.get('dtype') in (None, a.v.dtype) and not kwargs.get('copy'):
                return a
            if has_tracer(a):
                return cap.call(f, (a,) + args, kwargs)
            return f(a, *args, **kwargs)
        return convert

    def allocator(name):
        f = orig[name]

        def allocate(*args, **kwargs):
            caller = sys._getframe(1).f_globals.get('__name__', '')
            if caller.startswith(_OP_CODE):
                return cap.call(f, args, kwargs)
            return f(*args, **kwargs)
        return allocate

    patches = {name: converter(name) for name in ('asarray', 'asanyarray', 'ascontiguousarray',
                                                  'array')}
    patches.update({name: allocator(name) for name in ('empty', 'zeros', 'ones', 'full')})
    return patches


def _needs_grad(x, found):
    """The tensors in a result that still have a graph to run backward through."""
    t = type(x)
    if isinstance(x, Tensor):
        gf = x.grad_fn
        if gf is not None and not gf._freed and all(x is not f for f in found):
            found.append(x)
    elif t is tuple or t is list:
        for a in x:
            _needs_grad(a, found)
    elif t is dict:
        for a in x.values():
            _needs_grad(a, found)
    return found


def _backward_ahead(cap, needing, promoted):
    """Record the backward of ``needing`` (the result's tensors with a graph) to the leaves
    the program reads: seeds are new inputs; the backward is run now, on the capture's
    values, with the graph kept for the caller's own backward. Returns (backward nodes, seed
    ids, gradient ids, the leaves' sources, how many inputs came before the seeds)."""
    n_before, start = len(cap.inputs), len(cap.nodes)
    seeds = [cap.input(namespace(t._data.v).ones(t._data.shape, t._data.dtype), ('seed', j))
             for j, t in enumerate(needing)]
    leaves = [(t, ref) for t, tr, g0, rg0, ref in promoted.values()
              if ref[0] in ('arg', 'obj') and (t._requires_grad or t.grad_fn is not None)]
    grads = autograd.grad(needing, [t for t, _ in leaves],
                          grad_outputs=[Tensor._make(s) for s in seeds], retain_graph=True,
                          allow_unused=True) if leaves else ()
    nodes = cap.nodes[start:]
    del cap.nodes[start:]
    grad_ids = []
    for g in grads:
        if g is None or type(g._data) is not Tracer:
            if g is not None:
                cap.brk('a gradient the capture could not trace')
            grad_ids.append(None)
        else:
            grad_ids.append(g._data.i)
    return nodes, [s.i for s in seeds], grad_ids, [ref for _, ref in leaves], n_before


def _result_template(x, cap, arg_index, out, seeds):
    t = type(x)
    if isinstance(x, Tensor):
        if id(x) in arg_index:
            return _ArgOut(arg_index[id(x)])
        d = x._data
        if type(d) is Tracer:
            if id(x) in seeds:
                return _GradOut(out(d.i), seeds[id(x)])
            return _Out(out(d.i))
        if cap.breaks:
            return _Out(None)
        # an array no traced value reached (a zero gradient, a constant): the same at every
        # call, handed back as a copy
        return _ConstOut(d.copy())
    if t is tuple or t is list:
        return t(_result_template(a, cap, arg_index, out, seeds) for a in x)
    if t is dict:
        return {k: _result_template(a, cap, arg_index, out, seeds) for k, a in x.items()}
    return x


def _guards(promoted, modules, grad_mode, amp_state, cleared, optimizers):
    """The guards of a program (the argument signature is checked apart). ``cleared``: ids
    of tensors whose first ``.grad`` the program never read."""
    g = Guards()
    g.add(f'_S.grad_enabled is {grad_mode}', f'grad mode is {grad_mode}')
    from .._dtype import _default
    g.add(f'{g.bind(_default)}[0] is {g.bind(_default[0])}',
          f'the default dtype is {_default[0]}')
    if amp_state[0]:
        g.add(f'_A.on and _A.dtypes == {g.bind(amp_state[1])}', f'autocast is {amp_state[1]}')
    else:
        g.add('not _A.on', 'autocast is off')
    for opt in optimizers:   # a recorded step bakes the hyperparameters in
        snap = _hyper(opt)
        o = g.bind(opt)
        g.add(f'_hyper({o}) == {g.bind(snap)} or _changed({o})',
              f'{type(opt).__name__} keeps its hyperparameters {snap}')
    for m, settings in modules.values():   # training, and the plain values forward may read
        d = g.bind(m.__dict__)
        for k, v in settings.items():
            g.add(f'{d}.get({k!r}) == {g.bind(v)} and type({d}.get({k!r})) is '
                  f'{g.bind(type(v))}', f'{type(m).__name__}.{k} is {v!r}')
    for t, tr, g0, rg0, ref in promoted.values():
        if ref[0] in ('const', 'grad'):
            continue
        free = id(t) in cleared
        has = 'no' if g0 is None else 'a'
        if ref[0] == 'arg':
            if not free:
                g.add(f'a[{ref[1]}]._grad is {"" if g0 is None else "not "}None',
                      f'argument tensor {ref[1]} has {has} .grad')
            continue
        d, name = tr.v, g.bind(t)
        g.add(f'type({name}._data) is {g.bind(type(d))} and {name}._data.shape == '
              f'{g.bind(d.shape)} and {name}._data.dtype == {g.bind(d.dtype)} and '
              f'{name}._requires_grad is {rg0}',
              f'tensor of shape {tuple(d.shape)} {d.dtype} keeps its shape, dtype and '
              f'requires_grad={rg0}')
        if not free:
            g.add(f'{name}._grad is {"" if g0 is None else "not "}None',
                  f'tensor of shape {tuple(d.shape)} has {has} .grad')
        if g0 is not None and not free:
            gd = g0._data.v if type(g0._data) is Tracer else g0._data
            g.add(f'{name}._grad._data.shape == {g.bind(gd.shape)} and '
                  f'{name}._grad._data.dtype == {g.bind(gd.dtype)}',
                  f'its .grad keeps shape {tuple(gd.shape)} and dtype {gd.dtype}')
    return g
