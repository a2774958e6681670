"""Numerical checks of gradients (``ember.autograd.gradcheck``, ``gradgradcheck``): float64
central differences against the backward ember computes, as ``torch.autograd.gradcheck``."""
import numpy as np

from . import _tensor
from .autograd import enable_grad, grad, no_grad
from .backend import host

Tensor = _tensor.Tensor


def _numeric_jacobian(fn, inputs, eps):
    """d(flattened outputs)/d(each input), by central differences in float64."""
    cols = []
    for t in inputs:
        if t is None or not t.requires_grad:
            cols.append(None)
            continue
        arr = t._data    # indexed in place: reshape(-1) would copy a non-contiguous array
        jac = []
        for k in np.ndindex(arr.shape):
            old = arr[k].copy()
            arr[k] = old + eps
            with no_grad():
                plus = _flat_outputs(fn(*inputs))
            arr[k] = old - eps
            with no_grad():
                minus = _flat_outputs(fn(*inputs))
            arr[k] = old
            jac.append((plus - minus) / (2 * eps))
        cols.append(np.stack(jac, 1) if jac else None)
    return cols


def _flat_outputs(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return np.concatenate([host(o._data).astype(np.float64).reshape(-1) for o in outs
                           if isinstance(o, Tensor) and o.dtype.is_floating_point])


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare backward with central differences; inputs should be float64.

    >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    >>> ember.autograd.gradcheck(lambda x: (x.sin() * x).sum(), (x,))
    True
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    with enable_grad():
        out = fn(*inputs)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else (out,))
            if isinstance(o, Tensor) and o.requires_grad]
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    numeric = _numeric_jacobian(fn, [t if isinstance(t, Tensor) else None for t in inputs], eps)
    numeric = [j for j, t in zip(numeric, inputs) if isinstance(t, Tensor) and t.requires_grad]
    n_out = sum(o.numel() for o in outs)
    analytic = [np.zeros((n_out, t.numel())) for t in diff]
    row = 0
    for o in outs:
        for k in range(o.numel()):
            seed = np.zeros(o.numel())
            seed[k] = 1
            g_out = _tensor.tensor(seed.reshape(o.shape), dtype=o.dtype, device=o.device)
            gs = grad(o, diff, g_out, retain_graph=True, allow_unused=True)
            for a, g in zip(analytic, gs):
                if g is not None:
                    a[row] = host(g._data).reshape(-1)
            row += 1
    for i, (a, nmat) in enumerate(zip(analytic, numeric)):
        nmat = np.zeros_like(a) if nmat is None else nmat
        if not np.allclose(a, nmat, atol=atol, rtol=rtol):
            if raise_exception:
                raise GradcheckError(f'gradcheck: Jacobian mismatch for input {i}:\n'
                                     f'numerical:\n{nmat}\nanalytical:\n{a}')
            return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True):
    """gradcheck of the first derivatives: checks second-order gradients.

    >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    >>> ember.autograd.gradgradcheck(lambda x: (x.exp() * x).sum(), (x,))
    True
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    if grad_outputs is None:
        with enable_grad():
            out = fn(*inputs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        rng = np.random.default_rng(0)
        grad_outputs = [_tensor.tensor(rng.standard_normal(o.shape), dtype=o.dtype,
                                       device=o.device, requires_grad=True) for o in outs]
    n_in = len(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def first(*args):
        xs, gos = args[:n_in], args[n_in:]
        with enable_grad():
            out = fn(*xs)
            outs = out if isinstance(out, (tuple, list)) else (out,)
            gs = grad(outs, [xs[i] for i in diff_idx], list(gos), create_graph=True,
                      allow_unused=True)
        return tuple(g for g in gs if g is not None)
    return gradcheck(first, tuple(inputs) + tuple(grad_outputs), eps, atol, rtol,
                     raise_exception)


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients differ.

    >>> x = ember.ones(1, dtype=ember.float64, requires_grad=True)
    >>> try:
    ...     ember.autograd.gradcheck(lambda x: x.detach() * 2 + x, (x,))
    ... except ember.autograd.GradcheckError as e:
    ...     print(str(e).splitlines()[0])
    gradcheck: Jacobian mismatch for input 0:
    """
