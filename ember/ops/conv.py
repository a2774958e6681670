"""Convolution, pooling and resampling ops."""

__all__ = []
