"""How much of PyTorch's public API ember has: for each namespace, the public names of
PyTorch's (``torch``, ``torch.Tensor``, ``torch.nn``, ``torch.nn.functional``,
``torch.optim``, ``torch.optim.lr_scheduler``) that ember's counterpart also has.

A name counts when the attribute exists in ember (whatever its behaviour: the op tables
check that). torch's names are its public ones: not starting with ``_``, not modules; for
``torch`` its callables and dtypes only (not the constants and type aliases it exports).
This counts names, each once, not how often programs use them (a program that calls only
``Linear``, ``relu`` and ``Adam`` runs while ``torch.fft`` is missing).

Usage: PYTHONPATH=. python tools/api_coverage.py [--missing]   (needs torch, the test oracle)
"""
import inspect
import sys

import ember
import torch


def public(ns, callables_only=False):
    names = set()
    for n in dir(ns):
        if n.startswith('_'):
            continue
        try:
            v = getattr(ns, n)
        except Exception:       # (a deprecated attribute that raises on access)
            continue
        if inspect.ismodule(v):
            continue
        if callables_only and not (callable(v) or isinstance(v, torch.dtype)):
            continue
        names.add(n)
    return names


PAIRS = [
    ('torch', lambda: torch, lambda: ember, True),
    ('torch.Tensor', lambda: torch.Tensor, lambda: ember.Tensor, False),
    ('torch.nn', lambda: torch.nn, lambda: ember.nn, False),
    ('torch.nn.functional', lambda: torch.nn.functional, lambda: ember.nn.functional, False),
    ('torch.optim', lambda: torch.optim, lambda: ember.optim, False),
    ('torch.optim.lr_scheduler', lambda: torch.optim.lr_scheduler,
     lambda: ember.optim.lr_scheduler, False),
]


def coverage():
    """[(namespace, names torch has, of them ember has, the missing ones)]."""
    rows = []
    for name, theirs, ours, callables_only in PAIRS:
        want = public(theirs(), callables_only)
        ns = ours()
        have = {n for n in want if hasattr(ns, n)}
        rows.append((name, len(want), len(have), sorted(want - have)))
    return rows


def main(argv):
    rows = coverage()
    print(f'ember {ember.__version__} against torch {torch.__version__}\n')
    print('| namespace | torch names | in ember | share |')
    print('|---|---|---|---|')
    for name, want, have, _ in rows:
        print(f'| `{name}` | {want} | {have} | {have / want:.0%} |')
    if '--missing' in argv:
        for name, _, _, missing in rows:
            print(f'\n{name} missing ({len(missing)}): ' + ', '.join(missing))


if __name__ == '__main__':
    main(sys.argv[1:])
