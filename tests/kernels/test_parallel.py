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


# ---- the thread pool under parallel_for (csrc/cpu/thread_pool.h): claimed chunks, teams, callers

def _lstm_case(n, u, seed=0):
    rng = np.random.default_rng(seed)
    d, t = 16, 6
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    h0 = rng.standard_normal((n, u)).astype(np.float32)
    c0 = rng.standard_normal((n, u)).astype(np.float32)
    w = (rng.standard_normal((d, 4 * u)) * 0.1).astype(np.float32)
    r = (rng.standard_normal((u, 4 * u)) * 0.1).astype(np.float32)
    b = rng.standard_normal(4 * u).astype(np.float32)
    return x, h0, c0, w, r, b


@pytest.mark.parametrize("n,u", [(64, 64), (4, 256)])  # split by rows (claimed blocks); by units (a team)
def test_lstm_splits_agree_with_one_thread(two_threads, n, u):
    import forgenet.kernels as K
    args = _lstm_case(n, u)
    two = K.lstm(*args, training=True)
    dy = np.random.default_rng(1).standard_normal(two[0].shape).astype(np.float32)
    g2 = K.lstm_backward(dy, None, None, *args, two[3])
    C.set_num_threads(1)
    one = K.lstm(*args, training=True)
    g1 = K.lstm_backward(dy, None, None, *args, one[3])
    for p, q in zip(two[:3] + tuple(g2), one[:3] + tuple(g1)):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-5)


def test_python_threads_share_the_pool(two_threads):
    # kernels run without the GIL: a caller finding the pool busy runs its chunks itself
    import threading

    import forgenet.kernels as K
    rng = np.random.default_rng(2)
    a = rng.standard_normal((96, 300)).astype(np.float32)
    b = rng.standard_normal((300, 200)).astype(np.float32)
    args = _lstm_case(4, 256)
    want_g, want_l = K.gemm(a, b), K.lstm(*args)[0]
    bad = []

    def work():
        for _ in range(30):
            if not (np.array_equal(K.gemm(a, b), want_g) and np.array_equal(K.lstm(*args)[0], want_l)):
                bad.append(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads) and not bad


def test_more_threads_than_cores_and_back():
    # the pool grows to what set_num_threads asks; lowered again, only that many threads take chunks
    saved = C.get_num_threads()
    try:
        C.set_num_threads(5)
        five = C._parallel_for_probe(1000, 1)
        assert len(five) == 5
        covers(five, 1000)
        C.set_num_threads(2)
        two = C._parallel_for_probe(1000, 1)
        assert len(two) == 2
        covers(two, 1000)
    finally:
        C.set_num_threads(saved)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_gets_a_working_pool(two_threads):
    import multiprocessing as mp

    import forgenet.kernels as K
    a = np.ones((128, 256), np.float32)
    K.gemm(a, a.T)  # the parent's workers exist now; the child has none of them
    ctx = mp.get_context("fork")
    p = ctx.Process(target=_child_gemm)
    p.start()
    p.join(timeout=120)
    if p.is_alive():
        p.kill()
        pytest.fail("the forked child hung in a kernel")
    assert p.exitcode == 0


def _child_gemm():
    import os

    import forgenet.kernels as K
    a = np.ones((128, 256), np.float32)
    os._exit(0 if np.all(K.gemm(a, a.T) == 256.0) else 1)


@pytest.mark.parametrize("chunks,threads", [(1, 2), (7, 2), (7, 1), (100, 5), (20000, 2)])
def test_claimed_loops_run_every_chunk_once(chunks, threads):
    # 20000 is more than the pool's job word counts: it claims runs of consecutive chunks then
    runs, slots = C._parallel_run_probe(chunks, threads)
    assert runs == [1] * chunks
    assert all(0 <= s < threads for s in slots)
