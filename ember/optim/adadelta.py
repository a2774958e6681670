"""Adadelta: step sizes from running averages of squared gradients and squared steps."""
from __future__ import annotations

from typing import TYPE_CHECKING
from ..backend import namespace
from .optimizer import Optimizer, _check_at_least_zero

if TYPE_CHECKING:
    from .._typing import Params


class Adadelta(Optimizer):
    """PyTorch's Adadelta: ``v = rho * v + (1 - rho) * g**2``;
    ``delta = sqrt(u + eps) / sqrt(v + eps) * g``; ``u = rho * u + (1 - rho) * delta**2``;
    ``p -= lr * delta``.

    >>> w = ember.nn.Parameter(ember.tensor([1.0]))
    >>> opt = ember.optim.Adadelta([w], lr=1.0)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)
    0.9968
    """

    def __init__(self, params: Params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, maximize: bool = False) -> None:
        _check_at_least_zero('Adadelta', lr=lr)
        if not 0 <= rho <= 1:
            raise ValueError(f'Adadelta: Invalid rho value: {rho}')
        _check_at_least_zero('Adadelta', eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def update(self, p, g, state, group):
        if not state:
            xp = namespace(p._data)
            state['step'] = 0
            state['square_avg'] = xp.zeros_like(p._data)
            state['acc_delta'] = xp.zeros_like(p._data)
        state['step'] += 1
        if group['maximize']:
            g = -g
        if group['weight_decay']:
            g = g + group['weight_decay'] * p._data
        rho, eps = group['rho'], group['eps']
        v, u = state['square_avg'], state['acc_delta']
        v *= rho
        v += (1 - rho) * g * g
        delta = (u + eps) ** 0.5 / (v + eps) ** 0.5 * g
        u *= rho
        u += (1 - rho) * delta * delta
        p._data -= group['lr'] * delta
