"""The Tensor: an array (NumPy or CuPy) plus what autograd needs to know about it.

Ops attach their Tensor methods from ``ember/ops/`` with ``@method``; what lives here is the
object itself, conversion, in-place bookkeeping (version counters), and array creation.
"""
from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from . import _dtype
from ._dtype import as_dtype, check_fits, from_np, get_default_dtype
from .backend import CPU, array_device, device as Device, host, to_device

if TYPE_CHECKING:
    from ._typing import DeviceLike, DTypeLike, Number
    from .autograd import Node


class Size(tuple):
    """A tensor's shape: a tuple that prints like PyTorch's ``torch.Size``.

    >>> ember.zeros(2, 3).shape
    ember.Size([2, 3])
    >>> ember.zeros(2, 3).shape.numel()
    6
    """

    def __repr__(self):
        return f'ember.Size({list(self)})'

    def numel(self) -> int:
        """The number of elements of a tensor of this shape.

        >>> ember.Size([2, 3]).numel()
        6
        """
        return int(np.prod(self, dtype=np.int64))


class RemovableHandle:
    """Returned by ``register_hook`` and module hooks; ``remove()`` takes the hook out."""

    def __init__(self, hooks: list, hook: Callable) -> None:
        self.hooks, self.hook = hooks, hook

    def remove(self) -> None:
        """Take the hook out (again is harmless).

        >>> x = ember.ones(1, requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 2); h.remove(); h.remove()
        """
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Tensor:
    """A multi-dimensional array that records the operations made on it, for autograd.

    ``ember.Tensor(data)`` makes a float32 tensor, like ``torch.Tensor(data)``; prefer
    ``ember.tensor(data)``, which keeps the data's kind (ints stay int64).

    >>> x = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([[2., 4.],
            [6., 8.]])
    """
    __slots__: dict[str, str | None] = {name: None for name in (
        '_data', '_requires_grad', '_grad', '_output_nr', '_version', '_base', '_view_chain',
        '_hooks', '_retain_handle', '_post_hooks', '__weakref__')}
    __slots__['grad_fn'] = (   # a dict's values are its slots' docstrings (help, inspect)
        "The autograd node that made this tensor (its backward), or None for a leaf.\n\n"
        "    >>> x = ember.ones(2, requires_grad=True)\n"
        "    >>> x.grad_fn is None, (x * 2).grad_fn\n"
        "    (True, <MulBackward>)\n")
    __hash__ = object.__hash__
    __array_priority__ = 1000   # numpy_array * tensor calls Tensor.__rmul__

    if TYPE_CHECKING:
        _data: Any                    # a NumPy or CuPy array
        _requires_grad: builtins.bool
        _grad: Tensor | None
        grad_fn: Node | None
        _output_nr: builtins.int
        _version: list[builtins.int]  # shared by views
        _base: Tensor | None
        _view_chain: Any
        _hooks: list | None
        _retain_handle: Any
        _post_hooks: list   # set by register_post_accumulate_grad_hook only (leaves)

        # most methods are set by ember/ops/ at import: to mypy they are Any; the operators,
        # which Python looks up on the class, are declared
        def __getattr__(self, name: str) -> Any: ...
        def _binary(self, other: Tensor | Number) -> Tensor: ...
        (__add__, __radd__, __sub__, __rsub__, __mul__, __rmul__, __truediv__, __rtruediv__,
         __floordiv__, __rfloordiv__, __mod__, __rmod__, __pow__, __rpow__, __matmul__, __rmatmul__,
         __and__, __rand__, __or__, __ror__, __xor__, __rxor__, __lt__, __le__, __gt__, __ge__,
         __iadd__, __isub__, __imul__, __itruediv__, __ifloordiv__, __imod__, __ipow__, __iand__,
         __ior__, __ixor__) = (_binary,) * 36
        def __eq__(self, other: object) -> Tensor: ...   # type: ignore[override]  # as torch
        def __ne__(self, other: object) -> Tensor: ...   # type: ignore[override]  # (elementwise)
        def __neg__(self) -> Tensor: ...
        def __pos__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __invert__(self) -> Tensor: ...
        def __getitem__(self, index: Any) -> Tensor: ...
        def __setitem__(self, index: Any, value: Tensor | Number) -> None: ...

    def __init__(self, *data: Any, dtype: DTypeLike | None = None,
                 device: DeviceLike | None = None, requires_grad: builtins.bool = False) -> None:
        if len(data) == 1 and not isinstance(data[0], int):
            arr = _to_array(data[0], as_dtype(dtype) if dtype else get_default_dtype())
        else:   # torch.Tensor(2, 3) makes an uninitialised 2x3 tensor; ember fills it with 0
            arr = np.zeros(_size(data, 'Tensor'), dtype=(as_dtype(dtype) if dtype else
                                               get_default_dtype()).np)
        if device is not None:
            arr = to_device(arr, Device(device))
        _init(self, arr, None)
        self.requires_grad = requires_grad

    @staticmethod
    def _make(data, grad_fn=None):
        """The fast constructor every op uses: no copies, no checks."""
        t = object.__new__(Tensor)
        t._data = data
        t._requires_grad = grad_fn is not None
        t._grad = None
        t.grad_fn = grad_fn
        t._output_nr = 0
        t._version = [0]
        t._base = None
        t._hooks = None
        return t

    # ------------------------------------------------------------ attributes
    @property
    def shape(self) -> Size:
        """The tensor's shape, an ``ember.Size``.

        >>> ember.zeros(2, 3).shape
        ember.Size([2, 3])
        """
        return Size(self._data.shape)

    def size(self, dim: builtins.int | None = None) -> Size | builtins.int:
        """The shape, or the length of one dimension.

        >>> ember.zeros(2, 3).size(), ember.zeros(2, 3).size(-1)
        (ember.Size([2, 3]), 3)
        """
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, 'size')]

    @property
    def ndim(self) -> builtins.int:
        """The number of dimensions, as ``dim()``.

        >>> ember.zeros(2, 3).ndim
        2
        """
        return self._data.ndim

    def dim(self) -> builtins.int:
        """The number of dimensions (``ndimension`` is the same method).

        >>> ember.zeros(2, 3).dim()
        2
        """
        return self._data.ndim

    ndimension = dim

    def numel(self) -> builtins.int:
        """The number of elements (``nelement`` is the same method).

        >>> ember.zeros(2, 3).numel()
        6
        """
        return self._data.size

    nelement = numel

    @property
    def dtype(self) -> _dtype.dtype:
        """The element type, an ``ember.dtype``.

        >>> ember.zeros(2).dtype, ember.tensor([1, 2]).dtype
        (ember.float32, ember.int64)
        """
        return from_np(self._data.dtype)

    @property
    def device(self) -> Device:
        """Where the data lives: ``cpu`` or ``cuda:<n>``, an ``ember.device``.

        >>> ember.zeros(2).device
        device(type='cpu')
        """
        return array_device(self._data)

    @property
    def is_cuda(self) -> builtins.bool:
        """Whether the data lives on a GPU.

        >>> ember.zeros(2).is_cuda
        False
        """
        return self.device.type == 'cuda'

    @property
    def is_leaf(self) -> builtins.bool:
        """Whether no recorded op made this tensor (``grad_fn`` is None): a leaf, whose
        ``.grad`` backward fills when it requires grad.

        >>> x = ember.ones(2, requires_grad=True)
        >>> x.is_leaf, (x * 2).is_leaf
        (True, False)
        """
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        """The gradient that ``backward()`` accumulated into this leaf (None before).

        Assigning checks what PyTorch checks: a Tensor (or None) of this tensor's shape, dtype
        and device.

        >>> p = ember.nn.Parameter(ember.zeros(3))
        >>> p.grad = ember.ones(3); p.grad
        tensor([1., 1., 1.])
        >>> p.grad = ember.ones(1)
        Traceback (most recent call last):
        ...
        RuntimeError: grad: attempting to assign a gradient of size [1] to a tensor of size [3]...
        """
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:   # the autograd engine writes _grad directly, without these
            if not isinstance(value, Tensor):
                raise TypeError(f'grad: assigned grad expected to be a Tensor or None but got '
                                f'grad of type {type(value).__name__}')
            if value._data.shape != self._data.shape:
                raise RuntimeError(f'grad: attempting to assign a gradient of size '
                                   f'{list(value.shape)} to a tensor of size {list(self.shape)}'
                                   f'. Please ensure that the gradient and the tensor are the '
                                   f'same size')
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(f'grad: attempting to assign a gradient with dtype '
                                   f'{value.dtype} to a tensor with dtype {self.dtype} (shape '
                                   f'{tuple(self.shape)}). The gradient must match the '
                                   f"tensor's dtype")
            if value.device != self.device:
                raise RuntimeError(f'grad: attempting to assign a gradient on {value.device} to '
                                   f'a tensor on {self.device} (shape {tuple(self.shape)}). '
                                   f'Please ensure that the gradient and the tensor are on the '
                                   f'same device')
        self._grad = value

    @property
    def requires_grad(self) -> builtins.bool:
        """Whether autograd records ops on this tensor. Only floating-point tensors can
        require grad, and only a leaf's flag can be set.

        >>> x = ember.zeros(2); x.requires_grad = True; (x * 2).requires_grad
        True
        """
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: builtins.bool) -> None:
        if value and self.dtype.kind < 2:
            raise RuntimeError(f'only Tensors of floating point and complex dtype can require '
                               f'gradients; '
                               f'this tensor is {self.dtype} with shape {tuple(self.shape)}')
        if not value and self.grad_fn is not None:
            raise RuntimeError('you can only change requires_grad flags of leaf variables. If '
                               'you want to use a computed variable in a subgraph that doesn\'t '
                               'require differentiation use var_no_grad = var.detach().')
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return the tensor.

        >>> ember.zeros(2).requires_grad_().requires_grad
        True
        """
        self.requires_grad = requires_grad
        return self

    @property
    def _version_value(self):
        return self._version[0]

    @property
    def T(self) -> Tensor:
        """The dimensions reversed (``permute(n-1, ..., 0)``), a view.

        >>> ember.zeros(2, 3).T.shape
        ember.Size([3, 2])
        """
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self) -> Tensor:
        """The last two dimensions swapped (a batch of matrices transposed), a view.

        >>> ember.zeros(4, 2, 3).mT.shape
        ember.Size([4, 3, 2])
        """
        return self.transpose(-2, -1)

    @property
    def itemsize(self) -> builtins.int:
        """Bytes per element, as ``element_size()``.

        >>> ember.zeros(2).itemsize, ember.zeros(2, dtype=ember.float64).itemsize
        (4, 8)
        """
        return self._data.itemsize

    def element_size(self) -> builtins.int:
        """Bytes per element. ``ember.zeros(2).element_size()`` is 4.

        >>> ember.zeros(2, dtype=ember.int16).element_size()
        2
        """
        return self._data.itemsize

    def is_floating_point(self) -> builtins.bool:
        """Whether the dtype is a floating-point one.

        >>> ember.zeros(1).is_floating_point(), ember.tensor([1]).is_floating_point()
        (True, False)
        """
        return self.dtype.is_floating_point

    def is_contiguous(self) -> builtins.bool:
        """Whether the elements lie in memory in row-major order, without gaps.

        >>> x = ember.zeros(2, 3)
        >>> x.is_contiguous(), x.T.is_contiguous()
        (True, False)
        """
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self) -> builtins.int:
        """The address of the first element (host memory or GPU memory), an int; views
        of the start of a tensor share it.

        >>> x = ember.zeros(3)
        >>> x.data_ptr() == x[:2].data_ptr() != x[1:].data_ptr()
        True
        """
        return self._data.__array_interface__['data'][0] if self.device.type == 'cpu' \
            else self._data.data.ptr

    # ------------------------------------------------------------ conversion
    def item(self) -> Number:
        """The value of a one-element tensor as a Python number.

        >>> ember.tensor([2.5]).item()
        2.5
        """
        if self._data.size != 1:
            raise RuntimeError(f'item: a Tensor with {self._data.size} elements cannot be '
                               f'converted to a Python number (shape {tuple(self.shape)})')
        return host(self._data.reshape(())).item()

    def tolist(self) -> Any:
        """The values as nested Python lists (a number for a 0-d tensor).

        >>> ember.tensor([[1, 2]]).tolist(), ember.tensor(2.5).tolist()
        ([[1, 2]], 2.5)
        """
        return host(self._data).tolist()

    def numpy(self, force: builtins.bool = False) -> np.ndarray:
        """The data as a NumPy array, sharing memory on the CPU (like ``Tensor.numpy()``).

        >>> ember.ones(2).numpy()
        array([1., 1.], dtype=float32)
        """
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if self.device.type != 'cpu':
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. "
                                f'Use Tensor.cpu() to copy the tensor to host memory first.')
            return host(self._data)
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = host(self._data)
        return a if dtype is None else a.astype(dtype)

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError('len() of a 0-d tensor')
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError('iteration over a 0-d tensor')
        return iter(self.unbind(0))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f'Boolean value of Tensor with more than one value is ambiguous '
                               f'(shape {tuple(self.shape)}); use .any() or .all()')
        return bool(host(self._data.reshape(())))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError('only integer tensors of a single element can be converted to an '
                            'index')
        return int(self.item())

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return repr(self)

    def __repr__(self):
        return _repr(self)

    def __reduce_ex__(self, protocol):
        raise TypeError('ember tensors are not pickled (nothing ember loads may run code); '
                        'save them with ember.save, which writes safetensors')

    def __deepcopy__(self, memo):
        """``copy.deepcopy`` of a leaf: new memory, the same ``requires_grad`` and class."""
        if self.grad_fn is not None:
            raise RuntimeError('Only Tensors created explicitly by the user (graph leaves) '
                               'support the deepcopy protocol at the moment; use .detach()')
        t = object.__new__(type(self))
        _init(t, self._data.copy(), None)
        t._requires_grad = self._requires_grad
        if self._grad is not None:
            t._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Move to a device and/or cast to a dtype: ``t.to('cuda')``, ``t.to(ember.float64)``,
        ``t.to(other)``. Differentiable; returns ``self`` when nothing changes.

        >>> ember.tensor([1, 2]).to(ember.float32)
        tensor([1., 2.])
        """
        dev, dt = kwargs.get('device'), kwargs.get('dtype')
        for a in args:
            if isinstance(a, Tensor):
                dev, dt = a.device, a.dtype
            elif isinstance(a, (str, Device)):
                dev = a
            elif a is not None:
                dt = a
        out = self
        if dt is not None:
            dt = as_dtype(dt)
            if dt is not self.dtype:
                out = _cast(out, dt)
        if dev is not None:
            dev = Device(dev)
            if dev != self.device:
                out = _move(out, dev, kwargs.get('non_blocking', False))
        if kwargs.get('copy') and out is self:
            out = self.clone()
        return out

    def type(self, dtype: DTypeLike | None = None) -> str | Tensor:
        """The dtype's name, or a copy cast to ``dtype`` (a dtype or its name).

        >>> ember.ones(1).type(), ember.ones(1).type('float64').dtype
        ('ember.float32', ember.float64)
        """
        if dtype is None:
            return f'ember.{self.dtype.name}'
        if isinstance(dtype, str):
            try:
                dtype = as_dtype(dtype[6:] if dtype.startswith('ember.') else dtype)
            except (TypeError, ValueError, KeyError):
                raise ValueError(f'type: invalid type: {dtype!r}') from None
        return self.to(dtype)

    def bfloat16(self) -> Tensor:
        """The tensor in bfloat16 (needs the ``ml_dtypes`` package: NumPy has no bfloat16).

        >>> ember.tensor([1.0, 3.14159]).bfloat16().tolist()
        [1.0, 3.140625]
        """
        return self.to(_dtype.ALIASES['bfloat16'] if _dtype.bfloat16 else 'bfloat16')

    def cpu(self) -> Tensor:
        """``self.to('cpu')``: a copy in host memory, or ``self`` when it is there already.

        >>> x = ember.ones(2)
        >>> x.cpu() is x
        True
        """
        return self.to(CPU)

    def cuda(self, device: DeviceLike | None = None,
             non_blocking: builtins.bool = False) -> Tensor:
        """``self.to('cuda')`` (``device``: an index, a name or an ``ember.device``): a copy
        in GPU memory. Needs CuPy and a GPU.

        >>> x = ember.ones(2)
        >>> (x.cuda() if ember.cuda.is_available() else x).sum().item()
        2.0
        """
        return self.to(Device('cuda', device if isinstance(device, int) else None)
                       if not isinstance(device, (str, Device)) else device,
                       non_blocking=non_blocking)

    def pin_memory(self) -> Tensor:
        """A copy in page-locked (pinned) host memory, as torch's: ``.to('cuda',
        non_blocking=True)`` from it queues the copy and returns at once (from ordinary memory
        the host waits for it). Needs CUDA; a tensor already pinned is returned as it is.

        >>> x = ember.ones(3)
        >>> y = x.pin_memory() if ember.cuda.is_available() else x
        >>> y.to('cuda' if ember.cuda.is_available() else 'cpu', non_blocking=True).tolist()
        [1.0, 1.0, 1.0]
        """
        if self.device.type != 'cpu':
            raise RuntimeError(f'pin_memory: only CPU tensors can be pinned, this one is on '
                               f'{self.device}')
        if self.is_pinned():
            return self
        from .backend import cuda
        if not cuda.is_available():
            raise RuntimeError('pin_memory: pinned host memory needs CUDA (CuPy and a GPU), '
                               'and none is available')
        from .ops.convert import Pin
        return Pin.apply(self)

    def is_pinned(self) -> builtins.bool:
        """Whether the tensor's memory is pinned host memory (``pin_memory``).

        >>> ember.ones(2).is_pinned()
        False
        """
        if self.device.type != 'cpu':
            return False
        from .backend import cuda
        return cuda.xp is not None and cuda.is_pinned(self._data)

    def detach(self) -> Tensor:
        """A tensor sharing this one's data (and version counter) with no history.

        >>> x = ember.ones(2, requires_grad=True)
        >>> (x * 2).detach().requires_grad
        False
        """
        t = Tensor._make(self._data)
        t._version = self._version
        t._base = self if self._base is None else self._base
        t._view_chain = None    # shares memory and versions, but is no view for autograd
        return t

    @property
    def data(self) -> Tensor:
        """The same values as a tensor outside autograd, as ``torch.Tensor.data``.

        It shares memory with this tensor but not its history or version counter: in-place
        changes through it (``p.data.mul_(0.9)``, ``p.data.copy_(w)``) change this tensor
        without autograd knowing. Prefer ``detach()`` or ``ember.no_grad()``, which autograd
        checks. Assigning a tensor (``p.data = w``) replaces this tensor's values, shape and
        dtype with ``w``'s, as in PyTorch; anything else is a TypeError.

        >>> w = ember.nn.Parameter(ember.ones(2))
        >>> w.data.mul_(3)
        tensor([3., 3.])
        >>> w.data.requires_grad, w.requires_grad
        (False, True)
        >>> w.data = ember.zeros(3)
        >>> w
        Parameter containing:
        tensor([0., 0., 0.], requires_grad=True)
        """
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f'Tensor.data: expected a Tensor to assign, got '
                            f'{type(value).__name__}')
        self._data = value._data

    def detach_(self) -> Tensor:
        """Detach this tensor from the graph in place: it becomes a leaf that does not
        require grad, and ``self`` is returned.

        >>> y = ember.ones(2, requires_grad=True) * 2
        >>> y.detach_() is y, y.requires_grad, y.is_leaf
        (True, False, True)
        """
        self.grad_fn = None
        self._requires_grad = False
        return self

    # ------------------------------------------------------------ autograd
    def backward(self, gradient: Tensor | None = None, retain_graph: builtins.bool | None = None,
                 create_graph: builtins.bool = False,
                 inputs: Sequence[Tensor] | None = None) -> None:
        """Accumulate the gradient of this tensor into the leaves' ``.grad``.

        >>> x = ember.tensor(3.0, requires_grad=True)
        >>> (x * x).backward(); x.grad
        tensor(6.)
        """
        from . import autograd
        autograd.backward([self], None if gradient is None else [gradient], retain_graph,
                          create_graph, inputs)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle whose ``remove()`` takes the hook out.

        >>> x = ember.ones(2, requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> x.sum().backward(); x.grad
        tensor([10., 10.])
        >>> h.remove()
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_prehook(self._output_nr, hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return RemovableHandle(self._hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for a non-leaf tensor after backward.

        >>> x = ember.ones(2, requires_grad=True)
        >>> y = x * 3; y.retain_grad(); y.sum().backward(); y.grad
        tensor([1., 1.])
        """
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if getattr(self, '_retain_handle', None) is not None:
            return
        import weakref
        ref = weakref.ref(self)

        def keep(g):
            t = ref()
            if t is not None:
                d = g.detach()   # a copy: the same array may become a leaf's .grad
                t._grad = Tensor._make(d._data.copy()) if t._grad is None else t._grad + d
        self._retain_handle = self.grad_fn.register_prehook(self._output_nr, keep)

    @property
    def retains_grad(self) -> builtins.bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor.

        >>> y = ember.ones(2, requires_grad=True) * 2
        >>> y.retains_grad, (y.retain_grad(), y.retains_grad)[1]
        (False, True)
        """
        return getattr(self, '_retain_handle', None) is not None

    # ------------------------------------------------------------ in-place
    def _check_inplace(self, op):
        from .autograd import _State
        if _State.grad_enabled and self._requires_grad and self.grad_fn is None:
            raise RuntimeError(f'{op}: a leaf Variable that requires grad (shape '
                               f'{tuple(self.shape)}) is being used in an in-place operation; '
                               f'wrap it in `with ember.no_grad():` or use an out-of-place op')
        if _State.grad_enabled and self._base is not None and self._base.requires_grad \
                and self._base.grad_fn is None:
            raise RuntimeError(f'{op}: a view of a leaf Variable that requires grad (shape '
                               f'{tuple(self._base.shape)}) is being used in an in-place '
                               f'operation')

    def _inplace(self, op, fn, *args):
        """Run ``fn(self, *args)`` out of place, then make ``self`` hold the result: its data is
        written into this tensor's memory (views see it) and, when recorded, its history."""
        from .autograd import _State
        self._check_inplace(op)
        recording = _State.grad_enabled and (self._requires_grad or any(
            isinstance(a, Tensor) and a._requires_grad for a in args))
        view = recording and self._base is not None and self._view_chain is not None
        if view and self._view_chain == 'multi':
            raise RuntimeError(f'{op}: this tensor is one of several views returned by unbind, '
                               f'split or chunk; such views cannot be modified in-place while '
                               f'autograd records (clone it first)')
        if view:   # redo the view from a copy of the base, so saved values stay intact
            from .ops.inplace import alias, replay
            old_base = alias(self._base)
            result = fn(replay(self._view_chain, old_base), *args)
        elif recording:
            from .ops.inplace import alias
            result = fn(alias(self), *args)    # backward may need the old values
        else:
            result = fn(self, *args)
        if result._data.shape != self._data.shape:
            raise RuntimeError(f"{op}: output with shape {tuple(self.shape)} doesn't match the "
                               f'broadcast shape {tuple(result.shape)}')
        if result.dtype.kind > self.dtype.kind:
            raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to the desired "
                               f'output type {self.dtype}')
        if result._data is not self._data:
            self._data[...] = result._data
        self._version[0] += 1
        if view:
            from .ops.inplace import rebase, replay
            rebase(self._base, self._view_chain, old_base, result.to(self.dtype))
            now = replay(self._view_chain, self._base)
            self.grad_fn, self._output_nr, self._requires_grad = now.grad_fn, 0, True
        elif recording:
            self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
            self._requires_grad = True
        return self

    def zero_(self) -> Tensor:
        """Fill with zeros in place; returns the tensor.

        >>> ember.ones(2).zero_()
        tensor([0., 0.])
        """
        return self.fill_(0)

    def fill_(self, value: Number | Tensor) -> Tensor:
        """Fill with ``value`` in place.

        >>> ember.zeros(2).fill_(3)
        tensor([3., 3.])
        """
        if isinstance(value, Tensor):
            return self._inplace('fill_', _overwrite, value)
        self._check_inplace('fill_')
        check_fits('fill_', value, self._data.dtype)
        from .autograd import _State
        if _State.grad_enabled and self._requires_grad:   # the old values get no gradient
            return self._inplace('fill_', _overwrite, tensor(value, dtype=self.dtype))
        self._data.fill(value)
        self._version[0] += 1
        return self

    def copy_(self, src: Tensor | Number | Sequence) -> Tensor:
        """Copy ``src`` (broadcast, cast, moved) into this tensor in place.

        >>> ember.zeros(2).copy_(ember.tensor([1, 2]))
        tensor([1., 2.])
        """
        t = src if isinstance(src, Tensor) else tensor(src)
        if not broadcasts_to(t._data.shape, self._data.shape):
            raise RuntimeError(f'copy_: the source of shape {tuple(t.shape)} cannot be '
                               f"broadcast to this tensor's shape {tuple(self.shape)}")
        return self._inplace('copy_', _overwrite, t)


def _overwrite(s, v):
    """``v`` broadcast over ``s`` in its dtype and device: the values of copy_ and fill_. The
    old values stay in the graph with a zero gradient (``where``), whatever they were."""
    from .ops.index import where
    v = v.to(s.device).to(s.dtype)
    return where(ones_like(s, dtype=_dtype.bool_), v, s)


# ---------------------------------------------------------------- helpers

def method(*names):
    """Attach a function to Tensor under its own name and ``names`` (used by ``ember/ops``)."""
    def attach(fn):
        for n in names or (fn.__name__,):
            setattr(Tensor, n, fn)
        return fn
    return attach


def _init(t, arr, grad_fn):
    t._data = arr
    t._requires_grad = False
    t._grad = None
    t.grad_fn = grad_fn
    t._output_nr = 0
    t._version = [0]
    t._base = None
    t._hooks = None


def _size(args, op='size'):
    """A shape from ``f(2, 3)`` or ``f((2, 3))``: ints, NumPy ints or one-element integer
    tensors (as torch); a negative size is a RuntimeError, anything else a TypeError."""
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        args = tuple(args[0])
    out = []
    for s in args:
        if isinstance(s, Tensor) and s.numel() == 1 and not s.dtype.is_floating_point \
                and s.dtype.name != 'bool':
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, (bool, np.bool_)):
            raise TypeError(f'{op}: size: expected non-negative integers, got {args!r}')
        out.append(int(s))
    if any(s < 0 for s in out):
        raise RuntimeError(f'{op}: Trying to create tensor with negative dimension '
                           f'{min(out)}: {out}')
    return tuple(out)


def _wrap_dim(dim, ndim, op):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f'{op}: Dimension out of range (expected to be in range of '
                         f'[{-n}, {n - 1}], but got {dim})')
    return dim % n


def broadcasts_to(shape, grad_shape):
    """True when an array of ``shape`` broadcasts to ``grad_shape``."""
    if len(shape) > len(grad_shape):
        return False
    return all(s == 1 or s == g for s, g in zip(shape[::-1], grad_shape[::-1]))


# Tensor.float() ... char(): self.to(<dtype>), one method each, as torch's
_CASTS = {'float': ('float32', ''), 'double': ('float64', ''), 'half': ('float16', ''),
          'long': ('int64', ': floats are truncated toward zero'),
          'int': ('int32', ': floats are truncated toward zero'), 'short': ('int16', ''),
          'bool': ('bool_', ': nonzero is True'), 'byte': ('uint8', ''), 'char': ('int8', ''),
          'cfloat': ('complex64', ''), 'cdouble': ('complex128', '')}


def _cast_method(name, dtype_name, note):
    dt = getattr(_dtype, dtype_name)

    def cast(self):
        return self.to(dt)
    cast.__name__, cast.__qualname__ = name, f'Tensor.{name}'
    cast.__doc__ = (f'``self.to({dt})``{note}.\n\n'
                    f'    >>> ember.tensor([0.0, 1.7]).{name}().dtype\n'
                    f'    {dt}\n    ')
    return cast


for _name, (_dt, _note) in _CASTS.items():
    setattr(Tensor, _name, _cast_method(_name, _dt, _note))
del _name, _dt, _note


def _cast(t, dt):
    from .ops.convert import Cast
    return Cast.apply(t, dtype=dt)


def _move(t, dev, non_blocking=False):
    from .ops.convert import Move
    return Move.apply(t, device=dev, non_blocking=non_blocking)


def _repr(t):
    from ._printing import OPTIONS as opt   # (set_printoptions)
    p, sci, lines = opt['precision'], opt['sci_mode'], dict(
        threshold=opt['threshold'], edgeitems=opt['edgeitems'],
        max_line_width=opt['linewidth'])
    arr = host(t._data)
    if arr.dtype.name == 'bfloat16':   # printed through float32, which holds every value
        arr = arr.astype(np.float32)
    if arr.size == 0 and arr.ndim > 0:
        body = f'[], size={tuple(arr.shape)}'
    elif arr.dtype.kind in 'fc':
        from ._printing import formatter
        fmt = {'float_kind': formatter(arr, p, sci), 'complex_kind': formatter(arr, p, sci)}
        body = np.array2string(arr, separator=', ', prefix='tensor(', formatter=fmt, **lines)
    else:
        body = np.array2string(arr, separator=', ', prefix='tensor(', **lines)
        if arr.dtype.kind == 'b':
            body = body.replace('True', 'True').replace('False', 'False')
    body = body.replace(', ..., ', ',  ..., ')   # (torch's summary item is ' ...')
    extras = []
    if t.device.type != 'cpu':
        extras.append(f"device='{t.device}'")
    default = (get_default_dtype(), _dtype.int64, _dtype.bool_, _dtype.default_complex())
    if t.dtype not in default or (arr.size == 0 and t.dtype is not get_default_dtype()):
        extras.append(f'dtype={t.dtype!r}')
    if t.grad_fn is not None:
        extras.append(f'grad_fn=<{t.grad_fn.name}>')
    elif t.requires_grad:
        extras.append('requires_grad=True')
    return 'tensor(' + body + ''.join(', ' + e for e in extras) + ')'


# Creation functions live beside this file, in _creation.py; they are re-exported here so that
# ``from ._tensor import tensor, zeros`` keeps working inside ember.
from ._creation import *  # noqa: E402,F401,F403
from ._creation import _to_array  # noqa: E402  (Tensor(data) converts as tensor() does)
from ._creation import ones_like, tensor  # noqa: E402  (named for the linter: used above)
