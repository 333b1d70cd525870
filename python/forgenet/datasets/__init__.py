"""Datasets with Keras's loaders: `forgenet.datasets.mnist.load_data()`,
`forgenet.datasets.tiny_shakespeare.load_data()`."""
from forgenet.datasets import mnist, tiny_shakespeare

__all__ = ["mnist", "tiny_shakespeare"]
