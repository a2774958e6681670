"""Module backward hooks: identity autograd nodes around a module's inputs and outputs."""
from .._tensor import Tensor
from ..autograd import Function


class _Outputs(Function):
    @staticmethod
    def forward(ctx, state, *outs):
        ctx.state = state
        return outs

    @staticmethod
    def backward(ctx, *grads):
        ctx.state['grad_output'] = grads
        if not ctx.state.get('has_inputs'):   # no input needs grad: call the hooks now
            _run_hooks(ctx.state, (None,) * ctx.state['n_inputs'])
        return (None,) + grads


class _Inputs(Function):
    @staticmethod
    def forward(ctx, state, *ins):
        ctx.state = state
        return ins

    @staticmethod
    def backward(ctx, *grads):
        return (None,) + _run_hooks(ctx.state, grads)


def _run_hooks(state, grad_input):
    for hook in list(state['module']._backward_hooks):
        r = hook(state['module'], grad_input, state.get('grad_output', ()))
        if r is not None:
            grad_input = tuple(r)
    return grad_input


def wrap_inputs(module, args, state):
    state['module'] = module
    idx = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    state['n_inputs'] = len(idx)
    state['has_inputs'] = bool(idx)
    if not idx:
        return args
    wrapped = _Inputs.apply(state, *[args[i] for i in idx])
    args = list(args)
    for i, w in zip(idx, wrapped):
        args[i] = w
    return tuple(args)


def wrap_outputs(module, out, state):
    single = isinstance(out, Tensor)
    outs = (out,) if single else out
    if not isinstance(outs, tuple) or not all(isinstance(o, Tensor) for o in outs) \
            or not any(o.requires_grad for o in outs):
        return out
    wrapped = _Outputs.apply(state, *outs)
    return wrapped[0] if single else wrapped
