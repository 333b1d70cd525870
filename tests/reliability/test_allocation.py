"""Allocation failure, then success: under an address-space limit an op whose scratch or output does not
fit raises MemoryError naming the op and the size, and the next ordinary call of every op still works
(no scratch buffer keeps a capacity after its memory was freed; nothing allocates inside a parallel
region, where a failure would abort the process). Each case runs in its own interpreter."""
from _subproc import ok

LIMIT = """
import resource, re
import numpy as np
import forgenet.kernels as K
g = 1536 << 20
resource.setrlimit(resource.RLIMIT_AS, (g, g))
def oom(op, f):
    try:
        f()
    except MemoryError as e:
        msg = str(e)
        assert msg.startswith(op + ":"), msg
        assert re.search(r"[0-9.]+ (KiB|MiB|GiB|TiB|PiB|EiB)|overflows", msg), msg
        return msg
    raise AssertionError(op + ": no MemoryError")
rng = np.random.default_rng(0)
"""


def test_conv2d_scratch_failure_then_success():
    out = ok(LIMIT + """
def vmsize():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
xs = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
ks = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
y0 = K.conv2d(xs, ks, padding="same")
x = np.ones((1, 1024, 1024, 16), np.float32)      # 64 MiB, whose zero-padded copy is the forward's scratch
k = np.ones((3, 3, 16, 1), np.float32)            # one output channel: the output itself is small
resource.setrlimit(resource.RLIMIT_AS, (vmsize() + (24 << 20), g))   # room for the output, not the copy
print(oom("conv2d", lambda: K.conv2d(x, k, padding="same")))
for _ in range(3):                                # used to segfault: the scratch kept its capacity
    y = K.conv2d(xs, ks, padding="same")
    dx, dk, db = K.conv2d_backward(np.ones_like(y), xs, ks, padding="same")
assert np.array_equal(y, y0)
print(oom("conv2d_backward", lambda: K.conv2d_backward(np.ones((1, 1024, 1024, 1), np.float32), x, k, padding="same")))
y2 = K.conv2d(xs, ks, padding="same")
assert np.array_equal(y, y2)
""")
    assert "conv2d: cannot allocate" in out and "padded input" in out


def test_gemm_attention_lstm_failure_then_success():
    ok(LIMIT + """
a = np.ones((3, 5), np.float32); b = np.ones((5, 4), np.float32)
ref = K.gemm(a, b)
oom("gemm", lambda: K.gemm(np.ones((1 << 15, 1), np.float32), np.ones((1, 1 << 15), np.float32)))  # 4 GiB out
assert np.array_equal(K.gemm(a, b), ref)

q = np.ones((1, 1, 1, 1 << 22), np.float32)      # d = 4M: 64 query rows of scratch = 1 GiB per thread
print(oom("attention", lambda: K.attention(q, q, q)))
qs = rng.standard_normal((1, 2, 5, 8)).astype(np.float32)
o, lse = K.attention(qs, qs, qs, return_lse=True)
assert np.isfinite(o).all()
dq, dk, dv = K.attention_backward(np.ones_like(o), qs, qs, qs, o, lse)
assert np.isfinite(dq).all()

x = np.ones((1, 1 << 16, 1), np.float32); u = 256  # backward keeps (N, T, 4U) gate gradients: 256 MiB... x4
h = np.zeros((1, u), np.float32)
w, r, bias = np.zeros((1, 4 * u), np.float32), np.zeros((u, 4 * u), np.float32), np.zeros(4 * u, np.float32)
oom("lstm", lambda: K.lstm(np.ones((1, 1 << 20, 1), np.float32), h, h, w, r, bias, training=True))
y, hT, cT = K.lstm(np.ones((2, 3, 1), np.float32), np.zeros((2, u), np.float32), np.zeros((2, u), np.float32), w, r, bias)
assert y.shape == (2, 3, u)
""")
