"""One ISA mechanism (csrc/cpu/dispatch.h): every family built per ISA gives the same results on the
generic build as on the best one this CPU runs (FORGENET_ISA caps it), within float32 tolerance. Each ISA
runs in its own interpreter, since the choice is made once per process."""
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import forgenet
import forgenet._C as C

ROOT = str(pathlib.Path(forgenet.__file__).resolve().parents[1])

# Every converted family on shapes that take the parallel path and leave SIMD tails (odd channel counts).
SCRIPT = r"""
import sys
import numpy as np
import forgenet._C as C
import forgenet.kernels as K
rng = np.random.default_rng(0)
f = lambda *s: rng.standard_normal(s).astype(np.float32)
out = {"isa": np.array(C.isa())}
x = f(4, 19, 17, 13)
for name, fw, bw in (("max", K.max_pool2d, K.max_pool2d_backward), ("avg", K.avg_pool2d, K.avg_pool2d_backward)):
    for ps, st, pad in (((2, 2), None, "valid"), ((3, 3), (1, 1), "same"), ((3, 2), (2, 2), "same")):
        y = fw(x, ps, st, pad)
        out[f"{name}{ps}{st}{pad}"] = y
        out[f"{name}{ps}{st}{pad}_bw"] = bw(np.ones_like(y), x, ps, st, pad)
for N, T, D, U in ((3, 5, 7, 9), (16, 4, 8, 24)):
    xs, h0, c0 = f(N, T, D), f(N, U), f(N, U)
    k, r, b = f(D, 4 * U) * 0.3, f(U, 4 * U) * 0.3, f(4 * U)
    y, hT, cT, res = K.lstm(xs, h0, c0, k, r, b, training=True)
    out[f"lstm{N}"] = y
    for i, g in enumerate(K.lstm_backward(f(N, T, U), f(N, U), f(N, U), xs, h0, c0, k, r, b, res)):
        out[f"lstm{N}_bw{i}"] = g
    for after in (True, False):
        k3, r3 = f(D, 3 * U) * 0.3, f(U, 3 * U) * 0.3
        b3 = f(2, 3 * U) if after else f(3 * U)
        y, hT, res = K.gru(xs, h0, k3, r3, b3, reset_after=after, training=True)
        out[f"gru{N}{after}"] = y
        for i, g in enumerate(K.gru_backward(f(N, T, U), f(N, U), xs, h0, k3, r3, b3, res, reset_after=after)):
            out[f"gru{N}{after}_bw{i}"] = g
s, t = C._lstm_activations(np.linspace(-30, 30, 1001, dtype=np.float32))
out["sig"], out["tanh"] = s, t
for axis, shape in ((-1, (64, 9, 37)), (1, (8, 21, 5, 6))):
    xb = f(*shape) * 3 + 2
    C_ = shape[axis]
    g, bb = f(C_), f(C_)
    y, m, v = K.batch_norm(xb, g, bb, axis=axis)
    out[f"bn{axis}"], out[f"bn{axis}m"], out[f"bn{axis}v"] = y, m, v
    out[f"bn{axis}i"] = K.batch_norm_inference(xb, g, bb, m, v, axis=axis)
    for i, d in enumerate(K.batch_norm_backward(f(*shape), xb, g, m, v, axis=axis)):
        out[f"bn{axis}_bw{i}"] = d
xd, kd = f(3, 15, 14, 11), f(3, 3, 11, 2)
yd = K.depthwise_conv2d(xd, kd, f(22), padding="same")
out["dw"] = yd
for i, d in enumerate(K.depthwise_conv2d_backward(f(*yd.shape), xd, kd, padding="same")):
    out[f"dw_bw{i}"] = d
n = 1001
var, grad, m, v, vh = f(n), f(n), np.abs(f(n)), np.abs(f(n)), np.abs(f(n))
K.adam_update(var, grad, m, v, vh, 1e-3, 0.9, 0.999, 1e-7)
K.sgd_update(var, grad, m, 0.01, 0.9, True)
K.rmsprop_update(var, grad, v, m, vh, 0.01, 0.9, 0.5, 1e-7)
K.adamax_update(var, grad, m, v, 0.01, 0.9, 0.999, 1e-7, 3)
out["opt"], out["opt_m"], out["opt_v"] = var, m, v
xs = f(300, 129) * 4
out["sm"] = K.softmax(xs)
out["ln"] = K.layer_norm(xs, f(129), f(129))[0]
ids = rng.integers(0, 50, (200, 3))
out["emb"] = K.embedding(ids, f(50, 33))
out["emb_bw"] = K.embedding_backward(f(200, 3, 33), ids, 50)
np.savez(sys.argv[1], **out)
"""


def run_isa(tmp_path, isa):
    path = tmp_path / f"{isa or 'default'}.npz"
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="2")
    env.pop("FORGENET_ISA", None)
    if isa:
        env["FORGENET_ISA"] = isa
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-4000:]
    return dict(np.load(path))


def test_generic_build_matches_the_best_build(tmp_path):
    generic = run_isa(tmp_path, "generic")
    best = run_isa(tmp_path, None)
    assert str(generic.pop("isa")) == "generic"
    isa = str(best.pop("isa"))
    if isa == "generic":
        pytest.skip("this CPU runs only the generic build")
    assert isa == C.isa() or "FORGENET_ISA" in os.environ
    assert generic.keys() == best.keys()
    for name in generic:
        a, b = generic[name], best[name]
        assert a.shape == b.shape, name
        scale = max(1.0, float(np.max(np.abs(a))))
        np.testing.assert_allclose(b, a, rtol=2e-5, atol=2e-5 * scale, err_msg=name)


def test_isa_cap_is_reported():
    env = dict(os.environ, PYTHONPATH=ROOT, FORGENET_ISA="generic")
    p = subprocess.run([sys.executable, "-c", "import forgenet._C as C; print(C.isa())"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "generic", p.stderr
