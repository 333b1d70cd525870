"""IMDB movie-review sentiment, as keras.datasets.imdb (Keras's imdb.npz and imdb_word_index.json)."""
from __future__ import annotations

import json

import numpy as np

from forgenet.datasets._keras_files import locate
from forgenet.datasets._safe_pickle import load_npz
from forgenet.datasets._sequences import process


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    """((x_train, y_train), (x_test, y_test)): x are object arrays of word-id lists, shuffled with `seed`."""
    if kwargs:
        raise TypeError(f"imdb.load_data: unrecognized arguments {sorted(kwargs)}")
    f = load_npz(locate("imdb", "imdb.npz", path))
    x_train, y_train, x_test, y_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    rng = np.random.RandomState(seed)
    i = np.arange(len(x_train))
    rng.shuffle(i)
    x_train, y_train = x_train[i], y_train[i]
    i = np.arange(len(x_test))
    rng.shuffle(i)
    x_test, y_test = x_test[i], y_test[i]
    (x_train, y_train), (x_test, y_test) = process(
        [x_train, x_test], [y_train, y_test], num_words=num_words, skip_top=skip_top, maxlen=maxlen,
        start_char=start_char, oov_char=oov_char, index_from=index_from, who="imdb.load_data")
    return (x_train, y_train), (x_test, y_test)


def get_word_index(path="imdb_word_index.json"):
    with open(locate("imdb", "imdb_word_index.json", path)) as f:
        return json.load(f)
