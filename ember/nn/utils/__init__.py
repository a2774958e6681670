"""``ember.nn.utils``: gradient clipping and flattening parameters to one vector, as in
``torch.nn.utils``. Every function works without recording gradients. ``foreach`` is accepted
for torch's signatures; ember has no fused multi-tensor kernels, so either way is one loop."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..._tensor import Tensor, tensor
from ...autograd import no_grad
from ...ops.join import cat, stack

if TYPE_CHECKING:   # (for annotations only: the module's namespace stays torch's)
    from typing import Iterable

    Tensors = Tensor | Iterable[Tensor]

__all__ = ['clip_grad_norm_', 'clip_grad_value_', 'get_total_norm', 'clip_grads_with_norm_',
           'parameters_to_vector', 'vector_to_parameters']


def _as_list(tensors: Tensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(t, p):
    """The p-norm of all elements of ``t`` (torch.linalg.vector_norm)."""
    a = t.abs().reshape(-1)
    if p == math.inf:
        return a.amax() if a.numel() else a.sum()
    if p == -math.inf:
        return a.amin()
    if p == 0:
        return (a != 0).sum().to(t.dtype)
    if p == 1:
        return a.sum()
    if p == 2:
        return (a * a).sum().sqrt()
    return (a ** p).sum() ** (1.0 / p)


@no_grad()
def get_total_norm(tensors: Tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The ``norm_type`` norm of all ``tensors`` together, as if concatenated into one vector
    (the norm of their norms); ``'inf'`` or ``math.inf`` is the largest absolute value.

    >>> ember.nn.utils.get_total_norm([ember.tensor([3.0]), ember.tensor([4.0])])
    tensor(5.)
    """
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    norms = [_vector_norm(t, norm_type) for t in tensors]
    first = tensors[0].device
    total = _vector_norm(stack([n.to(first) for n in norms]), norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(f'The total norm of order {norm_type} for gradients from '
                           f'`parameters` is non-finite, so it cannot be clipped. To disable '
                           f'this error and scale the gradients by the non-finite norm '
                           f'anyway, set `error_if_nonfinite=False`')
    return total


@no_grad()
def clip_grads_with_norm_(parameters: Tensors, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale the gradients in place by ``min(max_norm / (total_norm + 1e-6), 1)``.

    >>> p = ember.nn.Parameter(ember.zeros(2)); p.grad = ember.tensor([3.0, 4.0])
    >>> ember.nn.utils.clip_grads_with_norm_([p], 1.0, ember.tensor(5.0)); p.grad
    tensor([0.6000, 0.8000])
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.to(g.device).to(g.dtype))


@no_grad()
def clip_grad_norm_(parameters: Tensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale the gradients of ``parameters`` in place so that their total ``norm_type`` norm
    is at most ``max_norm``; returns the total norm before clipping. With
    ``error_if_nonfinite``, a nan or inf total norm raises instead.

    >>> p = ember.nn.Parameter(ember.zeros(2)); p.grad = ember.tensor([3.0, 4.0])
    >>> ember.nn.utils.clip_grad_norm_([p], max_norm=1.0), p.grad
    (tensor(5.), tensor([0.6000, 0.8000]))
    """
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


@no_grad()
def clip_grad_value_(parameters: Tensors, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient in place to ``[-clip_value, clip_value]``.

    >>> p = ember.nn.Parameter(ember.zeros(3)); p.grad = ember.tensor([-5.0, 0.5, 2.0])
    >>> ember.nn.utils.clip_grad_value_(p, 1.0); p.grad
    tensor([-1.0000,  0.5000,  1.0000])
    """
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            p.grad.clamp_(min=-clip_value, max=clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All ``parameters`` flattened and concatenated into one 1-D tensor (a copy).

    >>> lin = ember.nn.Linear(3, 2)
    >>> ember.nn.utils.parameters_to_vector(lin.parameters()).shape
    ember.Size([8])
    """
    params = list(parameters)
    if not params:
        raise RuntimeError('parameters_to_vector: expected at least one parameter')
    device = params[0].device
    for p in params:
        if p.device != device:
            raise TypeError(f'parameters_to_vector: found two parameters on different '
                            f'devices, {device} and {p.device}')
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters`` in place (the inverse of
    ``parameters_to_vector``).

    >>> lin = ember.nn.Linear(2, 1)
    >>> ember.nn.utils.vector_to_parameters(ember.tensor([1.0, 2.0, 3.0]), lin.parameters())
    >>> lin.weight.tolist(), lin.bias.tolist()
    ([[1.0, 2.0]], [3.0])
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f'vector_to_parameters: expected vec to be a Tensor, but got '
                        f'{type(vec).__name__}')
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise RuntimeError(f'vector_to_parameters: expected a 1-D vector of {total} elements '
                           f'(the parameters\' total), got shape {list(vec.shape)}')
    start = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.fill_(0)   # NOTE: copy_ would keep a NaN or inf already in p; clear it first
            p.copy_(vec[start:start + n].reshape(tuple(p.shape)))
            start += n
