"""``ember.nn``: layers and the functions behind them (``ember.nn.functional``)."""
from . import functional  # noqa: F401
from .._tensor import Tensor  # noqa: F401  (the talk writes nn.Tensor)
from .module import Module, Parameter  # noqa: F401
from .linear import Identity, Linear  # noqa: F401
