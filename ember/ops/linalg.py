"""Linear algebra: matmul and the products built on it (mm, bmm, dot, outer, linear), and einsum."""
import functools
import string

import numpy as np

from .._dtype import bfloat16, result_type
from .._tensor import Tensor, eye, method, ones
from ..autograd import Op
from . import convert
from .elementwise import _as, cj, operands
from .. import amp as _amp
from ..backend import cuda, mkl, traced_cpu

__all__ = ['matmul', 'mm', 'bmm', 'dot', 'outer', 'einsum', 'linear']


_BF16 = bfloat16.np if bfloat16 is not None else None


def gemm(xp, a, b, out_dtype=None):
    """``xp.matmul(a, b)`` in the inputs' dtype, or in ``out_dtype`` (float32 for
    float16/bfloat16 inputs: the float32 sums, not rounded to the low dtype first). On the
    GPU, cuBLAS called directly where it applies (``backend.cuda.gemm``). bfloat16 products
    that the array library lacks run in float32 and are rounded back: NumPy has no bfloat16
    GEMM (it answers in float32, slowly) and CuPy's batched one rejects the dtype; CuPy's 2-D
    one is native. NumPy's 2-D products go to ``_cpu_gemm``."""
    if xp is not np:   # cuBLAS called directly (where it applies)
        out = cuda.gemm(a, b, out_dtype=out_dtype)
        if out is not None:
            return out
    if a.ndim > 2 and b.ndim == 2:   # (..., k) @ (k, n) as one 2-D product: about 2x faster
        return gemm(xp, a.reshape(-1, a.shape[-1]), b, out_dtype).reshape(a.shape[:-1] +
                                                                          b.shape[1:])
    if out_dtype is not None and out_dtype != a.dtype:   # (float32 from the widened inputs)
        return gemm(xp, a.astype(out_dtype), b.astype(out_dtype))
    if a.dtype is _BF16 and (xp is np or a.ndim > 2 or b.ndim > 2):
        return convert.astype(xp, xp.matmul(a.astype(np.float32), b.astype(np.float32)),
                              a.dtype)
    if xp is np and b.ndim == a.ndim and (a.ndim == 2 or a.ndim == 3 and a.shape[0] == 1):
        return _cpu_gemm(a, b)
    return xp.matmul(a, b)


_SKINNY, _LONG = 64, 16384


def _cpu_gemm(a, b):
    """A 2-D (or batch-of-one) NumPy product: in MKL where it is installed (``backend.mkl``),
    else in OpenBLAS through NumPy, which runs products of a few rows or columns over a long
    dimension 2-3x slower whole, so those go in cache-sized blocks of that dimension (LeNet's
    first convolution, (6, 25) @ (25, 50176): 0.97 -> 0.44 ms; its weight gradient, (6,
    50176) @ (50176, 25): 1.51 -> 0.52 ms, faster than MKL's 0.58 too)."""
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    if m <= _SKINNY and n <= _SKINNY and k >= _LONG:   # long: partial products summed
        step = _pow2(2 ** 17 // (m + n))
        out = np.matmul(a[..., :step], b[..., :step, :])
        for s in range(step, k, step):
            out += np.matmul(a[..., s:s + step], b[..., s:s + step, :])
        return out
    if m * n * k >= mkl.MIN_WORK:   # (checked here first: small products skip the call)
        out = mkl.matmul(a, b) if a.ndim == 2 else mkl.matmul(a[0], b[0])
        if out is not None:
            return out if a.ndim == 2 else out[None]
    if m <= _SKINNY and k <= _SKINNY and n >= _LONG:   # wide: blocks of output columns
        step = _pow2(2 ** 17 // k)
        out = np.empty(a.shape[:-1] + (n,), dtype=np.result_type(a, b))
        for s in range(0, n, step):
            np.matmul(a, b[..., s:s + step], out=out[..., s:s + step])
        return out
    return np.matmul(a, b)


def _pow2(v):
    return 1 << max(v.bit_length() - 1, 8)


def _shapes(*ts):
    return ' and '.join(str(tuple(t.shape)) for t in ts)


class MatMul(Op):
    complex_ok = True
    save = (0, 1)

    def forward(ctx, a, b):
        return gemm(ctx.xp, a, b)

    def backward(ctx, g):
        # Broadcast batch dimensions come back summed: autograd's _fit applies sum_to_size.
        a, b = ctx.saved_tensors
        a, b = cj(a), cj(b)   # (complex: the conjugates; real: themselves)
        if a.ndim == 1 and b.ndim == 1:
            return g * b, g * a
        if a.ndim == 1:      # (k) @ (..., k, n): a is a row vector
            ga = (g.unsqueeze(-2) @ b.mT).squeeze(-2)
            gb = a.unsqueeze(-1) * g.unsqueeze(-2)
            return ga, gb
        if b.ndim == 1:      # (..., m, k) @ (k): b is a column vector
            return g.unsqueeze(-1) * b, (a.mT @ g.unsqueeze(-1)).squeeze(-1)
        if a.ndim > 2 and b.ndim == 2:   # fold the batch dimensions into one 2-D GEMM each
            g2 = g.reshape(-1, g.shape[-1])
            return ((g2 @ b.mT).reshape(a.shape) if ctx.needs(0) else None,
                    a.reshape(-1, a.shape[-1]).mT @ g2 if ctx.needs(1) else None)
        return g @ b.mT if ctx.needs(0) else None, a.mT @ g if ctx.needs(1) else None

    def fast_backward(ctx, g):
        a, b = ctx.saved_arrays
        if a.ndim != 2 or b.ndim != 2 or a.dtype.kind == 'c':   # through backward
            return NotImplemented
        xp = ctx.xp
        return (gemm(xp, g, b.T) if ctx.needs(0) else None,
                gemm(xp, a.T, g) if ctx.needs(1) else None)


@method('matmul', '__matmul__')
def matmul(a, b):
    """Matrix product with PyTorch's rules for 1-D, 2-D and batched (broadcast) operands.

    >>> ember.ones(2, 3) @ ember.ones(3)
    tensor([3., 3.])
    >>> (ember.ones(5, 2, 3) @ ember.ones(3, 4)).shape
    ember.Size([5, 2, 4])
    """
    if not isinstance(a, Tensor) and getattr(a, 'is_sparse', False):   # ember.sparse's
        return a.matmul(b)
    if not isinstance(b, Tensor) and getattr(b, 'is_sparse', False):
        return b.__rmatmul__(a)
    if _amp._State.on:   # autocast: low precision
        a, b = _amp.low(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f'matmul: both arguments need at least 1 dimension, got '
                           f'{_shapes(a, b)}')
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise RuntimeError(f'matmul: {tuple(a.shape)} @ {tuple(b.shape)}: inner dimensions '
                           f'{ka} and {kb} differ')
    a, b = operands(a, b)
    return MatMul.apply(a, b)


Tensor.__rmatmul__ = lambda b, a: matmul(a, b)


@method('mm')
def mm(a, b):
    """The product of two matrices (2-D only; ``matmul`` broadcasts).

    >>> ember.mm(ember.ones(2, 3), ember.ones(3, 4)).shape
    ember.Size([2, 4])
    """
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f'mm: expected two 2-D tensors, got {_shapes(a, b)}')
    return matmul(a, b)


@method('bmm')
def bmm(a, b):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors; no broadcasting.

    >>> ember.bmm(ember.ones(5, 2, 3), ember.ones(5, 3, 4)).shape
    ember.Size([5, 2, 4])
    """
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError(f'bmm: expected two 3-D tensors, got {_shapes(a, b)}')
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f'bmm: batch sizes {a.shape[0]} and {b.shape[0]} differ '
                           f'({_shapes(a, b)})')
    return matmul(a, b)


def dot(a, b):
    """The inner product of two 1-D tensors of the same length (torch's ``dot``).

    >>> ember.dot(ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0]))
    tensor(11.)
    """
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f'dot: expected two 1-D tensors, got {_shapes(a, b)}')
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f'dot: tensors have different lengths ({_shapes(a, b)})')
    return matmul(a, b)


@method('dot')
def _dot_method(a, b):
    """``a.dot(b)``: the talk's API. For two 1-D tensors it is torch's ``dot``; for matrices
    and batches it is matrix multiplication (``a @ b``), like NumPy's ``dot``, where torch's
    ``Tensor.dot`` raises. ``ember.dot`` itself keeps torch's 1-D rule.

    >>> ember.tensor([1.0, 2.0]).dot(ember.tensor([3.0, 4.0]))
    tensor(11.)
    >>> ember.ones(4, 2).dot(ember.ones(2, 3)).shape
    ember.Size([4, 3])
    """
    if a.ndim == 1 and b.ndim == 1:
        return dot(a, b)
    return matmul(a, b)


@method('outer', 'ger')
def outer(a, b):
    """The outer product of two 1-D tensors: ``out[i, j] = a[i] * b[j]``.

    >>> ember.outer(ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0]))
    tensor([[3., 4.],
            [6., 8.]])
    """
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f'outer: expected two 1-D tensors, got {_shapes(a, b)}')
    return a.unsqueeze(1) * b.unsqueeze(0)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: the affine map of ``nn.Linear`` (weight is (out, in)).

    >>> ember.linear(ember.ones(2, 3), ember.ones(4, 3), ember.zeros(4)).shape
    ember.Size([2, 4])
    """
    low = None
    if _amp._State.on:   # autocast: the product in the low dtype
        low = _low_inside(input, weight, bias)
        if low is None:
            input, weight, bias = _amp.low(input, weight, bias)
    if weight.ndim not in (1, 2):
        raise RuntimeError(f'linear: weight must be 1-D or 2-D, got {tuple(weight.shape)}')
    if weight.ndim == 2 and input.ndim >= 2 and input.shape[-1] == weight.shape[1] and \
            (low is not None or input.dtype is weight.dtype and (
                bias is None or bias.ndim == 1 and bias.dtype is weight.dtype)):
        args = (input, weight) if bias is None else (input, weight, bias)
        if low is None:
            return Linear.apply(*args)
        return Linear.apply(*args, low=low, cache=tuple(   # autocast's cache: parameters
            _amp._State.cache_enabled and t.requires_grad and t.grad_fn is None for t in args))
    if low is not None:
        input, weight, bias = _amp.low(input, weight, bias)
    out = matmul(input, weight.mT if weight.ndim == 2 else weight)
    return out if bias is None else out + bias


def _low_inside(input, weight, bias):
    """Autocast's low dtype (NumPy's) for a linear whose casts ``Linear`` makes inside: the
    tensors float32 or already low, on an autocasting device, a 1-D bias. None otherwise."""
    dt = _amp._State.dtypes.get(input.device.type)
    ts = (input, weight) if bias is None else (input, weight, bias)
    if dt is None or (bias is not None and bias.ndim != 1) or \
            any(t.dtype.name != 'float32' and t.dtype is not dt for t in ts) or \
            all(t.dtype is dt for t in ts):
        return None
    return dt.np


def _low_array(xp, a, low, cache):
    """``a`` in the dtype ``low``; with ``cache`` (a parameter's array), cast once per autocast
    region, as torch's autocast casts a weight once (the cache is autocast's own)."""
    if a is None or a.dtype == low:
        return a
    if not cache:
        return convert.astype(xp, a, low)
    hit = _amp._State.cache.get(id(a))
    if hit is None or hit[0] is not a or hit[1].dtype != low:
        hit = _amp._State.cache[id(a)] = (a, convert.astype(xp, a, low))
    return hit[1]


class Linear(Op):
    """``x @ w.T + b`` as one op over (..., in) inputs: one GEMM forward, at most two back,
    no transposed views or broadcast sums in the graph (the commonest layer, so it pays).

    Under autocast (``low``: the low dtype) the op casts its float32 input and weight itself,
    keeps the low copies for backward and hands back gradients in the inputs' dtypes, straight
    from float32 GEMMs: fewer kernels than cast ops around it, and none of their six graph
    nodes (W9 in bf16: 152 nodes a step). A float32 bias is added to the low product as it is
    (one rounding to the low dtype; torch rounds the bias first: within its rounding).
    The float32 inputs are kept too (for gradients of gradients, and to check them for
    in-place changes)."""
    save = (0, 1)

    def forward(ctx, x, w, b=None, low=None, cache=()):
        ctx.low = low
        if low is not None:
            ctx.dtypes = (x.dtype, w.dtype, None if b is None else b.dtype)
            x, w = ctx.xl, ctx.wl = [_low_array(ctx.xp, a, low, keep)
                                     for a, keep in zip((x, w), cache)]
        y = gemm(ctx.xp, x, w.T)   # ((..., in) rows folded into one 2-D product)
        if b is None:
            return y
        if ctx.xp is np:   # (a float32 bias under autocast added as it is: no cast)
            y += b
            return y
        return cuda.add_rows(y, b)

    def backward(ctx, g):
        x, w = ctx.saved_tensors
        if ctx.low is not None:   # (the gradients go back to float32 through autograd)
            x, w = x.to(g.dtype), w.to(g.dtype)
        return ctx._grads(g, x, w, lambda a, b, dt: a @ b)

    def fast_backward(ctx, g):   # on arrays: the products through gemm (MKL where it runs)
        if ctx.low is None:
            x, w = ctx.saved_arrays
            return ctx._grads(g, x, w, lambda a, b, dt: gemm(ctx.xp, a, b))
        ctx._check_saved(ctx._saved)   # (the products straight into the inputs' dtypes)
        return ctx._grads(g, ctx.xl, ctx.wl, lambda a, b, dt: gemm(ctx.xp, a, b, dt))

    def release(self):
        Op.release(self)
        self.xl = self.wl = None

    def _grads(ctx, g, x, w, product):
        """The gradients, in tensors or arrays alike, with ``product(a, b, dtype)`` for the two
        GEMMs (``dtype``: the input's, where autocast cast it; None otherwise)."""
        dts = (None,) * 3 if ctx.low is None else ctx.dtypes
        gx = product(g, w, dts[0]) if ctx.needs(0) else None
        gw = None
        if ctx.needs(1):   # (on the GPU g and x as they are: their rows folded, no reshapes)
            gw = cuda.gemm_t(g, x, out_dtype=dts[1]) if ctx.xp is not np and \
                not isinstance(g, Tensor) else None
            if gw is None:
                gw = product(g.reshape(-1, g.shape[-1]).T, x.reshape(-1, x.shape[-1]), dts[1])
        if len(ctx.next_edges) == 2:
            return gx, gw
        return gx, gw, _column_sums(g, dts[2]) if ctx.needs(2) else None


_ONES = {}


def _column_sums(g2, dtype=None):
    """The sums of ``g2`` (..., n) over all its leading axes, a bias gradient: for arrays in
    ``dtype`` if given (float32 sums of a float16/bfloat16 ``g2``). On the GPU it is a
    product with a column of ones (``backend.cuda.gemm_t``, the rows folded without a
    reshape): CuPy's reduction down the long axis took 178 us of GPU time for W9's (8192,
    1536) gradient on the H200, an order of magnitude more than a GEMM reading the same bytes.
    The result is a new 1-D array, not a view (a first ``.grad`` keeps it, not a copy)."""
    if isinstance(g2, Tensor):
        return g2.reshape(-1, g2.shape[-1]).sum(0)
    if type(g2) is np.ndarray or traced_cpu(g2):
        return g2.reshape(-1, g2.shape[-1]).sum(0, dtype=dtype)
    from ..backend import namespace
    xp = namespace(g2)
    n = g2.shape[-1]
    rows = g2.size // n if n else 0
    key = (rows, g2.dtype.str, g2.device.id)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 64:
            _ONES.clear()
        ones = _ONES[key] = xp.ones((rows, 1), dtype=g2.dtype)
    out = xp.empty(n, dtype=g2.dtype if dtype is None else dtype)
    if cuda.gemm_t(ones, g2, out) is None:   # ((1, n) into the 1-D out as it is)
        g2 = g2.reshape(-1, n)
        if out.dtype != g2.dtype:
            return g2.sum(0, dtype=dtype)
        xp.matmul(ones.T, g2, out=out.reshape(1, -1))
    return out


# ---------------------------------------------------------------- einsum

class Einsum(Op):
    """``einsum`` on explicit subscripts (no ellipsis, sizes already broadcast)."""

    def forward(ctx, *arrays, specs, out, sizes, spare):
        ctx.specs, ctx.out, ctx.sizes, ctx.spare = specs, out, sizes, spare
        eq = ','.join(specs) + '->' + out
        if arrays[0].dtype.name == 'bfloat16':   # NumPy's and CuPy's einsum lack bfloat16
            return ctx.xp.einsum(eq, *[a.astype(np.float32) for a in arrays],
                                 optimize=len(arrays) > 2).astype(arrays[0].dtype)
        return ctx.xp.einsum(eq, *arrays, optimize=len(arrays) > 2)

    def backward(ctx, g):
        ops = ctx.saved_tensors
        return tuple(_operand_grad(ctx, g, ops, i) if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


def _operand_grad(ctx, g, ops, i):
    """The gradient of operand ``i``: einsum of ``g`` with the other operands. A subscript
    repeated in operand ``i`` (a diagonal) gets a fresh letter and an identity matrix; one
    summed away in operand ``i`` alone gets a vector of ones."""
    terms = [(ctx.out, g)] + [(s, t) for j, (s, t) in enumerate(zip(ctx.specs, ops)) if j != i]
    spare, target = iter(ctx.spare), ''
    for c in ctx.specs[i]:
        if c in target:
            f = next(spare)
            terms.append((c + f, eye(ctx.sizes[c], dtype=g.dtype, device=g.device)))
            c = f
        target += c
    seen = ''.join(s for s, _ in terms)
    for c in target:
        if c not in seen:
            terms.append((c, ones(ctx.sizes[c], dtype=g.dtype, device=g.device)))
    return _einsum([s for s, _ in terms], target, [t for _, t in terms])


def _einsum(specs, out, tensors):
    sizes = {}
    for s, t in zip(specs, tensors):
        sizes.update(zip(s, t.shape))
    spare = [c for c in string.ascii_letters if c not in sizes]
    dt = result_type(*tensors)
    tensors = [_as(t, dt, t) for t in tensors]
    op = _einsum_op(len(tensors))
    return op.apply(*tensors, specs=tuple(specs), out=out, sizes=sizes, spare=spare)


@functools.lru_cache(maxsize=None)
def _einsum_op(n):
    return type('Einsum', (Einsum,), {'save': tuple(range(n))})


def _parse(equation, tensors):
    """Explicit subscripts for each operand and the output, with ``...`` spelled out."""
    eq = equation.replace(' ', '')
    lhs, arrow, rhs = eq.partition('->')
    specs = lhs.split(',')
    if len(specs) != len(tensors):
        raise RuntimeError(f'einsum: {equation!r} has {len(specs)} operand subscripts but '
                           f'{len(tensors)} operands were given')
    for s in specs + [rhs]:
        if not all(c.isalpha() for c in s.replace('...', '')):
            raise RuntimeError(f'einsum: invalid subscripts {s!r} in {equation!r}')
    free = [c for c in string.ascii_letters if c not in eq]
    n_ell = max([t.ndim - len(s) + 3 for s, t in zip(specs, tensors) if '...' in s] or [0])
    ell = ''.join(free[:n_ell])
    out_specs = []
    for i, (s, t) in enumerate(zip(specs, tensors)):
        if '...' in s:
            s = s.replace('...', ell[n_ell - (t.ndim - len(s) + 3):])
        if len(s) != t.ndim:
            raise RuntimeError(f'einsum: operand {i} has {t.ndim} dimensions {tuple(t.shape)} '
                               f'but subscripts {specs[i]!r}')
        out_specs.append(s)
    if arrow:
        out = rhs.replace('...', ell)
    else:
        letters = ''.join(out_specs)
        out = ell + ''.join(sorted(c for c in set(letters) if letters.count(c) == 1
                                   and c not in ell))
    if len(set(out)) != len(out):
        raise RuntimeError(f'einsum: output subscripts {rhs!r} repeat an index')
    return out_specs, out


def einsum(equation, *operands):
    """Einstein summation, as torch and NumPy: ``einsum('ij,jk->ik', a, b)`` is ``a @ b``.
    Ellipses (``...``) broadcast; the backward pass is einsum again, so it differentiates
    to any order.

    >>> a, b = ember.ones(2, 3), ember.ones(3, 4)
    >>> ember.einsum('ij,jk->ik', a, b).shape
    ember.Size([2, 4])
    >>> ember.einsum('ii', ember.eye(3))
    tensor(3.)
    >>> ember.einsum('...ij->...ji', ember.ones(5, 2, 3)).shape
    ember.Size([5, 3, 2])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if _amp._State.on:   # autocast: low precision
        operands = tuple(_amp.low(*operands))
    specs, out = _parse(equation, operands)
    sizes = {}
    for i, (s, t) in enumerate(zip(specs, operands)):
        for c, n in zip(s, t.shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise RuntimeError(f'einsum: subscript {c!r} has size {n} in operand {i} '
                                   f'{tuple(t.shape)} but size {sizes[c]} elsewhere '
                                   f'({equation!r})')
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    for c in out:
        if c not in sizes:
            raise RuntimeError(f'einsum: output subscript {c!r} does not appear in the inputs '
                               f'({equation!r})')
    # size-1 dimensions broadcast (NumPy's einsum only broadcasts inside an ellipsis)
    tensors = [t.expand(*(sizes[c] for c in s)) if any(n != sizes[c] for c, n in
               zip(s, t.shape)) else t for s, t in zip(specs, operands)]
    return _einsum(specs, out, tensors)
