"""``nn.Module`` and ``nn.Parameter``: layers find their parameters by walking attributes."""
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

    def __init__(self, data=None, requires_grad=True):
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

    def __init__(self):
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
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    def __call__(self, *args, **kwargs):
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

    def register_full_backward_hook(self, hook):
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

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, args)`` before forward; returns a removable handle."""
        self._forward_pre_hooks.append(hook)
        return RemovableHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook):
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

    def named_children(self):
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

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix='', remove_duplicate=True):
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

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def _own_parameters(self):
        for name, value in self.__dict__.items():
            if isinstance(value, Parameter):
                yield name, value

    def named_parameters(self, prefix='', recurse=True, remove_duplicate=True):
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

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def register_buffer(self, name, tensor, persistent=True):
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

    def named_buffers(self, prefix='', recurse=True, remove_duplicate=True):
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

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------ modes and housekeeping
    def train(self, mode=True):
        """Set training mode here and in every submodule; returns self."""
        for m in self.modules():
            object.__setattr__(m, 'training', mode)
        return self

    def eval(self):
        """``train(False)``: BatchNorm uses running statistics, Dropout does nothing."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad._data[...] = 0

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs):
        """Move/cast parameters and buffers in place (floating-point ones take a dtype)."""
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

    def cpu(self):
        return self.to('cpu')

    def cuda(self, device=None):
        return self.to('cuda' if device is None else f'cuda:{device}')

    def float(self):
        return self.to(__import__('ember').float32)

    def double(self):
        return self.to(__import__('ember').float64)

    def half(self):
        return self.to(__import__('ember').float16)

    # ------------------------------------------------------------ state
    def state_dict(self, prefix='', keep_vars=False):
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

    def load_state_dict(self, state_dict, strict=True):
        """Copy tensors in by name. With ``strict``, missing or unexpected keys raise, naming
        them; returns ``(missing_keys, unexpected_keys)``."""
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
    def extra_repr(self):
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
