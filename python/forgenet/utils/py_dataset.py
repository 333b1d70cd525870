"""`PyDataset` (Keras 3's `keras.utils.PyDataset`, alias `Sequence`): a batch source that fit reads by index.

Subclass it, call `super().__init__(**kwargs)`, and define `__len__` (number of batches) and
`__getitem__(index)` (a whole batch: `x`, `(x, y)` or `(x, y, sample_weight)`); `on_epoch_begin` /
`on_epoch_end` run around each epoch. `workers` > 1 makes fit read batches ahead on that many
threads (at most `max_queue_size` waiting), in order; `use_multiprocessing=True` is not supported.
"""
from __future__ import annotations

import itertools
import numbers
import warnings


class PyDataset:
    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        if not isinstance(workers, numbers.Integral) or isinstance(workers, bool) or workers < 0:
            raise ValueError(f"PyDataset: workers must be a non-negative integer, got {workers!r}")
        if not isinstance(max_queue_size, numbers.Integral) or max_queue_size < 1:
            raise ValueError(f"PyDataset: max_queue_size must be a positive integer, got {max_queue_size!r}")
        if use_multiprocessing:
            raise NotImplementedError("PyDataset: use_multiprocessing=True is not supported by forgenet; use "
                                      "workers=N (threads; the kernels release the GIL) instead")
        self._workers = int(workers)
        self._use_multiprocessing = False
        self._max_queue_size = int(max_queue_size)

    def _settings(self):
        if not hasattr(self, "_workers"):
            warnings.warn("Your `PyDataset` class should call `super().__init__(**kwargs)` in its constructor. "
                          "`**kwargs` can include `workers`, `use_multiprocessing`, `max_queue_size`.", stacklevel=3)
            self._workers, self._use_multiprocessing, self._max_queue_size = 1, False, 10

    @property
    def workers(self):
        self._settings()
        return self._workers

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        self._settings()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        if value:
            raise NotImplementedError("PyDataset: use_multiprocessing=True is not supported by forgenet")
        self._use_multiprocessing = False

    @property
    def max_queue_size(self):
        self._settings()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) returning a batch")

    @property
    def num_batches(self):
        """The number of batches, or None for an endless dataset (then fit needs steps_per_epoch)."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ (or a num_batches property)")

    def __iter__(self):
        n = self.num_batches
        for i in (range(n) if n is not None else itertools.count()):
            yield self[i]

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


Sequence = PyDataset
