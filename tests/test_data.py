"""ember.utils.data (also ember.data): collation against torch, samplers, splits, DataLoader
with and without worker processes (ordering, seeding, IterableDataset sharding, errors)."""
import collections
import multiprocessing
import os
import random
import threading
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import ember
from ember.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                        RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                        TensorDataset, WeightedRandomSampler, default_collate, default_convert,
                        get_worker_info, random_split)

Point = collections.namedtuple('Point', 'x y')


def test_ember_data_is_utils_data():
    assert ember.data.DataLoader is ember.utils.data.DataLoader
    assert ember.data.get_worker_info is ember.utils.data.get_worker_info


# ------------------------------------------------------------------ collation vs torch

def same(e, t):
    """ember's collated batch ``e`` has torch's type, dtype, shape and values ``t``."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), (type(e), t)
        assert str(e.dtype).split('.')[-1] == str(t.dtype).split('.')[-1]
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t)
        for k in t:
            same(e[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(e).__name__ == type(t).__name__ and len(e) == len(t), (e, t)
        for a, b in zip(e, t):
            same(a, b)
    else:
        assert type(e) is type(t) and e == t


def A(*shape, dtype=np.float32):
    return np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)


# each case builds a batch for module m (ember or torch); m.tensor makes tensors
COLLATE_CASES = {
    'float tensors': lambda m: [m.tensor(A(2, 3)), m.tensor(A(2, 3) + 1)],
    'int tensors': lambda m: [m.tensor(A(3, dtype=np.int64)), m.tensor(A(3, dtype=np.int64))],
    'uint8 tensors': lambda m: [m.tensor(A(2, 2, dtype=np.uint8))] * 3,
    '0-d tensors': lambda m: [m.tensor(1.5), m.tensor(2.5)],
    'python floats': lambda m: [1.0, 2.5, -3.0],
    'python ints': lambda m: [1, 2, 3],
    'python bools': lambda m: [True, False],
    'numpy float32 arrays': lambda m: [A(2), A(2) + 1],
    'numpy uint8 images': lambda m: [A(2, 4, 4, dtype=np.uint8)] * 2,
    'numpy int32 arrays': lambda m: [A(3, dtype=np.int32)] * 2,
    'numpy float64 0-d': lambda m: [np.array(1.5), np.array(2.5)],
    'numpy float32 scalars': lambda m: [np.float32(1), np.float32(2)],
    'numpy float64 scalars': lambda m: [np.float64(1), np.float64(2)],
    'numpy int64 scalars': lambda m: [np.int64(1), np.int64(2)],
    'numpy bool scalars': lambda m: [np.bool_(True), np.bool_(False)],
    'strings': lambda m: ['a', 'bc'],
    'bytes': lambda m: [b'a', b'b'],
    'tuples': lambda m: [(m.tensor(A(2)), 1, 0.5, 'a'), (m.tensor(A(2)), 2, 1.5, 'b')],
    'lists': lambda m: [[1, 2], [3, 4]],
    'dicts': lambda m: [{'x': A(3), 'y': 1, 'name': 'a'}, {'x': A(3), 'y': 0, 'name': 'b'}],
    'namedtuples': lambda m: [Point(1, 2.0), Point(3, 4.0)],
    'nested': lambda m: [({'a': (A(2), 1)}, [0.5, 'x']), ({'a': (A(2), 2)}, [1.5, 'y'])],
    'ordered dict': lambda m: [collections.OrderedDict(b=1, a=2.0)] * 2,
}


@pytest.mark.parametrize('case', COLLATE_CASES)
def test_default_collate_matches_torch(case):
    make = COLLATE_CASES[case]
    same(default_collate(make(ember)), tud.default_collate(make(torch)))


@pytest.mark.parametrize('data', [A(3), np.float32(2), np.array(1.0), (A(2), 1.0), [A(1), 'x'],
                                  {'k': A(2, dtype=np.int16)}, 'text', 3, Point(A(1), 2)],
                         ids=repr)
def test_default_convert_matches_torch(data):
    same(default_convert(data), tud.default_convert(data))


@pytest.mark.parametrize('batch, err, msg', [
    ([[1, 2], [3]], RuntimeError, 'equal size'),
    ([object(), object()], TypeError, 'batch must contain'),
    ([np.array(['a']), np.array(['b'])], TypeError, 'batch must contain'),
    ([ember.zeros(2), ember.zeros(3)], RuntimeError, 'equal size'),
])
def test_default_collate_errors_match_torch(batch, err, msg):
    with pytest.raises(err, match=msg):
        default_collate(batch)
    tbatch = [torch.zeros(2), torch.zeros(3)] if isinstance(batch[0], ember.Tensor) else batch
    with pytest.raises(err):
        tud.default_collate(tbatch)


def test_default_collate_keeps_gradients():
    xs = [ember.ones(2, requires_grad=True) for _ in range(3)]
    (default_collate(xs) * ember.tensor([1.0, 2.0])).sum().backward()
    assert xs[0].grad.tolist() == [1.0, 2.0]


# ------------------------------------------------------------------ datasets and splits

def test_tensor_dataset():
    x, y = ember.arange(12.0).reshape(4, 3), ember.tensor([0, 1, 0, 1])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    a, b = ds[2]
    assert a.tolist() == [6.0, 7.0, 8.0] and b.item() == 0
    with pytest.raises(ValueError, match='Size mismatch'):
        TensorDataset(x, ember.zeros(3))


def test_subset_concat_and_add():
    s = Subset(list('abcdef'), [5, 0, 2])
    assert [s[i] for i in range(len(s))] == ['f', 'a', 'c']

    class L(Dataset):
        def __init__(self, items):
            self.items = items

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            return self.items[i]

    c = L([0, 1]) + L([2, 3, 4])
    assert isinstance(c, ConcatDataset) and len(c) == 5 and c.cumulative_sizes == [2, 5]
    assert [c[i] for i in range(5)] == [0, 1, 2, 3, 4] and c[-1] == 4 and c[-5] == 0
    with pytest.raises(IndexError):
        c[5]
    with pytest.raises(ValueError):
        c[-6]
    with pytest.raises(TypeError, match='IterableDataset'):
        ConcatDataset([Stream(3)])


def test_random_split_disjoint_complete_reproducible():
    parts = random_split(range(20), [5, 15], generator=ember.Generator().manual_seed(1))
    items = [list(p) for p in parts]
    assert [len(p) for p in items] == [5, 15]
    assert sorted(items[0] + items[1]) == list(range(20))
    again = random_split(range(20), [5, 15], generator=ember.Generator().manual_seed(1))
    assert [list(p) for p in again] == items
    other = random_split(range(20), [5, 15], generator=ember.Generator().manual_seed(2))
    assert [list(p) for p in other] != items
    ember.manual_seed(3)
    a = [list(p) for p in random_split(range(20), [10, 10])]
    ember.manual_seed(3)
    assert [list(p) for p in random_split(range(20), [10, 10])] == a


def test_random_split_fractions_like_torch():
    for fracs, n in [([0.7, 0.3], 10), ([0.3, 0.3, 0.4], 11), ([0.5, 0.5], 7)]:
        mine = [len(p) for p in random_split(range(n), fracs)]
        assert mine == [len(p) for p in tud.random_split(range(n), fracs)]
    with pytest.raises(ValueError, match='does not equal'):
        random_split(range(10), [3, 3])
    with pytest.warns(UserWarning, match='index 1 is 0'):
        random_split(range(1), [0.9, 0.1])


# ------------------------------------------------------------------ samplers

def test_sequential_and_batch_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert list(BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(6), 3, True)) == 2
    with pytest.raises(ValueError, match='batch_size'):
        BatchSampler(range(3), 0, False)


def test_random_sampler():
    g = ember.Generator().manual_seed(0)
    s = RandomSampler(range(10), generator=g)
    e1, e2 = list(s), list(s)
    assert sorted(e1) == sorted(e2) == list(range(10)) and e1 != e2
    g.manual_seed(0)
    assert list(s) == e1
    r = list(RandomSampler(range(3), replacement=True, num_samples=50,
                           generator=ember.Generator().manual_seed(0)))
    assert len(r) == 50 and set(r) <= {0, 1, 2} and len(set(r)) == 3
    many = list(RandomSampler(range(4), num_samples=10))
    assert len(many) == 10 and sorted(many[:4]) == [0, 1, 2, 3]
    ember.manual_seed(5)
    a = list(RandomSampler(range(10)))
    ember.manual_seed(5)
    assert list(RandomSampler(range(10))) == a
    with pytest.raises(ValueError, match='num_samples'):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match='replacement'):
        RandomSampler(range(3), replacement=1)


def test_subset_and_weighted_samplers():
    g = ember.Generator().manual_seed(0)
    s = SubsetRandomSampler([10, 20, 30, 40], generator=g)
    assert sorted(s) == [10, 20, 30, 40] and len(s) == 4
    w = WeightedRandomSampler([1.0, 0.0, 3.0], 4000, generator=ember.Generator().manual_seed(0))
    counts = np.bincount(list(w), minlength=3)
    assert counts[1] == 0 and len(w) == 4000 and 0.7 < counts[2] / 4000 < 0.8
    u = list(WeightedRandomSampler(ember.tensor([1.0, 1.0, 1.0, 0.0]), 3, replacement=False))
    assert sorted(u) == [0, 1, 2]
    with pytest.raises(ValueError, match='without replacement'):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)
    with pytest.raises(ValueError, match='non-negative'):
        WeightedRandomSampler([1.0, -1.0], 2)


# ------------------------------------------------------------------ DataLoader, one process

def pairs(n=10):
    return TensorDataset(ember.arange(float(n)).reshape(n, 1), ember.arange(n))


def ys(loader):
    return [y.tolist() for _, y in loader]


def test_loader_batches_len_and_drop_last():
    loader = DataLoader(pairs(10), batch_size=4)
    assert len(loader) == 3 and ys(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, _ = next(iter(loader))
    assert x.shape == (4, 1) and x.dtype == ember.float32
    dropped = DataLoader(pairs(10), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and ys(dropped) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_loader_shuffle_repeats_with_seed_and_changes_per_epoch():
    def run(seed):
        g = ember.Generator().manual_seed(seed)
        loader = DataLoader(pairs(12), batch_size=5, shuffle=True, generator=g)
        return [sum(ys(loader), []) for _ in range(3)]

    epochs = run(0)
    assert epochs == run(0)
    assert all(sorted(e) == list(range(12)) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    assert run(1) != epochs
    ember.manual_seed(4)   # no generator: the default generator makes it repeat
    a = ys(DataLoader(pairs(12), batch_size=5, shuffle=True))
    ember.manual_seed(4)
    assert ys(DataLoader(pairs(12), batch_size=5, shuffle=True)) == a


def test_loader_sampler_batch_sampler_and_no_batching():
    assert ys(DataLoader(pairs(6), batch_size=2, sampler=[5, 4, 3, 2, 1, 0])) == \
        [[5, 4], [3, 2], [1, 0]]
    assert ys(DataLoader(pairs(6), batch_sampler=[[0, 5], [1]])) == [[0, 5], [1]]
    single = list(DataLoader([np.float32(1.5), np.float32(2.5)], batch_size=None))
    assert [s.shape for s in single] == [(), ()] and single[1].item() == 2.5
    loader = DataLoader([{'a': 1}, {'a': 2}, {'a': 3}], batch_size=2,
                        collate_fn=lambda b: [d['a'] for d in b])
    assert list(loader) == [[1, 2], [3]]


@pytest.mark.parametrize('kwargs, msg', [
    (dict(shuffle=True, sampler=[0]), 'mutually exclusive with shuffle'),
    (dict(batch_sampler=[[0]], batch_size=2), 'batch_sampler option'),
    (dict(batch_sampler=[[0]], drop_last=True), 'batch_sampler option'),
    (dict(batch_size=None, drop_last=True), 'drop_last'),
    (dict(num_workers=-1), 'num_workers'),
    (dict(prefetch_factor=2), 'prefetch_factor'),
])
def test_loader_argument_errors(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        DataLoader(pairs(3), **kwargs)


class Stream(IterableDataset):
    """0..n-1, each worker taking every num_workers-th item as torch's docs show."""

    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __len__(self):
        return self.n

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


def test_iterable_dataset_single_process():
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3)] == \
        [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == \
        [[0, 1, 2], [3, 4, 5]]
    assert len(DataLoader(Stream(7), batch_size=3)) == 3
    assert [int(b) for b in DataLoader(Stream(3), batch_size=None)] == [0, 1, 2]
    with pytest.raises(ValueError, match='shuffle'):
        DataLoader(Stream(3), shuffle=True)


# ------------------------------------------------------------------ DataLoader with workers

def test_workers_give_the_same_batches_as_one_process():
    for shuffle in (False, True):
        runs = []
        for workers in (0, 2):
            g = ember.Generator().manual_seed(7)
            loader = DataLoader(pairs(11), batch_size=3, shuffle=shuffle, generator=g,
                                num_workers=workers)
            runs.append([(x.tolist(), y.tolist(), x.dtype, y.dtype) for x, y in loader])
        assert runs[0] == runs[1] and len(runs[0]) == 4


class Noisy(Dataset):
    """Each sample draws from ember's, NumPy's and Python's global generators."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return (ember.rand(1).item(), float(np.random.rand()), random.random(),
                -1 if info is None else info.id, -1 if info is None else info.seed)


def draws(seed, epochs=1):
    g = ember.Generator().manual_seed(seed)
    loader = DataLoader(Noisy(), batch_size=2, num_workers=2, generator=g)
    return [[s for b in loader for s in zip(*[v.tolist() for v in b])] for _ in range(epochs)]


def test_workers_have_distinct_reproducible_random_streams():
    run, next_epoch = draws(0, epochs=2)
    assert [run, next_epoch] == draws(0, epochs=2)
    assert run != draws(1)[0]
    by_worker = {w: [r[:3] for r in run if r[3] == w] for w in (0, 1)}
    assert len(by_worker[0]) == len(by_worker[1]) == 4
    for k in range(3):   # ember, NumPy and Python streams all differ between workers
        assert [r[k] for r in by_worker[0]] != [r[k] for r in by_worker[1]]
    assert len({v for r in run for v in r[:3]}) == 24   # no value repeats anywhere
    seeds = {r[3]: r[4] for r in run}
    assert seeds[1] == seeds[0] + 1
    assert {r[4] for r in next_epoch}.isdisjoint(seeds.values())   # a new base seed per epoch
    assert {r[0] for r in next_epoch}.isdisjoint(r[0] for r in run)


_init_calls = []


def init_worker(worker_id):
    np.random.seed(100 + worker_id)
    _init_calls.append(worker_id)


class InitSeen(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return get_worker_info().id, len(_init_calls), np.random.randint(1 << 30)


def test_worker_init_fn_runs_in_each_worker_after_seeding():
    loader = DataLoader(InitSeen(), batch_size=None, num_workers=2, worker_init_fn=init_worker)
    got = [tuple(int(v) for v in s) for s in loader]
    assert sorted(w for w, _, _ in got) == [0, 0, 1, 1] and all(n == 1 for _, n, _ in got)
    first = {w: r for w, _, r in reversed(got)}
    assert first == {w: np.random.RandomState(100 + w).randint(1 << 30) for w in (0, 1)}
    assert _init_calls == []   # it ran in the workers, not here


def test_iterable_dataset_with_workers_yields_each_item_once():
    loader = DataLoader(Stream(11), batch_size=2, num_workers=2)
    items = [v for b in loader for v in b.tolist()]
    assert sorted(items) == list(range(11))
    unsharded = DataLoader(Stream(5, shard=False), batch_size=None, num_workers=2)
    assert sorted(int(v) for v in unsharded) == sorted(list(range(5)) * 2)   # as in torch


class Broken(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise KeyError('sample 3 is missing')
        return i


def test_worker_errors_reach_the_main_process():
    with pytest.raises(KeyError, match='worker process') as info:
        list(DataLoader(Broken(), batch_size=2, num_workers=2))
    assert 'sample 3 is missing' in str(info.value)


def test_workers_stop_when_the_iterator_is_dropped():
    it = iter(DataLoader(pairs(40), batch_size=2, num_workers=2))
    next(it)
    workers = list(it._workers)
    del it
    assert all(not w.is_alive() for w in workers)


class Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if get_worker_info().id == 1:
            os._exit(3)
        return i


class Blocked(Dataset):
    """Items that never come while the loader waits: each waits for ``release``, which the
    test sets only once the loader has given up, so no clock decides the outcome."""

    def __init__(self):
        self.release = multiprocessing.get_context('fork').Event()

    def __len__(self):
        return 2

    def __getitem__(self, i):
        self.release.wait()
        return i


def test_dead_worker_and_timeout_raise_instead_of_hanging():
    with pytest.raises(RuntimeError, match='exited unexpectedly'):
        list(DataLoader(Dies(), num_workers=2))
    ds = Blocked()
    it = iter(DataLoader(ds, num_workers=1, timeout=0.2, multiprocessing_context='fork'))

    def release_once_closed():      # then the worker ends at once, not after the join's wait
        while not it._closed:
            time.sleep(0.01)
        ds.release.set()
    threading.Thread(target=release_once_closed, daemon=True).start()
    with pytest.raises(RuntimeError, match='timed out after 0.2 seconds'):
        next(it)


@pytest.mark.skipif(ember.cuda.is_available(), reason='the behaviour without CUDA')
def test_pin_memory_without_cuda():
    x = ember.ones(2)
    assert not x.is_pinned()
    with pytest.raises(RuntimeError, match='pin_memory: pinned host memory needs CUDA'):
        x.pin_memory()
    ds = ember.data.TensorDataset(ember.arange(4.0))
    with pytest.warns(UserWarning, match="'pin_memory' is set but no CUDA device"):
        batches = list(ember.data.DataLoader(ds, batch_size=2, pin_memory=True))
    assert [b.tolist() for (b,) in batches] == [[0.0, 1.0], [2.0, 3.0]]


@pytest.mark.parametrize('n,replicas,drop_last', [(10, 3, False), (10, 3, True), (9, 3, False),
                                                   (2, 4, False), (5, 2, True)])
def test_distributed_sampler_as_torch(n, replicas, drop_last):
    """Unshuffled, each rank's indices are torch's; shuffled, the ranks' shares (torch's
    permutation comes from another generator) are disjoint, equal in size and cover the
    dataset (padded by repeats, or cut with drop_last), and change with set_epoch."""
    from torch.utils.data import DistributedSampler as TorchSampler
    data = list(range(n))
    for r in range(replicas):
        e = ember.data.DistributedSampler(data, replicas, r, shuffle=False, drop_last=drop_last)
        t = TorchSampler(data, replicas, r, shuffle=False, drop_last=drop_last)
        assert list(e) == list(t) and len(e) == len(t)
    shares = []
    for r in range(replicas):
        s = ember.data.DistributedSampler(data, replicas, r, seed=3, drop_last=drop_last)
        s.set_epoch(2)
        shares.append(list(s))
        s.set_epoch(5)
        assert list(s) != shares[-1] or n < 3
    flat = [i for s in shares for i in s]
    assert len({len(s) for s in shares}) == 1 and len(shares[0]) == len(
        TorchSampler(data, replicas, 0, drop_last=drop_last))
    assert set(flat) == set(data) if not drop_last else len(set(flat)) == len(flat)
    with pytest.raises(ValueError, match='invalid rank 3'):
        ember.data.DistributedSampler(data, num_replicas=3, rank=3)
