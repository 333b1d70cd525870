"""Tracking and freezing (Keras 3): layers and Variables held in attributes, lists, tuples and dicts -
assigned at any time, appended later, nested - are weights of the model and train; trainable=False
stops gradients from being computed for a layer's weights at all (its Variables do not require grad,
so no backward is recorded for them)."""
import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the import

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

import forgenet  # noqa: E402
from forgenet import layers  # noqa: E402
from forgenet.autograd import Tensor, Variable  # noqa: E402
from forgenet.layers.base import TrackedDict, TrackedList  # noqa: E402

from support import assert_close  # noqa: E402


def make_containers(L):
    class Blocks(L.Model):
        def __init__(self):
            super().__init__()
            self.by_name = {"first": L.layers.Dense(6, activation="relu")}
            self.stack = []
            self.pairs = ((L.layers.Dense(6), L.layers.Dense(6)),)
            self.by_name["second"] = L.layers.Dense(6, activation="tanh")  # added to the dict later
            for _ in range(2):
                self.stack.append(L.layers.Dense(6))  # appended after assignment
            self.nested = [[L.layers.Dense(4)]]
            self.head = L.layers.Dense(3)

        def call(self, x):
            x = self.by_name["second"](self.by_name["first"](x))
            for layer in self.stack:
                x = layer(x)
            a, b = self.pairs[0]
            x = a(x) + b(x)
            return self.head(self.nested[0][0](x))

    return Blocks()


def test_layers_in_dicts_lists_tuples_are_tracked_like_keras(rng):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    keras.utils.set_random_seed(0)
    km, fm = make_containers(keras), make_containers(forgenet)
    kout = keras.ops.convert_to_numpy(km(x))
    fm(x)
    assert isinstance(fm.stack, TrackedList) and isinstance(fm.by_name, TrackedDict)
    assert len(fm.layers) == len(km.layers) == 8
    assert [w.shape for w in fm.weights] == [tuple(w.shape) for w in km.weights]
    assert fm.count_params() == km.count_params()
    fm.set_weights(km.get_weights())
    assert_close(fm(x), kout, rtol=1e-4, atol=1e-5, what="container model")


def test_weights_in_containers_train(rng):
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model = make_containers(forgenet)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # builds and trains
    before = model.get_weights()
    assert len(before) == 16
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    after = model.get_weights()
    assert all(np.abs(a - b).max() > 0 for a, b in zip(before, after)), "every tracked weight must train"


def test_variables_and_untracking():
    class Scale(layers.Layer):
        def __init__(self):
            super().__init__()
            self.extra = [Variable(np.ones(3, np.float32), name="gain")]
            self.table = {"bias": Variable(np.zeros(3, np.float32), name="bias")}
            self.frozen = Variable(np.ones(3, np.float32), name="fixed", trainable=False)

        def call(self, x):
            return x * self.extra[0] + self.table["bias"] + self.frozen

    s = Scale()
    assert [w.name for w in s.weights] == ["gain", "bias", "fixed"]
    assert [w.name for w in s.trainable_weights] == ["gain", "bias"]
    assert [w.name for w in s.non_trainable_weights] == ["fixed"]
    s.table.pop("bias")
    assert [w.name for w in s.weights] == ["gain", "fixed"]

    class Holder(forgenet.Model):
        def __init__(self):
            super().__init__()
            self.items = [layers.Dense(2), layers.Dense(2)]

        def call(self, x):
            for layer in self.items:
                x = layer(x)
            return x

    h = Holder()
    h(np.zeros((1, 3), np.float32))
    assert len(h.weights) == 4
    h.items.pop()
    assert len(h.layers) == 1 and len(h.weights) == 2
    del h.items
    assert h.layers == [] and h.weights == []


def test_assigning_before_super_init_and_reassigning():
    class Early(layers.Layer):
        def __init__(self):
            self.inner = layers.Dense(2)  # Keras allows tracking before super().__init__()
            super().__init__()

        def call(self, x):
            return self.inner(x)

    e = Early()
    e(np.zeros((1, 3), np.float32))
    assert len(e.weights) == 2


def frozen_model(L):
    inp = L.Input((4,))
    base = L.layers.Dense(5, activation="relu", name="base")
    head = L.layers.Dense(2, name="head")
    return L.Model(inp, head(base(inp))), base, head


def test_trainable_false_records_no_backward(rng):
    model, base, head = frozen_model(forgenet)
    base.trainable = False
    assert all(not w.requires_grad for w in base.weights) and all(w.requires_grad for w in head.weights)
    x = Tensor(rng.standard_normal((3, 4)).astype(np.float32))
    hidden = base(x)
    assert hidden._node is None and not hidden.requires_grad  # nothing recorded for the frozen layer
    loss = (model(x, training=True) ** 2).sum()
    loss.backward()
    assert all(w.grad is None for w in base.weights)
    assert all(w.grad is not None for w in head.weights)
    assert [w.name for w in model.trainable_weights] == ["head/kernel", "head/bias"]
    assert len(model.non_trainable_weights) == 2
    base.trainable = True
    assert all(w.requires_grad for w in base.weights)


def test_freezing_a_model_freezes_its_layers_and_fit_leaves_them(rng):
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.integers(0, 2, 32)
    inner, base, head = frozen_model(forgenet)
    inner.trainable = False
    assert not base.trainable and not head.trainable and inner.trainable_weights == []
    outer_in = forgenet.Input((4,))
    top = layers.Dense(2, activation="softmax")
    outer = forgenet.Model(outer_in, top(inner(outer_in)))
    outer.compile("sgd", "sparse_categorical_crossentropy")
    frozen_before = inner.get_weights()
    top_before = top.get_weights()
    outer.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(frozen_before, inner.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(np.abs(a - b).max() > 0 for a, b in zip(top_before, top.get_weights()))
    assert all(w.grad is None for w in inner.weights)
    # Keras's counts
    keras.utils.set_random_seed(0)
    kinner, _, _ = frozen_model(keras)
    kinner.trainable = False
    assert len(kinner.trainable_weights) == len(inner.trainable_weights) == 0
    assert len(kinner.non_trainable_weights) == len(inner.non_trainable_weights) == 4


def test_layer_created_frozen_builds_frozen_weights():
    d = layers.Dense(3, trainable=False)
    d(np.zeros((1, 2), np.float32))
    assert d.trainable_weights == [] and all(not w.requires_grad for w in d.weights)
    d.trainable = True
    assert len(d.trainable_weights) == 2


def test_a_frozen_layer_between_trained_ones_costs_no_weight_gradient(rng, monkeypatch):
    """Gradients still flow through a frozen Dense to the layers below it, but its kernel's GEMM is skipped."""
    import forgenet.functional.math as fmath

    first, middle, last = layers.Dense(4), layers.Dense(4), layers.Dense(2)
    x = rng.standard_normal((3, 5)).astype(np.float32)

    def backward_gemms():
        calls = []
        real = fmath.kernels.gemm
        out = last(middle(first(Tensor(x))))
        monkeypatch.setattr(fmath.kernels, "gemm", lambda *a, **k: calls.append(1) or real(*a, **k))
        (out * out).sum().backward()
        monkeypatch.setattr(fmath.kernels, "gemm", real)
        return len(calls)

    trained = backward_gemms()
    for w in first.weights + middle.weights + last.weights:
        w.grad = None
    middle.trainable = False
    assert backward_gemms() == trained - 1
    assert middle.kernel.grad is None and first.kernel.grad is not None
