"""Loss modules: each holds torch's constructor arguments and calls its
``ember.nn.functional`` loss. Class weights (``weight``, ``pos_weight``) are buffers, so they
follow ``.to()`` and appear in ``state_dict`` as in torch."""
from __future__ import annotations

from typing import TYPE_CHECKING
from . import functional as F
from .module import Module

if TYPE_CHECKING:
    from .._tensor import Tensor


class _Loss(Module):
    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = 'mean') -> None:
        super().__init__()
        self.reduction = F._legacy_reduction(size_average, reduce, reduction)


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = 'mean') -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer('weight', weight)


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|`` (``reduction`` 'mean', 'sum' or 'none').

    >>> ember.nn.L1Loss()(ember.tensor([1.0, -3.0]), ember.zeros(2))
    tensor(2.)
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error ``(input - target) ** 2``.

    >>> ember.nn.MSELoss()(ember.tensor([1.0, 2.0]), ember.zeros(2))
    tensor(2.5000)
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``.

    >>> ember.nn.SmoothL1Loss(reduction='none')(ember.tensor([0.5, 3.0]), ember.zeros(2))
    tensor([0.1250, 2.5000])
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = 'mean', beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    >>> ember.nn.HuberLoss(delta=2.0)(ember.tensor([0.5, 3.0]), ember.zeros(2))
    tensor(2.0625)
    """

    def __init__(self, reduction: str = 'mean', delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (N, C, ...) against class indices, with
    optional per-class ``weight``; targets equal to ``ignore_index`` count for nothing.

    >>> logp = ember.tensor([[-0.5, -1.0], [-2.0, -0.1]])
    >>> ember.nn.NLLLoss()(logp, ember.tensor([0, 1]))
    tensor(0.3000)
    """

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = 'mean') -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits (N, C, ...) against class indices or class probabilities, with
    ``weight``, ``ignore_index`` and ``label_smoothing`` as in torch.

    >>> loss = ember.nn.CrossEntropyLoss(label_smoothing=0.1)
    >>> loss(ember.tensor([[2.0, 0.0], [0.0, 2.0]]), ember.tensor([0, 1]))
    tensor(0.2269)
    """

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = 'mean', label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1] (each log clamped at -100).

    >>> ember.nn.BCELoss()(ember.tensor([0.5, 0.5]), ember.tensor([1.0, 0.0]))
    tensor(0.6931)
    """

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from logits;
    ``pos_weight`` weighs the positive term per class.

    >>> ember.nn.BCEWithLogitsLoss()(ember.tensor([0.0, 0.0]), ember.tensor([1.0, 0.0]))
    tensor(0.6931)
    """

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = 'mean',
                 pos_weight: Tensor | None = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer('weight', weight)
        self.register_buffer('pos_weight', pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class KLDivLoss(_Loss):
    """KL divergence ``t (log t - input)`` of log-probabilities ``input`` from ``target``
    (probabilities, or log-probabilities with ``log_target=True``); use
    ``reduction='batchmean'`` for the true KL divergence.

    >>> p = ember.tensor([[0.5, 0.5]])
    >>> ember.nn.KLDivLoss(reduction='batchmean')(ember.tensor([[0.25, 0.75]]).log(), p)
    tensor(0.1438)
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = 'mean', log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CosineSimilarity(Module):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim``, norms clamped at ``eps``.

    >>> ember.nn.CosineSimilarity(dim=1)(ember.tensor([[1.0, 0.0]]), ember.tensor([[1.0, 1.0]]))
    tensor([0.7071])
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
