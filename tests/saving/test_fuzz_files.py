"""Damaged files of every format fail with a ValueError / OSError naming the function and the path (or load
correctly when the damage misses everything that matters), never another exception type or a crash."""
import os
import zipfile

import numpy as np
import pytest

import forgenet
from forgenet import layers, saving

pytest.importorskip("h5py")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def model():
    m = forgenet.Sequential([layers.Conv2D(2, 3, input_shape=(6, 6, 1)), layers.Flatten(), layers.Dense(3)])
    m.compile("adam", "mse")
    m.fit(np.ones((2, 6, 6, 1), np.float32), np.zeros((2, 3), np.float32), verbose=0)
    return m


@pytest.mark.parametrize("name,weights_only", [("m.keras", False), ("m.fgn", False), ("w.weights.h5", True),
                                               ("w.safetensors", True)])
def test_mutated_files_fail_cleanly(tmp_path, name, weights_only):
    m = model()
    good = tmp_path / name
    (m.save_weights if weights_only else m.save)(good)
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    bad = tmp_path / ("bad_" + name)
    who = "load_weights" if weights_only else "load_model"
    outcomes = {"ok": 0, "refused": 0}
    for trial in range(40):
        blob = bytearray(data)
        kind = trial % 4
        if kind == 0:  # flip bytes
            for i in rng.integers(0, len(blob), 1 + trial % 7):
                blob[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:  # truncate
            blob = blob[: int(rng.integers(0, len(blob)))]
        elif kind == 2:  # overwrite a run with junk
            i = int(rng.integers(0, len(blob)))
            blob[i:i + 64] = os.urandom(64)
        else:  # append junk
            blob += os.urandom(int(rng.integers(1, 500)))
        bad.write_bytes(bytes(blob))
        try:
            if weights_only:
                model().load_weights(bad)
            else:
                saving.load_model(bad)
            outcomes["ok"] += 1
        except (ValueError, OSError) as e:
            assert who in str(e) and str(bad) in str(e), f"trial {trial}: {type(e).__name__}: {e}"
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0


def test_keras_archive_with_junk_members(tmp_path):
    m = model()
    m.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    for junk in (b"[]", b"null", b'{"class_name": 3, "config": {}}', b'{"clasr_name": "Sequential", "config": {}}', b'{"class_name": "Sequential", "config": 5}',
                 b'{"module": "keras", "class_name": "Sequential", "config": {"layers": {"a": 1}}}',
                 b'{"module": "keras", "class_name": "Sequential", "config": {"layers": [], "build_input_shape": '
                 b'[null, -4]}}', b"\xff\xfe", b'{"a": ' * 5000):
        with zipfile.ZipFile(tmp_path / "j.keras", "w") as zf:
            for n, b in members.items():
                zf.writestr(n, junk if n == "config.json" else b)
        with pytest.raises(ValueError, match=r"load_model: .*j.keras"):
            saving.load_model(tmp_path / "j.keras")


def test_model_config_without_its_class_name_is_refused(tmp_path):
    # a damaged key leaves a plain dict, which deserialization passes through: not a model to build
    m = model()
    m.save(tmp_path / "m.fgn")
    blob = (tmp_path / "m.fgn").read_bytes()
    assert b"class_name" in blob
    (tmp_path / "bad.fgn").write_bytes(blob.replace(b"class_name", b"clasr_name", 1))
    with pytest.raises(ValueError, match=r"load_model: .*bad.fgn: the model config describes a dict, not a model"):
        saving.load_model(tmp_path / "bad.fgn")
