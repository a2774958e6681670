"""The optimizer driver: parameter groups, zero_grad, state_dict. Rules live in subclasses."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping
import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd import _State, no_grad, quiet_numpy

if TYPE_CHECKING:
    from .._typing import Params


class Optimizer:
    """Base of ember's optimizers: holds ``param_groups`` and per-parameter ``state``;
    a subclass implements ``update(p, grad, state, group)`` for one parameter.

    >>> w = ember.nn.Parameter(ember.ones(2))
    >>> opt = ember.optim.SGD([w], lr=0.5)
    >>> (w * w).sum().backward(); opt.step(); w
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}   # by id() of the parameter
        # GPU updates waiting for finish(), by (run, key, dtype)
        self._queued: dict[tuple, list] = {}
        name = type(self).__name__
        if isinstance(params, Tensor) or not hasattr(params, '__iter__'):
            got = (f'a Tensor of shape {tuple(params.shape)} (pass [p] or model.parameters())'
                   if isinstance(params, Tensor) else type(params).__name__)
            raise TypeError(f'{name}: params argument given to the optimizer should be an '
                            f'iterable of Tensors or dicts, but got {got}')
        given: list[Any] = list(params)
        if not given:
            raise ValueError(f'{name}: optimizer got an empty parameter list')
        groups = given if isinstance(given[0], dict) else [{'params': given}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``'params'`` and any options that differ
        from the defaults). Parameters must be leaf tensors, each in one group only.

        >>> a, b = ember.nn.Parameter(ember.ones(1)), ember.nn.Parameter(ember.ones(1))
        >>> opt = ember.optim.SGD([a], lr=0.1)
        >>> opt.add_param_group({'params': [b], 'lr': 0.01})
        >>> [g['lr'] for g in opt.param_groups]
        [0.1, 0.01]
        """
        name = type(self).__name__
        if not isinstance(group, dict):
            raise TypeError(f'{name}: a parameter group must be a dict, got '
                            f'{type(group).__name__}')
        if 'params' not in group:
            raise KeyError(f"{name}: a parameter group needs a 'params' entry; got the keys "
                           f'{sorted(group)}')
        group = dict(group)
        ps = group['params']
        if isinstance(ps, (set, frozenset)):
            raise TypeError(f'{name}: optimizer parameters need to be organized in ordered '
                            f'collections, but the ordering of tensors in sets will change '
                            f'between runs. Please use a list instead.')
        group['params'] = [ps] if isinstance(ps, Tensor) else list(ps)
        for i, p in enumerate(group['params']):
            if not isinstance(p, Tensor):
                raise TypeError(f'{name}: optimizer can only optimize Tensors, but one of the '
                                f'params is {type(p).__name__} (parameter {i} of group '
                                f'{len(self.param_groups)})')
            if p.grad_fn is not None and not p.retains_grad:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i} of "
                                 f'group {len(self.param_groups)}, shape {tuple(p.shape)}, '
                                 f'computed by {p.grad_fn.name}); pass the leaf tensor it '
                                 f'was computed from')
        if len({id(p) for p in group['params']}) != len(group['params']):
            warnings.warn(f'{name}: optimizer contains a parameter group with duplicate '
                          f'parameters; in future, this will cause an error', stacklevel=3)
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        seen = {id(p) for g in self.param_groups for p in g['params']}
        if any(id(p) in seen for p in group['params']):
            raise ValueError(f'{name}: some parameters appear in more than one parameter group')
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the ``.grad`` of every parameter: to None, or to zeros with
        ``set_to_none=False``.

        >>> w = ember.nn.Parameter(ember.ones(2)); w.grad = ember.ones(2)
        >>> ember.optim.SGD([w], lr=0.1).zero_grad(); w.grad is None
        True
        """
        for g in self.param_groups:
            for p in g['params']:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad._data[...] = 0

    @no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Update every parameter that has a gradient, by the optimizer's rule; with a
        ``closure`` (which recomputes and returns the loss), call it first and return its loss.

        >>> w = ember.nn.Parameter(ember.ones(1)); w.grad = ember.ones(1)
        >>> ember.optim.SGD([w], lr=0.5).step(); w.item()
        0.5
        """
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        if _State.timed:   # (a profiler is on: torch's name for the range)
            from ..profiler import record_function
            with record_function(f'Optimizer.step#{type(self).__name__}.step'), quiet_numpy():
                self._step_all()
        else:
            with quiet_numpy():
                self._step_all()
        return loss

    def _step_all(self):
        try:
            for group in self.param_groups:
                for p in group['params']:
                    if p._grad is None:
                        continue
                    state = self.state.setdefault(id(p), {})
                    self.update(p, p._grad._data, state, group)
                    p._version[0] += 1
        finally:   # (after an error too: the parameters before it are updated, as without
            self.finish()   # a queue)

    def update(self, p: Tensor, grad: Any, state: dict[str, Any], group: dict[str, Any]
               ) -> None:
        """The rule for one parameter: change ``p``'s array in place from ``grad`` (its
        gradient's array), ``state`` (this parameter's, kept between steps) and ``group``
        (its hyperparameters). Each optimizer implements it; ``step`` calls it.

        >>> ember.optim.Optimizer([ember.nn.Parameter(ember.ones(1))], {}).update(
        ...     None, None, {}, {})
        Traceback (most recent call last):
        ...
        NotImplementedError
        """
        raise NotImplementedError

    def traceable(self) -> bool:
        """Whether ``ember.compile`` may record ``step`` as array calls (its update reads no
        Python state that changes from step to step, such as a step count); else a compiled
        program runs ``step`` itself, as a host call."""
        return False

    def _queue(self, run, key, arrays):
        """Queue one parameter's ``arrays`` for ``run(list of such arrays, *key)`` at the end
        of ``step``: parameters of one dtype with the same ``run`` and ``key`` (their
        coefficients) go together, many in one GPU kernel."""
        self._queued.setdefault((run, key, arrays[0].dtype), []).append(arrays)

    def finish(self) -> None:
        """Called at the end of ``step``: the queued updates run, a call for each kind."""
        queued, self._queued = self._queued, {}
        for (run, key, _), arrays in queued.items():
            run(arrays, *key)

    def state_dict(self) -> dict[str, Any]:
        """The state (per parameter, by index) and the groups' hyperparameters, as torch's.

        >>> w = ember.nn.Parameter(ember.ones(1))
        >>> ember.optim.SGD([w], lr=0.1).state_dict()['param_groups'][0]['lr']
        0.1
        """
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups
                                                for p in g['params'])}
        groups = [{**{k: v for k, v in g.items() if k != 'params'},
                   'params': [index[id(p)] for p in g['params']]} for g in self.param_groups]
        state = {index[k]: {n: _wrap(v) for n, v in st.items()}
                 for k, st in self.state.items() if k in index}
        return {'state': state, 'param_groups': groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` gave: the state and the groups' hyperparameters (the
        parameters are this optimizer's own, matched by position).

        >>> w = ember.nn.Parameter(ember.ones(1))
        >>> opt = ember.optim.SGD([w], lr=0.5); opt.load_state_dict(
        ...     ember.optim.SGD([w], lr=0.1).state_dict()); opt.param_groups[0]['lr']
        0.1
        """
        groups = state_dict['param_groups']
        if len(groups) != len(self.param_groups):
            raise ValueError('loaded state dict has a different number of parameter groups')
        params = [p for g in self.param_groups for p in g['params']]
        for g, saved in zip(self.param_groups, groups):
            if len(g['params']) != len(saved['params']):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
            g.update({k: v for k, v in saved.items() if k != 'params'})
        name = type(self).__name__
        for i, st in state_dict['state'].items():
            if not 0 <= int(i) < len(params):
                raise ValueError(f'{name}.load_state_dict: state for parameter {i}, but the '
                                 f'optimizer has {len(params)} parameters')
            p = params[int(i)]
            for n, v in st.items():
                if n in _PARAM_SHAPED and tuple(getattr(v, 'shape', ())) != tuple(p.shape):
                    raise ValueError(f'{name}.load_state_dict: state {n!r} of parameter {i} '
                                     f'has shape {tuple(getattr(v, "shape", ()))}, but the '
                                     f'parameter has shape {tuple(p.shape)}')
        self.state = {id(params[int(i)]): {n: _unwrap(v, params[int(i)]) for n, v in st.items()}
                      for i, st in state_dict['state'].items()}


# per-parameter state of each rule, shaped like its parameter (checked on loading)
_PARAM_SHAPED = {'momentum_buffer', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'square_avg',
                 'acc_delta', 'sum', 'grad_avg'}


def _check_at_least_zero(opt, **values):
    """torch's checks of hyperparameters: ValueError naming the optimizer and the value."""
    for k, v in values.items():
        if v < 0:
            what = {'lr': 'learning rate', 'eps': 'epsilon value'}.get(k, f'{k} value')
            raise ValueError(f'{opt}: Invalid {what}: {v}')


def _wrap(v):
    """Array state is handed out as (copied) tensors, as in torch; lists of arrays (L-BFGS's
    history) as new lists, so the optimizer and the state dict share nothing mutable."""
    from .._tensor import Tensor
    if isinstance(v, (list, tuple)):
        return type(v)(_wrap(x) for x in v)
    return Tensor._make(v.copy()) if _is_array(v) else v


def _unwrap(v, p):
    from .._tensor import Tensor
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(x, p) for x in v)
    if isinstance(v, Tensor):
        return v.to(p.device)._data.copy()
    return v


def _is_array(v):
    # NumPy scalars (from a dot product, say) have a shape and a dtype too, but stay scalars
    return hasattr(v, 'shape') and hasattr(v, 'dtype') and not isinstance(v, np.generic)
