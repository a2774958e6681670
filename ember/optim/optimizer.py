"""The optimizer driver: parameter groups, zero_grad, state_dict. Rules live in subclasses."""
import numpy as np

from ..autograd import no_grad


class Optimizer:
    """Base of ember's optimizers: holds ``param_groups`` and per-parameter ``state``;
    a subclass implements ``update(p, grad, state, group)`` for one parameter.

    >>> w = ember.nn.Parameter(ember.ones(2))
    >>> opt = ember.optim.SGD([w], lr=0.5)
    >>> (w * w).sum().backward(); opt.step(); w
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}
        self._queued = {}   # GPU updates waiting for finish(), by (run, key, dtype)
        params = list(params)
        if not params:
            raise ValueError('optimizer got an empty parameter list')
        groups = params if isinstance(params[0], dict) else [{'params': params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group):
        group = dict(group)
        ps = group['params']
        group['params'] = [ps] if hasattr(ps, 'data') else list(ps)
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        seen = {id(p) for g in self.param_groups for p in g['params']}
        if any(id(p) in seen for p in group['params']):
            raise ValueError('some parameters appear in more than one parameter group')
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g['params']:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad._data[...] = 0

    @no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
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
        return loss

    def update(self, p, grad, state, group):
        raise NotImplementedError

    def _queue(self, run, key, arrays):
        """Queue one parameter's ``arrays`` for ``run(list of such arrays, *key)`` at the end
        of ``step``: parameters of one dtype with the same ``run`` and ``key`` (their
        coefficients) go together, many in one GPU kernel."""
        self._queued.setdefault((run, key, arrays[0].dtype), []).append(arrays)

    def finish(self):
        """Called at the end of ``step``: the queued updates run, a call for each kind."""
        queued, self._queued = self._queued, {}
        for (run, key, _), arrays in queued.items():
            run(arrays, *key)

    def state_dict(self):
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups
                                                for p in g['params'])}
        groups = [{**{k: v for k, v in g.items() if k != 'params'},
                   'params': [index[id(p)] for p in g['params']]} for g in self.param_groups]
        state = {index[k]: {n: _wrap(v) for n, v in st.items()}
                 for k, st in self.state.items() if k in index}
        return {'state': state, 'param_groups': groups}

    def load_state_dict(self, state_dict):
        groups = state_dict['param_groups']
        if len(groups) != len(self.param_groups):
            raise ValueError('loaded state dict has a different number of parameter groups')
        params = [p for g in self.param_groups for p in g['params']]
        for g, saved in zip(self.param_groups, groups):
            if len(g['params']) != len(saved['params']):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
            g.update({k: v for k, v in saved.items() if k != 'params'})
        self.state = {id(params[int(i)]): {n: _unwrap(v, params[int(i)]) for n, v in st.items()}
                      for i, st in state_dict['state'].items()}


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
