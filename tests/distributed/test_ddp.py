"""Multi-process tests: each starts a job of tests/distributed/jobs.py with MPI (the launcher,
or mpiexec itself), bounded by a timeout, and checks what rank 0 wrote.

DDP is compared with one process on the whole batch at the same parameters, every step:
the losses and every gradient within ``tol(float32, n)`` (docs/testing.md), ``n`` being the
number of terms each sums over the batch (W3: 128 examples; W5: 16 x 64 tokens), relative to
the largest element of each gradient; the ranks' parameters bit for bit. The 50-step runs of
W3 and W5 are ``slow`` (``make test-slow``); the default pass runs a few steps of each.
"""
import json
import os
import subprocess
import sys
import time

import pytest

from tests.helpers import tol

pytest.importorskip('mpi4py')   # the make test venv installs it (the distributed extra)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JOBS = os.path.join(ROOT, 'tests', 'distributed', 'jobs.py')
MPIEXEC = os.path.join(os.path.dirname(sys.executable), 'mpiexec')
TERMS = {'W3': 128, 'W5': 16 * 64}


def run_job(tmp_path, nproc, job, *args, launcher=True, timeout=240, check=True):
    """Run ``jobs.py job args`` on ``nproc`` processes; return (rank 0's record, the
    completed process)."""
    out = tmp_path / f'{job}.json'
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    head = ([sys.executable, '-m', 'ember.distributed.run', '--nproc', str(nproc)] if launcher
            else [MPIEXEC, '-n', str(nproc), sys.executable])
    proc = subprocess.run(head + [JOBS, job, '--out', str(out), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=tmp_path)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        with open(out) as f:
            return json.load(f), proc
    return None, proc


def check_ddp(rec, workload, steps):
    n = TERMS[workload]
    assert len(rec['loss']) == steps
    assert all(rec['same_params']), 'the ranks\' parameters differ after a step'
    for i, (loss, want) in enumerate(zip(rec['loss'], rec['probe_loss'])):
        assert abs(loss - want) <= tol('float32', n) * abs(want), (i, loss, want)
    for i, (errs, scales) in enumerate(zip(rec['grad_err'], rec['grad_scale'])):
        for k, (e, s) in enumerate(zip(errs, scales)):
            assert e <= tol('float32', n) * s, f'step {i}, parameter {k}: {e:.3g} of {s:.3g}'


@pytest.mark.parametrize('workload,nproc,steps,accum', [
    ('W3', 2, 3, 1), ('W5', 2, 2, 2), ('W3', 4, 2, 1)])
def test_ddp_equals_one_process_on_the_whole_batch(tmp_path, workload, nproc, steps, accum):
    rec, _ = run_job(tmp_path, nproc, 'ddp', '--workload', workload, '--steps', steps,
                     '--accum', accum)
    check_ddp(rec, workload, steps)
    assert rec['buckets'] >= 2   # the small first bucket and the rest: overlap is possible


@pytest.mark.slow
@pytest.mark.parametrize('workload,nproc,steps,accum', [
    ('W3', 2, 50, 1), ('W5', 2, 50, 1), ('W3', 2, 20, 4), ('W3', 4, 10, 1), ('W3', 8, 5, 1),
    ('W5', 8, 3, 1)])
def test_ddp_50_steps(tmp_path, workload, nproc, steps, accum):
    """Must-show 1: 50 steps, and the trajectory of an independent one-process run."""
    rec, _ = run_job(tmp_path, nproc, 'ddp', '--workload', workload, '--steps', steps,
                     '--accum', accum, '--trajectory', timeout=1200)
    check_ddp(rec, workload, steps)
    # DDP's run and one process's part by rounding, which training amplifies (Adam most): as
    # docs/testing.md has it for iterative algorithms, they must agree within 4 times the
    # spread of the one-process run itself when every weight starts one ulp away
    spread = 0.0
    for i, (a, b, c) in enumerate(zip(rec['loss'], rec['single_loss'], rec['nudged_loss'])):
        spread = max(spread, abs(c - b))
        assert abs(a - b) <= 4 * spread + tol('float32', TERMS[workload]) * abs(b), (i, a, b)


def test_collectives_mismatches_and_unused_parameters_under_plain_mpiexec(tmp_path):
    rec, _ = run_job(tmp_path, 3, 'collectives', launcher=False)
    for name, ok in rec.items():
        if name.startswith('mismatched'):
            assert 'rank 1:' in ok and 'rank 0:' in ok and 'different collective' in ok, ok
        elif not name.startswith(('unused', 'different', 'buffers')):
            assert ok is True, name
    assert '(3,) float32' in rec['mismatched shape raises']
    assert 'float64' in rec['mismatched dtype raises']
    assert 'rank 1: broadcast' in rec['mismatched call raises']
    # find_unused_parameters: branch b used on rank 0 only, `never` nowhere
    for name in ('a.weight', 'a.bias', 'b.weight', 'b.bias'):
        assert rec[f'unused {name}'] <= tol('float32', 9), name   # sums of 9 terms, |g| <= 1
    assert rec['unused: never has no grad'] is True
    msg = rec['unused without the flag raises']
    assert "['never.bias', 'never.weight', 'b.bias', 'b.weight']" in msg
    assert 'find_unused_parameters=True' in msg
    assert 'the models differ across ranks' in rec['different models raise']
    assert rec['buffers broadcast'] is True


def test_zero_redundancy_optimizer_equals_adam(tmp_path):
    rec, _ = run_job(tmp_path, 2, 'zero', '--steps', 2)
    assert all(rec['same']) and rec['resumed same']   # bit for bit, every step
    per_rank = rec['state elements per rank']
    assert sum(per_rank) == rec['parameter elements'] and max(per_rank) < sum(per_rank)
    assert rec["consolidated equals Adam's"] is True


def test_a_killed_rank_ends_the_job_naming_it(tmp_path):
    start = time.monotonic()
    _, proc = run_job(tmp_path, 3, 'kill', timeout=60, check=False)
    assert time.monotonic() - start < 60
    assert proc.returncode != 0
    assert ('rank 1 (pid' in proc.stderr and 'ended first, without finishing' in proc.stderr
            and 'SIGKILL' in proc.stderr), proc.stderr[-2000:]


def test_a_raising_rank_stops_the_others(tmp_path):
    script = tmp_path / 'raises.py'
    script.write_text('import ember, ember.distributed as dist\n'
                      'dist.init_process_group("mpi")\n'
                      'if dist.get_rank() == 1:\n'
                      '    raise ValueError("bad shard")\n'
                      'dist.barrier()\n')
    hosts = tmp_path / 'hosts'
    hosts.write_text('localhost:2\n')   # (MPICH's hostfile: the launcher passes it on)
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, '-m', 'ember.distributed.run', '--nproc', '2',
                           '--hostfile', str(hosts), str(script)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert 'rank 1 of 2' in proc.stderr and 'ValueError: bad shard' in proc.stderr
    assert 'ember.distributed.run: the job failed' in proc.stderr
    assert 'rank 1 (pid' in proc.stderr


def test_a_checkpoint_resumes_at_another_world_size(tmp_path):
    ckpt = tmp_path / 'ckpt.safetensors'
    two, _ = run_job(tmp_path, 2, 'checkpoint', '--steps', 3, '--save-at', 2, '--save', ckpt)
    one, _ = run_job(tmp_path, 1, 'checkpoint', '--steps', 3, '--save-at', 2, '--load', ckpt)
    assert one['world'] == 1 and len(one['losses']) == 1
    for a, b in zip(one['losses'], two['losses'][2:]):
        assert abs(a - b) <= tol('float32', TERMS['W3']) * abs(b), (a, b)
