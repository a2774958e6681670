"""Utilities shaped like ``torch.utils``: ``ember.utils.data`` (also ``ember.data``)."""
from . import data  # noqa: F401
