"""ember's primitive ops, one module per kind; each attaches its Tensor methods on import."""
from . import (activation, compare, complex_ops, conv, elementwise, extra, index, inplace_methods,
               join, linalg, movement, piecewise, reduce, resample, rounding)
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
from .resample import *  # noqa: F401,F403
from .extra import *  # noqa: F401,F403
from .complex_ops import *  # noqa: F401,F403

# only the ops themselves are exported (not these module names, which could shadow ember.nn)
__all__ = [n for m in (elementwise, piecewise, rounding, activation, compare, reduce, movement,
                        join, index, linalg, conv, resample, extra, complex_ops)
           for n in m.__all__]

# out= on the functions (not the methods), as torch: one wrapper, no cost at the op door;
# the matrix products want out in the result's dtype, the elementwise ops one it casts to
for _n in ('matmul', 'mm', 'bmm', 'addmm', 'addmv', 'addbmm', 'baddbmm'):
    globals()[_n] = extra.with_out(globals()[_n], same_dtype=True)
for _n in ('add', 'sub', 'mul', 'div', 'addcmul', 'addcdiv'):
    globals()[_n] = extra.with_out(globals()[_n])
del _n

# sorting and selection (ember/ops/sort.py): imported by name only, as its function ``sort``
# must be ember.ops.sort, not the module
from .sort import *  # noqa: F401,F403,E402
from .sort import __all__ as _sort_all  # noqa: E402
__all__ += _sort_all

# scatter_reduce, nansum, nanmean, rot90, bernoulli (ember/ops/gaps.py)
from .gaps import *  # noqa: F401,F403,E402
from .gaps import __all__ as _gaps_all  # noqa: E402
__all__ += _gaps_all

# the short-time Fourier transform (ember/ops/spectral.py), on ember.fft
from .spectral import *  # noqa: F401,F403,E402
from .spectral import __all__ as _spectral_all  # noqa: E402
__all__ += _spectral_all

inplace_methods.sign_inplace_methods()   # every op is on Tensor now: help(Tensor.add_) reads well
