"""Mixed precision, as ``torch.amp``: ``autocast`` and ``GradScaler``.

Inside ``ember.autocast(device_type, dtype)`` the ops that gain most from low precision
(matmul, mm, bmm, linear, einsum, convolutions) cast their float32 inputs on that device type
to ``dtype`` (float16 or bfloat16), and the ops that need range or precision (softmax,
log-softmax, normalisations, losses, sum, prod, cumsum, exp, log, pow) cast low-precision
inputs back to float32, following torch's autocast op lists. Every other op runs in its
inputs' dtype, and mixed inputs promote as usual (bfloat16 + float32 is float32). float64
tensors are never cast. Casts of leaf tensors that require grad (the weights) are cached for
the outermost autocast region, so a weight used many times is cast once.

>>> lin = ember.nn.Linear(4, 3)
>>> with ember.autocast('cpu', dtype=ember.bfloat16):
...     y = lin(ember.ones(2, 4))
...     p = y.softmax(-1)
>>> y.dtype, p.dtype
(ember.bfloat16, ember.float32)
"""
import functools
import math
import threading
import warnings

from . import _dtype
from ._tensor import Tensor

__all__ = ['autocast', 'GradScaler', 'is_autocast_enabled', 'get_autocast_dtype']


class _Local(threading.local):
    """Autocast's state, one per thread (as torch's)."""

    def __init__(self):
        self.on = False            # any device type autocasting: the hot path's only check
        self.dtypes = {}           # device type -> low dtype
        self.cache = {}            # id(leaf) -> (leaf, its cast), for the outermost region
        self.cache_enabled = True


_State = _Local()


_DEFAULT = {'cuda': 'float16', 'cpu': 'bfloat16'}


class autocast:
    """Run the region (or the decorated function) in mixed precision on ``device_type``.

    ``dtype`` defaults to float16 on 'cuda' and bfloat16 on 'cpu', as in torch; bfloat16 needs
    the ``ml_dtypes`` package. ``enabled=False`` turns autocast off inside the region.

    >>> with ember.autocast('cpu'):
    ...     (ember.ones(2, 3) @ ember.ones(3, 2)).dtype
    ember.bfloat16
    """

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=True):
        if device_type not in ('cpu', 'cuda'):
            raise RuntimeError(f"autocast: device_type must be 'cpu' or 'cuda', got "
                               f'{device_type!r}')
        dt = _dtype.as_dtype(dtype if dtype is not None else _DEFAULT[device_type])
        if dt.name not in ('float16', 'bfloat16'):
            raise RuntimeError(f'autocast: dtype must be float16 or bfloat16, got {dt}')
        self.device_type, self.dtype, self.enabled = device_type, dt, bool(enabled)
        self.cache_enabled = cache_enabled
        self._saved = []

    def __enter__(self):
        self._saved.append((_State.on, dict(_State.dtypes), _State.cache_enabled))
        _State.cache_enabled = _State.cache_enabled and bool(self.cache_enabled)
        if self.enabled:
            _State.dtypes[self.device_type] = self.dtype
        else:
            _State.dtypes.pop(self.device_type, None)
        _State.on = bool(_State.dtypes)
        return self

    def __exit__(self, *exc):
        _State.on, _State.dtypes, _State.cache_enabled = self._saved.pop()
        if not _State.on:
            _State.cache = {}
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with autocast(self.device_type, self.dtype, self.enabled, self.cache_enabled):
                return fn(*args, **kwargs)
        return wrapped


def is_autocast_enabled(device_type='cuda'):
    """Whether autocast is on for ``device_type`` here (in this thread).

    >>> with ember.autocast('cpu'):
    ...     ember.amp.is_autocast_enabled('cpu'), ember.amp.is_autocast_enabled('cuda')
    (True, False)
    """
    return device_type in _State.dtypes


def get_autocast_dtype(device_type):
    """The low dtype autocast uses on ``device_type`` (its default when autocast is off).

    >>> ember.amp.get_autocast_dtype('cuda')
    ember.float16
    """
    return _State.dtypes.get(device_type) or _dtype.as_dtype(_DEFAULT[device_type])


def _cast(t, dt):
    if not t.requires_grad or t.grad_fn is not None or not _State.cache_enabled:
        return t.to(dt)
    hit = _State.cache.get(id(t))
    if hit is None or hit[0] is not t or hit[1].dtype is not dt or not hit[1].requires_grad:
        hit = _State.cache[id(t)] = (t, t.to(dt))
    return hit[1]


def low(*tensors):
    """The inputs of a low-precision op (matmul, linear, conv) under autocast: float32
    tensors on an autocasting device, in its low dtype."""
    out = []
    for t in tensors:
        if isinstance(t, Tensor) and t.dtype.is_floating_point and t.dtype.name != 'float64':
            dt = _State.dtypes.get(t.device.type)
            if dt is not None and t.dtype is not dt:
                t = _cast(t, dt)
        out.append(t)
    return out


def full(*tensors):
    """The inputs of a float32 op (softmax, norms, losses, reductions) under autocast:
    float16 and bfloat16 tensors on an autocasting device, in float32."""
    out = []
    for t in tensors:
        if isinstance(t, Tensor) and t.dtype.name in ('float16', 'bfloat16') \
                and t.device.type in _State.dtypes:
            t = t.to(_dtype.float32)
        out.append(t)
    return out


class GradScaler:
    """Loss scaling for float16 training, as ``torch.amp.GradScaler``: ``scale(loss)`` before
    backward, ``step(optimizer)`` (which unscales the gradients and skips the step when any is
    inf or NaN), then ``update()`` (halves the scale after a skipped step, doubles it after
    ``growth_interval`` good ones).

    >>> w = ember.nn.Parameter(ember.ones(2))
    >>> opt = ember.optim.SGD([w], lr=0.1)
    >>> scaler = ember.amp.GradScaler('cpu', init_scale=4.0)
    >>> scaler.scale((w * 3).sum()).backward()
    >>> w.grad
    tensor([12., 12.])
    >>> scaler.step(opt); scaler.update()
    >>> w.grad, w
    (tensor([3., 3.]), Parameter containing:
    tensor([0.7000, 0.7000], requires_grad=True))
    """

    def __init__(self, device='cuda', init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        if device == 'cuda' and enabled:
            from . import cuda
            if not cuda.is_available():
                warnings.warn('GradScaler is enabled, but CUDA is not available; disabling.')
                enabled = False
        if not growth_factor > 1.0 or not 0.0 < backoff_factor < 1.0:
            raise ValueError(f'GradScaler: growth_factor must be > 1 and backoff_factor in '
                             f'(0, 1), got {growth_factor} and {backoff_factor}')
        self.device, self._enabled = device, enabled
        self._scale, self._growth_factor = float(init_scale), float(growth_factor)
        self._backoff_factor, self._growth_interval = float(backoff_factor), int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer = {}   # id(optimizer) -> {'stage': 'unscaled'|'stepped', 'inf': bool}

    def is_enabled(self):
        """Whether the scaler scales (False when made with ``enabled=False`` or without
        CUDA, where it passes everything through).

        >>> ember.amp.GradScaler(enabled=False).is_enabled()
        False
        """
        return self._enabled

    def get_scale(self):
        """The current scale (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def scale(self, outputs):
        """``outputs`` (a tensor, or a list/tuple of them) times the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale_for(outputs)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError('GradScaler.scale: outputs must be a Tensor or an iterable of Tensors')

    def _scale_for(self, t):
        from ._creation import tensor
        return tensor(self._scale, dtype=_dtype.float32, device=t.device)

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale, in place, and note any inf or NaN."""
        if not self._enabled:
            return
        state = self._per_optimizer.setdefault(id(optimizer), {'stage': None, 'inf': False})
        if state['stage'] == 'unscaled':
            raise RuntimeError('unscale_() has already been called on this optimizer since '
                               'the last update().')
        if state['stage'] == 'stepped':
            raise RuntimeError('unscale_() is being called after step().')
        inv = _dtype.float32.np.type(1.0 / self._scale)   # as torch: float64 reciprocal, float32
        found = False
        for group in optimizer.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                g = p.grad._data
                g *= inv.astype(g.dtype) if g.dtype != inv.dtype else inv
                if not found and not bool(_finite(g)):
                    found = True
        state['stage'], state['inf'] = 'unscaled', found

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless the (unscaled) gradients hold an inf or NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        state = self._per_optimizer.setdefault(id(optimizer), {'stage': None, 'inf': False})
        if state['stage'] == 'stepped':
            raise RuntimeError('step() has already been called since the last update().')
        if state['stage'] is None:
            self.unscale_(optimizer)
        result = None if state['inf'] else optimizer.step(*args, **kwargs)
        state['stage'] = 'stepped'
        return result

    def update(self, new_scale=None):
        """Adjust the scale after this iteration's steps (or set ``new_scale``)."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if isinstance(new_scale, Tensor)
                                else new_scale)
        else:
            if not self._per_optimizer:
                raise AssertionError('No inf checks were recorded prior to update.')
            if any(s['inf'] for s in self._per_optimizer.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._scale * self._growth_factor
                    if math.isfinite(float(_dtype.float32.np.type(grown))):
                        self._scale = grown
                    self._growth_tracker = 0
            self._scale = float(_dtype.float32.np.type(self._scale))   # torch keeps float32
        self._per_optimizer = {}

    def state_dict(self):
        """torch's keys: scale, growth_factor, backoff_factor, growth_interval,
        _growth_tracker (empty when disabled)."""
        if not self._enabled:
            return {}
        return {'scale': self._scale, 'growth_factor': self._growth_factor,
                'backoff_factor': self._backoff_factor, 'growth_interval': self._growth_interval,
                '_growth_tracker': self._growth_tracker}

    def load_state_dict(self, state):
        """Restore what ``state_dict`` gave (a disabled scaler ignores it).

        >>> s = ember.amp.GradScaler(enabled=False); s.load_state_dict(s.state_dict())
        """
        if not self._enabled:
            return
        if not state:
            raise RuntimeError('The source state dict is empty, possibly because it was saved '
                               'from a disabled instance of GradScaler.')
        self._scale = float(state['scale'])
        self._growth_factor = float(state['growth_factor'])
        self._backoff_factor = float(state['backoff_factor'])
        self._growth_interval = int(state['growth_interval'])
        self._growth_tracker = int(state['_growth_tracker'])


def _finite(arr):
    from .backend import namespace
    return namespace(arr).isfinite(arr).all()
