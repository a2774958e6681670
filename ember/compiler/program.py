"""A compiled program at run time: its call, its guards, its backward, and the calls it makes
besides NumPy's (an optimizer's host step, random draws, the random state).

``capture.py`` builds a ``Program`` from a capture run; ``ember.jit`` builds one from a file.
A program's call, and its guards, are generated Python (``Program._runner``,
``Guards.compile``): reading the inputs, running the graph, writing the tensors and building
the result loop over no descriptions.
"""
import numpy as np

from .. import amp, autograd
from .._tensor import Tensor
from ..autograd import _State


class HostStep:
    """``optimizer.step()`` inside a compiled program: the program's gradients become the
    parameters' ``.grad`` and the optimizer runs as it would eagerly (its own Python)."""

    def __init__(self, opt, params):
        self.opt, self.params = opt, params
        self.__name__ = f'{type(opt).__name__}.step'

    def __call__(self, *grads):
        for p, g in zip(self.params, grads):
            p._grad = None if g is None else Tensor._make(g)
        self.opt.step()


class Draw:
    """A random draw, ``generator.np.<method>(*args)``, looked up at each call (so that
    ``manual_seed`` between calls is seen)."""

    def __init__(self, gen, method):
        self.gen, self.method = gen, method
        self.__name__ = f'random.{method}'

    def __call__(self, *a, **k):
        return getattr(self.gen.np, self.method)(*a, **k)


class GetState:
    """``generator.get_state()`` inside a program: its state, read at each call."""
    impure = True

    def __init__(self, gen, orig):
        self.gen, self.orig = gen, orig
        self.__name__ = 'random.get_state'

    def __call__(self):
        return self.orig(self.gen)._data


class SetState:
    """``generator.set_state(state)`` inside a program (checkpoint's replayed dropout)."""
    impure = True

    def __init__(self, gen, orig):
        self.gen, self.orig = gen, orig
        self.__name__ = 'random.set_state'

    def __call__(self, state):
        self.orig(self.gen, state)


def resolve(ref, arg_tensors):
    """The tensor a source names: ('arg', k), ('obj', tensor) or ('grad', owner's ref)."""
    kind = ref[0]
    if kind == 'arg':
        return arg_tensors[ref[1]]
    if kind == 'obj':
        return ref[1]
    return resolve(ref[1], arg_tensors)._grad


class Program:
    """A compiled function for one set of guards: inputs, the graph, writes, the result."""

    def __init__(self, graph, sources, writes, result, guards, breaks, backward, mode=None,
                 xp=None):
        self.graph, self.sources, self.writes = graph, sources, writes
        self.result, self.guards, self.breaks = result, guards, breaks
        self.backward = backward
        self.fn = graph.compile() if not breaks else None
        if self.fn is not None and xp is not None and mode == 'reduce-overhead':
            from .gpu import CudaGraphRunner   # the replay as one CUDA graph launch
            self.fn = CudaGraphRunner(self.fn, xp, graph)
        self.run = self._runner() if not breaks else None
        self.check = guards.compile()

    def failed_guard(self, arg_tensors):
        """None if every guard holds, else the first one that does not, in words."""
        if self.check(arg_tensors):
            return None
        return self.guards.failed(arg_tensors) or 'a guard'

    def __call__(self, arg_tensors):
        return self.run(arg_tensors)

    def _runner(self):
        """The call as generated Python: read the inputs, run the program, do the writes,
        build the result, with no loops over descriptions left for each call."""
        env = {'_make': Tensor._make, '_gout': _grad_out, '_on': autograd._quiet_on,
               '_off': autograd._quiet_off, '_Q': autograd._QUIET, 'fn': self.fn,
               'CB': CompiledBackward, 'b': self.backward}

        def bind(x):
            name = f'o{len(env)}'
            env[name] = x
            return name

        def where(ref):
            kind = ref[0]
            if kind == 'arg':
                return f'a[{ref[1]}]'
            if kind == 'obj':
                return bind(ref[1])
            return f'{where(ref[1])}._grad'

        ins = []
        for ref in self.sources:
            if ref[0] == 'const':
                ins.append(bind(ref[1]))
            elif ref[0] == 'const_written':   # a constant the program writes: a fresh copy
                ins.append(bind(ref[1]) + '.copy()')
            else:
                ins.append(where(ref) + '._data')
        lines = ['def run(a):', '    q = _on(_Q)', '    try:',
                 f"        vals = fn({', '.join(ins)})", '    finally:', '        _off(q)']
        if self.backward is not None:
            lines.append(f'    node = CB(b, vals[{self.backward.n_out}:], a)')
        for kind, ref, k in self.writes:
            t = where(ref)
            if kind == 'data':
                lines.append(f'    {t}._data = vals[{k}]')
            elif kind == 'grad':
                lines.append(f'    {t}._grad = ' + ('None' if k is None else
                                                     f'_make(vals[{k}])'))
            else:
                lines.append(f'    {t}._requires_grad = {k!r}')

        def result(x):
            t = type(x)
            if t is _Out:
                return f'_make(vals[{x.k}])'
            if t is _ArgOut:
                return f'a[{x.k}]'
            if t is _ConstOut:
                return f'_make({bind(x.k)}.copy())'
            if t is _GradOut:
                return f'_gout(vals[{x.k}], node, {x.nr})'
            if t is tuple:
                return '(' + ''.join(result(e) + ', ' for e in x) + ')'
            if t is list:
                return '[' + ', '.join(result(e) for e in x) + ']'
            if t is dict:
                return '{' + ', '.join(f'{bind(k)}: {result(e)}' for k, e in x.items()) + '}'
            return bind(x)
        lines.append(f'    return {result(self.result)}')
        src = '\n'.join(lines) + '\n'
        exec(compile(src, '<ember.compile runner>', 'exec'), env)   # (source made here)
        run = env['run']
        run.source = src
        return run


def _grad_out(arr, node, nr):
    out = Tensor._make(arr, node)
    out._output_nr = nr
    return out


class _Out:
    __slots__ = ('k',)

    def __init__(self, k):
        self.k = k


class _ArgOut(_Out):
    __slots__ = ()


class _ConstOut(_Out):
    """A result tensor no traced value reached: ``k`` is its array, copied at each call."""
    __slots__ = ()


class _GradOut(_Out):
    """A result tensor with a gradient: output ``nr`` of the call's CompiledBackward."""
    __slots__ = ('nr',)

    def __init__(self, k, nr):
        self.k, self.nr = k, nr


class Backward:
    """The backward program of a compiled function whose result needs gradients."""

    def __init__(self, graph, sources, leaf_refs, grad_index, seed_meta, n_out, n_saved):
        self.graph, self.sources, self.leaf_refs = graph, sources, leaf_refs
        self.grad_index, self.seed_meta = grad_index, seed_meta
        self.n_out, self.n_saved = n_out, n_saved
        self.fn = graph.compile()


class CompiledBackward(autograd.Node):
    """The autograd node of a compiled call: its backward is the recorded backward program."""

    def __init__(self, backward, saved, arg_tensors):
        self.backward, self.saved, self.arg_tensors = backward, saved, arg_tensors
        self.next_edges = [autograd._edge(resolve(r, arg_tensors)) for r in backward.leaf_refs]
        self.n_outputs = len(backward.seed_meta)
        self._out_meta = [(s, _dtype(d), _device(saved)) for s, d in backward.seed_meta]

    def _backward(self, grads):
        if _State.grad_enabled:
            raise RuntimeError('ember.compile: backward of a compiled function with '
                               'create_graph=True (a gradient of a gradient) is not supported; '
                               'run that function eagerly')
        b = self.backward
        seeds = [_zeros_like_seed(grads, s, d) if g is None else g._data
                 for g, (s, d) in zip(grads, b.seed_meta)]
        extra = [resolve(r, self.arg_tensors)._data for r in b.sources]
        with autograd.quiet_numpy():
            vals = b.fn(*self.saved, *seeds, *extra)
        return tuple(None if k is None else Tensor._make(vals[k]) for k in b.grad_index)

    def release(self):
        self.saved = ()
        self._freed = True


def _dtype(np_dtype):
    from .._tensor import from_np
    return from_np(np_dtype)


def _device(saved):
    from ..backend import CPU, array_device
    return array_device(saved[0]) if len(saved) else CPU


def _zeros_like_seed(grads, shape, dtype):
    """Zeros for a result nobody sent a gradient to, where the others' gradients live."""
    from ..backend import namespace
    ref = next((g._data for g in grads if g is not None), None)
    return (np if ref is None else namespace(ref)).zeros(shape, dtype)


def _hyper(opt):
    return [{k: v for k, v in g.items() if k != 'params'} for g in opt.param_groups]


def _hyper_changed(opt):
    opt._compile_host = True   # a scheduler changes them: a host call from the next capture
    return False


class Guards:
    """The checks a program needs before it runs, as one generated expression (fast when
    they hold), and each alone with its description (to say which failed)."""

    def __init__(self):
        self.env = {'_S': _State, '_A': amp._State, '_hyper': _hyper,
                    '_changed': _hyper_changed}
        self.checks = []   # (expression, description)

    def bind(self, x):
        name = f'g{len(self.env)}'
        self.env[name] = x
        return name

    def add(self, expr, what):
        self.checks.append((expr, what))

    def compile(self):
        src = 'def check(a):\n    return ' + (' and '.join(f'({e})' for e, _ in self.checks)
                                                or 'True') + '\n'
        exec(compile(src, '<ember.compile guards>', 'exec'), self.env)   # (made here)
        check = self.env['check']
        check.source = src
        return check

    def failed(self, a):
        for expr, what in self.checks:
            if not eval(expr, self.env, {'a': a}):   # (the guards' own expressions)
                return what
        return None


