"""What every attribution algorithm shares: inputs as tuples, baselines, targets, gradients.

The rules are Captum's (``captum/_utils/common.py``, ``captum/_utils/gradient.py``), written
again on ember: an algorithm takes one tensor or a tuple of tensors and answers in the same
form; ``target`` picks one output per example; gradients are of the sum of the picked
outputs, so each example's attribution is its own.
"""
from __future__ import annotations

import numpy as np

from .._creation import full_like
from .._tensor import Tensor
from ..autograd import enable_grad, grad as _grad
from ..ops.index import gather
from ..ops.join import cat


def as_tuple(inputs, who, what='inputs', floats=True):
    """``inputs`` (one tensor or a tuple of them) as a tuple, with whether it was one;
    gradient methods need ``floats``."""
    single = isinstance(inputs, Tensor)
    items = (inputs,) if single else inputs
    if not isinstance(items, tuple) or not items \
            or not all(isinstance(t, Tensor) for t in items):
        raise TypeError(f'{who}: {what} must be a Tensor or a non-empty tuple of Tensors, '
                        f'got {type(inputs).__name__}')
    for t in items:
        if t.dim() == 0:
            raise ValueError(f'{who}: {what} need a batch dimension (dim 0), got a 0-d '
                             f'tensor')
        if floats and not t.dtype.is_floating_point:
            raise TypeError(f'{who}: {what} must be floating point, got {t.dtype}')
    return items, single


def answer(items, single):
    """A tuple of results in the form the inputs came in."""
    return items[0] if single else tuple(items)


def as_baselines(baselines, inputs, who):
    """Captum's baselines: None (zeros), a number, a tensor shaped like one example or like
    the whole input, one per input as a tuple; each returned as a tensor of the input's
    shape."""
    if baselines is None:
        baselines = (0.0,) * len(inputs)
    elif not isinstance(baselines, tuple):
        baselines = (baselines,)
    if len(baselines) != len(inputs):
        raise ValueError(f'{who}: {len(inputs)} inputs but {len(baselines)} baselines')
    out = []
    for b, x in zip(baselines, inputs):
        if isinstance(b, (int, float)):
            out.append(full_like(x.detach(), float(b)))
            continue
        if not isinstance(b, Tensor):
            raise TypeError(f'{who}: a baseline must be a number or a Tensor, got '
                            f'{type(b).__name__}')
        if tuple(b.shape) not in (tuple(x.shape), (1,) + tuple(x.shape[1:]),
                                  tuple(x.shape[1:])):
            raise ValueError(f'{who}: baseline of shape {tuple(b.shape)} does not fit input '
                             f'of shape {tuple(x.shape)} (give one example, or one per '
                             f'example)')
        out.append(b.detach().to(x.dtype).expand(x.shape) * 1)
    return tuple(out)


def select(output, target, who):
    """The output of each example that ``target`` names (Captum's ``_select_targets``):
    None (the output itself), an int or 0-d tensor (that column for every example), a tuple
    (those trailing indices), a list or 1-D tensor (one column per example)."""
    if target is None:
        return output
    if isinstance(target, Tensor) and target.numel() == 1:
        target = int(target.item())
    if isinstance(target, (int, np.integer)):
        if output.dim() < 2:
            raise ValueError(f'{who}: target={int(target)} needs outputs with a class '
                             f'dimension, got shape {tuple(output.shape)}')
        return output[:, int(target)]
    if isinstance(target, tuple):
        return output[(slice(None),) + target]
    if isinstance(target, (list, Tensor)):
        idx = target if isinstance(target, Tensor) else \
            Tensor._make(np.asarray(target, np.int64))
        if output.dim() != 2 or idx.dim() != 1 or len(idx) != output.shape[0]:
            raise ValueError(f'{who}: a target per example needs outputs of shape (N, C) and '
                             f'N targets; got outputs {tuple(output.shape)} and '
                             f'{len(idx)} targets')
        return gather(output, 1, idx.reshape(-1, 1).to(output.device)).reshape(-1)
    raise TypeError(f'{who}: target must be None, an int, a tuple, a list or a Tensor, got '
                    f'{type(target).__name__}')


def run(forward, inputs, target, args, who):
    """``forward(*inputs, *args)``, with ``target``'s outputs picked."""
    out = forward(*inputs, *args)
    if not isinstance(out, Tensor):
        raise TypeError(f'{who}: the forward function must return a Tensor, got '
                        f'{type(out).__name__}')
    return select(out, target, who)


def extra_args(additional_forward_args):
    """Captum's ``additional_forward_args``: None, one value, or a tuple of values."""
    if additional_forward_args is None:
        return ()
    if isinstance(additional_forward_args, tuple):
        return additional_forward_args
    return (additional_forward_args,)


def gradients(forward, inputs, target, args, who):
    """Gradients of the sum of the picked outputs with respect to each input (detached
    leaves made here), as Captum's ``compute_gradients``."""
    leaves = tuple(x.detach().requires_grad_() for x in inputs)
    with enable_grad():
        out = run(forward, leaves, target, args, who)
        if out.dim() > 1 and out[0].numel() != 1:
            raise ValueError(f'{who}: each example has {out[0].numel()} outputs (shape '
                             f'{tuple(out.shape)}); give target= to pick one')
        return _grad(out.sum(), leaves, allow_unused=True)


def expand(value, n):
    """A batch-shaped value (a tensor with a batch dimension, a list of targets) repeated
    ``n`` times per example, as Captum's ``_expand_target(..., repeat_interleave)``."""
    if isinstance(value, Tensor) and value.dim() > 0 and value.numel() > 1:
        return value.repeat_interleave(n, dim=0)
    if isinstance(value, list):
        return [v for v in value for _ in range(n)]
    return value


def repeat(value, n):
    """A batch-shaped value repeated ``n`` times as whole batches (``torch.cat(n * [x])``),
    as Captum's ``_expand_target(..., ExpansionTypes.repeat)`` and IG's steps."""
    if isinstance(value, Tensor) and value.dim() > 0 and value.numel() > 1:
        return cat([value] * n)
    if isinstance(value, list):
        return value * n
    return value


def row_sums(t):
    """Each example's sum: ``t.reshape(N, -1).sum(1)``."""
    return t.reshape(t.shape[0], -1).sum(1)
