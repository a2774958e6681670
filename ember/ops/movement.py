"""Shape and movement ops: views, reshapes, permutations, indexing and index assignment."""
import numpy as np

from .._tensor import Size, Tensor, _wrap_dim, method
from ..autograd import Op, _State, _edge, _record
from ..backend import namespace

__all__ = ['reshape', 'permute', 'transpose', 'swapaxes', 'unsqueeze', 'squeeze',
           'broadcast_to', 'clone']


def _shape_arg(args, op):
    shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list, Size)) \
        else tuple(args)
    for s in shape:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f'{op}: shape must be integers, got {shape!r}')
    return tuple(int(s) for s in shape)


def _infer(shape, numel, op, src):
    if shape.count(-1) > 1:
        raise RuntimeError(f'{op}: only one dimension can be inferred, got {shape}')
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size "
                               f'{numel} (input shape {src})')
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel} "
                           f'(input shape {src})')
    return shape


class Reshape(Op):
    is_view = True

    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Expand(Op):
    is_view = True

    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return ctx.xp.broadcast_to(x, shape)

    def backward(ctx, g):
        return g.sum_to_size(ctx.shape)


class Permute(Op):
    is_view = True

    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    def backward(ctx, g):
        return g.permute(*np.argsort(ctx.axes).tolist())


class Clone(Op):
    def forward(ctx, x):
        return x.copy()

    def backward(ctx, g):
        return g


@method('reshape')
def reshape(x, *shape):
    """The same data in a new shape (``-1`` is inferred); a view when the layout allows.

    >>> ember.arange(6).reshape(2, -1)
    tensor([[0, 1, 2],
            [3, 4, 5]])
    """
    shape = _infer(_shape_arg(shape, 'reshape'), x.numel(), 'reshape', tuple(x.shape))
    if shape == x.data.shape:
        return x if x.grad_fn is None and not x.requires_grad else Reshape.apply(x, shape=shape)
    return Reshape.apply(x, shape=shape)


@method('view')
def view(x, *shape):
    """Like ``reshape``, for tensors whose layout allows a view (else an error, as in torch).

    >>> ember.zeros(4).view(2, 2).shape
    ember.Size([2, 2])
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, Size)):
        return x.to(shape[0]) if shape[0] is not None else x
    shape = _infer(_shape_arg(shape, 'view'), x.numel(), 'view', tuple(x.shape))
    if x.numel() and not x.data.flags.c_contiguous and shape != x.data.shape:
        try:
            namespace(x.data).reshape(x.data, shape, copy=False)
        except (AttributeError, ValueError, TypeError):
            raise RuntimeError(f'view: size is not compatible with input tensor\'s size and '
                               f'stride (shape {tuple(x.shape)}, strides '
                               f'{x.data.strides}); use .reshape(...) instead') from None
    return Reshape.apply(x, shape=shape)


@method('view_as')
def view_as(x, other):
    return view(x, tuple(other.shape))


@method('reshape_as')
def reshape_as(x, other):
    return reshape(x, tuple(other.shape))


@method('expand')
def expand(x, *shape):
    """Broadcast to a larger shape without copying (``-1`` keeps a size).

    >>> ember.tensor([1, 2]).expand(2, 2)
    tensor([[1, 2],
            [1, 2]])
    """
    shape = _shape_arg(shape, 'expand')
    lead = len(shape) - x.ndim
    if lead < 0:
        raise RuntimeError(f'expand: the number of sizes provided ({len(shape)}) must be greater '
                           f'or equal to the number of dimensions in the tensor ({x.ndim})')
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s
                  for i, s in enumerate(shape))
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[lead + i]:
            raise RuntimeError(f'expand: the expanded size of the tensor ({shape[lead + i]}) '
                               f'must match the existing size ({s}) at non-singleton dimension '
                               f'{lead + i}.  Target sizes: {list(shape)}.  Tensor sizes: '
                               f'{list(x.shape)}')
    if shape == x.data.shape:
        return x
    return Expand.apply(x, shape=shape)


@method('expand_as')
def expand_as(x, other):
    return expand(x, tuple(other.shape))


def broadcast_to(x, shape):
    """``x.expand(shape)``.

    >>> ember.broadcast_to(ember.tensor(1.0), (2,))
    tensor([1., 1.])
    """
    return expand(x, tuple(shape))


@method('permute')
def permute(x, *dims):
    """Reorder dimensions.

    >>> ember.zeros(2, 3, 4).permute(2, 0, 1).shape
    ember.Size([4, 2, 3])
    """
    dims = _shape_arg(dims, 'permute')
    if len(dims) != x.ndim:
        raise RuntimeError(f'permute(sparse_coo): number of dimensions in the tensor input does '
                           f'not match the length of the desired ordering of dimensions i.e. '
                           f'input.dim() = {x.ndim} is not equal to len(dims) = {len(dims)}'
                           .replace('(sparse_coo)', ''))
    axes = tuple(_wrap_dim(d, x.ndim, 'permute') for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f'permute: repeated dim in {dims}')
    return Permute.apply(x, axes=axes)


@method('transpose', 'swapaxes', 'swapdims')
def transpose(x, dim0, dim1):
    """Swap two dimensions.

    >>> ember.zeros(2, 3).transpose(0, 1).shape
    ember.Size([3, 2])
    """
    if x.ndim == 0:
        return x
    axes = list(range(x.ndim))
    d0, d1 = _wrap_dim(dim0, x.ndim, 'transpose'), _wrap_dim(dim1, x.ndim, 'transpose')
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(x, axes=tuple(axes))


swapaxes = transpose


@method('t')
def t(x):
    """Transpose a matrix (a vector stays as it is)."""
    if x.ndim > 2:
        raise RuntimeError(f't() expects a tensor with <= 2 dimensions, but self is {x.ndim}D')
    return transpose(x, 0, 1) if x.ndim == 2 else x


@method('unsqueeze')
def unsqueeze(x, dim):
    """Insert a size-1 dimension.

    >>> ember.zeros(3).unsqueeze(0).shape
    ember.Size([1, 3])
    """
    d = _wrap_dim(dim, x.ndim + 1, 'unsqueeze')
    shape = x.data.shape[:d] + (1,) + x.data.shape[d:]
    return Reshape.apply(x, shape=shape)


@method('squeeze')
def squeeze(x, dim=None):
    """Remove size-1 dimensions (all, or those in ``dim``).

    >>> ember.zeros(1, 3, 1).squeeze().shape
    ember.Size([3])
    """
    if dim is None:
        axes = [i for i, s in enumerate(x.shape) if s == 1]
    else:
        dim = (dim,) if isinstance(dim, int) else dim
        axes = [_wrap_dim(d, x.ndim, 'squeeze') for d in dim] if x.ndim else []
        axes = [a for a in axes if x.shape[a] == 1]
    shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return Reshape.apply(x, shape=shape)


@method('clone')
def clone(x):
    """A copy with its own memory that stays in the graph.

    >>> ember.ones(2).clone()
    tensor([1., 1.])
    """
    return Clone.apply(x)


@method('contiguous')
def contiguous(x):
    """``x`` itself if C-contiguous, else a contiguous copy."""
    return x if x.data.flags.c_contiguous else Clone.apply(x)


# ---------------------------------------------------------------- indexing

def _index(idx):
    """An index for arrays: tensors and lists become integer or bool arrays."""
    items = idx if isinstance(idx, tuple) else (idx,)
    out, basic = [], True
    for i in items:
        if isinstance(i, Tensor):
            if i.dtype.is_floating_point:
                raise IndexError(f'tensors used as indices must be long, int, byte or bool '
                                 f'tensors, got {i.dtype}')
            i, basic = i.data, False
        elif isinstance(i, (list, np.ndarray)):
            i = np.asarray(i)
            if i.dtype.kind not in 'biu' and i.size:
                raise IndexError(f'indices must be integers or bools, got {i.dtype}')
            basic = False
        elif isinstance(i, bool) or (i is not None and i is not Ellipsis
                                     and not isinstance(i, (int, slice, np.integer))):
            if not isinstance(i, bool):
                raise IndexError(f'index of type {type(i).__name__} is not supported; use '
                                 f'ints, slices, None, ..., or integer/bool tensors')
            basic = False
        out.append(i)
    return tuple(out), basic


class GetItem(Op):
    def forward(ctx, x, idx):
        ctx.shape, ctx.idx = x.shape, idx
        return x[idx]

    def backward(ctx, g):
        return IndexAdd.apply(g, shape=ctx.shape, idx=ctx.idx, basic=False)


class View(GetItem):
    """Basic indexing (ints, slices, None, ...): a view sharing memory."""
    is_view = True

    def backward(ctx, g):
        return IndexAdd.apply(g, shape=ctx.shape, idx=ctx.idx, basic=True)


class IndexAdd(Op):
    """The gradient of indexing: zeros of ``shape`` with ``g`` added at ``idx``."""

    def forward(ctx, g, shape, idx, basic):
        ctx.idx, ctx.basic = idx, basic
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        if basic:
            out[idx] = g
        else:
            ctx.xp.add.at(out, idx, g)
        return out

    def backward(ctx, gg):
        return (View if ctx.basic else GetItem).apply(gg, idx=ctx.idx)


def __getitem__(x, idx):
    """Indexing as in torch: ints, slices, None, ..., integer and bool tensors or lists."""
    idx, basic = _index(idx)
    return (View if basic else GetItem).apply(x, idx=idx)


class IndexPut(Op):
    """``x[idx] = v``: the gradient of the old ``x`` is zero at ``idx``; ``v`` gets ``g[idx]``."""

    def backward(ctx, g):
        mask = ctx.xp.ones(g.shape, dtype=g.data.dtype)
        mask[ctx.idx] = 0
        keep = g * Tensor._make(mask)
        return keep, GetItem.apply(g, idx=ctx.idx)


def __setitem__(x, idx, value):
    """Index assignment, in place and differentiable (as ``torch.Tensor.__setitem__``)."""
    idx, basic = _index(idx)
    if not isinstance(value, Tensor):
        value = Tensor._make(x.data.dtype.type(value) if np.isscalar(value) else
                             np.asarray(value, dtype=x.data.dtype))
        if type(x.data) is not np.ndarray:
            value = value.to(x.device)
    x._check_inplace('setitem')
    recording = _State.grad_enabled and (x.requires_grad or value.requires_grad)
    if recording and x._base is not None:
        raise RuntimeError(f'setitem: assignment with autograd into a view (shape '
                           f'{tuple(x.shape)}) is not supported in ember; assign into the base '
                           f'tensor instead')
    if value.device != x.device:
        raise RuntimeError(f'setitem: value on {value.device} cannot be assigned into a tensor '
                           f'on {x.device}')
    try:
        x.data[idx] = value.data
    except (ValueError, IndexError) as e:
        raise type(e)(f'setitem: {e} (tensor {tuple(x.shape)}, value '
                      f'{tuple(value.shape)})') from None
    x._version[0] += 1
    if recording:
        if value.dtype is not x.dtype:
            value = value.to(x.dtype)
        node = IndexPut.__new__(IndexPut)
        node.idx, node.xp = idx, np if type(x.data) is np.ndarray else None
        edge_x = Tensor._make(x.data, x.grad_fn)
        edge_x._output_nr, edge_x._requires_grad = x._output_nr, x._requires_grad
        out = _record(node, [edge_x, value], x.data)
        if node.xp is None:
            node.xp = namespace(x.data)
        x.grad_fn, x._output_nr, x._requires_grad = out.grad_fn, 0, True


Tensor.__getitem__ = __getitem__
Tensor.__setitem__ = __setitem__
_ = _edge
