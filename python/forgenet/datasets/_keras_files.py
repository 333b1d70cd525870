"""Where the Keras-format dataset loaders find their files, and the error that says where to put them."""
from __future__ import annotations

import os
import pathlib

from forgenet.datasets import _common


def locate(dataset: str, filename: str, path=None) -> pathlib.Path:
    """The file `filename` of `dataset`: `path` itself when it names an existing file (or a folder holding
    it), else $FORGENET_DATA/<dataset>/, ~/.forgenet/datasets/<dataset>/ and ~/.keras/datasets/ in turn.
    forgenet never downloads: a missing file is a FileNotFoundError naming the file and those places."""
    tried = []
    if path is not None:
        p = pathlib.Path(os.fspath(path)).expanduser()
        if p.is_file() or (p.exists() and p.name == filename):
            return p
        if p.is_dir() and (p / filename).exists():
            return p / filename
        if len(p.parts) == 1:  # Keras: a bare `path` is the file's name in the cache folders
            filename = p.name
        else:
            tried.append(p)
    for d in _common.default_dirs(dataset) + [pathlib.Path.home() / ".keras" / "datasets"]:
        cand = d / filename
        if cand.exists():
            return cand
        tried.append(cand)
    places = "\n  ".join(str(t) for t in tried)
    raise FileNotFoundError(
        f"{dataset}.load_data: {filename} was not found; forgenet does not download datasets. Put Keras's "
        f"{filename} in one of:\n  {places}\n(or pass path=... to load_data, or set $FORGENET_DATA)")
