"""Learning-rate schedulers against torch: the same rates, bit for bit, step by step."""
import pickle

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.helpers import DEVICE, TORCH_DEVICE

# torch warns so when a SequentialLR steps a nested one; its rates are still the reference
pytestmark = pytest.mark.filterwarnings('ignore:Detected call of `lr_scheduler.step')


def _optimizer(m, name='SGD'):
    """Two parameter groups (lrs 0.1 and 0.05); SGD with momentum or Adam."""
    device = DEVICE if m is ember else TORCH_DEVICE
    ps = [m.zeros(2, device=device), m.zeros(3, device=device)]
    ps = [nn.Parameter(p) if m is ember else torch.nn.Parameter(p) for p in ps]
    kw = dict(momentum=0.9) if name == 'SGD' else {}
    return getattr(m.optim, name)([{'params': ps[:1], 'lr': 0.1}, {'params': ps[1:]}],
                                  lr=0.05, **kw)


def _pair(make, opt='SGD'):
    oe, ot = _optimizer(ember, opt), _optimizer(torch, opt)
    return (oe, make(ember.optim.lr_scheduler, oe)), (ot, make(torch.optim.lr_scheduler, ot))


def _momenta(opt):
    return [(g.get('momentum'), g.get('betas')) for g in opt.param_groups]


def _assert_same(a, b, i=None):
    (oe, se), (ot, st) = a, b
    assert se.get_last_lr() == st.get_last_lr(), i
    assert [g['lr'] for g in oe.param_groups] == [g['lr'] for g in ot.param_groups], i
    assert _momenta(oe) == _momenta(ot), i


def _step(pairs, metric=None):
    for opt, sched in pairs:
        opt.step()
        sched.step() if metric is None else sched.step(metric)


def _assert_plain(x):
    """State dicts hold numbers, strings, lists and dicts of them: no callables, no objects."""
    if isinstance(x, dict):
        for k, v in x.items():
            _assert_plain(k)
            _assert_plain(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _assert_plain(v)
    else:
        assert x is None or isinstance(x, (bool, int, float, str)), repr(x)


def _seq_linear_cosine(S, o):
    return S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                              S.CosineAnnealingLR(o, T_max=30, eta_min=0.001)], milestones=[5])


def _seq_three(S, o):
    return S.SequentialLR(o, [S.ExponentialLR(o, gamma=0.9), S.StepLR(o, step_size=5, gamma=0.5),
                              S.LambdaLR(o, lambda e: 1 / (e + 1))], milestones=[10, 25])


def _seq_nested(S, o):   # (torch cannot switch *to* a SequentialLR at a milestone)
    inner = S.SequentialLR(o, [S.LinearLR(o, start_factor=0.2, total_iters=4),
                               S.ExponentialLR(o, 0.9)], milestones=[5])
    return S.SequentialLR(o, [inner, S.StepLR(o, step_size=3, gamma=0.5)], milestones=[12])


CASES = {
    'step': (lambda S, o: S.StepLR(o, step_size=7, gamma=0.5), 'SGD'),
    'multistep': (lambda S, o: S.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3), 'SGD'),
    'exponential': (lambda S, o: S.ExponentialLR(o, gamma=0.93), 'SGD'),
    'cosine': (lambda S, o: S.CosineAnnealingLR(o, T_max=15, eta_min=0.001), 'SGD'),
    'cosine-to-0': (lambda S, o: S.CosineAnnealingLR(o, T_max=10), 'Adam'),
    'linear': (lambda S, o: S.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=12),
               'SGD'),
    'linear-default': (lambda S, o: S.LinearLR(o), 'SGD'),
    'lambda': (lambda S, o: S.LambdaLR(o, lambda e: 0.95 ** e), 'SGD'),
    'lambda-per-group': (lambda S, o: S.LambdaLR(o, [lambda e: 1 / (1 + e),
                                                     lambda e: 0.5 ** (e // 10)]), 'SGD'),
    'onecycle-cos-sgd': (lambda S, o: S.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=60),
                         'SGD'),
    'onecycle-linear-3phase': (lambda S, o: S.OneCycleLR(
        o, max_lr=0.3, total_steps=60, anneal_strategy='linear', three_phase=True,
        pct_start=0.25), 'SGD'),
    'onecycle-adam': (lambda S, o: S.OneCycleLR(o, max_lr=0.01, epochs=6, steps_per_epoch=10,
                                                base_momentum=0.8, max_momentum=[0.9, 0.95]),
                      'Adam'),
    'onecycle-cos-3phase-adam': (lambda S, o: S.OneCycleLR(o, max_lr=0.01, total_steps=60,
                                                           three_phase=True), 'Adam'),
    'onecycle-no-momentum': (lambda S, o: S.OneCycleLR(o, max_lr=0.2, total_steps=60,
                                                       cycle_momentum=False, div_factor=10.0,
                                                       final_div_factor=100.0), 'SGD'),
    'sequential': (_seq_linear_cosine, 'SGD'),
    'sequential-three': (_seq_three, 'SGD'),
    'sequential-nested': (_seq_nested, 'SGD'),
}


@pytest.mark.parametrize('case', CASES)
def test_matches_torch_step_by_step(case):
    make, opt = CASES[case]
    e, t = _pair(make, opt)
    _assert_same(e, t)
    for i in range(60):
        _step([e, t])
        _assert_same(e, t, i)


@pytest.mark.parametrize('case', CASES)
def test_state_dict_round_trip_resumes_identically(case):
    make, opt = CASES[case]
    (o1, s1), (ot, st) = _pair(make, opt)
    for _ in range(23):
        _step([(o1, s1), (ot, st)])
    sd = s1.state_dict()
    _assert_plain(sd)
    pickle.dumps(sd)
    (o2, s2), _ = _pair(make, opt)
    o2.load_state_dict(o1.state_dict())
    s2.load_state_dict(sd)
    _assert_same((o2, s2), (ot, st))
    for i in range(37):
        _step([(o1, s1), (o2, s2), (ot, st)])
        _assert_same((o2, s2), (ot, st), i)
        _assert_same((o1, s1), (ot, st), i)


def test_lambda_state_dict_keeps_callable_objects_attributes_only():
    class Decay:
        def __init__(self):
            self.rate = 0.9

        def __call__(self, epoch):
            return self.rate ** epoch
    states = []
    for m in (ember, torch):
        fn = Decay()
        sched = m.optim.lr_scheduler.LambdaLR(_optimizer(m), [lambda e: 1.0, fn])
        fn.rate = 0.5
        states.append(sched.state_dict()['lr_lambdas'])
    assert states[0] == states[1] == [None, {'rate': 0.5}]
    fn = Decay()
    sched = ember.optim.lr_scheduler.LambdaLR(_optimizer(ember), [lambda e: 1.0, fn])
    sd = sched.state_dict()
    sd['lr_lambdas'] = states[0]
    sched.load_state_dict(sd)
    assert fn.rate == 0.5


def test_resuming_from_last_epoch_matches_torch():
    def make(S, o):
        for g in o.param_groups:
            g['initial_lr'] = 2 * g['lr']
        return S.CosineAnnealingLR(o, T_max=10, last_epoch=4)
    e, t = _pair(make)
    _assert_same(e, t)
    for i in range(30):
        _step([e, t])
        _assert_same(e, t, i)


def test_resuming_without_initial_lr_is_an_error():
    with pytest.raises(KeyError, match='initial_lr'):
        ember.optim.lr_scheduler.StepLR(_optimizer(ember), step_size=2, last_epoch=3)


@pytest.mark.parametrize('make', [
    lambda S, o: S.LinearLR(o, start_factor=0),
    lambda S, o: S.LinearLR(o, end_factor=1.5),
    lambda S, o: S.OneCycleLR(o, max_lr=0.1),
    lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1),
    lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy='exp'),
    lambda S, o: S.OneCycleLR(o, max_lr=[0.1], total_steps=10),
    lambda S, o: S.ReduceLROnPlateau(o, factor=1.0),
    lambda S, o: S.ReduceLROnPlateau(o, mode='avg'),
    lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda S, o: S.SequentialLR(o, [S.StepLR(o, 2)], milestones=[3]),
    lambda S, o: S.SequentialLR(o, [S.ReduceLROnPlateau(o), S.StepLR(o, 2)], milestones=[3]),
])
def test_invalid_arguments_raise_like_torch(make):
    with pytest.raises(ValueError):
        make(torch.optim.lr_scheduler, _optimizer(torch))
    with pytest.raises(ValueError):
        make(ember.optim.lr_scheduler, _optimizer(ember))


def test_not_an_optimizer_and_stepping_past_onecycle_end():
    with pytest.raises(TypeError, match='not an Optimizer'):
        ember.optim.lr_scheduler.StepLR(object(), step_size=2)
    sched = ember.optim.lr_scheduler.OneCycleLR(_optimizer(ember), max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match='total steps is 3'):
        sched.step()


# ---- ReduceLROnPlateau: the same metrics give the same rates ----

def _metrics():
    rng = np.random.default_rng(0)
    trend = np.concatenate([np.linspace(1.0, 0.5, 10), np.full(15, 0.5),
                            np.linspace(0.5, 0.45, 10), np.full(25, 0.45)])
    return list(trend + 0.002 * rng.standard_normal(trend.size))


PLATEAU = [dict(), dict(patience=2, factor=0.5),
           dict(mode='max', factor=0.5, patience=2, threshold=0.01, threshold_mode='abs',
                cooldown=3),
           dict(patience=0, min_lr=[0.01, 0.001], eps=1e-3),
           dict(mode='min', threshold_mode='abs', threshold=0.003, cooldown=2, factor=0.3,
                patience=3, min_lr=0.004),
           dict(mode='max', patience=1, factor=0.7)]


@pytest.mark.parametrize('kw', PLATEAU)
def test_plateau_matches_torch(kw):
    sign = -1 if kw.get('mode') == 'max' else 1
    e, t = _pair(lambda S, o: S.ReduceLROnPlateau(o, **kw))
    _assert_same(e, t)
    for i, m in enumerate(_metrics()):
        _step([e, t], sign * m)
        _assert_same(e, t, i)
        assert e[1].num_bad_epochs == t[1].num_bad_epochs, i
    assert e[1].get_last_lr() != [0.1, 0.05]   # it did reduce


@pytest.mark.parametrize('kw', PLATEAU[1:3])
def test_plateau_state_dict_round_trip(kw):
    sign = -1 if kw.get('mode') == 'max' else 1
    metrics = [sign * m for m in _metrics()]
    (o1, s1), _ = _pair(lambda S, o: S.ReduceLROnPlateau(o, **kw))
    for m in metrics[:20]:
        _step([(o1, s1)], m)
    sd = s1.state_dict()
    _assert_plain(sd)
    (o2, s2), _ = _pair(lambda S, o: S.ReduceLROnPlateau(o))
    o2.load_state_dict(o1.state_dict())
    s2.load_state_dict(sd)
    for m in metrics[20:]:
        _step([(o1, s1), (o2, s2)], m)
        assert s1.get_last_lr() == s2.get_last_lr()
        assert s1.num_bad_epochs == s2.num_bad_epochs


def test_plateau_takes_a_tensor_metric():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    for v in (1.0, 2.0):
        sched.step(ember.tensor(v, device=DEVICE))
    assert sched.get_last_lr() == [0.1 * 0.1, 0.05 * 0.1]
