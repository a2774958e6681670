"""``nn.Module`` and ``nn.Parameter``: layers find their parameters by walking attributes."""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping
from collections import OrderedDict

import numpy as np

from .._tensor import RemovableHandle, Tensor
from ..ops.elementwise import TENSOR_TYPES


class Parameter(Tensor):
    """A tensor that a Module treats as a trainable parameter (requires grad by default).

    >>> p = ember.nn.Parameter(ember.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """
    __slots__ = ()

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        data = Tensor._make(__import__('numpy').zeros(0, 'float32')) if data is None else data
        if not isinstance(data, Tensor):
            raise TypeError(f'Parameter: expected a Tensor, got {type(data).__name__} (wrap '
                            f'it: Parameter(ember.tensor(...)))')
        self._data = data._data
        self._requires_grad = False
        self._grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version = data._version
        self._base = None
        self._hooks = None
        self.requires_grad = requires_grad

    def __repr__(self):
        return 'Parameter containing:\n' + Tensor.__repr__(self)


TENSOR_TYPES.add(Parameter)   # operands' fast path takes Parameters too


class Module:
    """Base class of layers and models. Attributes that are Parameters are parameters,
    attributes that are Modules (or lists and dicts of them, via ModuleList/ModuleDict) are
    children; no registration is needed.

    >>> class Net(ember.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = ember.nn.Linear(2, 1)
    ...     def forward(self, x):
    ...         return self.fc(x)
    >>> [name for name, _ in Net().named_parameters()]
    ['fc.weight', 'fc.bias']
    """

    training: bool   # (set in __init__ past __setattr__, which needs _buffers)
    _buffers: OrderedDict[str, Tensor | None]
    _non_persistent: set[str]
    _forward_pre_hooks: list[Callable]
    _forward_hooks: list[Callable]
    _backward_hooks: list[Callable]

    def __init__(self) -> None:
        object.__setattr__(self, 'training', True)
        object.__setattr__(self, '_buffers', OrderedDict())
        object.__setattr__(self, '_non_persistent', set())
        object.__setattr__(self, '_forward_pre_hooks', [])
        object.__setattr__(self, '_forward_hooks', [])
        object.__setattr__(self, '_backward_hooks', [])

    def __setattr__(self, name, value):
        if '_buffers' not in self.__dict__:
            raise AttributeError(f'cannot assign {name!r} before Module.__init__() call '
                                 f'(call super().__init__() first in {type(self).__name__})')
        if name in self._buffers:
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._buffers.pop(name, None)
        object.__delattr__(self, name)

    # ------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation, written by each subclass; call the module (``m(x)``), not
        ``forward``, so that hooks run.

        >>> ember.nn.Module().forward(1)
        Traceback (most recent call last):
        ...
        NotImplementedError: Module [Module] is missing the required "forward" function
        """
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for hook in list(self._forward_pre_hooks):
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        if self._backward_hooks:
            return self._call_with_backward_hooks(args, kwargs)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks):
            r = hook(self, args, out)
            if r is not None:
                out = r
        return out

    def _call_with_backward_hooks(self, args, kwargs):
        """Wrap inputs and outputs in identity nodes that see their gradients."""
        from ._hooks import wrap_inputs, wrap_outputs
        state = {}
        args = wrap_inputs(self, args, state)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks):
            r = hook(self, args, out)
            if r is not None:
                out = r
        return wrap_outputs(self, out, state)

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to
        the module's inputs are computed; a returned tuple replaces ``grad_input``.

        >>> lin = ember.nn.Linear(2, 1)
        >>> seen = []
        >>> h = lin.register_full_backward_hook(lambda m, gi, go: seen.append(go[0].shape))
        >>> lin(ember.ones(3, 2, requires_grad=True)).sum().backward(); seen
        [ember.Size([3, 1])]
        >>> h.remove()
        """
        self._backward_hooks.append(hook)
        return RemovableHandle(self._backward_hooks, hook)

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, args)`` before forward; returns a removable handle."""
        self._forward_pre_hooks.append(hook)
        return RemovableHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after forward; returns a removable handle."""
        self._forward_hooks.append(hook)
        return RemovableHandle(self._forward_hooks, hook)

    # ------------------------------------------------------------ walking attributes
    def _child_items(self):
        """Every (name, child) attribute, a module held twice under each of its names (what
        the state dict, printing and the containers see)."""
        for name, value in self.__dict__.items():
            if isinstance(value, Module):
                yield name, value

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, child) for each direct submodule; a child held twice comes once, as in
        PyTorch (``len()`` and iteration of a container still count it twice).

        >>> lin = ember.nn.Linear(2, 2)
        >>> [n for n, _ in ember.nn.Sequential(lin, ember.nn.ReLU(), lin).named_children()]
        ['0', '1']
        """
        seen = set()
        for name, m in self._child_items():
            if id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        """The direct submodules, as ``named_children`` without the names.

        >>> list(ember.nn.Sequential(ember.nn.ReLU(), ember.nn.Tanh()).children())
        [ReLU(), Tanh()]
        """
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo: set[int] | None = None, prefix: str = '',
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every submodule, depth first; a module
        reached twice comes once unless ``remove_duplicate=False``, as in PyTorch.

        >>> lin = ember.nn.Linear(2, 2)
        >>> seq = ember.nn.Sequential(lin, ember.nn.ReLU(), lin)
        >>> [n for n, _ in seq.named_modules()], [n for n, _ in seq.named_modules(
        ...     remove_duplicate=False)]
        (['', '0', '1'], ['', '0', '1', '2'])
        """
        if remove_duplicate:
            memo = set() if memo is None else memo
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._child_items():
            yield from child.named_modules(memo, f'{prefix}.{name}' if prefix else name,
                                           remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every submodule, depth first, each once.

        >>> [type(m).__name__ for m in ember.nn.Sequential(ember.nn.Linear(1, 1)).modules()]
        ['Sequential', 'Linear']
        """
        for _, m in self.named_modules():
            yield m

    def _own_parameters(self):
        for name, value in self.__dict__.items():
            if isinstance(value, Parameter):
                yield name, value

    def named_parameters(self, prefix: str = '', recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter reached twice (a shared module or a tied
        weight) comes once, under its first name, unless ``remove_duplicate=False``.

        >>> lin = ember.nn.Linear(2, 2)
        >>> seq = ember.nn.Sequential(lin, ember.nn.ReLU(), lin)
        >>> [n for n, _ in seq.named_parameters()]
        ['0.weight', '0.bias']
        >>> len(list(seq.named_parameters(remove_duplicate=False)))
        4
        """
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, p in mod._own_parameters():
                if remove_duplicate:
                    if id(p) in seen:
                        continue
                    seen.add(id(p))
                yield _join(mod_prefix, name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter (of submodules too unless ``recurse=False``), each once: what an
        optimizer takes.

        >>> [tuple(p.shape) for p in ember.nn.Linear(2, 3).parameters()]
        [(3, 2), (3,)]
        """
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is part of the module's state but not a parameter (e.g. running
        statistics); saved in ``state_dict`` unless ``persistent=False``.

        >>> m = ember.nn.Module(); m.register_buffer('steps', ember.zeros(1)); list(m.state_dict())
        ['steps']
        """
        where = f'{type(self).__name__}.register_buffer'
        if not isinstance(name, str):
            raise TypeError(f'{where}: buffer name should be a string, got '
                            f'{type(name).__name__}')
        if not name or '.' in name:
            raise KeyError(f'{where}: buffer name can\'t be empty or contain ".", got {name!r}')
        if name not in self._buffers and (name in self.__dict__ or hasattr(type(self), name)):
            raise KeyError(f"{where}: attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{where}: cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (Tensor or None required)")
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def named_buffers(self, prefix: str = '', recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs, a buffer reached twice once unless
        ``remove_duplicate=False``, as ``named_parameters``.

        >>> [n for n, _ in ember.nn.BatchNorm1d(2).named_buffers()]
        ['running_mean', 'running_var', 'num_batches_tracked']
        """
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, b in mod._buffers.items():
                if b is not None:
                    if remove_duplicate:
                        if id(b) in seen:
                            continue
                        seen.add(id(b))
                    yield _join(mod_prefix, name), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer (running statistics...), as ``named_buffers`` without the names.

        >>> len(list(ember.nn.BatchNorm1d(2).buffers()))
        3
        """
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------ modes and housekeeping
    def train(self, mode: bool = True) -> Module:
        """Set training mode here and in every submodule; returns self.

        >>> ember.nn.Dropout().train(False).training
        False
        """
        for m in self.modules():
            object.__setattr__(m, 'training', mode)
        return self

    def eval(self) -> Module:
        """``train(False)``: BatchNorm uses running statistics, Dropout does nothing.

        >>> ember.nn.Dropout().eval().training
        False
        """
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad``: to None, or to zeros with ``set_to_none=False``.

        >>> lin = ember.nn.Linear(2, 1); lin(ember.ones(1, 2)).sum().backward()
        >>> lin.zero_grad(); lin.weight.grad is None
        True
        """
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad._data[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (False freezes them); returns self.

        >>> [p.requires_grad for p in ember.nn.Linear(1, 1).requires_grad_(False).parameters()]
        [False, False]
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn(module)`` on every submodule (children first) and on self.

        >>> names = []; _ = ember.nn.Sequential(ember.nn.ReLU()).apply(
        ...     lambda m: names.append(type(m).__name__)); names
        ['ReLU', 'Sequential']
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move/cast parameters and buffers in place (floating-point ones take a dtype).

        >>> ember.nn.Linear(1, 1).to(ember.float64).weight.dtype
        ember.float64
        """
        for m in self.modules():
            for name, p in list(m._own_parameters()):
                new = p.to(*args, **kwargs) if p.dtype.is_floating_point else \
                    p.to(*[a for a in args if not _is_dtype(a)],
                         **{k: v for k, v in kwargs.items() if k != 'dtype'})
                p._data = new._data
                if p.grad is not None:
                    p.grad = p.grad.to(*args, **kwargs)
            for name, b in list(m._buffers.items()):
                if b is not None:
                    keep = not b.dtype.is_floating_point
                    m._buffers[name] = b.to(*[a for a in args if not (keep and _is_dtype(a))],
                                            **{k: v for k, v in kwargs.items()
                                               if not (keep and k == 'dtype')})
                    object.__setattr__(m, name, m._buffers[name])
        return self

    def cpu(self) -> Module:
        """``to('cpu')``: parameters and buffers into host memory, in place; returns self.

        >>> ember.nn.Linear(1, 1).cpu().weight.device
        device(type='cpu')
        """
        return self.to('cpu')

    def cuda(self, device: int | None = None) -> Module:
        """``to('cuda')`` (or ``'cuda:<device>'``): parameters and buffers into GPU memory,
        in place; returns self. Needs CuPy and a GPU.

        >>> lin = ember.nn.Linear(1, 1)
        >>> (lin.cuda() if ember.cuda.is_available() else lin).weight.shape
        ember.Size([1, 1])
        """
        return self.to('cuda' if device is None else f'cuda:{device}')

    def float(self) -> Module:
        """``to(ember.float32)`` for the floating-point parameters and buffers; returns self.

        >>> ember.nn.Linear(1, 1).double().float().weight.dtype
        ember.float32
        """
        return self.to(__import__('ember').float32)

    def double(self) -> Module:
        """``to(ember.float64)`` for the floating-point parameters and buffers; returns self.

        >>> ember.nn.Linear(1, 1).double().weight.dtype
        ember.float64
        """
        return self.to(__import__('ember').float64)

    def half(self) -> Module:
        """``to(ember.float16)`` for the floating-point parameters and buffers; returns self.

        >>> ember.nn.Linear(1, 1).half().weight.dtype
        ember.float16
        """
        return self.to(__import__('ember').float16)

    # ------------------------------------------------------------ state
    def state_dict(self, prefix: str = '', keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name. As in PyTorch, a module or
        parameter held twice is saved under each of its names (``parameters()`` gives it once).

        >>> sorted(ember.nn.Linear(2, 3).state_dict())
        ['bias', 'weight']
        >>> lin = ember.nn.Linear(2, 2)
        >>> list(ember.nn.Sequential(lin, ember.nn.ReLU(), lin).state_dict())
        ['0.weight', '0.bias', '2.weight', '2.bias']
        """
        out = OrderedDict()
        for mod_prefix, mod in self.named_modules(remove_duplicate=False):
            for name, p in mod._own_parameters():
                out[_join(prefix, mod_prefix, name)] = p if keep_vars else p.detach()
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    out[_join(prefix, mod_prefix, name)] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> tuple[list[str], list[str]]:
        """Copy tensors in by name. With ``strict``, missing or unexpected keys raise, naming
        them; returns ``(missing_keys, unexpected_keys)``.

        >>> a, b = ember.nn.Linear(2, 1), ember.nn.Linear(2, 1)
        >>> b.load_state_dict(a.state_dict()), bool((a.weight == b.weight).all())
        (([], []), True)
        """
        name = type(self).__name__
        if not hasattr(state_dict, 'keys') or not hasattr(state_dict, '__getitem__'):
            raise TypeError(f'load_state_dict for {name}: expected state_dict to be dict-like, '
                            f'got {type(state_dict).__name__}')
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f'Error(s) in loading state_dict for {type(self).__name__}: '
                               f'missing keys: {missing}; unexpected keys: {unexpected}')
        for k, target in own.items():
            if k not in state_dict:
                continue
            src = state_dict[k]
            if not isinstance(src, (Tensor, np.ndarray)):
                raise RuntimeError(f'Error(s) in loading state_dict for {name}: while copying '
                                   f'the parameter named {k!r}, expected a Tensor or an array '
                                   f'from the checkpoint but received {type(src).__name__}')
            src = src if isinstance(src, Tensor) else Tensor(src)
            if tuple(src.shape) != tuple(target.shape):
                raise RuntimeError(f'Error(s) in loading state_dict for '
                                   f'{type(self).__name__}: size mismatch for {k}: copying a '
                                   f'param with shape {tuple(src.shape)} from checkpoint, the '
                                   f'shape in current model is {tuple(target.shape)}')
        from ..autograd import no_grad
        with no_grad():
            for k, target in own.items():
                if k in state_dict:
                    src = state_dict[k]
                    target.copy_(src if isinstance(src, Tensor) else Tensor(src))
        return missing, unexpected

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside the module's printed parentheses; layers override it.

        >>> ember.nn.Linear(2, 3).extra_repr()
        'in_features=2, out_features=3, bias=True'
        """
        return ''

    def __repr__(self):
        lines = []
        for name, child in self._child_items():
            body = repr(child).replace('\n', '\n  ')
            lines.append(f'({name}): {body}')
        extra = self.extra_repr()
        if not lines:
            return f'{type(self).__name__}({extra})'
        head = f'{type(self).__name__}(' + (f'\n  {extra}' if extra else '')
        return head + '\n  ' + '\n  '.join(lines) + '\n)'


def _join(*parts):
    return '.'.join(p for p in parts if p)


def _is_dtype(a):
    from .._dtype import dtype
    return isinstance(a, dtype) or (isinstance(a, str) and a not in ('cpu',)
                                    and not a.startswith('cuda'))
