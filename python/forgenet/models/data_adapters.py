"""The data fit / evaluate / predict take, validated, split and batched (Keras 3's data adapters).

Every input becomes an adapter that yields batches as Keras packs them: `(x,)`, `(x, y)` or
`(x, y, sample_weight)`, each part an array or a list / tuple / dict of arrays:
- arrays: numpy, anything with `__dlpack__` (torch CPU tensors), anything `np.asarray` takes, and
  lists / tuples / dicts of those (multi-input, multi-output); sliced into batches here, shuffled
  per epoch (or within each batch with shuffle="batch"); `validation_split`, `sample_weight` and
  `class_weight` apply only to them;
- Python generators and iterators, yielding batches, and torch DataLoaders (read afresh each epoch);
- `forgenet.utils.PyDataset`, read by index (batch order shuffled when shuffle=True, as Keras does).
`EpochIterator` walks an adapter epoch by epoch with Keras's `steps_per_epoch` rules: with steps
given, an iterator carries on across epochs until it runs out.
"""
from __future__ import annotations

import math
import numbers
import types
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from forgenet.autograd.tensor import Tensor
from forgenet.utils.packing import pack_x_y_sample_weight, unpack_x_y_sample_weight  # noqa: F401 (re-exported)
from forgenet.utils.py_dataset import PyDataset
from forgenet.utils.random import get_rng


# ---- structures (what keras.tree does for the flat list / tuple / dict cases) ----------------------
def is_nested(s) -> bool:
    return isinstance(s, (list, tuple, dict))


def map_structure(fn, s):
    if isinstance(s, dict):
        return {k: map_structure(fn, v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        return type(s)(map_structure(fn, v) for v in s)
    return None if s is None else fn(s)


def flatten(s) -> list:
    """Leaves in Keras's order (dict values by sorted key), None leaves dropped."""
    if isinstance(s, dict):
        return [leaf for k in sorted(s) for leaf in flatten(s[k])]
    if isinstance(s, (list, tuple)):
        return [leaf for v in s for leaf in flatten(v)]
    return [] if s is None else [s]


def _pack(x, y, sample_weight) -> tuple:
    return (x,) if y is None else (x, y) if sample_weight is None else (x, y, sample_weight)


# ---- arrays -------------------------------------------------------------------------------------
def _is_array_leaf(a) -> bool:
    return isinstance(a, (np.ndarray, Tensor, numbers.Number)) or hasattr(a, "__dlpack__") \
        or hasattr(a, "__array__") or type(a).__module__.startswith("cupy")


def is_array_data(s) -> bool:
    """True for an array, or a (nested) list / tuple / dict of arrays (or of Python numbers)."""
    if isinstance(s, dict):
        return all(is_array_data(v) for v in s.values())
    if isinstance(s, (list, tuple)):
        return len(s) > 0 and all(v is None or is_array_data(v) or isinstance(v, numbers.Number) for v in s)
    return s is None or _is_array_leaf(s)


def to_array(a, who: str, what: str):
    """A numpy (or CuPy) array with a batch axis, from an array, a Tensor, a DLPack producer or a list."""
    if isinstance(a, Tensor):
        a = a.data
    if not isinstance(a, np.ndarray) and not type(a).__module__.startswith("cupy"):
        if hasattr(a, "__dlpack__") and not isinstance(a, (list, tuple)):
            if hasattr(a, "detach"):  # a torch tensor that requires grad refuses to export
                a = a.detach()
            try:
                a = np.from_dlpack(a)
            except (TypeError, RuntimeError, BufferError) as e:
                raise TypeError(f"{who}: {what} ({type(a).__name__}) could not be read through DLPack ({e}); "
                                "move it to the CPU first") from None
        else:
            try:
                a = np.asarray(a)
            except Exception as e:
                raise TypeError(f"{who}: {what} must be an array, got {type(a).__name__}") from e
    if a.ndim == 0:
        raise ValueError(f"{who}: {what} must have a batch axis, got a scalar")
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{who}: {what} must be numeric, got dtype {a.dtype}")
    return a


def _arrays(s, who, what):
    if isinstance(s, dict):
        return {k: _arrays(v, who, f"{what}[{k!r}]") for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        return type(s)(_arrays(v, who, f"{what}[{i}]") for i, v in enumerate(s))
    return None if s is None else to_array(s, who, what)


def class_weight_to_sample_weights(y, class_weight, who="fit"):
    """One weight per sample from {class id: weight}: ids are argmax of one-hot rows (Keras)."""
    if not isinstance(class_weight, dict):
        raise ValueError(f"{who}: class_weight must be a dict {{class index: weight}}, got "
                         f"{type(class_weight).__name__}")
    y = np.asarray(y.get() if hasattr(y, "get") and not isinstance(y, np.ndarray) else y)
    if y.ndim > 1:
        y = y.argmax(axis=-1) if y.shape[-1] != 1 else y.reshape(y.shape[:-1])
    if y.ndim != 1:
        raise ValueError(f"{who}: class_weight needs one class per sample (targets of shape (n,), (n, 1) or one-hot "
                         f"(n, classes)), got targets of shape {y.shape}; pass sample_weight instead")
    ids = np.round(y).astype(np.int64)
    table = {int(k): float(v) for k, v in class_weight.items()}
    return np.array([table.get(int(i), 1.0) for i in ids], dtype=np.float32)


def train_validation_split(arrays, validation_split, who):
    """(train, val): the last `validation_split` of the samples validate, before any shuffling (Keras)."""
    if not isinstance(validation_split, numbers.Real) or not 0.0 < validation_split < 1.0:
        raise ValueError(f"{who}: validation_split must be in [0, 1), got {validation_split!r}")
    if not is_array_data(arrays):
        raise ValueError(f"{who}: validation_split is only supported for arrays (numpy, DLPack tensors, lists and "
                         "dicts of them), not for generators or PyDataset; pass validation_data instead")
    arrays = _arrays(arrays, who, "x")
    leaves = flatten(arrays)
    n = len(leaves[0])
    split = int(math.floor(n * (1.0 - validation_split)))
    if split == 0 or split == n:
        raise ValueError(f"{who}: {n} samples are too few to split with validation_split={validation_split}")
    return map_structure(lambda a: a[:split], arrays), map_structure(lambda a: a[split:], arrays)


def _shuffle(n):
    """A permutation of range(n); under data parallelism rank 0's, so all ranks cut the same batches."""
    from forgenet.distribution import distribution

    perm = get_rng().permutation(n)
    d = distribution()
    return perm if d is None or d.size == 1 else d.same_everywhere(perm)


class ArrayAdapter:
    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False,
                 class_weight=None, who="fit"):
        x, y = _arrays(x, who, "x"), _arrays(y, who, "y")
        sample_weight = _arrays(sample_weight, who, "sample_weight")
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError(f"{who}: you cannot pass both class_weight and sample_weight")
            if is_nested(y):
                raise ValueError(f"{who}: class_weight is only supported for models with a single output")
            if y is None:
                raise ValueError(f"{who}: class_weight needs targets y")
            sample_weight = class_weight_to_sample_weights(y, class_weight, who)
        if sample_weight is not None and is_nested(y) and not is_nested(sample_weight):
            if not (sample_weight.ndim == 1 or (sample_weight.ndim == 2 and sample_weight.shape[1] == 1)):
                raise ValueError(f"{who}: for a model with several outputs a single sample_weight array must hold one "
                                 f"weight per sample (shape (n,)), got shape {sample_weight.shape}; pass one array "
                                 "per output for other shapes")
            sample_weight = map_structure(lambda _: sample_weight, y)
        sizes = [("x", len(a)) for a in flatten(x)] + [("y", len(a)) for a in flatten(y)] + \
                [("sample_weight", len(a)) for a in flatten(sample_weight)]
        if not sizes:
            raise ValueError(f"{who}: x is required")
        n = sizes[0][1]
        for what, size in sizes:
            if size != n:
                raise ValueError(f"{who}: x and {what} must have the same number of samples, got x with {n} and "
                                 f"{what} with {size}")
        if batch_size is None:
            batch_size = int(math.ceil(n / steps)) if steps else 32
        self.inputs = _pack(x, y, sample_weight)
        self.num_samples, self.batch_size, self.shuffle = n, batch_size, shuffle
        self.num_batches = int(math.ceil(n / batch_size))
        # single arrays (the common case) are sliced without walking a structure
        self._flat = all(not is_nested(p) for p in self.inputs)

    def __iter__(self):
        n, bs = self.num_samples, self.batch_size
        order = _shuffle(n) if self.shuffle and self.shuffle != "batch" else None
        for i in range(self.num_batches):
            lo, hi = i * bs, min((i + 1) * bs, n)
            if self.shuffle == "batch":
                idx = _shuffle(hi - lo) + lo
            else:
                idx = order[lo:hi] if order is not None else slice(lo, hi)
            if isinstance(idx, slice):
                take = lambda a: a[idx]  # noqa: E731
            else:
                take = lambda a: a.take(idx, axis=0)  # noqa: E731
            if self._flat:
                yield tuple(take(a) for a in self.inputs)
            else:
                yield tuple(map_structure(take, p) for p in self.inputs)

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


def _standardize(batch, who, what):
    if isinstance(batch, dict):
        return (batch,)
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        return (batch,)
    if len(batch) not in (1, 2, 3):
        raise ValueError(f"{who}: {what} must yield x, (x,), (x, y) or (x, y, sample_weight), got a tuple of "
                         f"{len(batch)} items")
    return batch


class GeneratorAdapter:
    """A Python generator or iterator of batches; each epoch reads on from where the last stopped."""

    num_batches = None

    def __init__(self, gen, who):
        self.gen, self.who = gen, who

    def __iter__(self):
        for batch in self.gen:
            yield _standardize(batch, self.who, "a generator")

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


class PyDatasetAdapter:
    def __init__(self, ds: PyDataset, class_weight=None, shuffle=False, who="fit"):
        self.ds, self.class_weight, self.shuffle, self.who = ds, class_weight, shuffle, who
        self.workers, self.queue = ds.workers, ds.max_queue_size
        if ds.use_multiprocessing:
            raise NotImplementedError(f"{who}: PyDataset(use_multiprocessing=True) is not supported")

    @property
    def num_batches(self):
        return self.ds.num_batches

    def _batch(self, i):
        batch = _standardize(self.ds[i], self.who, f"{type(self.ds).__name__}.__getitem__")
        if self.class_weight is not None:
            if len(batch) == 3:
                raise ValueError(f"{self.who}: you cannot pass class_weight when the PyDataset yields sample weights")
            if len(batch) == 2:
                batch = batch + (class_weight_to_sample_weights(to_array(batch[1], self.who, "y"),
                                                                self.class_weight, self.who),)
        return batch

    def _indices(self):
        n = self.num_batches
        if n is None:
            i = 0
            while True:
                yield i
                i += 1
        order = _shuffle(n) if self.shuffle else range(n)
        yield from (int(i) for i in order)

    def __iter__(self):
        if self.workers <= 1:
            for i in self._indices():
                yield self._batch(i)
            return
        # read ahead on threads, in order, at most max_queue_size batches waiting
        with ThreadPoolExecutor(self.workers) as pool:
            pending, indices = [], self._indices()
            try:
                for i in indices:
                    pending.append(pool.submit(self._batch, i))
                    if len(pending) >= self.queue:
                        yield pending.pop(0).result()
                while pending:
                    yield pending.pop(0).result()
            finally:
                for f in pending:
                    f.cancel()

    def on_epoch_begin(self):
        self.ds.on_epoch_begin()

    def on_epoch_end(self):
        self.ds.on_epoch_end()


def get_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False, class_weight=None,
                who="fit"):
    """The adapter for `x` (and y, sample_weight); unsupported combinations raise a ValueError naming them."""
    if isinstance(x, (ArrayAdapter, GeneratorAdapter, PyDatasetAdapter)):
        return x
    if isinstance(x, PyDataset):
        kind = "PyDataset"
    elif _is_torch_dataloader(x):
        kind = "torch DataLoader"
    elif isinstance(x, types.GeneratorType) or (hasattr(x, "__next__") and not _is_array_leaf(x)):
        kind = "generator"
    else:
        kind = None
    if kind is None:
        if x is None:
            raise ValueError(f"{who}: x is required")
        if not is_array_data(x):
            raise ValueError(f"{who}: unrecognized data type: x of type {type(x).__name__}; expected arrays (or lists "
                             "/ dicts of arrays), a generator or a forgenet.utils.PyDataset")
        return ArrayAdapter(x, y, sample_weight, batch_size, steps, shuffle, class_weight, who)
    for arg, value, what in (("y", y, "the targets"), ("sample_weight", sample_weight, "the sample weights")):
        if value is not None:
            raise ValueError(f"{who}: when x is a {kind}, `{arg}` should not be passed; {what} should be part of what "
                             f"the {kind} yields")
    if batch_size is not None:
        raise ValueError(f"{who}: when x is a {kind}, `batch_size` should not be passed; the {kind} makes the batches")
    if kind == "PyDataset":
        return PyDatasetAdapter(x, class_weight, shuffle, who)
    if class_weight is not None:
        raise ValueError(f"{who}: class_weight is not supported for {kind} inputs; yield (x, y, sample_weight) "
                         "instead")
    adapter = GeneratorAdapter(x, who)
    if kind == "torch DataLoader":  # re-iterable: each epoch starts it afresh, and its length is known
        adapter.num_batches = len(x)
    return adapter


def _is_torch_dataloader(x) -> bool:
    return any(c.__name__ == "DataLoader" and "torch.utils.data" in c.__module__ for c in type(x).__mro__)


class EpochIterator:
    """Batches of one epoch at a time, with Keras's rules for steps_per_epoch (see module doc)."""

    def __init__(self, adapter, steps_per_epoch=None, who="fit"):
        if steps_per_epoch is not None and (not isinstance(steps_per_epoch, numbers.Integral)
                                            or isinstance(steps_per_epoch, bool) or steps_per_epoch <= 0):
            raise ValueError(f"{who}: steps must be a positive integer or None, got {steps_per_epoch!r}")
        self.adapter, self.steps = adapter, steps_per_epoch
        self._known = adapter.num_batches
        self._it, self._seen = None, 0

    @property
    def num_batches(self):
        return self.steps or self._known

    def _ran_out(self):
        warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or generator "
                      "can generate at least `steps_per_epoch * epochs` batches.", stacklevel=4)

    def epoch(self):
        """Yield (step, batch) for one epoch; close() the generator to end the epoch early."""
        self.adapter.on_epoch_begin()
        try:
            steps = self.steps or self._known or -1
            if steps < 0:  # unknown length: read to the end
                for step, batch in enumerate(self.adapter):
                    yield step, batch
                return
            if self._it is None or self.steps is None:
                self._it, self._seen = iter(self.adapter), 0
            for step in range(steps):
                if self._known and self._seen >= self._known:
                    if self.steps:
                        self._ran_out()
                    break
                try:
                    batch = next(self._it)
                except StopIteration:
                    if self._known is None:
                        self._known = self._seen
                    self._ran_out()
                    self._it = None
                    break
                self._seen += 1
                yield step, batch
            if self._known and self._seen >= self._known:
                self._it = None
        finally:
            self.adapter.on_epoch_end()


def to_tensors(data, xp=np, cast_x=True):
    """A batch of arrays as the model computes on it: Tensors on the model's device, floats as float32
    (and x as float32 throughout when the model takes floats)."""
    def conv(a, cast_ints):
        if isinstance(a, Tensor):
            return a
        if not isinstance(a, np.ndarray) and not type(a).__module__.startswith("cupy"):
            a = to_array(a, "fit", "a batch")
        if a.dtype != np.float32 and (a.dtype.kind == "f" or cast_ints):
            a = a.astype(np.float32)
        return Tensor(a if xp is np else xp.asarray(a))

    x, y, sw = unpack_x_y_sample_weight(data)
    x = map_structure(lambda a: conv(a, cast_x), x)
    y = map_structure(lambda a: conv(a, False), y)
    sw = map_structure(lambda a: conv(a, True), sw)
    return pack_x_y_sample_weight(x, y, sw)
