"""Utilities shaped like ``torch.utils``: ``ember.utils.data`` (also ``ember.data``) and
``ember.utils.checkpoint`` (activation checkpointing)."""
from . import checkpoint, data  # noqa: F401
