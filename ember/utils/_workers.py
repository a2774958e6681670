"""DataLoader worker processes: seeding, the worker loop, and the iterator that feeds them.

Workers send each batch to the main process as ``ember.save`` bytes (a safetensors file in
memory), so what the main process loads is validated data that runs no code. A batch may hold
tensors, NumPy arrays, numbers, strings, and lists, tuples and dicts of them (a namedtuple
arrives as a plain tuple).
"""
import builtins
import io
import itertools
import multiprocessing
import os
import queue
import random as _pyrandom
import signal
import sys
import time
import traceback

import numpy as np

from ..random import manual_seed
from ..serialization import load, save
from .data import WorkerInfo, _draw_seed, _fetcher

worker_info = None   # this process's WorkerInfo when it is a worker
_POLL_S = 1.0   # how often a blocked worker checks its parent, and the main process its workers


class _WorkerError:
    """An exception raised in a worker, sent to the main process as text and raised there."""

    def __init__(self, worker_id, where):
        exc_type, exc, _ = sys.exc_info()
        self.worker_id, self.where, self.type = worker_id, where, exc_type.__name__
        self.text = ''.join(traceback.format_exception(exc_type, exc, exc.__traceback__))

    def message(self, idx):
        return dict(kind='error', idx=idx, worker=self.worker_id, where=self.where,
                    type=self.type, text=self.text)


def _reraise(msg):
    """Raise a worker's error in the main process, as its built-in type where there is one."""
    text = (f"Caught {msg['type']} in DataLoader worker process {msg['worker']} "
            f"{msg['where']}.\nOriginal {msg['text']}")
    exc_type = getattr(builtins, msg['type'], None)
    if not (isinstance(exc_type, type) and issubclass(exc_type, Exception)):
        exc_type = RuntimeError
    if issubclass(exc_type, KeyError):   # KeyError's str() is its argument's repr: one line
        text = _Lines(text)                # with a literal \n, unless the text reprs as itself
    try:
        err = exc_type(text)
    except Exception:
        err = RuntimeError(text)
    raise err


class _Lines(str):
    """A str whose repr is itself, so a KeyError prints its lines (as torch's KeyErrorMessage)."""

    def __repr__(self):
        return self


def _pack(message):
    """Messages travel as ember.save bytes (safetensors): loading them runs no code."""
    buf = io.BytesIO()
    save(message, buf)
    return buf.getvalue()


def _unpack(raw):
    return load(io.BytesIO(raw))


def _seed_worker(base_seed, worker_id):
    seed = base_seed + worker_id
    _pyrandom.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def _worker_loop(loader, index_queue, result_queue, base_seed, worker_id, parent_pid):
    global worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the main process handles Ctrl-C
    seed = _seed_worker(base_seed, worker_id)
    worker_info = WorkerInfo(worker_id, loader.num_workers, seed, loader.dataset)
    error = fetcher = None
    try:
        if loader.worker_init_fn is not None:
            loader.worker_init_fn(worker_id)
        fetcher = _fetcher(loader)
    except Exception:
        error = _WorkerError(worker_id, 'while starting (worker_init_fn or iter(dataset))')
    ended = False
    while True:
        try:
            task = index_queue.get(timeout=_POLL_S)
        except queue.Empty:
            if os.getppid() != parent_pid:   # the main process is gone
                break
            continue
        if task is None:
            break
        if ended:
            continue
        idx, index = task
        if error is not None:
            message = error.message(idx)
        else:
            try:
                message = dict(kind='data', idx=idx, data=fetcher.fetch(index))
            except StopIteration:
                ended, message = True, dict(kind='end', idx=idx, worker=worker_id)
            except Exception:
                message = _WorkerError(worker_id, f'while fetching index {index}').message(idx)
        try:   # packed here: a failure in the queue's feeder thread would be lost silently
            payload = _pack(message)
        except Exception:
            payload = _pack(_WorkerError(worker_id, 'while sending a batch (a batch may hold '
                                                    'tensors, arrays, numbers, strings, and '
                                                    'lists, tuples and dicts of them)')
                            .message(idx))
        result_queue.put(payload)
    result_queue.cancel_join_thread()   # results left now are ones nobody will read


class MultiProcessIter:
    """Hands sampler indices to the workers round-robin and returns their batches in order."""

    def __init__(self, loader):
        self._loader = loader
        self._closed = True
        self._base_seed = _draw_seed(loader.generator)
        self._index_iter = (itertools.repeat(None) if loader._iterable
                            else iter(loader._index_sampler))
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = 'fork' if 'fork' in multiprocessing.get_all_start_methods() else None
        if ctx is None or isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        n = loader.num_workers
        self._result_queue = ctx.Queue()
        self._index_queues, self._workers = [], []
        for wid in range(n):
            q = ctx.Queue()
            w = ctx.Process(target=_worker_loop, daemon=True,
                            args=(loader, q, self._result_queue, self._base_seed, wid,
                                  os.getpid()))
            self._index_queues.append(q)
            self._workers.append(w)
            try:
                w.start()
            except Exception as e:   # spawn/forkserver must serialise the loader and dataset
                self._closed = False
                self._workers.pop()
                self._shutdown()
                raise TypeError(f'DataLoader: could not start worker {wid} with the '
                                f'{ctx.get_start_method()!r} start method, which must copy '
                                f'the dataset into the worker ({e}); use the fork start '
                                f'method') from e
        self._closed = False
        self._active = [True] * n
        self._worker_cycle = itertools.cycle(range(n))
        self._send_idx = self._rcvd_idx = 0
        self._task_info = {}   # send index -> [worker id] or [worker id, message]
        for _ in range(loader.prefetch_factor * n):
            self._put_task()

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def _put_task(self):
        try:
            index = next(self._index_iter)
        except StopIteration:
            return
        for _ in range(len(self._workers)):
            wid = next(self._worker_cycle)
            if self._active[wid]:
                break
        else:
            return
        self._index_queues[wid].put((self._send_idx, index))
        self._task_info[self._send_idx] = [wid]
        self._send_idx += 1

    def _get(self):
        timeout = self._loader.timeout
        start = time.monotonic()
        while True:
            wait = _POLL_S if not timeout else min(_POLL_S, max(timeout - (time.monotonic() -
                                                                            start), 0.01))
            try:
                return _unpack(self._result_queue.get(timeout=wait))
            except queue.Empty:
                pass
            if timeout and time.monotonic() - start >= timeout:
                self._shutdown()
                raise RuntimeError(f'DataLoader timed out after {timeout} seconds')
            dead = [w for w in self._workers if not w.is_alive()]
            if dead:
                self._shutdown()
                raise RuntimeError('DataLoader worker (pid(s) ' + ', '.join(
                    f'{w.pid}, exit code {w.exitcode}' for w in dead) + ') exited unexpectedly')

    def _deliver(self, msg):
        self._rcvd_idx += 1
        self._put_task()
        if msg['kind'] == 'error':
            self._shutdown()
            _reraise(msg)
        return msg['data']

    def __next__(self):
        while True:
            while self._rcvd_idx < self._send_idx:   # skip tasks of workers that have ended
                info = self._task_info[self._rcvd_idx]
                if len(info) == 2 or self._active[info[0]]:
                    break
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                self._shutdown()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                return self._deliver(self._task_info.pop(self._rcvd_idx)[1])
            msg = self._get()
            idx = msg['idx']
            if msg['kind'] == 'end':
                self._active[msg['worker']] = False
                self._put_task()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx].append(msg)
                continue
            del self._task_info[idx]
            return self._deliver(msg)

    def _shutdown(self):
        if self._closed:
            return
        self._closed = True
        for q in self._index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for w in self._workers:
            w.join(timeout=5)
            if w.is_alive():
                w.terminate()
                w.join(timeout=1)
        for q in self._index_queues + [self._result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        self._shutdown()
