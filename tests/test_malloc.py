"""ember.backend.cpu.keep_freed_memory: with it, a loop that frees and reallocates 24 MiB of
arrays takes no new page faults; with glibc's defaults (EMBER_SYSTEM_MALLOC=1) half the pages
fault again each time. Counted in a fresh interpreter by getrusage's minor-fault counter."""
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


def _faults(**env):
    e = {k: v for k, v in os.environ.items() if not k.startswith(('MALLOC_', 'EMBER_SYSTEM'))}
    e.update(env, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, '-c', LOOP], capture_output=True, text=True, env=e,
                         check=True).stdout.split()
    return int(out[-1])


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc tuning: Linux')
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
