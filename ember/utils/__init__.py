"""Utilities shaped like ``torch.utils``: ``ember.utils.data`` (also ``ember.data``),
``ember.utils.checkpoint`` (activation checkpointing) and ``ember.utils.summary`` (torchinfo's
model table)."""
from . import checkpoint, data  # noqa: F401
from ._summary import ModelStatistics, summary  # noqa: F401
