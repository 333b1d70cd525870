"""Small layers and data shared by the tests in tests/models (a unique basename: no __init__.py here)."""
import numpy as np

from forgenet import functional as F
from forgenet.layers import Layer


class Linear(Layer):
    """A minimal dense layer written as a user would (add_weight + functional.matmul)."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation_name = activation
        self.activation = F.get_activation(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight((input_shape[-1], self.units), "glorot_uniform", name="kernel")
        self.bias = self.add_weight((self.units,), "zeros", name="bias")

    def call(self, x):
        return self.activation(F.matmul(x, self.kernel) + self.bias)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation_name}


def blobs(n=600, classes=3, dim=4, seed=0, spread=0.35):
    """Well separated Gaussian clusters: float32 x (n, dim), int64 labels (n,)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, dim)) * 3.0
    y = rng.integers(0, classes, n)
    x = centers[y] + spread * rng.standard_normal((n, dim))
    return x.astype(np.float32), y.astype(np.int64)


def mlp(classes=3, dim=4, hidden=16, out_activation="softmax", seed=0):
    import forgenet

    forgenet.utils.set_random_seed(seed)
    return forgenet.models.Sequential([Linear(hidden, "relu", input_shape=(dim,)), Linear(classes, out_activation)])
