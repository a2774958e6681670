"""Intel MKL's GEMM for CPU matrix products when products run on one thread and the ``mkl``
package is installed (``pip install ember[mkl]``); NumPy's OpenBLAS otherwise.

Why: at the shapes of small models (a 1024x128 activation times a 128x512 weight, a 128x784
batch times 784x512) OpenBLAS's single-threaded SGEMM is 6-35% slower on this project's
machine than MKL's, which is what PyTorch's CPU wheel calls, and the products are most of a
training step. MKL is found as ``libmkl_rt`` in the Python prefix's ``lib`` folder (where the
``mkl`` wheel puts it) and called through ctypes with NumPy's strides as BLAS transpose flags:
no copy for C-contiguous operands or transposed views of them.

Why only on one thread: NumPy's OpenBLAS keeps its own pool of threads, and two BLAS thread
pools on the same cores fight (W3 at the machine's default 2 threads: 10.6 ms a step with
both, 4.7 with OpenBLAS alone). So ember uses MKL when NumPy's OpenBLAS runs one thread
(``OPENBLAS_NUM_THREADS``, else ``GOTO_NUM_THREADS``, else ``OMP_NUM_THREADS`` set to 1, or a
single CPU), which is how ``make bench`` runs both frameworks; MKL then takes its own thread
count from ``MKL_NUM_THREADS``. ``EMBER_MKL=1`` uses MKL whatever the threads, ``EMBER_MKL=0``
never.

>>> a = np.ones((256, 128), np.float32)
>>> bool((matmul(a, a.T) == a @ a.T).all()) if available() else matmul(a, a.T) is None
True
"""
import ctypes
import glob
import os
import sys

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# Below this many multiply-adds (m * n * k) NumPy's product is faster: a call through ctypes
# and MKL's own small-size path cost 10-15 us more than OpenBLAS's (a 64^3 product: 21 vs
# 7 us; at 2^23, a (1024, 128) x (128, 65) product, the two take the same time).
MIN_WORK = 1 << 23
_lib = None
_gemm = {}          # dtype -> cblas_?gemm
_tried = False


def _load():
    """Find and bind libmkl_rt once; False when it is missing or switched off."""
    global _lib, _tried
    _tried = True
    switch = os.environ.get('EMBER_MKL')
    if switch == '0' or switch != '1' and openblas_threads() != 1:
        return False
    names = sorted(glob.glob(os.path.join(sys.prefix, 'lib', 'libmkl_rt.so*')))
    for name in names:
        try:
            lib = ctypes.CDLL(name)
            fns = lib.cblas_sgemm, lib.cblas_dgemm
        except (OSError, AttributeError):
            continue
        args = [ctypes.c_int] * 6
        for dtype, fn, scalar in ((np.float32, fns[0], ctypes.c_float),
                                  (np.float64, fns[1], ctypes.c_double)):
            fn.restype = None
            fn.argtypes = args + [scalar, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                  ctypes.c_int, scalar, ctypes.c_void_p, ctypes.c_int]
            _gemm[np.dtype(dtype)] = fn
        _lib = lib
        return True
    return False


def openblas_threads():
    """The threads NumPy's OpenBLAS runs, from the variables it reads at start-up (or the
    CPUs this process may use).

    >>> os.environ.get('OPENBLAS_NUM_THREADS') != '1' or openblas_threads() == 1
    True
    """
    for name in ('OPENBLAS_NUM_THREADS', 'GOTO_NUM_THREADS', 'OMP_NUM_THREADS'):
        value = os.environ.get(name, '').strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1


def available():
    """Whether products can run in MKL (the library was found and not switched off)."""
    return (_lib is not None) if _tried else _load()


def _layout(a, rows, cols):
    """(transpose flag, leading dimension) for a 2-D operand read as is, or None if its
    strides are neither row- nor column-major in element units."""
    s0, s1 = a.strides
    size = a.itemsize
    if s1 == size and s0 % size == 0 and s0 // size >= cols:
        return _NO_TRANS, s0 // size
    if s0 == size and s1 % size == 0 and s1 // size >= rows:
        return _TRANS, s1 // size
    return None


def matmul(a, b, out=None):
    """``a @ b`` for 2-D float32 or float64 arrays of one dtype through MKL, or None when
    MKL is absent or the operands do not suit it (other dtypes, an empty or single row or
    column, less work than ``MIN_WORK``): the caller then uses NumPy. An operand whose
    strides BLAS cannot take is copied first. ``out``: a C-contiguous result array to write."""
    if not (_lib is not None if _tried else _load()):
        return None
    fn = _gemm.get(a.dtype)
    if fn is None or b.dtype != a.dtype or a.ndim != 2 or b.ndim != 2:
        return None
    m, k = a.shape
    n = b.shape[1]
    if m < 2 or n < 2 or k < 2 or b.shape[0] != k or m * n * k < MIN_WORK:
        return None
    la, lb = _layout(a, m, k), _layout(b, k, n)
    if la is None:            # e.g. the stride-0 gradient of a sum: copied, as NumPy would
        a = np.ascontiguousarray(a)
        la = _NO_TRANS, k
    if lb is None:
        b = np.ascontiguousarray(b)
        lb = _NO_TRANS, n
    if out is None:
        out = np.empty((m, n), a.dtype)
    fn(_ROW_MAJOR, la[0], lb[0], m, n, k, 1.0, a.ctypes.data, la[1], b.ctypes.data, lb[1],
       0.0, out.ctypes.data, n)
    return out
