"""Constraints: the values a parameter or a sample may take (``torch.distributions.constraints``).

A constraint's ``check(value)`` gives a bool tensor, one element per event; distributions name
theirs in ``arg_constraints`` and ``support`` and check them when ``validate_args`` is on.

>>> from ember.distributions import constraints
>>> constraints.positive.check(ember.tensor([1.0, -1.0]))
tensor([ True, False])
"""
__all__ = ['Constraint', 'boolean', 'real', 'real_vector', 'positive', 'nonnegative',
           'nonnegative_integer', 'unit_interval', 'simplex', 'lower_cholesky',
           'positive_definite', 'interval', 'half_open_interval', 'greater_than',
           'greater_than_eq', 'less_than', 'integer_interval', 'independent', 'one_hot']


class Constraint:
    """A region of values; ``check(value)`` says elementwise (per event) whether a value is in
    it.

    >>> ember.distributions.constraints.real.check(ember.tensor([0.0, float('nan')]))
    tensor([ True, False])
    """
    is_discrete = False
    event_dim = 0

    def check(self, value):
        """A bool tensor: whether each event of ``value`` satisfies the constraint.

        >>> ember.distributions.constraints.unit_interval.check(ember.tensor([0.5, 2.0]))
        tensor([ True, False])
        """
        raise NotImplementedError

    def __repr__(self):
        return self.__class__.__name__[1:] + '()'


class _Real(Constraint):
    """Any real number, not nan (``constraints.real``).

    >>> ember.distributions.constraints.real.check(ember.tensor([1.0, float('nan')]))
    tensor([ True, False])
    """
    def check(self, value):
        return value == value   # False for nan


class _Boolean(Constraint):
    """0 or 1 (``constraints.boolean``).

    >>> ember.distributions.constraints.boolean.check(ember.tensor([0.0, 0.5]))
    tensor([ True, False])
    """
    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _GreaterThan(Constraint):
    """Values above a bound (``constraints.positive``, ``greater_than(b)``).

    >>> ember.distributions.constraints.positive.check(ember.tensor([1.0, 0.0]))
    tensor([ True, False])
    """
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return self.lower_bound < value

    def __repr__(self):
        return f'GreaterThan(lower_bound={self.lower_bound})'


class _GreaterThanEq(_GreaterThan):
    """Values at or above a bound (``constraints.nonnegative``).

    >>> ember.distributions.constraints.nonnegative.check(ember.tensor([0.0, -1.0]))
    tensor([ True, False])
    """
    def check(self, value):
        return self.lower_bound <= value

    def __repr__(self):
        return f'GreaterThanEq(lower_bound={self.lower_bound})'


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return value < self.upper_bound

    def __repr__(self):
        return f'LessThan(upper_bound={self.upper_bound})'


class _Interval(Constraint):
    """A closed interval (``constraints.unit_interval``, ``interval(a, b)``).

    >>> ember.distributions.constraints.unit_interval.check(ember.tensor([1.0, 1.5]))
    tensor([ True, False])
    """
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (self.lower_bound <= value) & (value <= self.upper_bound)

    def __repr__(self):
        return f'Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})'


class _HalfOpenInterval(_Interval):
    def check(self, value):
        return (self.lower_bound <= value) & (value < self.upper_bound)

    def __repr__(self):
        return f'HalfOpenInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})'


class _IntegerInterval(_Interval):
    is_discrete = True

    def check(self, value):
        return (value % 1 == 0) & (self.lower_bound <= value) & (value <= self.upper_bound)

    def __repr__(self):
        return f'IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})'


class _IntegerGreaterThanEq(_GreaterThan):
    """Integers at or above a bound (``constraints.nonnegative_integer``).

    >>> ember.distributions.constraints.nonnegative_integer.check(ember.tensor([2.0, 0.5]))
    tensor([ True, False])
    """
    is_discrete = True

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound)

    def __repr__(self):
        return f'IntegerGreaterThan(lower_bound={self.lower_bound})'


class _Independent(Constraint):
    """A constraint over the last dimensions taken as one event (``real_vector``,
    ``independent(c, n)``).

    >>> ember.distributions.constraints.real_vector.check(ember.tensor([[1.0, 2.0]]))
    tensor([ True])
    """
    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        self.is_discrete = base_constraint.is_discrete
        self.event_dim = base_constraint.event_dim + reinterpreted_batch_ndims

    def check(self, value):
        result = self.base_constraint.check(value)
        n = self.reinterpreted_batch_ndims
        if n:
            result = result.reshape(*result.shape[:result.dim() - n], -1).all(-1)
        return result

    def __repr__(self):
        return f'IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})'


class _Simplex(Constraint):
    """Vectors of nonnegative numbers summing to 1 (``constraints.simplex``).

    >>> ember.distributions.constraints.simplex.check(ember.tensor([0.25, 0.75]))
    tensor(True)
    """
    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


class _OneHot(Constraint):
    """One-hot vectors (``constraints.one_hot``).

    >>> ember.distributions.constraints.one_hot.check(ember.tensor([0.0, 1.0]))
    tensor(True)
    """
    is_discrete = True
    event_dim = 1

    def check(self, value):
        return ((value == 0) | (value == 1)).all(-1) & (value.sum(-1) == 1)


class _LowerCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal (``lower_cholesky``).

    >>> ember.distributions.constraints.lower_cholesky.check(ember.eye(2))
    tensor(True)
    """
    event_dim = 2

    def check(self, value):
        lower = (value.tril() == value).reshape(*value.shape[:-2], -1).all(-1)
        return lower & (value.diagonal(dim1=-2, dim2=-1) > 0).all(-1)


class _PositiveDefinite(Constraint):
    """Symmetric positive-definite matrices (``constraints.positive_definite``).

    >>> ember.distributions.constraints.positive_definite.check(ember.eye(2))
    tensor(True)
    """
    event_dim = 2

    def check(self, value):
        import numpy as np
        from ember import tensor
        a = np.asarray(value.detach().cpu().numpy(), dtype=np.float64)
        sym = np.all(np.abs(a - np.swapaxes(a, -1, -2)) <= 1e-6 * (1 + np.abs(a)), axis=(-2, -1))
        # NOTE: eigenvalues of the symmetric part, on the host (a check, not differentiated)
        pos = np.linalg.eigvalsh(a).min(-1) > 0 if a.size else np.ones(a.shape[:-2], bool)
        return tensor(sym & pos, device=value.device)


boolean = _Boolean()
"""0 or 1."""
real = _Real()
"""Any real number, not nan."""
real_vector = _Independent(real, 1)
"""A vector of reals (event_dim 1)."""
positive = _GreaterThan(0.0)
"""Greater than 0."""
nonnegative = _GreaterThanEq(0.0)
"""0 or more."""
nonnegative_integer = _IntegerGreaterThanEq(0)
"""0, 1, 2, ..."""
unit_interval = _Interval(0.0, 1.0)
"""[0, 1]."""
simplex = _Simplex()
"""Vectors of nonnegative numbers summing to 1 (event_dim 1)."""
one_hot = _OneHot()
"""One-hot vectors (event_dim 1)."""
lower_cholesky = _LowerCholesky()
"""Lower-triangular matrices with a positive diagonal (event_dim 2)."""
positive_definite = _PositiveDefinite()
"""Symmetric positive-definite matrices (event_dim 2)."""


def less_than(upper_bound):
    """Values below ``upper_bound``.

    >>> ember.distributions.constraints.less_than(1.0).check(ember.tensor([0.0, 1.0]))
    tensor([ True, False])
    """
    return _LessThan(upper_bound)


def interval(lower_bound, upper_bound):
    """The closed interval [lower_bound, upper_bound] (bounds may be tensors).

    >>> ember.distributions.constraints.interval(0.0, 2.0).check(ember.tensor([1.0, 3.0]))
    tensor([ True, False])
    """
    return _Interval(lower_bound, upper_bound)


def half_open_interval(lower_bound, upper_bound):
    """The interval [lower_bound, upper_bound).

    >>> ember.distributions.constraints.half_open_interval(0.0, 1.0).check(ember.tensor(1.0))
    tensor(False)
    """
    return _HalfOpenInterval(lower_bound, upper_bound)


def greater_than(lower_bound):
    """Values above ``lower_bound``.

    >>> ember.distributions.constraints.greater_than(1.0).check(ember.tensor([1.0, 2.0]))
    tensor([False,  True])
    """
    return _GreaterThan(lower_bound)


def greater_than_eq(lower_bound):
    """Values at or above ``lower_bound``.

    >>> ember.distributions.constraints.greater_than_eq(1.0).check(ember.tensor([1.0, 0.0]))
    tensor([ True, False])
    """
    return _GreaterThanEq(lower_bound)


def integer_interval(lower_bound, upper_bound):
    """Integers in [lower_bound, upper_bound].

    >>> ember.distributions.constraints.integer_interval(0, 3).check(ember.tensor([2.0, 2.5]))
    tensor([ True, False])
    """
    return _IntegerInterval(lower_bound, upper_bound)


def independent(base_constraint, reinterpreted_batch_ndims):
    """``base_constraint`` over the last ``reinterpreted_batch_ndims`` dimensions as one event.

    >>> c = ember.distributions.constraints.independent(
    ...     ember.distributions.constraints.positive, 1)
    >>> c.check(ember.tensor([[1.0, 2.0], [1.0, -1.0]]))
    tensor([ True, False])
    """
    return _Independent(base_constraint, reinterpreted_batch_ndims)
