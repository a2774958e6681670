"""``ember.backends``: switches of the compute libraries, named as ``torch.backends``.

``ember.backends.cuda.matmul.allow_tf32 = True`` lets float32 matrix products on the GPU run on
the tensor cores in TF32 (10-bit mantissa inputs, float32 accumulation), as in torch; off by
default, as in torch. It sets CuPy's compute type for float32 GEMMs, and needs a GPU.

>>> ember.backends.cuda.matmul.allow_tf32
False
"""


class _Matmul:
    """``ember.backends.cuda.matmul``: the switches of GPU matrix products.

    >>> ember.backends.cuda.matmul.allow_tf32
    False
    """
    _tf32 = False

    @property
    def allow_tf32(self):
        """Whether float32 matrix products on the GPU may run in TF32 (off by default;
        setting it needs a GPU).

        >>> ember.backends.cuda.matmul.allow_tf32
        False
        """
        return self._tf32

    @allow_tf32.setter
    def allow_tf32(self, value):
        from .backend import cuda_backend
        cuda_backend().set_tf32(bool(value))
        type(self)._tf32 = bool(value)


class _Cuda:
    """``ember.backends.cuda``, as ``torch.backends.cuda``: ``matmul.allow_tf32``.

    >>> type(ember.backends.cuda.matmul).__name__
    '_Matmul'
    """
    matmul = _Matmul()


cuda = _Cuda()


class _Mps:
    """``ember.backends.mps``, as ``torch.backends.mps``: ember has no Metal backend, so
    Apple's GPUs are never available (scripts that ask fall back to 'cpu' or 'cuda').

    >>> ember.backends.mps.is_available(), ember.backends.mps.is_built()
    (False, False)
    """

    @staticmethod
    def is_available():
        """False: ember has no MPS (Metal) backend.

        >>> ember.backends.mps.is_available()
        False
        """
        return False

    @staticmethod
    def is_built():
        """False: ember is never built with MPS (Metal).

        >>> ember.backends.mps.is_built()
        False
        """
        return False


mps = _Mps()
