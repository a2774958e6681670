"""Numerical checks of gradients (``ember.autograd.gradcheck``, ``gradgradcheck``): float64
central differences against the backward ember computes, as ``torch.autograd.gradcheck``.

A complex input or output counts as two real ones, its real and imaginary parts (interleaved
in the Jacobian): the analytic row of an output's imaginary part is the gradient for the seed
``1j``, and a complex input's gradient ``dL/dRe + i dL/dIm`` fills its two columns, PyTorch's
convention."""
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
        steps = (eps, eps * 1j) if arr.dtype.kind == 'c' else (eps,)
        for k in np.ndindex(arr.shape):
            old = arr[k].copy()
            for step in steps:
                arr[k] = old + step
                with no_grad():
                    plus = _flat_outputs(fn(*inputs))
                arr[k] = old - step
                with no_grad():
                    minus = _flat_outputs(fn(*inputs))
                arr[k] = old
                jac.append((plus - minus) / (2 * eps))
        cols.append(np.stack(jac, 1) if jac else None)
    return cols


def _flat_outputs(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return np.concatenate([_reals(host(o._data)) for o in outs
                           if isinstance(o, Tensor) and o.dtype.kind >= 2])


def _reals(a):
    """An array's values as float64, a complex one's parts interleaved."""
    if a.dtype.kind == 'c':
        return np.stack([a.real, a.imag], -1).astype(np.float64).reshape(-1)
    return a.astype(np.float64).reshape(-1)


def _n_reals(t):
    return t.numel() * (2 if t.dtype.is_complex else 1)


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
    n_out = sum(_n_reals(o) for o in outs)
    analytic = [np.zeros((n_out, _n_reals(t))) for t in diff]
    row = 0
    for o in outs:
        for k in range(o.numel()):
            for unit in ((1, 1j) if o.dtype.is_complex else (1,)):
                seed = np.zeros(o.numel(), dtype=o.dtype.np)
                seed[k] = unit
                g_out = _tensor.tensor(seed.reshape(o.shape), device=o.device)
                gs = grad(o, diff, g_out, retain_graph=True, allow_unused=True)
                for a, g, t in zip(analytic, gs, diff):
                    if g is not None:
                        a[row] = _reals(host(g._data).astype(t.dtype.np))
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
        grad_outputs = [_tensor.tensor(rng.standard_normal(o.shape) + (
            1j * rng.standard_normal(o.shape) if o.dtype.is_complex else 0), dtype=o.dtype,
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
