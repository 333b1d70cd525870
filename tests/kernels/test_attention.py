import json
import os
import subprocess
import sys

import numpy as np
import pytest

import forgenet
from forgenet import _C, kernels

from support import assert_close


def ref_attention(q, k, v, causal=False, scale=None):
    """float64 softmax attention with the full score matrix: (o, lse, p)."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = np.einsum("bhid,bhjd->bhij", q, k, optimize=True) * scale
    nq, nk = s.shape[-2:]
    if causal:
        s = np.where(np.tril(np.ones((nq, nk), bool)), s, -np.inf)
    if nk == 0:
        return np.zeros(q.shape[:3] + v.shape[3:]), np.full(q.shape[:3], -np.inf), s
    m = s.max(-1, keepdims=True)
    p = np.exp(s - m)
    l = p.sum(-1, keepdims=True)
    return (p / l) @ v, (m + np.log(l))[..., 0], p / l


def ref_attention_backward(do, q, k, v, causal=False, scale=None):
    q, k, v, do = (np.asarray(a, np.float64) for a in (q, k, v, do))
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    o, _, p = ref_attention(q, k, v, causal, scale)
    dv = np.einsum("bhij,bhid->bhjd", p, do, optimize=True)
    dp = do @ np.swapaxes(v, -1, -2)
    ds = p * (dp - (do * o).sum(-1, keepdims=True)) * scale
    return ds @ k, np.einsum("bhij,bhid->bhjd", ds, q, optimize=True), dv


def inputs(rng, b, h, nq, nk, d, dv=None):
    dv = d if dv is None else dv
    return (rng.standard_normal((b, h, nq, d)).astype(np.float32),
            rng.standard_normal((b, h, nk, d)).astype(np.float32),
            rng.standard_normal((b, h, nk, dv)).astype(np.float32),
            rng.standard_normal((b, h, nq, dv)).astype(np.float32))


def check_against_reference(rng, b, h, nq, nk, d, dv=None, causal=False, scale=None):
    q, k, v, do = inputs(rng, b, h, nq, nk, d, dv)
    o, lse = kernels.attention(q, k, v, causal=causal, scale=scale, return_lse=True)
    ro, rlse, _ = ref_attention(q, k, v, causal, scale)
    assert_close(o, ro, rtol=1e-4, atol=2e-5, what="o")
    assert_close(lse, rlse, rtol=1e-5, atol=1e-5, what="lse")
    grads = kernels.attention_backward(do, q, k, v, o, lse, causal=causal, scale=scale)
    for name, g, r in zip(("dq", "dk", "dv"), grads, ref_attention_backward(do, q, k, v, causal, scale)):
        assert_close(g, r, rtol=1e-4, atol=5e-5, what=name)


SHAPES = [  # (B, H, Nq, Nk, d): N = 1, N below / across / not a multiple of the 64 tile, Nq != Nk
    (1, 1, 1, 1, 8), (1, 2, 1, 70, 16), (2, 1, 70, 1, 16), (1, 1, 64, 64, 32), (2, 3, 65, 130, 64),
    (1, 1, 200, 100, 64), (1, 2, 100, 200, 32), (1, 1, 129, 129, 128), (2, 2, 33, 47, 8), (1, 1, 20, 30, 5),
]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_matches_float64_reference(rng, shape, causal):
    check_against_reference(rng, *shape, causal=causal)


# The tiles: AVX2 48 queries x 256 keys forward, 48 x 96 backward, register tile 6 x 16; AVX-512 64 x
# 256 / 64 x 64, 8 x 32; generic 64 x 256 / 64 x 64, 4 x 8. Lengths one either side of each edge, head
# dims that fill no whole vector or panel, and Nq != Nk both ways under the causal mask.
EDGE_SHAPES = [  # (Nq, Nk, d, dv)
    (47, 49, 1, 1), (49, 47, 3, 5), (95, 97, 63, 65), (97, 255, 65, 63), (257, 100, 100, 100),
    (100, 257, 17, 33), (6, 300, 64, 64), (300, 7, 64, 24), (255, 257, 8, 1), (143, 129, 31, 16),
]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", EDGE_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_tile_and_vector_edges(rng, shape, causal):
    nq, nk, d, dv = shape
    check_against_reference(rng, 1, 2, nq, nk, d, dv=dv, causal=causal)


# The backward walks query chunks outer, key blocks inside them: a chunk is as many backward query
# blocks as keep its Q, dO, their panels and dQ within 256 KiB (AVX2: 192 rows at d = 64, 240 at
# d = 48, 96 at d = 128; key blocks of 96). Lengths one either side of a chunk edge, several chunks
# with a ragged last one, a key block straddling a chunk edge (d = 48: the edge at 240 lies inside
# keys 192..287), Nq != Nk both ways; causal puts the diagonal inside chunks and across their edges.
CHUNK_SHAPES = [  # (Nq, Nk, d)
    (191, 200, 64), (192, 192, 64), (193, 150, 64), (385, 390, 64), (600, 550, 64), (520, 700, 48),
    (241, 239, 48), (300, 97, 128), (97, 300, 128),
]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", CHUNK_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_backward_query_chunks(rng, shape, causal):
    nq, nk, d = shape
    check_against_reference(rng, 1, 2, nq, nk, d, causal=causal)


def test_backward_key_spans():
    # Each thread packs 2 MiB of key blocks at a time (a span) and runs every query chunk past them:
    # at d = 512 a block is 960 KiB, so 500 keys make three spans of whole heads (two when two
    # threads split a head), with chunks of 48 queries; causal skips the chunks before a span.
    rng = np.random.default_rng(5)
    before = forgenet.get_num_threads()
    forgenet.set_num_threads(2)
    try:
        for causal in (False, True):
            check_against_reference(rng, 1, 2, 230, 500, 512, causal=causal)
            check_against_reference(rng, 1, 1, 500, 450, 512, causal=causal)
    finally:
        forgenet.set_num_threads(before)


@pytest.mark.parametrize("d", [8, 16, 32, 64, 128])
def test_head_dims(rng, d):
    check_against_reference(rng, 1, 2, 77, 77, d, causal=True)


@pytest.mark.parametrize("scale", [0.05, 1.0, -0.3, 0.0])
def test_custom_scale(rng, scale):
    check_against_reference(rng, 1, 2, 40, 70, 16, causal=True, scale=scale)


def test_value_dim_differs_from_key_dim(rng):
    check_against_reference(rng, 2, 2, 50, 90, 32, dv=24, causal=False)
    check_against_reference(rng, 1, 1, 90, 50, 16, dv=72, causal=True)


@pytest.mark.parametrize("bh", [(1, 1), (1, 3), (2, 4)])
def test_both_backward_work_splits(rng, bh):
    # With 2 threads: one head (key blocks split across threads, dQ summed) vs whole heads per thread.
    before = forgenet.get_num_threads()
    forgenet.set_num_threads(2)
    try:
        check_against_reference(rng, *bh, 300, 260, 32, causal=True)
        check_against_reference(rng, *bh, 130, 300, 32, causal=False)
        # several query chunks, each thread's key blocks (snake order) seen by each of them
        check_against_reference(rng, *bh, 450, 420, 64, causal=True)
        # one key block: the second thread owns none
        check_against_reference(rng, *bh, 500, 40, 64, causal=True)
    finally:
        forgenet.set_num_threads(before)


def with_threads(n, f):
    before = forgenet.get_num_threads()
    forgenet.set_num_threads(n)
    try:
        return f()
    finally:
        forgenet.set_num_threads(before)


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("bh", [(1, 1), (1, 3), (2, 4)])
def test_forward_work_splits(rng, bh, threads):
    # One head, or heads that do not divide among the threads: the threads pack the head's keys into
    # one buffer and split its query blocks (snake order, longest causal block first; 7 blocks, 1
    # block, a block per thread or fewer). Else each thread takes whole heads.
    def run():
        for nq, nk, causal in [(300, 260, True), (300, 300, False), (1, 40, True), (96, 500, True), (130, 1, False)]:
            check_against_reference(rng, *bh, nq, nk, 32, causal=causal)
    with_threads(threads, run)


def test_tall_forward_query_blocks(rng):
    # A packed head over 1 MiB (here 3 key tiles of 256 x (256 + 256) floats) takes query blocks of
    # twice the tile's rows: ragged last blocks, causal rows that see none of a block's last tile.
    for b, h in [(1, 1), (1, 2)]:
        for causal in (False, True):
            check_against_reference(rng, b, h, 250, 600, 256, causal=causal)
    check_against_reference(rng, 1, 1, 700, 610, 200, dv=312, causal=True)


def test_forward_does_not_depend_on_the_work_split(rng):
    # Each query row's arithmetic is the same whichever thread runs its block, so every split gives
    # the same bits (one thread: whole heads; one head: the shared split; four heads over 2 threads:
    # whole heads, over 3: the shared split).
    for bh, nq, nk, d in [((1, 1), 333, 290, 64), ((2, 2), 210, 300, 32), ((1, 1), 300, 700, 256)]:
        q, k, v, _ = inputs(rng, *bh, nq, nk, d)
        for causal in (False, True):
            outs = [with_threads(t, lambda: kernels.attention(q, k, v, causal=causal, return_lse=True))
                    for t in (1, 2, 3)]
            for o, lse in outs[1:]:
                assert np.array_equal(o, outs[0][0]) and np.array_equal(lse, outs[0][1])


def test_backward_split_over_three_threads(rng):
    # The snake order of key blocks over an odd team (0 1 2 2 1 0 ...), dQ summed over three.
    before = forgenet.get_num_threads()
    forgenet.set_num_threads(3)
    try:
        check_against_reference(rng, 1, 1, 600, 550, 64, causal=True)
        check_against_reference(rng, 1, 2, 400, 310, 48, causal=False)
    finally:
        forgenet.set_num_threads(before)


def test_matches_torch_sdpa_and_autograd(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for (b, h, nq, nk, d), causal in [((2, 3, 70, 130, 64), True), ((1, 2, 100, 65, 32), True),
                                      ((2, 1, 33, 90, 16), False)]:
        q, k, v, do = inputs(rng, b, h, nq, nk, d)
        tq, tk, tv = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (q, k, v))
        to = F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
        to.backward(torch.tensor(do, dtype=torch.float64))
        s = (tq @ tk.transpose(-1, -2)) / np.sqrt(d)
        if causal:
            s = s.masked_fill(~torch.ones(nq, nk, dtype=torch.bool).tril(), float("-inf"))
        tlse = torch.logsumexp(s, -1)
        o, lse = kernels.attention(q, k, v, causal=causal, return_lse=True)
        assert_close(o, to.detach().numpy(), rtol=1e-4, atol=2e-5, what="o")
        assert_close(lse, tlse.detach().numpy(), rtol=1e-5, atol=1e-5, what="lse")
        for name, g, t in zip(("dq", "dk", "dv"), kernels.attention_backward(do, q, k, v, o, lse, causal=causal),
                              (tq.grad, tk.grad, tv.grad)):
            assert_close(g, t.numpy(), rtol=1e-4, atol=5e-5, what=name)


def test_gradients_match_finite_differences(rng):
    b, h, nq, nk, d, dv = 1, 2, 3, 4, 2, 3
    for causal in (False, True):
        q, k, v, do = (a.astype(np.float64) for a in inputs(rng, b, h, nq, nk, d, dv))
        f32 = lambda a: a.astype(np.float32)  # noqa: E731
        o, lse = kernels.attention(f32(q), f32(k), f32(v), causal=causal, scale=0.7, return_lse=True)
        grads = kernels.attention_backward(f32(do), f32(q), f32(k), f32(v), o, lse, causal=causal, scale=0.7)
        for x, g in zip((q, k, v), grads):
            num, eps = np.zeros_like(x), 1e-6
            for idx in np.ndindex(*x.shape):
                old = x[idx]
                x[idx] = old + eps
                up = (ref_attention(q, k, v, causal, 0.7)[0] * do).sum()
                x[idx] = old - eps
                down = (ref_attention(q, k, v, causal, 0.7)[0] * do).sum()
                x[idx] = old
                num[idx] = (up - down) / (2 * eps)
            assert_close(g, num, rtol=1e-3, atol=1e-4)


def test_no_keys_gives_zeros_like_torch():
    q = np.ones((1, 2, 3, 4), np.float32)
    kv = np.ones((1, 2, 0, 4), np.float32)
    for causal in (False, True):
        o, lse = kernels.attention(q, kv, kv, causal=causal, return_lse=True)
        assert o.shape == (1, 2, 3, 4) and not o.any() and np.all(lse == -np.inf)
        dq, dk, dv = kernels.attention_backward(np.ones_like(q), q, kv, kv, o, lse, causal=causal)
        assert not dq.any() and dk.shape == dv.shape == (1, 2, 0, 4)


def test_empty_queries_and_batches():
    q, k = np.zeros((2, 1, 0, 8), np.float32), np.ones((2, 1, 5, 8), np.float32)
    o, lse = kernels.attention(q, k, k, return_lse=True)
    assert o.shape == (2, 1, 0, 8) and lse.shape == (2, 1, 0)
    dq, dk, dv = kernels.attention_backward(o, q, k, k, o, lse)
    assert dq.shape == q.shape and not dk.any() and not dv.any()
    z = np.zeros((0, 3, 4, 8), np.float32)
    assert kernels.attention(z, z, z).shape == (0, 3, 4, 8)


def test_nan_in_a_later_key_tile(rng):
    q, k, v, _ = inputs(rng, 1, 1, 80, 600, 16)
    q[0, 0, 5, 3] = np.nan
    o = kernels.attention(q, k, v)
    assert np.isnan(o[0, 0, 5]).all() and np.isfinite(np.delete(o[0, 0], 5, axis=0)).all()
    k[0, 0, 400, 2] = np.nan  # in a full key tile past the first: every row sees it
    assert np.isnan(kernels.attention(q, k, v)).all()


def test_nan_propagates_to_its_rows_only(rng):
    q, k, v, _ = inputs(rng, 1, 1, 80, 80, 16)
    q[0, 0, 5, 3] = np.nan
    o = kernels.attention(q, k, v)
    assert np.isnan(o[0, 0, 5]).all() and np.isfinite(np.delete(o[0, 0], 5, axis=0)).all()


def test_large_scores_stay_finite(rng):
    q, k, v, _ = inputs(rng, 1, 1, 70, 70, 16)
    o = kernels.attention(q * 300, k * 300, v)
    assert np.isfinite(o).all()
    assert_close(o, ref_attention(q * 300, k * 300, v)[0], rtol=1e-3, atol=1e-3)


def test_non_contiguous_inputs_are_copied(rng):
    q, k, v, _ = inputs(rng, 2, 4, 30, 40, 16)
    qt = np.ascontiguousarray(q.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)  # (B, N, H, d) memory
    assert_close(kernels.attention(qt, k, v), ref_attention(q, k, v)[0], rtol=1e-4, atol=2e-5)


_ISA_SCRIPT = r"""
import json, sys
import numpy as np
sys.path[:0] = sys.argv[1:3]  # this folder and tests/ (conftest)
from forgenet import _C
from test_attention import inputs, ref_attention, ref_attention_backward
rng, worst = np.random.default_rng(1), 0.0
for shape, causal, dv in [((1, 2, 70, 130, 64), True, None), ((2, 1, 65, 33, 5), False, 11), ((1, 1, 1, 1, 8), True, None),
                          ((1, 1, 100, 200, 128), True, None), ((1, 3, 129, 64, 16), False, None),
                          ((2, 1, 257, 49, 1), True, 3), ((1, 2, 97, 300, 63), True, 65), ((1, 1, 49, 47, 100), False, None),
                          ((1, 1, 500, 450, 48), True, None), ((1, 1, 450, 400, 64), False, None)]:
    q, k, v, do = inputs(rng, *shape, dv)
    o, lse = _C.attention(q, k, v, causal, None)
    got = [o, lse] + list(_C.attention_backward(do, q, k, v, o, lse, causal, None))
    ro, rl, _ = ref_attention(q, k, v, causal)
    for a, r in zip(got, [ro, rl] + list(ref_attention_backward(do, q, k, v, causal))):
        worst = max(worst, float(np.max(np.abs(a - r) / (1 + np.abs(r)))))
print(json.dumps({"isa": _C.isa(), "worst": worst}))
"""


@pytest.mark.parametrize("isa", ["generic", "avx2"])
def test_every_isa_path_matches_reference(isa):
    # FORGENET_ISA is read once per process, so each capped path runs in a child.
    env = dict(os.environ, FORGENET_ISA=isa)
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", _ISA_SCRIPT, here, os.path.dirname(here)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["isa"] != isa:
        pytest.skip(f"this CPU lacks {isa}")
    assert res["worst"] < 1e-4, res


_MEMORY_SCRIPT = r"""
import json, resource
import numpy as np
from forgenet import kernels


def reset_and_read_peak_kib():
    # ru_maxrss is inherited across fork + exec (a child of a big pytest process starts "peaked"), so
    # read VmHWM, which exec resets and clear_refs=5 resets again; ru_maxrss only off Linux.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_kib():
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


n, d = 16384, 64
rng = np.random.default_rng(0)
q, k, v, do = (rng.standard_normal((1, 1, n, d)).astype(np.float32) for _ in range(4))
before = reset_and_read_peak_kib()
o, lse = kernels.attention(q, k, v, causal=True, return_lse=True)
dq, dk, dv = kernels.attention_backward(do, q, k, v, o, lse, causal=True)
growth = peak_kib() - before
finite = bool(np.isfinite(dq).all() and np.isfinite(dk).all())
del o, lse, dq, dk, dv
# control: the meter must see a 256 MiB allocation, or the check above proves nothing
before = reset_and_read_peak_kib()
big = np.ones(64 << 20, np.float32)
control = peak_kib() - before
print(json.dumps({"growth_kib": growth, "control_kib": control, "finite": finite}))
"""


def test_memory_is_linear_in_sequence_length():
    # The causal scores at N=16384 alone would be 1 GiB in float32; the fused kernels need O(N d):
    # the outputs (o, dq, dk, dv: 4 MiB each) plus tile scratch and a copy of K.
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["finite"]
    assert res["control_kib"] > 200 * 1024, f"the RSS meter missed a 256 MiB allocation: {res}"
    assert res["growth_kib"] < 128 * 1024, f"peak RSS grew by {res['growth_kib'] / 1024:.0f} MiB"


def test_bad_inputs_raise(rng):
    q, k, v, do = inputs(rng, 2, 3, 5, 7, 8)
    with pytest.raises(ValueError, match=r"attention: q and k must have the same head dim \(axis 3\)"):
        kernels.attention(q, k[..., :4], v)
    with pytest.raises(ValueError, match="attention: q, k and v must share batch and head sizes"):
        kernels.attention(q, k[:1], v[:1])
    with pytest.raises(ValueError, match="attention: q, k and v must share batch and head sizes"):
        kernels.attention(q, k, v[:, :2])
    with pytest.raises(ValueError, match=r"attention: k and v must have the same length \(axis 2\)"):
        kernels.attention(q, k, v[:, :, :6])
    with pytest.raises(ValueError, match=r"attention: q must have rank 4, got shape \(3, 5, 8\)"):
        kernels.attention(q[0], k, v)
    with pytest.raises(TypeError, match="attention: k must be float32, got float64"):
        kernels.attention(q, k.astype(np.float64), v)
    with pytest.raises(TypeError, match="attention: scale must be a number or None, got str"):
        kernels.attention(q, k, v, scale="1")
    with pytest.raises(ValueError, match="attention: the head dim of q and k must be >= 1"):
        kernels.attention(q[..., :0], k[..., :0], v)
    o, lse = kernels.attention(q, k, v, return_lse=True)
    with pytest.raises(ValueError, match=r"attention_backward: lse must have shape \(2, 3, 5\), got \(2, 3, 4\)"):
        kernels.attention_backward(do, q, k, v, o, lse[..., :4])
    with pytest.raises(ValueError, match=r"attention_backward: lse must have rank 3"):
        kernels.attention_backward(do, q, k, v, o, o)
    with pytest.raises(ValueError, match=r"attention_backward: do must have shape \(2, 3, 5, 8\)"):
        kernels.attention_backward(do[:, :, :4], q, k, v, o, lse)
    with pytest.raises(ValueError, match=r"attention_backward: o must have shape \(2, 3, 5, 8\)"):
        kernels.attention_backward(do, q, k, v, o[..., :2], lse)
    with pytest.raises(TypeError, match="attention_backward: lse must be float32, got float64"):
        kernels.attention_backward(do, q, k, v, o, lse.astype(np.float64))


def test_extension_validates_too(rng):
    q, k, v, do = inputs(rng, 2, 3, 5, 7, 8)
    with pytest.raises(ValueError, match=r"attention: q and k must have the same head dim"):
        _C.attention(q, k[..., :4].copy(), v, False, None)
    with pytest.raises(ValueError, match=r"attention: k and v must have the same length"):
        _C.attention(q, k, v[:, :, :6].copy(), False, None)
    with pytest.raises(ValueError, match="attention: q must be C-contiguous"):
        _C.attention(q.transpose(0, 1, 3, 2)[..., :5, :], k, v, False, None)
    with pytest.raises(TypeError, match="attention: v must be float32, got float64"):
        _C.attention(q, k, v.astype(np.float64), False, None)
    o, lse = _C.attention(q, k, v, False, None)
    with pytest.raises(ValueError, match=r"attention_backward: lse must have shape \(2, 3, 5\)"):
        _C.attention_backward(do, q, k, v, o, lse[:1].copy(), False, None)
