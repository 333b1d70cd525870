import gzip
import shutil
import warnings

import numpy as np
import pytest

from forgenet.datasets import mnist

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def write_idx(path, magic, dims, data: bytes, gz=False):
    raw = np.array([magic, *dims], dtype=">i4").tobytes() + data
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def write_set(d, n_train=5, n_test=3, gz=False, seed=0):
    """A tiny but valid set of the four files; returns what they hold."""
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(d / f"{split}-images-idx3-ubyte", 2051, (n, 28, 28), x.tobytes(), gz)
        write_idx(d / f"{split}-labels-idx1-ubyte", 2049, (n,), y.tobytes(), gz)
        arrays[split] = (x, y)
    return arrays


def check_same(loaded, arrays):
    (xtr, ytr), (xte, yte) = loaded
    np.testing.assert_array_equal(xtr, arrays["train"][0])
    np.testing.assert_array_equal(ytr, arrays["train"][1])
    np.testing.assert_array_equal(xte, arrays["t10k"][0])
    np.testing.assert_array_equal(yte, arrays["t10k"][1])


@pytest.fixture
def no_defaults(monkeypatch, tmp_path):
    """No $FORGENET_DATA, an empty HOME, and the 'said so' flag reset."""
    monkeypatch.delenv("FORGENET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(mnist, "_said_sample", False)
    return tmp_path


# --- the real files -------------------------------------------------------------------------------

@pytest.fixture
def real(shared_data):
    if not (shared_data / "mnist").is_dir():
        pytest.skip(f"{shared_data / 'mnist'} is not present on this machine")
    return shared_data / "mnist", mnist.load_data(shared_data / "mnist")


def test_real_files_shapes_dtypes_labels(real):
    _, ((xtr, ytr), (xte, yte)) = real
    assert xtr.shape == (60000, 28, 28) and ytr.shape == (60000,)
    assert xte.shape == (10000, 28, 28) and yte.shape == (10000,)
    for a in (xtr, ytr, xte, yte):
        assert a.dtype == np.uint8 and a.flags.c_contiguous
    assert ytr[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert yte[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(ytr, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(yte, minlength=10).tolist() == TEST_COUNTS
    assert xtr.min() == 0 and xtr.max() == 255
    assert abs(xtr.mean() - 33.318) < 1e-3 and abs(xte.mean() - 33.791) < 1e-3


def test_real_files_plain_equal_gz(real, tmp_path):
    src, loaded = real
    for gz in src.glob("*.gz"):
        with gzip.open(gz, "rb") as f, open(tmp_path / gz.stem, "wb") as out:
            shutil.copyfileobj(f, out)
    plain = mnist.load_data(str(tmp_path))  # a str path works as well as a Path
    for a, b in zip(sum(plain, ()), sum(loaded, ())):
        np.testing.assert_array_equal(a, b)


def test_bundled_sample_is_real_mnist(real):
    """The sample holds exactly the images and labels at its recorded indices."""
    _, ((xtr, ytr), (xte, yte)) = real
    with np.load(mnist.SAMPLE) as z:
        tr, te = z["train_indices"], z["test_indices"]
        np.testing.assert_array_equal(z["x_train"], xtr[tr])
        np.testing.assert_array_equal(z["y_train"], ytr[tr])
        np.testing.assert_array_equal(z["x_test"], xte[te])
        np.testing.assert_array_equal(z["y_test"], yte[te])


# --- formats and where files are looked for ------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
def test_small_set_round_trip(tmp_path, gz):
    arrays = write_set(tmp_path / "m", gz=gz)
    check_same(mnist.load_data(tmp_path / "m"), arrays)


def test_plain_preferred_when_both_present(tmp_path):
    plain = write_set(tmp_path / "m", seed=1)
    write_set(tmp_path / "m", gz=True, seed=2)
    check_same(mnist.load_data(tmp_path / "m"), plain)


def test_env_var_then_home(no_defaults, monkeypatch):
    tmp = no_defaults
    home_set = write_set(tmp / "home" / ".forgenet" / "datasets" / "mnist", seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a full copy is found: no sample warning
        check_same(mnist.load_data(), home_set)
        env_set = write_set(tmp / "env" / "mnist", gz=True, seed=2)
        monkeypatch.setenv("FORGENET_DATA", str(tmp / "env"))
        check_same(mnist.load_data(), env_set)  # $FORGENET_DATA wins over HOME


def test_env_var_without_files_falls_back_to_home(no_defaults, monkeypatch):
    tmp = no_defaults
    home_set = write_set(tmp / "home" / ".forgenet" / "datasets" / "mnist")
    (tmp / "env" / "mnist").mkdir(parents=True)
    monkeypatch.setenv("FORGENET_DATA", str(tmp / "env"))
    check_same(mnist.load_data(), home_set)


def test_bundled_sample_fallback_says_so_once(no_defaults, monkeypatch):
    monkeypatch.setenv("FORGENET_DATA", str(no_defaults / "nothing-here"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (xtr, ytr), (xte, yte) = mnist.load_data()
        again = mnist.load_data()
    said = [w for w in caught if "bundled sample" in str(w.message)]
    assert len(said) == 1, [str(w.message) for w in caught]
    assert "nothing-here" in str(said[0].message)
    assert xtr.shape == (6000, 28, 28) and ytr.shape == (6000,)
    assert xte.shape == (1000, 28, 28) and yte.shape == (1000,)
    assert all(a.dtype == np.uint8 for a in (xtr, ytr, xte, yte))
    assert np.bincount(ytr, minlength=10).tolist() == [600] * 10
    assert np.bincount(yte, minlength=10).tolist() == [100] * 10
    assert 0 < xtr.mean() < 255 and xtr.max() == 255
    np.testing.assert_array_equal(again[0][0], xtr)


def test_partial_copy_is_not_a_full_copy(no_defaults):
    d = no_defaults / "home" / ".forgenet" / "datasets" / "mnist"
    write_set(d)
    (d / "t10k-labels-idx1-ubyte").unlink()
    with pytest.warns(UserWarning, match="bundled sample"):
        (xtr, _), _ = mnist.load_data()
    assert len(xtr) == 6000


# --- bad files ------------------------------------------------------------------------------------

def test_explicit_path_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"lacks train-images-idx3-ubyte\[\.gz\].*t10k-labels"):
        mnist.load_data(tmp_path / "empty")
    write_set(tmp_path / "m")
    (tmp_path / "m" / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks t10k-images-idx3-ubyte\[\.gz\] \("):
        mnist.load_data(tmp_path / "m")


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_images(tmp_path, gz):
    write_set(tmp_path / "m")
    p = tmp_path / "m" / "train-images-idx3-ubyte"
    raw = p.read_bytes()[:-100]
    p.unlink()
    if gz:
        with gzip.open(str(p) + ".gz", "wb") as f:
            f.write(raw)
    else:
        p.write_bytes(raw)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte(\.gz)? is truncated: "
                                         r"header \(5, 28, 28\) means 3936 bytes, got 3836"):
        mnist.load_data(tmp_path / "m")


def test_truncated_gzip_stream(tmp_path):
    write_set(tmp_path / "m", gz=True)
    p = tmp_path / "m" / "t10k-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-12])
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz is not a readable gzip file"):
        mnist.load_data(tmp_path / "m")


def test_truncated_header(tmp_path):
    write_set(tmp_path / "m")
    (tmp_path / "m" / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08")
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte is truncated: expected a 8-byte header, got 3"):
        mnist.load_data(tmp_path / "m")


def test_longer_than_header(tmp_path):
    write_set(tmp_path / "m")
    p = tmp_path / "m" / "t10k-labels-idx1-ubyte"
    p.write_bytes(p.read_bytes() + b"\x01")
    with pytest.raises(ValueError, match=r"longer than its header says: header \(3,\) means 11 bytes, got 12"):
        mnist.load_data(tmp_path / "m")


def test_wrong_magic(tmp_path):
    write_set(tmp_path / "m")
    # labels where images belong: magic 2049 in the images slot
    shutil.copy(tmp_path / "m" / "train-labels-idx1-ubyte", tmp_path / "m" / "train-images-idx3-ubyte")
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte has magic number 2049, expected 2051"):
        mnist.load_data(tmp_path / "m")


def test_wrong_image_size(tmp_path):
    write_set(tmp_path / "m")
    write_idx(tmp_path / "m" / "t10k-images-idx3-ubyte", 2051, (3, 32, 32), bytes(3 * 32 * 32))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte holds images of 32x32, expected 28x28"):
        mnist.load_data(tmp_path / "m")


def test_mismatched_counts(tmp_path):
    write_set(tmp_path / "m")
    write_idx(tmp_path / "m" / "train-labels-idx1-ubyte", 2049, (4,), bytes(4))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte holds 5 images but "
                                         r"train-labels-idx1-ubyte holds 4 labels"):
        mnist.load_data(tmp_path / "m")
