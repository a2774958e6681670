"""Fused primitives behind ``nn.functional``: softmax, log-softmax, the negative
log-likelihood, normalisation, layer norm and attention. Each was a composition of a dozen
small ops; the benchmark (W2, W3, W5) showed the per-op cost dominating, so each is one op
here, with backward still in ember ops (so gradients of gradients work) and the same tests as
before."""
import numpy as np

from .._tensor import Tensor
from ..autograd import Op, is_grad_enabled
from .index import where
from ..backend import cuda, traced   # (cuda: reached only with CuPy arrays)
from .convert import astype
from .elementwise import HALF, narrow, wide
from .linalg import _column_sums, gemm

__all__ = []


_EINSUM = (np.dtype(np.float32), np.dtype(np.float64))   # (not bfloat16)


def _max(xp, x, dim):
    """``x.max(dim, keepdims=True)``. NumPy reduces a short last axis row by row (15 us for
    300 rows of 3, 80 us for 1,024 rows of 10); down the first axis of the transposed copy it
    runs across rows (2 and 7 us), up to about 64 columns."""
    c = x.shape[-1] if x.ndim else 0
    if xp is np and dim == x.ndim - 1 and 1 < c <= 64 and x.size:
        flat = x.reshape(-1, c).T.copy()   # (a method: ember.compile's tracer sees it)
        return flat.max(axis=0).reshape(x.shape[:-1] + (1,))
    return x.max(axis=dim, keepdims=True)


def _short_rows(xp, x):
    """Whether sums along ``x``'s last axis go through NumPy's einsum, which runs across rows
    (300 rows of 3: 3 us against ``sum``'s 6, 1,024 rows of 128: 3x faster than ``mean``):
    float32/float64 rows of up to 256 values; longer rows keep NumPy's pairwise sum, the more
    accurate."""
    return xp is np and x.ndim > 1 and x.shape[-1] <= 256 and x.dtype in _EINSUM


def _sum(xp, x, dim):
    """``x.sum(dim, keepdims=True)``, by einsum down short rows (``_short_rows``)."""
    if dim == x.ndim - 1 and _short_rows(xp, x):
        return np.einsum('ij->i', x.reshape(-1, x.shape[-1])).reshape(x.shape[:-1] + (1,))
    return x.sum(axis=dim, keepdims=True)


def _kernels(xp, x):
    """Whether (log-)softmax of ``x`` runs as ``backend.cuda``'s kernels: float32/float64 GPU
    arrays with elements and axes (half precision keeps the composite, which sums in
    float32), the kernels on (``backend.cuda.KERNELS``)."""
    return xp is not np and cuda.KERNELS[0] and x.ndim and x.size and x.dtype in _EINSUM


class Softmax(Op):
    save_output = True

    def forward(ctx, x, dim):
        ctx.dim = dim = dim if x.ndim else None   # CuPy has no axis 0 on a 0-d array
        xp = ctx.xp
        if _kernels(xp, x):
            return cuda.softmax(x, dim)
        if x.dtype in HALF:   # in float32, rounded once (as torch)
            return narrow(xp, Softmax.forward(ctx, wide(x), dim), x.dtype)
        e = xp.exp(x - _max(xp, x, dim))
        e /= _sum(xp, e, dim)
        return e

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(ctx.dim, keepdim=True))

    def fast_backward(ctx, g):
        (y,) = ctx.saved_arrays
        if _kernels(ctx.xp, y) and g.dtype == y.dtype:
            return cuda.softmax_grad(y, g, ctx.dim)
        if y.dtype in HALF:
            y, g, dt = wide(y), wide(g), g.dtype
            return narrow(ctx.xp, y * (g - _sum(ctx.xp, g * y, ctx.dim)), dt)
        gy = g * y
        gy -= y * _sum(ctx.xp, gy, ctx.dim)
        return gy


class LogSoftmax(Op):
    save_output = True

    def forward(ctx, x, dim):
        ctx.dim = dim = dim if x.ndim else None   # CuPy has no axis 0 on a 0-d array
        xp = ctx.xp
        if _kernels(xp, x):
            return cuda.softmax(x, dim, log=True)
        if x.dtype in HALF:   # in float32, rounded once (as torch)
            return narrow(xp, LogSoftmax.forward(ctx, wide(x), dim), x.dtype)
        s = x - _max(xp, x, dim)
        s -= xp.log(_sum(xp, xp.exp(s), dim))
        return s

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - y.exp() * g.sum(ctx.dim, keepdim=True)

    def fast_backward(ctx, g):
        (y,) = ctx.saved_arrays
        if _kernels(ctx.xp, y) and g.dtype == y.dtype:
            return cuda.softmax_grad(y, g, ctx.dim, log=True)
        if y.dtype in HALF:
            y, g, dt = wide(y), wide(g), g.dtype
            return narrow(ctx.xp, g - ctx.xp.exp(y) * _sum(ctx.xp, g, ctx.dim), dt)
        out = ctx.xp.exp(y)
        out *= -_sum(ctx.xp, g, ctx.dim)
        out += g
        return out


class NllLoss(Op):
    """``-logp[n, target[n]] * weight[target[n]]``, reduced; targets equal to ``ignore`` count
    for nothing, and the mean divides by the summed weights of those that count."""

    def forward(ctx, logp, target, weight, ignore, reduction, cdim, plain=False):
        xp = ctx.xp
        ctx.cdim, ctx.none = cdim, reduction == 'none'
        ctx.gpu = xp is not np and cuda.KERNELS[0] and weight is None and logp.ndim == 2 \
            and not ctx.none
        if ctx.gpu:   # three kernels of backend.cuda; the gradient one more
            ctx.mean, ctx.target, ctx.ignore = reduction == 'mean', target, ignore
            ctx.shape, ctx.dtype = logp.shape, logp.dtype
            loss, ctx.sums = cuda.nll_loss(logp, target, ignore, ctx.mean)
            return loss
        if plain and weight is None and logp.ndim == 2:   # plain: all targets seen in range
            return ctx._plain(logp, target, reduction)    # and none ignored
        valid = target != ignore
        safe = xp.where(valid, target, 0)
        w = valid.astype(logp.dtype)
        if weight is not None:
            w *= weight[safe]
        if logp.ndim == 2:               # (N, C): plain fancy indexing is the fastest
            idx = (xp.arange(logp.shape[0]), safe)
            loss = -logp[idx] * w
        else:
            idx = xp.expand_dims(safe, cdim)
            loss = -xp.take_along_axis(logp, idx, cdim).squeeze(cdim) * w
        coef = xp.zeros_like(logp)       # d loss / d logp, before the upstream gradient
        if reduction == 'mean':          # (no target counting: a nan loss, as torch, but
            total = w.sum()              # no gradient at the ignored targets)
            with np.errstate(invalid='ignore', divide='ignore'):
                loss = loss.sum() / total
                w = xp.where(valid, w / total, 0)
        elif reduction == 'sum':
            loss = loss.sum()
        if logp.ndim == 2:
            coef[idx] = -w
        else:
            xp.put_along_axis(coef, idx, -xp.expand_dims(w, cdim), cdim)
        ctx.coef = coef
        if traced(loss):   # (ember.compile: an array already; np.asarray would read it)
            return loss.astype(logp.dtype, copy=False)
        return xp.asarray(loss, dtype=logp.dtype)

    def _plain(ctx, logp, target, reduction):
        """(N, C) NumPy log-probabilities, no weights, every target a class index. The
        same roundings as ``forward``'s general path (a sum divided by the count, the
        gradient 1 / count in ``logp``'s dtype), which ``ember.compile`` records: it cannot
        know that the targets are in range without reading them."""
        idx = (np.arange(target.size), target)
        picked = logp[idx]
        n = logp.dtype.type(target.size)
        ctx.coef = coef = np.zeros_like(logp)
        coef[idx] = -(1 / n) if reduction == 'mean' else -1
        if reduction == 'none':
            return -picked
        loss = -picked.sum()
        return np.asarray(loss / n if reduction == 'mean' else loss, dtype=logp.dtype)

    def backward(ctx, g):
        if ctx.none:
            g = g.unsqueeze(ctx.cdim)
        return g * Tensor._make(ctx._coef()), None

    def fast_backward(ctx, g):
        if ctx.gpu:
            return cuda.nll_loss_grad(g, ctx.target, ctx.sums, ctx.shape[1], ctx.ignore,
                                      ctx.mean, ctx.dtype), None
        if ctx.none:
            g = ctx.xp.expand_dims(g, ctx.cdim)
        return ctx.coef * g, None

    def _coef(ctx):
        """d loss / d logp, before the upstream gradient."""
        if not ctx.gpu:
            return ctx.coef
        return cuda.nll_loss_grad(ctx.xp.ones((), ctx.dtype), ctx.target, ctx.sums,
                                  ctx.shape[1], ctx.ignore, ctx.mean, ctx.dtype)

    def release(self):
        Op.release(self)
        self.coef = self.target = self.sums = None


class Normalise(Op):
    """``(x - mean) / sqrt(var + eps)`` over ``dims`` (biased variance): the core of layer,
    group and batch norm. Backward is ``rstd * (g - mean(g) - xhat * mean(g * xhat))``: on
    arrays for a plain backward, in ember ops when a graph of the gradient is being built."""
    save = (0,)

    def forward(ctx, x, dims, eps):
        ctx.dims, ctx.eps = dims, eps
        if x.dtype in HALF:   # in float32, rounded once (as torch); xhat, rstd stay float32
            return narrow(ctx.xp, Normalise.forward(ctx, wide(x), dims, eps), x.dtype)
        centred = x - x.mean(axis=dims, keepdims=True)
        ctx.rstd = (centred * centred).mean(axis=dims, keepdims=True)
        ctx.rstd += eps
        ctx.xp.sqrt(ctx.rstd, out=ctx.rstd)
        ctx.xp.reciprocal(ctx.rstd, out=ctx.rstd)
        centred *= ctx.rstd
        ctx.xhat = centred
        return centred

    def backward(ctx, g):
        dims = ctx.dims
        if is_grad_enabled():   # create_graph: the same formula in ember ops
            (x,) = ctx.saved_tensors
            centred = x - x.mean(dims, keepdim=True)
            rstd = ((centred * centred).mean(dims, keepdim=True) + ctx.eps) ** -0.5
            xhat = centred * rstd
            return rstd * (g - g.mean(dims, keepdim=True)
                           - xhat * (g * xhat).mean(dims, keepdim=True))
        ctx._check_saved(ctx._saved)
        gd, xhat = wide(g._data), ctx.xhat
        out = gd - gd.mean(axis=dims, keepdims=True)
        out -= xhat * (gd * xhat).mean(axis=dims, keepdims=True)
        out *= ctx.rstd
        return Tensor._make(narrow(ctx.xp, out, g._data.dtype))

    def release(self):
        Op.release(self)
        self.xhat = self.rstd = None


class Attention(Op):
    """``softmax(q k^T scale + mask) v`` as one op over (..., L, E) queries and (..., S, E),
    (..., S, Ev) keys and values of one float dtype and batch shape.

    On the CPU the scores are made transposed, as ``k q^T`` of shape (..., S, L), so the
    softmax reduces down axis -2, where NumPy's max runs vectorized across rows (down a short
    last axis it is 3.4x slower); the products take the transposes as BLAS flags, not copies.
    ``mask_t`` is the additive mask, transposed likewise; a column whose every score is -inf
    (a query attending to nothing) gets zero weights, torch's "safe softmax", found only when
    ``check_dead``. On the GPU the scores are ``q k^T`` and the softmax is two kernels of
    ``backend.cuda`` along the rows, which zero dead rows themselves (no host sync); float16
    and bfloat16 operands go to cuBLAS as they are, with float32 scores and softmax (see
    ``_cuda_forward``). On the CPU float16 and bfloat16 inputs are computed in float32 inside
    and the results rounded back. Keeps q, k, v and the weights; ``backward`` (for gradients
    of gradients) rebuilds the weights in ember ops."""
    save = (0, 1, 2)

    def forward(ctx, q, k, v, mask_t, scale, check_dead):
        xp = ctx.xp
        ctx.low = ctx.wide = ctx.p = ctx.ready = None
        ctx.mask_t, ctx.scale, ctx.alive, ctx.check_dead = mask_t, scale, None, check_dead
        ctx.gpu = xp is not np and cuda.KERNELS[0]
        if ctx.gpu:
            return ctx._cuda_forward(q, k, v, mask_t, scale)
        if q.dtype.itemsize == 2:   # float16/bfloat16 (autocast's): all inside in float32
            ctx.low = q.dtype
            q, k, v = ctx.wide = [a.astype(np.float32) for a in (q, k, v)]
            if mask_t is not None:
                mask_t = mask_t.astype(np.float32)
        w = gemm(xp, k, q.swapaxes(-1, -2))
        w *= scale
        if mask_t is not None:
            w += mask_t
        top = w.max(axis=-2, keepdims=True)
        dead = None
        if check_dead:
            dead = top == -xp.inf
            if dead.any():
                top[dead] = 0          # exp(-inf - 0) = 0 over the column; its sum set to 1
                ctx.alive = ~dead
            else:
                dead = None
        w -= top
        xp.exp(w, out=w)
        total = w.sum(axis=-2, keepdims=True)
        if dead is not None:
            total[dead] = 1
        w /= total
        ctx.weights = w
        return ctx._narrow(gemm(xp, w.swapaxes(-1, -2), v))

    def _cuda_forward(ctx, q, k, v, mask_t, scale):
        """The GPU's forward: the scores as q k^T, in float32 for float16/bfloat16 operands
        (cuBLAS accumulates in float32 and writes float32), their softmax along the rows in
        two kernels, then the weights rounded to the operands' dtype for the product with v
        (as flash attention does). q, k and v whose batch axes do not fold into one stride
        (heads split from one projection) are copied once, for the products here and in
        backward (each product would copy them again)."""
        xp = ctx.xp
        q, k, v = ctx.ready = [cuda.readable(a) for a in (q, k, v)]
        wide = np.dtype(np.float32) if q.dtype.itemsize == 2 else q.dtype
        w = gemm(xp, q, k.swapaxes(-1, -2), wide)
        if mask_t is not None:
            mask_t = mask_t.astype(wide, copy=False).swapaxes(-1, -2)
        cuda.softmax_scores(w, mask_t, scale)
        ctx.weights = w
        ctx.p = w if wide == q.dtype else astype(xp, w, q.dtype)
        return gemm(xp, ctx.p, v, q.dtype)

    def _narrow(ctx, out):
        return out if ctx.low is None else astype(ctx.xp, out, ctx.low)

    def fast_backward(ctx, g):
        xp, w = ctx.xp, ctx.weights
        if ctx.gpu:
            return ctx._cuda_backward(g)
        q, k, v = ctx.wide or ctx.saved_arrays
        if ctx.low is not None:
            g = g.astype(np.float32)
        gv = ctx._narrow(gemm(xp, w, g)) if ctx.needs(2) else None
        if not (ctx.needs(0) or ctx.needs(1)):
            return None, None, gv
        gs = gemm(xp, v, g.swapaxes(-1, -2))      # d weights, transposed like them
        gs *= w
        gs -= w * gs.sum(axis=-2, keepdims=True)  # softmax backward down axis -2
        gq = gk = None
        if ctx.needs(0):
            gq = gemm(xp, gs.swapaxes(-1, -2), k)
            gq *= ctx.scale
            gq = ctx._narrow(gq)
        if ctx.needs(1):
            gk = gemm(xp, gs, q)
            gk *= ctx.scale
            gk = ctx._narrow(gk)
        return gq, gk, gv

    def _cuda_backward(ctx, g):
        """The GPU's backward, on weights (..., L, S): four products and two kernels, the
        scores' gradient rounded to the operands' dtype for the products with k and q."""
        xp, w = ctx.xp, ctx.weights
        ctx._check_saved(ctx._saved)   # (q, k, v as the forward's products read them)
        q, k, v = ctx.ready
        g = cuda.readable(g)           # (read by two products)
        gv = gemm(xp, ctx.p.swapaxes(-1, -2), g, v.dtype) if ctx.needs(2) else None
        if not (ctx.needs(0) or ctx.needs(1)):
            return None, None, gv
        gs = cuda.softmax_scores_grad(w, gemm(xp, g, v.swapaxes(-1, -2), w.dtype),
                                                ctx.scale)   # (scaled)
        if gs.dtype != q.dtype:
            gs = astype(xp, gs, q.dtype)
        gq = gemm(xp, gs, k, q.dtype) if ctx.needs(0) else None
        gk = gemm(xp, gs.swapaxes(-1, -2), q, k.dtype) if ctx.needs(1) else None
        return gq, gk, gv

    def backward(ctx, g):
        q, k, v = ctx.saved_tensors
        scores = (q @ k.transpose(-2, -1)) * ctx.scale
        if ctx.mask_t is not None:
            scores = scores + Tensor._make(ctx.mask_t).transpose(-2, -1)
        alive = None if ctx.alive is None else Tensor._make(ctx.alive).transpose(-2, -1)
        if ctx.check_dead and ctx.gpu:   # the GPU's kernels did not look (a sync)
            live = (scores._data > -np.inf).any(axis=-1, keepdims=True)
            alive = None if bool(live.all()) else Tensor._make(live)
        if alive is None:
            w = Softmax.apply(scores, dim=-1)
        else:
            w = where(alive, Softmax.apply(where(alive, scores, 0.0), dim=-1), 0.0)
        gw = g @ v.transpose(-2, -1)
        gs = w * (gw - (gw * w).sum(-1, keepdim=True)) * ctx.scale
        return gs @ k, gs.transpose(-2, -1) @ q, w.transpose(-2, -1) @ g

    def release(self):
        Op.release(self)
        self.weights = self.mask_t = self.alive = self.wide = self.p = self.ready = None


def _shaped(a, shape):
    """``a.reshape(shape)``, but ``a`` itself where it has that shape: a view would be copied
    by a first ``.grad``, the array itself is kept."""
    return a if a.shape == shape else a.reshape(shape)


def _row_means(xp, a, b=None):
    """Row means of an (R, C) array, or of the product of two, as an (R, 1) column; by einsum
    down short rows (``_short_rows``: one pass, no (R, C) temporary)."""
    if _short_rows(xp, a):   # (float16 and bfloat16 go through mean, which sums in float32)
        out = (np.einsum('ij->i', a) if b is None else np.einsum('ij,ij->i', a, b))[:, None]
        out *= 1 / a.shape[1]
        return out
    return (a if b is None else a * b).mean(axis=1, keepdims=True)


class LayerNorm(Op):
    """``(x - mean) / sqrt(var + eps) * weight (+ bias)`` over the trailing dimensions that
    ``weight`` spans, as one op on the (rows, C) view of x, and the weight and bias
    gradients come out of the same pass (W5's five layer norms: forward and backward 1.24 ->
    about 0.7 ms each). Like torch it keeps x with each row's mean and 1 / std (on the GPU
    one complex number a row, ``backend.cuda.layer_norm``), and makes the normalised x again
    in backward: one array the size of x less to hold (W5's peak 31.8 ->
    29.8 MiB) for two passes. Without a bias the op has two inputs."""
    save = (0, 1)

    def forward(ctx, x, w, b=None, eps=1e-5):
        xp = ctx.xp
        ctx.eps = eps
        ctx.stats = None
        if xp is not np and cuda.KERNELS[0]:   # CUDA: two kernels along the last axis
            shape = x.shape                    # (of x itself where w is 1-D: no reshapes,
            if w.ndim != 1:                    # 5 us of host time each on the GPU's host)
                x, w = x.reshape(-1, w.size), w.reshape(-1)
                b = None if b is None else b.reshape(-1)
            y, ctx.stats = cuda.layer_norm(x, w, b, eps)
            return _shaped(y, shape)
        if x.dtype in HALF:   # in float32, rounded once (as torch)
            y = LayerNorm.forward(ctx, wide(x), wide(w), None if b is None else wide(b), eps)
            return narrow(xp, y, x.dtype)
        x2 = x.reshape(-1, w.size)
        mean = _row_means(xp, x2)
        y = x2 - mean
        rstd = _row_means(xp, y, y)
        rstd += eps
        xp.sqrt(rstd, out=rstd)
        xp.reciprocal(rstd, out=rstd)
        y *= rstd
        ctx.mean, ctx.rstd = mean, rstd
        y *= w.reshape(-1)
        if b is not None:
            y += b.reshape(-1)
        return y.reshape(x.shape)

    def fast_backward(ctx, g):
        x, w = ctx.saved_arrays
        if ctx.stats is not None:
            return ctx._cuda_backward(g, x, w)
        if x.dtype in HALF:   # in float32, each gradient rounded once
            grads = ctx._fast_backward(wide(g), wide(x), wide(w))
            return tuple(None if a is None else narrow(ctx.xp, a, t.dtype)
                         for a, t in zip(grads, (x, w, w)))
        return ctx._fast_backward(g, x, w)

    def _fast_backward(ctx, g, x, w):
        xp, rstd = ctx.xp, ctx.rstd
        xhat = x.reshape(rstd.shape[0], -1) - ctx.mean
        xhat *= rstd
        g2 = g.reshape(xhat.shape)
        gw = gb = gx = None
        if ctx.needs(1):
            gw = (xp.einsum('ij,ij->j', g2, xhat) if xp is np and xhat.dtype in _EINSUM
                  else (g2 * xhat).sum(axis=0))
            gw = _shaped(gw, w.shape)
        if len(ctx.next_edges) == 3 and ctx.needs(2):
            gb = _shaped(g2.sum(axis=0), w.shape)
        if ctx.needs(0):
            gx = g2 * w.reshape(-1)
            mean_dot = _row_means(xp, gx, xhat)
            gx -= _row_means(xp, gx)
            gx -= xhat * mean_dot
            gx *= rstd
            gx = gx.reshape(g.shape)
        return (gx, gw) if len(ctx.next_edges) == 2 else (gx, gw, gb)

    def _cuda_backward(ctx, g, x, w):
        """Two kernels of backend.cuda, and the weight's and bias's gradients as products
        with a row of ones (``_column_sums``)."""
        shape, w_shape = g.shape, w.shape
        if w.ndim != 1:   # (weights over several trailing axes: as (rows, C), as forward)
            g, x, w = g.reshape(-1, w.size), x.reshape(-1, w.size), w.reshape(-1)
        gx, gxhat = cuda.layer_norm_grad(g, x, w, ctx.stats)
        grads = (_shaped(gx, shape), _shaped(_column_sums(gxhat), w_shape)
                 if ctx.needs(1) else None)
        if len(ctx.next_edges) == 3:
            grads += (_shaped(_column_sums(g), w_shape) if ctx.needs(2) else None,)
        return grads

    def backward(ctx, g):
        x, w = ctx.saved_tensors
        dims = tuple(range(x.ndim - w.ndim, x.ndim))
        batch = tuple(range(x.ndim - w.ndim))
        centred = x - x.mean(dims, keepdim=True)
        rstd = ((centred * centred).mean(dims, keepdim=True) + ctx.eps) ** -0.5
        xhat = centred * rstd
        gxhat = g * w
        gx = rstd * (gxhat - gxhat.mean(dims, keepdim=True)
                     - xhat * (gxhat * xhat).mean(dims, keepdim=True))
        over_batch = (lambda t: t.sum(batch)) if batch else (lambda t: t)
        grads = (gx, over_batch(g * xhat) if ctx.needs(1) else None)
        if len(ctx.next_edges) == 3:
            grads += (over_batch(g) if ctx.needs(2) else None,)
        return grads

    def release(self):
        Op.release(self)
        self.mean = self.rstd = self.stats = None
