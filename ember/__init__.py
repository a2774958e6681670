"""ember: a small deep learning framework in Python that speaks PyTorch's API.

>>> import ember
>>> x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from ._dtype import (ALIASES as _ALIASES, dtype, get_default_dtype, result_type,
                     set_default_dtype, bool_, uint8, int8, int16, int32, int64, float16,
                     float32, float64, complex64, complex128)
from ._tensor import (Size, Tensor, tensor, as_tensor, from_numpy, from_dlpack, zeros, ones,
                      empty, full, zeros_like, ones_like, empty_like, full_like, arange,
                      linspace, eye, is_tensor, numel)
from ._creation import set_default_device, get_default_device
from ._legacy import (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor,
                      ShortTensor, CharTensor, ByteTensor, BoolTensor)
from .backend import device
from .random import (Generator, manual_seed, seed, initial_seed, get_rng_state, set_rng_state,
                     rand, randn, randint, randperm, normal, rand_like, randn_like)
from .autograd import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled
from . import autograd, cuda, nn, optim
from . import _random_inplace  # noqa: F401,E402  (Tensor.uniform_, normal_ ...)
from .ops import *  # noqa: F401,F403

bool = bool_   # noqa: A001  (torch.bool)
for _n, _d in _ALIASES.items():
    globals()[_n] = _d
del _n, _d


def __getattr__(name):
    if name == 'bfloat16':   # set above when ml_dtypes is installed
        raise AttributeError('ember.bfloat16 needs the ml_dtypes package (NumPy has no '
                             'bfloat16): pip install ml_dtypes, or ember[gpu]')
    raise AttributeError(f"module 'ember' has no attribute {name!r}")

__version__ = '0.2.0'
from .nn.functional import softmax, log_softmax, dropout, one_hot  # noqa: E402,F401  (torch.*)
from .serialization import save, load  # noqa: E402
from . import data, datasets, utils  # noqa: E402,F401  (ember.data.DataLoader, ember.datasets)
from . import amp, backends, accelerator  # noqa: E402
from .amp import autocast  # noqa: E402,F401
from .compiler import compile  # noqa: E402,F401  (ember.compile, as torch.compile)
from . import jit  # noqa: E402,F401  (ember.jit.trace, save, load)
from . import profiler  # noqa: E402,F401  (ember.profiler, as torch.profiler)
from . import viz  # noqa: E402,F401  (ember.viz.make_dot)
from . import debug  # noqa: E402,F401  (ember.debug.watch_nan, trace)
from . import onnx  # noqa: E402,F401  (ember.onnx.export, load; imports onnx only when used)
from . import distributions  # noqa: E402,F401  (ember.distributions, as torch.distributions)
from . import distributed  # noqa: E402,F401  (ember.distributed, as torch.distributed)
from . import linalg  # noqa: E402,F401  (ember.linalg; torch's old names below)
from .linalg._old import *  # noqa: E402,F401,F403  (ember.det, ember.inverse, ember.svd...)
from . import fft  # noqa: E402,F401  (ember.fft, as torch.fft)
from . import sparse  # noqa: E402,F401  (ember.sparse, as torch.sparse; Tensor.to_sparse)
from .sparse import sparse_coo_tensor, layout, strided, sparse_coo  # noqa: E402,F401
from ._info import finfo, iinfo  # noqa: E402,F401  (ember.finfo, ember.iinfo)
from ._printing import set_printoptions  # noqa: E402,F401
from . import special  # noqa: E402,F401  (ember.special, as torch.special; its torch.* names:)
from .special import (lgamma, digamma, polygamma, mvlgamma, erfinv, i0, xlogy,  # noqa: E402,F401
                      logit, sinc, hypot)
from . import explain  # noqa: E402,F401  (ember.explain: Captum's attribution algorithms)
from . import quantization  # noqa: E402,F401  (ember.quantization, as torch.ao.quantization)
from .quantization import (fake_quantize_per_tensor_affine,  # noqa: E402,F401  (torch.*)
                           fake_quantize_per_channel_affine)
quint8, qint8 = uint8, int8   # torch's quantized dtypes: ember keeps quantized values in these
