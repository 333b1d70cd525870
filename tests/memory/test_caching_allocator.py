"""The caching allocator behind fit/evaluate/predict (forgenet.memory): reuse, zeroing, realloc,
limits, and that numpy's own allocator is untouched outside forgenet's loops."""
import threading

import numpy as np
import pytest

import forgenet
from forgenet import memory

try:
    from numpy._core.multiarray import get_handler_name
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import get_handler_name

BIG = 1 << 20  # well above the pool's 64 KiB floor


def test_handler_only_inside_the_scope():
    assert get_handler_name() == "default_allocator"
    with memory.caching():
        assert get_handler_name() == "forgenet_caching_pool"
        a = np.ones(BIG // 4, np.float32)
        assert get_handler_name(a) == "forgenet_caching_pool"
    assert get_handler_name() == "default_allocator"
    assert get_handler_name(np.ones(4)) == "default_allocator"
    del a  # made inside, freed outside: goes back through the pool's free


def test_another_thread_keeps_numpy_allocator():
    seen = []
    with memory.caching():
        t = threading.Thread(target=lambda: seen.append(get_handler_name()))
        t.start()
        t.join()
    assert seen == ["default_allocator"]


def test_blocks_are_reused_and_zeroed():
    with memory.caching():
        before = memory.stats()["hits"]
        a = np.full(BIG // 4, 7.0, np.float32)
        del a
        b = np.zeros(BIG // 4, np.float32)  # calloc from a dirty cached block must still be zeros
        assert memory.stats()["hits"] > before
        assert not b.any()
    assert memory.stats()["cached_bytes"] == 0  # the last scope's end returns everything


def test_realloc_keeps_contents():
    with memory.caching():
        a = np.arange(BIG // 8, dtype=np.float64)
        a.resize(BIG // 4, refcheck=False)
        np.testing.assert_array_equal(a[:BIG // 8], np.arange(BIG // 8))
        assert not a[BIG // 8:].any()


def test_limit_and_trim():
    with memory.caching():
        memory.set_cache_limit(0)
        try:
            del_me = np.ones(BIG, np.uint8)
            del del_me
            assert memory.stats()["cached_bytes"] == 0
        finally:
            memory.set_cache_limit(2 << 30)
        x = np.ones(BIG, np.uint8)
        del x
        assert memory.stats()["cached_bytes"] >= BIG
        memory.trim()
        assert memory.stats()["cached_bytes"] == 0
    with pytest.raises(ValueError, match="set_cache_limit: bytes must be >= 0, got -1"):
        memory.set_cache_limit(-1)
    with pytest.raises(TypeError, match="nbytes must be an int, got float"):
        memory.set_cache_limit(1.5)


def test_fit_runs_in_the_pool():
    model = forgenet.Sequential([forgenet.layers.Dense(256, activation="relu", input_shape=(512,)),
                                 forgenet.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((256, 512), dtype=np.float32)
    y = np.arange(256) % 4
    before = memory.stats()["hits"]
    model.fit(x, y, batch_size=64, epochs=2, verbose=0)
    model.predict(x, verbose=0)
    assert memory.stats()["hits"] > before
    assert memory.stats()["scopes"] == 0 and memory.stats()["cached_bytes"] == 0
    assert get_handler_name() == "default_allocator"
