"""ember's primitive ops, one module per kind; each attaches its Tensor methods on import."""
from . import (activation, compare, conv, elementwise, index, join, linalg, movement,
               piecewise, reduce, rounding)
from .elementwise import *  # noqa: F401,F403
from .piecewise import *  # noqa: F401,F403
from .rounding import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .movement import *  # noqa: F401,F403
from .join import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403

# only the ops themselves are exported (not these module names, which could shadow ember.nn)
__all__ = [n for m in (elementwise, piecewise, rounding, activation, compare, reduce, movement,
                        join, index, linalg, conv)
           for n in m.__all__]

elementwise.sign_inplace_methods()   # every op is on Tensor now: help(Tensor.add_) reads well
