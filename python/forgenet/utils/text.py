"""Character vocabularies for character-level language models.

`CharVocabulary(text)` holds the text's distinct characters, sorted by code point (as the Keras
character-LSTM example's `sorted(set(text))`). Unlike Keras's StringLookup it has no OOV or mask
index: an id is a character, and a character outside the vocabulary is a ValueError (a model with a
`vocab_size`-way softmax could not predict an OOV slot anyway).
"""
from __future__ import annotations

import numpy as np


def _codes(text: str) -> np.ndarray:
    """Unicode code points of `text` as uint32, without a Python loop per character."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


class CharVocabulary:
    """CharVocabulary(text): ids 0..size-1 for the sorted distinct characters of `text`."""

    def __init__(self, text: str):
        if not isinstance(text, str):
            raise TypeError(f"CharVocabulary: expected the text as a str, got {type(text).__name__}")
        if not text:
            raise ValueError("CharVocabulary: the text is empty, so there is no vocabulary to build")
        codes = np.unique(_codes(text))
        self._set(codes)

    @classmethod
    def from_vocabulary(cls, vocabulary) -> "CharVocabulary":
        """A vocabulary with exactly these characters, in this order (e.g. a saved `vocabulary`)."""
        chars = list(vocabulary)
        bad = [c for c in chars if not (isinstance(c, str) and len(c) == 1)]
        if bad or not chars:
            raise ValueError(f"CharVocabulary.from_vocabulary: expected a non-empty list of single "
                             f"characters, got {bad[:3] if bad else 'an empty list'}")
        if len(set(chars)) != len(chars):
            dup = sorted({c for c in chars if chars.count(c) > 1})
            raise ValueError(f"CharVocabulary.from_vocabulary: repeated characters {dup!r}")
        self = cls.__new__(cls)
        self._set(np.array([ord(c) for c in chars], dtype=np.uint32))
        return self

    def _set(self, codes: np.ndarray) -> None:
        self._chars = np.asarray(codes, dtype=np.uint32)
        self._lut = np.full(int(self._chars.max()) + 1, -1, dtype=np.int64)  # code point -> id
        self._lut[self._chars] = np.arange(len(self._chars), dtype=np.int64)

    @property
    def vocabulary(self) -> list[str]:
        return [chr(c) for c in self._chars]

    @property
    def size(self) -> int:
        return len(self._chars)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"CharVocabulary(size={self.size})"

    def encode(self, text: str) -> np.ndarray:
        """str -> int64 ids, shape (len(text),). Characters not in the vocabulary are a ValueError."""
        if not isinstance(text, str):
            raise TypeError(f"CharVocabulary.encode: expected a str, got {type(text).__name__}")
        codes = _codes(text)
        ids = np.full(len(codes), -1, dtype=np.int64)
        known = codes < len(self._lut)
        ids[known] = self._lut[codes[known]]
        if (ids < 0).any():
            unknown = sorted({chr(c) for c in codes[ids < 0]})
            raise ValueError(f"CharVocabulary.encode: characters not in the vocabulary: {''.join(unknown)!r} "
                             f"({len(unknown)} distinct; the vocabulary has {self.size})")
        return ids

    def decode(self, ids) -> str:
        """Integer ids (a scalar or a 1-D sequence) -> str. Ids outside 0..size-1 are a ValueError."""
        a = np.asarray(ids)
        if a.size == 0:
            return ""
        if a.dtype.kind not in "iu":
            raise TypeError(f"CharVocabulary.decode: expected integer ids, got dtype {a.dtype}")
        if a.ndim > 1:
            raise ValueError(f"CharVocabulary.decode: expected a scalar or 1-D ids, got shape {a.shape}")
        a = a.reshape(-1).astype(np.int64)
        bad = (a < 0) | (a >= self.size)
        if bad.any():
            raise ValueError(f"CharVocabulary.decode: ids must be in [0, {self.size}), got {int(a[bad][0])}")
        return self._chars[a].astype("<u4").tobytes().decode("utf-32-le")


def unigram_entropy(ids, vocabulary_size: int) -> float:
    """Entropy (nats) of the ids' frequencies: the loss of a model that ignores context."""
    p = np.bincount(np.asarray(ids), minlength=vocabulary_size) / max(len(ids), 1)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def sample_logits(logits, temperature: float, rng: np.random.Generator) -> int:
    """Draw an id from softmax(logits / T): T < 1 sharpens, T > 1 flattens, T <= 0 is argmax."""
    z = np.asarray(logits, np.float64)
    if temperature <= 0:
        return int(z.argmax())
    z = z / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))
