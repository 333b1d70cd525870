"""GRU, SimpleRNN, LSTM, RNN(cell), Bidirectional and TimeDistributed against Keras 3 (torch backend)
with the same weights: outputs, states, masks, go_backwards, initial states, stateful layers, dropout
masks, gradients (by torch autograd through Keras), configs, and a short training run."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # must precede the import; torch CPU is the reference peer

import numpy as np
import pytest

import forgenet
from forgenet import layers
from forgenet import ops as fops
from forgenet.autograd import Tensor

from support import assert_close

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def as_list(o):
    return list(o) if isinstance(o, (list, tuple)) else [o]


def pair(name, *args, build_shape, **kw):
    """A Keras layer with a non-trivial bias and ours carrying its weights."""
    extra = {"bias_initializer": "random_normal"} if name in ("GRU", "SimpleRNN", "LSTM") else {}
    k = getattr(keras.layers, name)(*args, **extra, **kw)
    k(np.zeros(build_shape, np.float32))
    f = getattr(layers, name)(*args, **kw)
    f(np.zeros(build_shape, np.float32))
    assert [w.shape for w in f.get_weights()] == [tuple(w.shape) for w in k.get_weights()]
    f.set_weights(k.get_weights())
    return k, f


def keras_run(k, x, ws, **call_kw):
    """Outputs of k on x and d(sum_i out_i * ws_i)/d(x, weights...) by torch autograd."""
    tx = torch.tensor(x, requires_grad=True)
    kw = {key: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for key, v in call_kw.items()}
    outs = as_list(k(tx, **kw))
    loss = sum((o * torch.tensor(w)).sum() for o, w in zip(outs, ws))
    params = [v.value for v in k.weights]
    grads = torch.autograd.grad(loss, [tx] + params, allow_unused=True)
    return [o.detach().numpy() for o in outs], [None if g is None else g.numpy() for g in grads]


def our_run(f, x, ws, **call_kw):
    tx = Tensor(x, requires_grad=True)
    for w in f.weights:
        w.grad = None
    outs = as_list(f(tx, **call_kw))
    loss = None
    for o, w in zip(outs, ws):
        term = (o * w).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    return [o.data for o in outs], [tx.grad] + [w.grad for w in f.weights]


def check_parity(k, f, x, rng, keras_kw=None, our_kw=None, rtol=1e-4, atol=1e-5):
    keras_kw = keras_kw or {}
    ko = as_list(k(x, **{a: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for a, v in keras_kw.items()}))
    ws = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in ko]
    k_out, k_grads = keras_run(k, x, ws, **keras_kw)
    f_out, f_grads = our_run(f, x, ws, **(our_kw if our_kw is not None else keras_kw))
    assert len(f_out) == len(k_out)
    for i, (a, b) in enumerate(zip(f_out, k_out)):
        assert_close(a, b, rtol=rtol, atol=atol, what=f"output {i}")
    names = ["dx"] + [w.name for w in f.weights]
    for g, kg, n in zip(f_grads, k_grads, names):
        if kg is None:
            assert g is None or not np.any(g), n
        else:
            assert g is not None, n
            assert_close(g, kg, rtol=rtol, atol=atol, what=n)


CONFIGS = [{}, {"return_sequences": True}, {"return_state": True},
           {"return_sequences": True, "return_state": True, "go_backwards": True}, {"go_backwards": True}]


@pytest.mark.parametrize("kw", CONFIGS)
@pytest.mark.parametrize("layer,extra", [("GRU", {}), ("GRU", {"reset_after": False}), ("SimpleRNN", {}),
                                         ("SimpleRNN", {"activation": "relu"}), ("LSTM", {}),
                                         ("GRU", {"use_bias": False})])
def test_layers_match_keras(rng, layer, extra, kw):
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    k, f = pair(layer, 6, build_shape=x.shape, **extra, **kw)
    check_parity(k, f, x, rng)


@pytest.mark.parametrize("layer,extra", [("GRU", {"activation": "relu"}), ("GRU", {"recurrent_activation": "tanh"}),
                                         ("SimpleRNN", {"activation": "gelu"}), ("LSTM", {"activation": "relu"})])
def test_non_default_activations_take_the_composed_path(rng, layer, extra):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    k, f = pair(layer, 5, build_shape=x.shape, return_sequences=True, **extra)
    check_parity(k, f, x, rng)


def _mask(rng, n, t):
    m = np.ones((n, t), bool)
    m[0, 3:] = False  # right padding
    m[1, :2] = False  # left padding
    m[2, 2] = False   # a hole
    return m


@pytest.mark.parametrize("kw", [{}, {"return_sequences": True}, {"return_state": True, "go_backwards": True},
                                {"return_sequences": True, "go_backwards": True}])
@pytest.mark.parametrize("layer", ["GRU", "SimpleRNN", "LSTM"])
def test_masks_match_keras(rng, layer, kw):
    x = rng.standard_normal((3, 6, 4)).astype(np.float32)
    mask = _mask(rng, 3, 6)
    k, f = pair(layer, 5, build_shape=x.shape, **kw)
    check_parity(k, f, x, rng, keras_kw={"mask": mask})
    assert (f.compute_mask(x, mask) is mask) == bool(kw.get("return_sequences"))


@pytest.mark.parametrize("layer,n_states", [("GRU", 1), ("SimpleRNN", 1), ("LSTM", 2)])
def test_initial_state_and_its_gradient(rng, layer, n_states):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    k, f = pair(layer, 5, build_shape=x.shape, return_sequences=True, return_state=True)
    s0 = [rng.standard_normal((2, 5)).astype(np.float32) for _ in range(n_states)]
    ts = [torch.tensor(s, requires_grad=True) for s in s0]
    ko = k(torch.tensor(x), initial_state=ts)
    ws = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in ko]
    sum((o * torch.tensor(w)).sum() for o, w in zip(ko, ws)).backward()
    fs = [Tensor(s, requires_grad=True) for s in s0]
    fo = f(Tensor(x), initial_state=fs)
    loss = None
    for o, w in zip(fo, ws):
        loss = (o * w).sum() if loss is None else loss + (o * w).sum()
    loss.backward()
    for a, b in zip(fo, ko):
        assert_close(a.data, b.detach().numpy())
    for a, b in zip(fs, ts):
        assert_close(a.grad, b.grad.numpy(), what="d initial state")
    with pytest.raises(ValueError, match=r"initial state h must have shape \(2, 5\), got \(2, 4\)"):
        f(x, initial_state=[np.zeros((2, 4), np.float32)] * n_states)


def test_variable_length_time_axis(rng):
    k, f = pair("GRU", 4, build_shape=(2, 3, 5), return_sequences=True)
    for t in (1, 7, 2):
        x = rng.standard_normal((2, t, 5)).astype(np.float32)
        assert_close(f(x), keras.ops.convert_to_numpy(k(x)))


@pytest.mark.parametrize("layer", ["GRU", "SimpleRNN", "LSTM"])
def test_stateful_carries_state_across_calls_and_resets(rng, layer):
    x1, x2 = (rng.standard_normal((2, 3, 4)).astype(np.float32) for _ in range(2))
    k, f = pair(layer, 5, build_shape=x1.shape, stateful=True)
    k.reset_states()
    f.reset_states()
    for x in (x1, x2):
        assert_close(f(x), keras.ops.convert_to_numpy(k(x)), what="stateful call")
    f.reset_states()
    k.reset_states()
    assert_close(f(x2), keras.ops.convert_to_numpy(k(x2)), what="after reset_states")
    plain = getattr(layers, layer)(5)
    plain(x2)
    plain.set_weights(f.get_weights())
    f.reset_states()
    assert_close(f(x2), plain(x2), what="a reset stateful layer starts from zeros")
    with pytest.raises(ValueError, match="batch size"):
        f(rng.standard_normal((3, 3, 4)).astype(np.float32))


def _set_masks(cell, dp, rdp):
    cell._dropout_mask = dp
    cell._recurrent_dropout_mask = rdp


@pytest.mark.parametrize("layer,count", [("GRU", 3), ("LSTM", 4), ("SimpleRNN", None)])
def test_dropout_and_recurrent_dropout_match_keras_with_the_same_masks(rng, layer, count):
    """Random masks cannot agree across libraries; handed the same masks, the training-time
    computation (Keras's implementation 1 for recurrent dropout: one mask per gate) must."""
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    k, f = pair(layer, 6, build_shape=x.shape, return_sequences=True, dropout=0.3, recurrent_dropout=0.4)

    def masks(shape, rate):
        one = lambda: ((rng.random(shape) >= rate) / (1 - rate)).astype(np.float32)  # noqa: E731
        return one() if count is None else [one() for _ in range(count)]

    dp, rdp = masks((3, 4), 0.3), masks((3, 6), 0.4)
    to_t = lambda m: None if m is None else ([torch.tensor(a) for a in m] if isinstance(m, list) else torch.tensor(m))  # noqa: E731
    _set_masks(k.cell, to_t(dp), to_t(rdp))
    ky = k(torch.tensor(x), training=True)
    _set_masks(f.cell, dp, rdp)
    fy = f(x, training=True)
    assert_close(fy, ky.detach().numpy(), what="training output")
    assert f.cell._dropout_mask is None and f.cell._recurrent_dropout_mask is None  # masks last one call
    assert_close(f(x), keras.ops.convert_to_numpy(k(x)), what="inference: no dropout")


def test_recurrent_dropout_trains_and_masks_differ_per_batch(rng):
    x = Tensor(rng.standard_normal((4, 6, 3)).astype(np.float32), requires_grad=True)
    f = layers.GRU(5, recurrent_dropout=0.5, seed=3, return_sequences=True)
    y1 = f(x, training=True)
    (y1 * 1.0).sum().backward()
    assert all(w.grad is not None and np.any(w.grad) for w in f.weights)
    assert not np.allclose(y1.data, f(x, training=True).data)  # new masks per call
    np.testing.assert_array_equal(f(x.data), f(x.data))  # inference is deterministic


# ---- RNN with cells ----------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["GRUCell", "LSTMCell", "SimpleRNNCell"])
@pytest.mark.parametrize("kw", [{"return_sequences": True, "return_state": True}, {"go_backwards": True}])
def test_rnn_with_builtin_cells_matches_keras(rng, cell, kw):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    k = keras.layers.RNN(getattr(keras.layers, cell)(5, bias_initializer="random_normal"), **kw)
    k(x)
    f = layers.RNN(getattr(layers, cell)(5), **kw)
    f(x)
    f.set_weights(k.get_weights())
    check_parity(k, f, x, rng)
    mask = _mask(rng, 3, 4)[:2]
    check_parity(k, f, x, rng, keras_kw={"mask": mask})


def _minimal_cell(base, ops):
    """The Keras guide's MinimalRNNCell, written once against either library."""

    class MinimalRNNCell(base):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                          name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="orthogonal",
                                                    name="recurrent_kernel")
            self.built = True

        def call(self, inputs, states):
            prev = states[0]
            out = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(prev, self.recurrent_kernel))
            return out, [out]

    return MinimalRNNCell


def test_rnn_with_a_custom_cell_matches_keras(rng):
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    KCell = _minimal_cell(keras.layers.Layer, keras.ops)
    FCell = _minimal_cell(layers.Layer, fops)
    k = keras.layers.RNN(KCell(6), return_sequences=True)
    k(x)
    f = layers.RNN(FCell(6), return_sequences=True)
    f(x)
    f.set_weights(k.get_weights())
    check_parity(k, f, x, rng)
    check_parity(k, f, x, rng, keras_kw={"mask": _mask(rng, 3, 5)})


def test_rnn_rejects_cells_without_state_size():
    class NoState(layers.Layer):
        def call(self, inputs, states):
            return inputs, states

    with pytest.raises(ValueError, match="state_size must be specified"):
        layers.RNN(NoState())
    assert isinstance(layers.RNN([layers.GRUCell(3), layers.GRUCell(3)]).cell, layers.StackedRNNCells)


# ---- Bidirectional and TimeDistributed ---------------------------------------------------------------

@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("inner", ["GRU", "LSTM"])
def test_bidirectional_merge_modes_match_keras(rng, merge_mode, inner):
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    mk = lambda lib: lib.Bidirectional(getattr(lib, inner)(6, return_sequences=True), merge_mode=merge_mode)  # noqa: E731
    k, f = mk(keras.layers), mk(layers)
    k(x)
    f(x)
    f.set_weights(k.get_weights())
    check_parity(k, f, x, rng)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_masks_states_and_backward_layer(rng, return_sequences):
    x = rng.standard_normal((3, 6, 4)).astype(np.float32)
    mask = _mask(rng, 3, 6)

    def mk(lib):
        fwd = lib.GRU(5, return_sequences=return_sequences, return_state=True)
        bwd = lib.SimpleRNN(5, return_sequences=return_sequences, return_state=True, go_backwards=True)
        return lib.Bidirectional(fwd, backward_layer=bwd)

    k, f = mk(keras.layers), mk(layers)
    k(x)
    f(x)
    f.set_weights(k.get_weights())
    check_parity(k, f, x, rng, keras_kw={"mask": mask})
    with pytest.raises(ValueError, match="different go_backwards"):
        layers.Bidirectional(layers.GRU(3), backward_layer=layers.GRU(3))
    with pytest.raises(ValueError, match="invalid merge_mode"):
        layers.Bidirectional(layers.GRU(3), merge_mode="max")


def test_bidirectional_initial_state(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    states = [rng.standard_normal((2, 5)).astype(np.float32) for _ in range(4)]
    mk = lambda lib: lib.Bidirectional(lib.LSTM(5, return_state=True))  # noqa: E731
    k, f = mk(keras.layers), mk(layers)
    k(x)
    f(x)
    f.set_weights(k.get_weights())
    ko = k(torch.tensor(x), initial_state=[torch.tensor(s) for s in states])
    fo = f(x, initial_state=states)
    assert len(fo) == len(ko) == 5
    for a, b in zip(fo, ko):
        assert_close(a, b.detach().numpy())


def test_time_distributed_dense_matches_keras(rng):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    k = keras.layers.TimeDistributed(keras.layers.Dense(6, activation="relu", bias_initializer="random_normal"))
    f = layers.TimeDistributed(layers.Dense(6, activation="relu"))
    k(x)
    f(x)
    f.set_weights(k.get_weights())
    check_parity(k, f, x, rng)
    with pytest.raises(ValueError, match="rank >= 3"):
        f(np.zeros((3, 5), np.float32))


def test_gru_into_time_distributed_stack_trains_like_keras(rng):
    """A short training run (SGD, full batch, no shuffling) in both libraries from the same weights."""
    x = rng.standard_normal((8, 5, 3)).astype(np.float32)
    y = rng.standard_normal((8, 5, 2)).astype(np.float32)

    def build(lib, mod):
        m = mod.Sequential([lib.Bidirectional(lib.GRU(4, return_sequences=True)),
                            lib.TimeDistributed(lib.Dense(2))])
        m.build((None, 5, 3)) if mod is keras else m(x)
        return m

    km, fm = build(keras.layers, keras), build(layers, forgenet.models)
    km(x)
    fm.set_weights(km.get_weights())
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    fm.compile(optimizer=forgenet.optimizers.SGD(learning_rate=0.1), loss="mse")
    kh = km.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
    fh = fm.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
    assert_close(fh, kh, rtol=1e-4, atol=1e-6, what="loss per epoch")
    for a, b in zip(fm.get_weights(), km.get_weights()):
        assert_close(a, b, rtol=1e-4, atol=1e-5, what="weights after training")


# ---- configs -----------------------------------------------------------------------------------------

def _config_layers():
    return [layers.GRU(4, reset_after=False, return_sequences=True, dropout=0.1, seed=2),
            layers.SimpleRNN(3, activation="relu", go_backwards=True), layers.LSTM(2, stateful=True),
            layers.RNN(layers.GRUCell(3), return_state=True), layers.RNN(layers.LSTMCell(2)),
            layers.RNN(layers.SimpleRNNCell(2, activation="sigmoid")),
            layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode="sum"),
            layers.Bidirectional(layers.GRU(3), backward_layer=layers.SimpleRNN(3, go_backwards=True)),
            layers.TimeDistributed(layers.Dense(3))]


@pytest.mark.parametrize("i", range(len(_config_layers())))
def test_get_config_round_trip(rng, i):
    layer = _config_layers()[i]
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    y = layer(x)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(x)
    clone.set_weights(layer.get_weights())
    if getattr(layer, "stateful", False):
        layer.reset_states()
        clone.reset_states()
        y = layer(x)
    for a, b in zip(as_list(clone(x)), as_list(y)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name,args", [("GRU", (4,)), ("SimpleRNN", (3,)), ("LSTM", (2,))])
def test_config_keys_are_keras(name, args):
    f = getattr(layers, name)(*args)
    k = getattr(keras.layers, name)(*args)
    assert set(f.get_config()) <= set(k.get_config()) | {"input_shape"}
    assert set(k.get_config()) - set(f.get_config()) <= {"dtype"}


def test_unroll_is_accepted_and_changes_nothing(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    a, b = layers.GRU(3, unroll=True), layers.GRU(3)
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x), b(x))
    assert a.get_config()["unroll"] is True


def test_weight_options_they_do_not_have_are_refused_not_ignored():
    # the ones they have (kernel/recurrent/bias, activity) are tested in test_rnn_weight_options.py
    with pytest.raises(TypeError, match="gamma_regularizer"):
        layers.GRU(3, gamma_regularizer="l2")
    with pytest.raises(ValueError, match="regularizer identifier: 'nope'"):
        layers.SimpleRNN(3, activity_regularizer="nope")


def test_model_with_recurrent_layers_saves_and_loads(rng, tmp_path):
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    m = forgenet.models.Sequential([
        layers.Bidirectional(layers.GRU(4, return_sequences=True, reset_after=False), merge_mode="ave"),
        layers.TimeDistributed(layers.Dense(3)), layers.RNN(layers.LSTMCell(3), return_sequences=True),
        layers.SimpleRNN(2, activation="relu")])
    y = m(x)
    path = str(tmp_path / "rnn.fgn")
    m.save(path)
    back = forgenet.models.load_model(path)
    np.testing.assert_array_equal(back(x), y)
    assert [type(l).__name__ for l in back.layers] == ["Bidirectional", "TimeDistributed", "RNN", "SimpleRNN"]
