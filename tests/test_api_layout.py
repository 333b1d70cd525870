"""The two namespaces (design notes section 2): forgenet.kernels on arrays, forgenet.ops (keras.ops) on
arrays and Tensors. Neither may hand back a plain array for a Tensor: that would silently cut the graph."""
import numpy as np
import pytest

import forgenet
from forgenet import kernels, ops
from forgenet.autograd import Tensor, Variable


def test_kernels_refuse_tensors():
    t = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with pytest.raises(TypeError, match=r"softmax: x is a forgenet Tensor.*forgenet\.ops"):
        kernels.softmax(t)
    with pytest.raises(TypeError, match="gemm: a is a forgenet Tensor"):
        kernels.gemm(t, np.ones((3, 2), np.float32))


def test_ops_keep_the_graph():
    v = Variable(np.array([[1.0, 2.0, 3.0]], np.float32))
    y = ops.sum(ops.softmax(v) * np.array([[1.0, 0.0, 0.0]], np.float32))
    assert isinstance(y, Tensor)
    y.backward()
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(v.grad[0], p[0] * (np.eye(3)[0] - p), rtol=1e-5)


def test_ops_on_arrays_return_arrays():
    out = ops.matmul(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))
    assert isinstance(out, np.ndarray) and out.shape == (2, 4) and float(out[0, 0]) == 3.0
    assert isinstance(ops.relu(np.array([-1.0, 2.0], np.float32)), np.ndarray)
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.convert_to_tensor([1.0, 2.0])), [1.0, 2.0])


def test_top_level_names():
    assert forgenet.kernels is kernels and forgenet.ops is ops
    assert callable(kernels.attention) and callable(kernels.lstm_backward)
