"""Containers: Sequential, ModuleList and ModuleDict hold their children as attributes (named
'0', '1', ... or by key), so ``Module``'s attribute walk finds them; Flatten and Unflatten."""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence
from collections import OrderedDict

from .module import Module


def _check_module(owner, module):
    if not isinstance(module, Module):
        raise TypeError(f'{owner}: expected an ember.nn.Module, got {type(module).__name__}')
    return module


class _Indexed(Module):
    """Children kept in order under the names '0', '1', ... (renumbered after a deletion)."""

    def _items(self):
        return list(self._child_items())

    def _set_children(self, modules):
        for name, _ in self._items():
            object.__delattr__(self, name)
        for i, m in enumerate(modules):
            object.__setattr__(self, str(i), m)

    def _index(self, idx):
        n = len(self)
        if not isinstance(idx, int) and not hasattr(idx, '__index__'):
            raise TypeError(f'{type(self).__name__} indices must be integers or slices, not '
                            f'{type(idx).__name__}')
        idx = int(idx)
        if not -n <= idx < n:
            raise IndexError(f'index {idx} is out of range for {type(self).__name__} of length '
                             f'{n}')
        return idx % n

    def __len__(self):
        return len(self._items())

    def __iter__(self):
        return iter([m for _, m in self._items()])

    def __setitem__(self, idx, module):
        name = self._items()[self._index(idx)][0]
        setattr(self, name, _check_module(type(self).__name__, module))

    def __delitem__(self, idx):
        mods = [m for _, m in self._items()]
        if isinstance(idx, slice):
            drop = set(range(len(mods))[idx])
        else:
            drop = {self._index(idx)}
        self._set_children([m for i, m in enumerate(mods) if i not in drop])

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        object.__setattr__(self, str(len(self)), _check_module(type(self).__name__, module))
        return self

    def extend(self, modules):
        """Append each module of an iterable; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index``."""
        mods = [m for _, m in self._items()]
        n = len(mods)
        if not -n <= index <= n:
            raise IndexError(f'{type(self).__name__}.insert: index {index} out of range for '
                             f'length {n}')
        mods.insert(index + n if index < 0 else index,
                    _check_module(type(self).__name__, module))
        self._set_children(mods)
        return self

    def pop(self, idx=-1):
        """Remove and return the module at ``idx`` (the last one by default)."""
        m = self[idx]
        del self[idx]
        return m


class Sequential(_Indexed):
    """Modules applied one after another; children are named '0', '1', ... or by the keys of
    an ``OrderedDict``. Indexing gives a module, slicing a new Sequential.

    >>> model = ember.nn.Sequential(ember.nn.Linear(3, 2), ember.nn.ReLU())
    >>> model(ember.ones(4, 3)).shape, len(model), model[-1]
    (ember.Size([4, 2]), 2, ReLU())
    >>> from collections import OrderedDict
    >>> list(ember.nn.Sequential(OrderedDict(act=ember.nn.Tanh())).state_dict())
    []
    """

    def __init__(self, *args: Module) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def add_module(self, name, module):
        """Add a child under ``name`` (a string without dots)."""
        if not isinstance(name, str) or '.' in name or name == '':
            raise KeyError(f'Sequential.add_module: module name must be a non-empty string '
                           f'without ".", got {name!r}')
        if name not in self.__dict__ and hasattr(self, name):
            raise KeyError(f"Sequential.add_module: attribute '{name}' already exists")
        setattr(self, name, _check_module('Sequential', module))

    def __getitem__(self, idx):
        items = self._items()
        if isinstance(idx, slice):
            return type(self)(OrderedDict(items[idx]))
        return items[self._index(idx)][1]

    def __delitem__(self, idx):
        super().__delitem__(idx)   # torch renumbers too, so keys become '0', '1', ... again

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f'add operator supports only objects of Sequential class, but '
                             f'{type(other).__name__} is given')
        return Sequential(*self, *other)

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(_Indexed):
    """A list of modules whose parameters the parent finds; it has no ``forward``.

    >>> layers = ember.nn.ModuleList([ember.nn.Linear(2, 2) for _ in range(3)])
    >>> layers.append(ember.nn.ReLU()); len(layers), len(list(layers.parameters()))
    ModuleList(
      (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)
      (3): ReLU()
    )
    (4, 6)
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        items = self._items()
        if isinstance(idx, slice):
            return type(self)([m for _, m in items[idx]])
        return items[self._index(idx)][1]

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __repr__(self):
        # torch's repr: runs of identical children print once, as "(0-2): 3 x Linear(...)"
        reprs = [repr(m) for m in self]
        if not reprs:
            return 'ModuleList()'
        runs = []
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = []
        for start, end, r in runs:
            line = f'({start}): {r}' if start == end else \
                f'({start}-{end}): {end - start + 1} x {r}'
            lines.append(line.replace('\n', '\n  '))
        return 'ModuleList(\n  ' + '\n  '.join(lines) + '\n)'


class ModuleDict(Module):
    """A dict of modules by string key (insertion order kept); the parent finds their
    parameters under ``key.name``.

    >>> heads = ember.nn.ModuleDict({'cls': ember.nn.Linear(4, 2), 'act': ember.nn.ReLU()})
    >>> list(heads.keys()), sorted(heads.state_dict())
    (['cls', 'act'], ['cls.bias', 'cls.weight'])
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
                 ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self:
            raise KeyError(key)
        return self.__dict__[key]

    def __setitem__(self, key, module):
        if not isinstance(key, str) or '.' in key or key == '':
            raise KeyError(f'ModuleDict: key must be a non-empty string without ".", got '
                           f'{key!r}')
        if key not in self and hasattr(self, key):
            raise KeyError(f"ModuleDict: attribute '{key}' already exists; pick another key")
        setattr(self, key, _check_module('ModuleDict', module))

    def __delitem__(self, key):
        if key not in self:
            raise KeyError(key)
        object.__delattr__(self, key)

    def __contains__(self, key):
        return isinstance(key, str) and isinstance(self.__dict__.get(key), Module)

    def __len__(self):
        return len(self.keys())

    def __iter__(self):
        return iter(self.keys())

    def keys(self):
        """The keys, in insertion order."""
        return [k for k, _ in self._child_items()]

    def values(self):
        """The modules, in insertion order."""
        return [m for _, m in self._child_items()]

    def items(self):
        """``(key, module)`` pairs, in insertion order."""
        return list(self._child_items())

    def update(self, modules):
        """Add (or replace) modules from a mapping or an iterable of ``(key, module)`` pairs."""
        pairs = modules.items() if hasattr(modules, 'items') else modules
        for key, module in pairs:
            self[key] = module

    def pop(self, key):
        """Remove ``key`` and return its module."""
        m = self[key]
        del self[key]
        return m

    def clear(self):
        """Remove every module."""
        for key in self.keys():
            object.__delattr__(self, key)


class Flatten(Module):
    """Merge dimensions ``start_dim`` .. ``end_dim`` (by default all but the batch dimension).

    >>> ember.nn.Flatten()(ember.zeros(2, 3, 4)).shape
    ember.Size([2, 12])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f'start_dim={self.start_dim}, end_dim={self.end_dim}'


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``.

    >>> ember.nn.Unflatten(1, (3, 4))(ember.zeros(2, 12)).shape
    ember.Size([2, 3, 4])
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError(f'Unflatten: dim must be an int, got {type(dim).__name__}')
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f'dim={self.dim}, unflattened_size={self.unflattened_size}'
