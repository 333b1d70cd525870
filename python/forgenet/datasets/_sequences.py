"""What imdb and reuters share: Keras's word-id processing (start_char, index_from, maxlen, num_words,
skip_top, oov_char) on lists of word ids."""
from __future__ import annotations

import numpy as np


def process(xs_parts, labels_parts, *, num_words, skip_top, maxlen, start_char, oov_char, index_from, who):
    """xs_parts: lists of sequences per split; returns the processed splits (object arrays) and labels."""
    out_x, out_y = [], []
    for xs, ys in zip(xs_parts, labels_parts):
        if start_char is not None:
            xs = [[start_char] + [w + index_from for w in x] for x in xs]
        elif index_from:
            xs = [[w + index_from for w in x] for x in xs]
        else:
            xs = [list(x) for x in xs]
        if maxlen:
            keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
            xs, ys = [xs[i] for i in keep], ys[keep]
            if not xs:
                raise ValueError(f"{who}: after filtering for sequences shorter than maxlen={maxlen}, no sequence "
                                 "was kept. Increase maxlen.")
        out_x.append(xs)
        out_y.append(ys)
    every = [x for xs in out_x for x in xs]
    if not num_words:
        num_words = max(max(x) for x in every if x)
    result = []
    for xs, ys in zip(out_x, out_y):
        if oov_char is not None:
            xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
        else:
            xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
        arr = np.empty(len(xs), dtype=object)
        arr[:] = xs
        result.append((arr, ys))
    return result
