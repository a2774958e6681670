"""Shape and movement ops: views, reshapes, permutations, joins, splits and padding.

Indexing (``x[idx]``, ``x[idx] = v``) and the index ops live in ``index.py``.
"""
import math

import numpy as np

from .._tensor import Size, Tensor, _wrap_dim, method
from ..autograd import Op
from ..backend import namespace, traced_cpu

__all__ = ['reshape', 'permute', 'transpose', 'swapaxes', 'swapdims', 'unsqueeze', 'squeeze',
           'broadcast_to', 'clone', 'flatten', 'unflatten', 'repeat', 'tile', 'flip', 'fliplr',
           'flipud', 'roll', 'narrow', 'select', 'movedim', 'moveaxis', 'pad', 'tril', 'triu',
           'diagonal']


def _shape_arg(args, op):
    shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list, Size)) \
        else tuple(args)
    if all(type(s) is int for s in shape):   # the common case, checked at once
        return shape
    for s in shape:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f'{op}: shape must be integers, got {shape!r}')
    return tuple(int(s) for s in shape)


def _dims_arg(dims, op):
    """An int or a sequence of ints, as a tuple."""
    return (int(dims),) if isinstance(dims, (int, np.integer)) else _shape_arg((dims,), op)


def _infer(shape, numel, op, src):
    if shape.count(-1) > 1:
        raise RuntimeError(f'{op}: only one dimension can be inferred, got {shape}')
    known = 1
    for s in shape:
        if s < -1:
            raise RuntimeError(f'{op}: invalid shape dimension {s} in {list(shape)}')
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


def _viewable(arr, shape):
    """True when ``arr`` can take ``shape`` without copying (as torch's ``view`` requires)."""
    if arr.flags.c_contiguous or arr.size == 0:
        return True
    xp = namespace(arr)
    try:
        xp.reshape(arr, shape, copy=False)
        return True
    except ValueError:
        return False
    except TypeError:   # an array library without ``copy=``: look at the memory instead
        return bool(xp.may_share_memory(arr.reshape(shape), arr))


class Reshape(Op):
    complex_ok = True   # (moves or picks elements: any dtype)
    is_view = True
    arithmetic = True

    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    def backward(ctx, g):
        return g.reshape(ctx.shape)


class ReshapeCopy(Reshape):
    """A reshape the layout does not allow as a view: a copy, as in torch."""
    is_view = False


class Expand(Op):
    complex_ok = True   # (moves or picks elements: any dtype)
    is_view = True

    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return ctx.xp.broadcast_to(x, shape)

    def backward(ctx, g):
        return g.sum_to_size(ctx.shape)


class Permute(Op):
    complex_ok = True   # (moves or picks elements: any dtype)
    is_view = True

    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    def backward(ctx, g):
        return g.permute(*np.argsort(ctx.axes).tolist())

    def fast_backward(ctx, g):
        return g.transpose(tuple(np.argsort(ctx.axes).tolist()))


class Clone(Op):
    complex_ok = True   # (moves or picks elements: any dtype)

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
    if shape == x._data.shape and x.grad_fn is None and not x.requires_grad:
        return x
    return (Reshape if _viewable(x._data, shape) else ReshapeCopy).apply(x, shape=shape)


@method('view')
def view(x, *shape):
    """Like ``reshape``, for tensors whose layout allows a view (else an error, as in torch).

    >>> ember.zeros(4).view(2, 2).shape
    ember.Size([2, 2])
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, Size)):
        return x.to(shape[0]) if shape[0] is not None else x
    shape = _infer(_shape_arg(shape, 'view'), x.numel(), 'view', tuple(x.shape))
    if not _viewable(x._data, shape):
        raise RuntimeError(f'view: size is not compatible with input tensor\'s size and '
                           f'stride (shape {tuple(x.shape)}, strides {x._data.strides}); use '
                           f'.reshape(...) instead')
    return Reshape.apply(x, shape=shape)


@method('view_as')
def view_as(x, other):
    """``x.view(other.shape)``: the same memory in ``other``'s shape.

    >>> ember.arange(6).view_as(ember.zeros(2, 3)).shape
    ember.Size([2, 3])
    """
    return view(x, tuple(other.shape))


@method('reshape_as')
def reshape_as(x, other):
    """``x.reshape(other.shape)``: a view where one is possible, else a copy.

    >>> ember.arange(4).reshape_as(ember.zeros(2, 2))
    tensor([[0, 1],
            [2, 3]])
    """
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
    for i, s in enumerate(shape):
        if s < 0 and not (s == -1 and i >= lead):
            raise RuntimeError(f'expand: the expanded size of the tensor ({s}) isn\'t allowed in '
                               f'a leading, non-existing dimension {i} (target sizes '
                               f'{list(shape)}, tensor sizes {list(x.shape)})')
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[lead + i]:
            raise RuntimeError(f'expand: the expanded size of the tensor ({shape[lead + i]}) '
                               f'must match the existing size ({s}) at non-singleton dimension '
                               f'{lead + i}.  Target sizes: {list(shape)}.  Tensor sizes: '
                               f'{list(x.shape)}')
    if shape == x._data.shape:
        return x
    return Expand.apply(x, shape=shape)


@method('expand_as')
def expand_as(x, other):
    """``x.expand(other.shape)``: broadcast to ``other``'s shape without copying.

    >>> ember.tensor([[1], [2]]).expand_as(ember.zeros(2, 3))
    tensor([[1, 1, 1],
            [2, 2, 2]])
    """
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
        raise RuntimeError(f'permute: number of dimensions in the tensor input does not match '
                           f'the length of the desired ordering of dimensions i.e. input.dim() '
                           f'= {x.ndim} is not equal to len(dims) = {len(dims)}')
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
    d0, d1 = _wrap_dim(dim0, x.ndim, 'transpose'), _wrap_dim(dim1, x.ndim, 'transpose')
    if x.ndim == 0:
        return x
    axes = list(range(x.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(x, axes=tuple(axes))


swapaxes = swapdims = transpose


@method('t')
def t(x):
    """Transpose a matrix (a vector stays as it is).

    >>> ember.tensor([[1, 2]]).t()
    tensor([[1],
            [2]])
    """
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
    shape = x._data.shape[:d] + (1,) + x._data.shape[d:]
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
        axes = [_wrap_dim(d, x.ndim, 'squeeze') for d in _dims_arg(dim, 'squeeze')]
        axes = [a for a in axes if x.ndim and x.shape[a] == 1]
    shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return Reshape.apply(x, shape=shape)


@method('clone')
def clone(x, memory_format=None):
    """A copy with its own memory that stays in the graph.

    >>> ember.ones(2).clone()
    tensor([1., 1.])
    """
    return Clone.apply(x)


@method('contiguous')
def contiguous(x, memory_format=None):
    """``x`` itself if C-contiguous, else a contiguous copy.

    >>> x = ember.zeros(2, 3)
    >>> x.contiguous() is x, x.T.contiguous().is_contiguous()
    (True, True)
    """
    return x if x._data.flags.c_contiguous else Clone.apply(x)


# ---------------------------------------------------------------- reshaping composites

@method('flatten')
def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim`` .. ``end_dim`` into one (a 0-d tensor becomes 1-d).

    >>> ember.zeros(2, 3, 4).flatten(1).shape
    ember.Size([2, 12])
    """
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = _wrap_dim(start_dim, x.ndim, 'flatten'), _wrap_dim(end_dim, x.ndim, 'flatten')
    if s > e:
        raise RuntimeError(f'flatten: start_dim ({start_dim}) cannot come after end_dim '
                           f'({end_dim}) for a tensor of shape {tuple(x.shape)}')
    shape = x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
    return reshape(x, shape)


@method('unflatten')
def unflatten(x, dim, sizes):
    """Split dimension ``dim`` into ``sizes`` (one of them may be ``-1``).

    >>> ember.zeros(2, 12).unflatten(1, (3, -1)).shape
    ember.Size([2, 3, 4])
    """
    d = _wrap_dim(dim, x.ndim, 'unflatten')
    sizes = _shape_arg((sizes,), 'unflatten')
    if not sizes:
        raise RuntimeError('unflatten: sizes must be non-empty')
    n = x.shape[d] if x.ndim else 1
    if sizes.count(-1) > 1 or (-1 not in sizes and math.prod(sizes) != n) or \
            (-1 in sizes and (math.prod(sizes) == 0 or n % -math.prod(sizes))):
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f'size of dim {dim} ({n}) in the input tensor of shape '
                           f'{tuple(x.shape)}')
    sizes = _infer(sizes, n, 'unflatten', tuple(x.shape))
    return reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])


@method('movedim', 'moveaxis')
def movedim(x, source, destination):
    """Move dimensions ``source`` to positions ``destination`` (ints or sequences).

    >>> ember.zeros(2, 3, 4).movedim(0, -1).shape
    ember.Size([3, 4, 2])
    """
    src, dst = _dims_arg(source, 'movedim'), _dims_arg(destination, 'movedim')
    if len(src) != len(dst):
        raise RuntimeError(f'movedim: Invalid source or destination dims: source ({list(src)} '
                           f'dims) should contain the same number of dims as destination '
                           f'({list(dst)} dims)')
    src = [_wrap_dim(d, x.ndim, 'movedim') for d in src]
    dst = [_wrap_dim(d, x.ndim, 'movedim') for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f'movedim: repeated dim in source {list(src)} or destination '
                           f'{list(dst)}')
    order = [None] * x.ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(x.ndim) if i not in src)
    return permute(x, [next(rest) if o is None else o for o in order])


moveaxis = movedim


@method('repeat')
def repeat(x, *sizes):
    """Tile ``x`` ``sizes[i]`` times along each dimension (new leading dimensions allowed).

    >>> ember.tensor([1, 2]).repeat(2, 2)
    tensor([[1, 2, 1, 2],
            [1, 2, 1, 2]])
    """
    sizes = _shape_arg(sizes, 'repeat')
    if len(sizes) < x.ndim:
        raise RuntimeError(f'repeat: Number of dimensions of repeat dims ({len(sizes)}) can not '
                           f'be smaller than number of dimensions of tensor ({x.ndim})')
    if any(r < 0 for r in sizes):
        raise RuntimeError(f'repeat: repeats must be non-negative, got {list(sizes)}')
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    if all(r == 1 for r in sizes):   # nothing to expand, but repeat always copies
        return clone(reshape(x, shape))
    # (s0, s1) repeated (r0, r1): view as (1, s0, 1, s1), expand to (r0, s0, r1, s1), merge
    pairs = [v for s in shape for v in (1, s)]
    big = [v for r, s in zip(sizes, shape) for v in (r, s)]
    out = reshape(x, pairs).expand(big)
    return reshape(out, tuple(r * s for r, s in zip(sizes, shape)))


@method('tile')
def tile(x, dims):
    """Like ``repeat``, but ``dims`` shorter than ``x.ndim`` is padded with ones in front.

    >>> ember.tensor([[1, 2]]).tile((2,))
    tensor([[1, 2, 1, 2]])
    """
    dims = _dims_arg(dims, 'tile')
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


class Flip(Op):
    complex_ok = True   # (moves or picks elements: any dtype)

    def forward(ctx, x, axes):
        ctx.axes = axes
        return ctx.xp.flip(x, axes).copy()

    def backward(ctx, g):
        return Flip.apply(g, axes=ctx.axes)


@method('flip')
def flip(x, *dims):
    """Reverse the order of elements along ``dims`` (a copy, as in torch).

    >>> ember.tensor([[1, 2], [3, 4]]).flip(1)
    tensor([[2, 1],
            [4, 3]])
    """
    dims = _shape_arg(dims, 'flip')
    axes = tuple(_wrap_dim(d, x.ndim, 'flip') for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f'flip: dims {list(dims)} has a repeated dim')
    return Flip.apply(x, axes=axes if x.ndim else ())


@method('fliplr')
def fliplr(x):
    """Flip the columns (dimension 1); needs at least 2 dimensions.

    >>> ember.tensor([[1, 2]]).fliplr()
    tensor([[2, 1]])
    """
    if x.ndim < 2:
        raise RuntimeError(f'fliplr: Input must be >= 2-d, got shape {tuple(x.shape)}')
    return flip(x, 1)


@method('flipud')
def flipud(x):
    """Flip the rows (dimension 0); needs at least 1 dimension.

    >>> ember.tensor([1, 2]).flipud()
    tensor([2, 1])
    """
    if x.ndim < 1:
        raise RuntimeError('flipud: Input must be >= 1-d, got a 0-d tensor')
    return flip(x, 0)


class Roll(Op):
    complex_ok = True   # (moves or picks elements: any dtype)

    def forward(ctx, x, shifts, axes):
        ctx.shifts, ctx.axes = shifts, axes
        return ctx.xp.roll(x, shifts, axes)

    def backward(ctx, g):
        return Roll.apply(g, shifts=tuple(-s for s in ctx.shifts), axes=ctx.axes)


@method('roll')
def roll(x, shifts, dims=None):
    """Shift elements cyclically along ``dims`` (of the flattened tensor if ``dims`` is None).

    >>> ember.tensor([1, 2, 3]).roll(1)
    tensor([3, 1, 2])
    """
    shifts = _dims_arg(shifts, 'roll')
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f'roll: shifts and dimensions must align. shifts: {len(shifts)}, '
                               f'dims: 0')
        return Roll.apply(flatten(x), shifts=shifts, axes=(0,)).view(tuple(x.shape))
    dims = _dims_arg(dims, 'roll')
    if len(shifts) != len(dims):
        raise RuntimeError(f'roll: shifts and dimensions must align. shifts: {len(shifts)}, '
                           f'dims: {len(dims)}')
    axes = tuple(_wrap_dim(d, x.ndim, 'roll') for d in dims)
    if x.ndim == 0:
        return Clone.apply(x)
    return Roll.apply(x, shifts=shifts, axes=axes)


class Tri(Op):
    """The lower (``tril``) or upper (``triu``) triangle of the last two dimensions."""
    complex_ok = True   # (moves or picks elements: any dtype)

    def forward(ctx, x, k, upper):
        ctx.k, ctx.upper = k, upper
        return (ctx.xp.triu if upper else ctx.xp.tril)(x, k)

    def backward(ctx, g):
        return Tri.apply(g, k=ctx.k, upper=ctx.upper)


def _tri(x, diagonal, upper):
    if x.ndim < 2:
        raise RuntimeError(f'{"triu" if upper else "tril"}: input tensor must have at least 2 '
                           f'dimensions, got shape {tuple(x.shape)}')
    return Tri.apply(x, k=int(diagonal), upper=upper)


@method('tril')
def tril(x, diagonal=0):
    """Zero the elements above the ``diagonal``-th diagonal of the last two dimensions.

    >>> ember.ones(2, 2).tril()
    tensor([[1., 0.],
            [1., 1.]])
    """
    return _tri(x, diagonal, False)


@method('triu')
def triu(x, diagonal=0):
    """Zero the elements below the ``diagonal``-th diagonal of the last two dimensions.

    >>> ember.ones(2, 2).triu(1)
    tensor([[0., 1.],
            [0., 0.]])
    """
    return _tri(x, diagonal, True)


def _writable(arr):
    # NumPy's diagonal views are read-only for backwards compatibility; torch's are writable
    if traced_cpu(arr) and not arr.flags.writeable:   # (ember.compile: a node of the program)
        return arr.cap.call(make_writable, (arr,), {})
    return make_writable(arr)


def make_writable(arr):
    """``arr`` made writable where NumPy allows (a view of read-only memory stays so)."""
    if type(arr) is np.ndarray and not arr.flags.writeable:
        try:
            arr.flags.writeable = True
        except ValueError:   # a view of read-only memory (an expanded tensor) stays read-only
            pass
    return arr


class Diagonal(Op):
    complex_ok = True   # (moves or picks elements: any dtype)
    is_view = True

    def forward(ctx, x, offset, dim1, dim2):
        ctx.shape, ctx.args = x.shape, dict(offset=offset, dim1=dim1, dim2=dim2)
        return _writable(ctx.xp.diagonal(x, offset, dim1, dim2))

    def backward(ctx, g):
        return DiagonalScatter.apply(g, shape=ctx.shape, args=ctx.args)


class DiagonalScatter(Op):
    """The gradient of ``diagonal``: zeros with ``g`` written on the diagonal."""
    complex_ok = True   # (moves or picks elements: any dtype)

    def forward(ctx, g, shape, args):
        ctx.args = args
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        _writable(ctx.xp.diagonal(out, args['offset'], args['dim1'], args['dim2']))[...] = g
        return out

    def backward(ctx, gg):
        return Diagonal.apply(gg, **ctx.args)


@method('diagonal')
def diagonal(x, offset=0, dim1=0, dim2=1):
    """A view of the diagonal of ``dim1`` and ``dim2`` (moved to the last dimension).

    >>> ember.arange(9).reshape(3, 3).diagonal(1)
    tensor([1, 5])
    """
    if x.ndim < 2:
        raise RuntimeError(f'diagonal: input must have at least 2 dimensions, got shape '
                           f'{tuple(x.shape)}')
    d1, d2 = _wrap_dim(dim1, x.ndim, 'diagonal'), _wrap_dim(dim2, x.ndim, 'diagonal')
    if d1 == d2:
        raise RuntimeError(f'diagonal: diagonal dimensions cannot be identical {dim1}, {dim2}')
    return Diagonal.apply(x, offset=int(offset), dim1=d1, dim2=d2)


@method('narrow')
def narrow(x, dim, start, length):
    """A view of ``length`` elements of dimension ``dim`` from ``start``.

    >>> ember.arange(5).narrow(0, 1, 3)
    tensor([1, 2, 3])
    """
    if x.ndim == 0:
        raise RuntimeError('narrow() cannot be applied to a 0-dim tensor.')
    d = _wrap_dim(dim, x.ndim, 'narrow')
    n, start, length = x.shape[d], int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(f'narrow: start out of range (expected to be in range of [{-n}, {n}], '
                         f'but got {start})')
    start %= n if n else 1
    if length < 0:
        raise RuntimeError(f'narrow(): length must be non-negative, got {length}')
    if start + length > n:
        raise RuntimeError(f'narrow: start ({start}) + length ({length}) exceeds dimension size '
                           f'({n}) of dimension {d} in shape {tuple(x.shape)}.')
    return x[(slice(None),) * d + (slice(start, start + length),)]


@method('select')
def select(x, dim, index):
    """A view of ``x`` at ``index`` of dimension ``dim``, which is removed.

    >>> ember.tensor([[1, 2], [3, 4]]).select(1, 0)
    tensor([1, 3])
    """
    if x.ndim == 0:
        raise IndexError('select() cannot be applied to a 0-dim tensor.')
    d = _wrap_dim(dim, x.ndim, 'select')
    n, index = x.shape[d], int(index)
    if not -n <= index < n:
        raise IndexError(f'select(): index {index} out of range for tensor of size '
                         f'{list(x.shape)} at dimension {d}')
    return x[(slice(None),) * d + (index % n,)]


# ---------------------------------------------------------------- padding

class Pad(Op):
    """Constant padding; ``widths`` are non-negative (before, after) pairs per dimension."""

    def forward(ctx, x, widths, value):
        ctx.crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return ctx.xp.pad(x, widths, constant_values=value)

    def backward(ctx, g):
        return g[ctx.crop]


def _pad_index(n, lo, hi, mode):
    """Source positions of a padded dimension of size ``n`` in a non-constant mode."""
    j = np.arange(-lo, n + hi)
    if mode == 'replicate':
        return np.clip(j, 0, n - 1)
    if mode == 'circular':
        return j % n
    j = np.abs(j)   # reflect: mirror at 0 and at n - 1, without repeating the edge
    return np.where(j > n - 1, 2 * (n - 1) - j, j)


def pad(input, pad, mode='constant', value=None):
    """Pad the last dimensions: ``pad`` is (left, right) of the last dimension, then of the one
    before, and so on. Negative amounts crop. Modes: 'constant' (``value``, default 0),
    'reflect', 'replicate' and 'circular'.

    >>> ember.nn.functional.pad(ember.tensor([[1, 2]]), (1, 2), value=9)
    tensor([[9, 1, 2, 9, 9]])
    >>> ember.nn.functional.pad(ember.tensor([[[1., 2., 3.]]]), (2, 1), mode='reflect')
    tensor([[[3., 2., 1., 2., 3., 2.]]])
    """
    x, pad = input, _shape_arg((pad,), 'pad')
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeError(f'pad: padding length must be even and at most twice the number of '
                           f'dimensions, got pad {pad} for input of shape {tuple(x.shape)}')
    k = len(pad) // 2
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(k)][::-1]   # first padded dim first
    dims = range(x.ndim - k, x.ndim)
    if mode == 'constant':
        for d, (lo, hi) in zip(dims, pairs):
            if x.shape[d] + min(lo, 0) + min(hi, 0) < 0:
                raise RuntimeError(f'pad: the input size {x.shape[d]} at dimension {d}, plus '
                                   f'negative padding {lo} and {hi}, is negative')
            x = narrow(x, d, -min(lo, 0), x.shape[d] + min(lo, 0) + min(hi, 0))
        widths = ((0, 0),) * (x.ndim - k) + tuple((max(lo, 0), max(hi, 0)) for lo, hi in pairs)
        return Pad.apply(x, widths=widths, value=0 if value is None else value)
    if mode not in ('reflect', 'replicate', 'circular'):
        raise NotImplementedError(f"pad: unknown padding mode {mode!r}; expected 'constant', "
                                  f"'reflect', 'replicate' or 'circular'")
    if value:
        raise RuntimeError(f'pad: padding mode "{mode}" doesn\'t take in value argument')
    if not k + 1 <= x.ndim <= k + 2 or k > 3:
        raise NotImplementedError(f'pad: padding size {len(pad)} is not supported for '
                                  f'{x.ndim}D input tensor in mode {mode!r}; expected 2D or 3D '
                                  f'input for size 2, 3D or 4D for 4, 4D or 5D for 6')
    for d, (lo, hi) in zip(dims, pairs):
        n = x.shape[d]
        limit = n - 1 if mode == 'reflect' else n
        if (mode != 'replicate' and max(lo, hi) > limit) or n == 0:
            raise RuntimeError(f'pad: padding ({lo}, {hi}) at dimension {d} of input '
                               f'{list(x.shape)} is too large for mode {mode!r}: it should be '
                               f'{"less than" if mode == "reflect" else "at most"} the input '
                               f'size, which must be non-zero')
        idx = Tensor._make(namespace(x._data).asarray(_pad_index(n, lo, hi, mode)))
        x = x.index_select(d, idx)
    return x
