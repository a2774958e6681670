"""Perturbation attributions: ``FeatureAblation`` and ``Occlusion``, as Captum computes them.

A feature (a group of input elements given by a mask, or a sliding window) is replaced by the
baseline and the model rerun; the drop of the target output is the feature's attribution,
given to each of its elements. ``Occlusion``'s windows overlap, so each element gets the mean
over the windows that cover it.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd import no_grad
from ..ops.index import where
from ..ops.join import cat
from ._common import answer, as_tuple, extra_args, repeat, run
from .gradient import Attribution


def _baselines(baselines, xs, who):
    """Captum's ablation baselines: None (zero), a number, or a tensor broadcasting to the
    input (one example or one per example), one per input as a tuple."""
    bs = (0.0,) * len(xs) if baselines is None else \
        baselines if isinstance(baselines, tuple) else (baselines,)
    if len(bs) != len(xs):
        raise ValueError(f'{who}: {len(xs)} inputs but {len(bs)} baselines')
    out = []
    for b, x in zip(bs, xs):
        if isinstance(b, (int, float)):
            out.append(float(b))
        elif isinstance(b, Tensor):
            shape = tuple(b.shape)
            if shape not in (tuple(x.shape), (1,) + tuple(x.shape[1:]), tuple(x.shape[1:])):
                raise ValueError(f'{who}: baseline of shape {shape} does not fit input of '
                                 f'shape {tuple(x.shape)}')
            out.append(b.detach().to(x.dtype).reshape((-1,) + tuple(x.shape[1:])))
        else:
            raise TypeError(f'{who}: a baseline must be a number or a Tensor, got '
                            f'{type(b).__name__}')
    return out


class FeatureAblation(Attribution):
    """Each feature's attribution is how much the target output drops when the feature is
    replaced by the baseline (Captum's ``FeatureAblation``). ``feature_mask`` (one integer
    tensor per input, shaped like one example or like the input) groups elements into
    features by id; by default each element is its own feature. ``perturbations_per_eval``
    ablates that many features per forward call.

    >>> lin = ember.nn.Linear(3, 1, bias=False)
    >>> with ember.no_grad(): _ = lin.weight.copy_(ember.tensor([[1., 2., 3.]]))
    >>> fa = ember.explain.FeatureAblation(lin)
    >>> fa.attribute(ember.ones(1, 3), target=0)
    tensor([[1., 2., 3.]])
    >>> fa.attribute(ember.ones(1, 3), target=0, feature_mask=ember.tensor([[0, 0, 1]]))
    tensor([[3., 3., 3.]])
    """
    use_weights = False

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  feature_mask=None, perturbations_per_eval=1, show_progress=False):
        """Ablate each feature of ``inputs`` in turn (replace it by ``baselines``: None for
        zero, a number, or a tensor broadcasting to the input) and attribute the drop of the
        ``target`` outputs to it. ``show_progress`` is accepted and ignored."""
        who = f'{type(self).__name__}.attribute'
        xs, single = as_tuple(inputs, who, floats=False)
        masks = self._masks(feature_mask, xs, who)
        return self._ablate(xs, single, masks, baselines, target, additional_forward_args,
                            perturbations_per_eval, who)

    @staticmethod
    def _masks(feature_mask, xs, who):
        """One boolean mask per (feature, input), in Captum's feature order."""
        if feature_mask is None:
            masks, start = [], 0
            for x in xs:
                size = int(np.prod(x.shape[1:], dtype=np.int64))
                masks.append(np.arange(start, start + size).reshape((1,) + tuple(x.shape[1:])))
                start += size
        else:
            given = (feature_mask,) if isinstance(feature_mask, Tensor) else feature_mask
            if not isinstance(given, tuple) or len(given) != len(xs):
                raise ValueError(f'{who}: feature_mask must be a Tensor or a tuple of '
                                 f'{len(xs)} Tensors (one per input)')
            masks = []
            for m, x in zip(given, xs):
                if not isinstance(m, Tensor) or m.dtype.is_floating_point:
                    raise TypeError(f'{who}: a feature_mask must be an integer Tensor, got '
                                    f'{getattr(m, "dtype", type(m).__name__)}')
                a = m.cpu().numpy()
                a = a.reshape((1,) + a.shape) if a.ndim == x.dim() - 1 else a
                try:
                    np.broadcast_shapes(a.shape, tuple(x.shape))
                except ValueError:
                    raise ValueError(f'{who}: feature_mask of shape {tuple(m.shape)} does not '
                                     f'broadcast to input of shape {tuple(x.shape)}') from None
                masks.append(a)
        ids = {}
        for i, a in enumerate(masks):
            for f in np.unique(a):
                ids.setdefault(int(f), []).append(i)
        return [(f, [Tensor._make(masks[i] == f).to(xs[i].device) if i in ids[f] else None
                     for i in range(len(xs))]) for f in ids]

    def _ablate(self, xs, single, features, baselines, target, additional_forward_args,
                per_eval, who):
        if not isinstance(per_eval, int) or per_eval < 1:
            raise ValueError(f'{who}: perturbations_per_eval must be a positive int, got '
                             f'{per_eval}')
        bs = _baselines(baselines, xs, who)
        args = extra_args(additional_forward_args)
        with no_grad():
            initial = run(self.forward_func, xs, target, args, who)
            n_out = initial.numel()
            flat = initial.reshape(1, -1)
            totals = [xs[0].new_zeros((n_out,) + tuple(x.shape[1:])).to(initial.dtype)
                      for x in xs]
            weights = [x.new_zeros((n_out,) + tuple(x.shape[1:])).float() for x in xs]
            for s in range(0, len(features), per_eval):
                group = features[s:s + per_eval]
                k = len(group)
                ablated = []
                for i, (x, b) in enumerate(zip(xs, bs)):
                    ablated.append(cat([x if masks[i] is None else where(masks[i], b, x)
                                        for _, masks in group]))
                out = run(self.forward_func, tuple(ablated), repeat(target, k),
                          tuple(repeat(a, k) for a in args), who)
                if out.numel() != k * n_out:
                    raise ValueError(f'{who}: the forward function gave {out.numel()} outputs '
                                     f'for {k} ablated copies of the batch; expected '
                                     f'{k * n_out} (one output per example, or one per batch)')
                diff = flat - out.reshape(k, n_out)
                for j, (_, masks) in enumerate(group):
                    for i, m in enumerate(masks):
                        if m is None:
                            continue
                        d = diff[j].reshape((n_out,) + (1,) * (xs[i].dim() - 1))
                        totals[i] = totals[i] + d * m.to(d.dtype)
                        if self.use_weights:
                            weights[i] = weights[i] + m.float()
        if self.use_weights:
            totals = [t.float() / w for t, w in zip(totals, weights)]
        return answer(totals, single)


def _per_input(value, xs, name, who, default=None):
    """An int or tuple of ints per input (Captum's ``_format_and_verify_*``)."""
    if value is None:
        value = default
    if isinstance(value, int) or (isinstance(value, tuple)
                                  and all(isinstance(v, int) for v in value)):
        value = (value,) * len(xs) if len(xs) > 1 or isinstance(value, int) else (value,)
    if len(value) != len(xs):
        raise ValueError(f'{who}: {name} must be given for each of the {len(xs)} inputs')
    out = []
    for v, x in zip(value, xs):
        v = (v,) * (x.dim() - 1) if isinstance(v, int) else tuple(v)
        if len(v) != x.dim() - 1:
            raise ValueError(f'{who}: {name} {v} must have one entry per dimension of an '
                             f'example, {tuple(x.shape[1:])}')
        out.append(v)
    return out


class Occlusion(FeatureAblation):
    """Occlusion (Zeiler and Fergus 2014; Captum's ``Occlusion``): a window of
    ``sliding_window_shapes`` slides over each example by ``strides`` (1 by default), is
    replaced by the baseline, and the drop of the target output is given to the window's
    elements; each element's attribution is the mean over the windows covering it.

    >>> lin = ember.nn.Linear(4, 1, bias=False)
    >>> with ember.no_grad(): _ = lin.weight.copy_(ember.tensor([[1., 2., 3., 4.]]))
    >>> occ = ember.explain.Occlusion(lin)
    >>> occ.attribute(ember.ones(1, 4), sliding_window_shapes=(2,), target=0)
    tensor([[3., 4., 6., 7.]])
    """
    use_weights = True

    def attribute(self, inputs, sliding_window_shapes, strides=None, baselines=None,
                  target=None, additional_forward_args=None, perturbations_per_eval=1,
                  show_progress=False):
        """Slide a window of ``sliding_window_shapes`` (one entry per dimension of an
        example; a tuple of them for several inputs) by ``strides`` over ``inputs``, replace
        it by ``baselines`` and give each element the mean drop of the ``target`` outputs
        over the windows covering it. ``show_progress`` is accepted and ignored."""
        who = 'Occlusion.attribute'
        xs, single = as_tuple(inputs, who, floats=False)
        windows = _per_input(sliding_window_shapes, xs, 'sliding_window_shapes', who)
        steps = _per_input(strides, xs, 'strides', who, default=1)
        features = []
        for i, (x, w, st) in enumerate(zip(xs, windows, steps)):
            dims = tuple(x.shape[1:])
            left = np.subtract(dims, w)
            if (left < 0).any():
                raise ValueError(f'{who}: sliding window {w} exceeds the example shape {dims}')
            if not np.logical_or(left == 0, np.asarray(st) <= np.asarray(w)).all():
                raise ValueError(f'{who}: stride {st} is larger than the window {w}')
            counts = [int(np.ceil(l / s)) + 1 for l, s in zip(left, st)]
            for k in range(int(np.prod(counts))):
                m = np.zeros((1,) + dims, bool)
                at, rest = [], k
                for c, s in zip(counts, st):   # the first dimension moves fastest, as Captum's
                    at.append((rest % c) * s)
                    rest //= c
                m[(0,) + tuple(slice(a, a + ww) for a, ww in zip(at, w))] = True
                masks = [None] * len(xs)
                masks[i] = Tensor._make(m).to(x.device)
                features.append((len(features), masks))
        return self._ablate(xs, single, features, baselines, target, additional_forward_args,
                            perturbations_per_eval, who)
