"""StackedRNNCells and RNN([cells]): the same outputs, returned states (nested per cell, as Keras) and
gradients as Keras, nested initial states, config round trip and saving."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

import forgenet
from forgenet import layers

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

from test_recurrent import _mask, check_parity  # noqa: E402


def _cells(K):
    return [K.layers.LSTMCell(4, bias_initializer="random_normal" if K is keras else "zeros"),
            K.layers.GRUCell(3, bias_initializer="random_normal" if K is keras else "zeros"),
            K.layers.SimpleRNNCell(5)]


class Flat:
    """A layer whose nested outputs come back as one flat list (for check_parity)."""

    def __init__(self, layer):
        self.layer = layer

    @property
    def weights(self):
        return self.layer.weights

    def __call__(self, *args, **kwargs):
        out = self.layer(*args, **kwargs)
        if not isinstance(out, (list, tuple)):
            return out
        flat = []
        for o in out:
            flat.extend(o if isinstance(o, (list, tuple)) else [o])
        return flat


def _pair(x, as_list, **kw):
    wrap = (lambda c: c) if as_list else (lambda c, K: K.layers.StackedRNNCells(c))
    k = keras.layers.RNN(_cells(keras) if as_list else wrap(_cells(keras), keras), **kw)
    f = layers.RNN(_cells(forgenet) if as_list else wrap(_cells(forgenet), forgenet), **kw)
    k(x), f(x)
    assert [w.shape for w in f.get_weights()] == [tuple(w.shape) for w in k.get_weights()]
    f.set_weights(k.get_weights())
    return k, f


@pytest.mark.parametrize("as_list", [False, True])
@pytest.mark.parametrize("kw", [{}, {"return_sequences": True, "return_state": True}, {"go_backwards": True,
                                                                                        "return_state": True}])
def test_stacked_cells_match_keras(rng, as_list, kw):
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    k, f = _pair(x, as_list, **kw)
    assert isinstance(f.cell, layers.StackedRNNCells)
    assert f.cell.state_size == [[4, 4], 3, 5] == list(k.cell.state_size)
    if kw.get("return_state"):
        assert len(f(x)) == len(k(x)) == 4 and len(f(x)[1]) == len(k(x)[1]) == 2
    check_parity(Flat(k), Flat(f), x, rng)
    check_parity(Flat(k), Flat(f), x, rng, keras_kw={"mask": _mask(rng, 3, 5)})


def test_initial_state_nested_as_keras(rng):
    x = rng.standard_normal((2, 4, 2)).astype(np.float32)
    k, f = _pair(x, False, return_state=True)
    init = [rng.standard_normal((2, n)).astype(np.float32) for n in (4, 4, 3, 5)]
    ko = k(x, initial_state=[[torch.tensor(init[0]), torch.tensor(init[1])], torch.tensor(init[2]), torch.tensor(init[3])])
    nested = [init[:2], init[2], init[3]]
    fo = f(x, initial_state=nested)
    assert len(fo) == len(ko) == 4 and len(fo[1]) == 2  # output, [h, c], h, h: Keras's nesting
    flat = lambda o: [o[0], *o[1], o[2], o[3]]  # noqa: E731
    for a, b in zip(flat(fo), flat(ko)):
        np.testing.assert_allclose(np.asarray(a), keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-6)


def test_direct_cell_call_takes_nested_states(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    kc, fc = keras.layers.StackedRNNCells(_cells(keras)), layers.StackedRNNCells(_cells(forgenet))
    kc.build((2, 3)), fc.build((2, 3))
    fc.set_weights(kc.get_weights())
    states = [[rng.standard_normal((2, 4)).astype(np.float32)] * 2, rng.standard_normal((2, 3)).astype(np.float32),
              rng.standard_normal((2, 5)).astype(np.float32)]
    ky, kst = kc(torch.tensor(x), [[torch.tensor(s) for s in states[0]], torch.tensor(states[1]),
                                   torch.tensor(states[2])])
    fy, fst = fc(x, states)
    np.testing.assert_allclose(np.asarray(fy), keras.ops.convert_to_numpy(ky), rtol=1e-5, atol=1e-6)
    assert len(fst) == 3 and len(fst[0]) == 2
    np.testing.assert_allclose(np.asarray(fst[1]), keras.ops.convert_to_numpy(kst[1]), rtol=1e-5, atol=1e-6)
    assert fc.output_size == 5


def test_config_round_trip_and_saving(rng, tmp_path):
    x = rng.standard_normal((2, 4, 2)).astype(np.float32)
    k, f = _pair(x, True, return_sequences=True)
    cfg = f.get_config()
    assert [c["class_name"] for c in cfg["cell"]["config"]["cells"]] == ["LSTMCell", "GRUCell", "SimpleRNNCell"]
    again = layers.RNN.from_config(cfg)
    again(x)
    again.set_weights(f.get_weights())
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(f(x)), rtol=1e-6)
    m = forgenet.Sequential([forgenet.Input(shape=(4, 2)), f])
    path = str(tmp_path / "stacked.keras")
    m.save(path)
    back = forgenet.models.load_model(path)
    np.testing.assert_allclose(np.asarray(back.predict(x, verbose=0)), np.asarray(m.predict(x, verbose=0)), rtol=1e-6)


def test_bad_cells():
    with pytest.raises(ValueError, match="cells must be a non-empty list"):
        layers.StackedRNNCells([])
    with pytest.raises(ValueError, match="must have a `state_size`"):
        layers.StackedRNNCells([layers.Dense(3)])
