"""forgenet's caching allocator for its own loops.

`fit`, `evaluate` and `predict` run inside `caching()`: numpy arrays made there (activations,
gradients, batch copies) come from a pool that keeps freed blocks of 64 KiB and more for the next
step, instead of glibc mapping and unmapping them (a page fault per 4 KiB touched, about 1,850 per
step of the seed CNN). Outside those loops numpy's own allocator is untouched: the handler is a
numpy context variable set only for the loop, and no process-wide malloc setting changes. When the
last loop ends the pool returns its blocks to the system.
"""
from __future__ import annotations

import contextlib

from forgenet import _C


@contextlib.contextmanager
def caching():
    """Serve numpy allocations in this block (this thread / context) from forgenet's pool."""
    _C._pool_open()
    try:
        old = _C._numpy_handler_set(_C._pool_handler())
    except BaseException:
        _C._pool_close()
        raise
    try:
        yield
    finally:
        _C._numpy_handler_set(old)
        _C._pool_close()


def stats() -> dict:
    """cached_bytes / cached_blocks held now, hits / misses since start, limit_bytes, open scopes."""
    return _C._pool_stats()


def trim() -> None:
    """Return every cached block to the system now."""
    _C._pool_trim()


def set_cache_limit(nbytes: int) -> None:
    """At most this many bytes of free blocks are kept (default 2 GiB); 0 disables the cache."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int):
        raise TypeError(f"forgenet.memory.set_cache_limit: nbytes must be an int, got {type(nbytes).__name__}")
    _C._pool_set_limit(nbytes)


def in_pool(method):
    """Decorator for forgenet's own loops (fit / evaluate / predict): run the whole call in caching()."""
    import functools

    @functools.wraps(method)
    def run(*args, **kwargs):
        with caching():
            return method(*args, **kwargs)

    return run
