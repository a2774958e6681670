"""Datasets, samplers, collation and the DataLoader, shaped like ``torch.utils.data``.

``ember.data`` is the same module under a shorter name.

Worker processes (``num_workers > 0``) are forked where the platform allows it. Each worker
seeds Python's ``random``, NumPy's global generator and ember's default generator from a base
seed drawn from the loader's ``generator`` (or ember's default generator) plus its worker id,
as PyTorch does: workers never repeat each other's random streams, and the same seed repeats
a run exactly. Batches come back in the order the sampler gives them.
"""
from __future__ import annotations

import bisect
import collections.abc
import copy
import itertools
import math
import warnings
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .._tensor import Tensor, as_tensor, from_numpy, get_xp, tensor
from ..ops.join import stack
from ..random import Generator, default_generator, randint, randperm

if TYPE_CHECKING:
    from .._typing import MapDataset

__all__ = ['Dataset', 'IterableDataset', 'TensorDataset', 'Subset', 'ConcatDataset',
           'random_split', 'Sampler', 'SequentialSampler', 'RandomSampler',
           'SubsetRandomSampler', 'WeightedRandomSampler', 'BatchSampler', 'DistributedSampler',
           'default_collate',
           'default_convert', 'get_worker_info', 'WorkerInfo', 'DataLoader']


# ------------------------------------------------------------------ datasets

class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``).

    >>> class Squares(ember.data.Dataset):
    ...     def __len__(self): return 4
    ...     def __getitem__(self, i): return i * i
    >>> [Squares()[i] for i in range(4)], len(Squares() + Squares())
    ([0, 1, 4, 9], 8)
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f'{type(self).__name__} must define __getitem__')

    def __add__(self, other: MapDataset) -> ConcatDataset:
        # (a Dataset that is added defines __len__, which Dataset itself leaves out, as torch)
        return ConcatDataset([self, other])   # type: ignore[list-item]


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses define ``__iter__``.

    With ``num_workers > 0`` every worker iterates its own copy; split the work with
    ``get_worker_info()`` (see ``DataLoader``) or each item comes once per worker.

    >>> class Count(ember.data.IterableDataset):
    ...     def __iter__(self): return iter(range(3))
    >>> list(Count())
    [0, 1, 2]
    """

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f'{type(self).__name__} must define __iter__')


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension.

    >>> ds = ember.data.TensorDataset(ember.arange(6).reshape(3, 2), ember.tensor([0, 1, 0]))
    >>> len(ds), ds[1]
    (3, (tensor([2, 3]), tensor(1)))
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError('TensorDataset: expected at least one tensor')
        n = tensors[0].shape[0] if tensors[0].ndim else None
        if any(t.ndim == 0 or t.shape[0] != n for t in tensors):
            raise ValueError(f'TensorDataset: Size mismatch between tensors: every tensor needs '
                             f'the same first dimension, got shapes '
                             f'{[tuple(t.shape) for t in tensors]}')
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    >>> s = ember.data.Subset([10, 11, 12, 13], [3, 0]); len(s), s[0], s[1]
    (2, 13, 10)
    """

    def __init__(self, dataset: MapDataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Map-style datasets one after another.

    >>> c = ember.data.ConcatDataset([[0, 1], [2, 3, 4]]); len(c), c[2], c[-1]
    (5, 2, 4)
    """

    def __init__(self, datasets: Iterable[MapDataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError('ConcatDataset: datasets should not be an empty iterable')
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError('ConcatDataset does not support IterableDataset')
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(f'ConcatDataset: absolute value of index {idx} should not '
                                 f'exceed dataset length {n}')
            idx += n
        if idx >= n:
            raise IndexError(f'ConcatDataset: index {idx} out of range for length {n}')
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[d][idx - (self.cumulative_sizes[d - 1] if d else 0)]


def random_split(dataset: MapDataset, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split a dataset into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` may be counts summing to ``len(dataset)`` or fractions summing to 1 (each
    ``floor(frac * len)``, the remainder dealt out one at a time from the first split on, as
    in PyTorch). ``generator`` (default: ember's default generator) makes the split repeat.

    >>> g = ember.Generator().manual_seed(0)
    >>> a, b = ember.data.random_split(range(10), [0.7, 0.3], generator=g)
    >>> len(a), len(b), sorted(list(a) + list(b)) == list(range(10))
    (7, 3, True)
    """
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f'random_split: fraction at index {i} is not between 0 and 1')
            counts.append(math.floor(n * frac))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(f'random_split: length of split at index {i} is 0; this might '
                              f'result in an empty dataset', stacklevel=2)
        lengths = counts
    if any(int(k) != k or k < 0 for k in lengths):
        raise ValueError(f'random_split: lengths must be non-negative integers or fractions '
                         f'summing to 1, got {list(lengths)}')
    if sum(lengths) != n:
        raise ValueError(f'random_split: sum of input lengths ({sum(lengths)}) does not equal '
                         f'the length of the input dataset ({n})')
    indices = randperm(n, generator=generator).tolist()
    ends = itertools.accumulate(int(k) for k in lengths)
    return [Subset(dataset, indices[end - int(k):end]) for end, k in zip(ends, lengths)]


# ------------------------------------------------------------------ samplers

class Sampler:
    """Base class of samplers: an iterable of dataset indices (or of lists of them).

    >>> class Evens(ember.data.Sampler):
    ...     def __init__(self, n): self.n = n
    ...     def __iter__(self): return iter(range(0, self.n, 2))
    >>> list(Evens(5))
    [0, 2, 4]
    """

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f'{type(self).__name__} must define __iter__')


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``.

    >>> list(ember.data.SequentialSampler('abc'))
    [0, 1, 2]
    """

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


def _draw_seed(generator=None):
    """One 62-bit seed drawn from ``generator`` (ember's default generator if None)."""
    return int(randint(0, 2 ** 62, (1,), generator=generator).item())


class RandomSampler(Sampler):
    """Indices in random order: a fresh permutation each epoch, or ``num_samples`` draws
    with replacement. ``generator`` makes the orders repeat; without one, each epoch seeds a
    private generator from ember's default generator (so ``ember.manual_seed`` repeats it).

    >>> g = ember.Generator().manual_seed(0)
    >>> s = ember.data.RandomSampler(range(5), generator=g)
    >>> sorted(s), len(s)
    ([0, 1, 2, 3, 4], 5)
    >>> len(list(ember.data.RandomSampler(range(5), replacement=True, num_samples=12)))
    12
    """

    def __init__(self, data_source: Any, replacement: bool = False,
                 num_samples: int | None = None, generator: Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f'RandomSampler: replacement should be a boolean value, but got '
                            f'replacement={replacement!r}')
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f'RandomSampler: num_samples should be a positive integer value, '
                             f'but got num_samples={self.num_samples!r}')

    @property
    def num_samples(self) -> int:
        """How many indices an epoch draws: ``len(data_source)`` unless given.

        >>> ember.data.RandomSampler(range(5)).num_samples
        5
        """
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        g = self.generator or Generator().manual_seed(_draw_seed())
        if self.replacement:
            yield from randint(0, n, (self.num_samples,), generator=g).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from randperm(n, generator=g).tolist()
        yield from randperm(n, generator=g).tolist()[:self.num_samples % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a new one each epoch).

    >>> sorted(ember.data.SubsetRandomSampler([7, 3, 5]))
    [3, 5, 7]
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights``.

    >>> s = ember.data.WeightedRandomSampler([0.0, 1.0, 0.0], 4)
    >>> list(s)
    [1, 1, 1, 1]
    """

    def __init__(self, weights: Sequence[float] | Tensor, num_samples: int,
                 replacement: bool = True, generator: Generator | None = None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f'WeightedRandomSampler: num_samples should be a positive integer '
                             f'value, but got num_samples={num_samples!r}')
        if not isinstance(replacement, bool):
            raise ValueError(f'WeightedRandomSampler: replacement should be a boolean value, '
                             f'but got replacement={replacement!r}')
        w = np.asarray(weights.detach().numpy() if isinstance(weights, Tensor) else weights,
                       dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f'WeightedRandomSampler: weights should be a 1-d sequence, but '
                             f'got shape {w.shape}')
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError('WeightedRandomSampler: weights must be finite, non-negative and '
                             'not all zero')
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f'WeightedRandomSampler: cannot draw {num_samples} samples without '
                             f'replacement from {np.count_nonzero(w)} non-zero weights')
        self.weights = tensor(w)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        w = self.weights.numpy()
        rng = (self.generator or default_generator).np
        return iter(rng.choice(len(w), self.num_samples, replace=self.replacement,
                               p=w / w.sum()).tolist())

    def __len__(self):
        return self.num_samples


class DistributedSampler(Sampler):
    """One rank's share of a dataset: every ``num_replicas``-th index of a permutation
    (``shuffle``: drawn from ``seed + epoch``, so call ``set_epoch`` each epoch) starting at
    ``rank``; the ranks' shares are disjoint and equal in size, padded by repeating indices
    from the start, or cut short with ``drop_last``. ``num_replicas`` and ``rank`` default to
    ``ember.distributed``'s world size and rank.

    >>> s = ember.data.DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False)
    >>> list(s), len(s)
    ([1, 3, 0], 3)
    >>> list(ember.data.DistributedSampler(range(5), 2, 1, shuffle=False, drop_last=True))
    [1, 3]
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from .. import distributed
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if not 0 <= rank < num_replicas:
            raise ValueError(f'DistributedSampler: invalid rank {rank}, rank should be in the '
                             f'interval [0, {num_replicas - 1}]')
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        self.num_samples = (n // num_replicas if drop_last
                            else -(-n // num_replicas))
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch's permutation (the same on every rank: call it on each).

        >>> ranks = [ember.data.DistributedSampler(range(6), 2, r) for r in (0, 1)]
        >>> for s in ranks:
        ...     s.set_epoch(1)
        >>> sorted(list(ranks[0]) + list(ranks[1]))
        [0, 1, 2, 3, 4, 5]
        """
        self.epoch = epoch

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            g = Generator().manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            while len(indices) < self.total_size:   # (repeat as often as needed)
                indices += indices[:self.total_size - len(indices)]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group another sampler's indices into lists of ``batch_size``.

    >>> list(ember.data.BatchSampler(range(5), 2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    >>> len(ember.data.BatchSampler(range(5), 2, drop_last=True))
    2
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f'BatchSampler: batch_size should be a positive integer value, '
                             f'but got batch_size={batch_size!r}')
        if not isinstance(drop_last, bool):
            raise ValueError(f'BatchSampler: drop_last should be a boolean value, but got '
                             f'drop_last={drop_last!r}')
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        it = iter(self.sampler)
        while batch := list(itertools.islice(it, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)


# ------------------------------------------------------------------ collation

_COLLATE_ERR = ('default_collate: batch must contain tensors, numpy arrays, numbers, dicts or '
                'lists; found {}')


def _is_numpy(x):
    return type(x).__module__ == 'numpy' and not isinstance(x, (np.str_, np.bytes_))


def _stack(batch):
    first = batch[0]
    if all(isinstance(t, Tensor) and not t.requires_grad and t.shape == first.shape
           and t.dtype is first.dtype and t.device == first.device for t in batch):
        # NOTE: the common case skips stack's graph bookkeeping; same values, dtype and shape
        return Tensor._make(get_xp(first).stack([t._data for t in batch]))
    return stack(batch)


def default_collate(batch):
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate`` does.

    Tensors are stacked; NumPy arrays and scalars become tensors of their dtype; Python floats
    float64, ints int64 and bools bool tensors; strings are left as they come (a list, or a
    tuple inside a collated tuple); tuples and lists are collated field by field (a list comes
    back, as in PyTorch), dicts key by key, named tuples keep their type.

    >>> b = ember.data.default_collate([(ember.zeros(2), 1, 0.5), (ember.ones(2), 2, 1.5)])
    >>> b[0].shape, b[1], b[2]
    (ember.Size([2, 2]), tensor([1, 2]), tensor([0.5000, 1.5000], dtype=ember.float64))
    >>> ember.data.default_collate(['cat', 'dog'])
    ['cat', 'dog']
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if _is_numpy(elem):
        if isinstance(elem, np.ndarray):
            if elem.dtype.kind in 'SaUOV':
                raise TypeError(_COLLATE_ERR.format(elem.dtype))
            return default_collate([as_tensor(b) for b in batch])
        if elem.shape == ():   # a NumPy scalar: keep its dtype
            return from_numpy(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype='float64')
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        merged = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                out = copy.copy(elem)
                out.update(merged)
                return out
            return type(elem)(merged)
        except TypeError:
            return merged
    if isinstance(elem, tuple) and hasattr(elem, '_fields'):   # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError('each element in list of batch should be of equal size')
        fields = [default_collate(s) for s in zip(*batch)]   # tuples, as torch passes
        if isinstance(elem, tuple):
            return fields
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                out = copy.copy(elem)
                out[:] = fields
                return out
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(_COLLATE_ERR.format(type(elem)))


def default_convert(data):
    """Turn NumPy arrays (also inside dicts, lists and tuples) into tensors; the collate
    function a ``DataLoader`` with ``batch_size=None`` uses.

    >>> ember.data.default_convert({'x': np.zeros(2, np.float32), 'y': 'label'})
    {'x': tensor([0., 0.]), 'y': 'label'}
    """
    if isinstance(data, Tensor):
        return data
    if _is_numpy(data):
        if isinstance(data, np.ndarray) and data.dtype.kind in 'SaUOV':
            return data
        if isinstance(data, np.ndarray) or data.shape == ():
            return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        merged = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(merged)
        except TypeError:
            return merged
    if isinstance(data, tuple) and hasattr(data, '_fields'):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


# ------------------------------------------------------------------ fetching

class _MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, '__getitems__', None)
        data = getitems(index) if getitems else [self.dataset[i] for i in index]
        return self.collate_fn(data)


class _IterFetcher:
    """Batches from one pass over an IterableDataset; StopIteration when it is done."""

    def __init__(self, dataset, auto_collation, collate_fn, batch_size, drop_last):
        self.it = iter(dataset)
        self.auto_collation, self.collate_fn = auto_collation, collate_fn
        self.batch_size, self.drop_last = batch_size, drop_last
        self.ended = False

    def fetch(self, index=None):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.it))
        data = list(itertools.islice(self.it, self.batch_size))
        if not data or (self.drop_last and len(data) < self.batch_size):
            self.ended = True
            raise StopIteration
        return self.collate_fn(data)


def _fetcher(loader):
    if loader._iterable:
        return _IterFetcher(loader.dataset, loader._auto_collation, loader.collate_fn,
                            loader.batch_size, loader.drop_last)
    return _MapFetcher(loader.dataset, loader._auto_collation, loader.collate_fn)


# ------------------------------------------------------------------ workers

class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id``, ``num_workers``, ``seed``
    (this worker's seed: the loader's base seed plus ``id``) and ``dataset`` (its copy).

    >>> ember.data.WorkerInfo(id=0, num_workers=2, seed=5, dataset=None)
    WorkerInfo(id=0, num_workers=2, seed=5, dataset=None)
    """
    __slots__ = ('id', 'num_workers', 'seed', 'dataset')

    def __init__(self, id: int, num_workers: int, seed: int,   # noqa: A002  (torch's name)
                 dataset: Dataset) -> None:
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return (f'WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, '
                f'dataset={self.dataset!r})')


def get_worker_info() -> WorkerInfo | None:
    """Inside a DataLoader worker, its ``WorkerInfo``; in the main process, None.

    An IterableDataset uses it to give each worker its share of the stream::

        info = ember.data.get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(self.items[start::step])

    >>> ember.data.get_worker_info() is None
    True
    """
    from . import _workers
    return _workers.worker_info


# ------------------------------------------------------------------ the loader

class _SingleProcessIter:
    def __init__(self, loader):
        self._base_seed = _draw_seed(loader.generator)   # drawn as with workers, as torch does
        self._fetcher = _fetcher(loader)
        self._index_iter = None if loader._iterable else iter(loader._index_sampler)
        self._loader = loader

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def __next__(self):
        if self._index_iter is None:
            return self._fetcher.fetch()
        return self._fetcher.fetch(next(self._index_iter))


class _Pinned:
    """A DataLoader iterator whose batches' tensors are moved to pinned memory."""

    def __init__(self, it):
        self.it = it

    def __iter__(self):
        return self

    def __next__(self):
        return _pin(next(self.it))

    def __len__(self):
        return len(self.it)


def _pin(batch):
    """``batch`` with every tensor in it pinned (tuples, lists, dicts and named tuples kept)."""
    if isinstance(batch, Tensor):
        return batch.pin_memory()
    if isinstance(batch, dict):
        return type(batch)({k: _pin(v) for k, v in batch.items()})
    if isinstance(batch, tuple) and hasattr(batch, '_fields'):
        return type(batch)(*[_pin(v) for v in batch])
    if isinstance(batch, (tuple, list)):
        return type(batch)(_pin(v) for v in batch)
    return batch


class DataLoader:
    """Batches from a dataset, like ``torch.utils.data.DataLoader``.

    ``batch_size`` samples at a time (``None``: single samples through ``default_convert``),
    in order, shuffled (``shuffle=True``; a seeded ``generator`` repeats the order and each
    epoch gets a new one), or from your ``sampler`` / ``batch_sampler``; ``drop_last`` drops
    a short final batch; ``collate_fn`` merges samples (``default_collate``).

    ``num_workers > 0`` loads in forked worker processes (``prefetch_factor`` batches ahead
    each) and returns batches in the same order as ``num_workers=0``. Each worker seeds
    Python's ``random``, NumPy's global generator and ember's default generator from a base
    seed drawn from ``generator`` (or ember's default generator) each epoch plus its worker
    id, then calls ``worker_init_fn(worker_id)``; ``get_worker_info()`` tells a worker who it
    is. Datasets reach workers by fork, so with a ``multiprocessing_context`` other than
    ``'fork'`` they must be picklable (ember tensors are not). ``pin_memory=True`` hands out
    batches whose tensors are in pinned host memory (``Tensor.pin_memory``; copied in the main
    process as they are handed out), so that ``.to('cuda', non_blocking=True)`` does not wait;
    without CUDA it warns and does nothing. ``persistent_workers`` is accepted for
    compatibility and does nothing: workers start afresh each epoch.

    >>> ds = ember.data.TensorDataset(ember.arange(10.0), ember.arange(10))
    >>> g = ember.Generator().manual_seed(0)
    >>> loader = ember.data.DataLoader(ds, batch_size=4, shuffle=True, generator=g)
    >>> len(loader), [len(y) for x, y in loader]
    (3, [4, 4, 2])
    """

    def __init__(self, dataset: Dataset | MapDataset, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable[list] | None = None, num_workers: int = 0,
                 collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f'DataLoader: num_workers option should be non-negative; use '
                             f'num_workers=0 to disable multiprocessing, got {num_workers!r}')
        if timeout < 0:
            raise ValueError(f'DataLoader: timeout option should be non-negative, got {timeout}')
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError('DataLoader: prefetch_factor option could only be specified in '
                             'multiprocessing; let num_workers > 0 to enable multiprocessing, '
                             'otherwise set prefetch_factor to None')
        if persistent_workers and num_workers == 0:
            raise ValueError('DataLoader: persistent_workers option needs num_workers > 0')
        if isinstance(multiprocessing_context, str):
            import multiprocessing
            methods = multiprocessing.get_all_start_methods()
            if multiprocessing_context not in methods:
                raise ValueError(f'DataLoader: multiprocessing_context option should specify a '
                                 f'valid start method in {methods}, but got '
                                 f'multiprocessing_context={multiprocessing_context!r}')
        if prefetch_factor is not None and prefetch_factor < 1:
            raise ValueError(f'DataLoader: prefetch_factor must be >= 1, got {prefetch_factor}')
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f'DataLoader with IterableDataset: expected unspecified shuffle '
                                 f'option, but got shuffle={shuffle}')
            if sampler is not None or batch_sampler is not None:
                raise ValueError('DataLoader with IterableDataset: expected unspecified sampler '
                                 'and batch_sampler options')
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError('DataLoader: sampler option is mutually exclusive with shuffle')
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError('DataLoader: batch_sampler option is mutually exclusive with '
                                 'batch_size, shuffle, sampler, and drop_last')
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError('DataLoader: batch_size=None option disables auto-batching and is '
                             'mutually exclusive with drop_last')
        if not self._iterable:
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=generator) if shuffle
                           else SequentialSampler(dataset))
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and
                                                             batch_size is not None)
        self.collate_fn = collate_fn or (default_collate if self._auto_collation
                                         else default_convert)
        self.num_workers, self.timeout, self.worker_init_fn = num_workers, timeout, worker_init_fn
        self.multiprocessing_context, self.generator = multiprocessing_context, generator
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.pin_memory, self.persistent_workers = pin_memory, persistent_workers

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> Iterator[Any]:
        it: Iterator[Any]
        if self.num_workers == 0:
            it = _SingleProcessIter(self)
        else:
            from ._workers import MultiProcessIter
            it = MultiProcessIter(self)
        if self.pin_memory:
            from .. import cuda
            if cuda.is_available():
                return _Pinned(it)
            warnings.warn("DataLoader: 'pin_memory' is set but no CUDA device is visible, so "
                          "pinned memory is not used")
        return it

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)
