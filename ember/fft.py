"""Discrete Fourier transforms, as ``torch.fft``: complex (``fft``, ``ifft`` and their 2-D and
n-D forms), real-input (``rfft``...), real-output (``irfft``...) and Hermitian (``hfft``,
``ihfft``...) transforms, with ``n=``/``s=``, ``dim=`` and ``norm=`` as PyTorch takes them, and
gradients of any order; ``fftfreq``, ``rfftfreq``, ``fftshift`` and ``ifftshift``.

Three primitive ops do the transforms (``C2C``, ``R2C``, ``C2R``) and one pads or trims the
signal (``Fit``); the rest are compositions. Each runs on the array library of its tensor's
device (``xp.fft``: NumPy's pocketfft on the CPU, cuFFT through CuPy on the GPU). A float32
signal gives complex64 results (NumPy 2 computes them in single precision; an array library
that answers in complex128 is cast back), float64 complex128, integers the default dtype's.

``norm`` scales as in PyTorch: ``'backward'`` (the default) leaves the forward transform
unscaled and divides the inverse by the signal size ``n``, ``'forward'`` the other way round,
``'ortho'`` divides both by ``sqrt(n)``. The gradient of each transform is the adjoint
transform with the same scale (the inverse direction, the "dual" norm), as PyTorch's.
"""
import numpy as np

from ._dtype import get_default_dtype
from ._tensor import Tensor, _wrap_dim
from ._creation import arange
from .autograd import Op
from .ops.complex_ops import conj, real
from .ops.movement import roll

__all__ = ['fft', 'ifft', 'fft2', 'ifft2', 'fftn', 'ifftn', 'rfft', 'irfft', 'rfft2', 'irfft2',
           'rfftn', 'irfftn', 'hfft', 'ihfft', 'hfft2', 'ihfft2', 'hfftn', 'ihfftn',
           'fftfreq', 'rfftfreq', 'fftshift', 'ifftshift']

# the norm whose scale, applied in the other direction, is the adjoint's
DUAL = {'backward': 'forward', 'forward': 'backward', 'ortho': 'ortho'}
_COMPLEX = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128}
_REAL = {np.dtype(np.complex64): np.float32, np.dtype(np.complex128): np.float64}


# ---------------------------------------------------------------- the primitives

class Fit(Op):
    """Zero-pad or trim the signal along ``axes`` to ``sizes`` (from the start, as torch's
    ``n=``); its gradient is the same fit back to the old sizes."""
    complex_ok = True

    def forward(ctx, x, axes, sizes):
        ctx.axes, ctx.old = axes, tuple(x.shape[a] for a in axes)
        keep, widths = [slice(None)] * x.ndim, [(0, 0)] * x.ndim
        for a, n in zip(axes, sizes):
            keep[a], widths[a] = slice(0, n), (0, max(n - x.shape[a], 0))
        # (slicing and xp.pad, which ember.compile's tracer records, not writes into zeros)
        return ctx.xp.pad(x[tuple(keep)], widths)

    def backward(ctx, g):
        return Fit.apply(g, axes=ctx.axes, sizes=ctx.old)


class C2C(Op):
    """The complex transform over ``axes``, forward or inverse, scaled by ``norm``."""
    complex_ok = True

    def forward(ctx, x, axes, norm, forward):
        ctx.axes, ctx.norm, ctx.fwd = axes, norm, forward
        fn = ctx.xp.fft.fftn if forward else ctx.xp.fft.ifftn
        return fn(x, axes=axes, norm=norm).astype(x.dtype, copy=False)

    def backward(ctx, g):
        return C2C.apply(g, axes=ctx.axes, norm=DUAL[ctx.norm], forward=not ctx.fwd)


class R2C(Op):
    """The transform of a real signal over ``axes``: the last axis keeps ``n // 2 + 1``
    frequencies (the others are their conjugates)."""

    def forward(ctx, x, axes, norm):
        ctx.axes, ctx.norm, ctx.n = axes, norm, x.shape[axes[-1]]
        return ctx.xp.fft.rfftn(x, axes=axes, norm=norm).astype(_COMPLEX[x.dtype], copy=False)

    def backward(ctx, g):
        # the adjoint: the kept frequencies, zeros for the dropped ones, transformed back;
        # the signal is real, so its gradient is the real part
        full = Fit.apply(g, axes=ctx.axes[-1:], sizes=(ctx.n,))
        return real(C2C.apply(full, axes=ctx.axes, norm=DUAL[ctx.norm], forward=False))


class C2R(Op):
    """The inverse transform to a real signal of sizes ``s`` over ``axes``, from the
    ``s[-1] // 2 + 1`` frequencies of the last axis (the imaginary parts the Hermitian
    symmetry leaves no room for are ignored, as PyTorch and NumPy do)."""
    complex_ok = True

    def forward(ctx, x, axes, norm, s):
        ctx.axes, ctx.norm, ctx.n = axes, norm, s[-1]
        return ctx.xp.fft.irfftn(x, s=s, axes=axes, norm=norm).astype(_REAL[x.dtype],
                                                                      copy=False)

    def backward(ctx, g):
        # PyTorch's rule: the real transform of g, the frequencies that stand for two (their
        # conjugates were dropped) counted twice
        gi = R2C.apply(g, axes=ctx.axes, norm=DUAL[ctx.norm])
        axis, m = ctx.axes[-1], gi.shape[ctx.axes[-1]]
        twice = ctx.n - m
        if twice <= 0:
            return gi
        w = np.ones(m, _REAL[gi._data.dtype])
        w[1:1 + twice] = 2
        shape = [1] * gi.ndim
        shape[axis] = m
        return gi * Tensor._make(w.reshape(shape)).to(gi.device)


# ---------------------------------------------------------------- argument handling

def _norm(norm, op):
    if norm is None:
        return 'backward'
    if norm not in DUAL:
        raise RuntimeError(f'{op}: Invalid normalization mode: "{norm}" (expected "backward", '
                           f'"forward", "ortho" or None)')
    return norm


def _tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f'{op}: expected a Tensor, got {type(x).__name__}')
    if x.dtype.name in ('float16', 'bfloat16'):
        raise RuntimeError(f'{op}: Unsupported dtype {x.dtype.name} (shape {tuple(x.shape)}); '
                           f'ember transforms float32, float64 and complex tensors (as '
                           f"PyTorch's CPU)")
    return x if x.dtype.kind >= 2 else x.to(get_default_dtype())   # (integers, bools)


def _complex(x, op):
    x = _tensor(x, op)
    return x if x.is_complex() else x.to(x.dtype.to_complex())


def _real(x, op):
    x = _tensor(x, op)
    if x.is_complex():
        raise RuntimeError(f'{op} expects a real input tensor, but got {x.dtype} (shape '
                           f'{tuple(x.shape)})')
    return x


def _axes(x, s, dim, op):
    """The transformed axes (non-negative, unique) and their signal sizes (``s``'s, -1 or
    None meaning the input's), torch's rules: ``dim=None`` is every axis, or the last
    ``len(s)`` when ``s`` is given."""
    if dim is None:
        axes = tuple(range(x.ndim - (x.ndim if s is None else len(s)), x.ndim))
        if min(axes, default=0) < 0:
            raise RuntimeError(f'{op}: got shape s={tuple(s)} with {len(s)} values for a '
                               f'{x.ndim}-D input')
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if x.ndim == 0 and dims:
            raise IndexError(f'{op}: Dimension specified as {dims[0]} but tensor has no '
                             f'dimensions')
        axes = tuple(_wrap_dim(d, x.ndim, op) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f'{op}: FFT dims must be unique, got dim={dim}')
    if s is None:
        return axes, [x.shape[a] for a in axes]
    s = tuple(s)
    if len(s) != len(axes):
        raise RuntimeError(f'{op}: When given, dim and shape arguments must have the same '
                           f'length (s={s}, dim={dim})')
    return axes, [x.shape[a] if n == -1 else n for a, n in zip(axes, s)]


def _check(sizes, op):
    for n in sizes:
        if n < 1:
            raise RuntimeError(f'{op}: Invalid number of data points ({n}) specified')


def _fit(x, axes, sizes):
    if all(x.shape[a] == n for a, n in zip(axes, sizes)):
        return x
    return Fit.apply(x, axes=tuple(axes), sizes=tuple(sizes))


def _c2c(x, s, dim, norm, forward, op):
    x = _complex(x, op)
    axes, sizes = _axes(x, s, dim, op)
    _check(sizes, op)
    return C2C.apply(_fit(x, axes, sizes), axes=axes, norm=_norm(norm, op), forward=forward)


def _r2c(x, s, dim, norm, op):
    x = _real(x, op)
    axes, sizes = _axes(x, s, dim, op)
    _check(sizes, op)
    if not axes:
        raise RuntimeError(f'{op}: expected at least one dimension to transform')
    return R2C.apply(_fit(x, axes, sizes), axes=axes, norm=_norm(norm, op))


def _c2r(x, s, dim, norm, op):
    x = _complex(x, op)
    last_given = s is not None and s[-1] != -1
    axes, sizes = _axes(x, s, dim, op)
    if not axes:
        raise RuntimeError(f'{op}: expected at least one dimension to transform')
    if not last_given:   # torch's default: the even length the frequencies came from
        sizes[-1] = 2 * (x.shape[axes[-1]] - 1)
    _check(sizes, op)
    half = sizes[:-1] + [sizes[-1] // 2 + 1]
    return C2R.apply(_fit(x, axes, half), axes=axes, norm=_norm(norm, op), s=tuple(sizes))


def _hermitian(x, s, dim, norm, op):
    """hfft: the transform of a signal given by its first half (Hermitian symmetric)."""
    return _c2r(conj(_complex(x, op)), s, dim, DUAL[_norm(norm, op)], op)


def _ihermitian(x, s, dim, norm, op):
    """ihfft: the inverse transform of a real signal, its first half."""
    return conj(_r2c(x, s, dim, DUAL[_norm(norm, op)], op))


def _one(n):
    return None if n is None else (n,)


# ---------------------------------------------------------------- complex transforms

def fft(input, n=None, dim=-1, norm=None):
    """The 1-D discrete Fourier transform along ``dim``; ``n`` pads (zeros) or trims the
    signal first. Real inputs give complex results.

    >>> ember.fft.fft(ember.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    """
    return _c2c(input, _one(n), dim, norm, True, 'fft')


def ifft(input, n=None, dim=-1, norm=None):
    """The inverse of ``fft`` (divided by ``n`` with the default ``norm='backward'``).

    >>> ember.fft.ifft(ember.fft.fft(ember.tensor([1.0, 2.0, 3.0]))).real
    tensor([1., 2., 3.])
    """
    return _c2c(input, _one(n), dim, norm, False, 'ifft')


def fft2(input, s=None, dim=(-2, -1), norm=None):
    """The 2-D transform over ``dim`` (the last two by default), sizes ``s``.

    >>> ember.fft.fft2(ember.ones(2, 2))
    tensor([[4.+0.j, 0.+0.j],
            [0.+0.j, 0.+0.j]])
    """
    return _c2c(input, s, dim, norm, True, 'fft2')


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    """The inverse of ``fft2``.

    >>> ember.fft.ifft2(ember.fft.fft2(ember.eye(2))).real
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _c2c(input, s, dim, norm, False, 'ifft2')


def fftn(input, s=None, dim=None, norm=None):
    """The n-D transform over ``dim`` (every dimension, or the last ``len(s)`` when ``s`` is
    given).

    >>> ember.fft.fftn(ember.ones(2, 2, 2)).abs().sum()
    tensor(8.)
    """
    return _c2c(input, s, dim, norm, True, 'fftn')


def ifftn(input, s=None, dim=None, norm=None):
    """The inverse of ``fftn``.

    >>> ember.fft.ifftn(ember.fft.fftn(ember.ones(2, 2))).real
    tensor([[1., 1.],
            [1., 1.]])
    """
    return _c2c(input, s, dim, norm, False, 'ifftn')


# ---------------------------------------------------------------- real signals

def rfft(input, n=None, dim=-1, norm=None):
    """The transform of a real signal: its ``n // 2 + 1`` non-negative frequencies.

    >>> ember.fft.rfft(ember.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor([10.+0.j, -2.+2.j, -2.+0.j])
    """
    return _r2c(input, _one(n), dim, norm, 'rfft')


def irfft(input, n=None, dim=-1, norm=None):
    """The real signal of length ``n`` (default ``2 * (m - 1)`` for ``m`` frequencies) whose
    ``rfft`` is ``input``.

    >>> ember.fft.irfft(ember.fft.rfft(ember.tensor([1.0, 2.0, 3.0, 4.0])))
    tensor([1., 2., 3., 4.])
    """
    return _c2r(input, _one(n), dim, norm, 'irfft')


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    """The 2-D transform of a real signal, halved along the last of ``dim``.

    >>> ember.fft.rfft2(ember.ones(2, 4)).shape
    ember.Size([2, 3])
    """
    return _r2c(input, s, dim, norm, 'rfft2')


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    """The inverse of ``rfft2``.

    >>> ember.fft.irfft2(ember.fft.rfft2(ember.ones(2, 4))).shape
    ember.Size([2, 4])
    """
    return _c2r(input, s, dim, norm, 'irfft2')


def rfftn(input, s=None, dim=None, norm=None):
    """The n-D transform of a real signal, halved along the last of ``dim``.

    >>> ember.fft.rfftn(ember.ones(2, 3, 4)).shape
    ember.Size([2, 3, 3])
    """
    return _r2c(input, s, dim, norm, 'rfftn')


def irfftn(input, s=None, dim=None, norm=None):
    """The inverse of ``rfftn`` (pass ``s`` for an odd last length).

    >>> ember.fft.irfftn(ember.fft.rfftn(ember.ones(2, 3)), s=(2, 3))
    tensor([[1., 1., 1.],
            [1., 1., 1.]])
    """
    return _c2r(input, s, dim, norm, 'irfftn')


# ---------------------------------------------------------------- Hermitian signals

def hfft(input, n=None, dim=-1, norm=None):
    """The transform of a Hermitian-symmetric signal given by its first half: a real
    result of length ``n`` (default ``2 * (m - 1)``).

    >>> ember.fft.hfft(ember.tensor([1.0, 2.0, 3.0]))
    tensor([ 8., -2.,  0., -2.])
    """
    return _hermitian(input, _one(n), dim, norm, 'hfft')


def ihfft(input, n=None, dim=-1, norm=None):
    """The inverse of ``hfft``: the first ``n // 2 + 1`` values of a real signal's inverse
    transform.

    >>> ember.fft.ihfft(ember.tensor([8.0, -2.0, 0.0, -2.0]))
    tensor([1.-0.j, 2.-0.j, 3.-0.j])
    """
    return _ihermitian(input, _one(n), dim, norm, 'ihfft')


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    """The 2-D ``hfft``.

    >>> ember.fft.hfft2(ember.ones(2, 3)).shape
    ember.Size([2, 4])
    """
    return _hermitian(input, s, dim, norm, 'hfft2')


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    """The 2-D ``ihfft``.

    >>> ember.fft.ihfft2(ember.ones(2, 4)).shape
    ember.Size([2, 3])
    """
    return _ihermitian(input, s, dim, norm, 'ihfft2')


def hfftn(input, s=None, dim=None, norm=None):
    """The n-D ``hfft``.

    >>> ember.fft.hfftn(ember.ones(2, 2, 3)).shape
    ember.Size([2, 2, 4])
    """
    return _hermitian(input, s, dim, norm, 'hfftn')


def ihfftn(input, s=None, dim=None, norm=None):
    """The n-D ``ihfft``.

    >>> ember.fft.ihfftn(ember.ones(2, 2, 4)).shape
    ember.Size([2, 2, 3])
    """
    return _ihermitian(input, s, dim, norm, 'ihfftn')


# ---------------------------------------------------------------- frequencies and shifts

def fftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False):
    """The frequencies of ``fft``'s ``n`` results for samples ``d`` apart: ``[0, 1, ...,
    -(n // 2), ..., -1] / (d * n)``.

    >>> ember.fft.fftfreq(4)
    tensor([ 0.0000,  0.2500, -0.5000, -0.2500])
    """
    k = arange(n, dtype=dtype or get_default_dtype(), device=device)
    out = (k - (k >= (n + 1) // 2) * n) / (d * n)
    return out.requires_grad_(requires_grad) if requires_grad else out


def rfftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False):
    """The frequencies of ``rfft``'s ``n // 2 + 1`` results: ``[0, 1, ..., n // 2] / (d * n)``.

    >>> ember.fft.rfftfreq(5, 0.5)
    tensor([0.0000, 0.4000, 0.8000])
    """
    out = arange(n // 2 + 1, dtype=dtype or get_default_dtype(), device=device) / (d * n)
    return out.requires_grad_(requires_grad) if requires_grad else out


def _shift(x, dim, sign):
    dims = list(range(x.ndim)) if dim is None else [dim] if isinstance(dim, int) else list(dim)
    if not dims:
        return x
    shifts = [sign * (x.shape[_wrap_dim(d, x.ndim, 'fftshift')] // 2) for d in dims]
    return roll(x, shifts, dims)


def fftshift(input, dim=None):
    """Roll the zero frequency to the middle along ``dim`` (every dimension by default).

    >>> ember.fft.fftshift(ember.fft.fftfreq(4))
    tensor([-0.5000, -0.2500,  0.0000,  0.2500])
    """
    return _shift(input, dim, 1)


def ifftshift(input, dim=None):
    """The inverse of ``fftshift``.

    >>> ember.fft.ifftshift(ember.fft.fftshift(ember.arange(5)))
    tensor([0, 1, 2, 3, 4])
    """
    return _shift(input, dim, -1)
