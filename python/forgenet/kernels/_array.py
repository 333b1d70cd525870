"""Argument handling shared by every op: backend dispatch and validation.

Every public op funnels its array arguments through `as_f32` (or `as_labels`), so that errors read
the same everywhere: they name the op and the argument, say what was expected and what came.
"""
from __future__ import annotations

import numbers
import operator

import numpy as np

from forgenet import _C

_F32 = np.dtype(np.float32)  # numpy's canonical float32 (an unpickled one may be another object: slow path)


def backend(op: str, *arrays):
    """The extension module that runs `op` on these arrays: `_C` for numpy, `_cuda` for CuPy.

    Mixing array kinds is an error rather than a silent transfer.
    """
    for a in arrays:  # the common case (numpy arrays only), checked on every op call, kept cheap
        if a is not None and type(a) is not np.ndarray:
            break
    else:
        return _C
    kinds = {_kind(a) for a in arrays if a is not None}
    if len(kinds) > 1:
        raise TypeError(f"{op}: all arrays must be on the same device, got a mix of {sorted(kinds)}")
    if kinds == {"cupy"}:
        from forgenet import _cuda_backend  # imported lazily: importing forgenet never needs a GPU

        return _cuda_backend.module(op)
    return _C


def _kind(a) -> str:
    mod = type(a).__module__
    return "cupy" if mod.startswith("cupy") else "numpy"


def _refuse_tensor(op: str, name: str, a):
    # a Tensor converts to an array through __array__, which would silently cut it out of the graph
    from forgenet.autograd.tensor import Tensor

    if isinstance(a, Tensor):
        raise TypeError(f"{op}: {name} is a forgenet Tensor; forgenet.kernels take arrays (use forgenet.ops or "
                        "forgenet.functional on Tensors, or pass tensor.numpy() to cut it from the graph)")


def _from_torch(op: str, name: str, t):
    """A CPU float32-or-integer torch tensor as a numpy array without a copy, or forgenet's error for
    what DLPack cannot (or should not) carry: autograd tensors, sparse or quantized layouts, other
    devices, meta tensors. torch's own BufferError / RuntimeError never reaches the caller."""
    if getattr(t, "requires_grad", False):
        raise TypeError(f"{op}: {name} is a torch tensor that requires grad; forgenet.kernels record no torch "
                        "gradients, so pass {name}.detach() (or use forgenet.ops on forgenet Tensors)".replace("{name}", name))
    layout = str(getattr(t, "layout", "torch.strided"))
    if layout != "torch.strided":
        raise TypeError(f"{op}: {name} must be a dense (strided) tensor, got a torch tensor with layout {layout} "
                        f"(convert with {name}.to_dense())")
    device = getattr(t, "device", None)
    if device is not None and getattr(device, "type", "cpu") != "cpu":
        raise TypeError(f"{op}: {name} is a torch tensor on {device}; forgenet.kernels take CPU tensors (numpy, or "
                        f"anything with __dlpack__ on the CPU) or CuPy arrays on the GPU (pass {name}.cpu())")
    if getattr(t, "is_quantized", False):
        raise TypeError(f"{op}: {name} is a quantized torch tensor ({t.dtype}); dequantize it first")
    dtype = str(getattr(t, "dtype", ""))
    if dtype in ("torch.bfloat16", "torch.complex32") or dtype.startswith(("torch.float8", "torch.qu", "torch.qi")):
        raise TypeError(f"{op}: {name} must be float32, got {dtype} (convert with {name}.float())")
    if getattr(t, "is_conj", lambda: False)() or getattr(t, "is_neg", lambda: False)():
        t = t.resolve_conj().resolve_neg()
    return _dlpack(op, name, t)


def _dlpack(op: str, name: str, a):
    try:
        return np.from_dlpack(a)  # e.g. a torch CPU tensor, without a copy
    except Exception as e:  # noqa: BLE001 - any producer's refusal becomes forgenet's error
        raise TypeError(f"{op}: {name} ({type(a).__name__}) cannot be read as a CPU array through DLPack: "
                        f"{type(e).__name__}: {e}") from None


def _as_numpy(op: str, name: str, a):
    """a (numpy array, torch tensor, DLPack producer, nested sequence) as a numpy array, or TypeError
    naming the op and the argument (never a foreign exception)."""
    if isinstance(a, np.ndarray):
        return a
    if type(a).__module__.split(".")[0] == "torch":
        return _from_torch(op, name, a)
    if hasattr(a, "__dlpack__") and not isinstance(a, (list, tuple)):
        return _dlpack(op, name, a)
    try:
        return np.asarray(a)
    except Exception as e:  # noqa: BLE001 - ragged lists, objects whose __array__ raises, ...
        raise TypeError(f"{op}: {name} must be an array, got {type(a).__name__} that numpy cannot convert: "
                        f"{type(e).__name__}: {e}") from None


def as_f32(op: str, name: str, a, ndim: int | None = None):
    """Return `a` as a C-contiguous float32 array of rank `ndim` in native byte order; never casts other
    dtypes (a float32 array in the other byte order, or one that came through pickle, is float32)."""
    if type(a) is np.ndarray and a.dtype is _F32 and a.flags.c_contiguous and (ndim is None or a.ndim == ndim):
        return a  # already what the kernels take: the per-call cost of the common case stays small
    _refuse_tensor(op, name, a)
    if _kind(a) == "cupy":
        import cupy as xp
    else:
        xp = np
        a = _as_numpy(op, name, a)
    dt = a.dtype
    if not (dt.kind == "f" and dt.itemsize == 4):
        raise TypeError(f"{op}: {name} must be float32, got {dt}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{op}: {name} must have rank {ndim}, got shape {tuple(a.shape)}")
    if not dt.isnative:
        a = a.astype(np.float32)  # the same values in this machine's byte order
    # not ascontiguousarray, which would turn a 0-d array into a 1-d one
    return a if a.flags.c_contiguous else xp.ascontiguousarray(a)


def as_labels(op: str, name: str, a, num_classes: int):
    """Integer class labels as a contiguous int64 vector with values in [0, num_classes): the range is checked
    here because a GPU kernel cannot raise; the vector's length against the logits is the contract's."""
    _refuse_tensor(op, name, a)
    xp = np
    if _kind(a) == "cupy":
        import cupy as xp
    else:
        a = _as_numpy(op, name, a)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must be integer class ids, got {a.dtype}")
    if a.size and (int(a.min()) < 0 or int(a.max()) >= num_classes):
        bad = int(a.min()) if int(a.min()) < 0 else int(a.max())
        raise ValueError(f"{op}: {name} must be in [0, {num_classes}), got {bad}")
    return xp.ascontiguousarray(a, dtype=np.int64)


def out_kw(out) -> dict:
    """The out= keyword for the extension call: absent when None. A given buffer goes down as is (never
    converted: a converted copy would receive the result instead of the caller's array); the op's
    contract checks it (float32, C-contiguous, writeable, the output's exact shape, no memory shared
    with an input) and the kernel writes into it."""
    return {} if out is None else {"out": out}


def index(op: str, name: str, v) -> int:
    """A Python int from anything with __index__ (not floats, not bools), or TypeError naming it."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be an int, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__} {v!r}") from None


def pair(op: str, name: str, v) -> tuple[int, int]:
    """An int or a pair of ints, each >= 1 (Keras accepts both for kernel_size, strides, pool_size)."""
    if isinstance(v, numbers.Integral):
        v = (int(v), int(v))
    try:
        h, w = (int(t) for t in v)
        if (h, w) != tuple(v):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {v!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"{op}: {name} must be positive, got {(h, w)}")
    return h, w


def padding_word(op: str, padding) -> str:
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    return p


def real(op: str, name: str, v) -> float:
    """A Python float from a real number (not a bool), or TypeError naming it; its range is the contract's."""
    if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "fiu":  # a 0-d array from a schedule
        v = v.item()
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {type(v).__name__} {v!r}")
    return float(v)


def channel_fill(x, axis, p, fill: float):
    """p, or for None (Keras's scale=False / center=False) a float32 vector of `fill` as long as x's `axis`, on
    x's device. An x or axis the contract will refuse gets an empty one: the contract's message then names
    the real problem."""
    if p is not None:
        return p
    ok = getattr(x, "ndim", 0) >= 1 and isinstance(axis, numbers.Integral) and -x.ndim <= axis < x.ndim
    c = x.shape[axis] if ok else 0
    xp = __import__("cupy") if _kind(x) == "cupy" else np
    return xp.full((c,), fill, dtype=np.float32)
