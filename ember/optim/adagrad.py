"""Adagrad: per-coordinate step sizes from the running sum of squared gradients."""
from __future__ import annotations

from typing import TYPE_CHECKING
from ..backend import namespace
from .optimizer import Optimizer, _check_at_least_zero

if TYPE_CHECKING:
    from .._typing import Params


class Adagrad(Optimizer):
    """PyTorch's Adagrad: ``s += g**2``; ``p -= clr * g / (sqrt(s) + eps)`` with the decayed
    rate ``clr = lr / (1 + (step - 1) * lr_decay)``.

    >>> w = ember.nn.Parameter(ember.tensor([1.0]))
    >>> opt = ember.optim.Adagrad([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)
    0.9
    """

    def __init__(self, params: Params, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, maximize: bool = False) -> None:
        _check_at_least_zero('Adagrad', lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                             initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def update(self, p, g, state, group):
        if not state:
            state['step'] = 0
            state['sum'] = namespace(p._data).full_like(p._data,
                                                       group['initial_accumulator_value'])
        state['step'] += 1
        if group['maximize']:
            g = -g
        if group['weight_decay']:
            g = g + group['weight_decay'] * p._data
        clr = group['lr'] / (1 + (state['step'] - 1) * group['lr_decay'])
        s = state['sum']
        s += g * g
        p._data -= clr * g / (s ** 0.5 + group['eps'])
