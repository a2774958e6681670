"""Indexing and selection: ``x[idx]`` and ``x[idx] = v``, where, gather, scatter, masks.

Three primitives carry every gradient here: ``GetItem`` (and its view form ``View``),
``IndexAdd`` (its gradient: zeros with values added at the index) and ``IndexPut`` (the node
``x[idx] = v`` records). gather, scatter, index_select, masked_fill and friends are
compositions of them, so their gradients of gradients come for free.
"""
import numpy as np

from .._dtype import bool_
from .._dtype import check_fits
from .._tensor import Tensor, _wrap_dim, method
from ..autograd import Op, _State, _record
from ..backend import namespace, scatter_add as _scatter_add, traced, traced_cpu
from .elementwise import operands
from .movement import Clone, clone, flatten

__all__ = ['where', 'gather', 'scatter', 'scatter_add', 'index_select', 'index_add',
           'index_fill', 'masked_fill', 'masked_select', 'take_along_dim', 'nonzero',
           'argwhere']
# ---------------------------------------------------------------- indexing

def _index(idx, xp=np, ndim=None):
    """An index for arrays of namespace ``xp``, and whether it is basic (a view): tensors and
    lists become integer or bool arrays, as torch reads them, on the indexed tensor's device
    (a CPU index may index a CUDA tensor, as in torch, not the other way round). Given the
    tensor's ``ndim``, an advanced index's ``...`` becomes the slices it stands for."""
    items = idx if isinstance(idx, tuple) else (idx,)
    out, basic = [], True
    for i in items:
        if isinstance(i, Tensor):
            if i.dtype.is_floating_point:
                raise IndexError(f'tensors used as indices must be long, int, byte or bool '
                                 f'tensors, got {i.dtype}')
            if xp is np and type(i._data) is not np.ndarray and not traced_cpu(i._data):
                raise RuntimeError(f'indices should be either on cpu or on the same device as '
                                   f'the indexed tensor (cpu), got an index on {i.device}')
            # uint8 tensors are masks in torch (deprecated there, but still so)
            i, basic = xp.asarray(i._data.astype(bool) if i.dtype.name == 'uint8' else i._data), \
                False
        elif isinstance(i, (list, tuple, np.ndarray)) or traced(i) or (
                xp is not np and isinstance(i, xp.ndarray)):
            i = xp.asarray(i)
            if not i.size:
                i = i.astype(np.intp)   # [] is an empty integer index, not float
            if i.dtype.kind not in 'biu':
                raise IndexError(f'indices must be integers or bools, got {i.dtype}')
            basic = False
        elif isinstance(i, slice):
            if i.step is not None and int(i.step) <= 0:
                raise ValueError(f'step must be greater than zero, got slice {i}')
        elif isinstance(i, bool) or (i is not None and i is not Ellipsis
                                     and not isinstance(i, (int, np.integer))):
            if not isinstance(i, bool):
                raise IndexError(f'index of type {type(i).__name__} is not supported; use '
                                 f'ints, slices, None, ..., or integer/bool tensors')
            basic = False
        out.append(i)
    if not basic and ndim is not None and any(i is Ellipsis for i in out):
        # torch expands ... first: arrays it separates by no dimension are adjacent (their
        # dimensions stay in place), where NumPy would move them to the front
        used = sum(0 if i is None or isinstance(i, bool) else
                   i.ndim if getattr(i, 'dtype', None) is not None and i.dtype.kind == 'b'
                   else 1 for i in out if i is not Ellipsis)
        k = next(n for n, i in enumerate(out) if i is Ellipsis)
        out[k:k + 1] = [slice(None)] * max(ndim - used, 0)
    if not basic and any(isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                         for i in out):
        return _two_step(out), False
    return tuple(out), basic


class _TwoStep(tuple):
    """(ints, the rest): torch applies integer indices first, as selects, then the advanced
    ones; NumPy would treat the ints as advanced too and move dimensions differently."""


def _two_step(items):
    first, second = [], []
    for i in items:
        if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            first.append(i)
            continue
        if i is Ellipsis:
            first.append(i)
        elif isinstance(i, slice):
            first.append(slice(None))
        elif i is not None and not isinstance(i, bool):   # an array; a mask spans its ndim
            first.extend([slice(None)] * (i.ndim if i.dtype.kind == 'b' else 1))
        second.append(i)
    if not any(i is Ellipsis for i in first):
        first.append(Ellipsis)   # keeps a 0-d result a view, not a scalar
    return _TwoStep((tuple(first), tuple(second)))


def _take(arr, idx):
    return arr[idx[0]][idx[1]] if isinstance(idx, _TwoStep) else arr[idx]


def _put(arr, idx, value):
    if isinstance(idx, _TwoStep):
        arr[idx[0]][idx[1]] = value
    else:
        arr[idx] = value


class GetItem(Op):
    complex_ok = True   # (moves or picks elements: any dtype)

    def forward(ctx, x, idx):
        ctx.shape, ctx.idx = x.shape, idx
        return _take(x, idx)

    def backward(ctx, g):
        return IndexAdd.apply(g, shape=ctx.shape, idx=ctx.idx, basic=False)


class View(GetItem):
    """Basic indexing (ints, slices, None, ...): a view sharing memory."""
    is_view = True

    def backward(ctx, g):
        return IndexAdd.apply(g, shape=ctx.shape, idx=ctx.idx, basic=True)


class IndexAdd(Op):
    """The gradient of indexing: zeros of ``shape`` with ``g`` added at ``idx`` (repeated
    positions add up)."""
    complex_ok = True   # (moves or picks elements: any dtype)

    def forward(ctx, g, shape, idx, basic):
        ctx.idx, ctx.basic = idx, basic
        if not basic and not isinstance(idx, _TwoStep) and _rows_index(idx, shape, g):
            rows, n = shape[0], idx[0].size   # an embedding's gradient: a one-hot GEMM
            onehot = ctx.xp.zeros((n, rows), dtype=g.dtype)
            onehot[ctx.xp.arange(n), idx[0].reshape(-1)] = 1
            out = onehot.T @ g.reshape(n, -1)
            return out if out.shape == shape else out.reshape(shape)   # (not a view: a
        out = ctx.xp.zeros(shape, dtype=g.dtype)                     # first .grad keeps it)
        if basic:
            out[idx] = g
        elif isinstance(idx, _TwoStep):
            _scatter_add(ctx.xp, out[idx[0]], idx[1], g)
        else:
            _scatter_add(ctx.xp, out, idx, g)
        return out

    def backward(ctx, gg):
        return (View if ctx.basic else GetItem).apply(gg, idx=ctx.idx)


def _rows_index(idx, shape, g):
    """True for ``w[int_array]`` on a 2-D+ ``w`` with few enough rows and indices that a one-hot
    matrix is cheap: then ``onehot.T @ g`` is many times faster than ``add.at``."""
    if len(idx) != 1 or len(shape) < 2:
        return False
    i = idx[0]
    return getattr(i, 'dtype', None) is not None and i.dtype.kind in 'iu' and i.size > 0 and \
        i.size * shape[0] <= 1 << 22 and g.dtype.kind == 'f'   # (negative i index from the end)


def __getitem__(x, idx):
    """Indexing as in torch: ints, slices, None, ..., integer and bool tensors or lists."""
    idx, basic = _index(idx, namespace(x._data), x.ndim)
    return (View if basic else GetItem).apply(x, idx=idx)


class IndexPut(Op):
    """``x[idx] = v``: the gradient of the old ``x`` is zero at ``idx``; ``v`` gets ``g[idx]``."""
    complex_ok = True   # (moves or picks elements: any dtype)

    def backward(ctx, g):
        mask = ctx.xp.ones(g.shape, dtype=g._data.dtype)
        _put(mask, ctx.idx, 0)
        keep = g * Tensor._make(mask)
        return keep, GetItem.apply(g, idx=ctx.idx)


def __setitem__(x, idx, value):
    """Index assignment, in place and differentiable (as ``torch.Tensor.__setitem__``)."""
    idx, basic = _index(idx, namespace(x._data), x.ndim)
    if not isinstance(value, Tensor):
        check_fits('index_put_', value, x._data.dtype)   # (x[0] = nan in an int tensor)
        value = Tensor._make(np.asarray(value, dtype=x._data.dtype))
        if type(x._data) is not np.ndarray and not traced_cpu(x._data):
            value = value.to(x.device)
    x._check_inplace('setitem')
    recording = _State.grad_enabled and x.dtype.kind >= 2 and (
        x.requires_grad or value.requires_grad)
    if recording and x._base is not None:
        if getattr(x, '_view_chain', None) is None:
            raise RuntimeError(f'setitem: assignment with autograd into a view (shape '
                               f'{tuple(x.shape)}) that autograd cannot replay is not '
                               f'supported; assign into the base tensor instead')
        # the generic in-place path rewrites the base's history (PyTorch's CopySlices)
        x._inplace('setitem', lambda s, v: _index_put(s, idx, v), value)
        return
    if value.device != x.device:
        raise RuntimeError(f'setitem: value on {value.device} cannot be assigned into a tensor '
                           f'on {x.device}')
    try:
        _put(x._data, idx, value._data)
    except ValueError as e:
        raise RuntimeError(f'setitem: shape mismatch: {e} (tensor {tuple(x.shape)}, value '
                           f'{tuple(value.shape)})') from None
    except IndexError as e:
        raise IndexError(f'setitem: {e} (tensor {tuple(x.shape)}, value '
                         f'{tuple(value.shape)})') from None
    x._version[0] += 1
    if recording:
        if value.dtype is not x.dtype:
            value = value.to(x.dtype)
        node = IndexPut.__new__(IndexPut)
        node.idx, node.xp = idx, namespace(x._data)
        edge_x = Tensor._make(x._data, x.grad_fn)
        edge_x._output_nr, edge_x._requires_grad = x._output_nr, x._requires_grad
        out = _record(node, [edge_x, value], x._data)
        if out.grad_fn is not None:
            x.grad_fn, x._output_nr, x._requires_grad = out.grad_fn, 0, True


def _index_put(x, idx, value):
    """``x`` with ``value`` written at ``idx``, out of place."""
    out = Clone.apply(x)
    out[idx] = value
    return out


Tensor.__getitem__ = __getitem__
Tensor.__setitem__ = __setitem__


# ---------------------------------------------------------------- where

class Where(Op):
    complex_ok = True   # (moves or picks elements: any dtype)

    def forward(ctx, cond, a, b):
        ctx.cond = cond
        return ctx.xp.where(cond, a, b)

    def backward(ctx, g):
        c = Tensor._make(ctx.cond)
        zero = g * 0
        return None, where(c, g, zero), where(c, zero, g)

    def fast_backward(ctx, g):
        xp, c = ctx.xp, ctx.cond
        return (None, xp.where(c, g, 0).astype(g.dtype, copy=False) if ctx.needs(1) else None,
                xp.where(c, 0, g).astype(g.dtype, copy=False) if ctx.needs(2) else None)


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other`` (broadcast, promoted). With only
    ``condition``, the indices of its non-zero elements (``nonzero(as_tuple=True)``).

    >>> ember.where(ember.tensor([True, False]), ember.tensor([1.0, 2.0]), 0.0)
    tensor([1., 0.])
    >>> ember.where(ember.tensor([0, 3, 4]))
    (tensor([1, 2]),)
    """
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor) or condition.dtype is not bool_:
        raise RuntimeError(f'where: expected condition to be a bool tensor, got '
                           f'{getattr(condition, "dtype", type(condition).__name__)}')
    a, b = operands(input, other, like=condition)
    return Where.apply(condition, a, b)


@method('where')
def _where_method(x, condition, other):
    """``x.where(condition, y)`` is ``ember.where(condition, x, y)``, as in torch.

    >>> x = ember.tensor([1.0, -1.0])
    >>> x.where(x > 0, ember.zeros(2))
    tensor([1., 0.])
    """
    return where(condition, x, other)


# ---------------------------------------------------------------- gather and scatter

def _check_index(op, x, dim, index, src=None):
    """Torch's checks for gather/scatter: an int64 index of x's rank, no larger than x apart
    from ``dim`` (and no larger than ``src`` anywhere), with values in range."""
    if not isinstance(index, Tensor) or index.dtype.name not in ('int64', 'int32'):
        raise RuntimeError(f'{op}(): Expected dtype int64 for index, got '
                           f'{getattr(index, "dtype", type(index).__name__)}')
    d = _wrap_dim(dim, x.ndim, op)
    if index.ndim != x.ndim and index.numel():
        raise RuntimeError(f'{op}(): Index tensor must have the same number of dimensions as '
                           f'input tensor (index {tuple(index.shape)}, input {tuple(x.shape)})')
    for k in range(index.ndim):
        if k != d and index.shape[k] > x.shape[k]:
            raise RuntimeError(f'{op}(): Size does not match at dimension {k} expected index '
                               f'{list(index.shape)} to be no larger than self '
                               f'{list(x.shape)} apart from dimension {d}')
        if src is not None and index.shape[k] > src.shape[k]:
            raise RuntimeError(f'{op}(): Expected index {list(index.shape)} to be no larger '
                               f'than src {list(src.shape)} in dimension {k}')
    n = x.shape[d] if x.ndim else 1
    if index.numel():
        lo, hi = int(index._data.min()), int(index._data.max())
        if lo < 0 or hi >= n:
            raise RuntimeError(f'{op}(): index {lo if lo < 0 else hi} is out of bounds for '
                             f'dimension {d} with size {n} (input {tuple(x.shape)})')
    return d


def _positions(index, d):
    """The advanced index of x's elements that an index of ``gather``/``scatter`` names:
    ``index`` itself along ``d``, every position along the other dimensions."""
    if index.ndim == 0:
        return (index._data.reshape(1),)
    xp = namespace(index._data)
    return tuple(index._data if k == d else
                 xp.arange(s).reshape((-1,) + (1,) * (index.ndim - k - 1))
                 for k, s in enumerate(index.shape))


def _part(src, index):
    """The corner of ``src`` that ``index`` covers (scatter reads only that)."""
    if src.shape == index.shape:
        return src
    return src[tuple(slice(0, s) for s in index.shape)]


@method('gather')
def gather(input, dim, index):
    """``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (and likewise for other dims).

    >>> ember.tensor([[1, 2], [3, 4]]).gather(1, ember.tensor([[0, 0], [1, 0]]))
    tensor([[1, 1],
            [4, 3]])
    """
    d = _check_index('gather', input, dim, index)
    if input.ndim == 0:
        return GetItem.apply(input.reshape(1), idx=_positions(index, d)).reshape(index.shape)
    return GetItem.apply(input, idx=_positions(index, d))


def _scatter_value(op, x, src, value):
    if isinstance(src, Tensor):
        if src.dtype is not x.dtype:
            raise RuntimeError(f'{op}(): Expected self.dtype to be equal to src.dtype (got '
                               f'{x.dtype} and {src.dtype})')
        return src
    value = src if value is None else value
    if value is None:
        raise TypeError(f'{op}(): expected a src tensor or a value')
    return value


@method('scatter')
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of ``input`` with ``out[index[i][j]][j] = src[i][j]`` for ``dim=0`` (likewise for
    other dims); ``src`` may be a number. Repeated positions keep one of the values.
    ``reduce='add'`` or ``'multiply'`` combines instead (no gradient, as torch's).

    >>> ember.zeros(2, 3).scatter(1, ember.tensor([[2], [0]]), 1.0)
    tensor([[0., 0., 1.],
            [1., 0., 0.]])
    >>> ember.ones(3).scatter(0, ember.tensor([1, 1]), 2.0, reduce='multiply')
    tensor([1., 4., 1.])
    """
    src = _scatter_value('scatter', input, src, value)
    if reduce is not None:
        from .gaps import scatter_with_reduce
        return scatter_with_reduce(input, dim, index, src, reduce)
    is_src = isinstance(src, Tensor)
    d = _check_index('scatter', input, dim, index, src if is_src else None)
    out = clone(input)
    if input.ndim == 0:
        out = out.reshape(1)
    out[_positions(index, d)] = _part(src, index).reshape(index.shape) if is_src else src
    return out.reshape(input.shape)


@method('scatter_add')
def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src[i][j]`` added at ``[index[i][j]][j]`` for ``dim=0``
    (likewise for other dims); repeated positions add up.

    >>> ember.zeros(3).scatter_add(0, ember.tensor([0, 2, 0]), ember.ones(3))
    tensor([2., 0., 1.])
    """
    src = _scatter_value('scatter_add', input, src, None)
    d = _check_index('scatter_add', input, dim, index, src)
    if input.ndim == 0:
        return scatter_add(input.reshape(1), 0, index.reshape(1), src.reshape(1)).reshape(())
    added = IndexAdd.apply(_part(src, index), shape=input.shape, idx=_positions(index, d),
                           basic=False)
    return input + added


@method('scatter_')
def scatter_(input, dim, index, src=None, value=None, *, reduce=None):
    """In-place ``scatter``.

    >>> ember.zeros(3).scatter_(0, ember.tensor([1]), 5.0)
    tensor([0., 5., 0.])
    """
    src = _scatter_value('scatter_', input, src, value)
    return input._inplace('scatter_', lambda s, v: scatter(s, dim, index, v, reduce=reduce),
                          src)


@method('scatter_add_')
def scatter_add_(input, dim, index, src):
    """In-place ``scatter_add``.

    >>> ember.zeros(2).scatter_add_(0, ember.tensor([1, 1]), ember.ones(2))
    tensor([0., 2.])
    """
    return input._inplace('scatter_add_', lambda s, v: scatter_add(s, dim, index, v), src)


@method('take_along_dim')
def take_along_dim(input, indices, dim=None):
    """``gather`` with broadcasting of ``input`` and ``indices`` outside ``dim``; with no
    ``dim``, indices into the flattened input.

    >>> x = ember.tensor([[10, 30, 20], [60, 40, 50]])
    >>> x.take_along_dim(ember.tensor([[1], [0]]), 1)
    tensor([[30],
            [60]])
    """
    if dim is None:
        return gather(flatten(input), 0, flatten(indices))
    if input.ndim != indices.ndim:
        raise RuntimeError(f'take_along_dim(): input and indices should have the same number '
                           f'of dimensions, but got {input.ndim} dimensions for input, and '
                           f'{indices.ndim} dimensions for indices')
    d = _wrap_dim(dim, input.ndim, 'take_along_dim')
    try:   # broadcast everywhere but along dim
        shape = list(np.broadcast_shapes(input.shape[:d] + (1,) + input.shape[d + 1:],
                                         indices.shape[:d] + (1,) + indices.shape[d + 1:]))
    except ValueError:
        raise RuntimeError(f'take_along_dim(): input {tuple(input.shape)} and indices '
                           f'{tuple(indices.shape)} are not broadcastable apart from dimension '
                           f'{d}') from None
    xs, ixs = list(shape), list(shape)
    xs[d], ixs[d] = input.shape[d], indices.shape[d]
    return gather(input.expand(xs), d, indices.expand(ixs))


# ---------------------------------------------------------------- index_* ops

def _vector_index(op, x, dim, index, negative=False):
    if not isinstance(index, Tensor) or index.dtype.name not in ('int64', 'int32'):
        raise RuntimeError(f'{op}(): Expected dtype int32/int64 for index, got '
                           f'{getattr(index, "dtype", type(index).__name__)}')
    if index.ndim > 1:
        raise IndexError(f'{op}(): Index is supposed to be a vector, got shape '
                         f'{tuple(index.shape)}')
    d = _wrap_dim(dim, x.ndim, op)
    n = x.shape[d] if x.ndim else 1
    # as torch: index_fill wraps -n..-1, index_select and index_add refuse negatives
    if index.numel() and (int(index._data.min()) < (-n if negative else 0)
                          or int(index._data.max()) >= n):
        raise IndexError(f'{op}(): index out of range in self (index values '
                         f'{index.tolist()}, dimension {d} of size {n})')
    return d, (slice(None),) * d + (index._data.reshape(-1),)


@method('index_select')
def index_select(input, dim, index):
    """The entries ``index`` (a vector) of dimension ``dim``.

    >>> ember.tensor([[1, 2], [3, 4]]).index_select(0, ember.tensor([1, 1]))
    tensor([[3, 4],
            [3, 4]])
    """
    d, idx = _vector_index('index_select', input, dim, index)
    if input.ndim == 0:
        return GetItem.apply(input.reshape(1), idx=idx).reshape(())
    return GetItem.apply(input, idx=idx)


@method('index_add')
def index_add(input, dim, index, source, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added at entries ``index`` of ``dim``.

    >>> ember.zeros(3).index_add(0, ember.tensor([0, 0, 2]), ember.tensor([1., 2., 3.]))
    tensor([3., 0., 3.])
    """
    d, idx = _vector_index('index_add', input, dim, index)
    want = input.shape[:d] + (index.numel(),) + input.shape[d + 1:]
    if input.ndim and tuple(source.shape) != want:
        raise RuntimeError(f'index_add(): source of shape {tuple(source.shape)} should have '
                           f'shape {want}: input {tuple(input.shape)} with dimension {d} of '
                           f'size len(index) = {index.numel()}')
    if alpha != 1:
        source = source * alpha
    if input.ndim == 0:
        return input + source.sum() if index.numel() else clone(input)
    return input + IndexAdd.apply(source, shape=input.shape, idx=idx, basic=False)


@method('index_fill')
def index_fill(input, dim, index, value):
    """A copy of ``input`` with entries ``index`` of ``dim`` set to ``value``.

    >>> ember.zeros(2, 2).index_fill(1, ember.tensor([0]), 7.0)
    tensor([[7., 0.],
            [7., 0.]])
    """
    d, idx = _vector_index('index_fill', input, dim, index, negative=True)
    # each position once: a repeated index would give the value's gradient twice
    idx = idx[:-1] + (namespace(index._data).unique(idx[-1] % (input.shape[d] if input.ndim
                                                                else 1)),)
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f'index_fill(): only supports a 0-dimensional value tensor, but got '
                           f'tensor with {value.ndim} dimension(s)')
    out = clone(input)
    if input.ndim == 0:
        out = out.reshape(1)
    out[idx] = value
    return out.reshape(input.shape)


@method('index_fill_')
def index_fill_(input, dim, index, value):
    """In-place ``index_fill``.

    >>> ember.zeros(3).index_fill_(0, ember.tensor([2]), 1.0)
    tensor([0., 0., 1.])
    """
    return input._inplace('index_fill_', lambda s, v: index_fill(s, dim, index, v), value)


@method('index_add_')
def index_add_(input, dim, index, source, alpha=1):
    """In-place ``index_add``.

    >>> ember.zeros(2).index_add_(0, ember.tensor([1]), ember.ones(1))
    tensor([0., 1.])
    """
    return input._inplace('index_add_', lambda s, v: index_add(s, dim, index, v, alpha), source)


# ---------------------------------------------------------------- masks

def _mask(op, mask):
    if not isinstance(mask, Tensor) or mask.dtype is not bool_:
        raise RuntimeError(f'{op} only supports boolean masks, but got mask with dtype '
                           f'{getattr(mask, "dtype", type(mask).__name__)}')
    return mask


@method('masked_fill')
def masked_fill(input, mask, value):
    """``input`` with ``value`` (a number or 0-d tensor) where ``mask`` is True.

    >>> ember.tensor([1., 2., 3.]).masked_fill(ember.tensor([True, False, True]), 0.0)
    tensor([0., 2., 0.])
    """
    _mask('masked_fill', mask)
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f'masked_fill_ only supports a 0-dimensional value tensor, but '
                               f'got tensor with {value.ndim} dimension(s).')
        value = value if value.dtype is input.dtype else value.to(input.dtype)
    else:
        value = Tensor._make(namespace(input._data).asarray(value, dtype=input._data.dtype))
    return Where.apply(mask, value, input)


@method('masked_fill_')
def masked_fill_(input, mask, value):
    """In-place ``masked_fill``.

    >>> ember.zeros(2).masked_fill_(ember.tensor([False, True]), 1.0)
    tensor([0., 1.])
    """
    return input._inplace('masked_fill_', lambda s, v: masked_fill(s, mask, v), value)


@method('masked_select')
def masked_select(input, mask):
    """The elements of ``input`` where ``mask`` (broadcast with it) is True, as a 1-d tensor.

    >>> ember.tensor([[1, 2], [3, 4]]).masked_select(ember.tensor([True, False]))
    tensor([1, 3])
    """
    _mask('masked_select', mask)
    try:
        shape = np.broadcast_shapes(input.shape, mask.shape)
    except ValueError:
        raise RuntimeError(f'masked_select(): the shapes of input {tuple(input.shape)} and mask '
                           f'{tuple(mask.shape)} are not broadcastable') from None
    return GetItem.apply(input.expand(shape), idx=(mask.expand(shape)._data,))


class Nonzero(Op):
    differentiable = False

    def forward(ctx, x):
        return ctx.xp.argwhere(x).astype(ctx.xp.int64)


@method('nonzero')
def nonzero(input, as_tuple=False):
    """The indices of non-zero elements: an (n, ndim) int64 tensor, or with ``as_tuple`` one
    1-d tensor per dimension.

    >>> ember.tensor([[0, 1], [2, 0]]).nonzero()
    tensor([[0, 1],
            [1, 0]])
    >>> ember.tensor([0, 5, 6]).nonzero(as_tuple=True)
    (tensor([1, 2]),)
    """
    if not as_tuple:
        return Nonzero.apply(input)
    found = Nonzero.apply(input.reshape(1) if input.ndim == 0 else input)
    return tuple(Tensor._make(found._data[:, k].copy()) for k in range(found.shape[1]))


@method('argwhere')
def argwhere(input):
    """``nonzero(input)``.

    >>> ember.argwhere(ember.tensor([0, 3]))
    tensor([[1]])
    """
    return Nonzero.apply(input)
