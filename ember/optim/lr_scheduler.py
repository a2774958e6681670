"""Learning-rate schedulers, as ``torch.optim.lr_scheduler``: same formulas in the same order,
so the rates match torch's bit for bit, step by step.

A scheduler sets ``group['lr']`` of its optimizer's parameter groups on each ``step()`` (call
it after ``optimizer.step()``); most are recursive (the next rate from the current one), as
torch's are, so they compose with other changes to the rates.
"""
from __future__ import annotations

import copy
import math
import types
from bisect import bisect_right
from collections import Counter
from typing import TYPE_CHECKING

from .optimizer import Optimizer

if TYPE_CHECKING:   # (names for annotations only: the module's namespace stays torch's)
    from typing import Any, Callable, Mapping, Sequence

    from .._tensor import Tensor


def _per_group(name, optimizer, value):
    """One value per parameter group: a list of them, or one value repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f'{name} must have the same length as optimizer.param_groups. '
                             f'{name} has {len(value)} values, param_groups has '
                             f'{len(optimizer.param_groups)}.')
        return list(value)
    return [value] * len(optimizer.param_groups)


def _positive(sched, name, v):
    """A scheduler's period: a whole number >= 1 (torch divides by it at the first step)."""
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f'{sched}: {name} must be a positive int, got {v!r}')

class LRScheduler:
    """Base of the schedulers: ``get_lr()`` computes the rates for ``last_epoch``; ``step()``
    advances ``last_epoch`` and writes the rates into the optimizer; ``get_last_lr()`` returns
    them. ``state_dict()`` holds everything but the optimizer, as plain values.

    >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1)
    >>> class Halve(ember.optim.lr_scheduler.LRScheduler):
    ...     def get_lr(self):
    ...         return [lr * 0.5 ** self.last_epoch for lr in self.base_lrs]
    >>> sched = Halve(opt); sched.step(); sched.get_last_lr()
    [0.05]
    """
    _not_saved: tuple[str, ...] = ('optimizer',)

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f'{type(optimizer).__name__} is not an Optimizer')
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault('initial_lr', group['lr'])
            elif 'initial_lr' not in group:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when "
                               'resuming a scheduler with last_epoch >= 0; load the '
                               "optimizer's state first")
        self.base_lrs = [group['initial_lr'] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The rates for ``last_epoch``, one per parameter group: what each scheduler
        computes (``step()`` calls it and writes them into the optimizer). At epoch 0, just
        after construction, they are the initial rates.

        >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1)
        >>> ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5).get_lr()
        [0.1]
        """
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The rates the last ``step()`` set, one per parameter group.

        >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1)
        >>> ember.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5).get_last_lr()
        [0.1]
        """
        return self._last_lr

    def step(self) -> None:
        """Advance ``last_epoch`` by one and write the new rates into the optimizer's groups
        (call it after ``optimizer.step()``).

        >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1)
        >>> sched = ember.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5); sched.step()
        >>> opt.param_groups[0]['lr']
        0.05
        """
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:   # a jump (SequentialLR's milestones): the closed form where there is one
            self.last_epoch = epoch
            values = (self._closed_form_lr() if hasattr(self, '_closed_form_lr')
                      else self.get_lr())
        for group, lr in zip(self.optimizer.param_groups, values):
            group['lr'] = lr
        self._last_lr = [group['lr'] for group in self.optimizer.param_groups]

    def _group_lrs(self):
        return [group['lr'] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, as plain values (``last_epoch``, ``base_lrs``...).

        >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1)
        >>> ember.optim.lr_scheduler.StepLR(opt, step_size=2).state_dict()['last_epoch']
        0
        """
        return {k: copy.deepcopy(v) for k, v in vars(self).items() if k not in self._not_saved}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what ``state_dict()`` gave.

        >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1)
        >>> a = ember.optim.lr_scheduler.StepLR(opt, step_size=2); a.step()
        >>> b = ember.optim.lr_scheduler.StepLR(opt, step_size=2)
        >>> b.load_state_dict(a.state_dict()); b.last_epoch
        1
        """
        self.__dict__.update(copy.deepcopy(state_dict))


class LambdaLR(LRScheduler):
    """``lr = base_lr * lr_lambda(epoch)``; one function, or a list with one per group.
    Plain functions are not saved in ``state_dict()``; callable objects' attributes are.

    >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1)
    >>> sched = ember.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
    >>> sched.step(); sched.get_last_lr()
    [0.05]
    """
    _not_saved = ('optimizer', 'lr_lambdas')

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(optimizer.param_groups):
                raise ValueError(f'Expected {len(optimizer.param_groups)} lr_lambdas, but got '
                                 f'{len(lr_lambda)}')
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas,
                                                                       self.base_lrs)]

    def state_dict(self):
        sd = super().state_dict()
        sd['lr_lambdas'] = [None if isinstance(fn, types.FunctionType)
                            else copy.deepcopy(fn.__dict__) for fn in self.lr_lambdas]
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        saved = state_dict.pop('lr_lambdas')
        super().load_state_dict(state_dict)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(copy.deepcopy(attrs))


class StepLR(LRScheduler):
    """Multiplies the rate by ``gamma`` every ``step_size`` steps.

    >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=1.0)
    >>> sched = ember.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); print(sched.get_last_lr())
    [1.0]
    [0.5]
    [0.5]
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        _positive('StepLR', 'step_size', step_size)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiplies the rate by ``gamma`` at each milestone (twice at a milestone listed twice).

    >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=1.0)
    >>> sched = ember.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    >>> for _ in range(3):
    ...     opt.step(); sched.step(); print(sched.get_last_lr())
    [0.5]
    [0.5]
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._group_lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._group_lrs()]

    def _closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]

    def state_dict(self):
        sd = super().state_dict()
        sd['milestones'] = dict(self.milestones)
        return sd

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.milestones = Counter(self.milestones)


class ExponentialLR(LRScheduler):
    """Multiplies the rate by ``gamma`` every step.

    >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=1.0)
    >>> sched = ember.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> opt.step(); sched.step(); sched.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial rate to ``eta_min`` over ``T_max`` steps (and back up
    over the next ``T_max``, and so on), by torch's recursive formula
    ``lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T)) / (1 + cos(pi (t-1) / T))``.

    >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=1.0)
    >>> sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    >>> for _ in range(2):
    ...     opt.step(); sched.step(); print([round(lr, 6) for lr in sched.get_last_lr()])
    [0.5]
    [0.0]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        _positive('CosineAnnealingLR', 'T_max', T_max)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._group_lrs()
        if self._step_count == 1 and t > 0:   # resuming from last_epoch: the closed form
            return [lo + (base_lr - lo) * (1 + math.cos(t * math.pi / T)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:   # at a minimum, where the ratio below is 0 / 0
            return [lr + (base_lr - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, lr in zip(self.base_lrs, self._group_lrs())]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (lr - lo) + lo for lr in self._group_lrs()]

    def _closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Scales the rate by a factor going linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps.

    >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=1.0)
    >>> sched = ember.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> sched.get_last_lr()
    [0.5]
    >>> for _ in range(3):
    ...     opt.step(); sched.step(); print(sched.get_last_lr())
    [0.75]
    [1.0]
    [1.0]
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError('Starting multiplicative factor expected to be greater than 0 and '
                             'less or equal to 1.')
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError('Ending multiplicative factor expected to be between 0 and 1.')
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        sf, ef, n = self.start_factor, self.end_factor, self.total_iters
        if self.last_epoch == 0:
            return [lr * sf for lr in self._group_lrs()]
        if self._is_initial or self.last_epoch > n:
            return self._group_lrs()
        return [lr * (1.0 + (ef - sf) / (n * sf + (self.last_epoch - 1) * (ef - sf)))
                for lr in self._group_lrs()]

    def _closed_form_lr(self):
        sf, ef, n = self.start_factor, self.end_factor, self.total_iters
        return [base_lr * (sf + (ef - sf) * min(n, self.last_epoch) / n)
                for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    """Runs ``schedulers`` one after another, switching at the ``milestones`` steps.

    >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=1.0)
    >>> sched = ember.optim.lr_scheduler
    >>> warm = sched.LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = sched.ExponentialLR(opt, gamma=0.5)
    >>> seq = sched.SequentialLR(opt, [warm, decay], milestones=[2])
    >>> for _ in range(4):
    ...     opt.step(); seq.step(); print(seq.get_last_lr())
    [0.75]
    [1.0]
    [0.5]
    [0.25]
    """
    _not_saved = ('optimizer', '_schedulers')

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1) -> None:
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f'{name} expects at least one scheduler, but got no scheduler.')
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f'{name} does not support `ReduceLROnPlateau` scheduler as it '
                                 'requires additional kwargs to be specified when calling '
                                 f'`step`, but got one at index {i} in the given schedulers '
                                 'sequence.')
            if getattr(s, 'optimizer', None) is not optimizer:
                raise ValueError(f'{name} expects all schedulers to belong to the same '
                                 f'optimizer, but got scheduler {type(s).__name__} at index {i} '
                                 'with a different one.')
        if len(milestones) != len(schedulers) - 1:
            raise ValueError('Sequential Schedulers expects number of schedulers provided to be '
                             'one more than the number of milestone points, but got number of '
                             f'schedulers {len(schedulers)} and the number of milestones to be '
                             f'equal to {len(milestones)}')
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # undo the initial steps the schedulers took when they were made; start the first
        for group in optimizer.param_groups:
            group['lr'] = group['initial_lr']
        _undo_step(self._schedulers)
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        sd = super().state_dict()
        sd['_schedulers'] = [s.state_dict() for s in self._schedulers]
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        saved = state_dict.pop('_schedulers')
        super().load_state_dict(state_dict)
        for s, sd in zip(self._schedulers, saved):
            s.load_state_dict(sd)


def _undo_step(schedulers):
    for s in schedulers:
        if hasattr(s, '_schedulers'):   # a nested SequentialLR: undo its schedulers' steps
            _undo_step(s._schedulers)
        else:
            s.last_epoch -= 1


class OneCycleLR(LRScheduler):
    """The 1cycle policy: the rate rises from ``max_lr / div_factor`` to ``max_lr`` over the
    first ``pct_start`` of ``total_steps`` (or ``epochs * steps_per_epoch``), then anneals to
    ``initial_lr / final_div_factor`` (``three_phase``: back down to the initial rate, then to
    the minimum). ``anneal_strategy`` is ``'cos'`` or ``'linear'``. With ``cycle_momentum``
    the momentum (SGD's ``momentum``, Adam's ``betas[0]``) moves the other way, between
    ``max_momentum`` and ``base_momentum``. Step it after every batch.

    >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1, momentum=0.9)
    >>> sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    >>> round(sched.get_last_lr()[0], 6), opt.param_groups[0]['momentum']
    (0.04, 0.95)
    >>> for _ in range(2):
    ...     opt.step(); sched.step()
    >>> round(sched.get_last_lr()[0], 6), round(opt.param_groups[0]['momentum'], 6)
    (1.0, 0.85)
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = 'cos', cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85,
                 max_momentum: float | Sequence[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f'{type(optimizer).__name__} is not an Optimizer')
        self.optimizer = optimizer
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f'Expected positive integer total_steps, but got {total_steps}')
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f'Expected positive integer epochs, but got {epochs}')
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError('Expected positive integer steps_per_epoch, but got '
                                 f'{steps_per_epoch}')
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError('You must define either total_steps OR (epochs AND steps_per_epoch)')
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f'Expected float between 0 and 1 pct_start, but got {pct_start}')
        if anneal_strategy not in ('cos', 'linear'):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f'{anneal_strategy}')
        self.anneal_strategy = anneal_strategy
        # phases: (last step, start lr key, end lr key, start momentum key, end momentum key)
        up = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                [up, 'initial_lr', 'max_lr', 'max_momentum', 'base_momentum'],
                [float(2 * pct_start * self.total_steps) - 2, 'max_lr', 'initial_lr',
                 'base_momentum', 'max_momentum'],
                [self.total_steps - 1, 'initial_lr', 'min_lr', 'max_momentum', 'max_momentum']]
        else:
            self._schedule_phases = [
                [up, 'initial_lr', 'max_lr', 'max_momentum', 'base_momentum'],
                [self.total_steps - 1, 'max_lr', 'min_lr', 'base_momentum', 'max_momentum']]
        max_lrs = _per_group('max_lr', optimizer, max_lr)
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group['initial_lr'] = m / div_factor
                group['max_lr'] = m
                group['min_lr'] = group['initial_lr'] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if 'momentum' not in optimizer.defaults and 'betas' not in optimizer.defaults:
                raise ValueError('optimizer must support momentum or beta1 with '
                                 '`cycle_momentum` option enabled')
            self.use_beta1 = 'betas' in optimizer.defaults
            max_ms = _per_group('max_momentum', optimizer, max_momentum)
            base_ms = _per_group('base_momentum', optimizer, base_momentum)
            if last_epoch == -1:
                for m_max, m_base, group in zip(max_ms, base_ms, optimizer.param_groups):
                    self._set_momentum(group, m_max)
                    group['max_momentum'], group['base_momentum'] = m_max, m_base
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, m):
        if self.use_beta1:
            group['betas'] = (m, *group['betas'][1:])
        else:
            group['momentum'] = m

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == 'cos':
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f'Tried to step {step} times. The specified number of total steps '
                             f'is {self.total_steps}')
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr0, lr1, m0, m1) in enumerate(self._schedule_phases):
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m0], group[m1], pct))
                    break
                start_step = end_step
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiplies the rate by ``factor`` (never below ``min_lr``; changes under ``eps`` are
    skipped) when the metric given to ``step(metric)`` has not improved for ``patience``
    steps, then waits ``cooldown`` steps. ``mode`` ``'min'`` or ``'max'``; an improvement is
    beyond ``threshold``, relative (``'rel'``) or absolute (``'abs'``).

    >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=1.0)
    >>> sched = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0]:
    ...     sched.step(loss); print(sched.get_last_lr())
    [1.0]
    [1.0]
    [1.0]
    [0.5]
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, mode: str = 'min', factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = 'rel',
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0,
                 eps: float = 1e-8) -> None:
        if factor >= 1.0:
            raise ValueError('Factor should be < 1.0.')
        if mode not in ('min', 'max'):
            raise ValueError(f'mode {mode} is unknown!')
        if threshold_mode not in ('rel', 'abs'):
            raise ValueError(f'threshold mode {threshold_mode} is unknown!')
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f'{type(optimizer).__name__} is not an Optimizer')
        self.optimizer = optimizer
        self.factor = factor
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f'expected {len(optimizer.param_groups)} min_lrs, got '
                                 f'{len(min_lr)}')
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * len(optimizer.param_groups)
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == 'min' else -math.inf
        self.last_epoch = 0
        self._last_lr = self._group_lrs()
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        """Whether the scheduler is waiting out ``cooldown`` epochs after a reduction.

        >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1)
        >>> ember.optim.lr_scheduler.ReduceLROnPlateau(opt, cooldown=2).in_cooldown
        False
        """
        return self.cooldown_counter > 0

    def step(self, metrics: float | Tensor) -> None:  # type: ignore[override]  # as torch's
        """Count an epoch whose metric is ``metrics`` (a loss, say): after more than
        ``patience`` epochs without improvement, multiply the rates by ``factor``.

        >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1)
        >>> sched = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
        >>> sched.step(1.0); sched.step(1.0); sched.get_last_lr()
        [0.010000000000000002]
        """
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0   # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._group_lrs()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f'The number of param groups in the `optimizer` '
                                   f'({len(groups)}) differs from when `ReduceLROnPlateau` was '
                                   f'initialized ({len(self.min_lrs)}); set `min_lrs` to match.')
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group['lr'])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group['lr'] = new_lr

    def _is_better(self, a, best):
        if self.mode == 'min' and self.threshold_mode == 'rel':
            return a < best * (1.0 - self.threshold)
        if self.mode == 'min':
            return a < best - self.threshold
        if self.threshold_mode == 'rel':
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold
