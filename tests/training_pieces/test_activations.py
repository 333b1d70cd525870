"""forgenet.activations against keras.activations (torch backend): values and gradients; layers resolve
every name through it."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from forgenet import activations, layers  # noqa: E402
from forgenet.autograd import Tensor  # noqa: E402

# sparsemax: keras 3.15's torch sparsemax does not project onto the simplex (rows do not sum to 1);
# it is checked against a float64 reference below instead
NAMES = sorted(n for n in activations._BY_NAME if n not in ("threshold", "sparsemax"))
X = np.random.default_rng(0).uniform(-4, 4, (5, 6)).astype(np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_matches_keras(name):
    ours = activations.get(name)(X)
    theirs = keras.ops.convert_to_numpy(keras.activations.get(name)(X))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5, err_msg=name)
    t = torch.from_numpy(X.copy()).requires_grad_(True)
    w = np.random.default_rng(1).standard_normal(theirs.shape).astype(np.float32)
    (keras.activations.get(name)(t) * torch.from_numpy(w)).sum().backward()
    f = Tensor(X.copy(), requires_grad=True)
    (activations.get(name)(f) * w).sum().backward()
    np.testing.assert_allclose(f.grad, t.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("kw", [{"negative_slope": 0.1}, {"max_value": 6.0}, {"max_value": 2.5, "threshold": 0.5},
                                {"negative_slope": 0.3, "threshold": 1.0, "max_value": 3.0}])
def test_relu_options(kw):
    np.testing.assert_allclose(activations.relu(X, **kw),
                               keras.ops.convert_to_numpy(keras.activations.relu(X, **kw)), rtol=1e-6, atol=1e-6)


def test_gelu_defaults_follow_keras():
    np.testing.assert_allclose(activations.gelu(X), keras.ops.convert_to_numpy(keras.activations.gelu(X)), atol=1e-5)
    from forgenet import ops
    np.testing.assert_allclose(ops.gelu(X), keras.ops.convert_to_numpy(keras.ops.gelu(X)), atol=1e-5)
    assert not np.allclose(ops.gelu(X), activations.gelu(X), atol=1e-6)  # the two defaults differ, as in Keras


def test_get_serialize():
    assert activations.get(None) is activations.linear
    assert activations.get("swish") is activations.silu
    assert activations.serialize(activations.get("mish")) == "mish"
    assert activations.deserialize("elu") is activations.elu
    with pytest.raises(ValueError, match="Could not interpret"):
        activations.get("nope")


@pytest.mark.parametrize("name", ["elu", "selu", "swish", "mish", "softplus", "leaky_relu", "hard_sigmoid", "relu6"])
def test_dense_takes_every_name(name):
    k = keras.layers.Dense(3, activation=name)
    ky = keras.ops.convert_to_numpy(k(X))
    d = layers.Dense(3, activation=name)
    d(X)
    d.set_weights(k.get_weights())
    np.testing.assert_allclose(d(X), ky, rtol=1e-5, atol=1e-5)
    assert d.get_config()["activation"] == k.get_config()["activation"]


def test_sparsemax_reference():
    x = X.astype(np.float64)
    ref = np.zeros_like(x)
    for i, row in enumerate(x):
        z = np.sort(row)[::-1]
        k = np.arange(1, len(z) + 1)
        cs = np.cumsum(z)
        kmax = k[1 + k * z > cs].max()
        ref[i] = np.maximum(row - (cs[kmax - 1] - 1) / kmax, 0)
    out = activations.sparsemax(X)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
