"""One rank of a job that ``python -m ember.distributed.run`` started: torchrun's variables
from MPI's (hydra's ``PMI_*``), the rank's pid for the launcher's report, then the script."""
import os
import runpy
import socket
import sys


def main(argv):
    module = argv[:1] == ['-m']
    argv = argv[1:] if module else argv
    argv = argv[1:] if argv[:1] == ['--'] else argv
    rank = os.environ.get('PMI_RANK', '0')
    os.environ.update(RANK=rank, WORLD_SIZE=os.environ.get('PMI_SIZE', '1'),
                      LOCAL_RANK=os.environ.get('MPI_LOCALRANKID', rank),
                      LOCAL_WORLD_SIZE=os.environ.get('MPI_LOCALNRANKS', '1'))
    os.environ.setdefault('MASTER_ADDR', socket.gethostname())
    run_dir = os.environ.get('EMBER_RUN_DIR')
    if run_dir and os.path.isdir(run_dir):   # (on the launcher's machine only)
        with open(os.path.join(run_dir, f'rank{rank}'), 'w') as f:
            f.write(f'{os.getpid()}\n')
    sys.argv = argv
    if module:
        runpy.run_module(argv[0], run_name='__main__', alter_sys=True)
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        runpy.run_path(argv[0], run_name='__main__')
    mark_end('finished')


def mark_end(text):
    """Tell the launcher how this rank ended (``rankR.end`` in its run folder)."""
    run_dir = os.environ.get('EMBER_RUN_DIR')
    if run_dir and os.path.isdir(run_dir):
        with open(os.path.join(run_dir, f"rank{os.environ.get('RANK', '0')}.end"), 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main(sys.argv[1:])
