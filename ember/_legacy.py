"""PyTorch's legacy typed constructors: ``ember.FloatTensor(2, 3)`` (a shape) or
``ember.FloatTensor([1, 2])`` (data), and ``isinstance(t, ember.FloatTensor)``."""
import numpy as np

from ._creation import empty, tensor
from ._tensor import Size, Tensor

__all__ = ['FloatTensor', 'DoubleTensor', 'HalfTensor', 'LongTensor', 'IntTensor',
           'ShortTensor', 'CharTensor', 'ByteTensor', 'BoolTensor']


class _Legacy(type):
    """The type of the legacy constructors: calling one makes a CPU tensor of its dtype,
    ``isinstance`` asks whether a tensor is one."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype.name == cls.dtype \
            and obj.device.type == 'cpu'

    def __call__(cls, *args, device=None):
        if device is not None and str(device) != 'cpu':
            raise RuntimeError(f"{cls.__name__}: legacy constructor expects device type: cpu "
                               f"but device type: {device} was passed")
        if not args:
            return empty(0, dtype=cls.dtype)
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args) \
                or (len(args) == 1 and isinstance(args[0], Size)):
            return empty(*args, dtype=cls.dtype)
        if len(args) == 1 and isinstance(args[0], Tensor):
            if not isinstance(args[0], cls):
                raise TypeError(f'expected {cls.__name__} (got {args[0].dtype} on '
                                f'{args[0].device})')
            return args[0]
        if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray)):
            return tensor(args[0], dtype=cls.dtype)
        raise TypeError(f'new(): data must be a sequence (got '
                        f'{", ".join(type(a).__name__ for a in args)})')


def _legacy(name, dtype, example, want):
    cls = _Legacy(name, (), {'dtype': dtype, '__module__': __name__})
    cls.__doc__ = (f'``torch.{name}``: a CPU {dtype} tensor of a shape (``{name}(2, 3)``, '
                   f'zero-filled in ember), of data (``{name}([1, 2])``), or empty '
                   f'(``{name}()``); ``isinstance(t, ember.{name})`` asks whether ``t`` is '
                   f'one.\n\n    >>> ember.{name}({example})\n    {want}\n    ')
    return cls


FloatTensor = _legacy('FloatTensor', 'float32', '[1, 2]', 'tensor([1., 2.])')
DoubleTensor = _legacy('DoubleTensor', 'float64', '[1, 2]',
                       'tensor([1., 2.], dtype=ember.float64)')
HalfTensor = _legacy('HalfTensor', 'float16', '[1, 2]', 'tensor([1., 2.], dtype=ember.float16)')
LongTensor = _legacy('LongTensor', 'int64', '[1, 2]', 'tensor([1, 2])')
IntTensor = _legacy('IntTensor', 'int32', '[1, 2]', 'tensor([1, 2], dtype=ember.int32)')
ShortTensor = _legacy('ShortTensor', 'int16', '[1, 2]', 'tensor([1, 2], dtype=ember.int16)')
CharTensor = _legacy('CharTensor', 'int8', '[1, 2]', 'tensor([1, 2], dtype=ember.int8)')
ByteTensor = _legacy('ByteTensor', 'uint8', '[1, 2]', 'tensor([1, 2], dtype=ember.uint8)')
BoolTensor = _legacy('BoolTensor', 'bool', '[True, False]', 'tensor([ True, False])')
