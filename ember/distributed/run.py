"""``python -m ember.distributed.run``: start a script on N processes, as torchrun does.

    python -m ember.distributed.run --nproc 4 train.py --epochs 3
    python -m ember.distributed.run --nproc 8 --hostfile hosts train.py   # several machines

It runs ``mpiexec`` (the MPICH wheel's, beside this Python, else the first on PATH) with one
process per rank, each of which sets torchrun's variables (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``) from MPI's and runs the script as
``__main__``. The script calls ``ember.distributed.init_process_group('mpi')``; it runs
unchanged under ``mpiexec -n N python script.py``. A hostfile is MPICH's: one ``host`` or
``host:slots`` a line. When a rank dies, mpiexec stops the others and this launcher names
the rank that ended first, its pid, host and exit status.
"""
import argparse
import os
import re
import shutil
import signal
import select
import subprocess
import sys
import tempfile
import threading
import time

__all__ = ['main', 'mpiexec_command']


def _mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), 'mpiexec')
    found = here if os.access(here, os.X_OK) else shutil.which('mpiexec')
    if found is None:
        raise SystemExit("ember.distributed.run: no mpiexec found beside this Python or on "
                         "PATH: pip install 'ember[distributed]' (mpi4py and the MPICH wheel)")
    return found


def mpiexec_command(nproc, script, args=(), hostfile=None, module=False):
    """The command the launcher runs: mpiexec, then one rank per process.

    >>> cmd = ember.distributed.run.mpiexec_command(2, 'train.py', ['--lr', '0.1'])
    >>> cmd[1:3], cmd[-5:]
    (['-n', '2'], ['ember.distributed._worker', '--', 'train.py', '--lr', '0.1'])
    """
    cmd = [_mpiexec(), '-n', str(int(nproc))]
    if hostfile is not None:
        cmd += ['-f', os.fspath(hostfile)]
    worker = [sys.executable, '-m', 'ember.distributed._worker']
    return cmd + worker + (['-m'] if module else []) + ['--', script, *args]


def _parser():
    p = argparse.ArgumentParser(prog='python -m ember.distributed.run',
                                description='Run a script on N processes (MPI underneath).')
    p.add_argument('--nproc', '--nproc-per-node', '--nproc_per_node', type=int, default=1,
                   help='processes to start (default 1)')
    p.add_argument('--hostfile', help="MPICH's hostfile: one host or host:slots a line")
    p.add_argument('-m', '--module', action='store_true', help='run the script as a module')
    p.add_argument('script')
    p.add_argument('args', nargs=argparse.REMAINDER)
    return p


class _Watch:
    """The ranks' pids on this machine (each rank writes ``rankR`` in the run folder when it
    starts, ``rankR.end`` when it finishes or raises), and the order in which they end,
    seen through pidfds: the first rank to end without finishing is the one that failed,
    even when mpiexec stops the others a few milliseconds later."""

    def __init__(self, run_dir):
        self.run_dir, self.fds, self.ended, self.pids = run_dir, {}, [], {}

    def poll(self, seconds):
        for name in os.listdir(self.run_dir):
            rank = name.removeprefix('rank')
            if rank.isdigit() and rank not in self.pids:
                with open(os.path.join(self.run_dir, name)) as f:
                    text = f.read().split()
                if not text:
                    continue
                self.pids[rank] = int(text[0])
                try:
                    self.fds[os.pidfd_open(self.pids[rank])] = rank
                except ProcessLookupError:
                    self.ended.append(rank)
        if self.fds:
            ready, _, _ = select.select(list(self.fds), [], [], seconds)
            for fd in ready:
                self.ended.append(self.fds.pop(fd))
                os.close(fd)
        else:
            time.sleep(seconds)

    def close(self):
        for fd in self.fds:
            os.close(fd)

    def failed(self, out):
        """Why the job failed, naming the rank, or None when no local rank is to blame."""
        code = re.search(r'EXIT CODE: (\d+)', out)
        status = ''
        if code:
            n = int(code.group(1))
            name = signal.Signals(n).name if n in signal.Signals._value2member_map_ else ''
            status = f' (mpiexec: exit code {n}{", " + name if name else ""})'
        raised = []
        for rank in self.pids:
            end = os.path.join(self.run_dir, f'rank{rank}.end')
            if os.path.exists(end):
                with open(end) as f:
                    text = f.read().strip()
                if text != 'finished':
                    raised.append((os.path.getmtime(end), rank, text))
        if raised:   # a rank that raised aborted the job: the first to raise is named
            _, rank, text = min(raised)
            return f'rank {rank} (pid {self.pids[rank]}) {text}'
        for rank in self.ended:
            if not os.path.exists(os.path.join(self.run_dir, f'rank{rank}.end')):
                return (f'rank {rank} (pid {self.pids[rank]}) ended first, without finishing '
                        f'its script{status}')
        return None


def _forward(stream, seen):
    for line in stream:
        sys.stdout.write(line)
        sys.stdout.flush()
        seen.append(line)


def main(argv=None):
    """Parse ``argv`` as the command line above, run the job, return its exit status.

    >>> ember.distributed.run.main(['--help'])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    SystemExit: 0
    """
    a = _parser().parse_args(argv)
    if a.nproc < 1:
        raise SystemExit(f'ember.distributed.run: --nproc {a.nproc}: need at least 1')
    args = a.args[1:] if a.args[:1] == ['--'] else a.args
    cmd = mpiexec_command(a.nproc, a.script, args, a.hostfile, a.module)
    with tempfile.TemporaryDirectory(prefix='ember-run-') as run_dir:
        env = dict(os.environ, EMBER_RUN_DIR=run_dir)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, bufsize=1)
        seen = []
        reader = threading.Thread(target=_forward, args=(proc.stdout, seen), daemon=True)
        reader.start()
        watch = _Watch(run_dir)
        try:
            while proc.poll() is None:
                watch.poll(0.05)
            reader.join()
            rc = proc.wait()
            if rc != 0:
                who = watch.failed(''.join(seen))
                sys.stdout.flush()
                sys.stderr.write(f'ember.distributed.run: the job failed (mpiexec exit status '
                                 f'{rc}){": " + who if who else ""}; the other ranks were '
                                 f'stopped\n')
        finally:
            watch.close()
    return rc


if __name__ == '__main__':
    sys.exit(main())
