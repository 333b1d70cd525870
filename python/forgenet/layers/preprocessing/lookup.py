"""StringLookup, IntegerLookup and TextVectorization (Keras 3 semantics, plain Python/numpy tables).

Index layout (as Keras): the mask token (when given) at 0, then num_oov_indices OOV slots, then the
vocabulary; adapt() orders tokens by count, ties broken as Keras's lexsort does (larger token first).
Output modes: int, one_hot, multi_hot, count, tf_idf (counts times idf = log(1 + docs / (1 + df)),
the OOV slots weighted by the mean idf)."""
from __future__ import annotations

import collections
import numbers
import re

import numpy as np

from forgenet.autograd.tensor import Tensor
from forgenet.layers.base import Layer
from forgenet.layers.preprocessing.farmhash import hash_bucket
from forgenet.layers.preprocessing.numeric import encode_categorical

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _encode(op, ids, mode, depth):
    """encode_categorical, with -1 ids (dropped mask tokens) contributing nothing."""
    if not (ids == -1).any():
        return encode_categorical(op, ids, mode, depth)
    out = encode_categorical(op, np.where(ids == -1, 0, ids), "one_hot" if mode != "one_hot" else mode, depth)
    out = out * (ids != -1)[..., None]
    if mode == "one_hot":
        return out
    axis = 1 if ids.ndim > 1 else 0
    return out.max(axis=axis) if mode == "multi_hot" else out.sum(axis=axis)


class _IndexLookup(Layer):
    input_dtype = None
    _kind = "token"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 **kwargs):
        super().__init__(**kwargs)
        n = self.name
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in _MODES:
            raise ValueError(f"{n}: output_mode must be one of {_MODES}, got {output_mode!r}")
        if max_tokens is not None and (not isinstance(max_tokens, numbers.Integral) or max_tokens <= 1):
            raise ValueError(f"{n}: max_tokens must be None or an int > 1, got {max_tokens!r}")
        if isinstance(num_oov_indices, bool) or not isinstance(num_oov_indices, numbers.Integral) or num_oov_indices < 0:
            raise ValueError(f"{n}: num_oov_indices must be an int >= 0, got {num_oov_indices!r}")
        if sparse:
            raise ValueError(f"{n}: sparse=True is only supported with the TensorFlow backend (as Keras)")
        if invert and output_mode != "int":
            raise ValueError(f"{n}: output_mode must be 'int' when invert=True, got {output_mode!r}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{n}: idf_weights should only be set if output_mode is 'tf_idf'")
        self.max_tokens, self.num_oov_indices = max_tokens, int(num_oov_indices)
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert, self.output_mode, self.pad_to_max_tokens, self.sparse = bool(invert), output_mode, \
            bool(pad_to_max_tokens), False
        self._vocab = []  # the learned/given tokens (without mask and OOV)
        self._index = {}
        self.idf_weights = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.vocabulary_config = None if vocabulary is None else list(self._vocab)

    # ---- vocabulary --------------------------------------------------------------------------------
    def _masked(self):
        # Keras: the mask token has index 0 in 'int' mode only; other modes drop it from inputs
        return self.mask_token is not None and self.output_mode == "int"

    def _oov_index(self):
        return 1 if self._masked() else 0

    def _token_start(self):
        return self._oov_index() + self.num_oov_indices

    def _key(self, t):
        return t

    def set_vocabulary(self, vocabulary, idf_weights=None):
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding="utf-8") as f:
                vocabulary = [line.rstrip("\n") for line in f]
        vocab = [self._key(t) for t in np.asarray(vocabulary).tolist()]
        head = ([self.mask_token] if self._masked() else []) + [self.oov_token] * self.num_oov_indices
        if vocab[: len(head)] == head and head:
            vocab = vocab[len(head):]  # a full vocabulary (as get_vocabulary returns) is accepted too
        for special, what in ((self.mask_token, "mask_token"), (self.oov_token, "oov_token")):
            if special is not None and self.num_oov_indices and special in vocab:
                raise ValueError(f"{self.name}: the vocabulary must not contain the {what} {special!r} except at the "
                                 "start")
        if len(set(vocab)) != len(vocab):
            dup = [t for t, c in collections.Counter(vocab).items() if c > 1]
            raise ValueError(f"{self.name}: the vocabulary must not contain repeated tokens, got {dup[:5]}")
        if self.max_tokens is not None and len(vocab) + self._token_start() > self.max_tokens:
            raise ValueError(f"{self.name}: the vocabulary size {len(vocab) + self._token_start()} is larger than "
                             f"max_tokens={self.max_tokens}")
        self._set(vocab)
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{self.name}: idf_weights must be given with a vocabulary in 'tf_idf' output mode")
            w = np.asarray(idf_weights, np.float32)
            if w.shape != (len(vocab),):
                raise ValueError(f"{self.name}: idf_weights must have one weight per vocabulary token "
                                 f"({len(vocab)}), got shape {w.shape}")
            self.idf_weights = np.concatenate([np.full(self._token_start(), w.mean() if w.size else 0.0, np.float32),
                                               w])

    def _set(self, vocab):
        self._vocab = list(vocab)
        start = self._token_start()
        self._index = {t: i + start for i, t in enumerate(self._vocab)}
        if self._masked():
            self._index[self.mask_token] = 0

    def get_vocabulary(self, include_special_tokens=True):
        head = ([self.mask_token] if self._masked() else []) + [self.oov_token] * self.num_oov_indices
        return (head if include_special_tokens else []) + list(self._vocab)

    def vocabulary_size(self):
        return len(self.get_vocabulary())

    def _tokens_of(self, batch):
        return [self._key(t) for t in np.asarray(batch).reshape(-1).tolist()]

    def adapt(self, data, steps=None):
        """Learns the vocabulary (and, for tf_idf, document frequencies) from an array or iterable of batches."""
        batches = [data] if hasattr(data, "shape") or isinstance(data, (list, tuple)) and not any(
            hasattr(b, "shape") or isinstance(b, (list, tuple)) for b in data) else list(data)
        counts, docs, n_docs = collections.Counter(), collections.Counter(), 0
        for b in batches:
            for row in self._documents(b):
                counts.update(row)
                docs.update(set(row))
                n_docs += 1
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        tokens = list(counts)
        # Keras: np.lexsort((tokens, counts))[::-1], i.e. count descending, then token descending
        order = sorted(range(len(tokens)), key=lambda i: (counts[tokens[i]], tokens[i]), reverse=True)
        if self.max_tokens:
            order = order[: self.max_tokens - self._token_start()]
        vocab = [tokens[i] for i in order]
        self._set(vocab)
        if self.output_mode == "tf_idf":
            df = np.array([docs[t] for t in vocab], np.float64)
            idf = np.log(1.0 + n_docs / (1.0 + df)).astype(np.float32)
            w = np.concatenate([np.full(self._token_start(), idf.mean() if idf.size else 0.0, np.float32), idf])
            if self.pad_to_max_tokens and self.max_tokens:
                w = np.pad(w, (0, self.max_tokens - w.size))
            self.idf_weights = w
        self.built = True

    def _documents(self, batch):
        a = np.asarray(batch)
        if a.ndim <= 1:
            return [self._tokens_of(a)] if self.output_mode == "tf_idf" and a.ndim == 1 else \
                [[t] for t in self._tokens_of(a)]
        return [self._tokens_of(r) for r in a.reshape(a.shape[0], -1)]

    # ---- calling -----------------------------------------------------------------------------------
    def _depth(self):
        size = self.vocabulary_size()
        return self.max_tokens if self.pad_to_max_tokens and self.max_tokens else size

    def _oov_bucket(self, token):
        """Which of the num_oov_indices > 1 OOV slots an unknown token takes (Keras: FarmHash64 of the string)."""
        return hash_bucket(str(token), self.num_oov_indices)

    def _lookup(self, a):
        """Indices of a's tokens; in the encoding modes a mask token becomes -1 (dropped)."""
        drop = self.mask_token is not None and not self._masked()
        if self.num_oov_indices > 1:
            start = self._oov_index()
            flat = [-1 if drop and t == self.mask_token else
                    self._index[t] if t in self._index else start + self._oov_bucket(t) for t in self._tokens_of(a)]
            return np.asarray(flat, np.int64).reshape(np.shape(a))
        oov = self._oov_index() if self.num_oov_indices else -1
        flat = [-1 if drop and t == self.mask_token else self._index.get(t, oov) for t in self._tokens_of(a)]
        ids = np.asarray(flat, np.int64).reshape(np.shape(a))
        if oov == -1 and self.output_mode == "int" and (ids == -1).any():
            raise ValueError(f"{self.name}: with num_oov_indices=0, input tokens must all be in the vocabulary")
        return ids

    def call(self, inputs):
        a = np.asarray(_data(inputs))
        if self.invert:
            vocab = self.get_vocabulary()
            ids = a.astype(np.int64)
            if ids.size and (ids.min() < 0 or ids.max() >= len(vocab)):
                raise ValueError(f"{self.name}: ids must be in [0, {len(vocab)}), got values in "
                                 f"[{ids.min()}, {ids.max()}]")
            return np.asarray([vocab[i] for i in ids.reshape(-1)], dtype=object).reshape(ids.shape)
        ids = self._lookup(a)
        if self.output_mode == "int":
            return Tensor(ids)
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = _encode(self.name, ids, mode, self._depth())
        if self.output_mode == "tf_idf":
            out = out * self.idf_weights[: out.shape[-1]]
        return Tensor(out.astype(np.float32))

    def get_config(self):
        return {**super().get_config(), "max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
                "mask_token": self.mask_token, "oov_token": self.oov_token, "vocabulary": self.vocabulary_config,
                "invert": self.invert, "output_mode": self.output_mode, "pad_to_max_tokens": self.pad_to_max_tokens,
                "sparse": False, "idf_weights": None if self.vocabulary_config is None or self.idf_weights is None
                else self.idf_weights[self._token_start():].tolist()}


def _oov_options(who, oov_method, salt, integer=False):
    if oov_method not in ("floormod", "farmhash"):
        raise ValueError(f"{who}: oov_method must be 'floormod' or 'farmhash', got {oov_method!r}")
    if salt is not None and integer and oov_method != "farmhash":
        raise ValueError(f"{who}: salt can only be used when oov_method='farmhash', got oov_method={oov_method!r}")
    if salt is not None:
        if isinstance(salt, int) or (isinstance(salt, (list, tuple)) and len(salt) == 2):
            # Keras hashes salted tokens with TensorFlow's SipHash (to_hash_bucket_strong)
            raise NotImplementedError(f"{who}: salt (keyed SipHash of OOV tokens) is not supported yet, got {salt!r}")
        raise ValueError(f"{who}: salt must be an int or a pair of ints, got {salt!r}")
    return oov_method, None


class StringLookup(_IndexLookup):
    """Strings -> indices (or encodings); invert=True maps indices back to strings."""

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, salt=None, oov_method="floormod", **kwargs):
        self.encoding = encoding
        self.oov_method, self.salt = _oov_options("StringLookup", oov_method, salt)
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, pad_to_max_tokens, sparse, name=name, **kwargs)

    def _key(self, t):
        return t.decode(self.encoding) if isinstance(t, bytes) else str(t)

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding, "oov_method": self.oov_method, "salt": self.salt}


class IntegerLookup(_IndexLookup):
    """Integers -> indices (or encodings); invert=True maps indices back to the integers."""

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, **kwargs):
        if vocabulary_dtype not in ("int64", "int32"):
            raise ValueError(f"IntegerLookup: vocabulary_dtype must be 'int64' or 'int32', got {vocabulary_dtype!r}")
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method, self.salt = _oov_options("IntegerLookup", oov_method, salt, integer=True)
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, pad_to_max_tokens, sparse, **kwargs)

    def _key(self, t):
        return int(t)

    def call(self, inputs):
        out = super().call(inputs)
        if self.invert:
            return out.astype(np.int64)
        return out

    def _oov_bucket(self, token):
        if self.oov_method == "floormod":  # Keras's default for integers: tf.math.floormod
            return int(token) % self.num_oov_indices
        return hash_bucket(str(int(token)), self.num_oov_indices)  # FarmHash64 of tf.strings.as_string

    def get_config(self):
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype, "oov_method": self.oov_method,
                "salt": self.salt}


_STRIP = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')


class TextVectorization(_IndexLookup):
    """Strings -> standardized, split (and n-grammed) tokens -> indices or encodings, with the
    mask token '' at 0 and '[UNK]' at 1."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", **kwargs):
        if standardize not in (None, "lower_and_strip_punctuation", "lower", "strip_punctuation") and \
                not callable(standardize):
            raise ValueError(f"TextVectorization: standardize must be None, 'lower_and_strip_punctuation', 'lower', "
                             f"'strip_punctuation' or a callable, got {standardize!r}")
        if split not in (None, "whitespace", "character") and not callable(split):
            raise ValueError(f"TextVectorization: split must be None, 'whitespace', 'character' or a callable, "
                             f"got {split!r}")
        if ragged:
            raise ValueError("TextVectorization: ragged=True is only supported with the TensorFlow backend (as Keras)")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError("TextVectorization: output_sequence_length is only valid with output_mode='int'")
        if output_mode == "one_hot" and (split is not None or ngrams):
            # Keras one-hots each token of a split text into a ragged (batch, tokens, vocab) TensorFlow tensor
            raise NotImplementedError("TextVectorization: output_mode='one_hot' is supported with split=None and no "
                                      "ngrams (one token per text) only; use 'multi_hot' or 'count' for split texts")
        if isinstance(ngrams, numbers.Integral):
            ngrams = tuple(range(1, int(ngrams) + 1))
        self.standardize, self.split, self.ngrams = standardize, split, None if ngrams is None else tuple(ngrams)
        self.output_sequence_length, self.encoding, self.ragged = output_sequence_length, encoding, False
        super().__init__(max_tokens, 1, "", "[UNK]", vocabulary, idf_weights, False, output_mode,
                         pad_to_max_tokens, sparse, **kwargs)

    def _key(self, t):
        return t.decode(self.encoding) if isinstance(t, bytes) else str(t)

    def _tokens(self, text):
        text = self._key(text)
        if callable(self.standardize):
            text = self.standardize(text)
        else:
            if self.standardize in ("lower", "lower_and_strip_punctuation"):
                text = text.lower()
            if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
                text = _STRIP.sub("", text)
        if self.split is None:
            toks = [text]
        elif callable(self.split):
            toks = list(self.split(text))
        elif self.split == "character":
            toks = list(text)
        else:
            toks = text.split()
        if self.ngrams:
            toks = [" ".join(toks[i:i + k]) for k in self.ngrams for i in range(len(toks) - k + 1)]
        return toks

    def _documents(self, batch):
        return [self._tokens(t) for t in np.asarray(batch).reshape(-1).tolist()]

    def call(self, inputs):
        texts = np.asarray(_data(inputs)).reshape(-1).tolist()
        oov = self._oov_index()
        rows = [[self._index.get(t, oov) for t in self._tokens(s) if self._masked() or t != self.mask_token]
                for s in texts]
        if self.output_mode == "int":
            length = self.output_sequence_length or max([len(r) for r in rows] + [0])
            out = np.zeros((len(rows), length), np.int64)
            for i, r in enumerate(rows):
                out[i, : min(len(r), length)] = r[:length]
            return Tensor(out)
        depth = self._depth()
        out = np.zeros((len(rows), depth), np.float32)
        for i, r in enumerate(rows):
            np.add.at(out[i], np.asarray(r, np.int64), 1.0)
        if self.output_mode in ("multi_hot", "one_hot"):  # one_hot: one token per text (split=None)
            out = np.minimum(out, 1.0)
        if self.output_mode == "tf_idf":
            out = out * self.idf_weights[:depth]
        return Tensor(out)

    def get_config(self):
        cfg = super().get_config()
        for k in ("num_oov_indices", "mask_token", "oov_token", "invert"):
            cfg.pop(k)
        return {**cfg, "standardize": self.standardize if not callable(self.standardize) else None,
                "split": self.split if not callable(self.split) else None, "ngrams": self.ngrams,
                "output_sequence_length": self.output_sequence_length, "ragged": False, "encoding": self.encoding}
