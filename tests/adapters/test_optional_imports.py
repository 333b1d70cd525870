"""torch and JAX stay optional: the adapters name what to install when theirs is missing."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("adapter,dep", [("forgenet.torch", "torch"), ("forgenet.jax", "jax")])
def test_adapter_without_its_framework_says_what_to_install(adapter, dep):
    code = (f"import sys; sys.modules[{dep!r}] = None\n"  # makes `import {dep}` raise ImportError
            f"import forgenet\n"
            f"try:\n    import {adapter}\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"{adapter} needs" in out.stdout and f"pip install {dep}" in out.stdout
