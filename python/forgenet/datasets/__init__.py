"""Datasets with Keras's loaders: `forgenet.datasets.mnist.load_data()`,
`forgenet.datasets.tiny_shakespeare.load_data()`."""
from forgenet.datasets import boston_housing, cifar10, fashion_mnist, imdb, mnist, reuters, tiny_shakespeare

__all__ = ["mnist", "tiny_shakespeare", "imdb", "reuters", "fashion_mnist", "cifar10", "boston_housing"]
