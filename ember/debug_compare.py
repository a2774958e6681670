"""Parity with PyTorch, layer by layer: ``compare_with_torch`` builds one model in ember and
in PyTorch, copies ember's weights into PyTorch's by name, runs both forward and backward on
the same inputs, and reports the first submodule whose output, or whose gradients, differ
beyond a tolerance, with the size of the difference.

    python -m ember.debug_compare script.py [--rtol R] [--atol A] [--train]

runs it on a script that defines ``build(fw)`` and ``inputs(fw)`` (``fw``: ``ember`` or
``torch``; ``loss(fw, output)`` optional). It prints the table and exits with 1 where the two
diverge. ember never imports PyTorch: the script (or the caller) does, and hands it over.
"""
from __future__ import annotations

import argparse
import runpy
import sys
from dataclasses import dataclass, field

import numpy as np

__all__ = ['compare_with_torch', 'Comparison', 'Difference', 'main']

# float32 with sums of up to about 800 terms (tol(float32, 800) = 1e-4, docs/testing.md),
# relative to the largest value of the tensor compared (gradients cancel)
RTOL, ATOL = 1e-4, 1e-6


@dataclass
class Difference:
    """One comparison: ``module`` (its qualified name, ``''`` for the model; a module called
    more than once gets ``#2``, ``#3`` ...), ``what`` (``'output'``, ``'grad of output'``,
    ``'grad of input'``, ``'grad of <parameter>'``), ``shape``, the largest absolute
    difference, that relative to the largest PyTorch value, whether it is within the
    tolerance, and the ember module's class (``layer``).

    >>> from ember.debug_compare import Difference
    >>> d = Difference('fc', 'output', (2, 3), 1e-3, 0.5, False)
    >>> d.ok, d.max_rel
    (False, 0.5)
    """
    module: str
    what: str
    shape: tuple
    max_abs: float
    max_rel: float
    ok: bool
    layer: str = ''


@dataclass
class Comparison:
    """The result of ``compare_with_torch``: every ``Difference`` (``rows``) in the order
    checked (outputs in forward order, then gradients in backward order), the first that is
    out of tolerance in the forward pass (``first_forward``) and in the backward pass
    (``first_backward``), or None; ``ok`` when there is neither. ``str()`` is a table.

    >>> from ember.debug_compare import Comparison
    >>> c = Comparison([], None, None)
    >>> c.ok, c.first_divergence
    (True, None)
    """
    rows: list = field(default_factory=list)
    first_forward: Difference | None = None
    first_backward: Difference | None = None

    @property
    def ok(self) -> bool:
        return self.first_forward is None and self.first_backward is None

    @property
    def first_divergence(self) -> Difference | None:
        """The forward pass's first divergence, else the backward pass's, else None."""
        return self.first_forward or self.first_backward

    def __str__(self) -> str:
        head = f"{'module':<34} {'what':<22} {'shape':<18} {'max abs':>10} {'max rel':>10}"
        lines = [head, '-' * len(head)]
        for r in self.rows:
            mark = '' if r.ok else '   <-- differs'
            where = f'{r.module or "(model)"} {r.layer}'.strip()
            lines.append(f'{where:<34} {r.what:<22} {str(r.shape):<18} '
                         f'{r.max_abs:>10.3g} {r.max_rel:>10.3g}{mark}')
        if self.ok:
            lines.append('ember and PyTorch agree: outputs and gradients of every module')
        for stage, d in (('forward', self.first_forward), ('backward', self.first_backward)):
            if d is not None:
                lines.append(f'first divergence in the {stage} pass: {d.module or "(model)"}, '
                             f'{d.what}: max abs {d.max_abs:.3g}, max rel {d.max_rel:.3g}')
        return '\n'.join(lines)


class _Call:
    """One call of one module: when it started and finished (forward hooks' ticks), its
    float tensor inputs and outputs (gradients retained) and its own parameters."""

    def __init__(self, name, module, start):
        self.name, self.module, self.start = name, module, start
        self.end, self.inputs, self.outputs, self.params = None, [], [], []


def _tensors(value, kind):
    if isinstance(value, kind):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v, kind)]
    return []


def _record(model, kind):
    """Pre-hooks and hooks on every submodule noting each call: its start and finish (calls
    nest, so a stack pairs them), inputs, outputs and parameters."""
    calls, counts, stack, handles = [], {}, [], []
    tick = iter(range(10 ** 9))

    def keep(ts):
        ts = [t for t in ts if t.is_floating_point()]
        for t in ts:
            if t.requires_grad and t.grad_fn is not None:
                t.retain_grad()
        return ts

    for name, module in model.named_modules():
        def pre_hook(mod, args, name=name):
            counts[name] = counts.get(name, 0) + 1
            label = name if counts[name] == 1 else f'{name}#{counts[name]}'
            stack.append(_Call(label, mod, next(tick)))

        def hook(mod, args, out):
            call = stack.pop()
            call.end = next(tick)
            call.inputs, call.outputs = keep(_tensors(args, kind)), keep(_tensors(out, kind))
            call.params = list(mod.named_parameters(recurse=False))
            calls.append(call)
        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(hook))
    return calls, handles


def _as_numpy(t):
    return None if t is None else np.asarray(t.detach().cpu().numpy(), np.float64)


def _diff(call, what, got, want, rtol, atol):
    module, layer = call.name, type(call.module).__name__
    g, w = _as_numpy(got), _as_numpy(want)
    if g is None or w is None:
        same = (g is None) == (w is None)
        return Difference(module, what, (), 0.0 if same else float('inf'),
                          0.0 if same else float('inf'), same, layer)
    if g.shape != w.shape:
        return Difference(module, what, w.shape, float('inf'), float('inf'), False, layer)
    err = float(np.abs(g - w).max()) if g.size else 0.0
    scale = float(np.abs(w).max()) if w.size else 0.0
    ok = bool(np.isfinite(g).all() == np.isfinite(w).all()) and err <= atol + rtol * scale
    return Difference(module, what, w.shape, err, err / scale if scale else err, ok, layer)


def _builders(build, torch, who):
    import ember
    if isinstance(build, tuple) and len(build) == 2 and all(callable(b) for b in build):
        return build[0](), build[1]()
    if callable(build):
        return build(ember), build(torch)
    raise TypeError(f'{who}: build must be build(fw), called with ember and with torch, or a '
                    f'pair of zero-argument builders (ember first), got {type(build).__name__}')


def _inputs(inputs, fw, who):
    import ember
    if callable(inputs):
        inputs = inputs(fw)
    items = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    out = []
    for x in items:
        if isinstance(x, ember.Tensor):
            x = x.detach().numpy()
        if not isinstance(x, np.ndarray) and type(x).__module__.split('.')[0] != fw.__name__:
            raise TypeError(f'{who}: inputs must be arrays or tensors, got {type(x).__name__}')
        if isinstance(x, np.ndarray):
            x = fw.from_numpy(np.array(x))
        if x.is_floating_point():
            x = x.detach().requires_grad_()
        out.append(x)
    return tuple(out)


def _copy_weights(e_model, t_model, torch, who):
    """ember's parameters and buffers into PyTorch's model, by name."""
    e_state = e_model.state_dict()
    t_state = t_model.state_dict()
    only_e, only_t = sorted(set(e_state) - set(t_state)), sorted(set(t_state) - set(e_state))
    if only_e or only_t:
        raise KeyError(f'{who}: the two models\' state_dict names differ: only in ember '
                       f'{only_e}, only in torch {only_t}')
    with torch.no_grad():
        for k, v in e_state.items():
            if tuple(v.shape) != tuple(t_state[k].shape):
                raise ValueError(f'{who}: {k} has shape {tuple(v.shape)} in ember and '
                                 f'{tuple(t_state[k].shape)} in torch')
            t_state[k].copy_(torch.from_numpy(np.array(v.detach().numpy())))


def _loss(fw, out, cotangents):
    """The sum of each float output times its fixed random cotangent: every element of the
    output gets a gradient of its own (``sum()`` would give all ones)."""
    total = 0
    for t, c in zip(_tensors(out, (fw.Tensor,)), cotangents):
        total = total + (t * fw.from_numpy(c.astype(_numpy_dtype(t)))).sum()
    return total


def _numpy_dtype(t):
    return str(t.dtype).replace('torch.', '').replace('ember.', '')


def _torch_module(torch, who):
    """The PyTorch module to compare with: the one given, or the one the user's program
    imported. ember itself never imports PyTorch (it is a test oracle, not a dependency)."""
    torch = torch if torch is not None else sys.modules.get('torch')
    if torch is None:
        raise ImportError(f'{who}: import torch first (ember never imports PyTorch itself), '
                          f'or pass torch=; pip install torch if it is missing')
    return torch


def compare_with_torch(build, inputs, loss=None, rtol=RTOL, atol=ATOL, train=False, seed=0,
                       torch=None):
    """Build the same model in ember and in PyTorch (``build(fw)`` with ``fw`` the framework
    module, as bench/workloads.py writes models, or a pair of zero-argument builders, ember's
    first), copy ember's weights and buffers into PyTorch's by name, run both on ``inputs``
    (arrays, tensors, or ``inputs(fw)``) forward and backward, and compare every submodule's
    outputs, the gradients of its outputs and inputs, and its parameters' gradients.

    The backward pass starts from ``loss(fw, output)`` or, by default, the sum of the output
    times a fixed random cotangent (``seed``). A value differs when its largest absolute
    difference exceeds ``atol + rtol * max|torch value|``. Both models run in eval mode
    unless ``train=True``. ``torch``: the PyTorch module (default: the one the program has
    imported; ember never imports it itself). Returns a ``Comparison``: ``print`` it for the
    table; its ``first_forward`` and ``first_backward`` name the first module that differs.

    >>> from ember.debug_compare import compare_with_torch
    >>> def build(fw):
    ...     return fw.nn.Sequential(fw.nn.Linear(4, 8), fw.nn.Tanh(), fw.nn.Linear(8, 2))
    >>> x = np.ones((3, 4), np.float32)
    >>> result = compare_with_torch(build, x, torch=torch)
    >>> result.ok, len(result.rows) > 0
    (True, True)
    >>> def planted(fw):   # ember's model uses another activation
    ...     act = fw.nn.ReLU() if fw is ember else fw.nn.Tanh()
    ...     return fw.nn.Sequential(fw.nn.Linear(4, 8), act, fw.nn.Linear(8, 2))
    >>> compare_with_torch(planted, x, torch=torch).first_forward.module
    '1'
    """
    who = 'compare_with_torch'
    torch = _torch_module(torch, who)
    import ember
    e_model, t_model = _builders(build, torch, who)
    for m, fw in ((e_model, ember), (t_model, torch)):
        if not isinstance(m, fw.nn.Module):
            raise TypeError(f'{who}: build gave a {type(m).__name__} for {fw.__name__}, not '
                            f'a {fw.__name__}.nn.Module')
    _copy_weights(e_model, t_model, torch, who)
    e_model.train(train)
    t_model.train(train)
    results = {}
    for fw, model in ((ember, e_model), (torch, t_model)):
        calls, handles = _record(model, fw.Tensor)
        try:
            xs = _inputs(inputs, fw, who)
            out = model(*xs)
            if loss is None:
                rng = np.random.default_rng(seed)
                cot = [rng.standard_normal(tuple(t.shape))
                       for t in _tensors(out, (fw.Tensor,))]
                value = _loss(fw, out, cot)
            else:
                value = loss(fw, out)
            value.backward()
        finally:
            for h in handles:
                h.remove()
        results[fw.__name__] = calls
    return _compare(results['ember'], results['torch'], rtol, atol, who)


def _compare(e_calls, t_calls, rtol, atol, who):
    e_names, t_names = [c.name for c in e_calls], [c.name for c in t_calls]
    if e_names != t_names:
        raise RuntimeError(f'{who}: the two models call their modules in different orders: '
                           f'ember {e_names}, torch {t_names}')
    rows, first_fwd, first_bwd = [], None, None
    for e, t in zip(e_calls, t_calls):
        for i, (a, b) in enumerate(zip(e.outputs, t.outputs)):
            d = _diff(e, 'output' if len(e.outputs) == 1 else f'output {i}', a, b,
                      rtol, atol)
            rows.append(d)
            first_fwd = first_fwd or (None if d.ok else d)
    # backward meets a call's output gradients where its forward finished and its input and
    # parameter gradients where its forward started: walk those moments from last to first
    events = sorted([(e.end, 'out', e, t) for e, t in zip(e_calls, t_calls)]
                    + [(e.start, 'in', e, t) for e, t in zip(e_calls, t_calls)],
                    key=lambda ev: ev[0], reverse=True)
    for _, side, e, t in events:
        if side == 'out':
            pairs = [('grad of output', a.grad, b.grad) for a, b in zip(e.outputs, t.outputs)
                     if b.requires_grad]
        else:
            pairs = [('grad of input', a.grad, b.grad) for a, b in zip(e.inputs, t.inputs)
                     if b.requires_grad]
            t_params = dict(t.params)
            pairs += [(f'grad of {n}', p.grad, t_params[n].grad) for n, p in e.params
                      if n in t_params]
        for what, a, b in pairs:
            d = _diff(e, what, a, b, rtol, atol)
            rows.append(d)
            first_bwd = first_bwd or (None if d.ok else d)
    return Comparison(rows, first_fwd, first_bwd)


def main(argv=None) -> int:
    """The command ``python -m ember.debug_compare script.py``: the script imports torch and
    defines ``build(fw)`` and ``inputs(fw)`` (and may define ``loss(fw, output)``); prints the
    comparison and returns 0 when ember and PyTorch agree, 1 when they differ.

    >>> from ember.debug_compare import main
    >>> main(['--help'])  # doctest: +ELLIPSIS
    usage: python -m ember.debug_compare [-h] ...
    0
    """
    parser = argparse.ArgumentParser(
        prog='python -m ember.debug_compare',
        description='Compare a model in ember and in PyTorch, layer by layer.')
    parser.add_argument('script', help='a Python file defining build(fw) and inputs(fw)')
    parser.add_argument('--rtol', type=float, default=RTOL)
    parser.add_argument('--atol', type=float, default=ATOL)
    parser.add_argument('--train', action='store_true', help='compare in training mode')
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    names = runpy.run_path(args.script)
    missing = [n for n in ('build', 'inputs') if not callable(names.get(n))]
    if missing:
        print(f'{args.script} must define {" and ".join(f"{n}(fw)" for n in missing)}',
              file=sys.stderr)
        return 2
    try:
        result = compare_with_torch(names['build'], names['inputs'], loss=names.get('loss'),
                                    rtol=args.rtol, atol=args.atol, train=args.train,
                                    torch=names.get('torch'))
    except ImportError as e:
        print(f'{args.script}: {e}', file=sys.stderr)
        return 2
    print(result)
    return 0 if result.ok else 1


if __name__ == '__main__':
    sys.exit(main())
