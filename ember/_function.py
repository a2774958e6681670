"""PyTorch-shaped custom ops: ``ember.autograd.Function`` and the ``ctx`` its forward and
backward see (``FunctionCtx``), recorded through autograd's one door like ember's own ops.
Imported by ``ember.autograd``, whose names they are."""
from types import FunctionType

from .autograd import Node, Tensor, _State, _edge, _run_op_hooks, _zeros_for, no_grad

_CTX_TYPES = {}


class FunctionCtx(Node):
    """The ``ctx`` a custom ``Function`` sees: save_for_backward, saved_tensors, ...

    >>> class Square(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * g
    >>> x = ember.tensor(3.0, requires_grad=True)
    >>> Square.apply(x).backward(); x.grad
    tensor(6.)
    """

    def save_for_backward(self, *tensors):
        """Keep ``tensors`` (None allowed) for ``backward``, which reads them from
        ``saved_tensors``; changing one in place before backward is then an error (see the
        class's example).

        >>> ctx = ember.autograd.FunctionCtx(); ctx.save_for_backward(ember.ones(1), None)
        >>> ctx.saved_tensors
        (tensor([1.]), None)
        """
        self._saved = [(t, t._version[0]) for t in tensors if t is not None]
        self._saved_none = [t is None for t in tensors]

    @property
    def saved_tensors(self):
        """The tensors ``save_for_backward`` kept, in order (None where None was given).

        >>> ctx = ember.autograd.FunctionCtx(); ctx.save_for_backward(None, ember.zeros(1))
        >>> ctx.saved_tensors
        (None, tensor([0.]))
        """
        self._check_saved(self._saved)
        it = iter(t for t, _ in self._saved)
        return tuple(None if none else next(it) for none in self._saved_none)

    def mark_non_differentiable(self, *tensors):
        """Outputs among ``tensors`` get no gradient (indices, masks): they come out of
        ``apply`` not requiring grad.

        >>> class Argmax(ember.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         i = x.argmax().float(); ctx.mark_non_differentiable(i); return i
        >>> Argmax.apply(ember.ones(3, requires_grad=True)).requires_grad
        False
        """
        self._non_diff = set(map(id, tensors))

    def set_materialize_grads(self, value):
        """With True (the default), an output's gradient that is None reaches ``backward`` as
        zeros; with False, as None. NOTE: unlike torch's, ember's backward walk already gives
        an unused output of a multi-output Function zeros, so ``backward`` sees zeros there
        either way.

        >>> class Two(ember.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         return x * 1, x * 2
        ...     @staticmethod
        ...     def backward(ctx, g1, g2):
        ...         print(g2); return g1
        >>> x = ember.ones(1, requires_grad=True); Two.apply(x)[0].sum().backward()
        tensor([0.])
        """
        self._materialize = bool(value)

    def mark_dirty(self, *tensors):
        """Accepted for PyTorch code that changes inputs in place in ``forward``; ember
        records nothing for it.

        >>> ember.autograd.FunctionCtx().mark_dirty(ember.ones(1))
        """
        pass


class Function:
    """A custom differentiable function, as in PyTorch.

    >>> class Cube(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return 3 * x ** 2 * g
    >>> x = ember.tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward(); x.grad
    tensor(12.)
    """

    @classmethod
    def apply(cls, *args):
        ctx_type = _CTX_TYPES.get(cls)
        if ctx_type is None:   # one node class per Function (named after it), made once
            ctx_type = _CTX_TYPES[cls] = type(cls.__name__, (FunctionCtx,),
                                                   {'__module__': 'ember.autograd'})
        ctx = ctx_type()
        ctx._fn, ctx._non_diff, ctx._materialize = cls, set(), True
        ctx._saved_none = []
        with no_grad():
            outs = cls.forward(ctx, *args)
        single = not isinstance(outs, tuple)
        outs = (outs,) if single else outs
        tensors = [a if isinstance(a, Tensor) else None for a in args]
        record = _State.grad_enabled and any(t is not None and _edge(t) for t in tensors)
        results = []
        if record:
            ctx.next_edges = [None if t is None else _edge(t) for t in tensors]
            ctx.n_outputs = len(outs)
            ctx._out_meta = [(o.shape, o.dtype, o.device) if isinstance(o, Tensor) else None
                             for o in outs]
            if _State.op_hooks:
                _run_op_hooks(ctx, tensors, outs[0]._data if isinstance(outs[0], Tensor)
                              else None)
        for i, o in enumerate(outs):
            if isinstance(o, Tensor) and record and id(o) not in ctx._non_diff \
                    and o.dtype.kind >= 2:   # (float or complex)
                r = Tensor._make(o._data, ctx)
                r._output_nr, r._version = i, o._version
                o = r
            results.append(o)
        return results[0] if single else tuple(results)


def _function_backward(ctx, grads):
    grads = list(grads)
    if ctx._materialize:
        for i, g in enumerate(grads):
            if g is None and ctx._out_meta[i] is not None:
                grads[i] = _zeros_for(ctx, i)
    g = ctx._fn.backward(ctx, *grads)
    g = g if isinstance(g, tuple) else (g,)
    if len(g) < len(ctx.next_edges):
        raise RuntimeError(f'function {ctx._fn.__name__}Backward returned an incorrect number of '
                           f'gradients (expected {len(ctx.next_edges)}, got {len(g)})')
    return g[:len(ctx.next_edges)]


FunctionCtx._backward = _function_backward


for _cls in (FunctionCtx, Function):   # their public home, as torch.autograd.Function's
    _cls.__module__ = 'ember.autograd'
del _cls

# their methods' doctests (doctest finds them here, not through ember.autograd, which holds
# the classes' own docstrings)
__test__ = {f'{c.__name__}.{n}': getattr(f, '__func__', f)
            for c in (FunctionCtx, Function) for n, f in vars(c).items()
            if isinstance(getattr(f, '__func__', f), FunctionType)}
