"""``DeepLift`` with the Rescale rule, as Captum implements it.

The model runs once on the inputs and the baselines stacked into one batch. Each nonlinear
module (``ReLU``, ``ELU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``, ``Softplus``, the max
pools, ``Softmax``) gets a backward hook that replaces its gradient by the multiplier
``delta_out / delta_in`` (where ``|delta_in| >= eps``; the ordinary gradient elsewhere); a
max pool's multiplier moves ``max(out, out_ref) - out_ref`` to the input's maxima and
``out - max(out, out_ref)`` to the baseline's, as Captum's ``maxpool`` rule does. The
attributions are ``(inputs - baselines)`` times the resulting gradient. Functional
nonlinearities (``F.relu`` inside ``forward``) keep their ordinary gradient, as in Captum.
"""
from __future__ import annotations

import inspect

from .. import nn
from ..autograd import enable_grad, grad as _grad, no_grad
from ..ops.index import where
from ..ops.join import cat
from ..ops.piecewise import maximum
from ._common import answer, as_baselines, as_tuple, extra_args, repeat, run
from .gradient import Attribution

_POOLS = {nn.MaxPool1d: nn.functional.max_pool1d, nn.MaxPool2d: nn.functional.max_pool2d,
          nn.MaxPool3d: nn.functional.max_pool3d}
_RESCALED = (nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Softmax)


def _rescale(module, x, y, grad_in, grad_out, eps):
    """Captum's ``nonlinear`` (and, for Softmax, ``softmax``) rule."""
    (x0, x1), (y0, y1) = x.chunk(2), y.chunk(2)
    d_in, d_out = cat([x0 - x1] * 2), cat([y0 - y1] * 2)
    new = where(d_in.abs() < eps, grad_in, grad_out * d_out / d_in)
    if isinstance(module, nn.Softmax):
        new = new - new.sum() * (1 / grad_in.numel())
    return new


def _maxpool(module, x, y, grad_in, grad_out, eps):
    """Captum's ``maxpool`` rule: the output differences taken back to the maxima of each
    half (an unpooling, here a scatter-add by the pool's indices), then divided by the input
    differences."""
    (x0, x1), (y0, y1) = x.chunk(2), y.chunk(2)
    d_in = cat([x0 - x1] * 2)
    top = maximum(y0, y1)
    d_out = cat([top - y1, y0 - top])
    _, idx = _POOLS[type(module)](x, module.kernel_size, module.stride, module.padding,
                                  module.dilation, module.ceil_mode, True)
    vals = grad_out * d_out
    n, c = x.shape[:2]
    unpooled = (x.new_zeros(n, c, x[0, 0].numel())
                .scatter_add(2, idx.reshape(n, c, -1), vals.reshape(n, c, -1)).reshape(x.shape))
    u0, u1 = unpooled.chunk(2)
    return where(d_in.abs() < eps, grad_in, cat([u0 + u1] * 2) / d_in)


class DeepLift(Attribution):
    """DeepLIFT's Rescale rule (Shrikumar et al. 2017), with Captum's ``DeepLift`` names and
    arithmetic: attributions of ``inputs`` against ``baselines`` (zeros by default) that
    add up to ``f(inputs) - f(baselines)`` for models of the supported layers
    (``return_convergence_delta=True`` returns the gap). ``model`` must be a Module whose
    nonlinearities are modules, each used once per forward. Where one nonlinear module feeds
    the next directly (ReLU then MaxPool2d), Captum's first rule sees the second's ordinary
    gradient rather than its multipliers, which can break that sum; ember does the same by
    default, for Captum's numbers, and ``follow_captum=False`` chains the multipliers
    (DeepLIFT's chain rule), keeping the sum.

    >>> model = ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.ReLU(),
    ...                             ember.nn.Linear(2, 1))
    >>> dl = ember.explain.DeepLift(model)
    >>> x = ember.tensor([[1.0, -2.0]])
    >>> attr, delta = dl.attribute(x, target=0, return_convergence_delta=True)
    >>> attr.shape, delta.abs().item() < 1e-5
    (ember.Size([1, 2]), True)
    """
    convergence_delta = True

    def __init__(self, model, multiply_by_inputs=True, eps=1e-10, follow_captum=True) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f'DeepLift: model must be an ember.nn.Module, got '
                            f'{type(model).__name__}')
        super().__init__(model)
        self.model = model
        self.multiplies_by_inputs = multiply_by_inputs
        self.eps = eps
        self.follow_captum = follow_captum

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  return_convergence_delta=False, custom_attribution_func=None):
        """DeepLIFT attributions of ``inputs`` against ``baselines`` (None: zeros) for the
        ``target`` outputs; ``custom_attribution_func(multipliers[, inputs[, baselines]])``
        replaces ``(inputs - baselines) * multipliers``."""
        who = 'DeepLift.attribute'
        xs, single = as_tuple(inputs, who)
        bs = as_baselines(baselines, xs, who)
        args = extra_args(additional_forward_args)
        leaves = tuple(x.detach().requires_grad_() for x in xs)
        handles = self._hook()
        try:
            with enable_grad():
                both = tuple(cat([x, b]) for x, b in zip(leaves, bs))
                out = run(self.model, both, repeat(target, 2),
                          tuple(repeat(a, 2) for a in args), who)
                grads = _grad(out.sum(), leaves, allow_unused=True)
        finally:
            for h in handles:
                h.remove()
        with no_grad():
            if custom_attribution_func is not None:
                attrs = _custom(custom_attribution_func, grads, xs, bs)
            elif self.multiplies_by_inputs:
                attrs = [(x - b) * g for x, b, g in zip(xs, bs, grads)]
            else:
                attrs = list(grads)
        result = answer(attrs, single)
        if return_convergence_delta:
            return result, self.compute_convergence_delta(result, bs, xs, target, args)
        return result

    def _hook(self):
        """Forward hooks keeping each nonlinear module's input and output, and backward hooks
        replacing its gradient by the multipliers.

        NOTE: Captum hooks the gradient of a module's output tensor to read its grad_output,
        and the next module's input tensor to replace its grad_input. Where one hooked module
        feeds the next directly (ReLU then MaxPool2d in LeNet), both hooks sit on one tensor
        and the first reads the gradient before the second replaces it: the ReLU's rule sees
        the max pool's ordinary gradient, not its multipliers. ember does the same by default
        (``follow_captum=True``), so that the attributions are Captum's; a tensor counts as
        passed on directly when the next module gets the same array. The sum of such
        attributions can miss ``f(x) - f(baseline)`` (by 4% on LeNet with a random baseline,
        tests/test_explain.py); ``follow_captum=False`` chains the multipliers throughout, as
        DeepLIFT's chain rule does, and keeps that sum."""
        seen, raw, fed = {}, {}, {}
        handles = []

        def forward_hook(module, args, out):
            if id(module) in seen:
                raise RuntimeError(f'DeepLift: {type(module).__name__} module is called more '
                                   f'than once in one forward; DeepLift needs one module per '
                                   f'use (make a new nn.{type(module).__name__}() for each)')
            x = args[0]
            for other, (_, y) in seen.items():
                if y._data is x._data:
                    fed[other] = id(module)
            seen[id(module)] = (x.detach(), out.detach())

        def backward_hook(module, grad_input, grad_output):
            x, y = seen[id(module)]
            raw[id(module)] = grad_input[0]
            g_out = raw.get(fed.get(id(module)), grad_output[0]) if self.follow_captum \
                else grad_output[0]
            rule = _maxpool if type(module) in _POOLS else _rescale
            with no_grad():
                return (rule(module, x, y, grad_input[0], g_out, self.eps),) \
                    + tuple(grad_input[1:])

        for m in self.model.modules():
            if isinstance(m, _RESCALED) or type(m) in _POOLS:
                handles.append(m.register_forward_hook(forward_hook))
                handles.append(m.register_full_backward_hook(backward_hook))
        return handles


def _custom(fn, grads, xs, bs):
    """Captum's ``custom_attribution_func``: called with the multipliers, then the inputs,
    then the baselines, each a tuple when more than one is needed."""
    n = len(inspect.signature(fn).parameters)
    out = fn(tuple(grads)) if n == 1 else fn(tuple(grads), tuple(xs)) if n == 2 else \
        fn(tuple(grads), tuple(xs), tuple(bs))
    return list(out) if isinstance(out, tuple) else [out]
