"""``ember.nn.functional``: stateless functions for layers, activations and losses.

Activations and convolutions are ember's primitive ops, re-exported here under PyTorch's names;
softmax, normalisations, attention and losses are compositions of primitives, defined below.
"""
from ..ops.elementwise import *  # noqa: F401,F403
from ..ops.conv import *  # noqa: F401,F403
from ..ops.linalg import *  # noqa: F401,F403
