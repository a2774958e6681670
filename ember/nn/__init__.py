"""``ember.nn``: layers and the functions behind them (``ember.nn.functional``)."""
from . import functional  # noqa: F401
from .._tensor import Tensor  # noqa: F401  (the talk writes nn.Tensor)
from .module import Module, Parameter  # noqa: F401
from .linear import Identity, Linear  # noqa: F401
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell  # noqa: F401
from .transformer import (MultiheadAttention, TransformerEncoderLayer,  # noqa: F401
                          TransformerDecoderLayer, TransformerEncoder, TransformerDecoder,
                          Transformer)
from . import init, utils  # noqa: F401,E402
from .container import Flatten, ModuleDict, ModuleList, Sequential, Unflatten  # noqa: F401
from .conv import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d,  # noqa: F401
                   Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, MaxPool1d, MaxPool2d)
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm,  # noqa: F401
                            LayerNorm)
from .layers import (CELU, ELU, GELU, SELU, Bilinear, Dropout, Embedding,  # noqa: F401
                     Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish,
                     ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus, Softsign, Tanh)
from .loss import (BCELoss, BCEWithLogitsLoss, CosineSimilarity, CrossEntropyLoss,  # noqa: F401
                   HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
from .extra import (AdaptiveMaxPool1d, AdaptiveMaxPool2d, AlphaDropout, Conv3d,  # noqa: F401
                    CTCLoss, Dropout1d, Dropout2d, EmbeddingBag, FeatureAlphaDropout, Fold,
                    InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, PixelShuffle,
                    PixelUnshuffle, Unfold, Upsample, UpsamplingBilinear2d,
                    UpsamplingNearest2d)
from ._volumetric import (AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d,  # noqa: F401
                         ConvTranspose3d, MaxPool3d)
from . import parallel  # noqa: F401,E402  (DistributedDataParallel)
