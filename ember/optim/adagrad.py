"""Adagrad: per-coordinate step sizes from the running sum of squared gradients."""
from ..backend import namespace
from .optimizer import Optimizer, _check_at_least_zero


class Adagrad(Optimizer):
    """PyTorch's Adagrad: ``s += g**2``; ``p -= clr * g / (sqrt(s) + eps)`` with the decayed
    rate ``clr = lr / (1 + (step - 1) * lr_decay)``.

    >>> w = ember.nn.Parameter(ember.tensor([1.0]))
    >>> opt = ember.optim.Adagrad([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)
    0.9
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, maximize=False):
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
