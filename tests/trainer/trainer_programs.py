"""Small Keras 3 programs, written once and run with `K = keras` (torch backend) or `K = forgenet`.

Each `program(K)` builds its model, copies in the same starting weights (drawn here with numpy, so
both libraries start alike), trains / evaluates / predicts, and returns what the tests compare:
History dicts, evaluate results, predictions. Where Keras's custom train_step is backend code (how
gradients are taken and applied), `grads_of` and `apply` hold the two versions side by side; that
is the one place a forgenet program differs from its Keras twin.
"""
import numpy as np


def is_keras(K):
    return K.__name__ == "keras"


def grads_of(K, loss, variables):
    """Keras/torch: torch.autograd.grad on the variables' torch values; forgenet: forgenet.autograd.grad."""
    if is_keras(K):
        import torch

        return list(torch.autograd.grad(loss, [v.value for v in variables]))
    return K.autograd.grad(loss, variables)


def apply(K, optimizer, grads, variables):
    if is_keras(K):
        import torch

        with torch.no_grad():
            optimizer.apply(grads, variables)
    else:
        optimizer.apply(grads, variables)


def to_np(K, t):
    return np.asarray(K.ops.convert_to_numpy(t)) if is_keras(K) else np.asarray(t)


def init_weights(model, seed=0):
    """The same small random starting weights in both libraries (shapes are Keras's in both)."""
    rng = np.random.default_rng(seed)
    model.set_weights([(0.3 * rng.standard_normal(w.shape)).astype(np.float32) for w in model.get_weights()])


def data(n=40, d=4, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    cls = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.8).astype(np.int64)
    reg = (x @ np.array([1.0, -2.0, 0.5, 0.25], np.float32)[:d])[:, None].astype(np.float32)
    return x, cls, reg


def _mlp(K, out=3, act="softmax", name=None):
    class MLP(K.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.hidden = K.layers.Dense(8, activation="relu")
            self.out = K.layers.Dense(out, activation=act)

        def call(self, x):
            return self.out(self.hidden(x))

    return MLP(name=name)


def _built(model, x):
    model(x[:2])
    init_weights(model)
    return model


# ---- custom steps -------------------------------------------------------------------------------
def custom_train_step(K):
    """Keras's 'customizing what happens in fit' (torch): own train_step, own loss tracker, own metrics property."""

    class CustomModel(K.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.hidden = K.layers.Dense(8, activation="tanh")
            self.out = K.layers.Dense(1)
            self.loss_tracker = K.metrics.Mean(name="loss")
            self.mae_metric = K.metrics.MeanAbsoluteError(name="mae")

        def call(self, x):
            return self.out(self.hidden(x))

        def train_step(self, data):
            x, y = data
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            grads = grads_of(K, loss, self.trainable_weights)
            apply(K, self.optimizer, grads, self.trainable_weights)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    x, _, y = data()
    model = _built(CustomModel(), x)
    model.compile(optimizer=K.optimizers.SGD(0.05), loss="mse")
    hist = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    return {"history": hist.history, "pred": model.predict(x, verbose=0), "metrics": [m.name for m in model.metrics]}


def custom_test_step_and_compute_loss(K):
    """compute_loss adds a penalty on the predictions; test_step reports its own numbers."""

    class Penalized(K.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.out = K.layers.Dense(1)

        def call(self, x):
            return self.out(x)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            base = super().compute_loss(x, y, y_pred, sample_weight, training=training)
            return base + 0.1 * K.ops.mean(y_pred * y_pred)

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            err = y_pred - y
            return {"sq": K.ops.mean(err * err), "bias": K.ops.mean(err)}

    x, _, y = data()
    model = _built(Penalized(), x)
    model.compile(optimizer=K.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    hist = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, validation_data=(x[:12], y[:12]))
    ev = model.evaluate(x, y, batch_size=40, verbose=0, return_dict=True)
    return {"history": hist.history, "evaluate": ev}


def gan(K):
    """A GAN-style step: two sub-models, two optimizers, two losses, trackers as metrics."""

    class GAN(K.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.generator = K.layers.Dense(4, activation="tanh", name="generator")
            self.discriminator = K.layers.Dense(1, name="discriminator")
            self.d_tracker = K.metrics.Mean(name="d_loss")
            self.g_tracker = K.metrics.Mean(name="g_loss")

        def call(self, z):
            return self.discriminator(self.generator(z))

        @property
        def metrics(self):
            return [self.d_tracker, self.g_tracker]

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

        def train_step(self, data):
            real, z = data[0] if isinstance(data, tuple) and len(data) == 1 else data
            n = real.shape[0]
            fake = self.generator(z)
            both = K.ops.concatenate([fake, real], axis=0)
            labels = np.concatenate([np.ones((n, 1), np.float32), np.zeros((n, 1), np.float32)])
            d_vars = self.discriminator.trainable_weights
            d_loss = self.loss_fn(labels, self.discriminator(both))
            apply(K, self.d_optimizer, grads_of(K, d_loss, d_vars), d_vars)
            g_vars = self.generator.trainable_weights
            g_loss = self.loss_fn(np.zeros((n, 1), np.float32), self.discriminator(self.generator(z)))
            apply(K, self.g_optimizer, grads_of(K, g_loss, g_vars), g_vars)
            self.d_tracker.update_state(d_loss)
            self.g_tracker.update_state(g_loss)
            return {"d_loss": self.d_tracker.result(), "g_loss": self.g_tracker.result()}

    rng = np.random.default_rng(5)
    real = (rng.standard_normal((32, 4)) * 0.5 + 1.0).astype(np.float32)
    z = rng.standard_normal((32, 3)).astype(np.float32)
    model = GAN()
    model(z[:2])
    init_weights(model)
    model.compile(K.optimizers.SGD(0.05), K.optimizers.SGD(0.02), K.losses.BinaryCrossentropy(from_logits=True))
    hist = model.fit([real, z], batch_size=8, epochs=2, shuffle=False, verbose=0)
    return {"history": hist.history, "weights": model.get_weights()}


# ---- input paths --------------------------------------------------------------------------------
def generators(K):
    x, y, _ = data(48)

    def batches(lo, hi, bs, weights=False):
        while True:
            for i in range(lo, hi, bs):
                yb = y[i:i + bs]
                yield (x[i:i + bs], yb, (1.0 + yb).astype(np.float32)) if weights else (x[i:i + bs], yb)

    model = _built(_mlp(K), x)
    model.compile(optimizer=K.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    hist = model.fit(batches(0, 32, 8, weights=True), steps_per_epoch=3, epochs=3, verbose=0,
                     validation_data=batches(32, 48, 8), validation_steps=2)
    ev = model.evaluate(batches(32, 48, 8), steps=2, verbose=0)
    pred = model.predict(((x[i:i + 8],) for i in range(0, 24, 8)), verbose=0)
    return {"history": hist.history, "evaluate": ev, "pred": pred}


def py_dataset(K):
    x, y, _ = data(40)

    class Batches(K.utils.PyDataset):
        def __init__(self, x, y, bs, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.bs = x, y, bs
            self.epochs_ended = 0

        def __len__(self):
            return int(np.ceil(len(self.x) / self.bs))

        def __getitem__(self, i):
            return self.x[i * self.bs:(i + 1) * self.bs], self.y[i * self.bs:(i + 1) * self.bs]

        def on_epoch_end(self):
            self.epochs_ended += 1

    model = _built(_mlp(K), x)
    model.compile(optimizer=K.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train = Batches(x[:30], y[:30], 7)
    hist = model.fit(train, epochs=3, shuffle=False, verbose=0, validation_data=Batches(x[30:], y[30:], 4))
    return {"history": hist.history, "pred": model.predict(Batches(x, y, 16), verbose=0),
            "evaluate": model.evaluate(Batches(x, y, 16), verbose=0)}


def weights_and_classes(K):
    x, y, _ = data(40)
    sw = np.linspace(0.2, 2.0, 40).astype(np.float32)
    model = _built(_mlp(K), x)
    model.compile(optimizer=K.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    h1 = model.fit(x, y, sample_weight=sw, batch_size=16, epochs=2, shuffle=False, verbose=0,
                   validation_data=(x[:10], y[:10], sw[:10]))
    h2 = model.fit(x, y, class_weight={0: 1.0, 1: 3.0, 2: 0.5}, batch_size=16, epochs=1, shuffle=False, verbose=0,
                   validation_split=0.25)
    ev = model.evaluate(x, y, sample_weight=sw, batch_size=13, verbose=0, return_dict=True)
    tob = model.train_on_batch(x[:8], y[:8], sample_weight=sw[:8], return_dict=True)
    return {"h1": h1.history, "h2": h2.history, "evaluate": ev, "train_on_batch": tob}


def torch_tensors(K):
    import torch

    x, y, _ = data(32)
    model = _built(_mlp(K), x)
    model.compile(optimizer=K.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(torch.from_numpy(x), torch.from_numpy(y), batch_size=8, epochs=2, shuffle=False, verbose=0)
    return {"history": hist.history, "pred": model.predict(torch.from_numpy(x), verbose=0)}


def multi_input(K):
    class TwoIn(K.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.a = K.layers.Dense(3)
            self.b = K.layers.Dense(3)
            self.out = K.layers.Dense(1)

        def call(self, inputs):
            a, b = (inputs["a"], inputs["b"]) if isinstance(inputs, dict) else inputs
            return self.out(self.a(a) + self.b(b))

    x, _, y = data(24)
    x2 = x[:, ::-1].copy()
    model = TwoIn()
    model([x[:2], x2[:2]])
    init_weights(model)
    model.compile(optimizer=K.optimizers.SGD(0.05), loss="mse")
    h_list = model.fit([x, x2], y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    h_dict = model.fit({"a": x, "b": x2}, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    return {"h_list": h_list.history, "h_dict": h_dict.history, "pred": model.predict([x, x2], verbose=0)}


# ---- several outputs ----------------------------------------------------------------------------
def _two_out(K, as_dict):
    class TwoOut(K.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.trunk = K.layers.Dense(6, activation="relu")
            self.cls = K.layers.Dense(3, activation="softmax")
            self.reg = K.layers.Dense(1)

        def call(self, x):
            h = self.trunk(x)
            c, r = self.cls(h), self.reg(h)
            return {"cls": c, "reg": r} if as_dict else [c, r]

    return TwoOut()


def multi_output_dict(K):
    x, c, r = data(40)
    model = _two_out(K, True)
    model(x[:2])
    init_weights(model)
    model.compile(optimizer=K.optimizers.SGD(0.05),
                  loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5},
                  metrics={"cls": ["accuracy"], "reg": ["mae", "mse"]})
    y = {"cls": c, "reg": r}
    hist = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, validation_split=0.25)
    ev = model.evaluate(x, y, batch_size=16, verbose=0)
    pred = model.predict(x, verbose=0)
    return {"history": hist.history, "evaluate": ev, "pred": pred}


def multi_output_list(K):
    x, c, r = data(40)
    model = _two_out(K, False)
    model(x[:2])
    init_weights(model)
    model.compile(optimizer=K.optimizers.SGD(0.05), loss=["sparse_categorical_crossentropy", "mse"],
                  loss_weights=[0.3, 1.0], metrics=[["accuracy"], ["mae"]])
    sw = np.linspace(0.5, 1.5, 40).astype(np.float32)
    hist = model.fit(x, [c, r], sample_weight=sw, batch_size=16, epochs=2, shuffle=False, verbose=0)
    ev = model.evaluate(x, [c, r], verbose=0, return_dict=True)
    return {"history": hist.history, "evaluate": ev, "pred": model.predict(x, verbose=0)}


def add_loss_penalty(K):
    class ActivityPenalty(K.layers.Layer):
        def call(self, x):
            self.add_loss(0.01 * K.ops.sum(x * x))
            return x

    class WithPenalty(K.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.hidden = K.layers.Dense(5, activation="relu")
            self.penalty = ActivityPenalty()
            self.out = K.layers.Dense(1)

        def call(self, x):
            return self.out(self.penalty(self.hidden(x)))

    x, _, y = data(32)
    model = _built(WithPenalty(), x)
    model.compile(optimizer=K.optimizers.SGD(0.02), loss="mse")
    hist = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model(x[:4])
    n_losses = len(model.losses)
    return {"history": hist.history, "evaluate": model.evaluate(x, y, verbose=0), "n_losses": n_losses}


PROGRAMS = [custom_train_step, custom_test_step_and_compute_loss, gan, generators, py_dataset, weights_and_classes,
            torch_tensors, multi_input, multi_output_dict, multi_output_list, add_loss_penalty]


# ---- the catalogue's everyday models (issue 10) -------------------------------------------------
def _tokens(n=24, t=10, vocab=20, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, (n, t)).astype(np.int64)
    y = ((x[:, :3] > vocab // 2).sum(1) >= 2).astype(np.int64)
    return x, y


def text_conv1d(K):
    """Text classification: Embedding -> Conv1D -> global max and average pooling -> Dense."""
    x, y = _tokens()
    inp = K.Input(shape=(10,), dtype="int32")
    e = K.layers.Embedding(20, 6)(inp)
    c = K.layers.Conv1D(5, 3, activation="relu", padding="same")(e)
    c = K.layers.MaxPooling1D(2)(c)
    c = K.layers.Conv1D(4, 2, activation="relu")(c)
    pooled = K.layers.concatenate([K.layers.GlobalMaxPooling1D()(c), K.layers.GlobalAveragePooling1D()(c)])
    out = K.layers.Dense(2, activation="softmax")(pooled)
    model = K.Model(inp, out)
    init_weights(model)
    model.compile(optimizer=K.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return {"history": hist.history, "pred": model.predict(x, verbose=0)}


def bidirectional_gru(K):
    """A bidirectional GRU over embedded tokens (masked by mask_zero), then a second GRU layer."""
    x, y = _tokens()
    x[::3, -3:] = 0  # padded tails: the mask must keep them out of both directions
    inp = K.Input(shape=(None,), dtype="int32")
    e = K.layers.Embedding(20, 5, mask_zero=True)(inp)
    h = K.layers.Bidirectional(K.layers.GRU(4, return_sequences=True))(e)
    h = K.layers.Bidirectional(K.layers.GRU(3), merge_mode="sum")(h)
    out = K.layers.Dense(1, activation="sigmoid")(h)
    model = K.Model(inp, out)
    init_weights(model)
    model.compile(optimizer=K.optimizers.RMSprop(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y.astype(np.float32), batch_size=8, epochs=2, shuffle=False, verbose=0)
    return {"history": hist.history, "pred": model.predict(x, verbose=0)}


def batchnorm_cnn(K):
    """Conv2D + BatchNormalization + ReLU + pooling: training, moving statistics, then inference."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, 8, 8, 2)).astype(np.float32) * 2.0 + 0.5
    y = (x[:, :4, :, 0].mean((1, 2)) > 0.5).astype(np.int64)
    model = K.Sequential([
        K.Input(shape=(8, 8, 2)),
        K.layers.Conv2D(4, 3, padding="same", use_bias=False),
        K.layers.BatchNormalization(momentum=0.8),
        K.layers.ReLU(),
        K.layers.MaxPooling2D(2),
        K.layers.Conv2D(3, 3),
        K.layers.BatchNormalization(),
        K.layers.Activation("relu"),
        K.layers.GlobalAveragePooling2D(),
        K.layers.Dense(2, activation="softmax"),
    ])
    init_weights(model)
    for layer in model.layers:  # moving variance must start positive
        if isinstance(layer, K.layers.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([1.0 + 0.1 * g, b, m, np.abs(v) + 0.5])
    model.compile(optimizer=K.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    moving = [w for layer in model.layers if isinstance(layer, K.layers.BatchNormalization)
              for w in layer.get_weights()[2:]]
    return {"history": hist.history, "moving": moving, "pred": model.predict(x, verbose=0),
            "evaluate": model.evaluate(x, y, verbose=0)}


def transformer_classifier(K):
    """The Keras text-classification-with-Transformer example, small: token + position embedding,
    one block (MultiHeadAttention, LayerNormalization, feed-forward), GlobalAveragePooling1D."""
    x, y = _tokens(t=8)

    class Block(K.layers.Layer):
        def __init__(self, d, heads, ff, **kw):
            super().__init__(**kw)
            self.att = K.layers.MultiHeadAttention(num_heads=heads, key_dim=d // heads)
            self.ffn = K.Sequential([K.layers.Dense(ff, activation="relu"), K.layers.Dense(d)])
            self.ln1 = K.layers.LayerNormalization(epsilon=1e-6)
            self.ln2 = K.layers.LayerNormalization(epsilon=1e-6)

        def call(self, inputs):
            h = self.ln1(inputs + self.att(inputs, inputs))
            return self.ln2(h + self.ffn(h))

    class TokenAndPosition(K.layers.Layer):
        def __init__(self, maxlen, vocab, d, **kw):
            super().__init__(**kw)
            self.tok = K.layers.Embedding(vocab, d)
            self.pos = K.layers.Embedding(maxlen, d)

        def call(self, x):
            positions = K.ops.arange(0, K.ops.shape(x)[-1], 1)
            return self.tok(x) + self.pos(positions)

    inp = K.Input(shape=(8,), dtype="int32")
    h = TokenAndPosition(8, 20, 8)(inp)
    h = Block(8, 2, 12)(h)
    h = K.layers.GlobalAveragePooling1D()(h)
    out = K.layers.Dense(2, activation="softmax")(h)
    model = K.Model(inp, out)
    init_weights(model)
    model.compile(optimizer=K.optimizers.Adam(0.005), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return {"history": hist.history, "pred": model.predict(x, verbose=0)}


def seq2seq_lstm(K):
    """The Keras character-level seq2seq guide: an LSTM encoder's states start an LSTM decoder
    (return_state / initial_state); trained with teacher forcing, then the guide's inference models
    decode step by step from the returned states."""
    enc_tokens, dec_tokens, latent = 5, 4, 6
    rng = np.random.default_rng(6)
    enc_x = np.eye(enc_tokens, dtype=np.float32)[rng.integers(0, enc_tokens, (12, 5))]
    dec_x = np.eye(dec_tokens, dtype=np.float32)[rng.integers(0, dec_tokens, (12, 4))]
    dec_y = np.roll(dec_x, -1, axis=1)
    encoder_inputs = K.Input(shape=(None, enc_tokens))
    encoder = K.layers.LSTM(latent, return_state=True)
    _, state_h, state_c = encoder(encoder_inputs)
    decoder_inputs = K.Input(shape=(None, dec_tokens))
    decoder_lstm = K.layers.LSTM(latent, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    decoder_dense = K.layers.Dense(dec_tokens, activation="softmax")
    model = K.Model([encoder_inputs, decoder_inputs], decoder_dense(decoder_outputs))
    init_weights(model)
    model.compile(optimizer=K.optimizers.RMSprop(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit([enc_x, dec_x], dec_y, batch_size=4, epochs=2, shuffle=False, verbose=0)

    encoder_model = K.Model(encoder_inputs, [state_h, state_c])
    state_in = [K.Input(shape=(latent,)), K.Input(shape=(latent,))]
    step_out, h, c = decoder_lstm(decoder_inputs, initial_state=state_in)
    decoder_model = K.Model([decoder_inputs] + state_in, [decoder_dense(step_out), h, c])
    states = encoder_model.predict(enc_x[:3], verbose=0)
    token = np.zeros((3, 1, dec_tokens), np.float32)
    token[:, 0, 0] = 1.0
    decoded = []
    for _ in range(3):
        probs, h, c = decoder_model.predict([token] + list(states), verbose=0)
        decoded.append(probs[:, -1])
        token = np.eye(dec_tokens, dtype=np.float32)[np.argmax(probs[:, -1], -1)][:, None]
        states = [h, c]
    return {"history": hist.history, "pred": model.predict([enc_x, dec_x], verbose=0), "decoded": decoded}


def preprocessing_layers(K):
    """Preprocessing inside a model: Normalization.adapt on numbers, CategoryEncoding of an integer
    feature (one_hot) and of a bag of ids (multi_hot and count), Rescaling; three inputs merged.
    (Keras's StringLookup / IntegerLookup / TextVectorization need TensorFlow, absent here: their
    parity is checked against Keras's documented outputs in tests/layers/test_preprocessing.py.)"""
    rng = np.random.default_rng(7)
    nums = (rng.standard_normal((20, 3)) * [1.0, 5.0, 0.2] + [0.0, 10.0, -1.0]).astype(np.float32)
    colour = rng.integers(0, 4, (20, 1)).astype(np.int64)
    bag = rng.integers(0, 6, (20, 5)).astype(np.int64)
    pixels = rng.integers(0, 256, (20, 4)).astype(np.float32)
    y = ((nums[:, 0] > 0) ^ (colour[:, 0] == 2)).astype(np.float32)

    norm = K.layers.Normalization()
    norm.adapt(nums)
    num_in, col_in, bag_in, pix_in = K.Input(shape=(3,)), K.Input(shape=(1,)), K.Input(shape=(5,)), K.Input(shape=(4,))
    h = K.layers.concatenate([norm(num_in), K.layers.CategoryEncoding(4, output_mode="one_hot")(col_in),
                              K.layers.CategoryEncoding(6, output_mode="multi_hot")(bag_in),
                              K.layers.CategoryEncoding(6, output_mode="count")(bag_in),
                              K.layers.Rescaling(1.0 / 255, offset=-0.5)(pix_in)])
    h = K.layers.Dense(6, activation="relu")(h)
    out = K.layers.Dense(1, activation="sigmoid")(h)
    model = K.Model([num_in, col_in, bag_in, pix_in], out)
    for i, layer in enumerate(model.layers):  # the Dense layers only: the adapted statistics stay
        if isinstance(layer, K.layers.Dense):
            init_weights(layer, seed=i)
    model.compile(optimizer=K.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    feats = [nums, colour, bag, pixels]
    hist = model.fit(feats, y, batch_size=5, epochs=2, shuffle=False, verbose=0)
    return {"history": hist.history, "pred": model.predict(feats, verbose=0),
            "mean": to_np(K, norm.mean), "variance": to_np(K, norm.variance)}


PROGRAMS += [text_conv1d, bidirectional_gru, batchnorm_cnn, transformer_classifier, seq2seq_lstm,
             preprocessing_layers]
