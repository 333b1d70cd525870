"""The autograd engine: every Function's backward against central finite differences in float64
arithmetic on the same graph, plus the engine's bookkeeping (fan-out, multiple outputs, no_grad)."""
import numpy as np
import pytest

import forgenet
from forgenet import functional as F
from forgenet.autograd import Function, Tensor, Variable, no_grad
from forgenet.layers import Layer

from support import assert_close, numeric_grad


def check_grads(build, *arrays, rtol=2e-2, atol=2e-3):
    """build(*tensors) -> scalar Tensor; compares autograd grads of every input with finite differences."""
    tensors = [Variable(a) for a in arrays]
    build(*tensors).backward()
    for t, a in zip(tensors, arrays):
        def f():
            with no_grad():
                return float(build(*[Tensor(b) for b in arrays]).data)
        assert_close(t.grad, numeric_grad(f, a), rtol=rtol, atol=atol)


def arr(rng, *shape, lo=None):
    a = rng.standard_normal(shape).astype(np.float32)
    return np.abs(a) + lo if lo is not None else a


def test_arithmetic_with_broadcasting(rng):
    check_grads(lambda a, b: ((a + b) * a - b / (a * a + 1.0)).sum(), arr(rng, 3, 4), arr(rng, 4))
    check_grads(lambda a, b: (2.0 - a * b).mean() + (a ** 2).sum(), arr(rng, 2, 3, 1), arr(rng, 3, 5))


def test_matmul_reshape_transpose_getitem(rng):
    check_grads(lambda a, w: (a @ w).reshape(-1).sum() + (a.transpose(1, 0, 2)[0] * 2).sum(),
                arr(rng, 2, 3, 4), arr(rng, 4, 5))
    check_grads(lambda a: (a[:, 1:3] * a[:, 0:2]).sum(), arr(rng, 3, 4))


def test_activations(rng):
    x = arr(rng, 4, 6) * 3
    for act in (F.relu, F.sigmoid, F.tanh, F.gelu):
        w = arr(rng, 4, 6)
        check_grads(lambda a: (act(a) * Tensor(w)).sum(), x.copy())
    w = arr(rng, 4, 6)
    check_grads(lambda a: (F.softmax(a) * Tensor(w)).sum(), x.copy())
    check_grads(lambda a: (F.softmax(a, axis=0) * Tensor(w)).sum(), x.copy())


def test_gelu_matches_exact_erf():
    import math

    x = np.linspace(-6, 6, 101).astype(np.float32)
    ref = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    assert_close(F.gelu(Tensor(x)).data, ref, rtol=1e-5, atol=1e-6)


def test_sigmoid_saturates_without_overflow():
    with np.errstate(over="raise", invalid="raise"):
        y = F.sigmoid(Tensor(np.array([-1000.0, 0.0, 1000.0], np.float32))).data
    assert_close(y, [0.0, 0.5, 1.0], atol=1e-7)


def test_softmax_cross_entropy_and_logits_detection(rng):
    labels = np.array([1, 0, 2])
    check_grads(lambda z: F.softmax_cross_entropy(z, labels).mean(), arr(rng, 3, 4))
    z = Tensor(arr(rng, 3, 4))
    assert F.softmax_logits(F.softmax(z)) is z
    assert F.softmax_logits(F.softmax(z, axis=0)) is None
    with no_grad():  # evaluate() also takes the logits path
        assert F.softmax_logits(F.softmax(z)) is z


def test_fan_out_and_concatenate(rng):
    check_grads(lambda a, b: (F.concatenate([a, b, a], axis=1) * F.concatenate([b, a, b], axis=1)).sum(),
                arr(rng, 2, 3), arr(rng, 2, 3))


def test_multiple_outputs_only_some_used(rng):
    class Split(Function):
        def forward(self, x):
            return x * 2, x * 3

        def backward(self, g1, g2):
            g = 0
            if g1 is not None:
                g = g + 2 * g1
            if g2 is not None:
                g = g + 3 * g2
            return g

    x = Variable(arr(rng, 3))
    a, b = Split.apply(x)
    (b * 1.0).sum().backward()
    assert_close(x.grad, np.full(3, 3.0))


def test_no_grad_records_nothing(rng):
    w = Variable(arr(rng, 3))
    with no_grad():
        y = (w * 2).sum()
    assert y._node is None and not y.requires_grad


def test_backward_needs_grad_for_non_scalar(rng):
    with pytest.raises(ValueError, match="backward: grad must be given"):
        (Variable(arr(rng, 3)) * 2).backward()


class Residual(Layer):
    """A user layer: residual block composed from differentiable functions, no backward written."""

    def build(self, input_shape):
        self.w = self.add_weight((input_shape[-1], input_shape[-1]), name="w")
        self.b = self.add_weight((input_shape[-1],), initializer="zeros", name="b")

    def call(self, x):
        return x + F.tanh(x @ self.w + self.b)


class Stack(Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.blocks = [Residual(), Residual()]

    def call(self, x, training=False):
        for blk in self.blocks:
            x = blk(x)
        return x * 0.5 if training else x


def test_user_layer_composition_gradients(rng):
    forgenet.utils.set_random_seed(1)
    layer = Stack()
    x = arr(rng, 4, 5)
    out = layer(x)  # arrays in -> arrays out, builds the weights
    assert isinstance(out, np.ndarray) and out.shape == (4, 5)
    assert [w.shape for w in layer.weights] == [(5, 5), (5,), (5, 5), (5,)]
    assert len(layer.trainable_weights) == 4
    w0 = layer.weights[0]
    loss = (layer(Tensor(x), training=True) ** 2).sum()
    loss.backward()
    ref = w0.numpy().astype(np.float64)

    def f():
        with no_grad():
            return float((layer(Tensor(x), training=True) ** 2).sum().data)

    num = numeric_grad(f, w0.data)
    assert_close(w0.grad, num, rtol=2e-2, atol=2e-3)
    assert_close(w0.numpy(), ref)


def test_set_weights_validates(rng):
    layer = Residual()
    layer(arr(rng, 2, 3))
    with pytest.raises(ValueError, match=r"expected a list of 2 arrays"):
        layer.set_weights([np.zeros((3, 3))])
    with pytest.raises(ValueError, match=r"expects shape \(3, 3\), got \(4, 3\)"):
        layer.set_weights([np.zeros((4, 3)), np.zeros(3)])
    layer.set_weights([np.eye(3), np.ones(3)])
    assert_close(layer.get_weights()[1], np.ones(3))


def test_unknown_layer_kwarg():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Residual"):
        Residual(bogus=1)


def test_assign_copies_and_float_conversion():
    v = Variable(np.zeros(3, np.float32))
    src = np.ones(3, np.float32)
    v.assign(src)
    v.data += 1  # an in-place optimizer update
    assert src[0] == 1.0
    assert float((v * 1.0).sum()) == 6.0
    with pytest.raises(TypeError, match="one element"):
        float(v)


def test_layer_call_keeps_python_flags(rng):
    seen = {}

    class Flagged(Layer):
        def call(self, x, scale=1.0, flip=False):
            seen["flip"], seen["scale"] = flip, scale
            return x * scale

    Flagged()(arr(rng, 2, 2), scale=2.0, flip=True)
    assert seen["flip"] is True and seen["scale"] == 2.0
