"""In-place writes into a region of a base tensor, with autograd: PyTorch's CopySlices.

An in-place op on a view, or ``x[idx] = v``, writes into the base tensor's memory. Its
history becomes a ``ViewAssign`` node: the old base's gradient is zero over the region, and
the written value's gradient is the region of the incoming gradient.
"""
from .._tensor import Tensor
from ..autograd import Op, _record
from ..backend import namespace


def replay(chain, t):
    """Apply a view chain ((op class, params), ...) to tensor ``t``."""
    for cls, params in chain:
        t = cls.apply(t, **params)
    return t


def region_mask(chain, shape, xp, dtype):
    """Ones of ``shape`` with zeros where the chain's view of it lies (complex: ``1 + 1j``, so
    that a view of one part, ``z.real``, zeroes that part only)."""
    mask = xp.full(shape, 1 + 1j, dtype=dtype) if xp.dtype(dtype).kind == 'c' else \
        xp.ones(shape, dtype=dtype)
    arr = mask
    for cls, params in chain[:-1]:
        ctx = cls.__new__(cls)
        ctx.xp = xp
        arr = ctx.forward(arr, **params)
    cls, params = chain[-1]
    if cls.is_view:
        ctx = cls.__new__(cls)
        ctx.xp = xp
        ctx.forward(arr, **params)[...] = 0
    else:   # advanced indexing copies: write through the index instead
        arr[params['idx']] = 0
    return mask


class ViewAssign(Op):
    complex_ok = True

    def backward(ctx, g):
        mask = region_mask(ctx.chain, g.shape, ctx.xp, g._data.dtype)
        if mask.dtype.kind == 'c':   # a view of one part (z.real): masked part by part
            from .complex_ops import complex
            return (complex(g.real * Tensor._make(mask.real), g.imag * Tensor._make(mask.imag)),
                    replay(ctx.chain, g))
        return g * Tensor._make(mask), replay(ctx.chain, g)


def alias(t):
    """A handle at ``t``'s place in the graph, holding a copy of its data."""
    a = Tensor._make(t._data.copy(), t.grad_fn)
    a._output_nr, a._requires_grad = t._output_nr, t._requires_grad
    return a


def rebase(base, chain, old_base, value):
    """Give ``base`` the history of having ``value`` written over ``chain``'s region."""
    node = ViewAssign.__new__(ViewAssign)
    node.chain = chain
    node.xp = namespace(base._data)
    out = _record(node, [old_base, value], base._data)
    base.grad_fn, base._output_nr = out.grad_fn, 0
    base._requires_grad = out.grad_fn is not None or base._requires_grad
