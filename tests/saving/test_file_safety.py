"""Saving never damages what is at the path, and loading never trusts the file (issue 12, item 4), for
every format: .keras, .weights.h5, .fgn and .safetensors. Device nodes, FIFOs and symlinks are made
privately inside tmp_path; nothing here touches a system path."""
import json
import os
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import forgenet
from forgenet import layers, saving
from forgenet.models import Sequential

pytest.importorskip("h5py")
import h5py  # noqa: E402

SUFFIXES = ["m.keras", "m.fgn", "m.safetensors"]
WEIGHT_SUFFIXES = ["w.weights.h5", "w.fgn", "w.safetensors"]


def small():
    return Sequential([layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dense(2)])


@pytest.fixture
def model():
    return small()


def save(model, path, weights_only):
    (model.save_weights if weights_only else model.save)(path)


ALL = [(n, False) for n in SUFFIXES] + [(n, True) for n in WEIGHT_SUFFIXES]


@pytest.fixture
def no_hang():
    """A load that blocks fails the test instead of hanging the run."""
    def alarm(*_):
        raise TimeoutError("blocked")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# ---- save: what is at the path ---------------------------------------------------------------------
@pytest.mark.parametrize("name,weights_only", ALL)
def test_save_refuses_a_fifo_and_leaves_it(model, tmp_path, name, weights_only, no_hang):
    path = tmp_path / name
    os.mkfifo(path)
    with pytest.raises(ValueError, match="FIFO.*refusing to replace it"):
        save(model, path, weights_only)
    assert stat.S_ISFIFO(os.lstat(path).st_mode)
    assert os.listdir(tmp_path) == [name]


@pytest.mark.parametrize("name,weights_only", ALL)
def test_save_refuses_a_device_node(model, tmp_path, name, weights_only):
    path = tmp_path / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # a private twin of /dev/null, never opened
    except PermissionError:
        pytest.skip("mknod needs root")
    with pytest.raises(ValueError, match="character device.*refusing to replace it"):
        save(model, path, weights_only)
    st = os.lstat(path)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


@pytest.mark.parametrize("name,weights_only", ALL)
def test_save_refuses_a_directory(model, tmp_path, name, weights_only):
    (tmp_path / name).mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        save(model, tmp_path / name, weights_only)
    assert (tmp_path / name).is_dir()


@pytest.mark.parametrize("name,weights_only", ALL)
def test_save_through_a_symlink_replaces_the_target(model, tmp_path, name, weights_only):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / name
    target.write_bytes(b"old")
    link = tmp_path / name
    link.symlink_to(target)
    save(model, link, weights_only)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() != b"old"
    x = np.ones((2, 3), np.float32)
    if weights_only:
        other = small()
        other.load_weights(link)
    else:
        other = saving.load_model(link)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    assert sorted(os.listdir(real_dir)) == [name]  # no temporaries left


@pytest.mark.parametrize("name,weights_only", ALL)
def test_save_keeps_mode_and_owner(model, tmp_path, name, weights_only):
    path = tmp_path / name
    save(model, path, weights_only)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask  # a new file: as open() makes it
    os.chmod(path, 0o600)
    save(model, path, weights_only)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    if os.geteuid() == 0:
        os.chown(path, 12345, 23456)
        save(model, path, weights_only)
        st = os.stat(path)
        assert (st.st_uid, st.st_gid) == (12345, 23456) and stat.S_IMODE(st.st_mode) == 0o600


def test_failed_keras_save_leaves_old_file_and_no_temp(model, tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()

    def fail(*a, **k):
        raise OSError("No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", fail)
    with pytest.raises(OSError, match="No space left"):
        model.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.keras"]


KILLED_SAVE = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import forgenet
    from forgenet import layers, saving
    from forgenet.saving import fileio
    forgenet.utils.set_random_seed(5)
    m = forgenet.Sequential([layers.Dense(64, input_shape=(32,)), layers.Dense(8)])
    def killed(fd):  # the data is written, the rename not yet done
        os.kill(os.getpid(), signal.SIGKILL)
    fileio._fsync = killed
    m.save(sys.argv[1])
""")


@pytest.mark.parametrize("name", ["m.keras", "m.fgn"])
def test_kill_during_save_keeps_old_file_and_next_save_cleans_up(model, tmp_path, name):
    path = tmp_path / name
    model.save(path)
    before = path.read_bytes()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert path.read_bytes() == before
    stale = [n for n in os.listdir(tmp_path) if n != name]
    assert len(stale) == 1 and stale[0].startswith(f".{name}.")
    # a temporary of a save still running elsewhere is left alone
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        busy = tmp_path / f".{name}.{live.pid}.00000000.fgtmp"
        busy.write_bytes(b"in progress")
        model.save(path)
        assert sorted(os.listdir(tmp_path)) == sorted([name, busy.name])
    finally:
        live.kill()
        live.wait()
    x = np.ones((1, 3), np.float32)
    np.testing.assert_array_equal(saving.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


# ---- load: only regular files --------------------------------------------------------------------------
@pytest.mark.parametrize("name,weights_only", ALL)
def test_load_refuses_fifo_device_and_directory_without_blocking(model, tmp_path, name, weights_only, no_hang):
    fifo = tmp_path / ("fifo_" + name)
    os.mkfifo(fifo)
    load = (lambda p: small().load_weights(p)) if weights_only else saving.load_model
    who = "load_weights" if weights_only else "load_model"
    with pytest.raises(ValueError, match=rf"{who}: .*fifo_.* is not a .*\(it is a FIFO"):
        load(fifo)
    d = tmp_path / ("dir_" + name)
    d.mkdir()
    with pytest.raises(ValueError, match=rf"{who}: .*it is a directory"):
        load(d)
    dev = tmp_path / ("dev_" + name)
    try:
        os.mknod(dev, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        return
    with pytest.raises(ValueError, match=rf"{who}: .*it is a character device"):
        load(dev)
    with pytest.raises(FileNotFoundError, match=rf"{who}: no such file"):
        load(tmp_path / "missing")


# ---- load: the forgenet (safetensors) format, header first ------------------------------------------
def st_file(path, entries, meta, data=b""):
    header = dict(entries)
    header["__metadata__"] = meta
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def fgn_meta(model_spec, names, shape=(None, 3)):
    return {"format": "forgenet.model", "format_version": "1", "weight_names": json.dumps(names),
            "model_config": json.dumps(model_spec), "build_input_shape": json.dumps(list(shape))}


def dense_spec(units, input_dim=3):
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": units,
                                                                       "input_shape": [input_dim]}}]}}


def test_a_300_byte_file_declaring_billions_of_weights_is_refused_before_building(tmp_path):
    import tracemalloc

    path = tmp_path / "huge.fgn"
    names = ["d/kernel", "d/bias"]
    st_file(path, {"d/kernel": {"dtype": "F32", "shape": [3, 1], "data_offsets": [0, 12]},
                   "d/bias": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}},
            fgn_meta(dense_spec(10 ** 9), names), b"\0" * 16)
    assert path.stat().st_size < 1000
    tracemalloc.start()
    t = time.perf_counter()
    with pytest.raises(ValueError, match=r"load_model: .*huge.fgn.*declares more weights than the file holds"):
        saving.load_model(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 << 20 and time.perf_counter() - t < 5


def test_keras_file_declaring_billions_of_weights_is_refused(model, tmp_path):
    good = tmp_path / "m.keras"
    model.save(good)
    with zipfile.ZipFile(good) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    cfg = json.loads(members["config.json"])
    cfg["config"]["layers"][1]["config"]["units"] = 10 ** 9
    members["config.json"] = json.dumps(cfg).encode()
    bad = tmp_path / "huge.keras"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    with pytest.raises(ValueError, match=r"load_model: .*huge.keras.*declares more weights than the file holds"):
        saving.load_model(bad)


@pytest.mark.parametrize("entry,why", [
    ({"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}, "outside the file"),  # declared, bytes absent
    ({"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 40]}, "needs 48 bytes"),
    ({"dtype": "F32", "shape": [-3, 4], "data_offsets": [0, 0]}, "invalid shape"),
    ({"dtype": "Q4", "shape": [3, 4], "data_offsets": [0, 12]}, "unsupported dtype"),
])
def test_damaged_safetensors_headers_are_refused(tmp_path, entry, why):
    path = tmp_path / "bad.fgn"
    st_file(path, {"d/kernel": entry, "d/bias": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
            fgn_meta(dense_spec(4), ["d/kernel", "d/bias"]), b"\0" * 44)
    with pytest.raises(ValueError, match=rf"load_model: .*bad.fgn.*{why}"):
        saving.load_model(path)


def test_declared_but_absent_and_overlapping_tensors(tmp_path):
    path = tmp_path / "absent.fgn"
    st_file(path, {"d/bias": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
            fgn_meta(dense_spec(4), ["d/kernel", "d/bias"]), b"\0" * 16)
    with pytest.raises(ValueError, match=r"lists weights \['d/kernel'\] that the file does not hold"):
        saving.load_model(path)
    st_file(path, {"d/kernel": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]},
                   "d/bias": {"dtype": "F32", "shape": [4], "data_offsets": [40, 56]}},
            fgn_meta(dense_spec(4), ["d/kernel", "d/bias"]), b"\0" * 56)
    with pytest.raises(ValueError, match="overlap"):
        saving.load_model(path)


@pytest.mark.parametrize("code,npdtype", [("I8", np.int8), ("BOOL", np.bool_), ("I64", np.int64)])
def test_integer_and_bool_weights_are_refused_not_cast(tmp_path, code, npdtype):
    path = tmp_path / "ints.fgn"
    k = np.ones((3, 4), npdtype).tobytes()
    st_file(path, {"d/kernel": {"dtype": code, "shape": [3, 4], "data_offsets": [0, len(k)]},
                   "d/bias": {"dtype": "F32", "shape": [4], "data_offsets": [len(k), len(k) + 16]}},
            fgn_meta(dense_spec(4), ["d/kernel", "d/bias"]), k + b"\0" * 16)
    with pytest.raises(ValueError, match=rf"holds weight 'd/kernel'.* as {np.dtype(npdtype)}; .*not cast"):
        saving.load_model(path)


def test_only_needed_tensors_are_read(model, tmp_path, monkeypatch):
    """A header may declare large tensors the model never uses: they are validated, never read."""
    from forgenet.saving import safetensors_io

    path = tmp_path / "extra.fgn"
    model.save(path)
    with open(path, "rb") as f:
        header = safetensors_io.read_header(f, str(path), "t")
        tensors = {n: safetensors_io.read_tensor(f, header, n) for n in header.tensors}
    tensors["unused/big"] = np.zeros((256, 1024), np.float32)
    with open(path, "wb") as f:
        safetensors_io.write(f, tensors, header.metadata)
    read = []
    real = safetensors_io.read_tensor
    monkeypatch.setattr(safetensors_io, "read_tensor", lambda f, h, n: read.append(n) or real(f, h, n))
    saving.load_model(path)
    assert "unused/big" not in read and len(read) == len(model.weights)


# ---- load: Keras files ----------------------------------------------------------------------------------
def test_zip_bomb_is_refused(model, tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", b" " * (40 << 20))  # 40 MB of spaces in ~40 KB
        zf.writestr("model.weights.h5", b"")
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ValueError, match=r"load_model: .*bomb.keras: config.json declares .*decompression bomb"):
        saving.load_model(path)


def test_not_a_zip_and_missing_members(tmp_path):
    path = tmp_path / "m.keras"
    path.write_bytes(os.urandom(200))
    with pytest.raises(ValueError, match=r"load_model: .*m.keras is not a Keras .keras file"):
        saving.load_model(path)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match=r"load_model: .*no config.json"):
        saving.load_model(path)


def weights_file(path, build):
    with h5py.File(path, "w") as h5:
        build(h5)


def test_h5_shape_bomb_link_and_int_weights_are_refused(model, tmp_path):
    good = tmp_path / "good.weights.h5"
    model.save_weights(good)
    bomb = tmp_path / "bomb.weights.h5"

    def huge(h5):
        h5.create_dataset("layers/dense/vars/0", shape=(10 ** 6, 1000), dtype="f4", chunks=(1000, 100),
                          compression="gzip")  # 4 GB declared, nothing stored

    weights_file(bomb, huge)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(ValueError, match=r"load_weights: .*bomb.weights.h5: dataset .* declares 4000000000 bytes"):
        small().load_weights(bomb)

    linked = tmp_path / "link.weights.h5"
    weights_file(linked, lambda h5: h5.__setitem__("layers", h5py.SoftLink("/elsewhere")))
    with pytest.raises(ValueError, match="SoftLink"):
        small().load_weights(linked)
    ext = tmp_path / "ext.weights.h5"
    weights_file(ext, lambda h5: h5.__setitem__("layers", h5py.ExternalLink(str(good), "/layers")))
    with pytest.raises(ValueError, match="ExternalLink"):
        small().load_weights(ext)

    ints = tmp_path / "ints.weights.h5"
    m = small()

    def int_weights(h5):
        for path, arrays in (("layers/dense/vars", m.layers[0].get_weights()),
                             ("layers/dense_1/vars", m.layers[1].get_weights())):
            g = h5.create_group(path)
            for i, a in enumerate(arrays):
                g[str(i)] = a.astype(np.int8)

    weights_file(ints, int_weights)
    with pytest.raises(ValueError, match=r"as int8; .*not cast"):
        m.load_weights(ints)


def test_failed_load_leaves_the_model_unchanged(model, tmp_path):
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "a") as h5:
        del h5["layers/dense_1/vars/0"]
        h5["layers/dense_1/vars/0"] = np.zeros((4, 5), np.float32)  # the wrong shape, in the last layer
    other = small()
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"has shape \(4, 2\) but .* holds shape \(4, 5\)"):
        other.load_weights(path)
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---- configs and set_weights ----------------------------------------------------------------------------
def test_deep_configs_are_refused_not_recursed(tmp_path):
    deep = "[" * 100000 + "]" * 100000
    with pytest.raises(ValueError, match="model_from_json"):
        forgenet.models.model_from_json(deep)
    spec = {"class_name": "Dense", "config": {"units": 2}}
    for _ in range(300):
        spec = {"wrap": spec}
    with pytest.raises(ValueError, match="nests deeper than"):
        saving.deserialize_keras_object(spec)


@pytest.mark.parametrize("bad,why", [([None, None], "got None"), ("object", "dtype object"),
                                     ("bool", "dtype bool"), ("str", "dtype <U")])
def test_set_weights_refuses_non_numeric(model, bad, why):
    shapes = [w.shape for w in model.layers[0].weights]
    if bad == "object":
        bad = [np.empty(shapes[0], object), np.empty(shapes[1], object)]
    elif bad == "bool":
        bad = [np.ones(s, bool) for s in shapes]
    elif bad == "str":
        bad = [np.full(s, "a") for s in shapes]
    before = model.layers[0].get_weights()
    with pytest.raises(TypeError, match=why):
        model.layers[0].set_weights(bad)
    for a, b in zip(before, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_lambda_is_refused_in_safe_mode(tmp_path):
    m = Sequential([layers.Dense(2, activation=lambda x: x * 2.0, input_shape=(3,))])
    with pytest.warns(UserWarning, match="lambda"):
        m.save(tmp_path / "l.keras")
    with pytest.raises(ValueError, match=r"load_model: .*lambda.*safe_mode=False"):
        saving.load_model(tmp_path / "l.keras")
    loaded = saving.load_model(tmp_path / "l.keras", safe_mode=False)
    x = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), m.predict(x, verbose=0))


@pytest.fixture
def tiny_fs(tmp_path):
    """A private 256 KiB tmpfs inside tmp_path (root only), unmounted afterwards."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a private tmpfs needs root (CAP_SYS_ADMIN)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


@pytest.mark.parametrize("name,weights_only", ALL)
def test_full_filesystem_keeps_the_old_file(tiny_fs, name, weights_only):
    path = tiny_fs / name
    save(small(), path, weights_only)
    before = path.read_bytes()
    big = Sequential([layers.Dense(256, input_shape=(300,))])  # ~300 KB of weights: does not fit
    with pytest.raises(OSError) as e:
        save(big, path, weights_only)
    assert e.value.errno == 28  # ENOSPC
    assert path.read_bytes() == before and os.listdir(tiny_fs) == [name]
