"""RMSprop: divide the gradient by a running root mean square, optionally centered."""
from __future__ import annotations

from typing import TYPE_CHECKING
from ..backend import namespace
from .optimizer import Optimizer, _check_at_least_zero

if TYPE_CHECKING:
    from .._typing import Params


class RMSprop(Optimizer):
    """PyTorch's RMSprop: ``v = alpha * v + (1 - alpha) * g**2``;
    ``p -= lr * g / (sqrt(v) + eps)``. ``centered=True`` subtracts the squared running mean
    of ``g`` from ``v``; ``momentum`` keeps a buffer of the scaled steps.

    >>> w = ember.nn.Parameter(ember.tensor([1.0]))
    >>> opt = ember.optim.RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)
    0.9
    """

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 maximize: bool = False) -> None:
        _check_at_least_zero('RMSprop', lr=lr, eps=eps, momentum=momentum,
                             weight_decay=weight_decay, alpha=alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def update(self, p, g, state, group):
        if group['maximize']:
            g = -g
        if group['weight_decay']:
            g = g + group['weight_decay'] * p._data
        alpha = group['alpha']
        if not state:
            xp = namespace(p._data)
            state['step'] = 0
            state['square_avg'] = xp.zeros_like(p._data)
            if group['momentum'] > 0:
                state['momentum_buffer'] = xp.zeros_like(p._data)
            if group['centered']:
                state['grad_avg'] = xp.zeros_like(p._data)
        state['step'] += 1
        v = state['square_avg']
        v *= alpha
        v += (1 - alpha) * g * g
        if group['centered']:
            m = state['grad_avg']
            w = 1 - alpha
            # torch's lerp: the form that rounds best for the size of the weight
            m[...] = m + w * (g - m) if abs(w) < 0.5 else g - (g - m) * (1 - w)
            avg = (v - m * m) ** 0.5 + group['eps']
        else:
            avg = v ** 0.5 + group['eps']
        if group['momentum'] > 0:
            buf = state['momentum_buffer']
            buf *= group['momentum']
            buf += g / avg
            p._data -= group['lr'] * buf
        else:
            p._data -= group['lr'] * g / avg
