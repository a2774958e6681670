"""Activation functions: relu and its relatives, the smooth ones (softplus, gelu, silu, mish),
and the exponential-linear family, each with PyTorch's ``inplace=`` argument."""
from __future__ import annotations

import functools
import math

import numpy as np

from .._tensor import Tensor, method
from ..autograd import Op, is_grad_enabled
from ..backend import cpu, traced_cpu
from .elementwise import HALF, TENSOR_TYPES, expm1, in_float32, sigmoid, tanh, where
from .inplace_methods import _inplace_method
from .piecewise import Step, abs, clamp

__all__ = ['logsigmoid', 'relu', 'relu6', 'leaky_relu', 'elu', 'selu', 'celu', 'gelu', 'silu',
           'mish', 'softplus', 'softsign', 'hardtanh', 'hardsigmoid', 'hardswish']


# ---------------------------------------------------------------- activations

def _float_only(x, name):
    if not x.dtype.is_floating_point:
        raise RuntimeError(f'{name}: not implemented for {x.dtype} tensors; convert with .float()')
    return x


def _inplace_arg(fn, wide=False):
    """Give an activation torch's ``inplace=False`` argument; ``wide``: a float16/bfloat16
    input is computed in float32 and rounded once, as torch's kernels do (``in_float32``,
    here without a second wrapper's call for other dtypes)."""
    half = in_float32(fn) if wide else fn

    @functools.wraps(fn)
    def activation(x, *args, inplace=False, **kwargs):
        f = half if wide and type(x) in TENSOR_TYPES and x._data.dtype in HALF else fn
        if inplace:
            return x._inplace(f'{fn.__name__}_', lambda s: f(s, *args, **kwargs))
        return f(x, *args, **kwargs)
    return activation


def _wide_inplace_arg(fn):
    return _inplace_arg(fn, wide=True)


class PiecewiseLinear(Op):
    """relu, leaky_relu, hardtanh, hardsigmoid: backward is ``g * slope(x)``, the slope a Step
    of x, so that (as in torch) their gradients stay differentiable, with zero second order.
    A slope of 0 or 1 (relu, hardtanh) is given as ``mask``, the bool array where it is 1,
    which the backward multiplies in as it is (one pass less than making the slope's floats)."""
    save = (0,)

    def forward(ctx, x, value, slope=None, mask=None):
        ctx.slope = slope or (lambda xp, a: mask(xp, a).astype(a.dtype))
        ctx.mask = mask
        return value(ctx.xp, x).astype(x.dtype, copy=False)   # bfloat16 * a float is float32

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if is_grad_enabled():   # create_graph: the slope stays in the graph, as in torch
            return g * Step.apply(x, fn=ctx.slope)
        return g * Tensor._make(ctx.xp.asarray(ctx.slope(ctx.xp, x._data)))

    def fast_backward(ctx, g):
        (x,) = ctx.saved_arrays
        if ctx.mask is not None and g.shape == x.shape and g.dtype == x.dtype:
            xp = ctx.xp   # (out= keeps g's dtype: a bool does not promote it anywhere)
            return xp.multiply(g, ctx.mask(xp, x), out=xp.empty_like(g))
        d = ctx.xp.asarray(ctx.slope(ctx.xp, x))   # a new array of x's dtype
        if d.shape != g.shape or d.dtype != g.dtype:
            return NotImplemented
        d *= g
        return d


@method('relu')
@_inplace_arg
def relu(x: Tensor) -> Tensor:
    """``max(x, 0)``.

    >>> ember.relu(ember.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
    """
    # NOTE: relu'(0) = 0, as torch; at nan the gradient passes (not <= 0), as torch's.
    return PiecewiseLinear.apply(x, value=lambda xp, a: xp.maximum(a, 0),
                                 mask=lambda xp, a: ~(a <= 0))


@method('leaky_relu')
@_wide_inplace_arg
def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``x`` where positive, else ``negative_slope * x``.

    >>> ember.leaky_relu(ember.tensor([-1.0, 2.0]), 0.1)
    tensor([-0.1000,  2.0000])
    """
    s = negative_slope   # NOTE: the slope at 0 is negative_slope, as torch.
    return PiecewiseLinear.apply(_float_only(x, 'leaky_relu'),
                                 value=lambda xp, a: xp.where(a > 0, a, a * s),
                                 slope=lambda xp, a: xp.where(a > 0, 1, s).astype(a.dtype))


@method('hardtanh')
@_inplace_arg
def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]``.

    >>> ember.hardtanh(ember.tensor([-2.0, 0.5, 2.0]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    lo, hi = min_val, max_val   # NOTE: the slope is 0 at both bounds (1 at nan), as torch.
    return PiecewiseLinear.apply(
        x, value=lambda xp, a: xp.minimum(xp.maximum(a, lo), hi).astype(a.dtype),
        mask=lambda xp, a: ~((a <= lo) | (a >= hi)))


@method('relu6')
@_inplace_arg
def relu6(x: Tensor) -> Tensor:
    """``min(max(x, 0), 6)``: ``hardtanh(x, 0, 6)``, slope 0 at 0 and 6 as torch.

    >>> ember.relu6(ember.tensor([-1.0, 3.0, 8.0]))
    tensor([0., 3., 6.])
    """
    return hardtanh(x, 0, 6)


@method('hardsigmoid')
@_wide_inplace_arg
def hardsigmoid(x: Tensor) -> Tensor:
    """``relu6(x + 3) / 6``, a piecewise linear sigmoid.

    >>> ember.hardsigmoid(ember.tensor([-4.0, 0.0, 4.0]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    # NOTE: the slope is 0 at -3 and 3, as torch.
    return PiecewiseLinear.apply(
        _float_only(x, 'hardsigmoid'),
        value=lambda xp, a: xp.minimum(xp.maximum(a + 3, 0), 6) / 6,
        slope=lambda xp, a: ((a > -3) & (a < 3)).astype(a.dtype) / 6)


@method('hardswish')
@_wide_inplace_arg
def hardswish(x: Tensor) -> Tensor:
    """``x * relu6(x + 3) / 6``.

    >>> ember.hardswish(ember.tensor([-4.0, 1.0, 4.0]))
    tensor([-0.0000,  0.6667,  4.0000])
    """
    x = _float_only(x, 'hardswish')
    # NOTE: torch's slope is 0 at -3 and 1 at 3 (the outer pieces own the kinks).
    return where(x <= -3, x * 0, where(x < 3, x * (x + 3) / 6, x))


class Softplus(Op):
    save = (0,)

    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        bx = x * beta
        return ctx.xp.where(bx > threshold, x, ctx.xp.logaddexp(0, bx) / beta).astype(
            x.dtype, copy=False)   # bfloat16 * a float is float32 in NumPy

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        return where(bx > ctx.threshold, g, g * sigmoid(bx))


@method('softplus')
def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, stable; linear where ``beta * x > threshold``.

    >>> ember.softplus(ember.tensor([0.0, 2.0]))
    tensor([0.6931, 2.1269])
    """
    return Softplus.apply(_float_only(x, 'softplus'), beta=beta, threshold=threshold)


@method('logsigmoid')
def logsigmoid(x: Tensor) -> Tensor:
    """``log(sigmoid(x))`` computed stably, as ``-softplus(-x)``.

    >>> ember.logsigmoid(ember.tensor([0.0, -2.0]))
    tensor([-0.6931, -2.1269])
    """
    return -softplus(-_float_only(x, 'logsigmoid'))


@method('softsign')
def softsign(x: Tensor) -> Tensor:
    """``x / (1 + |x|)``.

    >>> ember.softsign(ember.tensor([-1.0, 3.0]))
    tensor([-0.5000,  0.7500])
    """
    return x / (1 + abs(x))


@method('silu')
@_wide_inplace_arg
def silu(x: Tensor) -> Tensor:
    """``x * sigmoid(x)`` (swish).

    >>> ember.silu(ember.tensor([0.0, 1.0]))
    tensor([0.0000, 0.7311])
    """
    return x * sigmoid(_float_only(x, 'silu'))


@method('mish')
@_wide_inplace_arg
def mish(x: Tensor) -> Tensor:
    """``x * tanh(softplus(x))``.

    >>> ember.mish(ember.tensor([0.0, 1.0]))
    tensor([0.0000, 0.8651])
    """
    return x * tanh(softplus(_float_only(x, 'mish')))


@method('gelu')
def gelu(x: Tensor, approximate: str = 'none') -> Tensor:
    """``x * Phi(x)``, Phi the standard normal CDF; ``approximate='tanh'`` for the tanh form.

    >>> ember.gelu(ember.tensor([0.0, 1.0]))
    tensor([0.0000, 0.8413])
    >>> ember.gelu(ember.tensor([1.0]), approximate='tanh')
    tensor([0.8412])
    """
    if type(x) in TENSOR_TYPES and x._data.dtype in HALF and (
            approximate == 'tanh' or not _own_kernel(x)):   # as torch's kernels
        return _wide_gelu(x, approximate)
    x = _float_only(x, 'gelu')
    if approximate == 'tanh':
        # x * x * x, not x ** 3: pow runs in float32 under autocast, gelu in its input's dtype
        return 0.5 * x * (1 + tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * (x * x * x))))
    if approximate != 'none':
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(x)


_wide_gelu = in_float32(gelu)


def _own_kernel(x):
    """Whether GELU of ``x`` runs as ember's GPU kernel, which computes half precision in
    float32 and rounds once itself (no casts around it needed)."""
    if type(x._data) is np.ndarray or traced_cpu(x._data):
        return False
    from ..backend import cuda
    return cuda.KERNELS[0]


def _gelu(xp, x):
    if xp is np:
        return cpu.gelu(x)
    from ..backend import cuda   # one kernel (the composite through erfc is three)
    if cuda.KERNELS[0]:
        return cuda.kernel('ember_gelu')(x)
    from cupyx.scipy.special import erfc
    from .convert import astype
    v = x if x.dtype.itemsize > 2 else x.astype(np.float32)   # (half precision in float32)
    y = v * (0.5 * erfc(v * -0.7071067811865476))
    return y if y.dtype == x.dtype else astype(xp, y, x.dtype)


_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


class Gelu(Op):
    """``x * Phi(x)`` as one op (the composite through erf was the GPT benchmark's largest
    cost). Backward is ``g * (Phi + x phi)``; Phi is not kept (it would be a third array the
    size of x, beside x and the output the next layer keeps) but read back from the output as
    ``y / x``: one division instead of the normal CDF again."""
    save = (0,)
    save_output = True

    def forward(ctx, x):
        return _gelu(ctx.xp, x)

    def _cdf(ctx):
        """Phi(x) as y / x (exact to an ulp), Phi(0) = 0.5 where x is 0; a new array."""
        x, y = ctx.saved_arrays
        with np.errstate(divide='ignore', invalid='ignore'):
            cdf = ctx.xp.divide(y, x, out=ctx.xp.empty_like(y))   # (an array also when 0-d)
        cdf[x == 0] = 0.5
        return cdf

    def backward(ctx, g):
        (x, _) = ctx.saved_tensors
        return g * GeluGrad.apply(x, cdf=ctx._cdf())

    def fast_backward(ctx, g):
        if ctx.xp is not np:   # one kernel from x (the composite is ten launches)
            from ..backend import cuda
            if cuda.KERNELS[0]:
                return cuda.kernel('ember_gelu_grad')(ctx.saved_arrays[0], g)
        out = ctx._cdf()   # becomes the gradient, in place: few temporaries at this peak
        x = ctx.saved_arrays[0]
        if ctx.xp is np and x.size > cpu._CHUNK and out.flags.c_contiguous \
                and x.flags.c_contiguous:
            flat_x, flat_out = x.reshape(-1), out.reshape(-1)
            for i in range(0, x.size, cpu._CHUNK):
                _add_x_pdf(flat_out[i:i + cpu._CHUNK], flat_x[i:i + cpu._CHUNK], np)
        else:
            _add_x_pdf(out, x, ctx.xp)
        out *= g
        return out


def _add_x_pdf(out, x, xp):
    """``out += x phi(x)``, phi the standard normal density."""
    t = xp.multiply(x, x, out=xp.empty_like(x))   # (an array also when 0-d)
    t *= -0.5
    xp.exp(t, out=t)
    t *= _INV_SQRT_2PI
    t *= x
    out += t


def _gelu_grad(x, cdf, xp=np, out=None):
    """Phi(x) + x phi(x) on arrays."""
    pdf = xp.multiply(x, x, out=xp.empty_like(x))   # (an array also when 0-d)
    pdf *= -0.5
    xp.exp(pdf, out=pdf)
    pdf *= _INV_SQRT_2PI
    pdf *= x
    return xp.add(pdf, cdf, out=out)


class GeluGrad(Op):
    """GELU's derivative ``Phi(x) + x phi(x)``; its own derivative is ``phi(x) (2 - x^2)``."""
    save = (0,)

    def forward(ctx, x, cdf):
        if ctx.xp is np and x.size > cpu._CHUNK:
            return cpu.blocked(_gelu_grad, x, cdf)
        return _gelu_grad(x, cdf, ctx.xp)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        x2 = x * x
        return g * ((x2 * -0.5).exp() * _INV_SQRT_2PI * (2 - x2))


@method('elu')
@_wide_inplace_arg
def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x) - 1)``.

    >>> ember.elu(ember.tensor([-1.0, 2.0]))
    tensor([-0.6321,  2.0000])
    """
    x = _float_only(x, 'elu')
    # NOTE: elu'(0) = alpha, as torch (the exponential piece owns 0). Clamping the exponent
    # keeps the unused piece finite, so its zero gradient is not 0 * inf = nan.
    return where(x > 0, x, alpha * expm1(clamp(x, max=0)))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@method('selu')
@_wide_inplace_arg
def selu(x: Tensor) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalising constants.

    >>> ember.selu(ember.tensor([0.0, 1.0]))
    tensor([0.0000, 1.0507])
    """
    return SELU_SCALE * elu(x, SELU_ALPHA)


@method('celu')
@_wide_inplace_arg
def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x / alpha) - 1)``.

    >>> ember.celu(ember.tensor([-1.0, 2.0]), alpha=2.0)
    tensor([-0.7869,  2.0000])
    """
    x = _float_only(x, 'celu')
    return where(x > 0, x, alpha * expm1(clamp(x, max=0) / alpha))   # NOTE: as elu at 0


__test__: dict = {}   # the in-place methods' doctests (inplace_methods.inplace_doc)
for _name in ('relu', 'relu6', 'leaky_relu', 'hardtanh', 'hardsigmoid', 'hardswish', 'elu',
              'celu', 'selu', 'silu', 'mish'):
    _inplace_method(_name, '[-1.0, 2.0]', '', __test__)
del _name
