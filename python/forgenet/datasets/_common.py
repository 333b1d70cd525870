"""What the dataset loaders share: where they look for files, and saying once that they fell back."""
from __future__ import annotations

import os
import pathlib
import warnings


def default_dirs(name: str) -> list[pathlib.Path]:
    """Where a loader looks for dataset `name` when no path is given, in order:
    $FORGENET_DATA/<name>, then ~/.forgenet/datasets/<name>."""
    dirs = []
    env = os.environ.get("FORGENET_DATA")
    if env:
        dirs.append(pathlib.Path(env).expanduser() / name)
    dirs.append(pathlib.Path.home() / ".forgenet" / "datasets" / name)
    return dirs


_said: set[str] = set()


def say_once(key: str, msg: str, stacklevel: int = 3) -> None:
    """Warn `msg` the first time `key` is seen in this process (a fallback is news once, not per call)."""
    if key in _said:
        return
    _said.add(key)
    warnings.warn(msg, stacklevel=stacklevel)
