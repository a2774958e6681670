"""Fused primitives behind ``nn.functional``: softmax, log-softmax and the negative
log-likelihood. Each was a composition of a dozen small ops; the benchmark (W2, W3, W5) showed
the per-op cost dominating, so each is one op here, with backward still in ember ops (so
gradients of gradients work) and the same tests as before."""
from .._tensor import Tensor
from ..autograd import Op

__all__ = []


class Softmax(Op):
    save_output = True

    def forward(ctx, x, dim):
        ctx.dim = dim
        e = ctx.xp.exp(x - x.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        return e

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(ctx.dim, keepdim=True))


class LogSoftmax(Op):
    save_output = True

    def forward(ctx, x, dim):
        ctx.dim = dim
        xp = ctx.xp
        s = x - x.max(axis=dim, keepdims=True)
        s -= xp.log(xp.exp(s).sum(axis=dim, keepdims=True))
        return s

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - y.exp() * g.sum(ctx.dim, keepdim=True)


class NllLoss(Op):
    """``-logp[n, target[n]] * weight[target[n]]``, reduced; targets equal to ``ignore`` count
    for nothing, and the mean divides by the summed weights of those that count."""

    def forward(ctx, logp, target, weight, ignore, reduction, cdim):
        xp = ctx.xp
        valid = target != ignore
        safe = xp.where(valid, target, 0)
        w = valid.astype(logp.dtype)
        if weight is not None:
            w *= weight[safe]
        idx = xp.expand_dims(safe, cdim)
        loss = -xp.take_along_axis(logp, idx, cdim).squeeze(cdim) * w
        coef = xp.zeros_like(logp)       # d loss / d logp, before the upstream gradient
        if reduction == 'mean':
            total = w.sum()
            loss = loss.sum() / total
            w = w / total
        elif reduction == 'sum':
            loss = loss.sum()
        xp.put_along_axis(coef, idx, -xp.expand_dims(w, cdim), cdim)
        ctx.coef, ctx.cdim, ctx.none = coef, cdim, reduction == 'none'
        return xp.asarray(loss, dtype=logp.dtype)

    def backward(ctx, g):
        if ctx.none:
            g = g.unsqueeze(ctx.cdim)
        return g * Tensor._make(ctx.coef), None
