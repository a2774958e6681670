"""Type aliases of ember's annotations, imported under ``typing.TYPE_CHECKING`` only.

>>> from ember._typing import Number
>>> Number
typing.Union[int, float, bool]
"""
from typing import TYPE_CHECKING, Any, Iterable, Protocol, Union

from ._dtype import dtype
from .backend import device

if TYPE_CHECKING:
    from ._tensor import Tensor

Number = Union[int, float, bool]
DTypeLike = Union[dtype, str, type]        # ember.float32, 'float32', float, np.float32...
DeviceLike = Union[device, str, int]       # ember.device('cuda:0'), 'cuda', 0
# what an optimizer takes: model.parameters(), or groups such as [{'params': [...], 'lr': 0.1}]
Params = Union[Iterable['Tensor'], Iterable[dict[str, Any]]]


class MapDataset(Protocol):
    """What a map-style dataset has: a length and items by index (a list, a ``TensorDataset``,
    a ``Dataset`` subclass with ``__len__``)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


__all__ = ['Number', 'DTypeLike', 'DeviceLike', 'Params', 'MapDataset']
