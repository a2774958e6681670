"""ember.distributed in this process (a group of one, MPI's singleton): bad input and
timeouts give clear errors. The multi-process behaviour is in test_ddp.py."""
import pytest

import ember
import ember.distributed as dist

pytest.importorskip('mpi4py')


@pytest.fixture
def group():
    dist.init_process_group('mpi')
    yield
    dist.destroy_process_group()


def test_import_ember_does_not_import_mpi4py():
    import subprocess
    import sys
    code = 'import sys, ember, ember.distributed; print("mpi4py" in sys.modules)'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == 'False', out.stderr


def test_init_process_group_errors(monkeypatch):
    with pytest.raises(RuntimeError, match='not initialized.*init_process_group'):
        dist.get_rank()
    with pytest.raises(ValueError, match="unknown backend 'gloo'"):
        dist.init_process_group('gloo')
    with pytest.raises(NotImplementedError, match="'nccl' backend is not built yet"):
        dist.init_process_group('nccl')
    with pytest.raises(ValueError, match='MPI finds the other processes itself'):
        dist.init_process_group('mpi', init_method='tcp://10.0.0.1:23456')
    with pytest.raises(ValueError, match='world_size=4 but MPI started this process as rank '
                                         '0 of 1'):
        dist.init_process_group('mpi', world_size=4)
    monkeypatch.setenv('RANK', '3')
    with pytest.raises(ValueError, match='RANK=3 but MPI.*mpiexec -n N'):
        dist.init_process_group('mpi')
    monkeypatch.delenv('RANK')
    dist.init_process_group('mpi', timeout=5)
    try:
        with pytest.raises(RuntimeError, match='already initialized'):
            dist.init_process_group('mpi')
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


def test_collective_argument_errors(group):
    with pytest.raises(RuntimeError, match=r'all_reduce: tensor of shape \(3, 2\) is not '
                                           r'contiguous'):
        dist.all_reduce(ember.ones(2, 3).t())
    with pytest.raises(TypeError, match='AVG on int64'):
        dist.all_reduce(ember.ones(2, dtype=ember.int64), op=dist.ReduceOp.AVG)
    with pytest.raises(TypeError, match='must be an ember.Tensor'):
        dist.broadcast([1.0, 2.0])
    with pytest.raises(ValueError, match='src=1 is not a rank of a group of 1'):
        dist.broadcast(ember.ones(2), src=1)
    with pytest.raises(ValueError, match='tensor_list has 2 tensors for a group of 1'):
        dist.all_gather([ember.ones(2), ember.ones(2)], ember.ones(2))
    with pytest.raises(ValueError, match=r'tensor_list\[0\] has shape \(3,\) float32, '
                                         r'expected \(2,\) float32'):
        dist.all_gather([ember.ones(3)], ember.ones(2))
    with pytest.raises(ValueError, match='cannot hold 1 inputs'):
        dist.all_gather_into_tensor(ember.ones(3), ember.ones(2))
    with pytest.raises(ValueError, match='unknown reduce op'):
        dist.all_reduce(ember.ones(2), op='median')
    with pytest.raises(ValueError, match='only the default group'):
        dist.all_reduce(ember.ones(2), group=object())


def test_a_wait_past_its_timeout_names_the_call(group):
    work = dist.irecv(ember.zeros(2), src=0, tag=7)   # nobody sends
    with pytest.raises(RuntimeError, match=r'rank 0: recv of \(2,\) float32 from rank 0 \(tag '
                                           r'7.*did not finish within 0.2 s'):
        work.wait(timeout=0.2)
    dist.send(ember.ones(2), dst=0, tag=7)   # (matches it, so the group ends clean)


def test_a_message_of_another_size_fails_in_recv(group):
    dist.isend(ember.ones(3), dst=0)
    with pytest.raises(RuntimeError, match=r'recv of \(2,\) float32 from rank 0 .* failed in '
                                           r'MPI: .*[Tt]runcat'):
        dist.recv(ember.zeros(2), src=0)


def test_ddp_arguments_it_does_not_take(group):
    lin = ember.nn.Linear(2, 2)
    with pytest.raises(NotImplementedError, match='static_graph are not built'):
        ember.nn.parallel.DistributedDataParallel(lin, static_graph=True)
    with pytest.raises(ValueError, match=r'device_ids=\[0\].*a CPU model takes None'):
        ember.nn.parallel.DistributedDataParallel(lin, device_ids=[0])
