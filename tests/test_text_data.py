import gzip
import warnings

import numpy as np
import pytest

from forgenet.datasets import _common, tiny_shakespeare as ts
from forgenet.utils import CharVocabulary

VOCAB65 = "\n !$&',-.3:;?" + "".join(map(chr, range(65, 91))) + "".join(map(chr, range(97, 123)))


@pytest.fixture
def no_defaults(monkeypatch, tmp_path):
    """No $FORGENET_DATA, an empty HOME, and the 'said so' memory cleared."""
    monkeypatch.delenv("FORGENET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(_common, "_said", set())
    return tmp_path


@pytest.fixture
def real_text(shared_data):
    p = shared_data / "tinyshakespeare" / "input.txt"
    if not p.is_file():
        pytest.skip(f"{p} is not present on this machine")
    return p


# --- the real text -------------------------------------------------------------------------------

def test_real_text_facts(real_text):
    text = ts.load_data(real_text)
    assert len(text) == 1_115_394 and text.count("\n") == 40_000
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    vocab = CharVocabulary(text)
    assert vocab.size == len(vocab) == 65
    assert "".join(vocab.vocabulary) == VOCAB65
    assert ts.load_data(real_text.parent) == text  # a folder holding input.txt works too
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (1_115_394,) and ids.min() == 0 and ids.max() == 64
    assert vocab.decode(ids) == text


def test_bundled_excerpt_is_the_start_of_the_text(real_text):
    full = ts.load_data(real_text)
    excerpt = ts.load_excerpt()
    assert 100_000 <= len(excerpt) <= 200_000
    assert full.startswith(excerpt) and excerpt.endswith("\n")


# --- where the text is looked for ----------------------------------------------------------------

def test_env_var_then_home(no_defaults, monkeypatch):
    tmp = no_defaults
    home = tmp / "home" / ".forgenet" / "datasets" / "tinyshakespeare"
    home.mkdir(parents=True)
    (home / "input.txt").write_text("from home\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a full copy is found: no excerpt warning
        assert ts.load_data() == "from home\n"
        (tmp / "env" / "tinyshakespeare").mkdir(parents=True)
        monkeypatch.setenv("FORGENET_DATA", str(tmp / "env"))
        assert ts.load_data() == "from home\n"  # an env folder without input.txt is passed over
        (tmp / "env" / "tinyshakespeare" / "input.txt").write_bytes(b"from env\r\n")
        assert ts.load_data() == "from env\r\n"  # $FORGENET_DATA wins; bytes kept as they are


def test_bundled_excerpt_fallback_says_so_once(no_defaults, monkeypatch):
    monkeypatch.setenv("FORGENET_DATA", str(no_defaults / "nothing-here"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = ts.load_data()
        again = ts.load_data()
    said = [w for w in caught if "bundled excerpt" in str(w.message)]
    assert len(said) == 1, [str(w.message) for w in caught]
    assert "nothing-here" in str(said[0].message)
    assert text == again and text.startswith("First Citizen:\nBefore we proceed any further")
    assert 100_000 <= len(text) <= 200_000
    assert set(text) <= set(VOCAB65)


def test_explicit_path(tmp_path):
    (tmp_path / "t.txt").write_text("abc")
    assert ts.load_data(str(tmp_path / "t.txt")) == "abc"
    with gzip.open(tmp_path / "t.txt.gz", "wb") as f:
        f.write("héllo\n".encode())
    assert ts.load_data(tmp_path / "t.txt.gz") == "héllo\n"


def test_explicit_path_missing(tmp_path, no_defaults):
    with pytest.raises(FileNotFoundError, match=r"nope\.txt does not exist"):
        ts.load_data(tmp_path / "nope.txt")
    (tmp_path / "d").mkdir()
    with pytest.raises(FileNotFoundError, match=r"d/input\.txt does not exist \(pass the text file, or a folder"):
        ts.load_data(tmp_path / "d")


def test_bad_files(tmp_path):
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(ValueError, match=r"bin\.txt is not UTF-8 text"):
        ts.load_data(tmp_path / "bin.txt")
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match=r"bad\.gz is not a readable gzip file"):
        ts.load_data(tmp_path / "bad.gz")


# --- the vocabulary ------------------------------------------------------------------------------

def test_vocabulary_round_trip():
    text = "hello, world\nüñí ✓ 😀 hello"
    v = CharVocabulary(text)
    assert v.vocabulary == sorted(set(text)) and len(v) == len(set(text))
    ids = v.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert [v.vocabulary[i] for i in ids] == list(text)
    assert v.decode(ids) == text
    assert v.decode(ids.astype(np.int32).tolist()) == text
    assert v.decode(np.int64(ids[0])) == text[0]
    assert v.encode("") .shape == (0,) and v.decode([]) == ""
    w = CharVocabulary.from_vocabulary(v.vocabulary)
    np.testing.assert_array_equal(w.encode(text), ids)
    rev = CharVocabulary.from_vocabulary("cba")
    assert rev.encode("abc").tolist() == [2, 1, 0] and rev.decode([0, 1]) == "cb"


def test_vocabulary_bad_inputs():
    v = CharVocabulary("abc")
    with pytest.raises(ValueError, match=r"characters not in the vocabulary: 'XZ' \(2 distinct"):
        v.encode("abZcX")
    with pytest.raises(ValueError, match=r"not in the vocabulary: '😀'"):
        v.encode("a😀")  # beyond the lookup table
    with pytest.raises(ValueError, match=r"ids must be in \[0, 3\), got 3"):
        v.decode([0, 3])
    with pytest.raises(ValueError, match=r"ids must be in \[0, 3\), got -1"):
        v.decode([-1])
    with pytest.raises(TypeError, match=r"expected integer ids, got dtype float64"):
        v.decode([0.0, 1.0])
    with pytest.raises(ValueError, match=r"expected a scalar or 1-D ids, got shape \(1, 2\)"):
        v.decode([[0, 1]])
    with pytest.raises(TypeError, match=r"encode: expected a str, got bytes"):
        v.encode(b"abc")
    with pytest.raises(ValueError, match=r"the text is empty"):
        CharVocabulary("")
    with pytest.raises(TypeError, match=r"expected the text as a str, got list"):
        CharVocabulary(["a"])
    with pytest.raises(ValueError, match=r"repeated characters \['a'\]"):
        CharVocabulary.from_vocabulary("aba")
    with pytest.raises(ValueError, match=r"non-empty list of single characters, got \['ab'\]"):
        CharVocabulary.from_vocabulary(["ab"])


# --- sequences -----------------------------------------------------------------------------------

@pytest.mark.parametrize("n,max_length,step", [(11, 10, 1), (50, 10, 3), (51, 10, 3), (52, 10, 3), (100, 7, 7)])
def test_make_sequences(n, max_length, step):
    ids = np.arange(n) * 2  # distinct ids, so positions can be read back
    x, y = ts.make_sequences(ids, max_length=max_length, step=step)
    starts = list(range(0, n - max_length, step))
    assert x.shape == (len(starts), max_length) and y.shape == (len(starts),)
    assert x.dtype == y.dtype == np.int64 and x.flags.c_contiguous
    for i, s in enumerate(starts):
        assert x[i].tolist() == ids[s:s + max_length].tolist() and y[i] == ids[s + max_length]


def test_make_sequences_defaults():
    v = CharVocabulary("to be or not to be, that is the question")
    text = "to be or not to be, that is the question" * 3
    x, y = ts.make_sequences(v.encode(text))
    assert x.shape[1] == 40 and len(x) == (len(text) - 41) // 3 + 1
    assert v.decode(x[1]) == text[3:43] and v.decode([y[1]]) == text[43]


def test_make_sequences_bad_inputs():
    with pytest.raises(ValueError, match=r"10 ids are too few for one window of max_length=10 .*need at least 11"):
        ts.make_sequences(np.arange(10), max_length=10)
    with pytest.raises(ValueError, match=r"max_length must be a positive int, got 0"):
        ts.make_sequences(np.arange(10), max_length=0)
    with pytest.raises(ValueError, match=r"step must be a positive int, got 1.5"):
        ts.make_sequences(np.arange(10), max_length=3, step=1.5)
    with pytest.raises(ValueError, match=r"expected 1-D ids .*got shape \(2, 5\)"):
        ts.make_sequences(np.zeros((2, 5), np.int64), max_length=3)
    with pytest.raises(TypeError, match=r"expected integer ids, got dtype float32"):
        ts.make_sequences(np.zeros(10, np.float32), max_length=3)
