"""One rule for every keras.ops function: Tensors in -> recorded Tensors out; arrays in -> arrays out.

`@tensor_op("x", "y")` names the parameters that are tensors ("xs*" for a sequence of them). When
any of them is a Tensor the function runs on Tensors and records its backward; otherwise it runs
eagerly without a graph and returns arrays. Python scalars and lists become arrays as Keras converts
them: floats float32, ints int32, bools bool.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from forgenet.autograd.tensor import Tensor, array_module, no_grad


def _has_tensor(v) -> bool:
    if isinstance(v, Tensor):
        return True
    return isinstance(v, (list, tuple)) and any(_has_tensor(t) for t in v)


def as_array(x):
    """A Python scalar/list as Keras's convert_to_tensor makes it; arrays (numpy, CuPy) unchanged."""
    if isinstance(x, Tensor) or (hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.generic)):
        return x
    if hasattr(x, "__dlpack__") and not isinstance(x, np.generic):
        return np.from_dlpack(x)
    a = np.asarray(x)
    if a.dtype == np.float64 and not isinstance(x, np.generic):
        a = a.astype(np.float32)
    elif a.dtype == np.int64 and not isinstance(x, np.generic):
        a = a.astype(np.int32)
    return a


def _convert(v, seq, wrap):
    if seq:
        return [_convert(t, False, wrap) for t in v]
    a = as_array(v)
    return Tensor(a) if wrap and not isinstance(a, Tensor) else a


def _unwrap(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(t) for t in x)
    x = x.data if isinstance(x, Tensor) else x
    return np.asarray(x) if isinstance(x, np.generic) else x  # 0-d results stay arrays


def tensor_op(*names):
    """Decorate a function written on Tensors (with forgenet.functional) so it also takes arrays."""

    def deco(fn):
        sig = inspect.signature(fn)
        specs = [(n.rstrip("*"), n.endswith("*")) for n in names]

        @functools.wraps(fn)
        def op(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            a = bound.arguments
            present = [(n, seq) for n, seq in specs if n in a and a[n] is not None]
            graph = any(_has_tensor(a[n]) for n, _ in present)
            for n, seq in present:
                if sig.parameters[n].kind is inspect.Parameter.VAR_POSITIONAL:
                    a[n] = tuple(_convert(t, False, True) for t in a[n])
                else:
                    a[n] = _convert(a[n], seq, True)
            if graph:
                return fn(*bound.args, **bound.kwargs)
            with no_grad():
                return _unwrap(fn(*bound.args, **bound.kwargs))

        return op

    return deco


def array_op(*names):
    """Decorate a function on raw arrays (no gradient: argmax, comparisons, ...): Tensors are unwrapped,
    and the result is a (constant) Tensor when any input was one."""

    def deco(fn):
        sig = inspect.signature(fn)
        specs = [(n.rstrip("*"), n.endswith("*")) for n in names]

        @functools.wraps(fn)
        def op(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            a = bound.arguments
            present = [(n, seq) for n, seq in specs if n in a and a[n] is not None]
            graph = any(_has_tensor(a[n]) for n, _ in present)
            for n, seq in present:
                if sig.parameters[n].kind is inspect.Parameter.VAR_POSITIONAL:
                    a[n] = tuple(_unwrap(_convert(t, False, False)) for t in a[n])
                else:
                    a[n] = _unwrap(_convert(a[n], seq, False))
            out = fn(*bound.args, **bound.kwargs)
            return _rewrap(out) if graph else _unwrap(out)

        return op

    return deco


def _rewrap(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_rewrap(t) for t in x)
    return Tensor(x) if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, Tensor) else x


def xp_of(*xs):
    for x in xs:
        if hasattr(x, "shape") and not isinstance(x, np.ndarray) and type(x).__module__.startswith("cupy"):
            return array_module(x)
    return np
