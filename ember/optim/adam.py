"""Adam and AdamW (Adam with decoupled weight decay), with AMSGrad."""
from __future__ import annotations

from typing import TYPE_CHECKING
import math

import numpy as np

from ..backend import cuda, cuda_backend, namespace
from .optimizer import Optimizer, _check_at_least_zero

if TYPE_CHECKING:
    from .._typing import Params


class Adam(Optimizer):
    """PyTorch's Adam. ``decoupled=True`` (AdamW) decays weights by ``lr * weight_decay``
    instead of adding ``weight_decay * p`` to the gradient.

    >>> w = ember.nn.Parameter(ember.tensor([1.0]))
    >>> opt = ember.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)
    0.9
    """

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, maximize: bool = False,
                 decoupled: bool = False) -> None:
        name = type(self).__name__
        _check_at_least_zero(name, lr=lr, eps=eps)
        for i, b in enumerate(betas):
            if not 0 <= b < 1:
                raise ValueError(f'{name}: Invalid beta parameter at index {i}: {b}')
        _check_at_least_zero(name, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, decoupled=decoupled))
        # id(p) -> p, m, v and their 1-D views (the queue's operands)
        self._flat: dict[int, tuple] = {}

    def update(self, p, g, state, group):
        if group['maximize']:
            g = -g
        lr, (b1, b2), wd = group['lr'], group['betas'], group['weight_decay']
        decay = 1 - lr * wd if wd and group['decoupled'] else 1.0
        if wd and not group['decoupled']:
            g = g + wd * p._data
        if not state:
            state['step'] = 0
            xp = namespace(p._data)   # (zeros_like: g * 0 is a NumPy scalar for a 0-d g,
            state['exp_avg'] = xp.zeros_like(p._data)   # not updated in place; and NaN where
            state['exp_avg_sq'] = xp.zeros_like(p._data)   # the first gradient is inf)
            if group['amsgrad']:
                state['max_exp_avg_sq'] = xp.zeros_like(p._data)
        state['step'] += 1
        t, m, v = state['step'], state['exp_avg'], state['exp_avg_sq']
        xp = namespace(g)
        if xp is not np and cuda.KERNELS[0] and not group['amsgrad'] and \
                p._data.dtype == g.dtype:
            coef = (b1, b2, lr / (1 - b1 ** t), math.sqrt(1 - b2 ** t), group['eps'], decay)
            if all(a.flags.c_contiguous for a in (p._data, g, m, v)):   # queued for finish()
                flat = self._flat.get(id(p))
                if flat is None or flat[0] is not p._data or flat[1] is not m \
                        or flat[2] is not v:   # the 1-D views of p, m, v, made once
                    flat = self._flat[id(p)] = (p._data, m, v, p._data.reshape(-1),
                                                m.reshape(-1), v.reshape(-1))
                self._queue(cuda.adam_steps, coef, (flat[3], g, flat[4], flat[5]))   # (g as
                # it is: a CuPy reshape is 5 us of host time; the kernel reads it by flat index)
            else:
                cuda_backend().adam_step(p._data, g, m, v, *coef)
            return
        arrays = [p._data, g, m, v]
        if group['amsgrad']:
            arrays.append(state['max_exp_avg_sq'])
        coef = (b1, b2, math.sqrt(1 - b2 ** t), group['eps'], lr / (1 - b1 ** t), decay)
        if xp is np and g.size > _BLOCK and all(a.flags.c_contiguous for a in arrays):
            # in cache-sized blocks: the dozen passes then run over data in L2, 1.5x faster
            flat = [a.reshape(-1) for a in arrays]
            tmp = np.empty(_BLOCK, g.dtype)
            for s in range(0, g.size, _BLOCK):
                block = [a[s:s + _BLOCK] for a in flat]
                _adam(xp, *block[:4], block[4] if len(block) > 4 else None,
                      tmp[:len(block[0])], *coef)
        else:
            _adam(xp, *arrays[:4], arrays[4] if len(arrays) > 4 else None, xp.empty_like(g),
                  *coef)


_BLOCK = 1 << 16   # elements of each array per block (5 arrays of 256 KiB: about L2's size)


def _adam(xp, p, g, m, v, vmax, tmp, b1, b2, bias2_sqrt, eps, step_size, decay):
    """One Adam step on arrays, in place, with one scratch array ``tmp``."""
    if decay != 1.0:
        p *= decay
    xp.multiply(g, 1 - b1, out=tmp)
    m *= b1
    m += tmp
    xp.multiply(g, g, out=tmp)
    tmp *= 1 - b2
    v *= b2
    v += tmp
    if vmax is not None:
        xp.maximum(vmax, v, out=vmax)   # the running maximum of v
        v = vmax
    # step_size m / (sqrt(v) / bias2_sqrt + eps), with bias2_sqrt moved out of the
    # denominator: one pass fewer (a 64k block 132 -> 118 us), the same result to an ulp
    xp.sqrt(v, out=tmp)
    tmp += eps * bias2_sqrt
    xp.divide(m, tmp, out=tmp)
    tmp *= step_size * bias2_sqrt
    p -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01), as ``torch.optim.AdamW``.

    >>> w = ember.nn.Parameter(ember.tensor([1.0]))
    >>> opt = ember.optim.AdamW([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)
    0.899
    """

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize,
                         decoupled=True)
