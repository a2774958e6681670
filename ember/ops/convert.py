"""Moves between dtypes and devices: ``Tensor.to``'s two ops, differentiable both ways."""
import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd import Op, _record, quiet_numpy
from ..backend import array_device, namespace, to_device


def _bfloat16_bits(xp, x):
    """bfloat16 bits of a float64 CuPy array, rounded to nearest even as torch does (c10's
    round_to_nearest_even on float32 bits; float64 is rounded to float32 first). CuPy's casts
    flush subnormals to zero (seen on the H200, float64 to float32 and to bfloat16), so this
    works on the bits, and rounds float64's float32-subnormal range by scaling. (float32 goes
    through ``backend.cuda.to_bfloat16``: the same rounding as one kernel.)"""
    x32 = x.astype(np.float32, copy=False)
    bits = x32.view(np.uint32)
    rounded = (bits + (0x7FFF + ((bits >> 16) & 1))) >> 16
    if x.dtype == np.float64:   # below 2**-126: twice to nearest even, counted in 2**-149
        small = xp.abs(x) < 2.0 ** -126
        units = xp.rint(xp.rint(xp.where(small, xp.abs(x), 0.0) * 2.0 ** 149) / 65536)
        tiny = units.astype(np.uint32) | (xp.signbit(x).astype(np.uint32) << 15)
        rounded = xp.where(small, tiny, rounded)
    return xp.where(xp.isnan(x), 0x7FC0, rounded).astype(np.uint16)


def astype(xp, x, dtype):
    """``x.astype(dtype)`` for a NumPy dtype, rounding to bfloat16 on the GPU as torch does;
    a complex array cast to a real dtype keeps its real part (NumPy's ComplexWarning aside)."""
    if x.dtype.kind == 'c' and dtype.kind not in 'cb':   # (to bool: nonzero, as torch)
        x = x.real
    if xp is np or dtype.itemsize != 2 or dtype.kind in 'iuf':
        return x.astype(dtype)
    from ..backend import cuda   # float32 (and exactly widened float16): one kernel
    if x.dtype == np.float64 or not cuda.KERNELS[0]:
        return _bfloat16_bits(xp, x).view(dtype)
    return cuda.to_bfloat16(x if x.dtype == np.float32 else x.astype(np.float32))


def cast_data(t, dtype):
    """A tensor of ``t``'s values in the NumPy dtype ``dtype``, with no op in the graph (a
    gradient's cast where no graph of the gradient is being built)."""
    return Tensor._make(astype(namespace(t._data), t._data, dtype))


class Cast(Op):
    complex_ok = True

    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return astype(ctx.xp, x, dtype.np)

    def backward(ctx, g):
        if g._data.dtype.kind == 'c' and ctx.src.kind != 'c':
            g = g.real   # a complex gradient of a real input: its real part
        return g.to(ctx.src)

    @classmethod
    def apply(cls, x, dtype):
        if x._data.dtype.kind == 'c' and dtype.kind in (1, 2):
            warnings.warn('Casting complex values to real discards the imaginary part',
                          UserWarning, stacklevel=3)   # (torch's warning)
        if dtype.kind < 2:   # casting to an integer type cuts the graph
            with quiet_numpy():           # (nan or inf to int: no NumPy warning, as torch)
                return Tensor._make(astype(np, x._data, dtype.np))
        return super().apply(x, dtype=dtype)


class Move(Op):
    complex_ok = True
    def forward(ctx, x, device, non_blocking=False):
        ctx.src = array_device(x)
        return to_device(x, device, non_blocking)

    def backward(ctx, g):
        return g.to(ctx.src)

    @classmethod
    def apply(cls, x, device, non_blocking=False):   # the output lives elsewhere: no
        ctx = cls.__new__(cls)                         # same-device check here
        return _record(ctx, [x], ctx.forward(x._data, device, non_blocking))


class Pin(Op):
    """A CPU tensor's copy in pinned host memory (``Tensor.pin_memory``); the gradient
    passes through."""
    complex_ok = True

    def forward(ctx, x):
        from ..backend import cuda_backend
        return cuda_backend().pinned(x)

    def backward(ctx, g):
        return g
