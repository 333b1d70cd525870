"""Models built from the new layers save and load (architecture and weights, moving statistics
included) and predict the same afterwards."""
import numpy as np

import forgenet
import forgenet.layers as L


def _roundtrip(model, x, tmp_path):
    want = model.predict(x, verbose=0)
    path = tmp_path / "m.fgn"
    model.save(path)
    back = forgenet.models.load_model(path)
    np.testing.assert_allclose(back.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    assert [w.shape for w in back.get_weights()] == [w.shape for w in model.get_weights()]


def test_cnn_layers_save_and_load(tmp_path):
    x = np.random.default_rng(0).standard_normal((4, 12, 12, 3)).astype(np.float32)
    model = forgenet.models.Sequential([
        L.Conv2D(8, 3, padding="same", dilation_rate=2), L.BatchNormalization(), L.ReLU(max_value=6.0),
        L.DepthwiseConv2D(3, depth_multiplier=2), L.SeparableConv2D(6, 3, padding="same"),
        L.GroupNormalization(groups=3), L.Conv2DTranspose(4, 2, strides=2), L.ZeroPadding2D(1), L.Cropping2D(2),
        L.UpSampling2D(interpolation="bilinear"), L.SpatialDropout2D(0.1), L.GlobalMaxPooling2D(),
        L.UnitNormalization(), L.Dense(3), L.Softmax()])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.ones((4, 3), np.float32), epochs=1, batch_size=2, verbose=0)  # moving stats move
    _roundtrip(model, x, tmp_path)


def test_sequence_layers_save_and_load(tmp_path):
    x = np.random.default_rng(0).standard_normal((4, 10, 5)).astype(np.float32)
    model = forgenet.models.Sequential([
        L.Conv1D(6, 3, padding="causal", groups=1), L.LeakyReLU(), L.MaxPooling1D(2), L.PReLU(), L.ELU(),
        L.AveragePooling1D(1), L.UpSampling1D(2), L.ZeroPadding1D(1), L.Cropping1D(1), L.GaussianNoise(0.1),
        L.AlphaDropout(0.1), L.GaussianDropout(0.1), L.Permute((2, 1)), L.GlobalAveragePooling1D(),
        L.RepeatVector(2), L.Identity(), L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, np.ones((4, 2), np.float32), epochs=1, batch_size=2, verbose=0)
    _roundtrip(model, x, tmp_path)
