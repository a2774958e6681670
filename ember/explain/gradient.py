"""Gradient attributions: ``Saliency``, ``InputXGradient``, ``IntegratedGradients`` and
``NoiseTunnel`` (SmoothGrad), with Captum's names, arguments and arithmetic."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd import no_grad
from ..ops.join import cat
from ..random import randn
from ._common import (answer, as_baselines, as_tuple, expand, extra_args, gradients, repeat,
                      row_sums, run)


class Attribution:
    """The base of ember's attribution algorithms: ``forward_func`` is the model (or any
    function of the inputs returning a tensor); ``attribute(inputs, ...)`` returns one
    attribution per input, shaped like it.

    >>> isinstance(ember.explain.Saliency(ember.nn.Linear(2, 1)), ember.explain.Attribution)
    True
    """
    multiplies_by_inputs = False
    convergence_delta = False

    def __init__(self, forward_func) -> None:
        if not callable(forward_func):
            raise TypeError(f'{type(self).__name__}: forward_func must be callable (a Module '
                            f'or a function), got {type(forward_func).__name__}')
        self.forward_func = forward_func

    def has_convergence_delta(self) -> bool:
        """Whether ``attribute`` can return a convergence delta (Captum's name).

        >>> ember.explain.IntegratedGradients(ember.nn.Linear(2, 1)).has_convergence_delta()
        True
        """
        return self.convergence_delta

    def compute_convergence_delta(self, attributions, start_point, end_point, target=None,
                                  additional_forward_args=None) -> Tensor:
        """Per example: the attributions' sum less ``f(end_point) - f(start_point)`` (zero
        for an exact completeness-preserving attribution).

        >>> lin = ember.nn.Linear(2, 1)
        >>> x = ember.ones(1, 2)
        >>> a = ember.explain.InputXGradient(lin).attribute(x, target=0)
        >>> ig = ember.explain.IntegratedGradients(lin)
        >>> ig.compute_convergence_delta(a, ember.zeros(1, 2), x, target=0).abs().item() < 1e-6
        True
        """
        who = f'{type(self).__name__}.compute_convergence_delta'
        attrs, _ = as_tuple(attributions, who, 'attributions')
        ends, _ = as_tuple(end_point, who, 'end_point')
        starts = as_baselines(start_point, ends, who)
        args = extra_args(additional_forward_args)
        with no_grad():
            start = row_sums(run(self.forward_func, starts, target, args, who))
            end = row_sums(run(self.forward_func, ends, target, args, who))
            total = sum(row_sums(a) for a in attrs)
            return total - (end - start)


class Saliency(Attribution):
    """The gradient of the target output with respect to each input, its absolute value by
    default (Simonyan et al. 2013; Captum's ``Saliency``).

    >>> lin = ember.nn.Linear(3, 2)
    >>> with ember.no_grad(): _ = lin.weight.copy_(ember.tensor([[1., -2., 3.], [0., 0., 1.]]))
    >>> ember.explain.Saliency(lin).attribute(ember.ones(1, 3), target=0)
    tensor([[1., 2., 3.]])
    """

    def attribute(self, inputs, target=None, abs=True, additional_forward_args=None):
        """Gradients of the ``target`` outputs (an int, a tuple, or one per example) with
        respect to ``inputs`` (a tensor or a tuple of tensors, batch first), absolute values
        when ``abs``; ``additional_forward_args`` follow the inputs in each call."""
        who = 'Saliency.attribute'
        xs, single = as_tuple(inputs, who)
        grads = gradients(self.forward_func, xs, target, extra_args(additional_forward_args),
                          who)
        return answer([g.abs() if abs else g for g in grads], single)


class InputXGradient(Attribution):
    """Each input times the gradient of the target output with respect to it (Captum's
    ``InputXGradient``).

    >>> lin = ember.nn.Linear(2, 1)
    >>> with ember.no_grad(): _ = lin.weight.copy_(ember.tensor([[2., -1.]]))
    >>> ember.explain.InputXGradient(lin).attribute(ember.tensor([[3., 4.]]), target=0)
    tensor([[ 6., -4.]])
    """
    multiplies_by_inputs = True

    def attribute(self, inputs, target=None, additional_forward_args=None):
        """``inputs`` times the gradients of the ``target`` outputs with respect to them."""
        who = 'InputXGradient.attribute'
        xs, single = as_tuple(inputs, who)
        grads = gradients(self.forward_func, xs, target, extra_args(additional_forward_args),
                          who)
        return answer([(x * g).detach() for x, g in zip(xs, grads)], single)


def _riemann(kind):
    def steps(n):
        sizes = [1 / n] * n
        if kind == 'trapezoid':
            sizes[0] /= 2
            sizes[-1] /= 2
        return sizes

    def alphas(n):
        lo, hi = {'trapezoid': (0, 1), 'left': (0, 1 - 1 / n), 'right': (1 / n, 1),
                  'middle': (1 / (2 * n), 1 - 1 / (2 * n))}[kind]
        # Captum takes torch.linspace(...).tolist(): the points rounded to float32
        return np.linspace(lo, hi, n).astype(np.float32).astype(np.float64).tolist()
    return steps, alphas


def _gauss_legendre():
    return (lambda n: (0.5 * np.polynomial.legendre.leggauss(n)[1]).tolist(),
            lambda n: (0.5 * (1 + np.polynomial.legendre.leggauss(n)[0])).tolist())


METHODS = ('riemann_right', 'riemann_left', 'riemann_middle', 'riemann_trapezoid',
           'gausslegendre')


def _steps_and_alphas(method, n_steps, who):
    if method not in METHODS:
        raise ValueError(f'{who}: method={method!r} is not one of {", ".join(METHODS)}')
    if not isinstance(n_steps, int) or n_steps < (1 if method == 'gausslegendre' else 2):
        raise ValueError(f'{who}: n_steps must be an int of at least '
                         f'{1 if method == "gausslegendre" else 2} for {method}, got {n_steps}')
    sizes, alphas = _gauss_legendre() if method == 'gausslegendre' else \
        _riemann(method.split('_')[1])
    return sizes(n_steps), alphas(n_steps)


class IntegratedGradients(Attribution):
    """The path integral of the gradient from ``baselines`` to the inputs, times the
    difference (Sundararajan et al. 2017; Captum's ``IntegratedGradients``). The integral
    is approximated with ``n_steps`` points of ``method`` (Gauss-Legendre by default);
    ``return_convergence_delta=True`` also returns, per example, the attributions' sum less
    ``f(inputs) - f(baselines)``, the approximation's error.

    >>> lin = ember.nn.Linear(2, 1)
    >>> with ember.no_grad(): _ = lin.weight.copy_(ember.tensor([[2., -1.]]))
    >>> ig = ember.explain.IntegratedGradients(lin)
    >>> attr, delta = ig.attribute(ember.tensor([[3., 4.]]), target=0,
    ...                            return_convergence_delta=True)
    >>> attr.round(decimals=4), delta.abs().item() < 1e-5
    (tensor([[ 6., -4.]]), True)
    """
    convergence_delta = True

    def __init__(self, forward_func, multiply_by_inputs=True) -> None:
        super().__init__(forward_func)
        self.multiplies_by_inputs = multiply_by_inputs

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  n_steps=50, method='gausslegendre', internal_batch_size=None,
                  return_convergence_delta=False):
        """Integrated gradients from ``baselines`` (None: zeros; a number; a tensor of one
        example or of the batch) to ``inputs`` for the ``target`` outputs, with ``n_steps``
        points of ``method`` (``'gausslegendre'``, ``'riemann_left'``, ``'_right'``,
        ``'_middle'``, ``'_trapezoid'``), evaluated ``internal_batch_size`` rows at a time
        (None: all at once); with the convergence delta when asked."""
        who = 'IntegratedGradients.attribute'
        xs, single = as_tuple(inputs, who)
        bs = as_baselines(baselines, xs, who)
        args = extra_args(additional_forward_args)
        sizes, alphas = _steps_and_alphas(method, n_steps, who)
        n = xs[0].shape[0]
        per = n_steps if internal_batch_size is None else max(1, internal_batch_size // n)
        totals = None
        for s in range(0, n_steps, per):
            part = self._integrate(xs, bs, target, args, sizes[s:s + per], alphas[s:s + per])
            totals = part if totals is None else [t + p for t, p in zip(totals, part)]
        if self.multiplies_by_inputs:
            attrs = [(t * (x - b)).detach() for t, x, b in zip(totals, xs, bs)]
        else:
            attrs = [t.detach() for t in totals]
        out = answer(attrs, single)
        if return_convergence_delta:
            return out, self.compute_convergence_delta(out, bs, xs, target, args)
        return out

    def _integrate(self, xs, bs, target, args, sizes, alphas):
        k = len(alphas)
        points = tuple(cat([b + a * (x - b) for a in alphas]) for x, b in zip(xs, bs))
        grads = gradients(self.forward_func, points, repeat(target, k),
                          tuple(repeat(a, k) for a in args), 'IntegratedGradients.attribute')
        weights = Tensor._make(np.asarray(sizes, np.float32).reshape(k, 1))
        return [(g.reshape(k, -1) * weights.to(g.device)).reshape((k,) + tuple(x.shape)).sum(0)
                for g, x in zip(grads, xs)]


NT_TYPES = ('smoothgrad', 'smoothgrad_sq', 'vargrad')


def _noise(shape, stdev, like):
    """Gaussian noise of standard deviation ``stdev`` (from ember's global generator)."""
    return randn(*shape, dtype=like.dtype, device=like.device) * stdev


class NoiseTunnel(Attribution):
    """SmoothGrad and its variants around another algorithm (Smilkov et al. 2017; Captum's
    ``NoiseTunnel``): the algorithm's attributions averaged over ``nt_samples`` copies of
    each input with Gaussian noise of standard deviation ``stdevs`` added (``nt_type=
    'smoothgrad'``), the mean of their squares (``'smoothgrad_sq'``) or their variance
    (``'vargrad'``). The noise comes from ember's global generator (``ember.manual_seed``).

    >>> lin = ember.nn.Linear(3, 1)
    >>> nt = ember.explain.NoiseTunnel(ember.explain.Saliency(lin))
    >>> nt.attribute(ember.ones(2, 3), nt_samples=4, stdevs=0.1, target=0).shape
    ember.Size([2, 3])
    """

    def __init__(self, attribution_method) -> None:
        if not isinstance(attribution_method, Attribution):
            raise TypeError(f'NoiseTunnel: expected an ember.explain algorithm (Saliency, '
                            f'IntegratedGradients ...), got {type(attribution_method).__name__}')
        super().__init__(attribution_method.forward_func)
        self.attribution_method = attribution_method
        self.convergence_delta = attribution_method.has_convergence_delta()
        self.multiplies_by_inputs = attribution_method.multiplies_by_inputs

    def attribute(self, inputs, nt_type='smoothgrad', nt_samples=5, nt_samples_batch_size=None,
                  stdevs=1.0, draw_baseline_from_distrib=False, **kwargs):
        """The wrapped algorithm's attributions over ``nt_samples`` noisy copies of
        ``inputs`` (noise of standard deviation ``stdevs``: a float, or one per input),
        ``nt_samples_batch_size`` copies per call, combined by ``nt_type``; ``kwargs`` go to
        the algorithm (``target``, ``baselines`` ... repeated for the copies)."""
        who = 'NoiseTunnel.attribute'
        xs, single = as_tuple(inputs, who)
        if nt_type not in NT_TYPES:
            raise ValueError(f'{who}: nt_type={nt_type!r} is not one of {", ".join(NT_TYPES)}')
        if draw_baseline_from_distrib:
            raise NotImplementedError(f'{who}: draw_baseline_from_distrib=True (GradientShap\'s '
                                      f'baselines) is not in ember.explain')
        if not isinstance(nt_samples, int) or nt_samples < 1:
            raise ValueError(f'{who}: nt_samples must be a positive int, got {nt_samples}')
        stdevs = stdevs if isinstance(stdevs, tuple) else (stdevs,) * len(xs)
        if len(stdevs) != len(xs) or not all(isinstance(s, float) for s in stdevs):
            raise ValueError(f'{who}: stdevs must be a float or a tuple of {len(xs)} floats, '
                             f'got {stdevs}')
        size = nt_samples if nt_samples_batch_size is None else \
            min(nt_samples, nt_samples_batch_size)
        want_delta = kwargs.get('return_convergence_delta', False) and self.convergence_delta
        sums = squares = None
        deltas = []
        with no_grad():
            for start in range(0, nt_samples, size):
                k = min(size, nt_samples - start)
                noisy = tuple(x.repeat_interleave(k, dim=0) + _noise(
                    (x.shape[0] * k,) + tuple(x.shape[1:]), s, x) for x, s in zip(xs, stdevs))
                out = self.attribution_method.attribute(answer(noisy, single),
                                                        **self._expanded(kwargs, xs, k))
                if want_delta:
                    out, delta = out
                    deltas.append(delta)
                attrs = (out,) if isinstance(out, Tensor) else out
                parts = [a.reshape((a.shape[0] // k, k) + tuple(a.shape[1:])) for a in attrs]
                s_part = [p.sum(1) for p in parts]
                q_part = [(p * p).sum(1) for p in parts]
                sums = s_part if sums is None else [a + b for a, b in zip(sums, s_part)]
                squares = q_part if squares is None else \
                    [a + b for a, b in zip(squares, q_part)]
            mean = [s * (1 / nt_samples) for s in sums]
            mean_sq = [q * (1 / nt_samples) for q in squares]
            result = {'smoothgrad': mean, 'smoothgrad_sq': mean_sq,
                      'vargrad': [q - m * m for m, q in zip(mean, mean_sq)]}[nt_type]
        out = answer(result, isinstance(out, Tensor))
        return (out, cat(deltas)) if want_delta else out

    @staticmethod
    def _expanded(kwargs, xs, k):
        """The algorithm's arguments with their per-example entries repeated for the ``k``
        noisy copies of each example (Captum's ``_expand_partial``)."""
        n = xs[0].shape[0]
        out = dict(kwargs)
        if 'target' in out:
            out['target'] = expand(out['target'], k)
        for key in ('baselines', 'feature_mask'):
            if isinstance(out.get(key), Tensor) and out[key].dim() > 0 \
                    and out[key].shape[0] == n and n > 1:
                out[key] = out[key].repeat_interleave(k, dim=0)
            elif isinstance(out.get(key), tuple):
                out[key] = tuple(v.repeat_interleave(k, dim=0) if isinstance(v, Tensor)
                                 and v.dim() > 0 and v.shape[0] == n and n > 1 else v
                                 for v in out[key])
        if out.get('additional_forward_args') is not None:
            out['additional_forward_args'] = tuple(
                expand(a, k) for a in extra_args(out['additional_forward_args']))
        return out
