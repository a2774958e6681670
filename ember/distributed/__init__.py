"""``ember.distributed``: process groups and collectives, as ``torch.distributed``.

The backend is MPI (mpi4py on an MPI library such as the MPICH wheel: ``pip install
'ember[distributed]'``), imported when a group is made, never by ``import ember``. Start a job
with ``python -m ember.distributed.run --nproc N script.py`` or ``mpiexec -n N python
script.py``; each process calls ``init_process_group('mpi')`` and learns its rank and the
world size from MPI. Tensors travel through MPI's buffer interface, in place, without copies
and never as Python objects. A rank that raises stops the whole job; a collective that does
not finish within the group's timeout raises naming the call. Guide: docs/distributed.md.
"""
import enum
import os

import numpy as np

from .._tensor import Tensor
from . import _mpi

__all__ = ['ReduceOp', 'Work', 'is_available', 'init_process_group', 'is_initialized',
           'destroy_process_group', 'get_rank', 'get_world_size', 'get_backend', 'barrier',
           'all_reduce', 'broadcast', 'all_gather', 'all_gather_into_tensor', 'reduce_scatter',
           'reduce_scatter_tensor', 'reduce', 'gather', 'scatter', 'send', 'recv', 'isend',
           'irecv']

_state: dict = {'group': None, 'hook': None}


class ReduceOp(enum.Enum):
    """How ``all_reduce`` and ``reduce_scatter`` combine the ranks' tensors.

    >>> ember.distributed.ReduceOp.AVG
    <ReduceOp.AVG: 'AVG'>
    """
    SUM = 'SUM'
    AVG = 'AVG'
    MAX = 'MAX'
    MIN = 'MIN'
    PRODUCT = 'PRODUCT'


class Work:
    """The handle of a collective started with ``async_op=True``: ``wait()`` finishes it.

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> t = ember.ones(3)
    >>> work = dist.all_reduce(t, async_op=True)
    >>> work.wait(), work.is_completed(), t
    (True, True, tensor([1., 1., 1.]))
    >>> dist.destroy_process_group()
    """

    def __init__(self, group, reqs, what, after=None):
        self._group, self._reqs, self._what, self._after = group, reqs, what, after
        self._done = False

    def is_completed(self) -> bool:
        """Whether the collective has finished (without waiting; finishes it if so).

        >>> import ember.distributed as dist
        >>> dist.init_process_group('mpi')
        >>> dist.barrier(async_op=True).is_completed() in (True, False)
        True
        >>> dist.destroy_process_group()
        """
        if not self._done and self._group.MPI.Request.Testall(self._reqs):
            self._finish()
        return self._done

    def wait(self, timeout=None) -> bool:
        """Block until the collective has finished (raise past ``timeout`` or the group's).

        >>> import ember.distributed as dist
        >>> dist.init_process_group('mpi')
        >>> dist.barrier(async_op=True).wait()
        True
        >>> dist.destroy_process_group()
        """
        if not self._done:
            self._group.wait(self._reqs, self._what, _seconds(timeout))
            self._finish()
        return True

    def _finish(self):
        self._done = True
        if self._after is not None:
            self._after()


def is_available() -> bool:
    """Whether ``ember.distributed`` can run here (mpi4py is installed).

    >>> ember.distributed.is_available() in (True, False)
    True
    """
    import importlib.util
    return importlib.util.find_spec('mpi4py') is not None


def _seconds(timeout):
    if timeout is None or isinstance(timeout, (int, float)):
        return timeout
    return timeout.total_seconds()


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name='', device_id=None):
    """Join the job's default process group. ``backend``: ``'mpi'`` (the default); rank and
    world size come from MPI (``world_size`` and ``rank``, or the launcher's ``RANK`` and
    ``WORLD_SIZE``, are checked against it). ``timeout`` (a ``timedelta`` or seconds, 30
    minutes by default): how long a collective may wait before it raises. Also installs the
    fault hook: an uncaught exception on one rank aborts every rank.

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')   # one process here: rank 0 of 1
    >>> dist.get_rank(), dist.get_world_size(), dist.is_initialized()
    (0, 1, True)
    >>> dist.destroy_process_group()
    """
    backend = 'mpi' if backend is None else str(backend).lower()
    if backend == 'nccl':
        raise NotImplementedError("init_process_group: the 'nccl' backend is not built yet; "
                                  "use backend='mpi' (CPU tensors)")
    if backend != 'mpi':
        raise ValueError(f"init_process_group: unknown backend {backend!r}; ember has 'mpi'")
    if _state['group'] is not None:
        raise RuntimeError('init_process_group: the default process group is already '
                           'initialized (call destroy_process_group first)')
    if init_method not in (None, 'env://') or store is not None:
        raise ValueError(f'init_process_group: init_method={init_method!r}, store={store!r}: '
                         f'MPI finds the other processes itself; start the job with '
                         f'mpiexec or python -m ember.distributed.run')
    MPI = _mpi.load_mpi()
    world = MPI.COMM_WORLD
    for name, given, env in (('rank', rank, 'RANK'), ('world_size', world_size, 'WORLD_SIZE')):
        actual = world.Get_rank() if name == 'rank' else world.Get_size()
        for source, value in ((name, given), (env, os.environ.get(env))):
            if value not in (None, -1) and int(value) != actual:
                raise ValueError(f'init_process_group: {source}={value} but MPI started this '
                                 f'process as rank {world.Get_rank()} of {world.Get_size()}; '
                                 f'start N processes with mpiexec -n N or '
                                 f'python -m ember.distributed.run --nproc N')
    limit = 1800.0 if timeout is None else float(_seconds(timeout))
    group = _mpi.Group(world.Dup(), limit)
    _state['group'] = group
    _state['hook'] = _mpi.install_fault_hook(group)


def is_initialized() -> bool:
    """Whether ``init_process_group`` has been called (and not undone).

    >>> ember.distributed.is_initialized()
    False
    """
    return _state['group'] is not None


def destroy_process_group(group=None) -> None:
    """Leave the default process group (MPI itself stays up until the process exits).

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi'); dist.destroy_process_group(); dist.is_initialized()
    False
    """
    g = _group(group, 'destroy_process_group')
    import sys
    if sys.excepthook is not _state['hook']:
        sys.excepthook = _state['hook']
    g.comm.Free()
    _state['group'] = _state['hook'] = None


def _group(group, op):
    g = _state['group']
    if g is None:
        raise RuntimeError(f'{op}: the default process group is not initialized; call '
                           f'ember.distributed.init_process_group() first')
    if group is not None and group is not g:
        raise ValueError(f'{op}: only the default group (group=None) exists in ember')
    return g


def get_rank(group=None) -> int:
    """This process's rank in the group (0 to world size - 1).

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi'); dist.get_rank()
    0
    >>> dist.destroy_process_group()
    """
    return _group(group, 'get_rank').rank


def get_world_size(group=None) -> int:
    """The number of processes in the group.

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi'); dist.get_world_size()
    1
    >>> dist.destroy_process_group()
    """
    return _group(group, 'get_world_size').size


def get_backend(group=None) -> str:
    """The group's backend's name.

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi'); dist.get_backend()
    'mpi'
    >>> dist.destroy_process_group()
    """
    _group(group, 'get_backend')
    return 'mpi'


def _array(t, op, name='tensor'):
    """The CPU, contiguous array behind ``t``, which the collective reads and writes."""
    if not isinstance(t, Tensor):
        raise TypeError(f'{op}: {name} must be an ember.Tensor, got {type(t).__name__}')
    a = t._data
    if type(a) is not np.ndarray:
        raise RuntimeError(f'{op}: {name} is on {t.device}; the mpi backend takes CPU '
                           f'tensors (move it with .cpu())')
    if not a.flags.c_contiguous:
        raise RuntimeError(f'{op}: {name} of shape {tuple(a.shape)} is not contiguous; pass '
                           f'tensor.contiguous() and copy the result back')
    return a


def _op_name(op):
    name = op.value if isinstance(op, ReduceOp) else str(op).rpartition('.')[2].upper()
    if name not in ReduceOp.__members__:
        raise ValueError(f'unknown reduce op {op!r}; one of {list(ReduceOp.__members__)}')
    return name


def _start(g, reqs, what, after, async_op, touched=()):
    def finish():
        for t in touched:
            t._version[0] += 1
        if after is not None:
            after()
    work = Work(g, reqs, what, finish)
    if async_op:
        return work
    work.wait()
    return None


def _average(a, n, op):
    if op == 'AVG':
        if a.dtype.kind not in 'fc':
            raise TypeError(f'ReduceOp.AVG on {a.dtype} tensors: use SUM and divide, or a '
                            f'float tensor')
        def divide():
            a[...] /= n
        return divide
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` across the ranks, in place (every rank gets the result).

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> t = ember.tensor([1.0, 4.0]); dist.all_reduce(t, op=dist.ReduceOp.MAX); t
    tensor([1., 4.])
    >>> dist.destroy_process_group()
    """
    g, a = _group(group, 'all_reduce'), _array(tensor, 'all_reduce')
    name = _op_name(op)
    after = _average(a, g.size, name)
    g.agree('all_reduce', a, list(ReduceOp.__members__).index(name))
    req = g.comm.Iallreduce(g.MPI.IN_PLACE, a, _mpi.mpi_op(g.MPI, name))
    return _start(g, [req], f'all_reduce of {tuple(a.shape)} {a.dtype}', after, async_op,
                  (tensor,))


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``, in place.

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> t = ember.arange(3.0); dist.broadcast(t, src=0); t
    tensor([0., 1., 2.])
    >>> dist.destroy_process_group()
    """
    g, a = _group(group, 'broadcast'), _array(tensor, 'broadcast')
    if not 0 <= src < g.size:
        raise ValueError(f'broadcast: src={src} is not a rank of a group of {g.size}')
    g.agree('broadcast', a, src)
    req = g.comm.Ibcast(a, root=src)
    return _start(g, [req], f'broadcast of {tuple(a.shape)} {a.dtype} from rank {src}', None,
                  async_op, (tensor,))


def _same(op, t, arrays, names):
    for a, n in zip(arrays, names):
        if a.shape != t.shape or a.dtype != t.dtype:
            raise ValueError(f'{op}: {n} has shape {tuple(a.shape)} {a.dtype}, expected '
                             f'{tuple(t.shape)} {t.dtype}')


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Gather every rank's ``tensor`` into ``tensor_list`` (one tensor per rank, in rank
    order; gathered in one buffer, then copied into the list's tensors).

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> out = [ember.zeros(2)]; dist.all_gather(out, ember.tensor([5.0, 6.0])); out
    [tensor([5., 6.])]
    >>> dist.destroy_process_group()
    """
    g, a = _group(group, 'all_gather'), _array(tensor, 'all_gather')
    if len(tensor_list) != g.size:
        raise ValueError(f'all_gather: tensor_list has {len(tensor_list)} tensors for a group '
                         f'of {g.size}')
    outs = [_array(t, 'all_gather', f'tensor_list[{i}]') for i, t in enumerate(tensor_list)]
    _same('all_gather', a, outs, [f'tensor_list[{i}]' for i in range(len(outs))])
    g.agree('all_gather', a)
    buf = np.empty((g.size,) + a.shape, a.dtype)

    def scatter_back():
        for o, b in zip(outs, buf):
            o[...] = b
    req = g.comm.Iallgather(a, buf)
    return _start(g, [req], f'all_gather of {tuple(a.shape)} {a.dtype}', scatter_back,
                  async_op, tensor_list)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Gather every rank's ``input_tensor`` into ``output_tensor``, concatenated along dim 0
    in rank order (``output_tensor`` holds world size times as many rows; no copy).

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> out = ember.zeros(2); dist.all_gather_into_tensor(out, ember.ones(2)); out
    tensor([1., 1.])
    >>> dist.destroy_process_group()
    """
    g = _group(group, 'all_gather_into_tensor')
    a = _array(input_tensor, 'all_gather_into_tensor', 'input_tensor')
    o = _array(output_tensor, 'all_gather_into_tensor', 'output_tensor')
    if o.dtype != a.dtype or o.size != a.size * g.size:
        raise ValueError(f'all_gather_into_tensor: output_tensor {tuple(o.shape)} {o.dtype} '
                         f'cannot hold {g.size} inputs of {tuple(a.shape)} {a.dtype}')
    g.agree('all_gather_into_tensor', a)
    req = g.comm.Iallgather(a, o)
    return _start(g, [req], f'all_gather_into_tensor of {tuple(a.shape)} {a.dtype}', None,
                  async_op, (output_tensor,))


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list`` (one tensor per rank) across the ranks; rank ``r`` gets the
    reduction of everyone's ``input_list[r]`` in ``output``.

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> out = ember.zeros(2); dist.reduce_scatter(out, [ember.tensor([1.0, 2.0])]); out
    tensor([1., 2.])
    >>> dist.destroy_process_group()
    """
    g, o = _group(group, 'reduce_scatter'), _array(output, 'reduce_scatter', 'output')
    if len(input_list) != g.size:
        raise ValueError(f'reduce_scatter: input_list has {len(input_list)} tensors for a '
                         f'group of {g.size}')
    ins = [_array(t, 'reduce_scatter', f'input_list[{i}]') for i, t in enumerate(input_list)]
    _same('reduce_scatter', o, ins, [f'input_list[{i}]' for i in range(len(ins))])
    return _reduce_scatter(g, o, np.stack(ins), op, async_op, output, 'reduce_scatter')


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """``reduce_scatter`` on one tensor: ``input`` holds world size blocks along dim 0; rank
    ``r`` gets the reduction of everyone's block ``r`` in ``output`` (no copy).

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> out = ember.zeros(2); dist.reduce_scatter_tensor(out, ember.ones(2)); out
    tensor([1., 1.])
    >>> dist.destroy_process_group()
    """
    g = _group(group, 'reduce_scatter_tensor')
    o = _array(output, 'reduce_scatter_tensor', 'output')
    a = _array(input, 'reduce_scatter_tensor', 'input')
    if o.dtype != a.dtype or a.size != o.size * g.size:
        raise ValueError(f'reduce_scatter_tensor: input {tuple(a.shape)} {a.dtype} is not '
                         f'{g.size} blocks of the output {tuple(o.shape)} {o.dtype}')
    return _reduce_scatter(g, o, a, op, async_op, output, 'reduce_scatter_tensor')


def _reduce_scatter(g, o, send, op, async_op, output, what):
    name = _op_name(op)
    after = _average(o, g.size, name)
    g.agree(what, o, list(ReduceOp.__members__).index(name))
    req = g.comm.Ireduce_scatter_block(send, o, _mpi.mpi_op(g.MPI, name))
    return _start(g, [req], f'{what} of {tuple(o.shape)} {o.dtype}', after, async_op,
                  (output,))


def _root(g, op, rank, name):
    if not 0 <= rank < g.size:
        raise ValueError(f'{op}: {name}={rank} is not a rank of a group of {g.size}')


def reduce(tensor, dst, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` across the ranks into rank ``dst``'s ``tensor`` (the others' are
    left as they were).

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> t = ember.tensor([2.0, 3.0]); dist.reduce(t, dst=0, op=dist.ReduceOp.PRODUCT); t
    tensor([2., 3.])
    >>> dist.destroy_process_group()
    """
    g, a = _group(group, 'reduce'), _array(tensor, 'reduce')
    _root(g, 'reduce', dst, 'dst')
    name = _op_name(op)
    after = _average(a, g.size, name) if g.rank == dst else None
    g.agree('reduce', a, 10 * dst + list(ReduceOp.__members__).index(name))
    MPI = g.MPI
    send, recv = (MPI.IN_PLACE, a) if g.rank == dst else (a, None)
    req = g.comm.Ireduce(send, recv, _mpi.mpi_op(MPI, name), root=dst)
    return _start(g, [req], f'reduce of {tuple(a.shape)} {a.dtype} to rank {dst}', after,
                  async_op, (tensor,) if g.rank == dst else ())


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """Gather every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (one tensor per
    rank; the other ranks pass None).

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> out = [ember.zeros(2)]; dist.gather(ember.ones(2), out, dst=0); out
    [tensor([1., 1.])]
    >>> dist.destroy_process_group()
    """
    g, a = _group(group, 'gather'), _array(tensor, 'gather')
    _root(g, 'gather', dst, 'dst')
    outs, buf, after = _rooted_list(g, 'gather', a, gather_list, dst, 'gather_list')
    if outs is not None:
        def after():
            for o, b in zip(outs, buf):
                o[...] = b
    g.agree('gather', a, dst)
    req = g.comm.Igather(a, buf, root=dst)
    return _start(g, [req], f'gather of {tuple(a.shape)} {a.dtype} to rank {dst}', after,
                  async_op, gather_list if outs is not None else ())


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Rank ``src`` sends ``scatter_list[r]`` to rank ``r``, into its ``tensor`` (the other
    ranks pass None as the list).

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> t = ember.zeros(2); dist.scatter(t, [ember.tensor([4.0, 5.0])], src=0); t
    tensor([4., 5.])
    >>> dist.destroy_process_group()
    """
    g, a = _group(group, 'scatter'), _array(tensor, 'scatter')
    _root(g, 'scatter', src, 'src')
    ins, buf, _ = _rooted_list(g, 'scatter', a, scatter_list, src, 'scatter_list')
    if ins is not None:
        buf[...] = np.stack(ins)
    g.agree('scatter', a, src)
    req = g.comm.Iscatter(buf, a, root=src)
    return _start(g, [req], f'scatter of {tuple(a.shape)} {a.dtype} from rank {src}', None,
                  async_op, (tensor,))


def _rooted_list(g, op, a, tensors, root, name):
    """The root's list of arrays (checked: one per rank, each like ``a``) and the one buffer
    MPI fills or reads there; (None, None, None) on the other ranks, which pass no list."""
    if g.rank != root:
        if tensors is not None:
            raise ValueError(f'{op}: {name} is given on rank {g.rank}, which is not rank '
                             f'{root}: pass None there')
        return None, None, None
    if tensors is None or len(tensors) != g.size:
        got = 'None' if tensors is None else f'{len(tensors)} tensors'
        raise ValueError(f'{op}: {name} on rank {root} must hold one tensor per rank '
                         f'({g.size}), got {got}')
    arrays = [_array(t, op, f'{name}[{i}]') for i, t in enumerate(tensors)]
    _same(op, a, arrays, [f'{name}[{i}]' for i in range(len(arrays))])
    return arrays, np.empty((g.size,) + a.shape, a.dtype), None


def barrier(group=None, async_op=False):
    """Wait until every rank has reached this call.

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi'); dist.barrier(); dist.destroy_process_group()
    """
    g = _group(group, 'barrier')
    g.agree('barrier')
    return _start(g, [g.comm.Ibarrier()], 'barrier', None, async_op)


def isend(tensor, dst, group=None, tag=0):
    """Start sending ``tensor`` to rank ``dst``; returns a ``Work`` to ``wait()`` on.

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> w = dist.isend(ember.ones(2), dst=0); t = ember.zeros(2); dist.recv(t, src=0)
    0
    >>> w.wait(), t
    (True, tensor([1., 1.]))
    >>> dist.destroy_process_group()
    """
    g, a = _group(group, 'isend'), _array(tensor, 'isend')
    if not 0 <= dst < g.size:
        raise ValueError(f'isend: dst={dst} is not a rank of a group of {g.size}')
    req = g.comm.Isend(a, dest=dst, tag=tag)
    return Work(g, [req], f'send of {tuple(a.shape)} {a.dtype} to rank {dst} (tag {tag})')


def send(tensor, dst, group=None, tag=0):
    """Send ``tensor`` to rank ``dst`` (returns when the buffer may be reused).

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> w = dist.irecv(t := ember.zeros(1), src=0); dist.send(ember.ones(1), dst=0)
    >>> w.wait(), t
    (True, tensor([1.]))
    >>> dist.destroy_process_group()
    """
    isend(tensor, dst, group, tag).wait()


def irecv(tensor, src=None, group=None, tag=0):
    """Start receiving into ``tensor`` from rank ``src`` (None: any rank); returns a ``Work``.

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> w = dist.irecv(t := ember.zeros(2)); dist.send(ember.ones(2), dst=0); w.wait()
    True
    >>> dist.destroy_process_group()
    """
    g, a = _group(group, 'irecv'), _array(tensor, 'irecv')
    MPI = g.MPI
    source = MPI.ANY_SOURCE if src is None else src
    req = g.comm.Irecv(a, source=source, tag=tag)
    frm = 'any rank' if src is None else f'rank {src}'
    work = Work(g, [req], f'recv of {tuple(a.shape)} {a.dtype} from {frm} (tag {tag}; a '
                          f'message of another size or dtype fails here)',
                lambda: tensor._version.__setitem__(0, tensor._version[0] + 1))
    return work


def recv(tensor, src=None, group=None, tag=0) -> int:
    """Receive into ``tensor`` from rank ``src`` (None: any rank); returns the sender's rank.

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> w = dist.isend(ember.tensor([7.0]), dst=0); t = ember.zeros(1); dist.recv(t), t
    (0, tensor([7.]))
    >>> dist.destroy_process_group()
    """
    g, a = _group(group, 'recv'), _array(tensor, 'recv')
    MPI = g.MPI
    status = MPI.Status()
    source = MPI.ANY_SOURCE if src is None else src
    req = g.comm.Irecv(a, source=source, tag=tag)
    frm = 'any rank' if src is None else f'rank {src}'
    g.wait([req], f'recv of {tuple(a.shape)} {a.dtype} from {frm} (tag {tag}; the sender '
                  f'must send this shape and dtype)', statuses=[status])
    tensor._version[0] += 1
    return status.Get_source()


from . import optim  # noqa: E402  (ZeroRedundancyOptimizer, as torch.distributed.optim)
