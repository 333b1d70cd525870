"""A layer fed only constants inside another layer's call (Embedding(ops.arange(...)) for positions,
as the Keras Transformer example writes it) still trains: its weights get gradients, as in Keras.
Outside any call, a layer on plain arrays stays an eager array-in, array-out computation."""
import numpy as np

import forgenet
from forgenet import layers, ops
from forgenet.autograd import Tensor


class WithPositions(layers.Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.tok = layers.Embedding(10, 4)
        self.pos = layers.Embedding(6, 4)

    def call(self, x):
        return self.tok(x) + self.pos(ops.arange(0, x.shape[-1], 1))


def test_position_embedding_on_constants_gets_gradients():
    layer = WithPositions()
    x = np.arange(12).reshape(2, 6) % 10
    y = layer(Tensor(x))
    (y * y).sum().backward()
    assert layer.pos.embeddings.grad is not None and np.abs(layer.pos.embeddings.grad).sum() > 0
    # the gradient is the sum over the batch of 2 * output, row by row
    np.testing.assert_allclose(layer.pos.embeddings.grad, 2 * np.asarray(y.data).sum(0), rtol=1e-5)


def test_trains_in_fit_and_eager_calls_stay_arrays():
    m = forgenet.Sequential([forgenet.Input(shape=(6,), dtype="int32"), WithPositions(), layers.Flatten(),
                             layers.Dense(1)])
    before = m.layers[0].pos.embeddings.numpy().copy()
    m.compile(optimizer=forgenet.optimizers.SGD(0.1), loss="mse")
    m.fit(np.arange(12).reshape(2, 6) % 10, np.ones((2, 1), np.float32), epochs=1, verbose=0)
    assert not np.allclose(m.layers[0].pos.embeddings.numpy(), before)
    out = layers.Embedding(6, 3)(np.arange(4))
    assert isinstance(out, np.ndarray)
