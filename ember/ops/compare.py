"""Comparisons, logical and bitwise ops, and float tests (isnan, isinf, isfinite): bool
results with no gradient."""
from .._tensor import Tensor, method
from ..autograd import Op, is_grad_enabled, no_grad
from .elementwise import operands
from .inplace_methods import _inplace_method, inplace_doc
from .piecewise import _step

__all__ = ['isnan', 'isinf', 'isfinite']


# ---------------------------------------------------------------- comparisons and logic

class Compare(Op):
    """Comparisons and logical ops: bool results, no gradient."""
    complex_ok = True
    differentiable = False

    def forward(ctx, a, b, ufunc):
        if a.dtype.kind == 'c' and ufunc not in _COMPLEX:   # complex numbers have no order
            raise RuntimeError(f'{ufunc}: not implemented for complex tensors (dtype '
                               f'{a.dtype}); compare their .real, .imag or .abs()')
        return getattr(ctx.xp, ufunc)(a, b)


_COMPLEX = frozenset(('equal', 'not_equal', 'logical_and', 'logical_or', 'logical_xor'))


class LogicalNot(Op):
    differentiable = False

    def forward(ctx, x):
        return ctx.xp.logical_not(x) if x.dtype.kind == 'b' else ctx.xp.invert(x)


def _compare(ufunc, name, example):
    """The op ``name``: NumPy's ``ufunc`` on the promoted operands. ``example`` is its result
    on [0, 1, 2] and [1, 1, 0], written out (not computed) for the docstring."""
    def fn(a, b):
        a, b = operands(a, b)
        if ufunc.startswith('bitwise') and a.dtype.is_floating_point:
            raise NotImplementedError(f'{name}: not implemented for floating-point tensors '
                                      f'({a.dtype})')
        return Compare.apply(a, b, ufunc=ufunc)
    fn.__name__ = name
    fn.__doc__ = (f'Elementwise ``{ufunc}`` with broadcasting; no gradient.\n\n'
                  f'    >>> ember.{name}(ember.tensor([0, 1, 2]), ember.tensor([1, 1, 0]))'
                  f'.tolist()\n    {example}\n    ')
    return fn


eq = _compare('equal', 'eq', [False, True, False])
ne = _compare('not_equal', 'ne', [True, False, True])
lt = _compare('less', 'lt', [True, False, False])
le = _compare('less_equal', 'le', [True, True, False])
gt = _compare('greater', 'gt', [False, False, True])
ge = _compare('greater_equal', 'ge', [False, True, True])
logical_and = _compare('logical_and', 'logical_and', [False, True, False])
logical_or = _compare('logical_or', 'logical_or', [True, True, True])
logical_xor = _compare('logical_xor', 'logical_xor', [True, False, True])
bitwise_and = _compare('bitwise_and', 'bitwise_and', [0, 1, 0])
bitwise_or = _compare('bitwise_or', 'bitwise_or', [1, 1, 2])
bitwise_xor = _compare('bitwise_xor', 'bitwise_xor', [1, 0, 2])


def logical_not(x):
    """Elementwise not, as a bool tensor.

    >>> ember.logical_not(ember.tensor([True, False]))
    tensor([False,  True])
    """
    return LogicalNot.apply(x.bool())


def bitwise_not(x):
    """``~x``: logical not for bool tensors, bitwise not for integers.

    >>> ~ember.tensor([True, False])
    tensor([False,  True])
    """
    if x.dtype.is_floating_point:
        raise TypeError(f'bitwise_not: not defined for floating-point tensors ({x.dtype})')
    return LogicalNot.apply(x)


for _n, _f in (('eq', eq), ('ne', ne), ('lt', lt), ('le', le), ('gt', gt), ('ge', ge),
               ('logical_and', logical_and), ('logical_or', logical_or),
               ('logical_xor', logical_xor), ('logical_not', logical_not),
               ('bitwise_and', bitwise_and), ('bitwise_or', bitwise_or),
               ('bitwise_xor', bitwise_xor), ('bitwise_not', bitwise_not)):
    setattr(Tensor, _n, _f)
Tensor.__eq__, Tensor.__ne__ = eq, ne
Tensor.__lt__, Tensor.__le__, Tensor.__gt__, Tensor.__ge__ = lt, le, gt, ge
Tensor.greater, Tensor.less, Tensor.greater_equal, Tensor.less_equal = gt, lt, ge, le
Tensor.__and__, Tensor.__or__, Tensor.__xor__ = bitwise_and, bitwise_or, bitwise_xor
Tensor.__rand__, Tensor.__ror__, Tensor.__rxor__ = bitwise_and, bitwise_or, bitwise_xor
Tensor.__invert__ = bitwise_not


def _inplace_logic(name, x, args):
    """``x.<name>_(...)``, in place as torch's: x &= m writes into x (its views and other names
    see it). On a float tensor in the graph the written values get a zero gradient, as torch's
    (through Step), so that x stays a non-leaf in the graph."""
    plain = _inplace_method(name, x, args, {})

    def fn(self, *args):
        if not (self.requires_grad and self.dtype.is_floating_point and is_grad_enabled()):
            return plain(self, *args)
        with no_grad():
            vals = getattr(Tensor, name)(self, *args)._data
        return self._inplace(f'{name}_', lambda s: _step(s, lambda xp, a: vals.astype(a.dtype)))
    return inplace_doc(fn, name, x, args, __test__)


__test__: dict = {}   # the in-place methods' doctests (inplace_methods.inplace_doc)
for _n in ('eq', 'ne', 'lt', 'le', 'gt', 'ge', 'greater', 'less', 'greater_equal', 'less_equal',
           'logical_and', 'logical_or', 'logical_xor', 'logical_not', 'bitwise_and',
           'bitwise_or', 'bitwise_xor', 'bitwise_not'):
    _inplace_logic(_n, *(('[1, 6]', '' if _n == 'bitwise_not' else '3') if 'bitwise' in _n else
                         ('[0.25, 0.5]', '' if _n == 'logical_not' else
                          'ember.tensor([0.0, 1.0])' if 'logical' in _n else '0.5')))
Tensor.__iand__, Tensor.__ior__, Tensor.__ixor__ = (
    Tensor.bitwise_and_, Tensor.bitwise_or_, Tensor.bitwise_xor_)
del _n
__all__ += ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logical_and', 'logical_or', 'logical_xor',
            'logical_not', 'bitwise_and', 'bitwise_or', 'bitwise_xor', 'bitwise_not']


class Predicate(Op):
    """isnan, isinf, isfinite: bool results, no gradient."""
    differentiable = False

    def forward(ctx, x, fn):
        return getattr(ctx.xp, fn)(x)


@method('isnan')
def isnan(x):
    """True where ``x`` is nan.

    >>> ember.isnan(ember.tensor([1.0, float('nan')]))
    tensor([False,  True])
    """
    return Predicate.apply(x, fn='isnan')


@method('isinf')
def isinf(x):
    """True where ``x`` is plus or minus infinity.

    >>> ember.isinf(ember.tensor([1.0, float('-inf')]))
    tensor([False,  True])
    """
    return Predicate.apply(x, fn='isinf')


@method('isfinite')
def isfinite(x):
    """True where ``x`` is neither nan nor infinite.

    >>> ember.isfinite(ember.tensor([1.0, float('inf'), float('nan')]))
    tensor([ True, False, False])
    """
    return Predicate.apply(x, fn='isfinite')
