"""Fork safety and the thread count. The kernels' pool has no workers in a forked child; the child
builds a new one on first use and keeps the parent's thread count (OpenMP, which forgenet used to run
on, hung there instead). The count is one for the whole process, whichever Python thread sets it."""
import pytest

from _subproc import ok, run_py

FORK = """
import multiprocessing as mp, warnings
import numpy as np
import forgenet, forgenet.kernels as K
forgenet.set_num_threads(2)
a = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
x = np.random.default_rng(1).standard_normal((4, 16, 16, 8)).astype(np.float32)
k = np.random.default_rng(2).standard_normal((3, 3, 8, 8)).astype(np.float32)
ref = K.gemm(a, a)                       # big enough to start the pool's workers
ref_c = K.conv2d(x, k, padding="same")

def child(_):
    from forgenet import _C
    assert forgenet.get_num_threads() == 2   # the parent's count
    _, slots = _C._parallel_run_probe(64, 2)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        forgenet.set_num_threads(3)
        same = bool(np.array_equal(K.gemm(a, a), ref)) and bool(np.allclose(K.conv2d(x, k, padding="same"), ref_c))
    assert forgenet.get_num_threads() == 3 and not w, [str(m.message) for m in w]
    forgenet.set_num_threads(2)              # the pool's workers run several tasks each
    return same and set(slots) <= {0, 1}

ctx = mp.get_context("fork")
with ctx.Pool(2) as pool:
    res = pool.map_async(child, range(4))
    print(res.get(timeout=60))
assert forgenet.get_num_threads() == 2   # the parent keeps its threads
"""


def test_forked_child_runs_parallel_ops():
    out = ok(FORK, timeout=120)
    assert out.strip() == "[True, True, True, True]"


def test_os_fork_child_after_threads():
    ok("""
import os, numpy as np, forgenet, forgenet.kernels as K
forgenet.set_num_threads(2)
a = np.ones((300, 300), np.float32)
K.gemm(a, a)
pid = os.fork()
if pid == 0:
    ok = np.allclose(K.gemm(a, a), 300.0)
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
assert os.WEXITSTATUS(status) == 0, status
""", timeout=60)


def test_thread_count_is_process_wide():
    ok("""
import threading, forgenet
forgenet.set_num_threads(1)
seen = []
t = threading.Thread(target=lambda: (seen.append(forgenet.get_num_threads()), forgenet.set_num_threads(2)))
t.start(); t.join()
assert seen == [1] and forgenet.get_num_threads() == 2, (seen, forgenet.get_num_threads())
""")


@pytest.mark.parametrize("env, want", [("3", 3), ("1,2", 1), (" 2 ", 2), ("0", None), ("x", None), ("", None)])
def test_default_thread_count_reads_omp_num_threads(env, want):
    # the variable users set to cap every library's threads; anything but a positive count: the CPUs
    out = ok(f"""
import os, forgenet
print(forgenet.get_num_threads(), len(os.sched_getaffinity(0)))
""", env={"OMP_NUM_THREADS": env})
    got, cpus = map(int, out.split())
    assert got == (want if want is not None else cpus)


@pytest.mark.parametrize("n", [0, -1, 100000, 2**70])
def test_set_num_threads_bounds(n):
    import forgenet
    from forgenet import _C

    with pytest.raises(ValueError, match=r"set_num_threads: n must"):
        forgenet.set_num_threads(n)
    assert 1 <= forgenet.get_num_threads() <= _C._max_threads()


@pytest.mark.parametrize("bad", [2.5, "4", None])
def test_set_num_threads_types(bad):
    import forgenet

    with pytest.raises(TypeError, match=r"set_num_threads: n must be an int"):
        forgenet.set_num_threads(bad)


def test_set_num_threads_top_of_range_works():
    ok("""
import forgenet, numpy as np, forgenet.kernels as K
from forgenet import _C
forgenet.set_num_threads(_C._max_threads())
a = np.ones((64, 64), np.float32)
assert np.allclose(K.gemm(a, a), 64)
forgenet.set_num_threads(1)
""")
