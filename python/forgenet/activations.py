"""keras.activations: every Keras 3 activation by name, on arrays and Tensors (through forgenet.ops).

`get` resolves what layers' `activation=` takes (None, a name, a config dict, a callable);
`serialize` gives the Keras name back. Note `gelu` here defaults to the exact erf form
(approximate=False) as keras.activations.gelu does, while keras.ops.gelu defaults to the tanh form.
"""
from __future__ import annotations

from forgenet import ops


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's relu with its three options, composed the way Keras composes them."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return ops.leaky_relu(x, negative_slope=negative_slope)
        negative_part = ops.relu(ops.negative(x) + threshold) if threshold != 0 else ops.relu(ops.negative(x))
    clip_max = max_value is not None
    if threshold != 0:
        y = ops.multiply(x, ops.cast(ops.greater(x, threshold), "float32"))
    elif max_value == 6:
        y = ops.relu6(x)
        clip_max = False
    else:
        y = ops.relu(x)
    if clip_max:
        y = ops.clip(y, 0.0, float(max_value))
    if negative_slope != 0.0:
        y = ops.subtract(y, ops.multiply(negative_part, float(negative_slope)))
    return y


def leaky_relu(x, negative_slope=0.2): return ops.leaky_relu(x, negative_slope=negative_slope)
def relu6(x): return ops.relu6(x)
def softmax(x, axis=-1): return ops.softmax(x, axis=axis)
def log_softmax(x, axis=-1): return ops.log_softmax(x, axis=axis)
def celu(x, alpha=1.0): return ops.celu(x, alpha=alpha)
def elu(x, alpha=1.0): return ops.elu(x, alpha=alpha)
def selu(x): return ops.selu(x)
def softplus(x): return ops.softplus(x)
def softsign(x): return ops.softsign(x)
def squareplus(x, b=4): return ops.squareplus(x, b=b)
def soft_shrink(x, threshold=0.5): return ops.soft_shrink(x, threshold=threshold)
def hard_shrink(x, threshold=0.5): return ops.hard_shrink(x, threshold=threshold)
def sparse_plus(x): return ops.sparse_plus(x)
def silu(x): return ops.silu(x)
def gelu(x, approximate=False): return ops.gelu(x, approximate=approximate)
def glu(x, axis=-1): return ops.glu(x, axis=axis)
def tanh(x): return ops.tanh(x)
def tanh_shrink(x): return ops.tanh_shrink(x)
def threshold(x, threshold, default_value): return ops.threshold(x, threshold, default_value)
def sigmoid(x): return ops.sigmoid(x)
def sparse_sigmoid(x): return ops.clip(ops.multiply(ops.add(x, 1.0), 0.5), 0.0, 1.0)
def exponential(x): return ops.exp(x)
def hard_sigmoid(x): return ops.hard_sigmoid(x)
def hard_silu(x): return ops.hard_silu(x)
def hard_tanh(x): return ops.hard_tanh(x)
def mish(x): return ops.mish(x)
def log_sigmoid(x): return ops.log_sigmoid(x)


def linear(x):
    return x


def sparsemax(x, axis=-1):
    """Sparsemax (Martins & Astudillo 2016): the Euclidean projection onto the simplex; differentiable."""
    z = ops.flip(ops.sort(x, axis=axis), axis=axis)
    n = ops.shape(x)[axis]
    shape = [1] * len(ops.shape(x))
    shape[axis] = n
    k = ops.reshape(ops.arange(1, n + 1, dtype="float32"), shape)
    cs = ops.cumsum(z, axis=axis)
    support = ops.cast(ops.greater(ops.add(ops.multiply(k, z), 1.0), cs), "float32")
    k_max = ops.sum(ops.convert_to_numpy(support), axis=axis, keepdims=True).astype("int64")
    tau = ops.divide(ops.subtract(ops.take_along_axis(cs, k_max - 1, axis=axis), 1.0), k_max.astype("float32"))
    return ops.maximum(ops.subtract(x, tau), 0.0)


swish = silu
hard_swish = hard_silu

_ALL = [relu, leaky_relu, relu6, softmax, celu, elu, selu, softplus, softsign, squareplus, soft_shrink, sparse_plus,
        silu, gelu, glu, tanh, tanh_shrink, threshold, sigmoid, sparse_sigmoid, exponential, hard_sigmoid, hard_silu,
        hard_tanh, hard_shrink, linear, mish, log_softmax, log_sigmoid, sparsemax]
_BY_NAME = {f.__name__: f for f in _ALL}
_BY_NAME["swish"], _BY_NAME["hard_swish"] = silu, hard_silu


def get(identifier):
    """An activation from None (linear), a Keras name, a config dict or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        identifier = identifier.get("config", identifier.get("class_name"))
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is None:
            raise ValueError(f"Could not interpret activation function identifier: {identifier!r}; expected one of "
                             f"{sorted(_BY_NAME)} or a callable")
        return fn
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(activation):
    """The Keras name of a built-in activation (what Keras writes in a layer config)."""
    from forgenet.functional.activation import activation_name

    name = activation_name(activation)
    if name in _BY_NAME:
        return name
    for k, v in _BY_NAME.items():
        if v is activation:
            return k
    raise ValueError(f"Unknown activation function {activation!r} cannot be serialized by name; register it with "
                     "the saving registry")


def deserialize(config, custom_objects=None):
    if isinstance(config, str) and custom_objects and config in custom_objects:
        return custom_objects[config]
    return get(config)


__all__ = sorted(_BY_NAME) + ["get", "serialize", "deserialize"]
