"""``ember.accelerator``: the machine's accelerator, named as ``torch.accelerator``. ember's
one accelerator kind is CUDA (through CuPy); without a GPU there is none.

>>> ember.accelerator.device_count() >= 0
True
"""
from . import cuda as _cuda
from .backend import device as _device

__all__ = ['is_available', 'current_accelerator', 'device_count']


def is_available():
    """Whether an accelerator (a CUDA GPU that CuPy reaches) is there.

    >>> ember.accelerator.is_available() == ember.cuda.is_available()
    True
    """
    return _cuda.is_available()


def current_accelerator(check_available=False):
    """The accelerator's device type as ``ember.device('cuda')``, or None where there is none
    (``check_available``: None too when it is there but unusable; ember's is always usable).

    >>> ember.accelerator.current_accelerator() in (None, ember.device('cuda'))
    True
    """
    return _device('cuda') if _cuda.is_available() else None


def device_count():
    """How many accelerator devices there are (0 without one).

    >>> ember.accelerator.device_count() == ember.cuda.device_count()
    True
    """
    return _cuda.device_count() if _cuda.is_available() else 0
