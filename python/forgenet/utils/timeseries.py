"""keras.utils.timeseries_dataset_from_array, as a PyDataset-like sequence of batches.

Keras returns a tf.data.Dataset; here the result is an indexable, iterable object of (x, y) batches
(x alone when targets is None) that fit / evaluate / predict take like a PyDataset or generator.
"""
from __future__ import annotations

import numpy as np


class TimeseriesDataset:
    """Batches of windows: x[b] = data[start + p_b + j * sampling_rate for j < sequence_length]."""

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size):
        self.data, self.targets, self.starts = data, targets, starts
        self.sequence_length, self.sampling_rate, self.batch_size = sequence_length, sampling_rate, batch_size
        self._offsets = np.arange(sequence_length) * sampling_rate

    def __len__(self):
        if self.batch_size is None:
            return len(self.starts)
        return -(-len(self.starts) // self.batch_size)

    @property
    def num_batches(self):
        return len(self)

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"TimeseriesDataset: batch {i} out of range ({len(self)} batches)")
        i %= len(self)
        if self.batch_size is None:
            s = self.starts[i:i + 1]
        else:
            s = self.starts[i * self.batch_size:(i + 1) * self.batch_size]
        x = self.data[s[:, None] + self._offsets[None, :]]
        if self.batch_size is None:
            x = x[0]
        if self.targets is None:
            return x
        y = self.targets[s] if self.batch_size is not None else self.targets[s[0]]
        return x, y

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None):
    data = np.asarray(data)
    if start_index is not None and (start_index < 0 or start_index >= len(data)):
        raise ValueError(f"`start_index` must be 0 or greater and smaller than `data`. Received: "
                         f"start_index={start_index} for data of length {len(data)}")
    if end_index is not None:
        if start_index is not None and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: start_index={start_index}, "
                             f"and end_index={end_index}")
        if end_index >= len(data):
            raise ValueError(f"`end_index` must be lower than the length of `data`. Received: end_index={end_index}, "
                             f"for data of length {len(data)}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    for name, v in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride),
                    ("sequence_length", sequence_length)):
        if not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={v}")
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size <= 0):
        raise ValueError(f"`batch_size` must be a positive integer or None. Received: batch_size={batch_size}")
    start = 0 if start_index is None else start_index
    end = len(data) if end_index is None else end_index
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        num_seqs = min(num_seqs, len(targets))
    starts = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        np.random.RandomState(np.random.randint(1e6) if seed is None else seed).shuffle(starts)
    # windows index data from start_index on; targets line up with each window's first step
    if targets is not None:
        targets = targets[start:]
    return TimeseriesDataset(data[start:], targets, starts, sequence_length, sampling_rate, batch_size)
