"""The Keras-format dataset loaders on small files made here (no network): imdb, reuters, fashion_mnist,
cifar10, boston_housing; the lookup order, the missing-file message, and the restricted unpickler."""
import gzip
import os
import pickle

import numpy as np
import pytest

from forgenet.datasets import boston_housing, cifar10, fashion_mnist, imdb, reuters
from forgenet.datasets._safe_pickle import load_npz

R = np.random.default_rng(0)


def _obj(seqs):
    a = np.empty(len(seqs), dtype=object)
    a[:] = seqs
    return a


def _seqs(n, vocab=30):
    return [list(map(int, R.integers(1, vocab, R.integers(2, 9)))) for _ in range(n)]


def _keras_reference(xs, labels, seed_rng_shuffled, num_words=None, skip_top=0, maxlen=None, start_char=1,
                     oov_char=2, index_from=3):
    """Keras's imdb/reuters processing of already-shuffled sequences (keras/src/datasets/imdb.py)."""
    xs = [[start_char] + [w + index_from for w in x] for x in xs]
    if maxlen:
        keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
        xs, labels = [xs[i] for i in keep], labels[keep]
    return xs, labels


def test_imdb(tmp_path):
    xtr, xte = _seqs(12), _seqs(8)
    ytr, yte = R.integers(0, 2, 12), R.integers(0, 2, 8)
    np.savez(tmp_path / "imdb.npz", x_train=_obj(xtr), y_train=ytr, x_test=_obj(xte), y_test=yte)
    (a, b), (c, d) = imdb.load_data(path=tmp_path / "imdb.npz")
    rng = np.random.RandomState(113)
    i = np.arange(12)
    rng.shuffle(i)
    j = np.arange(8)
    rng.shuffle(j)
    top = max(w + 3 for x in xtr + xte for w in x)  # Keras's num_words default: the largest id, itself then oov

    def ref(x):
        return [1] + [w + 3 if w + 3 < top else 2 for w in x]
    assert [list(x) for x in a] == [ref(xtr[k]) for k in i]
    np.testing.assert_array_equal(b, ytr[i])
    assert [list(x) for x in c] == [ref(xte[k]) for k in j]
    np.testing.assert_array_equal(d, yte[j])
    (a, _), (c, _) = imdb.load_data(path=tmp_path / "imdb.npz", num_words=10, skip_top=4, maxlen=8)
    for x in list(a) + list(c):
        assert len(x) < 8 and all(w == 2 or 4 <= w < 10 for w in x)
    (a, _), _ = imdb.load_data(path=tmp_path / "imdb.npz", num_words=10, oov_char=None, start_char=None,
                               index_from=0)
    assert all(all(w < 10 for w in x) for x in a)


def test_reuters_and_word_index(tmp_path):
    xs, ys = _seqs(20), R.integers(0, 46, 20)
    np.savez(tmp_path / "reuters.npz", x=_obj(xs), y=ys)
    (a, b), (c, d) = reuters.load_data(path=str(tmp_path / "reuters.npz"), test_split=0.25)
    assert len(a) == 15 and len(c) == 5
    rng = np.random.RandomState(113)
    i = np.arange(20)
    rng.shuffle(i)
    np.testing.assert_array_equal(np.concatenate([b, d]), ys[i])
    top = max(w + 3 for x in xs for w in x)
    assert list(a[0]) == [1] + [w + 3 if w + 3 < top else 2 for w in xs[i[0]]]
    (tmp_path / "reuters_word_index.json").write_text('{"the": 1, "of": 2}')
    assert reuters.get_word_index(path=tmp_path / "reuters_word_index.json") == {"the": 1, "of": 2}
    assert len(reuters.get_label_names()) == 46


def _idx_gz(path, arr, magic, dims):
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in dims)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def test_fashion_mnist(tmp_path):
    xtr, ytr = R.integers(0, 256, (7, 28, 28)), R.integers(0, 10, 7)
    xte, yte = R.integers(0, 256, (3, 28, 28)), R.integers(0, 10, 3)
    _idx_gz(tmp_path / "train-images-idx3-ubyte.gz", xtr, 2051, xtr.shape)
    _idx_gz(tmp_path / "train-labels-idx1-ubyte.gz", ytr, 2049, ytr.shape)
    _idx_gz(tmp_path / "t10k-images-idx3-ubyte.gz", xte, 2051, xte.shape)
    _idx_gz(tmp_path / "t10k-labels-idx1-ubyte.gz", yte, 2049, yte.shape)
    (a, b), (c, d) = fashion_mnist.load_data(path=tmp_path)
    assert a.dtype == np.uint8 and a.shape == (7, 28, 28)
    np.testing.assert_array_equal(a, xtr)
    np.testing.assert_array_equal(b, ytr)
    np.testing.assert_array_equal(c, xte)
    np.testing.assert_array_equal(d, yte)


def test_cifar10(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = R.integers(0, 256, (4, 3072)).astype(np.uint8)
        labels = list(map(int, R.integers(0, 10, 4)))
        batches.append((data, labels))
        with open(folder / name, "wb") as f:  # as the original: bytes keys (pickled by Python 2)
            pickle.dump({b"batch_label": b"x", b"labels": labels, b"data": data, b"filenames": [b"a"] * 4}, f)
    (a, b), (c, d) = cifar10.load_data(path=folder)
    assert a.shape == (20, 32, 32, 3) and b.shape == (20, 1) and c.shape == (4, 32, 32, 3) and d.dtype == np.uint8
    np.testing.assert_array_equal(a[5], batches[1][0][1].reshape(3, 32, 32).transpose(1, 2, 0))
    assert b[5, 0] == batches[1][1][1] and list(d[:, 0]) == batches[5][1]


def test_boston_housing(tmp_path):
    x, y = R.standard_normal((10, 13)), R.standard_normal(10)
    np.savez(tmp_path / "boston_housing.npz", x=x, y=y)
    (a, b), (c, d) = boston_housing.load_data(path=tmp_path / "boston_housing.npz")
    i = np.arange(10)
    np.random.RandomState(113).shuffle(i)
    np.testing.assert_array_equal(np.concatenate([a, c]), x[i])
    np.testing.assert_array_equal(np.concatenate([b, d]), y[i])
    assert len(a) == 8


def test_search_order_and_missing_file_message(tmp_path, monkeypatch):
    monkeypatch.setenv("FORGENET_DATA", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match=r"(?s)boston_housing.npz was not found.*does not download"):
        boston_housing.load_data()
    (tmp_path / "boston_housing").mkdir()
    np.savez(tmp_path / "boston_housing" / "boston_housing.npz", x=np.zeros((5, 13)), y=np.zeros(5))
    (a, _), _ = boston_housing.load_data()
    assert a.shape == (4, 13)
    with pytest.raises(FileNotFoundError, match=r"(?s)imdb.npz.*" + str(tmp_path / "imdb")):
        imdb.load_data()


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_tampered_pickles_are_refused(tmp_path):
    np.savez(tmp_path / "imdb.npz", x_train=_obj([_Evil()]), y_train=np.zeros(1), x_test=_obj([[1]]),
             y_test=np.zeros(1))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load posix.system|refusing to load os.system"):
        imdb.load_data(path=tmp_path / "imdb.npz")
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump({b"data": _Evil()}, f)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        cifar10.load_data(path=folder)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_npz(tmp_path / "bad.npz")
