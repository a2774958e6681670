"""DistributedDataParallel: one model per process, gradients averaged as backward makes them.

At wrap the parameters and buffers are broadcast from rank 0, and the ranks check that their
models have the same parameters. The parameters that need gradients are cut into buckets in
reverse order (about the order backward produces their gradients; the first bucket small, 1
MiB, so communication starts early). A post-accumulate-grad hook on each parameter counts it
ready; when a bucket is complete and every bucket before it has started, its gradients are
copied into one flat buffer and an all-reduce of it starts (nonblocking), while backward goes
on with the layers below. The hook of the last parameter waits for the buckets and writes the
averaged gradients back into ``.grad``.
"""
import contextlib
import zlib

import numpy as np

from ... import autograd
from ..._tensor import Tensor
from ..module import Module

FIRST_BUCKET_BYTES = 1 << 20


class _Bucket:
    def __init__(self, params):
        self.params = params
        self.dtype = params[0]._data.dtype
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.buf = np.empty(int(self.offsets[-1]), self.dtype)
        self.used = np.zeros(len(params), np.int32)   # which had a gradient (find_unused)
        self.pending = len(params)

    def views(self):
        return [self.buf[a:b].reshape(p._data.shape)
                for p, a, b in zip(self.params, self.offsets[:-1], self.offsets[1:])]


def _buckets(params, cap_bytes):
    out, cur, size, cap = [], [], 0, FIRST_BUCKET_BYTES
    for p in reversed(params):
        if cur and p._data.dtype != cur[0]._data.dtype:
            out.append(cur)
            cur, size = [], 0
        cur.append(p)
        size += p._data.nbytes
        if size >= cap:
            out.append(cur)
            cur, size, cap = [], 0, cap_bytes
    if cur:
        out.append(cur)
    return [_Bucket(b) for b in out]


def _tensors(out):
    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, (list, tuple)):
        for o in out:
            yield from _tensors(o)
    elif isinstance(out, dict):
        for o in out.values():
            yield from _tensors(o)


class DistributedDataParallel(Module):
    """Data parallelism across the processes of ``ember.distributed``: wrap the model in
    each process, train each on its own shard of the batch, and every rank ends backward
    with the gradient averaged over all ranks (as one process on the whole batch would
    compute it, to float32 rounding, when the loss is a mean and the shards are equal).

    ``bucket_cap_mb``: the size of the gradient buckets (the first is 1 MiB);
    ``find_unused_parameters``: look through each forward's graph for parameters it does not
    reach (they count as ready with a zero gradient; one unused on every rank keeps its
    ``.grad``); ``broadcast_buffers``: copy rank 0's buffers to all ranks before each forward.
    ``no_sync()`` skips the averaging (gradient accumulation).

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> model = ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(3, 1))
    >>> model(ember.ones(2, 3)).sum().backward()
    >>> model.module.weight.grad
    tensor([[2., 2., 2.]])
    >>> dist.destroy_process_group()
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=25,
                 find_unused_parameters=False, gradient_as_bucket_view=False,
                 static_graph=False):
        super().__init__()
        from ... import distributed as dist
        if gradient_as_bucket_view or static_graph:
            raise NotImplementedError('DistributedDataParallel: gradient_as_bucket_view and '
                                      'static_graph are not built in ember')
        if device_ids is not None or output_device is not None:
            raise ValueError(f'DistributedDataParallel: device_ids={device_ids}, output_device='
                             f'{output_device}: a CPU model takes None (as in torch)')
        self.module = module
        self._group = dist._group(process_group, 'DistributedDataParallel')
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        for n, p in named:
            if type(p._data) is not np.ndarray:
                raise RuntimeError(f'DistributedDataParallel: parameter {n} is on {p.device}; '
                                   f"the 'mpi' backend takes CPU models")
        self._names = {id(p): n for n, p in named}
        self._check_same_model(module)
        self._broadcast(list(module.parameters()) + self._buffers_list(), 'parameters')
        self._bucket_list = _buckets([p for _, p in named], int(bucket_cap_mb * (1 << 20)))
        self._bucket_of = {id(p): i for i, b in enumerate(self._bucket_list) for p in b.params}
        self._grad_hooks = [p.register_post_accumulate_grad_hook(self._on_grad) for _, p in named]
        self._armed = False
        self._reqs, self._next = [], 0
        self._marked = set()

    # ------------------------------------------------------------ wrap-time checks
    def _buffers_list(self):
        return [b for b in self.module.buffers() if b is not None]

    def _check_same_model(self, module):
        shapes = [(n, tuple(p.shape), str(p.dtype)) for n, p in module.named_parameters()]
        numel = sum(int(np.prod(s)) for _, s, _ in shapes)
        mine = np.array([len(shapes), numel, zlib.crc32(repr(shapes).encode())], np.int64)
        self._group.same(mine, 'DistributedDataParallel', lambda r: (
            f'{r[0]} parameters, {r[1]} elements, layout crc {r[2]:#x}'),
            'the models differ across ranks', 'wrap the same model on every rank')

    def _broadcast(self, tensors, what):
        g = self._group
        arrays = [t._data for t in tensors if t._data.size]
        g.wait([g.comm.Ibcast(a, root=0) for a in arrays],
               f'DistributedDataParallel: broadcast of the {what} from rank 0')

    # ------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        if self._armed and self._marked:
            names = [self._names[id(p)] for b in self._bucket_list for p in b.params
                     if id(p) not in self._marked]
            raise RuntimeError(
                f'DistributedDataParallel: rank {self._group.rank}: the previous backward '
                f'did not finish the gradient reduction: parameters {names} received no '
                f'gradient. Pass find_unused_parameters=True if some parameters are not '
                f'used in every forward, or make every output take part in the loss')
        if self.broadcast_buffers and self.training:
            bufs = self._buffers_list()
            if bufs:
                self._broadcast(bufs, 'buffers')
        out = self.module(*inputs, **kwargs)
        self._armed = autograd.is_grad_enabled() and self.require_backward_grad_sync
        self._reqs, self._next, self._marked = [], 0, set()
        for b in self._bucket_list:
            b.pending, b.used[:] = len(b.params), 0
        if self._armed and self.find_unused_parameters:
            self._mark_unused(out)
        return out

    def _mark_unused(self, out):
        roots = [e[0] for e in (autograd._edge(t) for t in _tensors(out)) if e is not None]
        reached = {id(n) for n in autograd._topo_order(roots) if isinstance(n, Tensor)}
        for b in self._bucket_list:
            for p in b.params:
                if id(p) not in reached:
                    self._ready(p)

    @contextlib.contextmanager
    def no_sync(self):
        """Forwards inside this context leave their gradients on each rank (accumulated in
        ``.grad``); the first forward and backward after it averages the sum.

        >>> import ember.distributed as dist
        >>> dist.init_process_group('mpi')
        >>> model = ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(2, 1))
        >>> with model.no_sync():
        ...     model(ember.ones(1, 2)).sum().backward()
        >>> model(ember.ones(1, 2)).sum().backward(); model.module.bias.grad
        tensor([2.])
        >>> dist.destroy_process_group()
        """
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ------------------------------------------------------------ backward
    def _on_grad(self, p):
        if not self._armed:
            return
        if id(p) in self._marked:
            raise RuntimeError(f'DistributedDataParallel: parameter {self._names[id(p)]} got '
                               f'a second gradient in one backward (a second backward through '
                               f'the same forward, or find_unused_parameters marked it unused)')
        self._ready(p)

    def _ready(self, p):
        self._marked.add(id(p))
        b = self._bucket_list[self._bucket_of[id(p)]]
        b.pending -= 1
        if b.pending:
            if self._reqs:
                self._group.MPI.Request.Testall(self._reqs)   # (lets MPI progress)
            return
        g = self._group
        while self._next < len(self._bucket_list) and not self._bucket_list[self._next].pending:
            b = self._bucket_list[self._next]
            for i, (q, v) in enumerate(zip(b.params, b.views())):
                b.used[i] = q._grad is not None
                v[...] = q._grad._data if q._grad is not None else 0
            self._reqs.append(g.comm.Iallreduce(g.MPI.IN_PLACE, b.buf, g.MPI.SUM))
            if self.find_unused_parameters:
                self._reqs.append(g.comm.Iallreduce(g.MPI.IN_PLACE, b.used, g.MPI.MAX))
            self._next += 1
        if self._next == len(self._bucket_list):
            self._finish()

    def _finish(self):
        g = self._group
        g.wait(self._reqs, f'DistributedDataParallel: the gradient all-reduce of '
                           f'{len(self._bucket_list)} buckets')
        for b in self._bucket_list:
            b.buf /= g.size
            for q, v, used in zip(b.params, b.views(), b.used):
                if self.find_unused_parameters and not used:
                    continue   # unused on every rank: .grad stays as it was
                if q._grad is None:
                    q._grad = Tensor._make(v.copy())
                else:
                    q._grad._data[...] = v
                    q._grad._version[0] += 1
        self._armed, self._reqs = False, []
