"""``biject_to`` and ``transform_to``: from a constraint to a transform that maps unconstrained
values into it, as torch's ``constraint_registry`` (``biject_to``'s are bijections, for
samplers that need Jacobians; ``transform_to``'s may not be, for optimizers)."""
import numbers

from . import constraints as C
from .event_transforms import (IndependentTransform, LowerCholeskyTransform,
                               PositiveDefiniteTransform, SoftmaxTransform,
                               StickBreakingTransform)
from .transforms import (AffineTransform, ComposeTransform, ExpTransform, SigmoidTransform,
                         identity_transform)

__all__ = ['ConstraintRegistry', 'biject_to', 'transform_to']


class ConstraintRegistry:
    """A registry from constraint types to factories ``factory(constraint) -> Transform``.

    >>> reg = ember.distributions.constraint_registry.ConstraintRegistry()
    >>> _ = reg.register(ember.distributions.constraints.positive,
    ...                  lambda c: ember.distributions.ExpTransform())
    >>> reg(ember.distributions.constraints.positive)
    ExpTransform()
    """

    def __init__(self):
        self._registry = {}

    def register(self, constraint, factory=None):
        """Register ``factory`` for the type of ``constraint`` (an instance or a subclass of
        ``Constraint``); without ``factory``, a decorator.

        >>> reg = ember.distributions.constraint_registry.ConstraintRegistry()
        >>> @reg.register(ember.distributions.constraints.simplex)
        ... def _(c):
        ...     return ember.distributions.SoftmaxTransform()
        """
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, C.Constraint):
            constraint = type(constraint)
        if not (isinstance(constraint, type) and issubclass(constraint, C.Constraint)):
            raise TypeError(f'Expected constraint to be either a Constraint subclass or '
                            f'instance, but got {constraint}')
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint):
        try:
            factory = self._registry[type(constraint)]
        except KeyError:
            raise NotImplementedError(f'Cannot transform {type(constraint).__name__} '
                                      f'constraints') from None
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _register(types, factory, *registries):
    for reg in registries:
        for t in types:
            reg.register(t, factory)


def _to_greater_than(c):
    return ComposeTransform([ExpTransform(), AffineTransform(c.lower_bound, 1)])


def _to_less_than(c):
    return ComposeTransform([ExpTransform(), AffineTransform(c.upper_bound, -1)])


def _to_interval(c):
    def is_(v, x):
        return isinstance(v, numbers.Number) and v == x
    if is_(c.lower_bound, 0) and is_(c.upper_bound, 1):
        return SigmoidTransform()
    return ComposeTransform([SigmoidTransform(),
                             AffineTransform(c.lower_bound, c.upper_bound - c.lower_bound)])


def _to_independent(registry):
    def factory(c):
        return IndependentTransform(registry(c.base_constraint), c.reinterpreted_batch_ndims)
    return factory


_BOTH = (biject_to, transform_to)
_register([C._Real], lambda c: identity_transform, *_BOTH)
# (positive and nonnegative share greater_than's types: their transform is exp then + 0, as
# torch's, whose later registration wins the same way)
_register([C._GreaterThan, C._GreaterThanEq], _to_greater_than, *_BOTH)
_register([C._LessThan], _to_less_than, *_BOTH)
_register([C._Interval, C._HalfOpenInterval], _to_interval, *_BOTH)
biject_to.register(C._Independent, _to_independent(biject_to))
transform_to.register(C._Independent, _to_independent(transform_to))
biject_to.register(C._Simplex, lambda c: StickBreakingTransform())
transform_to.register(C._Simplex, lambda c: SoftmaxTransform())
transform_to.register(C._LowerCholesky, lambda c: LowerCholeskyTransform())
transform_to.register(C._PositiveDefinite, lambda c: PositiveDefiniteTransform())
