"""Type aliases of ember's annotations, imported under ``typing.TYPE_CHECKING`` only.

>>> from ember._typing import Number
>>> Number
typing.Union[int, float, bool]
"""
from typing import Union

from ._dtype import dtype
from .backend import device

Number = Union[int, float, bool]
DTypeLike = Union[dtype, str, type]        # ember.float32, 'float32', float, np.float32...
DeviceLike = Union[device, str, int]       # ember.device('cuda:0'), 'cuda', 0

__all__ = ['Number', 'DTypeLike', 'DeviceLike']
