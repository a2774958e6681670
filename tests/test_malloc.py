"""ember.backend.cpu.keep_freed_memory: with it, a loop that frees and reallocates 24 MiB of
arrays reuses the same heap memory; with glibc's defaults (EMBER_SYSTEM_MALLOC=1) the blocks
are mmapped or the heap's top is given back to the OS after each step, so their pages fault
again.

What is defined is where glibc's malloc puts the blocks and what it keeps (mallopt(3)),
read in a fresh interpreter with mallinfo2(3): tested by default. How many page faults that
saves depends on the machine (transparent huge pages fault once per 2 MiB, a loaded machine
reclaims): counted by getrusage, as a check of the machine, outside the default run
(`make test-machine`)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOP = '''
import resource
import numpy as np
import ember
a = np.ones((1024, 1024), np.float32)          # 4 MiB


def step():                                     # 24 MiB of temporaries, all freed at the end
    temps = [a * 2.0 for _ in range(6)]
    del temps


step()                                          # the first touch of the pages: a warm-up
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 20)
'''


HEAP = '''
import ctypes
import numpy as np
import ember


class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd',
                                               'usmblks', 'fsmblks', 'uordblks', 'fordblks',
                                               'keepcost')]


libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
a = np.ones((1024, 1024), np.float32)          # 4 MiB


def step():                                     # 24 MiB of temporaries, all freed at the end
    temps = [a * 2.0 for _ in range(6)]
    during = libc.mallinfo2()
    del temps
    return during


for _ in range(3):
    before = libc.mallinfo2()
    during = step()
    after = libc.mallinfo2()
    # MiB mmapped for the step; the heap before, during and after it
    print(*((x >> 20) for x in (during.hblkhd - before.hblkhd, before.arena, during.arena,
                                after.arena)))
'''


def _run(code, **env):
    e = {k: v for k, v in os.environ.items() if not k.startswith(('MALLOC_', 'EMBER_SYSTEM',
                                                                  'GLIBC_TUNABLES'))}
    e.update(env, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=e,
                          check=True).stdout


def _faults(**env):
    return int(_run(LOOP, **env).split()[-1])


def _glibc():
    try:
        return sys.platform.startswith('linux') and bool(os.confstr('CS_GNU_LIBC_VERSION'))
    except (ValueError, OSError):   # a C library without the name: not glibc
        return False


@pytest.mark.skipif(not _glibc(), reason="glibc's malloc tuning")
def test_freed_arrays_stay_on_the_heap_and_are_reused():
    steps = [[int(v) for v in line.split()] for line in _run(HEAP).splitlines()]
    for i, (mmapped, before, during, after) in enumerate(steps):
        assert mmapped == 0, f'step {i}: {mmapped} MiB mmapped'       # from the heap
        assert after == during >= 24, f'step {i}: heap {during} -> {after} MiB'   # kept
        if i:
            assert during == before, f'step {i}: heap grew {before} -> {during} MiB'  # reused
    # glibc's defaults: mmapped, or the heap's free top given back after the step
    steps = [[int(v) for v in line.split()]
             for line in _run(HEAP, EMBER_SYSTEM_MALLOC='1').splitlines()]
    assert all(mmapped >= 24 or after < during for mmapped, _, during, after in steps), steps


@pytest.mark.machine
@pytest.mark.skipif(not _glibc(), reason="glibc's malloc tuning")
def test_freed_arrays_are_reused_without_page_faults():
    pages = 24 * 2**20 // 4096                              # touched per step
    assert _faults() < pages // 20                          # reused: next to no faults
    assert _faults(EMBER_SYSTEM_MALLOC='1') > pages // 4    # glibc's: half of them fault again


def test_a_user_setting_wins():
    from ember.backend import cpu
    old = os.environ.get('MALLOC_TRIM_THRESHOLD_')
    os.environ['MALLOC_TRIM_THRESHOLD_'] = '0'
    try:
        assert cpu.keep_freed_memory() is False
    finally:
        if old is None:
            del os.environ['MALLOC_TRIM_THRESHOLD_']
        else:
            os.environ['MALLOC_TRIM_THRESHOLD_'] = old
