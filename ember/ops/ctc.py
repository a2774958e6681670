"""The connectionist temporal classification loss (Graves et al., 2006): the forward-backward
algorithm over the blank-extended targets, in log space, on the host (NumPy), batched over
the samples and the extended positions, one step per time.

The gradient is torch's: with respect to ``log_probs`` taken as the output of a log-softmax,
``exp(lp) - exp(log(sum_s alpha beta) + nll - lp)`` (what the logits' gradient is once
log-softmax's backward has run), zero past each sample's input length.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor, get_xp
from ..autograd import Op
from ..backend import host

__all__ = ['ctc_loss']

_NEG = -np.inf


def _lse(*xs):
    """``log(sum(exp(x)))`` elementwise over the arrays, -inf where all are -inf."""
    m = np.maximum.reduce(xs)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide='ignore'):   # log(0) = -inf: no path
        return np.log(sum(np.exp(x - safe) for x in xs)) + safe


def _extended(targets, tl, blank):
    """The blank-extended labels (N, 2S + 1), whether each may skip the one two back, and
    which positions lie inside each sample's 2 tl + 1."""
    n, s = targets.shape
    ext = np.full((n, 2 * s + 1), blank, dtype=np.int64)
    ext[:, 1::2] = targets
    skip = np.zeros(ext.shape, bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    inside = np.arange(2 * s + 1) < (2 * tl + 1)[:, None]
    return ext, skip, inside


def _shift(a, k):
    """``a`` moved ``k`` places along the last axis (right for k > 0), -inf filled."""
    out = np.full_like(a, _NEG)
    if k > 0:
        out[:, k:] = a[:, :-k]
    else:
        out[:, :k] = a[:, -k:]
    return out


def _alpha(emit, skip, inside):
    """The forward variables: log-probability of each prefix of the extended labels after
    each time step, (T, N, 2S + 1)."""
    alpha = np.full(emit.shape, _NEG)
    alpha[0, :, :2] = emit[0, :, :2]
    alpha[0][~inside] = _NEG
    for t in range(1, emit.shape[0]):
        a = alpha[t - 1]
        alpha[t] = emit[t] + _lse(a, _shift(a, 1), np.where(skip, _shift(a, 2), _NEG))
        alpha[t][~inside] = _NEG
    return alpha


class CtcLoss(Op):
    """Each sample's negative log-likelihood of its target over all alignments."""
    save = (0,)

    def forward(ctx, lp, targets, il, tl, blank, zero_infinity):
        lp_h = host(lp).astype(np.float64)
        ext, skip, inside = _extended(targets, tl, blank)
        n = np.arange(lp_h.shape[1])
        emit = lp_h[:, n[:, None], ext]                        # (T, N, 2S + 1)
        alpha = _alpha(emit, skip, inside)
        last = alpha[np.maximum(il - 1, 0), n]                 # (N, 2S + 1)
        nll = -_lse(last[n, 2 * tl], np.where(tl > 0, last[n, np.maximum(2 * tl - 1, 0)], _NEG))
        nll = np.where(il == 0, np.where(tl == 0, 0.0, np.inf), nll)   # (no time steps)
        ctx.keep = (lp_h, ext, skip, inside, emit, alpha, nll, il, zero_infinity)
        out = np.where(zero_infinity & np.isinf(nll), 0.0, nll)
        return ctx.xp.asarray(out.astype(lp.dtype))

    def backward(ctx, g):
        (lp,) = ctx.saved_tensors
        return CtcLossBackward.apply(g, lp, keep=ctx.keep)

    def release(self):
        Op.release(self)
        self.keep = None


class CtcLossBackward(Op):
    """``g`` times torch's gradient; like torch's, it has no derivative of its own."""

    def forward(ctx, g, lp, keep):
        grad = ctx.xp.asarray(_gradient(*keep).astype(g.dtype))
        return g.reshape(1, -1, 1) * grad

    def backward(ctx, gg):
        raise NotImplementedError('ctc_loss: the derivative of its backward is not '
                                  'implemented (nor is it in torch): no second-order '
                                  'gradients through ctc_loss')


def _gradient(lp, ext, skip, inside, emit, alpha, nll, il, zero_infinity):
    """torch's ``d nll / d log_probs`` (see the module's docstring), from beta's recursion."""
    t_max, n, c = lp.shape
    beta = np.full(emit.shape, _NEG)
    skip_up = np.zeros(skip.shape, bool)       # whether position s may go on to s + 2
    skip_up[:, :-2] = skip[:, 2:]
    end = 2 * (inside.sum(1) // 2)             # the last blank: 2 tl
    start = np.full(ext.shape, _NEG)           # where beta starts at t = il - 1
    start[np.arange(n), end] = 0.0
    start[np.arange(n), np.maximum(end - 1, 0)] = np.where(end > 0, 0.0, start[np.arange(n), 0])
    for t in range(t_max - 1, -1, -1):
        if t + 1 < t_max:
            b = beta[t + 1]
            nxt = _lse(b, _shift(b, -1), np.where(skip_up, _shift(b, -2), _NEG))
        else:
            nxt = np.full(ext.shape, _NEG)
        nxt = np.where((t == il - 1)[:, None], start, np.where((t < il - 1)[:, None], nxt, _NEG))
        beta[t] = emit[t] + nxt
        beta[t][~inside] = _NEG
    ab = alpha + beta                                          # (T, N, 2S + 1)
    m = ab.max(2, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    onehot = (ext[:, :, None] == np.arange(c)) & inside[:, :, None]
    with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
        lcab = np.log(np.einsum('tns,nsc->tnc', np.exp(ab - m), onehot.astype(np.float64))) + m
        grad = np.exp(lp) - np.exp(lcab + nll[:, None] - lp)
    grad[np.arange(t_max)[:, None] >= il] = 0.0
    if zero_infinity:
        grad[:, np.isinf(nll)] = 0.0
    return grad


def _lengths(v, n, name, fn):
    a = np.asarray(host(v._data) if isinstance(v, Tensor) else v).reshape(-1)
    if a.dtype.kind not in 'iu' or a.shape != (n,):
        raise RuntimeError(f'{fn}: expected {name} of {n} integers (one per sample), got '
                           f'{a.shape} of {a.dtype}')
    return a.astype(np.int64)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths,
             blank: int = 0, reduction: str = 'mean', zero_infinity: bool = False) -> Tensor:
    """The CTC loss of ``log_probs`` (T, N, C) (log-softmax outputs; or unbatched (T, C))
    against ``targets``, padded (N, S) or concatenated (sum(target_lengths),), with each
    sample's ``input_lengths`` and ``target_lengths`` (tensors or sequences). ``'mean'``
    divides each loss by its target length, then averages; ``zero_infinity`` turns the
    infinite losses of impossible alignments (and their gradients) into zeros. The gradient
    is torch's: correct for the logits behind a log-softmax.

    >>> lp = ember.tensor([[[0.5, 0.5]], [[0.5, 0.5]]]).log()
    >>> ember.nn.functional.ctc_loss(lp, ember.tensor([[1]]), [2], [1], reduction='sum')
    tensor(0.2877)
    """
    fn = 'ctc_loss'
    if reduction not in ('none', 'mean', 'sum'):
        raise ValueError(f"{fn}: {reduction!r} is not a valid value for reduction; expected "
                         f"one of 'none', 'mean', 'sum'")
    if log_probs.ndim not in (2, 3) or not log_probs.dtype.is_floating_point:
        raise RuntimeError(f'{fn}: expected log_probs of shape (T, N, C) or (T, C) and a '
                           f'floating dtype, got {list(log_probs.shape)} of {log_probs.dtype}')
    batched = log_probs.ndim == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    t_max, n, c = lp.shape
    if not 0 <= blank < c:
        raise RuntimeError(f'{fn}: blank must be in label range 0..{c - 1}, got {blank}')
    il = _lengths(input_lengths, n, 'input_lengths', fn)
    tl = _lengths(target_lengths, n, 'target_lengths', fn)
    tg = np.asarray(host(targets._data) if isinstance(targets, Tensor) else targets)
    if tg.dtype.kind not in 'iu':
        raise RuntimeError(f'{fn}: expected integer targets, got {tg.dtype}')
    if il.min(initial=0) < 0 or il.max(initial=0) > t_max or tl.min(initial=0) < 0:
        raise RuntimeError(f'{fn}: expected input_lengths in 0..{t_max} (the length of '
                           f'log_probs {list(log_probs.shape)}) and non-negative target_lengths,'
                           f' got {il.tolist()} and {tl.tolist()}')
    s = int(tl.max(initial=0))
    if not batched:
        tg = tg.reshape(1, -1)
    elif tg.ndim == 1:   # the targets concatenated
        if tg.size != tl.sum():
            raise RuntimeError(f'{fn}: concatenated targets of {tg.size} labels do not match '
                               f'target_lengths summing to {tl.sum()}')
        pad = np.zeros((n, s), np.int64)
        for i, (a, b) in enumerate(zip(np.cumsum(tl) - tl, tl)):
            pad[i, :b] = tg[a:a + b]
        tg = pad
    if tg.ndim != 2 or tg.shape[0] != n or tg.shape[1] < s:
        raise RuntimeError(f'{fn}: expected targets of shape ({n}, >= {s}) or the '
                           f'concatenation of {int(tl.sum())} labels, got {list(tg.shape)}')
    tg = tg[:, :s].astype(np.int64)
    used = np.arange(s) < tl[:, None]
    if ((tg < 0) | (tg >= c) | (tg == blank))[used].any():
        raise RuntimeError(f'{fn}: target labels must be in 0..{c - 1} and not blank ({blank})')
    loss = CtcLoss.apply(lp, targets=tg, il=il, tl=tl, blank=blank,
                         zero_infinity=zero_infinity)
    if reduction == 'mean':
        div = Tensor._make(get_xp(loss).asarray(np.maximum(tl, 1).astype(loss.dtype.np)))
        return (loss / div).mean()
    if reduction == 'sum':
        return loss.sum()
    return loss if batched else loss.squeeze(0)
