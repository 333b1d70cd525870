"""Tiny Shakespeare (karpathy/char-rnn's input.txt), for character-level language models.

`load_data()` returns the whole text as one str. Without a full copy it falls back to the start of
the text shipped inside the package (see scripts/make_text_sample.py), so examples and tests run anywhere.
`make_sequences(ids)` cuts encoded text into (window, next character) training pairs.
"""
from __future__ import annotations

import gzip
import os
import pathlib

import numpy as np

from forgenet.datasets import _common

NAME, FILE = "tinyshakespeare", "input.txt"
EXCERPT = pathlib.Path(__file__).resolve().parent / "data" / "tinyshakespeare_excerpt.txt.gz"


def default_paths() -> list[pathlib.Path]:
    """Where `load_data()` looks when no path is given, in order."""
    return [d / FILE for d in _common.default_dirs(NAME)]


def _read_text(p: pathlib.Path) -> str:
    raw = p.read_bytes()
    if p.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"tiny_shakespeare: {p} is not a readable gzip file ({e})") from None
    try:
        return raw.decode("utf-8")  # bytes as they are: no newline translation
    except UnicodeDecodeError as e:
        raise ValueError(f"tiny_shakespeare: {p} is not UTF-8 text ({e})") from None


def load_excerpt() -> str:
    """The bundled start of the text (about 150,000 characters)."""
    return _read_text(EXCERPT)


def load_data(path: str | os.PathLike | None = None) -> str:
    """Return the text as a str.

    path: the text file, or a folder holding input.txt. Without it, `$FORGENET_DATA/tinyshakespeare/
    input.txt` then `~/.forgenet/datasets/tinyshakespeare/input.txt` are tried, and failing those the
    bundled excerpt is returned (with a warning, once).
    """
    if path is not None:
        p = pathlib.Path(path).expanduser()
        if p.is_dir():
            p = p / FILE
        if not p.is_file():
            raise FileNotFoundError(f"tiny_shakespeare.load_data: {p} does not exist "
                                    f"(pass the text file, or a folder holding {FILE})")
        return _read_text(p)
    for p in default_paths():
        if p.is_file():
            return _read_text(p)
    text = load_excerpt()
    looked = " or ".join(str(p) for p in default_paths())
    _common.say_once(NAME, f"forgenet.datasets.tiny_shakespeare: no full text found in {looked}; using the "
                           f"bundled excerpt (the first {len(text):,} characters)")
    return text


def make_sequences(ids, max_length: int = 40, step: int = 3):
    """Windows of `max_length` ids every `step` ids, each with the id that follows it.

    Returns x (n, max_length) int64 and y (n,) int64, with x[i] = ids[i*step : i*step+max_length]
    and y[i] = ids[i*step+max_length]; n = (len(ids) - max_length - 1) // step + 1.
    """
    for name, v in (("max_length", max_length), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"make_sequences: {name} must be a positive int, got {v!r}")
    a = np.asarray(ids)
    if a.ndim != 1:
        raise ValueError(f"make_sequences: expected 1-D ids (an encoded text), got shape {a.shape}")
    if a.size and a.dtype.kind not in "iu":
        raise TypeError(f"make_sequences: expected integer ids, got dtype {a.dtype}")
    if len(a) <= max_length:
        raise ValueError(f"make_sequences: {len(a)} ids are too few for one window of max_length="
                         f"{max_length} plus its next id (need at least {max_length + 1})")
    a = a.astype(np.int64, copy=False)
    n = (len(a) - max_length - 1) // step + 1
    x = np.lib.stride_tricks.sliding_window_view(a[: (n - 1) * step + max_length], max_length)[::step]
    y = a[max_length::step][:n]
    return np.ascontiguousarray(x), y.copy()
