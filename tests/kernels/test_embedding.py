import numpy as np
import pytest

import forgenet
from forgenet import _C, kernels

from support import assert_close


@pytest.mark.parametrize("ids_shape,vocab,dim", [((5,), 10, 3), ((4, 7), 50, 16), ((2, 3, 4), 7, 1), ((), 3, 5),
                                                 ((64, 40), 1000, 33)])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_forward_is_a_gather(rng, ids_shape, vocab, dim, dtype):
    ids = rng.integers(0, min(vocab, 256), ids_shape).astype(dtype)
    table = rng.standard_normal((vocab, dim)).astype(np.float32)
    out = kernels.embedding(ids, table)
    assert out.shape == ids_shape + (dim,) and out.dtype == np.float32
    np.testing.assert_array_equal(out, table[ids.astype(np.int64)])


@pytest.mark.parametrize("ids_shape,vocab,dim", [((6,), 4, 3), ((32, 20), 13, 24), ((3, 5), 100, 2), ((0, 4), 5, 3)])
def test_backward_accumulates_repeated_ids(rng, ids_shape, vocab, dim):
    ids = rng.integers(0, vocab, ids_shape)
    dy = rng.standard_normal(ids_shape + (dim,)).astype(np.float32)
    want = np.zeros((vocab, dim))
    np.add.at(want, ids.reshape(-1), dy.reshape(-1, dim).astype(np.float64))
    got = kernels.embedding_backward(dy, ids.astype(np.int32), vocab)
    assert got.shape == (vocab, dim)
    assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_backward_all_same_id_and_thread_independence(rng):
    ids = np.zeros((600, 50), np.int64)  # 1.2M floats: over the kernel's threshold for a second thread
    ids[::7] = 3
    dy = rng.standard_normal((600, 50, 40)).astype(np.float32)
    want = np.zeros((10, 40))
    np.add.at(want, ids.reshape(-1), dy.reshape(-1, 40).astype(np.float64))
    threads = forgenet.get_num_threads()
    try:
        forgenet.set_num_threads(1)
        one = kernels.embedding_backward(dy, ids, 10)
        forgenet.set_num_threads(2)
        two = kernels.embedding_backward(dy, ids, 10)
        table = rng.standard_normal((10, 40)).astype(np.float32)
        np.testing.assert_array_equal(kernels.embedding(ids, table), table[ids])  # the threaded gather
    finally:
        forgenet.set_num_threads(threads)
    np.testing.assert_array_equal(one, two)  # each row sums in id order whatever the thread count
    assert_close(one, want, rtol=1e-4, atol=1e-3)
    assert not one[4:].any() and not one[1:3].any()


def test_gradient_matches_finite_differences(rng):
    ids = np.array([[1, 2, 1], [0, 1, 3]])
    table = rng.standard_normal((5, 3))
    w = rng.standard_normal((2, 3, 3))
    got = kernels.embedding_backward(w.astype(np.float32), ids, 5)
    num = np.zeros_like(table)
    for idx in np.ndindex(*table.shape):
        p, m = table.copy(), table.copy()
        p[idx] += 1e-6
        m[idx] -= 1e-6
        num[idx] = ((p[ids] * w).sum() - (m[ids] * w).sum()) / 2e-6
    assert_close(got, num, rtol=1e-5, atol=1e-6)


def test_float_ids_are_a_type_error(rng):
    table = np.zeros((4, 2), np.float32)
    with pytest.raises(TypeError, match="embedding: ids must be integers, got float32"):
        kernels.embedding(np.array([0.0, 1.0], np.float32), table)
    with pytest.raises(TypeError, match="embedding_backward: ids must be integers, got float64"):
        kernels.embedding_backward(np.zeros((2, 2), np.float32), np.array([0.0, 1.0]), 4)
    with pytest.raises(TypeError, match="embedding: ids must be int64, got int32"):
        _C.embedding(np.array([0, 1], np.int32), table)
    with pytest.raises(TypeError, match="embedding: embeddings must be float32, got float64"):
        kernels.embedding(np.array([0, 1]), table.astype(np.float64))


@pytest.mark.parametrize("bad,where", [(4, 2), (-1, 0), (1000, 5)])
def test_ids_out_of_range_are_a_value_error(bad, where):
    ids = np.array([0, 1, 2, 3, 1, 0])
    ids[where] = bad
    table = np.ones((4, 2), np.float32)
    msg = rf"embedding: ids must be in \[0, 4\), got {bad} at flat index {where}"
    with pytest.raises(ValueError, match=msg):
        kernels.embedding(ids, table)
    with pytest.raises(ValueError, match=msg):
        _C.embedding(ids, table)
    with pytest.raises(ValueError, match=msg.replace("embedding:", "embedding_backward:")):
        kernels.embedding_backward(np.ones((6, 2), np.float32), ids, 4)
    with pytest.raises(ValueError, match=msg.replace("embedding:", "embedding_backward:")):
        _C.embedding_backward(np.ones((6, 2), np.float32), ids, 4)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"embedding: embeddings must have rank 2, got shape \(4,\)"):
        kernels.embedding(np.array([0]), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"embedding_backward: dy must have shape ids.shape \+ \(output_dim,\) "
                                         r"with ids \(2, 3\), got \(2, 4, 5\)"):
        kernels.embedding_backward(np.zeros((2, 4, 5), np.float32), np.zeros((2, 3), np.int64), 4)
    with pytest.raises(ValueError, match="embedding_backward: input_dim must be >= 0, got -1"):
        _C.embedding_backward(np.zeros((1, 2), np.float32), np.zeros(1, np.int64), -1)
