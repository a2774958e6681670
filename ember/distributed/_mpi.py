"""The MPI backend of ``ember.distributed``: one communicator, collectives as requests.

Every collective is started as a nonblocking MPI request on the tensor's own array (MPI's
buffer interface: mpi4py's uppercase methods, no copy and no object serialisation) and finished by
``wait``, which polls the request with short sleeps. Polling rather than a blocking
``MPI_Wait`` gives two things: a deadline (the group's timeout), so a job whose peer hung
or called something else fails with the call named instead of hanging; and a CPU handed back
between polls, so ranks oversubscribed on few cores do not spin against each other.

Before each user-level collective the ranks exchange a small integer signature (the call's
sequence number, op, dtype, shape and root or reduce op) with one ``Iallgather``: a rank that
calls a different collective, or the same one on another shape or dtype, makes every rank
raise one error naming it. DDP checks its buckets' layout once, when it wraps the model.
"""
import os
import sys
import time
import traceback

import numpy as np

EXTRA = "pip install 'ember[distributed]' (mpi4py and the MPICH wheel)"
DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int8', 'int16', 'int32', 'int64',
          'uint8', 'bool', 'complex64', 'complex128']
OPS = ['all_reduce', 'broadcast', 'all_gather', 'all_gather_into_tensor', 'reduce_scatter',
       'reduce_scatter_tensor', 'barrier', 'reduce', 'gather', 'scatter']
MAX_DIMS = 8
SPINS = 200   # polls before the first sleep (a few tens of microseconds)
SIG = 5 + MAX_DIMS   # seq, op, dtype, ndim, extra, shape...


def load_mpi():
    """mpi4py's ``MPI`` module (initialising MPI), or an ImportError naming the extra."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"ember.distributed's 'mpi' backend needs mpi4py and an MPI "
                          f"library: {EXTRA}") from e
    return MPI


class Group:
    """The MPI process group: a duplicate of ``COMM_WORLD`` and its settings."""

    def __init__(self, comm, timeout):
        self.comm, self.timeout = comm, timeout
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.seq = 0   # user-level collectives called so far (the signature's first number)
        self.MPI = load_mpi()

    def __repr__(self):
        return f'<ProcessGroup mpi rank={self.rank} size={self.size}>'

    def wait(self, reqs, what, timeout=None, statuses=None):
        """Poll ``reqs`` until all are done; past the timeout, raise naming ``what``."""
        MPI = self.MPI
        statuses = [MPI.Status() for _ in reqs] if statuses is None else statuses

        def test(reqs):
            return MPI.Request.Testall(reqs, statuses)
        try:
            if test(reqs):
                return
            limit = self.timeout if timeout is None else timeout
            deadline, delay, spins = time.monotonic() + limit, 2e-5, 0
            while not test(reqs):
                spins += 1
                if spins < SPINS:   # a peer that is about to arrive: no sleep yet
                    continue
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f'ember.distributed: rank {self.rank}: {what} did not finish within '
                        f'{limit:g} s: another rank died, hung or called a different '
                        f'collective (the launcher, python -m ember.distributed.run, names a '
                        f'rank that ended)')
                time.sleep(delay)
                delay = min(2 * delay, 1e-3)
        except MPI.Exception as e:
            why = e.Get_error_string()
            if e.Get_error_class() == MPI.ERR_IN_STATUS:   # the requests' own errors
                why = '; '.join(MPI.Get_error_string(s.Get_error()) for s in statuses
                                if s.Get_error() != MPI.SUCCESS)
            raise RuntimeError(f'ember.distributed: rank {self.rank}: {what} failed in MPI: '
                               f'{why}') from None

    def agree(self, op, arr=None, extra=0):
        """Check that every rank is making the same call; raise naming those that are not."""
        self.seq += 1
        self.same(signature(self.seq, op, arr, extra), f'call {self.seq}', describe,
                  'the ranks made different collective calls', 'every rank must call the '
                  'same collectives in the same order on tensors of the same shape and dtype')

    def same(self, mine, what, show, problem, rule):
        """Gather the int64 vector ``mine`` from every rank; unless all are equal, raise on
        every rank, listing each rank's vector as ``show`` writes it."""
        table = np.empty((self.size, len(mine)), np.int64)
        self.wait([self.comm.Iallgather(mine, table)], f'{show(mine)} ({what})')
        if any(not np.array_equal(row, table[0]) for row in table):
            lines = '; '.join(f'rank {r}: {show(table[r])}' for r in range(self.size))
            raise RuntimeError(f'ember.distributed: rank {self.rank}: {problem} ({what}): '
                               f'{lines}; {rule}')


def signature(seq, op, arr, extra):
    """A call's integer signature (shapes of more than ``MAX_DIMS`` dimensions are folded)."""
    sig = np.full(SIG, -1, np.int64)
    sig[:2] = seq, OPS.index(op)
    sig[4] = extra
    if arr is not None:
        name = arr.dtype.name if arr.dtype.name in DTYPES else str(arr.dtype)
        sig[2] = DTYPES.index(name) if name in DTYPES else 99
        shape = arr.shape if arr.ndim <= MAX_DIMS else arr.shape[:MAX_DIMS - 1] + (arr.size,)
        sig[3] = arr.ndim
        sig[5:5 + len(shape)] = shape
    return sig


def describe(sig):
    """``'all_reduce of (3, 4) float32, extra 0'`` from a signature."""
    op = OPS[sig[1]] if 0 <= sig[1] < len(OPS) else f'op {sig[1]}'
    if sig[2] < 0:
        return op if sig[4] < 0 else f'{op} ({sig[4]})'
    dt = DTYPES[sig[2]] if 0 <= sig[2] < len(DTYPES) else 'an unsupported dtype'
    shape = tuple(int(d) for d in sig[5:5 + min(sig[3], MAX_DIMS)])
    if op == 'reduce':   # (10 x dst + op)
        return f'reduce of shape {shape} {dt} (dst {sig[4] // 10}, op {REDUCE[sig[4] % 10]})'
    extra = REDUCE[sig[4]] if 'reduce' in op and 0 <= sig[4] < len(REDUCE) else sig[4]
    return f'{op} of shape {shape} {dt} ({EXTRA_NAMES.get(op, "arg")} {extra})'


REDUCE = ['SUM', 'AVG', 'MAX', 'MIN', 'PRODUCT']   # ReduceOp's members, in order


EXTRA_NAMES = {'all_reduce': 'op', 'reduce_scatter': 'op', 'reduce_scatter_tensor': 'op',
               'broadcast': 'src', 'gather': 'dst', 'scatter': 'src'}


def mpi_op(MPI, op):
    """The MPI reduction for a ``ReduceOp`` name (AVG is SUM, then a division)."""
    return {'SUM': MPI.SUM, 'AVG': MPI.SUM, 'MAX': MPI.MAX, 'MIN': MPI.MIN,
            'PRODUCT': MPI.PROD}[op]


def install_fault_hook(group):
    """On an uncaught exception: print it naming the rank, then abort the whole job, so the
    other ranks stop at once instead of waiting in their next collective."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        traceback.print_exception(kind, value, tb)
        sys.stderr.write(f'ember.distributed: rank {group.rank} of {group.size} (pid '
                         f'{os.getpid()}) raised {kind.__name__}: {value}; stopping the job '
                         f'(MPI_Abort)\n')
        sys.stderr.flush()
        from ._worker import mark_end
        mark_end(f'raised {kind.__name__}: {value}')
        group.comm.Abort(1)

    sys.excepthook = hook
    return previous
