"""Datasets with Keras's loaders: `forgenet.datasets.mnist.load_data()`."""
from forgenet.datasets import mnist

__all__ = ["mnist"]
