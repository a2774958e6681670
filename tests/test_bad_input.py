"""Bad input a PyTorch user would give, each beside PyTorch's behaviour (issue 15): ember gives
the same answer, or a clear error naming the op or module, shapes, dtypes or devices, and
changes nothing."""
import errno
import os
import re
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.test_errors import snapshot, unchanged


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


# ---------------------------------------------------------------- 5: optimizer inputs

def _params(m):
    return m.nn.Parameter(m.zeros(3)), m.nn.Parameter(m.zeros(2))


@pytest.mark.parametrize('make,exc,pattern', [
    (lambda O, p, q: O.SGD(p, lr=0.1), TypeError,
     r'SGD: params argument .* iterable of Tensors or dicts, but got a Tensor of shape \(3,\)'),
    (lambda O, p, q: O.SGD([p * 2], lr=0.1), ValueError,
     r"SGD: can't optimize a non-leaf Tensor \(parameter 0 of group 0, shape \(3,\)"),
    (lambda O, p, q: O.SGD([], lr=0.1), ValueError, r'empty parameter list'),
    (lambda O, p, q: O.SGD(None, lr=0.1), TypeError, r'but got NoneType'),
    (lambda O, p, q: O.SGD([1.0], lr=0.1), TypeError, r'one of the params is float'),
    (lambda O, p, q: O.SGD([p, {'params': [q]}], lr=0.1), TypeError, r'params is dict'),
    (lambda O, p, q: O.SGD([{'params': [p]}, {'params': [p]}], lr=0.1), ValueError,
     r'appear in more than one parameter group'),
    (lambda O, p, q: O.SGD([{'lr': 1.0}], lr=0.1), KeyError, r"needs a 'params' entry"),
    (lambda O, p, q: O.SGD([p], lr=0.1).add_param_group({'params': {q}}), TypeError,
     r'ordering of tensors in sets'),
    (lambda O, p, q: O.SGD([p], lr=0.1).add_param_group({'params': [q * 2]}), ValueError,
     r'non-leaf Tensor \(parameter 0 of group 1'),
    (lambda O, p, q: O.SGD([p], lr=-1), ValueError, r'SGD: Invalid learning rate: -1'),
    (lambda O, p, q: O.SGD([p], lr=0.1, momentum=-1), ValueError, r'Invalid momentum value'),
    (lambda O, p, q: O.SGD([p], lr=0.1, weight_decay=-1), ValueError, r'weight_decay value'),
    (lambda O, p, q: O.Adam([p], betas=(1.0, 0.9)), ValueError,
     r'Adam: Invalid beta parameter at index 0: 1.0'),
    (lambda O, p, q: O.Adam([p], betas=(0.9, -0.1)), ValueError, r'at index 1: -0.1'),
    (lambda O, p, q: O.Adam([p], eps=-1), ValueError, r'Adam: Invalid epsilon value: -1'),
    (lambda O, p, q: O.AdamW([p], weight_decay=-1), ValueError, r'AdamW: Invalid weight_'),
    (lambda O, p, q: O.RMSprop([p], alpha=-1), ValueError, r'RMSprop: Invalid alpha value'),
    (lambda O, p, q: O.Adagrad([p], lr_decay=-1), ValueError, r'Adagrad: Invalid lr_decay'),
    (lambda O, p, q: O.Adagrad([p], initial_accumulator_value=-1), ValueError,
     r'Invalid initial_accumulator_value value'),
    (lambda O, p, q: O.Adadelta([p], rho=1.5), ValueError, r'Adadelta: Invalid rho value: 1.5'),
    (lambda O, p, q: O.LBFGS([p], lr=-1), ValueError, r'LBFGS: Invalid learning rate'),
])
def test_optimizer_inputs_are_validated_as_in_torch(make, exc, pattern):
    with pytest.raises(exc):
        make(torch.optim, *_params(torch))
    p, q = _params(ember)
    with pytest.raises(exc, match=pattern):
        make(ember.optim, p, q)


def test_optimizer_duplicate_in_a_group_warns_as_torch():
    p = ember.nn.Parameter(ember.zeros(3))
    with pytest.warns(UserWarning, match='SGD: optimizer contains a parameter group with '
                                         'duplicate parameters'):
        ember.optim.SGD([p, p], lr=0.1)
    tp = torch.nn.Parameter(torch.zeros(3))
    with pytest.warns(UserWarning, match='duplicate parameters'):
        torch.optim.SGD([tp, tp], lr=0.1)


def test_optimizer_takes_what_torch_takes():
    for m in (ember, torch):
        p, q = _params(m)
        kept = m.zeros(2, requires_grad=True) * 1
        kept.retain_grad()    # a non-leaf that keeps its grad: torch optimizes it
        opt = m.optim.SGD((x for x in [p, q, kept]), lr=0.1)
        opt.add_param_group({'params': m.nn.Parameter(m.ones(1)), 'lr': 0.5})
        assert [len(g['params']) for g in opt.param_groups] == [3, 1]
        assert [g['lr'] for g in opt.param_groups] == [0.1, 0.5]


# ---------------------------------------------------------------- 6: saving over files

def _save_outcome(m, path):
    try:
        m.save({'a': m.ones(2)}, str(path))
        return 'saved'
    except PermissionError:
        return 'refused'


def test_save_over_a_read_only_file_does_as_torch(tmp_path):
    """Refused for a user who may not write it (root may, with torch as with ember); saved or
    not, the file keeps its mode."""
    outcome = {}
    for m in (torch, ember):
        path = tmp_path / f'ro_{m.__name__}'
        path.write_bytes(b'old')
        path.chmod(0o444)
        outcome[m] = _save_outcome(m, path)
        assert path.stat().st_mode & 0o777 == 0o444
    assert outcome[ember] == outcome[torch]


def test_save_over_a_read_only_file_is_refused_for_a_user_who_cannot_write(tmp_path,
                                                                          monkeypatch):
    path = tmp_path / 'ro.safetensors'
    path.write_bytes(b'old')
    path.chmod(0o444)
    monkeypatch.setattr(os, 'access', lambda p, mode: False)   # what a non-root user sees
    with pytest.raises(PermissionError, match=r'ember.save: permission denied .*ro.safetensors'):
        ember.save({'a': ember.ones(2)}, path)
    assert path.read_bytes() == b'old' and os.listdir(tmp_path) == ['ro.safetensors']


def test_save_through_a_symlink_writes_its_target_as_torch(tmp_path):
    for m in (torch, ember):
        target, link = tmp_path / f'target_{m.__name__}', tmp_path / f'link_{m.__name__}'
        target.write_bytes(b'old')
        target.chmod(0o640)
        link.symlink_to(target.name)
        m.save({'a': m.ones(2)}, str(link))
        assert link.is_symlink() and target.read_bytes() != b'old'
        assert target.stat().st_mode & 0o777 == 0o640
    assert ember.load(tmp_path / 'link_ember')['a'].tolist() == [1.0, 1.0]
    sub = tmp_path / 'sub'
    sub.mkdir()
    (tmp_path / 'dangling').symlink_to(sub / 'new.safetensors')   # made where it points
    ember.save({'b': ember.zeros(1)}, tmp_path / 'dangling')
    assert (tmp_path / 'dangling').is_symlink() and os.listdir(sub) == ['new.safetensors']


def test_save_to_a_missing_folder_or_a_folder_names_the_path(tmp_path):
    with pytest.raises(RuntimeError):
        torch.save({}, str(tmp_path / 'nodir' / 'x.pt'))
    with pytest.raises(FileNotFoundError, match=r'parent directory .*nodir does not exist'):
        ember.save({}, tmp_path / 'nodir' / 'x.safetensors')
    with pytest.raises(IsADirectoryError, match=r'ember.save: is a directory'):
        ember.save({}, tmp_path)
    assert os.listdir(tmp_path) == []


def test_save_into_a_folder_without_write_permission_writes_the_file_in_place(tmp_path,
                                                                             monkeypatch):
    """torch.save writes a writable file in a folder the user may not write; so does ember
    (in place, since no temporary file can be made beside it)."""
    import tempfile

    def no_temp(**kw):
        raise PermissionError(errno.EACCES, 'Permission denied', kw.get('dir'))
    path = tmp_path / 'w.safetensors'
    path.write_bytes(b'old contents, longer than the new file would be' * 100)
    monkeypatch.setattr(tempfile, 'mkstemp', no_temp)
    ember.save({'a': ember.ones(2)}, path)
    assert ember.load(path)['a'].tolist() == [1.0, 1.0]
    with pytest.raises(PermissionError, match=r'cannot create a file in'):
        ember.save({'a': ember.ones(2)}, tmp_path / 'new.safetensors')


# ---------------------------------------------------------------- 7: the command line

@pytest.mark.parametrize('args,pattern', [
    (['--lr', 'nan'], r'argument --lr: expected a finite number > 0, got nan'),
    (['--lr', 'inf'], r'argument --lr: expected a finite number > 0'),
    (['--lr', '0'], r'argument --lr: expected a finite number > 0, got 0'),
    (['--lr', 'fast'], r"argument --lr: expected a number, got 'fast'"),
    (['--epochs', '-1'], r'argument --epochs: expected a whole number >= 1, got -1'),
    (['--epochs', '0'], r'argument --epochs: expected a whole number >= 1, got 0'),
    (['--epochs', '1.5'], r"argument --epochs: expected a whole number, got '1.5'"),
    (['--seed', '-5'], r'argument --seed: expected a whole number >= 0 and < 2\*\*63'),
    (['--device', 'tpu'], r"argument --device: .*unknown device type 'tpu'"),
])
def test_demo_command_line_is_validated_by_argparse(args, pattern, capsys, tmp_path):
    from ember.__main__ import main
    with pytest.raises(SystemExit) as exit:
        main(['demo', 'regression', '--out', str(tmp_path)] + args)
    err = capsys.readouterr().err
    assert exit.value.code == 2 and 'usage: ember demo' in err
    assert re.search(pattern, err), err
    assert os.listdir(tmp_path) == []     # nothing trained, nothing drawn


def test_demo_out_must_be_a_folder(capsys, tmp_path):
    from ember.__main__ import main
    (tmp_path / 'file').write_text('x')
    for out in (tmp_path / 'file', tmp_path / 'file' / 'sub'):
        with pytest.raises(SystemExit) as exit:
            main(['demo', 'regression', '--out', str(out)])
        assert exit.value.code == 2 and 'argument --out' in capsys.readouterr().err


def test_demo_functions_refuse_bad_arguments():
    from ember.demos import classification, regression
    for kw in (dict(epochs=0), dict(epochs=-1), dict(lr=float('nan')), dict(lr=-0.1),
               dict(seed=-5)):
        for mod, name in ((regression, 'regression'), (classification, 'classification')):
            with pytest.raises(ValueError, match=f'{name} demo: {next(iter(kw))} must be'):
                mod.run(out=None, bars=False, **kw)


def test_demo_that_diverges_exits_1(capsys, tmp_path):
    from ember.__main__ import main
    assert main(['demo', 'regression', '--epochs', '1', '--lr', '1e6', '--out',
                 str(tmp_path)]) == 1
    assert 'training diverged (final loss nan); try a smaller --lr' in capsys.readouterr().err


# ---------------------------------------------------------------- NumPy's warnings

NAN, INF = float('nan'), float('inf')


@pytest.mark.parametrize('fn', [
    lambda m: m.log(m.zeros(1)),
    lambda m: m.tensor([1.0]) / 0,
    lambda m: m.zeros(1) / m.zeros(1),
    lambda m: m.sqrt(m.tensor([-1.0])),
    lambda m: m.exp(m.tensor([1000.0])),
    lambda m: m.tensor([60000.0], dtype=m.float16) * 2,
    lambda m: m.tensor([NAN]).long(),
    lambda m: m.tensor([INF]).to(m.int32),
    lambda m: m.tensor(NAN).int(),
    lambda m: m.tensor([-1.0]) ** 0.5,
    lambda m: m.tensor([3e38, 3e38]).sum(),
    lambda m: m.tensor([[1e30, 1e30]]) @ m.tensor([[1e30], [1e30]]),
    lambda m: m.log(m.zeros(1, requires_grad=True)).sum().backward(),
    lambda m: m.sqrt(m.zeros(1, requires_grad=True)).sum().backward(),
    lambda m: (m.ones(1, requires_grad=True) / m.zeros(1)).sum().backward(),
    lambda m: m.where(m.tensor([True]), m.ones(1, requires_grad=True),
                      m.log(m.zeros(1))).sum().backward(),
    lambda m: m.nn.functional.cross_entropy(m.tensor([[-INF, 0.0]]), m.tensor([0])),
    lambda m: m.logsumexp(m.tensor([-INF, -INF]), 0),
    lambda m: m.tensor([1.0]) % 0,
], ids=lambda f: None)
def test_no_numpy_warning_where_torch_is_silent(fn):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        fn(torch)
        fn(ember)


def test_no_numpy_warning_from_an_overflowing_optimizer_step():
    for m in (torch, ember):
        for opt in (lambda p: m.optim.SGD([p], lr=1e10), lambda p: m.optim.Adam([p], lr=1.0)):
            p = m.nn.Parameter(m.tensor([3e38]))
            p.grad = m.tensor([-3e38])
            with warnings.catch_warnings():
                warnings.simplefilter('error')
                opt(p).step()


def test_users_own_numpy_settings_are_kept():
    ember.log(ember.zeros(1))
    with pytest.warns(RuntimeWarning, match='divide by zero'):
        np.log(np.zeros(1))
    with np.errstate(divide='raise'):
        ember.log(ember.zeros(1))          # ember's own arrays: still silent
        with pytest.raises(FloatingPointError):
            np.log(np.zeros(1))            # the user's: as they asked
    with pytest.raises(RuntimeError):      # an op that fails restores the state too
        ember.ones(2) + ember.ones(3)
    with pytest.warns(RuntimeWarning):
        np.log(np.zeros(1))


# ---------------------------------------------------------------- creation and random

@pytest.mark.parametrize('fn,exc,pattern', [
    (lambda m: m.linspace(0, 1, -1), RuntimeError,
     r'linspace: number of steps must be non-negative, got -1'),
    (lambda m: m.linspace(0, 1, 1.5), TypeError, r"linspace\(\): argument 'steps' must be int"),
    (lambda m: m.linspace(0, '1', 3), TypeError, r"argument 'end' must be a number, not str"),
    (lambda m: m.arange(0, INF), RuntimeError, r'arange: unsupported range: 0 -> inf'),
    (lambda m: m.arange(0, NAN), RuntimeError, r'arange: unsupported range: 0 -> nan'),
    (lambda m: m.arange(0, 1e20), RuntimeError, r'arange: invalid size .*possible overflow'),
    (lambda m: m.arange(None), TypeError, r"arange\(\): argument 'end' must be a number"),
    (lambda m: m.randint(5, 5, (2,)), RuntimeError,
     r"randint: random_ expects 'from' to be less than 'to', but got from=5 >= to=5"),
    (lambda m: m.randint(0, (2,)), RuntimeError, r'from=0 >= to=0'),
    (lambda m: m.randint(0, 5.5, (2,)), TypeError, r'randint: high must be an int'),
    (lambda m: m.randn(-1), RuntimeError,
     r'randn: Trying to create tensor with negative dimension -1: \[-1\]'),
    (lambda m: m.full((-1,), 1.0), RuntimeError, r'full: .*negative dimension -1'),
    (lambda m: m.zeros(2.5), TypeError, r'zeros: size: expected non-negative integers'),
    (lambda m: m.full((2,), NAN, dtype=m.int64), RuntimeError,
     r'full: value nan cannot be converted to type ember.int64 without overflow'),
    (lambda m: m.full((2,), 300, dtype=m.uint8), RuntimeError, r'value 300 .* ember.uint8'),
    (lambda m: m.full((2,), 'a'), TypeError, r"full\(\): argument 'fill_value' must be a num"),
    (lambda m: m.full((2,), m.ones(2)), TypeError, r'not Tensor of shape \(2,\)'),
    (lambda m: m.eye(-1), RuntimeError, r'eye: n must be greater or equal to 0, got -1'),
    (lambda m: m.eye(2, -1), RuntimeError, r'eye: m must be greater or equal to 0, got -1'),
    (lambda m: m.eye(2.5), TypeError, r"eye\(\): argument 'n' must be int, not float"),
    (lambda m: m.tensor([NAN], dtype=m.int64), RuntimeError,
     r'tensor: value nan cannot be converted to type ember.int64 without overflow'),
    (lambda m: m.tensor([300], dtype=m.uint8), RuntimeError, r'value 300 cannot be conv'),
    (lambda m: m.tensor([[1, 2], [3]]), ValueError,
     r'tensor: expected sequence of length 2 at dim 1 \(got 1\)'),
    (lambda m: m.tensor([m.ones(2), m.ones(3)]), ValueError, r'must be rectangular'),
    (lambda m: m.normal(0.0, -1.0, (2,)), RuntimeError, r'normal: expects std >= 0.0, but f'),
    (lambda m: m.normal(m.zeros(2), -m.ones(2)), RuntimeError, r'all elements of std >= 0'),
    (lambda m: m.randperm(2.5), TypeError, r"randperm\(\): argument 'n' must be int"),
    (lambda m: m.randperm(-1), RuntimeError, r'randperm: n must be non-negative, got -1'),
    (lambda m: m.zeros(2, dtype=m.int64).fill_(NAN), RuntimeError, r'fill_: value nan'),
    (lambda m: m.randint(0, 2, (2,), generator=5), TypeError, r'generator must be an ember.Gen'),
])
def test_creation_errors_name_the_function_as_torch(fn, exc, pattern):
    with pytest.raises(Exception):
        fn(torch)
    with pytest.raises(exc, match=pattern):
        fn(ember)


@pytest.mark.parametrize('fn', [
    lambda m: m.zeros(m.tensor(2)).tolist(),
    lambda m: m.zeros([m.tensor(2), 3]).shape,
    lambda m: m.randint(5, (3,)).shape,
    lambda m: m.tensor([-1], dtype=m.uint8).tolist(),     # wraps, in torch too
    lambda m: m.full((2,), 1.5, dtype=m.int64).tolist(),
    lambda m: m.full((2,), m.tensor(3.0)).tolist(),
    lambda m: m.linspace(0, 1, 0).tolist(),
    lambda m: m.tensor([1e300]).tolist(),                  # inf, silently, as torch
])
def test_creation_takes_what_torch_takes(fn):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert fn(ember) == fn(torch)


# ---------------------------------------------------------------- unclear errors made clear

def test_inplace_change_of_a_saved_output_names_its_shape_and_dtype():
    def run(m):
        x = m.ones(3, requires_grad=True, dtype=m.float64)
        y = x.exp()
        z = y * 1
        y.add_(1)
        z.sum().backward()
    with pytest.raises(RuntimeError, match='modified by an inplace operation'):
        run(torch)
    with pytest.raises(RuntimeError, match=r'\[ExpBackward\] its output of shape \(3,\) and '
                                           r'dtype ember.float64 is at version 1; expected '
                                           r'version 0'):
        run(ember)


class _MissingKey(ember.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {'a': 1}['b']


def test_worker_key_error_prints_its_lines():
    with pytest.raises(KeyError) as info:
        list(ember.utils.data.DataLoader(_MissingKey(), batch_size=2, num_workers=1))
    text = str(info.value)
    assert text.startswith('Caught KeyError in DataLoader worker process 0')
    assert '\n' in text and '\\n' not in text and "KeyError: 'b'" in text.splitlines()[-1]


def _claim_device(path, device):
    """Rewrite a checkpoint's structure so that its tensors say they were saved on
    ``device`` (no GPU needed to make a CUDA checkpoint)."""
    import json
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + n])
    meta = header['__metadata__']
    meta['ember.structure'] = meta['ember.structure'].replace('"device":"cpu"',
                                                              f'"device":"{device}"')
    new = json.dumps(header, separators=(',', ':')).encode()
    new += b' ' * (-len(new) % 8)
    path.write_bytes(len(new).to_bytes(8, 'little') + new + raw[8 + n:])


@pytest.mark.skipif(ember.cuda.is_available(), reason='needs a machine without CUDA')
def test_cuda_checkpoint_on_a_cpu_machine_hints_map_location(tmp_path):
    path = tmp_path / 'gpu.safetensors'
    ember.save({'w': ember.ones(2)}, path)
    _claim_device(path, 'cuda:0')
    with pytest.raises(RuntimeError, match=r"ember.load: .*gpu.safetensors: a tensor saved on "
                                           r"cuda:0 .*CUDA is not available.*"
                                           r"map_location='cpu'"):
        ember.load(path)
    assert ember.load(path, map_location='cpu')['w'].tolist() == [1.0, 1.0]
    assert ember.load(path, map_location={'cuda:0': 'cpu'})['w'].tolist() == [1.0, 1.0]


def test_bfloat16_file_without_ml_dtypes_says_what_to_install(tmp_path, monkeypatch):
    from ember import serialization
    path = tmp_path / 'bf16.safetensors'
    header = b'{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}    '
    path.write_bytes(len(header).to_bytes(8, 'little') + header + b'\x80\x3f\x80\x3f')
    monkeypatch.delitem(serialization._DTYPES, 'BF16', raising=False)   # as without ml_dtypes
    with pytest.raises(serialization.CheckpointError,
                       match=r"tensor 'w' is bfloat16 \(BF16\).*pip install ml_dtypes"):
        ember.load(path)


# ---------------------------------------------------------------- the sweep

@pytest.mark.parametrize('fn,exc,pattern', [
    (lambda m: m.ones(2) + None, TypeError, r'unsupported operand of type NoneType'),
    (lambda m: m.ones(2) + 'a', TypeError, r'unsupported operand of type str'),
    (lambda m: m.nn.Linear(3, 2)(m.tensor(1.0)), RuntimeError,
     r'Linear\(in_features=3, out_features=2, bias=True\): input of shape \(\) is 0-d'),
    (lambda m: m.nn.Linear(-1, 2), (ValueError, RuntimeError),
     r'Linear: in_features must be a non-negative int, got -1'),
    (lambda m: m.nn.Linear(2, 2).load_state_dict([1, 2]), TypeError,
     r'load_state_dict for Linear: expected state_dict to be dict-like, got list'),
    (lambda m: m.nn.Linear(2, 2).load_state_dict(None), TypeError, r'got NoneType'),
    (lambda m: m.nn.Linear(2, 2).load_state_dict({'weight': 'a', 'bias': m.ones(2)}),
     RuntimeError, r"Linear: while copying the parameter named 'weight', expected a Tensor"),
    (lambda m: m.nn.Parameter([1.0, 2.0]), (TypeError, AttributeError),
     r'Parameter: expected a Tensor, got list'),
    (lambda m: m.ones(2).type('floaty'), (ValueError, RuntimeError),
     r"type: invalid type: 'floaty'"),
])
def test_sweep_errors_name_what_was_wrong(fn, exc, pattern):
    both_raise(exc, pattern, fn, torch_exc=Exception)


def test_load_state_dict_refusing_a_value_changes_nothing():
    lin = ember.nn.Linear(2, 2)
    before = snapshot(lin.weight, lin.bias)
    with pytest.raises(RuntimeError, match="parameter named 'bias'"):
        lin.load_state_dict({'weight': ember.zeros(2, 2), 'bias': 'zeros'})
    assert unchanged(before, lin.weight, lin.bias)


def test_lists_combine_with_tensors_at_their_own_kind():
    assert (ember.tensor([1, 2]) + [1, 2]).dtype is ember.int64     # was float32
    assert (ember.tensor([1, 2]) + [1.5, 2]).tolist() == [2.5, 4.0]


def test_optimizer_state_of_the_wrong_shape_is_refused_on_loading():
    def run(m):
        p = m.nn.Parameter(m.ones(2))
        opt = m.optim.SGD([p], lr=0.1, momentum=0.9)
        sd = {'state': {0: {'momentum_buffer': m.ones(3)}},
              'param_groups': [dict(opt.state_dict()['param_groups'][0])]}
        opt.load_state_dict(sd)
        p.grad = m.ones(2)
        opt.step()
    with pytest.raises(RuntimeError):
        run(torch)      # torch finds it at the step
    with pytest.raises(ValueError, match=r"SGD.load_state_dict: state 'momentum_buffer' of "
                                         r'parameter 0 has shape \(3,\), but the parameter has '
                                         r'shape \(2,\)'):
        run(ember)


@pytest.mark.parametrize('fn,exc,pattern', [
    (lambda m: m.nn.Linear(2, 2).register_buffer('b', [1, 2]), TypeError,
     r"Linear.register_buffer: cannot assign 'list' object to buffer 'b'"),
    (lambda m: m.nn.Linear(2, 2).register_buffer('a.b', m.ones(1)), KeyError,
     r'buffer name can\\\'t be empty or contain "."'),
    (lambda m: m.nn.Linear(2, 2).register_buffer('weight', m.ones(1)), KeyError,
     r"attribute 'weight' already exists"),
    (lambda m: m.ones(3).copy_(m.ones(2)), RuntimeError,
     r"copy_: the source of shape \(2,\) cannot be broadcast to this tensor's shape \(3,\)"),
    (lambda m: m.autograd.grad(m.ones(1, requires_grad=True).sum(), []), RuntimeError,
     r'grad: the `inputs` argument cannot be empty'),
])
def test_sweep_module_and_autograd_errors(fn, exc, pattern):
    both_raise(exc, pattern, fn)


def test_scheduler_periods_must_be_positive():
    p = ember.nn.Parameter(ember.ones(1))
    opt = ember.optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match='StepLR: step_size must be a positive int, got 0'):
        ember.optim.lr_scheduler.StepLR(opt, 0)
    with pytest.raises(ValueError, match='CosineAnnealingLR: T_max must be a positive int'):
        ember.optim.lr_scheduler.CosineAnnealingLR(opt, 0)
    tp = torch.nn.Parameter(torch.ones(1))
    topt = torch.optim.SGD([tp], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, 0)
    topt.step()
    with pytest.raises(ZeroDivisionError):    # torch finds it at the first step
        sched.step()
    assert opt.param_groups[0]['lr'] == 0.1


def test_backward_gradient_on_another_device_is_refused():
    """A CPU gradient for a CUDA output left the CUDA leaf with a CPU .grad; torch refuses
    ("invalid gradient at index 0 - expected device cuda:0 but got cpu"). Run on CuPy's CPU
    stand-in (tests/fakecupy.py), in a process of its own."""
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = ('from tests import fakecupy; fakecupy.install(); import ember\n'
            'x = ember.ones(2).to("cuda").requires_grad_()\n'
            'try:\n    (x * 2).backward(ember.ones(2))\n'
            'except RuntimeError as e:\n    print(e)\n'
            'print(x.grad)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=root, env=dict(os.environ, PYTHONPATH=root), timeout=300)
    assert 'invalid gradient at index 0 - expected device cuda:0 but got cpu' in out.stdout, \
        out.stdout + out.stderr
    assert out.stdout.splitlines()[-1] == 'None'


@pytest.mark.parametrize('kw,pattern', [
    (dict(persistent_workers=True), r'DataLoader: persistent_workers option needs num_workers'),
    (dict(num_workers=1, multiprocessing_context='nope'),
     r"valid start method in .*multiprocessing_context='nope'"),
])
def test_dataloader_options_are_checked_as_in_torch(kw, pattern):
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(4)), **kw)
    with pytest.raises(ValueError, match=pattern):
        ember.utils.data.DataLoader(ember.utils.data.TensorDataset(ember.ones(4)), **kw)


def test_save_and_load_name_a_text_mode_file_or_a_non_file(tmp_path):
    path = tmp_path / 'x.safetensors'
    with open(path, 'w') as f:
        with pytest.raises(TypeError, match=r"ember.save: .*x.safetensors is open in text mode; "
                                            r"open it in binary mode \('wb'\)"):
            ember.save({'a': ember.ones(1)}, f)
    with open(path, 'r') as f:
        with pytest.raises(TypeError, match=r"ember.load: .* binary mode \('rb'\)"):
            ember.load(f)
    with pytest.raises(TypeError, match=r'ember.save: expected a path or a binary file object, '
                                        r'got NoneType'):
        ember.save({}, None)


# ---------------------------------------------------------------- the lead's sweep

@pytest.mark.parametrize('value', [float('nan'), float('inf'), 300, -129])
def test_a_number_that_an_int_tensor_cannot_hold_is_refused_at_index_assignment(value):
    x = ember.zeros(3, dtype=ember.int8)

    def put(m):
        t = x if m is ember else torch.zeros(3, dtype=torch.int8)
        t[0] = value
    both_raise(RuntimeError, r'index_put_: value .* cannot be converted to type ember.int8 '
                             r'without overflow', put, x)


def test_an_integer_tensor_takes_a_float_number_truncated_as_torchs():
    got = {}
    for m in (ember, torch):
        x = m.zeros(3, dtype=m.int64)
        x[0], x[1] = 2.7, -1.5
        got[m] = x.tolist()
    assert got[ember] == got[torch] == [2, -1, 0]


def test_a_list_given_to_an_op_is_a_type_error_naming_it():
    both_raise(TypeError, r'PiecewiseLinear \(an ember op\): expected Tensor arguments, got '
                          r'\(list\)', lambda m: m.nn.functional.relu([1.0]))
