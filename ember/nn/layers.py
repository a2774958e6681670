"""Dropout, Embedding, Bilinear and the activation modules, each a thin Module over its
``ember.nn.functional`` function with PyTorch's arguments and printed form."""
from __future__ import annotations

from typing import TYPE_CHECKING
import math

from . import functional as F
from . import init
from .._tensor import empty
from ..autograd import no_grad
from .module import Module, Parameter

if TYPE_CHECKING:
    from .._tensor import Tensor
    from .._typing import DeviceLike, DTypeLike


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` in
    training; the identity in eval.

    >>> drop = ember.nn.Dropout(0.5)
    >>> drop.eval()(ember.ones(3)), drop
    (tensor([1., 1., 1.]), Dropout(p=0.5, inplace=False))
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f'Dropout: dropout probability has to be between 0 and 1, but got '
                             f'{p}')
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f'p={self.p}, inplace={self.inplace}'


def _lookup_table(m, num_embeddings, embedding_dim, padding_idx, weight, freeze):
    """An embedding table's fields on module ``m`` (Embedding, EmbeddingBag): its sizes, the
    checked ``padding_idx`` (made non-negative) and ``weight``, the given one (checked) or a
    new one from ``m.reset_parameters()``."""
    name = type(m).__name__
    m.num_embeddings, m.embedding_dim = num_embeddings, embedding_dim
    if padding_idx is not None:
        if not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f'{name}: padding_idx ({padding_idx}) must be within '
                             f'num_embeddings ({num_embeddings})')
        padding_idx %= num_embeddings
    m.padding_idx = padding_idx
    if weight is None:
        m.weight = Parameter(empty(num_embeddings, embedding_dim), requires_grad=not freeze)
        m.reset_parameters()
        return
    if tuple(weight.shape) != (num_embeddings, embedding_dim):
        raise ValueError(f'{name}: _weight of shape {list(weight.shape)} does not match '
                         f'num_embeddings and embedding_dim ({num_embeddings}, '
                         f'{embedding_dim})')
    m.weight = Parameter(weight.detach(), requires_grad=not freeze)


class Embedding(Module):
    """A lookup table: integer indices of any shape pick rows of ``weight``
    (num_embeddings, embedding_dim), drawn from N(0, 1); the row ``padding_idx`` starts at
    zero and gets no gradient.

    >>> emb = ember.nn.Embedding(10, 3, padding_idx=0)
    >>> emb(ember.tensor([[0, 2], [4, 9]])).shape, emb.weight[0].tolist()
    (ember.Size([2, 2, 3]), [0.0, 0.0, 0.0])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Tensor | None = None, _freeze: bool = False,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        _lookup_table(self, num_embeddings, embedding_dim, padding_idx, _weight, _freeze)
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def reset_parameters(self):
        """N(0, 1), with the padding row zeroed."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding holding the 2-D ``embeddings`` (frozen unless ``freeze=False``).

        >>> emb = ember.nn.Embedding.from_pretrained(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> emb(ember.tensor([1])), emb.weight.requires_grad
        (tensor([[3., 4.]]), False)
        """
        if embeddings.ndim != 2:
            raise ValueError(f'Embedding.from_pretrained: embeddings parameter is expected to '
                             f'be 2-dimensional, got shape {list(embeddings.shape)}')
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f'{self.num_embeddings}, {self.embedding_dim}'
        if self.padding_idx is not None:
            s += f', padding_idx={self.padding_idx}'
        if self.max_norm is not None:
            s += f', max_norm={self.max_norm}'
        if self.norm_type != 2:
            s += f', norm_type={self.norm_type}'
        if self.scale_grad_by_freq is not False:
            s += f', scale_grad_by_freq={self.scale_grad_by_freq}'
        if self.sparse is not False:
            s += ', sparse=True'
        return s


class Bilinear(Module):
    """``y[..., o] = x1[..., i] weight[o, i, j] x2[..., j] + bias[o]``; weight and bias drawn
    from U(-1/sqrt(in1_features), 1/sqrt(in1_features)).

    >>> ember.nn.Bilinear(3, 4, 2)(ember.ones(5, 3), ember.ones(5, 4)).shape
    ember.Size([5, 2])
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features))
        self.bias = Parameter(empty(out_features)) if bias else None
        self.reset_parameters()
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def reset_parameters(self):
        """U(-1/sqrt(in1_features), 1/sqrt(in1_features)) for weight and bias."""
        if self.in1_features <= 0:
            raise ValueError(f'Bilinear: in1_features must be > 0, but got '
                             f'(in1_features={self.in1_features})')
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        if input1.shape[-1] != self.in1_features or input2.shape[-1] != self.in2_features or \
                tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
            raise RuntimeError(f'{self!r}: expected inputs of shapes [*, {self.in1_features}] '
                               f'and [*, {self.in2_features}] with the same leading dimensions,'
                               f' got {list(input1.shape)} and {list(input2.shape)}')
        out = F.einsum('...i,oij,...j->...o', input1, self.weight, input2)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self):
        return (f'in1_features={self.in1_features}, in2_features={self.in2_features}, '
                f'out_features={self.out_features}, bias={self.bias is not None}')


# ---------------------------------------------------------------- activations

class _Activation(Module):
    """An elementwise activation: ``forward`` calls ``_fn`` with the attributes named in
    ``_args`` (and ``inplace`` when set), and prints them as torch does."""
    _args: tuple[str, ...] = ()

    def forward(self, input):
        kwargs = {a: getattr(self, a) for a in self._args}
        if getattr(self, 'inplace', False):
            kwargs['inplace'] = True
        return self._fn(input, **kwargs)

    def extra_repr(self):
        parts = [f'{a}={getattr(self, a)}' for a in self._args]
        if getattr(self, 'inplace', False):
            parts.append('inplace=True')
        return ', '.join(parts)


class _InplaceActivation(_Activation):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class ReLU(_InplaceActivation):
    """``max(x, 0)`` elementwise.

    >>> ember.nn.ReLU()(ember.tensor([-1.0, 2.0])), ember.nn.ReLU(inplace=True)
    (tensor([0., 2.]), ReLU(inplace=True))
    """
    _fn = staticmethod(F.relu)


class ReLU6(_InplaceActivation):
    """``min(max(x, 0), 6)`` elementwise.

    >>> ember.nn.ReLU6()(ember.tensor([-1.0, 7.0]))
    tensor([0., 6.])
    """
    _fn = staticmethod(F.relu6)


class SELU(_InplaceActivation):
    """``scale * elu(x, alpha)`` with the self-normalising constants.

    >>> ember.nn.SELU()(ember.tensor([0.0]))
    tensor([0.])
    """
    _fn = staticmethod(F.selu)


class SiLU(_InplaceActivation):
    """``x * sigmoid(x)`` (swish).

    >>> ember.nn.SiLU()(ember.tensor([0.0]))
    tensor([0.])
    """
    _fn = staticmethod(F.silu)


class Mish(_InplaceActivation):
    """``x * tanh(softplus(x))``.

    >>> ember.nn.Mish()(ember.tensor([0.0]))
    tensor([0.])
    """
    _fn = staticmethod(F.mish)


class Hardsigmoid(_InplaceActivation):
    """``relu6(x + 3) / 6``.

    >>> ember.nn.Hardsigmoid()(ember.tensor([-4.0, 0.0, 4.0]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    _fn = staticmethod(F.hardsigmoid)


class Hardswish(_InplaceActivation):
    """``x * relu6(x + 3) / 6``.

    >>> ember.nn.Hardswish()(ember.tensor([-4.0, 1.0, 4.0]))
    tensor([-0.0000,  0.6667,  4.0000])
    """
    _fn = staticmethod(F.hardswish)


class LeakyReLU(_Activation):
    """``x`` where positive, else ``negative_slope * x``.

    >>> ember.nn.LeakyReLU(0.1)(ember.tensor([-1.0, 2.0]))
    tensor([-0.1000,  2.0000])
    """
    _fn, _args = staticmethod(F.leaky_relu), ('negative_slope',)

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace


class ELU(_Activation):
    """``x`` where positive, else ``alpha (exp(x) - 1)``.

    >>> ember.nn.ELU()(ember.tensor([-1.0, 1.0]))
    tensor([-0.6321,  1.0000])
    """
    _fn, _args = staticmethod(F.elu), ('alpha',)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace


class CELU(_Activation):
    """``max(0, x) + min(0, alpha (exp(x / alpha) - 1))``.

    >>> ember.nn.CELU(alpha=2.0)
    CELU(alpha=2.0)
    """
    _fn, _args = staticmethod(F.celu), ('alpha',)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace


class Hardtanh(_Activation):
    """``x`` clamped to [min_val, max_val].

    >>> ember.nn.Hardtanh()(ember.tensor([-3.0, 0.5, 3.0]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    _fn, _args = staticmethod(F.hardtanh), ('min_val', 'max_val')

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0,
                 inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f'Hardtanh: max_val ({max_val}) must be greater than min_val '
                             f'({min_val})')
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace


class Softplus(_Activation):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``.

    >>> ember.nn.Softplus()
    Softplus(beta=1.0, threshold=20.0)
    """
    _fn, _args = staticmethod(F.softplus), ('beta', 'threshold')

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold


class Sigmoid(_Activation):
    """``1 / (1 + exp(-x))``.

    >>> ember.nn.Sigmoid()(ember.tensor([0.0]))
    tensor([0.5000])
    """
    _fn = staticmethod(F.sigmoid)


class Tanh(_Activation):
    """Hyperbolic tangent.

    >>> ember.nn.Tanh()(ember.tensor([0.0]))
    tensor([0.])
    """
    _fn = staticmethod(F.tanh)


class Softsign(_Activation):
    """``x / (1 + |x|)``.

    >>> ember.nn.Softsign()(ember.tensor([1.0]))
    tensor([0.5000])
    """
    _fn = staticmethod(F.softsign)


class LogSigmoid(_Activation):
    """``log(sigmoid(x))``, computed stably.

    >>> ember.nn.LogSigmoid()(ember.tensor([0.0]))
    tensor([-0.6931])
    """
    _fn = staticmethod(F.logsigmoid)


class GELU(_Activation):
    """``x * Phi(x)`` (Phi the Gaussian CDF), or its tanh approximation with
    ``approximate='tanh'``.

    >>> ember.nn.GELU()(ember.tensor([0.0])), ember.nn.GELU('tanh')
    (tensor([0.]), GELU(approximate='tanh'))
    """
    _fn = staticmethod(F.gelu)

    def __init__(self, approximate: str = 'none') -> None:
        super().__init__()
        if approximate not in ('none', 'tanh'):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got "
                             f"{approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f'approximate={self.approximate!r}'


class _SoftmaxNd(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self):
        return f'dim={self.dim}'


class Softmax(_SoftmaxNd):
    """Softmax along ``dim`` (each slice sums to 1).

    >>> ember.nn.Softmax(dim=1)(ember.tensor([[0.0, 0.0]]))
    tensor([[0.5000, 0.5000]])
    """

    def forward(self, input):
        return F.softmax(input, self.dim)


class LogSoftmax(_SoftmaxNd):
    """Log of softmax along ``dim``, computed stably.

    >>> ember.nn.LogSoftmax(dim=0)(ember.tensor([0.0, 0.0]))
    tensor([-0.6931, -0.6931])
    """

    def forward(self, input):
        return F.log_softmax(input, self.dim)
