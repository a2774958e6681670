"""Sparse COO tensors, as ``torch.sparse``: enough for graph networks (``A_hat @ (X @ W)``).

A ``SparseTensor`` is not an ``ember.Tensor``: it holds an ``indices`` tensor (int64, one row
per dimension, one column per stored entry) and a ``values`` tensor (one value per entry),
and every op on it is composed of dense ember ops on ``values`` (``index_add``,
``index_select``, ``exp``...). So gradients need no code of their own: they reach ``values``
(and through it whatever made them, ``X.to_sparse()`` included) and the dense operands, to
any order. The index bookkeeping (coalescing, range checks) runs on the host in NumPy, on
arrays that carry no gradient.

NOTE: gradients, as a PyTorch user expects. A tensor built from ``values`` that require grad
(``sparse_coo_tensor(i, v)``) is not a leaf: backward fills ``v.grad`` (each stored entry,
duplicates included, gets the gradient of the dense matrix at its position, as torch's).
A tensor built with ``requires_grad=True`` is a leaf: its ``.grad`` is a coalesced sparse
tensor, the dense gradient at its stored positions (``torch.sparse.mm``'s ``sparse_mask``
rule; ``torch.mm`` would give that leaf a dense gradient). Where ember differs: a sparse
tensor is its own class (``ember.is_tensor`` is False for it); ``dense_dim()`` is 0 (no
hybrid tensors); CPU only; dense ops other than the ones below raise an error that says
"sparse", as torch's do, instead of computing on the stored values.

>>> i = ember.tensor([[0, 1, 1], [2, 0, 2]])
>>> a = ember.sparse_coo_tensor(i, ember.tensor([3.0, 4.0, 5.0]), (2, 3))
>>> a.to_dense()
tensor([[0., 0., 3.],
        [4., 0., 5.]])
>>> ember.sparse.mm(a, ember.ones(3, 1))
tensor([[3.],
        [9.]])
"""
from __future__ import annotations

import numpy as np

from ._creation import tensor, zeros
from ._tensor import Size, Tensor, _repr
from ._dtype import as_dtype, bool_, get_default_dtype, int64
from .backend import CPU, device as Device

__all__ = ['SparseTensor', 'mm', 'addmm', 'sum', 'softmax', 'log_softmax']


class layout:
    """How a tensor's elements are stored: ``ember.strided`` (dense arrays) or
    ``ember.sparse_coo`` (indices and values), as ``torch.layout``.

    >>> ember.ones(2).layout, ember.ones(2).to_sparse().layout
    (ember.strided, ember.sparse_coo)
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f'ember.{self.name}'


strided, sparse_coo = layout('strided'), layout('sparse_coo')


def _ints(arr):
    return Tensor._make(np.ascontiguousarray(arr, dtype=np.int64))


def _zeros(dtype, *shape):
    return zeros(*shape, dtype=dtype, device=CPU)   # (whatever the default device)


def _linear(idx, shape):
    """Each column of ``idx`` as one row-major position in ``shape`` (int64 arrays)."""
    lin = np.zeros(idx.shape[1], dtype=np.int64)
    for d, n in enumerate(shape):
        lin = lin * n + idx[d]
    return lin


class SparseTensor:
    """A sparse COO tensor: ``indices`` (int64, ``(sparse_dim, nnz)``) and ``values``
    (``(nnz,)``) of a tensor of ``shape``; made by ``ember.sparse_coo_tensor`` or
    ``Tensor.to_sparse()``. Entries at repeated indices add up; ``coalesce()`` sums them and
    sorts the indices.

    >>> a = ember.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse()
    >>> a
    tensor(indices=tensor([[0, 1],
                           [1, 0]]),
           values=tensor([2., 3.]),
           size=(2, 2), nnz=2, layout=ember.sparse_coo)
    >>> a.is_sparse, a.layout, a.shape
    (True, ember.sparse_coo, ember.Size([2, 2]))
    """
    __slots__ = ('_idx', '_vals', '_shape', '_coalesced', '_leaf')
    is_sparse = True
    layout = sparse_coo

    @staticmethod
    def _make(idx, values, shape, coalesced, leaf=False):
        """No checks: ``idx`` an int64 tensor, ``values`` a 1-D tensor, ``shape`` a tuple."""
        t = object.__new__(SparseTensor)
        t._idx, t._vals, t._shape, t._coalesced, t._leaf = idx, values, Size(shape), \
            coalesced, leaf
        return t

    def __getattr__(self, name):
        # ember's ops read ``_data``: an AttributeError there becomes their own error, which
        # names the op and the argument's type, SparseTensor
        if name.startswith('_') or not hasattr(Tensor, name):
            raise AttributeError(f"'SparseTensor' object has no attribute {name!r} (a sparse "
                                 f'tensor holds indices and values, no dense array)')
        raise RuntimeError(f'{name}: not supported on a sparse tensor in ember (shape '
                           f'{tuple(self._shape)}, layout ember.sparse_coo); call .to_dense() '
                           f'first, or use ember.sparse.{_OPS}')

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError(f'a sparse tensor (shape {tuple(self._shape)}, layout '
                           f'ember.sparse_coo) is no dense array: this op does not support '
                           f'sparse tensors in ember; call .to_dense() first')

    # ------------------------------------------------------------ attributes
    @property
    def shape(self) -> Size:
        """The shape of the tensor it stands for.

        >>> ember.ones(2, 3).to_sparse().shape
        ember.Size([2, 3])
        """
        return self._shape

    def size(self, dim: int | None = None):
        """The shape, or the length of one dimension.

        >>> ember.ones(2, 3).to_sparse().size(1)
        3
        """
        return self._shape if dim is None else self._shape[dim]

    @property
    def ndim(self) -> int:
        """The number of dimensions, as ``dim()``.

        >>> ember.ones(2, 3).to_sparse().ndim
        2
        """
        return len(self._shape)

    def dim(self) -> int:
        """The number of dimensions.

        >>> ember.ones(2, 3).to_sparse().dim()
        2
        """
        return len(self._shape)

    def sparse_dim(self) -> int:
        """The number of sparse dimensions: every dimension (ember has no hybrid tensors).

        >>> ember.ones(2, 3).to_sparse().sparse_dim()
        2
        """
        return len(self._shape)

    def dense_dim(self) -> int:
        """The number of dense dimensions: 0 (ember has no hybrid tensors).

        >>> ember.ones(2, 3).to_sparse().dense_dim()
        0
        """
        return 0

    def numel(self) -> int:
        """The number of elements of the tensor it stands for (stored or not).

        >>> ember.zeros(2, 3).to_sparse().numel()
        6
        """
        return self._shape.numel()

    def _nnz(self) -> int:
        """The number of stored entries (repeated indices counted each time).

        >>> ember.eye(3).to_sparse()._nnz()
        3
        """
        return self._vals.shape[0]

    @property
    def dtype(self):
        """The values' dtype.

        >>> ember.eye(2).to_sparse().dtype
        ember.float32
        """
        return self._vals.dtype

    @property
    def device(self):
        """Where the values live: always the CPU for a sparse tensor in ember.

        >>> ember.eye(2).to_sparse().device
        device(type='cpu')
        """
        return self._vals.device

    is_cuda = False

    @property
    def requires_grad(self) -> bool:
        """Whether the values require grad (a leaf made with ``requires_grad=True``, or built
        from values that require grad).

        >>> ember.eye(2, requires_grad=True).to_sparse().requires_grad
        True
        """
        return self._vals.requires_grad

    @property
    def is_leaf(self) -> bool:
        """Whether no recorded op made this tensor: a sparse tensor is a leaf unless it was
        built from values that require grad.

        >>> ember.eye(2).to_sparse().is_leaf
        True
        """
        return self._leaf or not self._vals.requires_grad

    @property
    def grad(self) -> SparseTensor | None:
        """A leaf's gradient after backward: a coalesced sparse tensor, the gradient of the
        dense tensor at the stored positions (None before backward, and for a non-leaf).

        >>> i = ember.tensor([[0, 1]])
        >>> a = ember.sparse_coo_tensor(i, ember.tensor([1.0, 2.0]), (3,), requires_grad=True)
        >>> (a.to_dense() * ember.tensor([5.0, 6.0, 7.0])).sum().backward()
        >>> a.grad.to_dense()
        tensor([5., 6., 0.])
        """
        g = self._vals.grad if self._leaf else None
        if g is None:
            return None
        # every op here reads the values through the dense tensor they add up to, so the
        # entries at one position share one gradient: keep it once
        idx, first, _ = _unique(self._idx._data, self._shape)
        return SparseTensor._make(_ints(idx), g[_ints(first)], self._shape, True)

    def requires_grad_(self, requires_grad: bool = True) -> SparseTensor:
        """Make this leaf require grad in place (its values become a leaf that does).

        >>> ember.eye(2).to_sparse().requires_grad_().requires_grad
        True
        """
        if not self.is_leaf:
            raise RuntimeError('requires_grad_: you can only change requires_grad flags of '
                               'leaf variables (this sparse tensor was built from values that '
                               'require grad)')
        self._vals = self._vals.detach().requires_grad_(requires_grad)   # (not the caller's)
        self._leaf = True
        return self

    def detach(self) -> SparseTensor:
        """The same indices and values with no history.

        >>> ember.eye(2, requires_grad=True).to_sparse().detach().requires_grad
        False
        """
        return SparseTensor._make(self._idx, self._vals.detach(), self._shape, self._coalesced)

    # ------------------------------------------------------------ indices and values
    def is_coalesced(self) -> bool:
        """Whether the indices are sorted and unique: true after ``coalesce()`` and
        ``to_sparse()``, false for ``sparse_coo_tensor``'s result (as torch, which does not
        look).

        >>> ember.eye(2).to_sparse().is_coalesced()
        True
        """
        return self._coalesced

    def coalesce(self) -> SparseTensor:
        """The same tensor with sorted, unique indices: the values at repeated indices are
        summed (differentiably). A coalesced tensor returns itself.

        >>> a = ember.sparse_coo_tensor([[1, 0, 1]], [1.0, 2.0, 3.0], (2,))
        >>> c = a.coalesce(); c.indices(), c.values()
        (tensor([[0, 1]]), tensor([2., 4.]))
        """
        if self._coalesced:
            return self
        idx, _, inverse = _unique(self._idx._data, self._shape)
        vals = self._vals
        summed = _zeros(vals.dtype, idx.shape[1]).index_add(0, _ints(inverse), vals)
        return SparseTensor._make(_ints(idx), summed, self._shape, True)

    def indices(self) -> Tensor:
        """The indices of a coalesced tensor, ``(sparse_dim, nnz)`` int64.

        >>> ember.eye(2).to_sparse().indices()
        tensor([[0, 1],
                [0, 1]])
        """
        self._need_coalesced('indices')
        return self._idx

    def values(self) -> Tensor:
        """The values of a coalesced tensor, ``(nnz,)``; gradients flow through them.

        >>> ember.eye(2).to_sparse().values()
        tensor([1., 1.])
        """
        self._need_coalesced('values')
        return self._vals

    def _indices(self) -> Tensor:
        """The stored indices, coalesced or not.

        >>> ember.sparse_coo_tensor([[1, 1]], [1.0, 2.0])._indices()
        tensor([[1, 1]])
        """
        return self._idx

    def _values(self) -> Tensor:
        """The stored values, coalesced or not.

        >>> ember.sparse_coo_tensor([[1, 1]], [1.0, 2.0])._values()
        tensor([1., 2.])
        """
        return self._vals

    def _need_coalesced(self, op):
        if not self._coalesced:
            raise RuntimeError(f'Cannot get {op} on an uncoalesced tensor, please call '
                               f'.coalesce() first')

    # ------------------------------------------------------------ conversion
    def to_dense(self) -> Tensor:
        """The dense tensor: zeros with the values added at their indices (repeated indices
        add up). Differentiable: the values get the gradient at their positions.

        >>> ember.sparse_coo_tensor([[0, 2, 2]], [1.0, 2.0, 3.0], (4,)).to_dense()
        tensor([1., 0., 5., 0.])
        """
        lin = _ints(_linear(self._idx._data, self._shape))
        flat = _zeros(self.dtype, self.numel()).index_add(0, lin, self._vals)
        return flat.reshape(tuple(self._shape))

    def to_sparse(self, sparse_dim: int | None = None) -> SparseTensor:
        """This tensor (it is sparse already).

        >>> a = ember.eye(2).to_sparse(); a.to_sparse() is a
        True
        """
        return self

    def to(self, *args, **kwargs) -> SparseTensor:
        """Cast the values (``to(ember.float64)``); a device other than the CPU is refused.

        >>> ember.eye(2).to_sparse().to(ember.float64).dtype
        ember.float64
        """
        dt = kwargs.get('dtype')
        for a in args + ((kwargs['device'],) if 'device' in kwargs else ()):
            if isinstance(a, (str, Device)):
                _cpu_only('to', a)
            elif a is not None:
                dt = a
        return self if dt is None else self._with(self._vals.to(as_dtype(dt)))

    def double(self) -> SparseTensor:
        """The values in float64.

        >>> ember.eye(2).to_sparse().double().dtype
        ember.float64
        """
        return self.to(as_dtype('float64'))

    def float(self) -> SparseTensor:
        """The values in float32.

        >>> ember.eye(2, dtype=ember.float64).to_sparse().float().dtype
        ember.float32
        """
        return self.to(as_dtype('float32'))

    def cpu(self) -> SparseTensor:
        """This tensor (sparse tensors live on the CPU).

        >>> a = ember.eye(2).to_sparse(); a.cpu() is a
        True
        """
        return self

    def t(self) -> SparseTensor:
        """The transpose of a 2-D sparse tensor (indices' rows swapped; not coalesced).

        >>> ember.sparse_coo_tensor([[0], [1]], [5.0], (2, 3)).t().to_dense()
        tensor([[0., 0.],
                [5., 0.],
                [0., 0.]])
        """
        if self.ndim != 2:
            raise RuntimeError(f't: expects a 2-D sparse tensor, got shape {tuple(self.shape)}')
        idx = _ints(self._idx._data[::-1])
        return SparseTensor._make(idx, self._vals, self._shape[::-1], False)

    def _with(self, values):
        return SparseTensor._make(self._idx, values, self._shape, self._coalesced)

    # ------------------------------------------------------------ arithmetic
    def __mul__(self, other) -> SparseTensor:
        """A sparse tensor times a number (or a 0-d tensor): the values scaled.

        >>> (ember.eye(2).to_sparse() * 3).values()
        tensor([3., 3.])
        """
        if isinstance(other, SparseTensor) or (isinstance(other, Tensor) and other.ndim) \
                or not isinstance(other, (int, float, Tensor)):
            what = type(other).__name__ if not isinstance(other, Tensor) else \
                f'a dense tensor of shape {tuple(other.shape)}'
            raise RuntimeError(f'mul: a sparse tensor times {what} is not supported in ember '
                               f'(only numbers and 0-d tensors); use .to_dense() first')
        return self._with(self._vals * other)

    __rmul__ = __mul__

    def __truediv__(self, other) -> SparseTensor:
        """A sparse tensor divided by a number (or a 0-d tensor).

        >>> (ember.eye(2).to_sparse() / 4).values()
        tensor([0.2500, 0.2500])
        """
        if not isinstance(other, (int, float)) and not (isinstance(other, Tensor)
                                                        and other.ndim == 0):
            raise RuntimeError(f'div: a sparse tensor divided by {type(other).__name__} is '
                               f'not supported in ember (only numbers and 0-d tensors)')
        return self._with(self._vals / other)

    def __neg__(self) -> SparseTensor:
        """The values negated.

        >>> (-ember.eye(2).to_sparse()).values()
        tensor([-1., -1.])
        """
        return self._with(-self._vals)

    def __add__(self, other: SparseTensor) -> SparseTensor:
        """The sum of two sparse tensors of one shape: their entries side by side (coalesced
        when both are, as torch).

        >>> a = ember.eye(2).to_sparse()
        >>> (a + a).to_dense()
        tensor([[2., 0.],
                [0., 2.]])
        """
        if not isinstance(other, SparseTensor):
            raise RuntimeError(f'add(sparse, {type(other).__name__}) is not supported in ember'
                               f': add two sparse tensors, or use .to_dense() first')
        if other._shape != self._shape:
            raise RuntimeError(f'add: expected sparse tensors of the same shape, got '
                               f'{tuple(self._shape)} and {tuple(other._shape)}')
        from .ops import cat
        idx = _ints(np.concatenate([self._idx._data, other._idx._data], axis=1))
        vals = cat([self._vals, other._vals])
        out = SparseTensor._make(idx, vals, self._shape, False)
        return out.coalesce() if self._coalesced and other._coalesced else out

    def __sub__(self, other: SparseTensor) -> SparseTensor:
        """The difference of two sparse tensors of one shape.

        >>> a = ember.eye(2).to_sparse()
        >>> (a - a * 3).values()
        tensor([-2., -2.])
        """
        return self + (-other)

    def __matmul__(self, other: Tensor) -> Tensor:
        """``sparse @ dense``: ``matmul`` (a 1-D or 2-D dense operand).

        >>> (ember.eye(2).to_sparse() @ ember.tensor([1.0, 2.0]))
        tensor([1., 2.])
        """
        return self.matmul(other)

    def matmul(self, other: Tensor) -> Tensor:
        """The product of a 2-D sparse tensor and a 1-D or 2-D dense one (a dense result).

        >>> ember.eye(2).to_sparse().matmul(ember.ones(2, 3)).shape
        ember.Size([2, 3])
        """
        if isinstance(other, Tensor) and other.ndim == 1:
            return mm(self, other.unsqueeze(1), 'matmul').squeeze(1)
        return mm(self, other, 'matmul')

    def __rmatmul__(self, other: Tensor) -> Tensor:
        """``dense @ sparse``: a 1-D or 2-D dense tensor times a 2-D sparse one.

        >>> ember.tensor([1.0, 2.0]) @ ember.eye(2).to_sparse()
        tensor([1., 2.])
        """
        if isinstance(other, Tensor) and other.ndim == 1:
            return mm(other.unsqueeze(0), self, 'matmul').squeeze(0)
        return mm(other, self, 'matmul')

    def mm(self, other: Tensor) -> Tensor:
        """``ember.sparse.mm(self, other)``.

        >>> ember.eye(2).to_sparse().mm(ember.ones(2, 3)).shape
        ember.Size([2, 3])
        """
        return mm(self, other)

    def sum(self, dim=None) -> Tensor | SparseTensor:
        """``ember.sparse.sum(self, dim)``.

        >>> ember.eye(2).to_sparse().sum()
        tensor(2.)
        """
        return sum(self, dim)

    def __repr__(self):
        pad = ' ' * len('tensor(indices=')
        idx = _repr(self._idx).replace('\n', '\n' + pad)
        vals = _repr(self._vals.detach()).replace(f', dtype={self.dtype!r}', '')
        vals = vals.replace('\n', '\n' + ' ' * len('       values='))
        tail = f'size={tuple(self._shape)}, nnz={self._nnz()}'
        if self.dtype not in (get_default_dtype(), int64, bool_):   # as torch's
            tail += f', dtype={self.dtype!r}'
        tail += ', layout=ember.sparse_coo'
        if self._vals.grad_fn is not None and not self._leaf:
            tail += f',\n       grad_fn=<{self._vals.grad_fn.name}>'
        elif self.requires_grad:
            tail += ', requires_grad=True'
        return f'tensor(indices={idx},\n       values={vals},\n       {tail})'


_OPS = 'mm, addmm, sum, softmax, log_softmax, or the methods of SparseTensor'


def _unique(idx, shape):
    """Sorted unique columns of ``idx``: (their indices, the first column of each, each
    column's place among them)."""
    lin = _linear(idx, shape)
    _, first, inverse = np.unique(lin, return_index=True, return_inverse=True)
    return idx[:, first], first, inverse.reshape(-1)


def _cpu_only(op, dev):
    if Device(dev).type != 'cpu':
        raise RuntimeError(f"{op}: sparse tensors live on the CPU in ember; device "
                           f"'{Device(dev)}' is not supported for sparse (use dense tensors "
                           f"on 'cuda')")


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      requires_grad=False, check_invariants=None, is_coalesced=None):
    """A sparse COO tensor: ``values[k]`` at position ``indices[:, k]`` of a tensor of shape
    ``size`` (inferred from the largest indices when None). Repeated indices add up; the
    result is not coalesced unless ``is_coalesced=True`` says the indices are sorted and
    unique. Indices out of range (negative, or beyond ``size``) are refused always, as torch
    refuses them with ``check_invariants=True``. ``requires_grad=True`` makes a leaf whose
    ``.grad`` is sparse; values that require grad get their gradient through it (see the
    NOTE of ``ember.sparse``).

    >>> a = ember.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
    >>> a.to_dense()
    tensor([[0., 0., 3.],
            [4., 0., 5.]])
    >>> ember.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,))
    Traceback (most recent call last):
    ...
    RuntimeError: size is inconsistent with indices: for dim 0, size is 3 but found index 5
    """
    if device is not None:
        _cpu_only('sparse_coo_tensor', device)
    idx = indices if isinstance(indices, Tensor) else tensor(indices, device=CPU)
    if idx.dtype.is_floating_point or idx.dtype.name == 'bool':
        raise RuntimeError(f'sparse_coo_tensor: indices must be an int64 tensor, got '
                           f'{idx.dtype}')
    if idx.ndim != 2:
        raise RuntimeError(f'sparse_coo_tensor: indices must be sparse_dim x nnz, but got: '
                           f'{list(idx.shape)}')
    vals = values if isinstance(values, Tensor) else tensor(values, dtype=dtype, device=CPU)
    for t in (idx, vals):   # (a tensor on the GPU, given)
        if t.device.type != 'cpu':
            _cpu_only('sparse_coo_tensor', t.device)
    if dtype is not None:
        vals = vals.to(as_dtype(dtype))
    if vals.ndim != 1:
        raise NotImplementedError(f'sparse_coo_tensor: values of shape {tuple(vals.shape)}: '
                                  f"ember's sparse tensors hold one value per index (1-D "
                                  f'values, dense_dim 0); hybrid sparse tensors are not '
                                  f'supported')
    if idx.shape[1] != vals.shape[0]:
        raise RuntimeError(f'indices and values must have same nnz, but got nnz from indices: '
                           f'{idx.shape[1]}, nnz from values: {vals.shape[0]}')
    arr = idx._data.astype(np.int64)
    if arr.size and arr.min() < 0:
        d = int(np.nonzero(arr.min(axis=1) < 0)[0][0])
        raise RuntimeError(f'found negative index {int(arr[d].min())} for dim {d}')
    top = arr.max(axis=1) + 1 if arr.shape[1] else np.zeros(arr.shape[0], dtype=np.int64)
    if size is None:
        size = tuple(int(n) for n in top)
    else:
        size = tuple(int(n) for n in size)
        if len(size) != arr.shape[0]:
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: "
                               f'len(size) = {len(size)}, sparse_dim = {arr.shape[0]}, '
                               f'dense_dim = 0')
        for d, (n, t) in enumerate(zip(size, top)):
            if t > n:
                raise RuntimeError(f'size is inconsistent with indices: for dim {d}, size is '
                                   f'{n} but found index {int(t) - 1}')
    if requires_grad:
        vals = vals.detach().requires_grad_()
    return SparseTensor._make(_ints(arr), vals, size, bool(is_coalesced), leaf=requires_grad)


# ---------------------------------------------------------------- ember.sparse's functions

def mm(mat1, mat2, _op: str = 'mm') -> Tensor:
    """The product of a 2-D sparse tensor and a 2-D dense one, either way round, a dense
    tensor (as ``torch.sparse.mm``; ``ember.mm``, ``ember.matmul`` and ``@`` come here for a
    sparse operand). Composed of ``index_select`` and ``index_add`` (dense @ sparse as
    ``(sparse.t() @ dense.t()).t()``): gradients reach the dense operand and the values.

    >>> a = ember.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2))
    >>> ember.sparse.mm(a, ember.tensor([[1.0], [10.0]]))
    tensor([[20.],
            [ 3.]])
    >>> ember.sparse.mm(ember.tensor([[1.0, 10.0]]), a)
    tensor([[30.,  2.]])
    """
    dense_first = isinstance(mat1, Tensor) and isinstance(mat2, SparseTensor)
    if not (dense_first or isinstance(mat1, SparseTensor) and isinstance(mat2, Tensor)):
        raise TypeError(f'{_op}: expected a sparse tensor and a dense tensor, got '
                        f'{type(mat1).__name__} and {type(mat2).__name__}')
    kinds = ('dense', 'sparse') if dense_first else ('sparse', 'dense')
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f'{_op}: expected 2-D {kinds[0]} and {kinds[1]} tensors, got '
                           f'shapes {tuple(mat1.shape)} and {tuple(mat2.shape)}')
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f'{_op}: mat1 and mat2 shapes cannot be multiplied '
                           f'({mat1.shape[0]}x{mat1.shape[1]} and '
                           f'{mat2.shape[0]}x{mat2.shape[1]})')
    if mat1.dtype is not mat2.dtype:
        raise RuntimeError(f'{_op}: expected mat1 and mat2 to have the same dtype, got '
                           f'{kinds[0]} {mat1.dtype} and {kinds[1]} {mat2.dtype}')
    sp, dense = (mat2.t(), mat1.t()) if dense_first else (mat1, mat2)
    if dense.device.type != 'cpu':
        _cpu_only(_op, dense.device)
    rows, cols = _ints(sp._idx._data[0]), _ints(sp._idx._data[1])
    terms = dense.index_select(0, cols) * sp._vals.unsqueeze(1)
    out = _zeros(dense.dtype, sp.shape[0], dense.shape[1]).index_add(0, rows, terms)
    return out.t() if dense_first else out


def addmm(input: Tensor, mat1: SparseTensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` for a sparse ``mat1`` (as
    ``torch.sparse.addmm``).

    >>> a = ember.eye(2).to_sparse()
    >>> ember.sparse.addmm(ember.ones(2, 2), a, ember.ones(2, 2), beta=0.5, alpha=2.0)
    tensor([[2.5000, 2.5000],
            [2.5000, 2.5000]])
    """
    if not isinstance(mat1, SparseTensor):
        raise TypeError(f'sparse.addmm: expected a sparse mat1, got {type(mat1).__name__}')
    return beta * input + alpha * mm(mat1, mat2, 'addmm')


def sum(input: SparseTensor, dim=None) -> Tensor | SparseTensor:
    """The sum of all values (a dense 0-d tensor), or over ``dim`` (an int or a tuple): a
    coalesced sparse tensor of the other dimensions, dense 0-d when none is left.

    >>> a = ember.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
    >>> ember.sparse.sum(a)
    tensor(12.)
    >>> ember.sparse.sum(a, dim=1).to_dense()
    tensor([3., 9.])
    """
    if not isinstance(input, SparseTensor):
        raise TypeError(f'sparse.sum: expected a sparse tensor, got {type(input).__name__}')
    if dim is None:
        return input._vals.sum()
    n = input.ndim
    dims = {(d + n if d < 0 else d) for d in ((dim,) if isinstance(dim, int) else dim)}
    if not all(0 <= d < n for d in dims):
        raise IndexError(f'sparse.sum: dim {dim} out of range for a sparse tensor of shape '
                         f'{tuple(input.shape)}')
    keep = [d for d in range(n) if d not in dims]
    if not keep:
        return input._vals.sum()
    idx = _ints(input._idx._data[keep])
    shape = tuple(input.shape[d] for d in keep)
    return SparseTensor._make(idx, input._vals, shape, False).coalesce()


def _groups(input, dim):
    """A coalesced ``input``, each entry's group (the entries that share every index but
    ``dim``'s), the number of groups, and each group's largest value (a constant)."""
    c = input.coalesce()
    n = c.ndim
    d = dim + n if dim < 0 else dim
    if not 0 <= d < n:
        raise IndexError(f'sparse softmax: dim {dim} out of range for a sparse tensor of '
                         f'shape {tuple(input.shape)}')
    others = [k for k in range(n) if k != d]
    lin = _linear(c._idx._data[others], [input.shape[k] for k in others])
    _, group = np.unique(lin, return_inverse=True)
    count = int(group.max()) + 1 if group.size else 0
    top = np.full(count, -np.inf, dtype=c._vals._data.dtype)
    np.maximum.at(top, group.reshape(-1), c._vals._data)
    return c, _ints(group.reshape(-1)), count, top


def softmax(input: SparseTensor, dim: int) -> SparseTensor:
    """Softmax over ``dim`` of the stored entries only (the others count as minus
    infinity), a coalesced sparse tensor with the same indices (as ``torch.sparse.softmax``).

    >>> a = ember.sparse_coo_tensor([[0, 0, 1], [0, 2, 1]], [1.0, 1.0, 5.0], (2, 3))
    >>> ember.sparse.softmax(a, 1).to_dense()
    tensor([[0.5000, 0.0000, 0.5000],
            [0.0000, 1.0000, 0.0000]])
    """
    c, group, count, top = _groups(input, dim)
    e = (c._vals - Tensor._make(top)[group]).exp()   # minus a constant: same softmax
    total = _zeros(e.dtype, count).index_add(0, group, e)
    return c._with(e / total[group])


def log_softmax(input: SparseTensor, dim: int) -> SparseTensor:
    """Log of ``softmax`` over ``dim`` of the stored entries, a coalesced sparse tensor.

    >>> a = ember.sparse_coo_tensor([[0, 0]], [1.0, 1.0], (2,))
    >>> ember.sparse.log_softmax(a.coalesce(), 0).values()
    tensor([0.])
    """
    c, group, count, top = _groups(input, dim)
    shifted = c._vals - Tensor._make(top)[group]
    total = _zeros(shifted.dtype, count).index_add(0, group, shifted.exp())
    return c._with(shifted - total.log()[group])


# ---------------------------------------------------------------- ember.Tensor's side

def _to_sparse(self: Tensor, sparse_dim: int | None = None) -> SparseTensor:
    """This dense tensor as a coalesced sparse COO tensor of its nonzero entries;
    differentiable (the stored entries get their gradient back).

    >>> ember.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse().values()
    tensor([2., 3.])
    """
    if sparse_dim is not None and sparse_dim != self.ndim:
        raise NotImplementedError(f'to_sparse: sparse_dim={sparse_dim} of a {self.ndim}-D '
                                  f"tensor: ember's sparse tensors have no dense dimensions")
    if self.device.type != 'cpu':
        _cpu_only('to_sparse', self.device)
    flat = np.flatnonzero(self._data)
    idx = np.stack(np.unravel_index(flat, self._data.shape)) if self.ndim else \
        np.zeros((0, flat.size), dtype=np.int64)
    vals = self.reshape(-1).index_select(0, _ints(flat))
    return SparseTensor._make(_ints(idx), vals, self.shape, True)


def _to_dense(self: Tensor) -> Tensor:
    """This tensor (it is dense already).

    >>> x = ember.ones(2); x.to_dense() is x
    True
    """
    return self


def _is_sparse(self: Tensor) -> bool:
    """False: a dense tensor (a sparse one is an ``ember.sparse.SparseTensor``).

    >>> ember.ones(2).is_sparse, ember.ones(2).to_sparse().is_sparse
    (False, True)
    """
    return False


def _layout(self: Tensor) -> layout:
    """``ember.strided``: a dense tensor's layout (``ember.sparse_coo`` for a sparse one).

    >>> ember.ones(2).layout
    ember.strided
    """
    return strided


_to_sparse.__name__, _to_dense.__name__ = 'to_sparse', 'to_dense'
Tensor.to_sparse, Tensor.to_dense = _to_sparse, _to_dense
Tensor.is_sparse = property(_is_sparse)
Tensor.layout = property(_layout)
