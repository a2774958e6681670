"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from typing import TYPE_CHECKING
import numpy as np

from ..backend import cuda, namespace
from .optimizer import Optimizer, _check_at_least_zero

if TYPE_CHECKING:
    from .._typing import Params


class SGD(Optimizer):
    """PyTorch's SGD: ``v = momentum * v + (1 - dampening) * g``; ``p -= lr * v`` (or the
    Nesterov step ``g + momentum * v``).

    >>> w = ember.nn.Parameter(ember.tensor([1.0]))
    >>> opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
    >>> round(w.item(), 4)
    0.46
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False,
                 maximize: bool = False) -> None:
        _check_at_least_zero('SGD', lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError('SGD: Nesterov momentum requires a momentum and zero dampening')
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def traceable(self):
        """Without momentum SGD keeps no state: ``ember.compile`` records its update.

        >>> ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1).traceable()
        True
        """
        return all(g['momentum'] == 0 for g in self.param_groups) and \
            all(namespace(p._data) is np for g in self.param_groups for p in g['params'])

    def update(self, p, g, state, group):
        m = group['momentum']
        if namespace(g) is not np and cuda.KERNELS[0] and g.dtype == p._data.dtype and \
                g.dtype in (np.float32, np.float64) and g.flags.c_contiguous and \
                p._data.flags.c_contiguous:   # GPU: queued, many parameters a kernel
            buf = state.get('momentum_buffer') if m else p._data
            first = buf is None
            if first:
                buf = state['momentum_buffer'] = cuda.xp.empty_like(p._data)
            if buf.flags.c_contiguous:
                flags = group['nesterov'] | group['maximize'] << 1 | first << 2
                self._queue(cuda.sgd_steps, (group['lr'], m, group['dampening'],
                                             group['weight_decay'], flags), (p._data, g, buf))
                return
        if group['maximize']:
            g = -g
        if group['weight_decay']:
            g = g + group['weight_decay'] * p._data
        if m:
            buf = state.get('momentum_buffer')
            if buf is None:
                # (a copy as an array: -g of a 0-d g is a NumPy scalar, which `*=` would
                # not update in place)
                buf = state['momentum_buffer'] = namespace(p._data).array(g, copy=True)
            else:
                buf *= m
                buf += (1 - group['dampening']) * g
            g = g + m * buf if group['nesterov'] else buf
        p._data -= group['lr'] * g
