"""Datasets for demos and tests: generated ones (``parts``, ``spiral``), 5,000 real MNIST
digits that ship with ember (``mnist_5k``), and torchvision's ``MNIST`` over the IDX files.

>>> x, y = ember.datasets.spiral(n_per_class=10)
>>> len(ember.data.TensorDataset(x, y))
30
"""
from .mnist import MNIST, mnist_5k, read_idx, write_idx
from .synthetic import parts, spiral

__all__ = ['MNIST', 'mnist_5k', 'parts', 'read_idx', 'spiral', 'write_idx']
