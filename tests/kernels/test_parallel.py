"""The one parallel loop (csrc/cpu/parallel.h) and the per-thread scratch arena (common/workspace.h's
Scratch), through their test hooks in forgenet._C: chunking and the serial fallback, no nested regions,
errors raised inside a region reaching Python, and scratch frames reused across calls."""
import numpy as np
import pytest

import forgenet
import forgenet._C as C


@pytest.fixture
def two_threads():
    saved = C.get_num_threads()
    C.set_num_threads(2)
    yield
    C.set_num_threads(saved)


def covers(chunks, n):
    spans = sorted((lo, hi) for _, lo, hi, _ in chunks)
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))


def test_below_two_grains_runs_serially(two_threads):
    for n, grain in ((1, 1), (10, 6), (199, 100), (5, 10**9)):
        chunks = C._parallel_for_probe(n, grain)
        assert [c[:3] for c in chunks] == [(0, 0, n)]


def test_chunks_cover_the_range_once(two_threads):
    for n, grain in ((2, 1), (1000, 3), (12345, 5000)):
        chunks = C._parallel_for_probe(n, grain)
        assert len(chunks) == min(2, n // grain)
        assert [c[0] for c in chunks] == list(range(len(chunks)))
        covers(chunks, n)
        assert all(hi - lo >= grain for _, lo, hi, _ in chunks)


def test_one_thread_and_empty_ranges(two_threads):
    assert C._parallel_for_probe(0, 1) == []
    C.set_num_threads(1)
    assert [c[:3] for c in C._parallel_for_probe(1000, 1)] == [(0, 0, 1000)]


def test_no_nested_regions(two_threads):
    chunks = C._parallel_for_probe(1000, 1)
    assert len(chunks) == 2
    assert all(inner == 1 for *_, inner in chunks)          # inside a region: serial
    serial = C._parallel_for_probe(10, 100)
    assert serial[0][3] == 2                                 # outside one: the inner loop may use the team


@pytest.mark.parametrize("n, grain, fail_at", [(1000, 1, 0), (1000, 1, 999), (1000, 1, 500), (10, 100, 3)])
def test_errors_inside_the_region_reach_python(two_threads, n, grain, fail_at):
    with pytest.raises(ValueError, match=f"parallel_for probe: failed at index {fail_at}"):
        C._parallel_for_probe(n, grain, fail_at)
    assert len(C._parallel_for_probe(n, grain)) >= 1       # and the next call runs normally


def test_scratch_frames_are_reused():
    a = C._scratch_probe(1000, 5000)
    for _ in range(3):
        assert C._scratch_probe(1000, 5000) == a             # steady state: no new memory
    assert all(p % 64 == 0 for p in a)
    b = C._scratch_probe(900, 4000)                          # smaller frames fit where the larger were
    assert b[0] == a[0] and b[1] in (a[1], a[0] + 912 * 4)  # (the inner one right after the outer, or in
                                                              # the next block when that was too small)


def test_scratch_failure_is_a_memory_error_and_recovers():
    C._scratch_probe(1000, 1000)
    with pytest.raises(MemoryError, match="scratch probe's outer frame"):
        C._scratch_probe(1 << 50, 0)
    with pytest.raises(MemoryError, match="scratch probe's inner frame"):
        C._scratch_probe(1000, 1 << 50)
    with pytest.raises(MemoryError, match="overflows int64"):
        C._scratch_probe(1 << 62, 0)                         # sizes saturate instead of wrapping round
    b = C._scratch_probe(1000, 1000)
    assert len(b) == 2 and b[0] % 64 == 0


def test_ops_agree_across_thread_counts(two_threads):
    # the parallel and serial paths of converted families give the same results (partials in chunk order)
    import forgenet.kernels as K
    rng = np.random.default_rng(1)
    x = rng.standard_normal((512, 96)).astype(np.float32)
    g, b = rng.standard_normal(96).astype(np.float32), rng.standard_normal(96).astype(np.float32)
    two = K.batch_norm(x, g, b)[0], K.layer_norm(x, g, b)[0], K.softmax(x)
    C.set_num_threads(1)
    one = K.batch_norm(x, g, b)[0], K.layer_norm(x, g, b)[0], K.softmax(x)
    for p, q in zip(two, one):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-5)
