"""The functional API's own behaviour: Input and symbolic tensors, shape inference with unknown
axes, graph bookkeeping (layers, inputs/outputs, get_layer, layer.input/output), operators on
symbolic tensors, sub-models from intermediate tensors, the functional subclass pattern, training
flags and gradients through a graph, and the errors."""
import numpy as np
import pytest

import forgenet
from forgenet import layers
from forgenet.autograd import Tensor
from forgenet.layers.node import KerasTensor

from support import assert_close


def test_input_makes_a_symbolic_tensor():
    x = forgenet.Input(shape=(None, 3), batch_size=4, dtype="int32", name="ids")
    assert isinstance(x, KerasTensor) and x.shape == (4, None, 3) and x.dtype == "int32" and x.name == "ids"
    layer = x._keras_history.operation
    assert isinstance(layer, layers.InputLayer) and layer.output is x and layer.batch_shape == (4, None, 3)
    assert "KerasTensor shape=(4, None, 3), dtype=int32" in repr(x)
    assert forgenet.layers.Input is forgenet.Input
    with pytest.raises(ValueError, match="pass either shape or batch_shape"):
        forgenet.Input(shape=(3,), batch_shape=(None, 3))
    with pytest.raises(ValueError, match="must pass a `shape`"):
        forgenet.Input()
    with pytest.raises(TypeError, match="holds no values"):
        np.asarray(x)
    with pytest.raises(TypeError, match="no truth value"):
        bool(x)


def test_shapes_with_unknown_axes_are_inferred():
    img = forgenet.Input((None, None, 3))
    y = layers.Conv2D(4, 3, strides=2, padding="same")(img)
    assert y.shape == (None, None, None, 4)
    p = layers.MaxPooling2D(2)(y)
    assert p.shape == (None, None, None, 4)
    seq = forgenet.Input((None, 8))
    a = layers.MultiHeadAttention(2, 4)(seq, seq)
    assert a.shape == (None, None, 8)
    h, s1, s2 = layers.LSTM(5, return_state=True)(seq)
    assert (h.shape, s1.shape, s2.shape) == ((None, 5), (None, 5), (None, 5))
    fixed = forgenet.Input((6, 8), batch_size=3)
    assert layers.Flatten()(fixed).shape == (3, 48)
    # the layers were built on the symbolic shapes: weights exist right away
    d = layers.Dense(7)
    d(seq)
    assert d.built and d.kernel.shape == (8, 7)


def test_graph_bookkeeping():
    a, b = forgenet.Input((4,), name="a"), forgenet.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    ya, yb = shared(a), shared(b)
    out = layers.Add(name="sum")([ya, yb])
    model = forgenet.Model(inputs=[a, b], outputs=out, name="twin")
    assert model.name == "twin" and model.inputs == [a, b] and model.outputs == [out]
    assert model.input_shape == [(None, 4), (None, 4)] and model.output_shape == (None, 3)
    assert [l.name for l in model.layers] == ["a", "b", "shared", "sum"]
    assert model.get_layer("shared") is shared and model.get_layer(index=3).name == "sum"
    assert shared.input is a and shared.output is ya  # the first node's, as Keras
    assert out._keras_history.operation.name == "sum"
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")
    x = np.ones((2, 4), np.float32)
    assert_close(model([x, 2 * x]), shared(x) + shared(2 * x), rtol=1e-6, atol=1e-6)


def test_operators_on_symbolic_tensors():
    x = forgenet.Input((4,))
    h = layers.Dense(4)(x)
    y = (h + x) * 2.0 - x / 2.0
    z = y[:, :2]
    model = forgenet.Model(x, [y, z, -h])
    assert z.shape == (None, 2)
    v = np.arange(8, dtype=np.float32).reshape(2, 4)
    dense = model.layers[1]
    hv = dense(v)
    want = (hv + v) * 2 - v / 2
    got = model(v)
    assert_close(got[0], want, rtol=1e-6, atol=1e-6)
    assert_close(got[1], want[:, :2], rtol=1e-6, atol=1e-6)
    assert_close(got[2], -hv, rtol=1e-6, atol=1e-6)


def test_sub_models_from_intermediate_tensors(rng):
    inp = forgenet.Input((5,))
    h1 = layers.Dense(6, activation="relu")(inp)
    h2 = layers.Dense(4)(h1)
    full = forgenet.Model(inp, h2)
    backbone = forgenet.Model(inp, h1)
    tail = forgenet.Model(h1, h2)  # an intermediate tensor as the input
    x = rng.standard_normal((3, 5)).astype(np.float32)
    assert_close(tail(backbone(x)), full(x), rtol=1e-6, atol=1e-6)
    assert backbone.count_params() + tail.count_params() == full.count_params()


def test_functional_subclass_pattern(rng):
    class Wrapped(forgenet.Model):
        def __init__(self, units):
            inp = forgenet.Input((3,))
            out = layers.Dense(units)(inp)
            super().__init__(inp, out, name="wrapped")
            self.units = units

    m = Wrapped(2)
    assert isinstance(m, Wrapped) and m.output_shape == (None, 2) and m.units == 2
    x = rng.standard_normal((4, 3)).astype(np.float32)
    assert m(x).shape == (4, 2)


def test_training_flag_and_gradients_flow_through_the_graph(rng):
    inp = forgenet.Input((6,))
    h = layers.Dropout(0.5)(inp)
    out = layers.Dense(2)(h)
    model = forgenet.Model(inp, out)
    x = np.ones((8, 6), np.float32)
    assert_close(model(x), model(x), rtol=0, atol=0)  # inference: dropout off
    t = Tensor(x, requires_grad=True)
    y = model(t, training=True)
    assert np.any(y.numpy() != model(x))  # dropout on
    (y * y).sum().backward()
    assert t.grad is not None and all(w.grad is not None for w in model.trainable_weights)
    mc = layers.Dropout(0.5)(inp, training=True)  # recorded per call, as Keras keeps it
    assert mc._keras_history.operation._inbound_nodes[-1].call_kwargs == {"training": True}


def test_dtype_and_rank_handling_of_inputs():
    ids = forgenet.Input((3,), dtype="int32")
    emb = layers.Embedding(10, 2)(ids)
    model = forgenet.Model(ids, emb)
    assert model.input_dtype is None
    out = model(np.array([[1.0, 2.0, 3.0]]))  # floats are cast to the Input's dtype
    assert out.shape == (1, 3, 2)
    col = forgenet.Input((1,))
    m2 = forgenet.Model(col, layers.Dense(2)(col))
    assert m2(np.ones(4, np.float32)).shape == (4, 2)  # a missing trailing axis of 1 is added
    with pytest.raises(ValueError, match=r"expects shape \(None, 1\)"):
        m2(np.ones((4, 3), np.float32))


def test_errors_name_what_is_wrong():
    x = forgenet.Input((3,))
    with pytest.raises(ValueError, match="all `outputs` values must be KerasTensors"):
        forgenet.Model(x, np.zeros(3))
    other = forgenet.Input((3,))
    y = layers.Add()([x, other])
    with pytest.raises(ValueError, match="Graph disconnected"):
        forgenet.Model(x, y)
    d = layers.Dense(2, name="dup")
    e = layers.Dense(2, name="dup")
    with pytest.raises(ValueError, match='The name "dup" is used 2 times'):
        forgenet.Model(x, e(d(x)))
    model = forgenet.Model([x, other], y)
    with pytest.raises(ValueError, match=r"expected 2 input\(s\)"):
        model(np.zeros((1, 3), np.float32))
    named = forgenet.Input((3,), name="x")
    dict_model = forgenet.Model({"x": named}, layers.Dense(1)(named))
    with pytest.raises(ValueError, match="missing inputs"):
        dict_model({"z": np.zeros((1, 3), np.float32)})
    with pytest.warns(UserWarning, match="keys in the dict must match the names"):
        forgenet.Model({"wrong": x}, layers.Dense(1)(x))


def test_any_tensor_function_can_join_a_graph():
    """symbolic_call is the hook keras.ops-style functions use on KerasTensors."""
    from forgenet import functional as F
    from forgenet.layers.op_layer import symbolic_call

    x = forgenet.Input((3,))
    y = symbolic_call(F.relu, "relu", x)
    z = symbolic_call(lambda a, axis: F.sum(a, axis=axis), "sum", y, axis=-1)
    model = forgenet.Model(x, [y, z])
    assert (y.shape, z.shape) == ((None, 3), (None,))
    assert model.layers[1:] == [] and [op.keras_class_name for op in model.operations[1:]] == ["Relu", "Sum"]
    got = model(np.array([[-1.0, 2.0, 3.0]], np.float32))
    assert_close(got[0], [[0.0, 2.0, 3.0]], rtol=0, atol=0)
    assert_close(got[1], [5.0], rtol=0, atol=0)
