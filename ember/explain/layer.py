"""Layer attributions: ``LayerGradCam`` and ``LayerAttribution.interpolate``."""
from __future__ import annotations

from .. import nn
from .._tensor import Tensor
from ..autograd import enable_grad, grad as _grad, no_grad
from ._common import answer, as_tuple, extra_args, run
from .gradient import Attribution


class LayerAttribution(Attribution):
    """The base of attributions to a layer's output (or input) rather than to the model's
    inputs; ``layer`` is a submodule of the model.

    >>> model = ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.ReLU())
    >>> ember.explain.LayerGradCam(model, model[0]).layer is model[0]
    True
    """

    def __init__(self, forward_func, layer, device_ids=None) -> None:
        super().__init__(forward_func)
        if not isinstance(layer, nn.Module):
            raise TypeError(f'{type(self).__name__}: layer must be an ember.nn.Module, got '
                            f'{type(layer).__name__}')
        self.layer = layer
        self.device_ids = device_ids

    @staticmethod
    def interpolate(layer_attribution, interpolate_dims, interpolate_mode='nearest'):
        """A layer attribution (N, C, ...) resized to ``interpolate_dims`` (an int or a
        tuple), e.g. a Grad-CAM map brought up to the input's height and width
        (``F.interpolate``; ``interpolate_mode``: ``'nearest'``, ``'bilinear'`` ...).

        >>> a = ember.tensor([[[[1., 2.], [3., 4.]]]])
        >>> ember.explain.LayerAttribution.interpolate(a, (4, 4))[0, 0, 0]
        tensor([1., 1., 2., 2.])
        """
        return nn.functional.interpolate(layer_attribution, interpolate_dims,
                                         mode=interpolate_mode)


class LayerGradCam(LayerAttribution):
    """Grad-CAM (Selvaraju et al. 2017; Captum's ``LayerGradCam``): the layer's activations
    weighted by the mean over their spatial dimensions of the target output's gradient,
    summed over channels (``attr_dim_summation``), optionally through a ReLU
    (``relu_attributions``). The result has the layer's spatial shape with one channel;
    ``LayerAttribution.interpolate`` brings it to the input's.

    >>> model = ember.nn.Sequential(ember.nn.Conv2d(1, 2, 3), ember.nn.ReLU(),
    ...                             ember.nn.Flatten(), ember.nn.Linear(8, 3))
    >>> cam = ember.explain.LayerGradCam(model, model[0])
    >>> cam.attribute(ember.randn(5, 1, 4, 4), target=1).shape
    ember.Size([5, 1, 2, 2])
    """

    def attribute(self, inputs, target=None, additional_forward_args=None,
                  attribute_to_layer_input=False, relu_attributions=False,
                  attr_dim_summation=True, grad_kwargs=None):
        """Grad-CAM of ``layer`` for the ``target`` outputs: its output's (or, with
        ``attribute_to_layer_input``, its input's) activations weighted by their mean
        gradients. ``grad_kwargs`` (arguments for ``torch.autograd.grad``) must be None."""
        if grad_kwargs:
            raise ValueError(f'LayerGradCam.attribute: grad_kwargs are not supported, got '
                             f'{sorted(grad_kwargs)}')
        who = 'LayerGradCam.attribute'
        xs, _ = as_tuple(inputs, who)
        grads, evals = layer_gradients_and_eval(self.forward_func, self.layer, xs, target,
                                                extra_args(additional_forward_args),
                                                attribute_to_layer_input, who)
        out = []
        with no_grad():
            for g, a in zip(grads, evals):
                if g.dim() > 2:
                    g = g.mean(dim=tuple(range(2, g.dim())), keepdim=True)
                s = (g * a).sum(dim=1, keepdim=True) if attr_dim_summation else g * a
                out.append(nn.functional.relu(s) if relu_attributions else s)
        return answer(out, len(out) == 1)


def layer_gradients_and_eval(forward, layer, xs, target, args, to_input, who):
    """The gradients of the target outputs with respect to ``layer``'s outputs (or inputs)
    and their values, both as tuples (Captum's ``compute_layer_gradients_and_eval``)."""
    kept = []

    def keep(ts):
        ts = [t if t.requires_grad else t.detach().requires_grad_() for t in ts]
        kept.extend(ts)
        return ts

    def pre_hook(module, args):
        if kept:
            raise RuntimeError(f'{who}: the layer {type(module).__name__} ran more than once')
        tensors = iter(keep([a for a in args if isinstance(a, Tensor)]))
        return tuple(next(tensors) if isinstance(a, Tensor) else a for a in args)

    def hook(module, args, out):
        if kept:
            raise RuntimeError(f'{who}: the layer {type(module).__name__} ran more than once')
        single = isinstance(out, Tensor)
        new = keep([out] if single else list(out))
        return new[0] if single else tuple(new)

    handle = layer.register_forward_pre_hook(pre_hook) if to_input else \
        layer.register_forward_hook(hook)
    try:
        with enable_grad():
            out = run(forward, tuple(x.detach() for x in xs), target, args, who)
            if not kept:
                raise RuntimeError(f'{who}: the layer {type(layer).__name__} did not run in '
                                   f'the forward pass')
            grads = _grad(out.sum(), kept, allow_unused=True)
    finally:
        handle.remove()
    return grads, tuple(t.detach() for t in kept)
