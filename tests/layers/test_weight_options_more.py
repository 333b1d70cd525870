"""Keras's weight options on the convolution variants, PReLU and the normalization layers: the same
penalties in model.losses, the same training (penalty gradients in the loss, constraints applied after
each step) and configs that name the same options and read back."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

import forgenet  # noqa: E402
from forgenet import layers  # noqa: E402

R = np.random.default_rng(11)
IMG = R.standard_normal((4, 6, 6, 3)).astype(np.float32)
VEC = R.standard_normal((4, 5)).astype(np.float32)
SEQ = R.standard_normal((4, 5, 4)).astype(np.float32)


def _opts(K, **spec):
    """spec: option -> (kind, args): built with K's own regularizers / constraints."""
    out = {}
    for name, (cls, args) in spec.items():
        mod = K.regularizers if name.endswith("regularizer") else K.constraints
        out[name] = getattr(mod, cls)(**args)
    return out


CASES = [
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2), IMG,
     dict(depthwise_regularizer=("L2", dict(l2=0.1)), bias_regularizer=("L1", dict(l1=0.2)),
          activity_regularizer=("L2", dict(l2=0.01)), depthwise_constraint=("NonNeg", {}),
          bias_constraint=("MaxNorm", dict(max_value=0.5, axis=0)))),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, padding="same"), IMG,
     dict(depthwise_regularizer=("L1L2", dict(l1=0.05, l2=0.1)), pointwise_regularizer=("L2", dict(l2=0.2)),
          bias_regularizer=("L1", dict(l1=0.3)), depthwise_constraint=("UnitNorm", dict(axis=[0, 1])),
          pointwise_constraint=("NonNeg", {}), bias_constraint=("NonNeg", {}))),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, output_padding=1), IMG,
     dict(kernel_regularizer=("L2", dict(l2=0.1)), bias_regularizer=("L1", dict(l1=0.2)),
          kernel_constraint=("MinMaxNorm", dict(min_value=0.2, max_value=0.8, rate=0.5, axis=[0, 1, 2])))),
    ("PReLU", dict(), VEC,
     dict(alpha_regularizer=("L2", dict(l2=0.3)), alpha_constraint=("NonNeg", {}))),
    ("BatchNormalization", dict(momentum=0.5), IMG,
     dict(gamma_regularizer=("L2", dict(l2=0.2)), beta_regularizer=("L1", dict(l1=0.1)),
          gamma_constraint=("MaxNorm", dict(max_value=1.5, axis=0)), beta_constraint=("NonNeg", {}))),
    ("LayerNormalization", dict(), SEQ,
     dict(gamma_regularizer=("L1L2", dict(l1=0.1, l2=0.1)), beta_regularizer=("L2", dict(l2=0.3)),
          gamma_constraint=("NonNeg", {}), beta_constraint=("MaxNorm", dict(max_value=0.3, axis=0)))),
    ("GroupNormalization", dict(groups=2), SEQ,
     dict(gamma_regularizer=("L2", dict(l2=0.2)), beta_regularizer=("L1", dict(l1=0.2)),
          gamma_constraint=("UnitNorm", dict(axis=0)), beta_constraint=("NonNeg", {}))),
]


def _model(K, name, kwargs, opts, x):
    m = K.Sequential([K.Input(shape=x.shape[1:]), getattr(K.layers, name)(**kwargs, **_opts(K, **opts)),
                      K.layers.Flatten(), K.layers.Dense(1)])
    return m


def _f(v):
    return float(keras.ops.convert_to_numpy(v)) if hasattr(v, "detach") else float(np.asarray(getattr(v, "data", v)))


@pytest.mark.parametrize("name,kwargs,x,opts", CASES, ids=[c[0] for c in CASES])
def test_penalties_training_and_config_match_keras(name, kwargs, x, opts):
    km, fm = _model(keras, name, kwargs, opts, x), _model(forgenet, name, kwargs, opts, x)
    rng = np.random.default_rng(0)
    start = [(0.5 * w + 0.2 * rng.standard_normal(w.shape) + 0.1).astype(np.float32) for w in km.get_weights()]
    if name == "BatchNormalization":  # gamma, beta, moving_mean, moving_variance (positive)
        start[3] = np.abs(start[3]) + 0.5
    km.set_weights(start)
    fm.set_weights(start)
    km(x), fm(x)
    n_penalties = sum(k.endswith("regularizer") for k in opts)
    assert len(fm.losses) == n_penalties
    np.testing.assert_allclose(sum(_f(v) for v in fm.losses), sum(_f(v) for v in km.losses), rtol=1e-5)

    y = R.standard_normal((x.shape[0], 1)).astype(np.float32)
    for m, K in ((km, keras), (fm, forgenet)):
        m.compile(optimizer=K.optimizers.SGD(0.02), loss="mse")
    kh = km.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0).history
    fh = fm.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0).history
    np.testing.assert_allclose(fh["loss"], kh["loss"], rtol=2e-4, atol=1e-5)  # the loss includes the penalties
    for a, b in zip(fm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)  # penalty gradients, then the constraints

    ours, theirs = fm.layers[0], km.layers[0]
    cfg, kcfg = ours.get_config(), theirs.get_config()
    for o in opts:
        assert (cfg[o]["class_name"], cfg[o]["config"]) == (kcfg[o]["class_name"], kcfg[o]["config"]), o
    again = type(ours).from_config(cfg)
    assert again.get_config() == {**cfg, "name": again.name} or again.get_config() == cfg
    from_keras = type(ours).from_config(kcfg)  # Keras's config, with its None options, reads back alike
    assert {o: from_keras.get_config()[o]["config"] for o in opts} == {o: cfg[o]["config"] for o in opts}


def test_weight_options_save_and_load(tmp_path):
    m = forgenet.Sequential([forgenet.Input(shape=(6, 6, 3)),
                             layers.BatchNormalization(gamma_regularizer="l2", beta_constraint="non_neg"),
                             layers.DepthwiseConv2D(3, depthwise_regularizer="l1"), layers.PReLU(alpha_regularizer="l2")])
    m(IMG)
    path = str(tmp_path / "m.keras")
    m.save(path)
    back = forgenet.models.load_model(path)
    back(IMG)
    assert len(back.losses) == 3
    np.testing.assert_allclose(sum(_f(v) for v in back.losses), sum(_f(v) for v in m.losses), rtol=1e-6)
