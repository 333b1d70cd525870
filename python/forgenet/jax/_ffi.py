"""forgenet.jax's XLA FFI route: the handlers compiled into forgenet._C (csrc/bindings/xla_ffi.cpp),
registered with XLA once, at import, for the CPU platform, and called through jax.ffi.ffi_call.

The route is on when _C has the handlers (it was built where jaxlib's headers were found), the
running jaxlib is not older than the one they were built against (the FFI's C API is promised to
accept older handlers, not newer ones), and FORGENET_JAX_FFI is not "0" in the environment at import.
An op whose family has a handler then runs on XLA's own buffers, with no host round trip through
Python; on any other platform (a GPU) lax.platform_dependent picks the callback path when the
computation is lowered.

vmap: every target is called with vmap_method="expand_dims". vmap prepends the mapped axes to every
operand and result, an unmapped operand getting size-1 axes; the handler runs the kernel once per
index of those axes, reading a size-1 axis for every index. So nothing is copied (broadcast_all would
materialise the unmapped operands once per index) and it stays one XLA call (sequential would be a
scan of one call per element).
"""
from __future__ import annotations

import contextlib
import os
import re

import jax
import jaxlib
from jax import lax

from forgenet import _C, _build_info

VMAP_METHOD = "expand_dims"

# the public ops with a handler, and the families they run through
FFI_OPS = frozenset({"gemm", "conv2d", "attention", "dot_product_attention", "lstm", "softmax", "layer_norm",
                     "max_pool2d", "avg_pool2d", "embedding",
                     "softmax_cross_entropy"})


def _version(s):
    return tuple(int(p) for p in re.findall(r"\d+", s)[:3])


def _register():
    """(the registered target names, why the route is off: '' when on)."""
    if os.environ.get("FORGENET_JAX_FFI", "").strip() == "0":
        return frozenset(), "FORGENET_JAX_FFI=0 in the environment"
    get = getattr(_C, "_xla_ffi_targets", None)
    targets = get() if get is not None else None
    if not targets:
        return frozenset(), "forgenet._C was built without jaxlib's XLA FFI headers"
    built = getattr(_build_info, "XLA_FFI_JAXLIB_VERSION", "")
    if built and _version(jaxlib.__version__) < _version(built):
        return frozenset(), (f"the handlers were built against jaxlib {built}, this process runs the older "
                             f"{jaxlib.__version__}")
    try:
        for name, capsule in targets.items():
            jax.ffi.register_ffi_target(name, capsule, platform="cpu")
    except Exception as e:  # an XLA that refuses the handlers (its FFI version): the callback path still works
        return frozenset(), f"jax.ffi.register_ffi_target refused the handlers: {e}"
    return frozenset(targets), ""


TARGETS, WHY_OFF = _register()  # WHY_OFF: '' when the route is on
_forced_callback = False


@contextlib.contextmanager
def forced_callback():
    """Traces inside take the callback path (tests and benchmarks compare the routes in one process)."""
    global _forced_callback
    old, _forced_callback = _forced_callback, True
    try:
        yield
    finally:
        _forced_callback = old


def active():
    return bool(TARGETS) and not _forced_callback


def call(target, out, *args, **attrs):
    """The FFI target on row-major buffers, attrs as its named attributes."""
    return jax.ffi.ffi_call(target, out, vmap_method=VMAP_METHOD)(*args, **attrs)


def dispatch(ffi_fn, callback_fn, *args):
    """ffi_fn(*args) where the route is on and the computation is lowered for a CPU, else callback_fn(*args)."""
    if not active():
        return callback_fn(*args)
    return lax.platform_dependent(*args, cpu=ffi_fn, default=callback_fn)
