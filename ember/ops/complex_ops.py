"""Complex tensors: their parts (``real``, ``imag``, ``angle``, ``view_as_real``), the
conjugate, and making them (``complex``, ``polar``, ``view_as_complex``).

Gradients follow PyTorch's convention: a real loss L gives a complex input z the gradient
``dL/dRe(z) + i dL/dIm(z)`` (twice the conjugate Wirtinger derivative), so a backward rule
multiplies the incoming gradient by the conjugate of a holomorphic op's derivative.
"""
import numpy as np

from .._dtype import get_default_dtype
from .._tensor import Tensor, method, zeros_like
from ..autograd import Op
from .elementwise import where

__all__ = ['real', 'imag', 'angle', 'conj', 'conj_physical', 'resolve_conj', 'resolve_neg',
           'is_complex', 'is_conj', 'view_as_real', 'view_as_complex', 'complex', 'polar',
           'sgn', 'adjoint']


def _need_complex(op, x):
    if not x.is_complex():
        raise RuntimeError(f'{op}: expected a complex tensor, got {x.dtype} of shape '
                           f'{tuple(x.shape)}')


class Real(Op):
    is_view = True
    complex_ok = True

    def forward(ctx, x):
        return x.real

    def backward(ctx, g):
        return g   # the real part's gradient is real: autograd casts it to the input's dtype


class Imag(Op):
    is_view = True
    complex_ok = True

    def forward(ctx, x):
        return x.imag

    def backward(ctx, g):
        return complex(zeros_like(g), g)   # L depends on Im z only: i * g


class Conj(Op):
    complex_ok = True

    def forward(ctx, x):
        return ctx.xp.conj(x)

    def backward(ctx, g):
        return conj(g)


class Angle(Op):
    save = (0,)
    complex_ok = True

    def forward(ctx, x):
        if x.dtype.kind == 'c':
            return ctx.xp.angle(x)
        # NOTE: a real x's angle is pi below 0 and 0 elsewhere (-0 too), nan for nan, as torch
        return ctx.xp.where(x < 0, np.pi, ctx.xp.where(ctx.xp.isnan(x), x, 0)).astype(x.dtype)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if not x.is_complex():
            return g * 0   # piecewise constant
        # d angle = (x dy - y dx) / |z|^2, so the gradient is g * i z / |z|^2; 0 at z = 0
        a2 = real(x) * real(x) + imag(x) * imag(x)
        zero = a2 == 0
        return where(zero, zeros_like(x), complex(-imag(x), real(x)) * (g / where(
            zero, a2 + 1, a2)))


class ViewAsReal(Op):
    is_view = True
    complex_ok = True

    def forward(ctx, x):
        try:   # a last axis of one item may change its dtype whatever the strides (NumPy)
            return x[..., None].view(np.float32 if x.dtype == np.complex64 else np.float64)
        except ValueError:   # (CuPy wants it contiguous): the parts' strides, by hand
            part = x.real    # a view with x's strides; the imaginary part lies half an item on
            return ctx.xp.lib.stride_tricks.as_strided(
                part, shape=x.shape + (2,), strides=part.strides + (x.itemsize // 2,))

    def backward(ctx, g):
        return complex(g[..., 0], g[..., 1])


class ViewAsComplex(Op):
    is_view = True

    def forward(ctx, x):
        if not x.size:   # (an empty array's strides are whatever NumPy chose)
            x = ctx.xp.ascontiguousarray(x)
        out = x.view(np.complex64 if x.dtype == np.float32 else np.complex128)
        return out[..., 0]

    def backward(ctx, g):
        return view_as_real(g)


class Complex(Op):
    def forward(ctx, re, im):
        out = ctx.xp.empty(np.broadcast_shapes(re.shape, im.shape),
                           np.complex64 if re.dtype == np.float32 else np.complex128)
        out.real[...], out.imag[...] = re, im
        return out

    def backward(ctx, g):
        return real(g) if ctx.needs(0) else None, imag(g) if ctx.needs(1) else None


# ---------------------------------------------------------------- functions and methods

@method('is_complex')
def is_complex(x):
    """Whether ``x``'s dtype is complex (``complex64`` or ``complex128``).

    >>> ember.is_complex(ember.tensor([1j])), ember.ones(2).is_complex()
    (True, False)
    """
    return x.dtype.is_complex


@method('is_conj')
def is_conj(x):
    """Always False: ember's ``conj`` makes a new tensor, never a lazy conjugate view.

    >>> ember.tensor([1j]).conj().is_conj()
    False
    """
    return False


def real(x):
    """The real part of a complex tensor, a view sharing its memory (a real tensor itself).

    >>> z = ember.tensor([1 + 2j, 3 - 4j]); ember.real(z)
    tensor([1., 3.])
    >>> z.real[0] = 9; z
    tensor([9.+2.j, 3.-4.j])
    """
    if not x.is_complex():
        return x
    return Real.apply(x)


def imag(x):
    """The imaginary part of a complex tensor, a view sharing its memory.

    >>> ember.imag(ember.tensor([1 + 2j, 3 - 4j]))
    tensor([ 2., -4.])
    """
    if not x.is_complex():
        raise RuntimeError(f'imag is not implemented for tensors with non-complex dtypes '
                           f'(got {x.dtype})')
    return Imag.apply(x)


def _set_part(part):
    def set_part(x, value):   # ``z.real = v``: copied into that part, as torch
        part(x).copy_(value)
    return set_part


Tensor.real = property(real, _set_part(real), doc=real.__doc__)
Tensor.imag = property(imag, _set_part(imag), doc=imag.__doc__)


@method('angle')
def angle(x):
    """The argument of each element, in ``(-pi, pi]``: ``atan2(imag, real)``; for a real
    tensor pi below 0 and 0 elsewhere. Integers give floats.

    >>> ember.angle(ember.tensor([1j, -1 + 0j]))
    tensor([1.5708, 3.1416])
    """
    if not x.is_complex() and not x.is_floating_point():
        x = x.to(get_default_dtype())
    return Angle.apply(x)


@method('conj', 'conj_physical')
def conj(x):
    """The complex conjugate; a real tensor itself. ember makes a new tensor (torch's ``conj``
    is a lazy view, its ``conj_physical`` a copy: the values are the same).

    >>> ember.conj(ember.tensor([1 + 2j]))
    tensor([1.-2.j])
    """
    if not x.is_complex():
        return x
    return Conj.apply(x)


conj_physical = conj


@method('resolve_conj', 'resolve_neg')
def resolve_conj(x):
    """``x`` itself: ember has no lazy conjugate (or negative) bit to resolve.

    >>> ember.resolve_conj(ember.tensor([1j]).conj())
    tensor([0.-1.j])
    """
    return x


resolve_neg = resolve_conj


@method('view_as_real')
def view_as_real(x):
    """A complex tensor as a real one with a last dimension of 2 (real, imaginary), sharing
    its memory.

    >>> ember.view_as_real(ember.tensor([1 + 2j, 3 - 4j]))
    tensor([[ 1.,  2.],
            [ 3., -4.]])
    """
    _need_complex('view_as_real', x)
    return ViewAsReal.apply(x)


def view_as_complex(x):
    """A float32/float64 tensor whose last dimension is 2 (real, imaginary) as a complex one,
    sharing its memory; the last dimension must have stride 1, as torch requires.

    >>> ember.view_as_complex(ember.tensor([[1.0, 2.0], [3.0, -4.0]]))
    tensor([1.+2.j, 3.-4.j])
    """
    if x.dtype.name not in ('float32', 'float64'):
        raise RuntimeError(f'view_as_complex: only float32 and float64 tensors are '
                           f'supported, got {x.dtype}')
    if x.ndim == 0 or x.shape[-1] != 2:
        raise RuntimeError(f'view_as_complex: Tensor must have a last dimension of size 2, '
                           f'got shape {tuple(x.shape)}')
    item = x._data.itemsize
    if x.numel() and (x._data.strides[-1] != item or
                      any(s % (2 * item) for s in x._data.strides[:-1])):
        raise RuntimeError(f'view_as_complex: Tensor must have a last dimension with stride '
                           f'1 and other strides divisible by 2 (strides in elements: '
                           f'{tuple(s // item for s in x._data.strides)}); .contiguous() '
                           f'makes one')
    return ViewAsComplex.apply(x)


def complex(real, imag):
    """A complex tensor from its real and imaginary parts: float32 (complex64) or float64
    (complex128) tensors of one dtype, broadcast together.

    >>> ember.complex(ember.tensor([1.0, 3.0]), ember.tensor([2.0, -4.0]))
    tensor([1.+2.j, 3.-4.j])
    """
    if real.dtype is not imag.dtype or real.dtype.name not in ('float32', 'float64'):
        raise RuntimeError(f'complex: expected both inputs to be float32 or float64 tensors of '
                           f'one dtype, got {real.dtype} and {imag.dtype}')
    return Complex.apply(real, imag)


def polar(abs, angle):
    """The complex tensor ``abs * (cos(angle) + i sin(angle))``.

    >>> ember.polar(ember.tensor([2.0]), ember.tensor([0.0]))
    tensor([2.+0.j])
    """
    return complex(abs * angle.cos(), abs * angle.sin())


@method('adjoint')
def adjoint(x):
    """The conjugate transpose of the last two dimensions (``Tensor.mH``; for a real tensor
    ``mT``).

    >>> ember.adjoint(ember.tensor([[1 + 2j, 3j]]))
    tensor([[1.-2.j],
            [0.-3.j]])
    """
    return conj(x.mT)


Tensor.mH = property(adjoint, doc=adjoint.__doc__)


def _h(x):
    """The conjugate transpose of a matrix (2-D only, as torch's ``Tensor.H``).

    >>> ember.tensor([[1 + 2j, 3j]]).H.shape
    ember.Size([2, 1])
    """
    if x.ndim > 2:
        raise RuntimeError(f'tensor.H is only supported on matrices (2-D tensors), got '
                           f'{x.ndim}-D; use .mH for batches')
    return conj(x.T)


Tensor.H = property(_h, doc=_h.__doc__)


@method('sgn')
def sgn(x):
    """``x / |x|`` (0 where ``x`` is 0) for complex ``x``; ``sign(x)`` for real ``x``.

    >>> ember.sgn(ember.tensor([3 + 4j, 0j]))
    tensor([0.6000+0.8000j, 0.0000+0.0000j])
    """
    if not x.is_complex():
        return x.sign()
    a = x.abs()
    return x / where(a == 0, a + 1, a)
