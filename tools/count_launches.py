"""Kernel launches and graph nodes of one GPT training step on 'cuda', counted without a GPU:
ember runs on CuPy's CPU stand-in (tests/fakecupy.py), which sees every call ember makes.

A launch is a CuPy call, an in-place operator, one of ember's own kernels or a cuBLAS call,
other than views and allocations (which launch nothing; a reshape or ascontiguousarray that
must copy, and indexing by arrays, count). On the H200 each costs
17-65 us of host time (docs/performance.md), so a launch-bound step costs about that many
times this count. The counts do not depend on the batch size, so the step runs on a batch of
two sequences (W3: the benchmark's batch of 128).

Usage: python tools/count_launches.py W3|W4|W5|W9 [bf16] [--top N] [--other]   (from the
repository root; --other: the calls that launch nothing, by call site)
"""
import collections
import os
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
NOT_LAUNCHES = {'ndarray.reshape', 'ndarray.transpose', 'ndarray.swapaxes', 'ndarray.view',
                'cupy.reshape', 'cupy.empty', 'cupy.empty_like', 'ndarray.__getitem__'}


def _kind(a):
    """What a call of the stand-in (``_call``'s arguments) is: an ``astype`` that would not
    copy (same dtype, ``copy=False``) returns the array itself and launches nothing; a
    ``reshape`` that cannot be a view copies (a launch)."""
    fn, args, kwargs, qual = a
    if qual == 'ndarray.astype' and kwargs.get('copy', True) is False and args and \
            np.dtype(args[0]) == fn.__self__.dtype:
        return 'ndarray.view'
    if qual == 'ndarray.reshape' and not fn.__self__.flags.c_contiguous:
        view = fn.__self__.view()
        try:
            view.shape = args[0] if len(args) == 1 else args
        except AttributeError:   # (NumPy: "incompatible shape for in-place modification")
            return 'copy'
    return qual


def _item_kind(a):
    """``x[idx]``: a view for basic indexing, a gather (a launch) for arrays of indices."""
    idx = a[1] if isinstance(a[1], tuple) else (a[1],)
    basic = all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice))
                for i in idx)
    return 'ndarray.__getitem__' if basic else 'gather'


def _install():
    """The stand-in as ``cupy``, with every call it takes counted (while ``on``)."""
    sys.path[:0] = [ROOT, os.path.join(ROOT, 'tests')]
    import fakecupy
    fakecupy.install()
    state = dict(on=False, sites=collections.Counter(), other=collections.Counter())

    def site():
        f = sys._getframe(2)
        while f and os.sep + 'ember' + os.sep not in f.f_code.co_filename:
            f = f.f_back
        return (f'{f.f_code.co_filename.split(os.sep + "ember" + os.sep)[-1]}:{f.f_lineno} '
                f'{f.f_code.co_name}' if f else '?')

    def counted(fn, what):
        def wrapper(*args, **kwargs):
            if state['on']:
                kind = what(args)
                if kind not in NOT_LAUNCHES:
                    state['sites'][site()] += 1
                else:   # a view or an allocation: no launch, but host time all the same
                    state['other'][f'{site()} {kind}'] += 1
            return fn(*args, **kwargs)
        return wrapper

    call = fakecupy._call
    fakecupy._call = counted(call, _kind)   # every ufunc, function and method
    for name in dir(fakecupy.ndarray):
        if name.startswith('__i') and name not in ('__init__', '__iter__', '__index__',
                                                   '__int__', '__invert__'):
            setattr(fakecupy.ndarray, name, counted(getattr(fakecupy.ndarray, name),
                                                    lambda a: 'in-place'))
    for name in ('__setitem__', '__neg__', '__abs__'):
        setattr(fakecupy.ndarray, name, counted(getattr(fakecupy.ndarray, name),
                                                lambda a, n=name: 'ndarray.' + n))
    fakecupy.ndarray.__getitem__ = counted(fakecupy.ndarray.__getitem__, _item_kind)
    contiguous = fakecupy.ascontiguousarray   # (the stand-in's own: not through _call)
    fakecupy.ascontiguousarray = counted(contiguous, lambda a: (
        'ndarray.view' if a[0]._a.flags.c_contiguous else 'copy'))
    for cls in (fakecupy.ElementwiseKernel, fakecupy.ReductionKernel, fakecupy.RawKernel):
        cls.__call__ = counted(cls.__call__, lambda a: 'kernel')
    for name in ('gemmEx', 'gemmStridedBatchedEx'):
        setattr(fakecupy.cublas, name, counted(getattr(fakecupy.cublas, name),
                                               lambda a: 'cublas'))
    return state


def count(key='W5', amp=None):
    """(launches, ember ops, launches by call site, other CuPy calls (views and allocations)
    by call site and kind)
    of one training step of workload ``key`` (W3, W5 or W9) on the stand-in's 'cuda',
    ``amp``: None or 'bf16' (the GPTs)."""
    state = _install()
    import ember
    from ember import autograd
    import bench.workloads as W
    c = dict(W.GPT_LARGE if key == 'W9' else W.GPT, batch=2)
    ops = [0]
    apply = autograd.Op.apply.__func__

    def counting_apply(cls, *args, **kwargs):
        ops[0] += state['on']
        return apply(cls, *args, **kwargs)
    autograd.Op.apply = classmethod(counting_apply)
    try:
        if key in ('W3', 'W4'):   # the MLP and LeNet as the benchmark runs them
            w = W.WORKLOADS[key]
            model = w.model(ember).to('cuda')
            ctx = dict(data=w.data(0), model=model, device='cuda',
                       optimizer=w.optimizer(ember, model.parameters()), amp=None)
            step = w.step
        else:
            model = W.gpt(ember, c).to('cuda')
            ctx = dict(data=W._w5_data(0, 4096), model=model, device='cuda',
                       optimizer=ember.optim.AdamW(model.parameters(), lr=1e-3,
                                                   weight_decay=0.01),
                       amp=ember.bfloat16 if amp == 'bf16' else None)
            step = W._gpt_step(c)
        for i in range(2):   # warm: optimizer state made, caches filled
            step(ember, ctx, i)
        state['on'] = True
        step(ember, ctx, 2)
        state['on'] = False
    finally:
        autograd.Op.apply = classmethod(apply)
    return sum(state['sites'].values()), ops[0], state['sites'], state['other']


def main(argv):
    key = argv[0] if argv else 'W5'
    amp = 'bf16' if 'bf16' in argv else None
    top = int(argv[argv.index('--top') + 1]) if '--top' in argv else 20
    launches, ops, sites, other = count(key, amp)
    print(f'{key}{" bf16 autocast" if amp else ""}: {launches} kernel launches, {ops} ember '
          f'ops a step (on the CuPy stand-in); {sum(other.values())} other CuPy calls (views, '
          'allocations)')
    for where, n in (other if '--other' in argv else sites).most_common(top):
        print(f'  {n:5d}  {where}')


if __name__ == '__main__':
    main(sys.argv[1:])
