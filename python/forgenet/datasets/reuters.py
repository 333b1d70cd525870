"""Reuters newswire topics, as keras.datasets.reuters (Keras's reuters.npz and reuters_word_index.json)."""
from __future__ import annotations

import json

import numpy as np

from forgenet.datasets._keras_files import locate
from forgenet.datasets._safe_pickle import load_npz
from forgenet.datasets._sequences import process

_LABELS = ("cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
           "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
           "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock",
           "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
           "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
              oov_char=2, index_from=3, **kwargs):
    if kwargs:
        raise TypeError(f"reuters.load_data: unrecognized arguments {sorted(kwargs)}")
    if not 0 <= test_split < 1:
        raise ValueError(f"reuters.load_data: test_split must be in [0, 1), got {test_split}")
    f = load_npz(locate("reuters", "reuters.npz", path))
    xs, labels = f["x"], f["y"]
    rng = np.random.RandomState(seed)
    i = np.arange(len(xs))
    rng.shuffle(i)
    xs, labels = xs[i], labels[i]
    ((xs, labels),) = process([xs], [labels], num_words=num_words, skip_top=skip_top, maxlen=maxlen,
                              start_char=start_char, oov_char=oov_char, index_from=index_from,
                              who="reuters.load_data")
    idx = int(len(xs) * (1 - test_split))
    return (xs[:idx], labels[:idx]), (xs[idx:], labels[idx:])


def get_word_index(path="reuters_word_index.json"):
    with open(locate("reuters", "reuters_word_index.json", path)) as f:
        return json.load(f)


def get_label_names():
    return _LABELS
