"""The CPU backend: arrays are NumPy arrays."""
import numpy as xp  # noqa: F401  (the namespace ops use on this device)

name = 'cpu'
