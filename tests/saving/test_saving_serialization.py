"""The one registry and Keras 3's object format: register_keras_serializable, custom_object_scope,
serialize/deserialize_keras_object against Keras's own output, layer configs that Keras deserialises
(and the reverse), to_json / model_from_json, clone_model."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import json  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import forgenet  # noqa: E402
from forgenet import layers, saving  # noqa: E402
from forgenet.models import Sequential  # noqa: E402
from forgenet.saving import object_registration as reg  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def clean_registry():
    before = dict(reg.GLOBAL_CUSTOM_OBJECTS), dict(reg.GLOBAL_CUSTOM_NAMES)
    yield
    reg.GLOBAL_CUSTOM_OBJECTS.clear()
    reg.GLOBAL_CUSTOM_OBJECTS.update(before[0])
    reg.GLOBAL_CUSTOM_NAMES.clear()
    reg.GLOBAL_CUSTOM_NAMES.update(before[1])


def test_register_names_and_lookup(clean_registry):
    @saving.register_keras_serializable(package="pkg", name="Scaled")
    class ScaledDense(layers.Dense):
        pass

    @saving.register_keras_serializable("pkg")
    def twice(x):
        return x * 2.0

    assert saving.get_registered_name(ScaledDense) == "pkg>Scaled"
    assert saving.get_registered_name(twice) == "pkg>twice"
    assert saving.get_registered_name(layers.Dense) == "Dense"
    assert saving.get_registered_object("pkg>Scaled") is ScaledDense
    assert saving.get_registered_object("nope") is None
    spec = saving.serialize_keras_object(ScaledDense(3, activation=twice, name="sd"))
    assert spec["registered_name"] == "pkg>Scaled" and spec["config"]["activation"]["registered_name"] == "pkg>twice"
    back = saving.deserialize_keras_object(json.loads(json.dumps(spec)))
    assert type(back) is ScaledDense and back.activation is twice
    with pytest.raises(ValueError, match="package must be a string without '>'"):
        saving.register_keras_serializable("a>b")


def test_one_registry_for_losses_metrics_optimizers(clean_registry, tmp_path):
    @saving.register_keras_serializable("pkg")
    def my_loss(y_true, y_pred):
        return forgenet.losses.mean_squared_error(y_true, y_pred)

    m = Sequential([layers.Dense(2, input_shape=(3,))])
    m.compile(optimizer=forgenet.optimizers.SGD(0.1, momentum=0.5), loss=my_loss,
              metrics=[forgenet.metrics.MeanAbsoluteError()])
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    m.fit(x, y, verbose=0)
    for name in ("m.keras", "m.fgn"):
        m.save(tmp_path / name)
        loaded = saving.load_model(tmp_path / name)
        assert loaded.loss.fn is my_loss
        assert type(loaded.optimizer).__name__ == "SGD" and loaded.optimizer.momentum == 0.5
        assert loaded.evaluate(x, y, verbose=0) == pytest.approx(m.evaluate(x, y, verbose=0))


def test_custom_object_scope_and_custom_objects(tmp_path):
    class Local(layers.Dense):
        pass

    m = Sequential([Local(2, input_shape=(3,), name="loc")])
    m.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match=r"load_model: .*unknown layer class 'Local'.*custom_objects"):
        saving.load_model(tmp_path / "m.keras")
    assert type(saving.load_model(tmp_path / "m.keras", custom_objects={"Local": Local}).layers[0]) is Local
    with saving.custom_object_scope({"Local": Local}):
        with saving.CustomObjectScope({}):
            assert type(saving.load_model(tmp_path / "m.keras").layers[0]) is Local
    with pytest.raises(ValueError, match="unknown layer class"):
        saving.load_model(tmp_path / "m.keras")


def test_keras_layer_configs_deserialize_in_forgenet_and_back():
    keras = pytest.importorskip("keras")
    cases = [keras.layers.Dense(3, activation="relu", kernel_initializer=keras.initializers.RandomNormal(stddev=0.2)),
             keras.layers.Conv2D(4, 3, padding="same"), keras.layers.MaxPooling2D(3, strides=1),
             keras.layers.Flatten(), keras.layers.Dropout(0.25, seed=3), keras.layers.Embedding(10, 4, mask_zero=True),
             keras.layers.LSTM(5, return_sequences=True), keras.layers.MultiHeadAttention(2, 4),
             keras.layers.LayerNormalization(epsilon=1e-5), keras.layers.Reshape((2, 3)),
             keras.layers.Activation("tanh")]
    for k in cases:
        spec = keras.saving.serialize_keras_object(k)
        ours = saving.deserialize_keras_object(json.loads(json.dumps(spec)))
        assert type(ours).__name__ == type(k).__name__
        back = keras.saving.deserialize_keras_object(json.loads(json.dumps(saving.serialize_keras_object(ours))))
        kc, bc = k.get_config(), back.get_config()
        for key in kc:
            if key not in ("name",):
                assert kc[key] == bc[key], (type(k).__name__, key, kc[key], bc[key])


def test_keras_only_arguments_are_refused_unless_off():
    keras = pytest.importorskip("keras")
    # (kernel_regularizer was the example once; Dense supports it now, as Keras does)
    spec = keras.saving.serialize_keras_object(keras.layers.Dense(3, lora_rank=2))
    with pytest.raises(ValueError, match=r"Dense.*lora_rank"):
        saving.deserialize_keras_object(spec)
    spec = keras.saving.serialize_keras_object(keras.layers.Dense(3, dtype="mixed_float16"))
    with pytest.raises(ValueError, match="only the float32 dtype policy"):
        saving.deserialize_keras_object(spec)
    with pytest.raises(ValueError, match="only 0.0"):
        saving.deserialize_keras_object({"module": "keras.layers", "class_name": "Dense", "config": {
            "units": 2, "kernel_initializer": {"class_name": "RandomNormal", "config": {"mean": 1.0}}}})


def test_special_values_and_unknown_classes():
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    back = saving.deserialize_keras_object(saving.serialize_keras_object({"a": arr, "b": b"xy", "c": (1, 2)}))
    np.testing.assert_array_equal(back["a"], arr)
    assert back["b"] == b"xy" and back["c"] == [1, 2]
    with pytest.raises(ValueError, match="unknown layer class 'Nope'"):
        saving.deserialize_keras_object({"module": "evil.module", "class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="unsupported special object"):
        saving.deserialize_keras_object({"class_name": "__typespec__", "config": {}})


def test_to_json_model_from_json_and_clone_model():
    m = Sequential([layers.Conv2D(2, 3, input_shape=(6, 6, 1)), layers.Flatten(), layers.Dense(3)])
    js = m.to_json()
    again = forgenet.models.model_from_json(js)
    assert again.to_json() == js
    assert [w.shape for w in again.weights] == [w.shape for w in m.weights]
    clone = forgenet.models.clone_model(m)
    assert [l.get_config() for l in clone.layers] == [l.get_config() for l in m.layers]
    assert clone.built and not any(np.array_equal(a, b) for a, b in zip(clone.get_weights()[::2], m.get_weights()[::2]))
    renamed = forgenet.models.clone_model(m, clone_function=lambda l: l.__class__.from_config(
        {**l.get_config(), "name": "c_" + l.name}))
    assert [l.name for l in renamed.layers] == ["c_" + l.name for l in m.layers]
    with pytest.raises(ValueError, match="model_from_json"):
        forgenet.models.model_from_json("{not json")


def test_keras_reads_forgenet_json():
    keras = pytest.importorskip("keras")
    m = Sequential([layers.Embedding(12, 4, input_shape=(5,)), layers.LSTM(3), layers.Dense(2, activation="softmax")])
    k = keras.models.model_from_json(m.to_json())
    assert [type(l).__name__ for l in k.layers] == ["Embedding", "LSTM", "Dense"]
    assert k.count_params() == m.count_params()


def test_old_aliases_still_work(tmp_path, clean_registry):
    from forgenet.models import load_model, register_serializable, save_model

    @register_serializable()
    class Mine(layers.Dense):
        pass

    m = Sequential([Mine(2, input_shape=(3,))])
    save_model(m, tmp_path / "m.fgn")
    assert type(load_model(tmp_path / "m.fgn").layers[0]) is Mine
    assert saving.get_registered_name(Mine) == "Custom>Mine"
