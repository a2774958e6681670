"""``ember.distributed.optim``: ``ZeroRedundancyOptimizer``, optimizer state sharded across
the ranks (ZeRO's first stage), as ``torch.distributed.optim``."""
import io

import numpy as np

from ..optim.optimizer import Optimizer

__all__ = ['ZeroRedundancyOptimizer']


class ZeroRedundancyOptimizer(Optimizer):
    """Wrap ``optimizer_class`` so that each rank keeps the state (Adam's moments...) of only
    its share of the parameters: the parameters are dealt out largest first, each to the rank
    holding the fewest elements so far. ``step()`` updates this rank's share with the
    averaged gradients (as DistributedDataParallel leaves them) and broadcasts each parameter
    from its owner, so every rank ends the step with the same parameters as a plain optimizer
    would give, bit for bit, for about 1 / world size of its state memory.
    ``consolidate_state_dict(to=r)`` gathers the shards on rank ``r`` (as safetensors bytes
    through MPI, never as Python objects); there ``state_dict()`` is a plain optimizer's.

    >>> import ember.distributed as dist
    >>> dist.init_process_group('mpi')
    >>> w = ember.nn.Parameter(ember.ones(2))
    >>> opt = dist.optim.ZeroRedundancyOptimizer([w], ember.optim.SGD, lr=0.5)
    >>> (w * w).sum().backward(); opt.step(); w
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    >>> dist.destroy_process_group()
    """

    def __init__(self, params, optimizer_class, process_group=None,
                 parameters_as_bucket_view=False, overlap_with_ddp=False, **defaults):
        from . import _group
        super().__init__(params, defaults)
        if overlap_with_ddp or parameters_as_bucket_view:
            raise NotImplementedError('ZeroRedundancyOptimizer: overlap_with_ddp and '
                                      'parameters_as_bucket_view are not built in ember')
        self._group = _group(process_group, 'ZeroRedundancyOptimizer')
        load, self._owner = [0] * self._group.size, {}
        for g in self.param_groups:
            for p in sorted(g['params'], key=lambda p: -p.numel()):
                r = load.index(min(load))
                self._owner[id(p)] = r
                load[r] += p.numel()
        rank = self._group.rank
        self.optim = optimizer_class(
            [{**g, 'params': [p for p in g['params'] if self._owner[id(p)] == rank]}
             for g in self.param_groups], **defaults)
        for g, local in zip(self.param_groups, self.optim.param_groups):   # its defaults
            g.update({k: v for k, v in local.items() if k != 'params'})
        self.defaults = dict(self.optim.defaults)
        self.state = self.optim.state
        self._consolidated = None

    def _sync_groups(self):
        for g, local in zip(self.param_groups, self.optim.param_groups):
            local.update({k: v for k, v in g.items() if k != 'params'})   # (lr schedulers)

    def step(self, closure=None):
        """Update this rank's share (its optimizer), then broadcast every parameter from the
        rank that owns it; with a ``closure``, call it first and return its loss.

        >>> import ember.distributed as dist
        >>> dist.init_process_group('mpi')
        >>> w = ember.nn.Parameter(ember.ones(1)); w.grad = ember.ones(1)
        >>> dist.optim.ZeroRedundancyOptimizer([w], ember.optim.SGD, lr=0.5).step(); w.item()
        0.5
        >>> dist.destroy_process_group()
        """
        self._sync_groups()
        loss = self.optim.step(closure)
        g = self._group
        params = [p for grp in self.param_groups for p in grp['params']]
        reqs = [g.comm.Ibcast(p._data, root=self._owner[id(p)]) for p in params
                if p._data.size]
        g.wait(reqs, f'ZeroRedundancyOptimizer.step: broadcast of {len(reqs)} parameters '
                     f'from their owners')
        for p in params:
            p._version[0] += 1
        return loss

    def consolidate_state_dict(self, to=0):
        """Gather every rank's share of the state on rank ``to`` (call it on every rank).

        >>> import ember.distributed as dist
        >>> dist.init_process_group('mpi')
        >>> opt = dist.optim.ZeroRedundancyOptimizer([ember.nn.Parameter(ember.ones(1))],
        ...                                          ember.optim.Adam)
        >>> opt.consolidate_state_dict(to=0); opt.state_dict()['param_groups'][0]['lr']
        0.001
        >>> dist.destroy_process_group()
        """
        from ..serialization import load, save
        g = self._group
        full = Optimizer.state_dict(self)   # (this rank's state, by global index)
        buf = io.BytesIO()
        save({str(i): st for i, st in full['state'].items()}, buf)
        mine = np.frombuffer(buf.getvalue(), np.uint8)
        sizes = np.zeros(g.size, np.int64)
        g.wait([g.comm.Iallgather(np.array([mine.size], np.int64), sizes)],
               'consolidate_state_dict: the sizes of the shards')
        if g.rank != to:
            g.wait([g.comm.Isend(mine, dest=to, tag=7)], f'consolidate_state_dict: the send '
                                                         f'of this shard to rank {to}')
            self._consolidated = None
            return
        parts = {r: np.empty(int(sizes[r]), np.uint8) for r in range(g.size) if r != to}
        g.wait([g.comm.Irecv(b, source=r, tag=7) for r, b in parts.items()],
               f'consolidate_state_dict: the shards of {len(parts)} ranks')
        parts[to] = mine
        state = {}
        for r in range(g.size):
            state.update({int(i): st for i, st in load(io.BytesIO(parts[r].tobytes())).items()})
        self._consolidated = {'state': state, 'param_groups': full['param_groups']}

    def state_dict(self):
        """The whole state, as a plain optimizer's ``state_dict()``, on the rank that
        ``consolidate_state_dict`` gathered it on (see there).

        >>> import ember.distributed as dist
        >>> dist.init_process_group('mpi')
        >>> opt = dist.optim.ZeroRedundancyOptimizer([ember.nn.Parameter(ember.ones(1))],
        ...                                          ember.optim.SGD, lr=0.1)
        >>> opt.state_dict()
        Traceback (most recent call last):
        ...
        RuntimeError: ZeroRedundancyOptimizer.state_dict: the state has not been consolidated ...
        >>> dist.destroy_process_group()
        """
        if self._consolidated is None:
            r = self._group.rank
            raise RuntimeError(f'ZeroRedundancyOptimizer.state_dict: the state has not been '
                               f'consolidated on rank {r}: call consolidate_state_dict(to={r}) '
                               f'on every rank first')
        return self._consolidated

    def load_state_dict(self, state_dict):
        """Load a whole state (a plain optimizer's or a consolidated one), keeping this rank's
        share of it.

        >>> import ember.distributed as dist
        >>> dist.init_process_group('mpi')
        >>> w = ember.nn.Parameter(ember.ones(1))
        >>> opt = dist.optim.ZeroRedundancyOptimizer([w], ember.optim.SGD, lr=0.5)
        >>> opt.load_state_dict(ember.optim.SGD([w], lr=0.1).state_dict())
        >>> opt.optim.param_groups[0]['lr']
        0.1
        >>> dist.destroy_process_group()
        """
        Optimizer.load_state_dict(self, state_dict)
        rank = self._group.rank
        self.optim.state = {k: v for k, v in self.state.items() if self._owner[k] == rank}
        self.state = self.optim.state
        self._sync_groups()
