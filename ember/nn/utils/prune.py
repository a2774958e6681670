"""Pruning, with ``torch.nn.utils.prune``'s API: a pruned parameter ``weight`` becomes
``weight_orig`` (the parameter the optimizer trains) and a buffer ``weight_mask``, and a
forward pre-hook sets ``module.weight = weight_orig * weight_mask`` before each call; pruning
a parameter again combines the masks (the new method acts on what is still unpruned);
``remove`` makes it permanent. ``remove_channels`` (ember's; torch has none) then really
takes the pruned output channels out of convolutions and linear layers, and the matching
inputs out of the layers that read them, so the smaller model is faster.

>>> lin = ember.nn.Linear(4, 3)
>>> _ = prune.l1_unstructured(lin, 'weight', amount=0.5)
>>> int(lin.weight_mask.sum()), sorted(n for n, _ in lin.named_parameters())
(6, ['bias', 'weight_orig'])
"""
import numbers

import numpy as np

from ..._tensor import Tensor, tensor
from ...autograd import no_grad
from ..module import Module, Parameter

__all__ = ['BasePruningMethod', 'PruningContainer', 'Identity', 'RandomUnstructured',
           'L1Unstructured', 'RandomStructured', 'LnStructured', 'CustomFromMask', 'identity',
           'random_unstructured', 'l1_unstructured', 'random_structured', 'ln_structured',
           'global_unstructured', 'custom_from_mask', 'remove', 'is_pruned', 'remove_channels']


def _check_amount(amount, n=None, where='prune'):
    """torch's checks: a float in [0, 1] (a share) or a whole number >= 0 (a count, at most
    ``n``); the number of entries to prune."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f'{where}: amount={amount!r} should be a float in [0, 1] or a '
                        f'non-negative int')
    if isinstance(amount, numbers.Integral):
        if amount < 0:
            raise ValueError(f'{where}: amount={amount} should be a non-negative int')
        if n is not None and amount > n:
            raise ValueError(f'{where}: amount={amount} should be smaller than the number of '
                             f'parameters to prune={n}')
        return int(amount)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f'{where}: amount={amount} should be a float in the range [0, 1]')
    return None if n is None else round(amount * n)


def _smallest(scores, k):
    """Positions of the ``k`` smallest of a 1-D array (stable: the first of equal ones)."""
    return np.argsort(scores, kind='stable')[:k]


class BasePruningMethod:
    """A pruning method: ``compute_mask(t, default_mask)`` gives the new mask (an array of
    0s and 1s shaped as ``t``); ``apply(module, name, ...)`` installs it.

    >>> m = prune.L1Unstructured(amount=1).compute_mask(ember.tensor([3.0, -1.0, 2.0]),
    ...                                                  ember.ones(3))
    >>> m.tolist()
    [1.0, 0.0, 1.0]
    """
    PRUNING_TYPE = 'unstructured'
    _tensor_name = None

    def compute_mask(self, t, default_mask):
        raise NotImplementedError(f'{type(self).__name__}.compute_mask')

    def __call__(self, module, inputs):
        """The forward pre-hook: the pruned tensor from the original and the mask."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    def apply_mask(self, module):
        """``<name>_orig * <name>_mask`` of ``module``."""
        orig = getattr(module, self._tensor_name + '_orig')
        return orig * getattr(module, self._tensor_name + '_mask').to(dtype=orig.dtype)

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new method of this class (arguments: its own)."""
        if not isinstance(module, Module):
            raise TypeError(f'prune: expected an ember.nn.Module, got {type(module).__name__}')
        old = _hook_of(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is not None:
            container = old if isinstance(old, PruningContainer) else PruningContainer(old)
            container.add_pruning_method(method)
            method = container
            module._forward_pre_hooks.remove(old)
            orig = getattr(module, name + '_orig')
            default = getattr(module, name + '_mask').detach()
        else:
            orig = getattr(module, name, None)
            if not isinstance(orig, Parameter):
                raise AttributeError(f'prune: {type(module).__name__} has no parameter '
                                     f'{name!r}')
            default = Tensor._make(np.ones(tuple(orig.shape), orig._data.dtype))
        scores = orig if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(orig.shape):
            raise ValueError(f'prune: importance_scores of shape {tuple(scores.shape)} do not '
                             f'match {name} of shape {tuple(orig.shape)}')
        with no_grad():
            mask = method.compute_mask(scores, default_mask=default)
        if old is None:
            delattr(module, name)
            setattr(module, name + '_orig', orig)
            module.register_buffer(name + '_mask', mask)
        else:
            setattr(module, name + '_mask', mask)
        setattr(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def prune(self, t):
        """``t`` with this method's mask (computed on ``t`` itself) applied."""
        return t * self.compute_mask(t, Tensor._make(np.ones(tuple(t.shape),
                                                              t._data.dtype)))

    def remove(self, module):
        """Make the pruning of ``module`` permanent (``prune.remove`` calls it)."""
        name = self._tensor_name
        with no_grad():
            value = self.apply_mask(module)
        delattr(module, name + '_orig')
        delattr(module, name + '_mask')
        if name in module.__dict__:
            delattr(module, name)
        setattr(module, name, Parameter(value.detach()))


def _hook_of(module, name):
    for h in module._forward_pre_hooks:
        if isinstance(h, BasePruningMethod) and h._tensor_name == name:
            return h
    return None


class PruningContainer(BasePruningMethod):
    """Several prunings of one tensor in turn: each acts on the entries the ones before
    left (torch's ``PruningContainer``; ``prune`` makes one when a tensor is pruned twice).

    >>> lin = ember.nn.Linear(4, 2)
    >>> _ = prune.l1_unstructured(lin, 'weight', 2)
    >>> c = prune.L1Unstructured.apply(lin, 'weight', 2)
    >>> type(c).__name__, int(lin.weight_mask.sum())
    ('PruningContainer', 4)
    """

    def __init__(self, *methods):
        self._pruning_methods = ()
        self._tensor_name = methods[0]._tensor_name if methods else None
        for m in methods:
            self.add_pruning_method(m)

    def add_pruning_method(self, method):
        """Add ``method`` (of the same tensor) to the sequence."""
        if self._tensor_name is not None and method._tensor_name != self._tensor_name:
            raise ValueError(f'PruningContainer: cannot add a method for '
                             f'{method._tensor_name!r} to one for {self._tensor_name!r}')
        self._tensor_name = method._tensor_name
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def compute_mask(self, t, default_mask):
        """The last method's mask on what ``default_mask`` leaves: unstructured methods see
        the unpruned entries only; structured ones the channels not yet wholly pruned."""
        method = self._pruning_methods[-1]
        keep = default_mask._data.astype(bool)
        new = default_mask._data.copy()
        if method.PRUNING_TYPE == 'unstructured':
            part = method.compute_mask(Tensor._make(t._data[keep]),
                                       Tensor._make(np.ones(int(keep.sum()), new.dtype)))
            new[keep] = part._data
        elif method.PRUNING_TYPE == 'structured':
            dim = method.dim % t.dim()
            other = tuple(d for d in range(t.dim()) if d != dim)
            alive = keep.any(axis=other) if other else keep
            sub = np.compress(alive, t._data, axis=dim)
            part = method.compute_mask(Tensor._make(sub), Tensor._make(np.ones_like(sub)))
            idx = [slice(None)] * t.dim()
            idx[dim] = np.flatnonzero(alive)
            new[tuple(idx)] *= part._data
        else:
            new = new * method.compute_mask(t, default_mask)._data
        return Tensor._make(new)


class Identity(BasePruningMethod):
    """Prune nothing (a mask of ones): makes the parametrization without changing values.

    >>> prune.Identity().compute_mask(ember.ones(2), ember.ones(2)).tolist()
    [1.0, 1.0]
    """

    def compute_mask(self, t, default_mask):
        return default_mask


class RandomUnstructured(BasePruningMethod):
    """Prune ``amount`` (a share or a count) of the entries, chosen at random (ember's
    generator: not torch's draws).

    >>> _ = ember.manual_seed(0)
    >>> int(prune.RandomUnstructured(0.25).compute_mask(ember.ones(8), ember.ones(8)).sum())
    6
    """

    def __init__(self, amount):
        _check_amount(amount, where='RandomUnstructured')
        self.amount = amount

    def compute_mask(self, t, default_mask):
        from ...random import rand
        k = _check_amount(self.amount, t.numel(), 'RandomUnstructured')
        mask = default_mask._data.copy()
        if k:
            mask.reshape(-1)[_smallest(rand(t.numel())._data, k)] = 0
        return Tensor._make(mask)


class L1Unstructured(BasePruningMethod):
    """Prune ``amount`` of the entries with the smallest absolute values.

    >>> prune.L1Unstructured(0.5).compute_mask(ember.tensor([0.1, -2.0, 0.3, 4.0]),
    ...                                        ember.ones(4)).tolist()
    [0.0, 1.0, 0.0, 1.0]
    """

    def __init__(self, amount):
        _check_amount(amount, where='L1Unstructured')
        self.amount = amount

    def compute_mask(self, t, default_mask):
        k = _check_amount(self.amount, t.numel(), 'L1Unstructured')
        mask = default_mask._data.copy()
        if k:
            mask.reshape(-1)[_smallest(np.abs(t._data).reshape(-1), k)] = 0
        return Tensor._make(mask)


class _Structured(BasePruningMethod):
    PRUNING_TYPE = 'structured'

    def __init__(self, amount, dim=-1):
        _check_amount(amount, where=type(self).__name__)
        self.amount, self.dim = amount, dim

    def _mask(self, t, default_mask, scores):
        """Zero the ``amount`` channels (along ``dim``) with the smallest ``scores``."""
        n = t.shape[self.dim]
        k = _check_amount(self.amount, n, type(self).__name__)
        mask = default_mask._data.copy()
        if k:
            idx = [slice(None)] * t.dim()
            idx[self.dim % t.dim()] = _smallest(scores, k)
            mask[tuple(idx)] = 0
        return Tensor._make(mask)


class RandomStructured(_Structured):
    """Prune ``amount`` of the channels along ``dim``, chosen at random.

    >>> _ = ember.manual_seed(0)
    >>> m = prune.RandomStructured(1, dim=0).compute_mask(ember.ones(2, 3), ember.ones(2, 3))
    >>> sorted(m.sum(1).tolist())
    [0.0, 3.0]
    """

    def compute_mask(self, t, default_mask):
        from ...random import rand
        return self._mask(t, default_mask, rand(t.shape[self.dim])._data)


class LnStructured(_Structured):
    """Prune ``amount`` of the channels along ``dim`` with the smallest ``n``-norm (``n``: a
    number, ``'fro'``, ``inf`` or ``-inf``), as torch's ``ln_structured``.

    >>> t = ember.tensor([[1.0, 1.0], [0.1, 0.2], [3.0, 0.0]])
    >>> prune.LnStructured(1, n=2, dim=0).compute_mask(t, ember.ones(3, 2)).tolist()
    [[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]
    """

    def __init__(self, amount, n, dim=-1):
        super().__init__(amount, dim)
        self.n = n

    def compute_mask(self, t, default_mask):
        a = t._data
        dim = self.dim % t.dim()
        flat = np.moveaxis(a, dim, 0).reshape(a.shape[dim], -1).astype(np.float64)
        n = 2 if self.n == 'fro' else self.n
        if n == np.inf:
            norms = np.abs(flat).max(axis=1)
        elif n == -np.inf:
            norms = np.abs(flat).min(axis=1)
        else:
            norms = np.linalg.norm(flat, ord=n, axis=1) if n else \
                (flat != 0).sum(axis=1).astype(np.float64)
        return self._mask(t, default_mask, norms)


class CustomFromMask(BasePruningMethod):
    """Prune where a given ``mask`` is 0.

    >>> prune.CustomFromMask(ember.tensor([1.0, 0.0])).compute_mask(
    ...     ember.ones(2), ember.ones(2)).tolist()
    [1.0, 0.0]
    """

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        mask = self.mask if isinstance(self.mask, Tensor) else tensor(self.mask)
        if tuple(mask.shape) != tuple(t.shape):
            raise ValueError(f'CustomFromMask: mask of shape {tuple(mask.shape)} does not match '
                             f'the tensor of shape {tuple(t.shape)}')
        return Tensor._make(default_mask._data * mask._data.astype(default_mask._data.dtype))


def identity(module, name):
    """Apply ``Identity`` to ``module.<name>``; returns the module.

    >>> lin = prune.identity(ember.nn.Linear(2, 2), 'weight'); bool(lin.weight_mask.all())
    True
    """
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` of ``module.<name>``'s entries at random; returns the module.

    >>> lin = prune.random_unstructured(ember.nn.Linear(4, 2), 'weight', 3)
    >>> int((lin.weight_mask == 0).sum())
    3
    """
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune ``amount`` of ``module.<name>``'s entries with the smallest absolute values
    (of ``importance_scores`` if given); returns the module.

    >>> lin = prune.l1_unstructured(ember.nn.Linear(4, 2), 'weight', 0.25)
    >>> int((lin.weight_mask == 0).sum())
    2
    """
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` of ``module.<name>``'s channels along ``dim`` at random.

    >>> conv = prune.random_structured(ember.nn.Conv2d(1, 4, 3), 'weight', 2, dim=0)
    >>> int((conv.weight_mask.sum((1, 2, 3)) == 0).sum())
    2
    """
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune ``amount`` of ``module.<name>``'s channels along ``dim`` with the smallest
    ``n``-norm.

    >>> conv = prune.ln_structured(ember.nn.Conv2d(1, 4, 3), 'weight', 0.5, n=1, dim=0)
    >>> int((conv.weight_mask.sum((1, 2, 3)) == 0).sum())
    2
    """
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune the ``(module, name)`` pairs of ``parameters`` together: ``pruning_method``
    (an unstructured class, e.g. ``prune.L1Unstructured``, with its ``amount=``) ranks all
    their entries as one vector, so layers lose different shares.

    >>> a, b = ember.nn.Linear(4, 4), ember.nn.Linear(4, 4)
    >>> prune.global_unstructured([(a, 'weight'), (b, 'weight')],
    ...                           pruning_method=prune.L1Unstructured, amount=16)
    >>> int((a.weight_mask == 0).sum() + (b.weight_mask == 0).sum())
    16
    """
    parameters = list(parameters)
    scores = importance_scores or {}
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != 'unstructured':
        raise TypeError(f'global_unstructured: {pruning_method.__name__} is '
                        f'{method.PRUNING_TYPE}; only unstructured methods rank entries '
                        f'across tensors')
    vectors, masks = [], []
    for module, name in parameters:
        t = scores.get((module, name), getattr(module, name))
        vectors.append(t._data.reshape(-1))
        mask = getattr(module, name + '_mask', None)
        masks.append(np.ones(t.numel(), t._data.dtype) if mask is None
                     else mask._data.reshape(-1))
    flat = Tensor._make(np.concatenate(vectors))
    mask = method.compute_mask(flat, Tensor._make(np.concatenate(masks)))._data
    start = 0
    for (module, name), v in zip(parameters, vectors):
        part = mask[start:start + v.size].reshape(tuple(getattr(module, name).shape))
        start += v.size
        CustomFromMask.apply(module, name, mask=Tensor._make(part))


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` where ``mask`` is 0; returns the module.

    >>> lin = prune.custom_from_mask(ember.nn.Linear(2, 1), 'bias', ember.tensor([0.0]))
    >>> (lin.bias == 0).tolist()
    [True]
    """
    CustomFromMask.apply(module, name, mask=mask)
    return module


def remove(module, name):
    """Make ``module.<name>``'s pruning permanent: a plain parameter again, holding the
    pruned values; the original, the mask and the hook are gone.

    >>> lin = prune.l1_unstructured(ember.nn.Linear(2, 2), 'weight', 2)
    >>> lin = prune.remove(lin, 'weight'); sorted(n for n, _ in lin.named_parameters())
    ['bias', 'weight']
    """
    hook = _hook_of(module, name)
    if hook is None:
        raise ValueError(f'prune.remove: parameter {name!r} of {type(module).__name__} has to '
                         f'be pruned before the pruning can be removed')
    hook.remove(module)
    module._forward_pre_hooks.remove(hook)
    return module


def is_pruned(module):
    """Whether ``module`` or a submodule has a pruned parameter.

    >>> m = ember.nn.Sequential(ember.nn.Linear(2, 2)); prune.is_pruned(m)
    False
    """
    return any(isinstance(h, BasePruningMethod) for m in module.modules()
               for h in m._forward_pre_hooks)


from ._shrink import remove_channels  # noqa: E402  (after the methods it reads)
