"""Utilities shaped like ``torch.utils``: ``ember.utils.data`` (also ``ember.data``),
``ember.utils.checkpoint`` (activation checkpointing), ``ember.utils.tensorboard``
(``SummaryWriter``) and ``ember.utils.summary`` (torchinfo's model table)."""
from . import checkpoint, data, tensorboard  # noqa: F401
from ._summary import ModelStatistics, summary  # noqa: F401
