"""Bad input a PyTorch user would give, each beside PyTorch's behaviour (issue 15): ember gives
the same answer, or a clear error naming the op or module, shapes, dtypes or devices, and
changes nothing."""
import numpy as np
import pytest
import torch

import ember


def snapshot(*tensors):
    return [(t._data.copy(), t._version[0], None if t.grad is None else t.grad._data.copy(),
             t.grad_fn) for t in tensors]


def unchanged(before, *tensors):
    for (data, version, grad, fn), t in zip(before, tensors):
        assert np.array_equal(data, t._data) and version == t._version[0] and t.grad_fn is fn
        assert (grad is None and t.grad is None) or np.array_equal(grad, t.grad._data)
    return True


def both_raise(exc, pattern, fn, *tensors, torch_exc=None):
    """``fn(ember)`` raises ``exc`` matching ``pattern`` and leaves ``tensors`` as they were;
    ``fn(torch)`` raises too (``torch_exc``, by default the same class)."""
    with pytest.raises(torch_exc or exc):
        fn(torch)
    before = snapshot(*tensors)
    with pytest.raises(exc, match=pattern):
        fn(ember)
    assert unchanged(before, *tensors)


# ---------------------------------------------------------------- 1: negative indices

X = {m: m.arange(6.).reshape(3, 2) for m in (ember, torch)}


@pytest.mark.parametrize('name,fn', [
    ('index_select', lambda m, x, i: x.index_select(0, i)),
    ('index_add', lambda m, x, i: x.index_add(0, i, m.ones(1, 2))),
    ('index_add', lambda m, x, i: x.index_add_(0, i, m.ones(1, 2))),
])
def test_negative_index_is_refused_as_in_torch(name, fn):
    x = ember.arange(6.).reshape(3, 2)
    both_raise(IndexError, rf'{name}\(\): index out of range .*\[-1\], dimension 0 of size 3',
               lambda m: fn(m, x if m is ember else X[torch].clone(), m.tensor([-1])), x,
               torch_exc=(IndexError, RuntimeError))


def test_index_fill_wraps_negative_indices_as_torch():
    for i in ([-1], [-3, 0]):
        e = X[ember].index_fill(0, ember.tensor(i), 5.0)
        t = X[torch].index_fill(0, torch.tensor(i), 5.0)
        assert e.tolist() == t.tolist()
    x = X[ember].clone()
    both_raise(IndexError, r'index_fill\(\): index out of range',
               lambda m: (x if m is ember else X[torch].clone()).index_fill_(0, m.tensor([-4]),
                                                                              1.0), x)


@pytest.mark.parametrize('fn', [lambda m, x: x.gather(0, m.tensor([[-1, 0]])),
                                lambda m, x: x.scatter(0, m.tensor([[-1, 0]]), 7.0)])
def test_gather_scatter_refuse_negative_indices_as_torch(fn):
    both_raise(RuntimeError, r'index -1 is out of bounds for dimension 0 with size 3',
               lambda m: fn(m, X[m]), X[ember])


# ---------------------------------------------------------------- 2: .grad assignment checked

@pytest.mark.parametrize('grad,exc,pattern', [
    (lambda m: m.ones(1), RuntimeError, r'gradient of size \[1\] to a tensor of size \[3\]'),
    (lambda m: m.ones(3, dtype=m.float64), RuntimeError,
     r'gradient with dtype ember.float64 to a tensor with dtype ember.float32'),
    (lambda m: m.ones(3, dtype=m.int64), RuntimeError, r'with dtype ember.int64'),
    (lambda m: 3, TypeError, r'expected to be a Tensor or None but got grad of type int'),
    (lambda m: [1.0, 2.0, 3.0], TypeError, r'got grad of type list'),
])
def test_grad_assignment_is_checked_as_in_torch(grad, exc, pattern):
    tp = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(exc):
        tp.grad = grad(torch)
    p = ember.nn.Parameter(ember.zeros(3))
    opt = ember.optim.SGD([p], lr=1.0)
    before = snapshot(p)
    with pytest.raises(exc, match=pattern):
        p.grad = grad(ember)
    opt.step()          # nothing to apply: the bad gradient was never kept
    assert unchanged(before, p) and p.grad is None


def test_grad_assignment_of_the_right_kind_is_kept():
    p, tp = ember.nn.Parameter(ember.zeros(3)), torch.nn.Parameter(torch.zeros(3))
    p.grad, tp.grad = ember.ones(3), torch.ones(3)
    ember.optim.SGD([p], lr=0.5).step()
    torch.optim.SGD([tp], lr=0.5).step()
    assert p.tolist() == tp.tolist()
    p.grad = None
    assert p.grad is None


def test_grad_on_another_device_is_refused():
    fake = ember.ones(3)
    fake.__class__ = type('OnCuda', (ember.Tensor,), {'__slots__': (), 'device': property(
        lambda self: ember.device('cuda'))})   # a stand-in: no GPU here
    p = ember.nn.Parameter(ember.zeros(3))
    with pytest.raises(RuntimeError, match=r'gradient on cuda to a tensor on cpu'):
        p.grad = fake
    assert p.grad is None


# ---------------------------------------------------------------- 4: shared modules' keys

def _shared(m):
    lin, bn = m.nn.Linear(2, 2), m.nn.BatchNorm1d(2)
    return m.nn.Sequential(lin, m.nn.ReLU(), lin, bn, bn)


def test_shared_modules_keys_match_torch():
    e, t = _shared(ember), _shared(torch)
    assert list(e.state_dict()) == list(t.state_dict())
    for what in ('named_parameters', 'named_buffers', 'named_modules'):
        for dup in (True, False):
            assert [n for n, _ in getattr(e, what)(remove_duplicate=dup)] == \
                [n for n, _ in getattr(t, what)(remove_duplicate=dup)], (what, dup)
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert len(list(e.parameters())) == len(list(t.parameters())) == 4
    assert len(e) == len(t) == 5 and repr(e).count('Linear') == 2


def test_shared_modules_load_strictly_across_torch_and_ember(tmp_path):
    e, t = _shared(ember), _shared(torch)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    assert np.allclose(e[0].weight.detach().numpy(), t[0].weight.detach().numpy())
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    ember.save(e.state_dict(), tmp_path / 'shared.safetensors')
    e2 = _shared(ember)
    e2.load_state_dict(ember.load(tmp_path / 'shared.safetensors'))
    assert np.array_equal(e2[2].weight.detach().numpy(), e[0].weight.detach().numpy())
    assert e2[0] is e2[2]


def test_tied_weights_keys_match_torch():
    def tied(m):
        net = m.nn.Sequential(m.nn.Linear(2, 2), m.nn.Linear(2, 2))
        net[1].weight = net[0].weight
        return net
    e, t = tied(ember), tied(torch)
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
