"""``ember.optim``: optimizers, one file each, on a shared ``Optimizer`` driver."""
from .optimizer import Optimizer  # noqa: F401
from .sgd import SGD  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
