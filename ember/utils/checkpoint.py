"""Activation checkpointing, as ``torch.utils.checkpoint``: keep a segment's inputs, not its
intermediate values, and run the segment again during backward to get them back.

The forward runs once with autograd recording, to find the leaf tensors the segment reads
(parameters it closes over as well as its arguments), and that graph is then dropped: only
one segment's intermediate values are alive at a time, forward or backward. The backward
restores the random state of the first run (dropout draws the same numbers), runs the
segment again and takes its gradients with ``autograd.grad``, so ``backward()`` and
``autograd.grad`` both work.
"""
from .. import random
from .._tensor import Tensor
from ..autograd import Function, enable_grad, grad, is_grad_enabled

__all__ = ['checkpoint', 'checkpoint_sequential']


def _leaves(outs, known):
    """The leaf tensors requiring grad that ``outs`` were computed from, less ``known``."""
    seen, found, stack = set(map(id, known)), [], [o.grad_fn for o in outs if o.grad_fn]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in node.next_edges:
            first = edge[0] if edge is not None else None
            if isinstance(first, Tensor):
                if id(first) not in seen:
                    seen.add(id(first))
                    found.append(first)
            elif first is not None:
                stack.append(first)
    return found


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, run, values, n_inputs, *tensors):
        ctx.run, ctx.n_inputs = run, n_inputs
        ctx.save_for_backward(*tensors)
        return values

    @staticmethod
    def backward(ctx, *grads):
        if is_grad_enabled():   # create_graph=True: the recomputed graph starts at detached
            raise RuntimeError(  # copies, so a gradient of this gradient would be lost
                'checkpoint: gradients of gradients (create_graph=True) through a checkpointed '
                'segment are not supported; call the function without checkpoint')
        tensors = ctx.saved_tensors
        inputs = [t.detach().requires_grad_(t.requires_grad) for t in tensors[:ctx.n_inputs]]
        with enable_grad():
            outs = ctx.run(inputs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        pairs = [(o, g) for o, g in zip(outs, grads) if o.requires_grad and g is not None]
        wrt = [t for t in inputs + list(tensors[ctx.n_inputs:]) if t.requires_grad]
        got = iter(grad([o for o, _ in pairs], wrt, [g for _, g in pairs], allow_unused=True)
                   if pairs and wrt else [None] * len(wrt))
        found = [next(got) if t.requires_grad else None
                 for t in inputs + list(tensors[ctx.n_inputs:])]
        return (None, None, None) + tuple(found)


def checkpoint(function, *args, use_reentrant=None, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)``, keeping its inputs instead of its intermediate values
    for backward (``torch.utils.checkpoint.checkpoint``): less memory for one more forward.

    Gradients reach the tensor arguments and every leaf tensor the function reads (a
    module's parameters). A tensor it reads that was computed with grad outside it must be
    one of its arguments: closed over, its history would be walked twice, and backward stops
    with the "backward through the graph a second time" error. The outputs are a Tensor or a
    tuple of Tensors. ``use_reentrant``
    is accepted for torch's signature; ember has one behaviour, torch's recommended
    ``use_reentrant=False`` (gradients flow even when no argument requires grad, and
    ``autograd.grad`` works). ``preserve_rng_state``: dropout in the segment draws the same
    numbers when it runs again (ember's CPU generator).

    >>> from ember.utils.checkpoint import checkpoint
    >>> lin = ember.nn.Linear(3, 2)
    >>> x = ember.ones(4, 3, requires_grad=True)
    >>> checkpoint(lin, x, use_reentrant=False).sum().backward()
    >>> lin.weight.grad
    tensor([[4., 4., 4.],
            [4., 4., 4.]])
    """
    if not is_grad_enabled():
        return function(*args, **kwargs)
    state = random.get_rng_state() if preserve_rng_state else None
    tensors = [a for a in args if isinstance(a, Tensor)]

    def run(inputs, restore=True):
        if state is not None and restore:
            now = random.get_rng_state()
            random.set_rng_state(state)
        try:
            it = iter(inputs)
            return function(*[next(it) if isinstance(a, Tensor) else a for a in args], **kwargs)
        finally:
            if state is not None and restore:
                random.set_rng_state(now)

    inputs = [t.detach().requires_grad_(t.requires_grad) for t in tensors]
    outs = run(inputs, restore=False)
    single = isinstance(outs, Tensor)
    outs = (outs,) if single else tuple(outs)
    if not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(f'checkpoint: the function must return a Tensor or a tuple of Tensors, '
                        f'got {[type(o).__name__ for o in outs]}')
    leaves = _leaves(outs, inputs)
    values = tuple(o.detach() for o in outs)
    del outs   # the first run's graph and intermediate values go here
    result = _Checkpoint.apply(run, values if not single else values[0], len(tensors),
                               *tensors, *leaves)
    return result


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (an ``nn.Sequential`` or a list of callables) one after another in
    ``segments`` checkpointed pieces; the last piece runs as usual, as in torch.

    >>> from ember.utils.checkpoint import checkpoint_sequential
    >>> net = ember.nn.Sequential(*[ember.nn.Linear(4, 4) for _ in range(4)])
    >>> checkpoint_sequential(net, 2, ember.ones(1, 4), use_reentrant=False).shape
    ember.Size([1, 4])
    """
    functions = list(functions.children()) if hasattr(functions, 'children') else \
        list(functions)
    if not isinstance(segments, int) or segments < 1:
        raise ValueError(f'checkpoint_sequential: segments must be a positive int, got '
                         f'{segments!r}')
    size = max(len(functions) // segments, 1)

    def piece(lo, hi):
        def run(x):
            for f in functions[lo:hi]:
                x = f(x)
            return x
        return run

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(piece(start, end + 1), input, **kwargs)
    return piece(end + 1, len(functions))(input)
