"""``ember.nn.parallel``: ``DistributedDataParallel`` (on ``ember.distributed``)."""
from .distributed import DistributedDataParallel

__all__ = ['DistributedDataParallel']
