"""torch.ops.forgenet.*: opcheck, float64 references for values and gradients, gradcheck, torch.compile.

Gradients are checked two ways. (1) Our analytic float32 gradients against torch's float64 autograd
of the same function (exact up to float64 rounding), at float32 tolerance. (2) torch.autograd.gradcheck
through a float64 wrapper that runs our float32 op: the finite differences then carry float32
rounding, so gradcheck runs with eps=1e-3, atol=1e-3, rtol=1e-2 (its float64 defaults would fail on
rounding alone).
"""
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.library import opcheck  # noqa: E402

import forgenet.torch as ft  # noqa: E402

F = torch.nn.functional
ops = torch.ops.forgenet


def r(*shape, seed=0, grad=True):
    g = torch.Generator().manual_seed(seed + sum(shape))
    return torch.randn(*shape, generator=g).requires_grad_(grad)


OPCHECK = {
    "gemm": lambda: (ops.gemm, (r(3, 4), r(4, 5), None, False, False, 1.0, 0.0)),
    "gemm_trans_c": lambda: (ops.gemm, (r(4, 3), r(5, 4), r(3, 5), True, True, 0.5, 2.0)),
    "conv2d_same": lambda: (ops.conv2d, (r(2, 5, 5, 3), r(3, 3, 3, 4), r(4), [1, 1], "same")),
    "conv2d_valid_stride": lambda: (ops.conv2d, (r(1, 7, 6, 2), r(2, 3, 2, 3), None, [2, 1], "valid")),
    "conv2d_backward": lambda: (ops.conv2d_backward, (r(1, 3, 3, 2, grad=False), r(1, 5, 5, 3, grad=False),
                                                      r(3, 3, 3, 2, grad=False), [1, 1], "valid", False)),
    "max_pool2d": lambda: (ops.max_pool2d, (r(2, 4, 4, 3), [2, 2], [2, 2], "valid")),
    "avg_pool2d": lambda: (ops.avg_pool2d, (r(2, 5, 5, 3), [2, 2], [1, 1], "same")),
    "softmax": lambda: (ops.softmax, (r(3, 4, 5), 1)),
    "sce_labels": lambda: (ops.softmax_cross_entropy, (r(4, 5), torch.tensor([0, 1, 2, 4]))),
    "sce_soft": lambda: (ops.softmax_cross_entropy, (r(4, 5), torch.softmax(r(4, 5, grad=False), 1).requires_grad_())),
    "lstm": lambda: (ops.lstm, (r(2, 3, 4), r(2, 5), r(2, 5), r(4, 20), r(5, 20), r(20), True)),
    "lstm_inference": lambda: (ops.lstm, (r(2, 3, 4, grad=False), r(2, 5, grad=False), r(2, 5, grad=False),
                                          r(4, 20, grad=False), r(5, 20, grad=False), r(20, grad=False), False)),
    "embedding": lambda: (ops.embedding, (torch.tensor([[0, 2], [1, 1]]), r(3, 4))),
    "attention": lambda: (ops.attention, (r(1, 2, 5, 4), r(1, 2, 6, 4), r(1, 2, 6, 3), True, None)),
    "attention_scale": lambda: (ops.attention, (r(2, 1, 4, 4), r(2, 1, 4, 4), r(2, 1, 4, 4), False, 0.3)),
    "layer_norm": lambda: (ops.layer_norm, (r(3, 6), r(6), r(6), 1e-3)),
    "layer_norm_no_affine": lambda: (ops.layer_norm, (r(2, 3, 6), None, None, 1e-5)),
}


@pytest.mark.parametrize("case", list(OPCHECK))
def test_opcheck(case):
    op, args = OPCHECK[case]()
    opcheck(op, args)


def test_import_forgenet_does_not_import_torch_or_jax():
    code = "import sys, forgenet; bad = [m for m in ('torch', 'jax') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


# ------------------------------------------------------------------ values and gradients vs float64
def _check(ours, ref, inputs, *, rtol=1e-4, atol=1e-5, seed=1):
    """ours(*inputs) in float32 against ref(*inputs64) in float64: outputs, then every input gradient."""
    y = ours(*inputs)
    x64 = [t.detach().double().requires_grad_(t.requires_grad) if t.dtype.is_floating_point else t for t in inputs]
    y64 = ref(*x64)
    torch.testing.assert_close(y.double(), y64, rtol=rtol, atol=atol)
    dy = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    diff = [t for t in inputs if t.requires_grad]
    g = torch.autograd.grad(y, diff, dy.float())
    g64 = torch.autograd.grad(y64, [t for t in x64 if t.requires_grad], dy)
    for a, b in zip(g, g64):
        torch.testing.assert_close(a.double(), b, rtol=rtol * 10, atol=atol * 10)


def nchw(x):
    return x.permute(0, 3, 1, 2)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def test_gemm_all_transposes():
    for ta in (False, True):
        for tb in (False, True):
            a, b, c = r(5, 3) if ta else r(3, 5), r(4, 5) if tb else r(5, 4), r(3, 4)
            op = lambda a, b, c: ft.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=0.7, beta=-1.5)  # noqa: E731
            ref = lambda a, b, c: 0.7 * (a.T if ta else a) @ (b.T if tb else b) - 1.5 * c  # noqa: E731
            _check(op, ref, [a, b, c])


def test_gemm_double_backward():
    a, b = r(3, 4).double(), r(4, 2).double()
    a32, b32 = a.detach().float().requires_grad_(), b.detach().float().requires_grad_()
    (ga,) = torch.autograd.grad(ft.gemm(a32, b32).square().sum(), a32, create_graph=True)
    (gb,) = torch.autograd.grad(ga.sum(), b32)
    a.requires_grad_(), b.requires_grad_()
    (ga64,) = torch.autograd.grad((a @ b).square().sum(), a, create_graph=True)
    (gb64,) = torch.autograd.grad(ga64.sum(), b)
    torch.testing.assert_close(gb.double(), gb64, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 1), ("same", 2), ("valid", (2, 1))])
def test_conv2d(padding, strides):
    x, k, b = r(2, 7, 6, 3), r(3, 2, 3, 4), r(4)
    s = (strides, strides) if isinstance(strides, int) else strides

    def ref(x, k, b):
        xp = nchw(x)
        if padding == "same":  # TensorFlow's rule: the odd row/column of padding at the bottom/right
            pads = []
            for size, kk, st in ((x.shape[2], k.shape[1], s[1]), (x.shape[1], k.shape[0], s[0])):
                total = max((-(-size // st) - 1) * st + kk - size, 0)
                pads += [total // 2, total - total // 2]
            xp = F.pad(xp, pads)
        return nhwc(F.conv2d(xp, k.permute(3, 2, 0, 1), b, stride=s))

    _check(lambda x, k, b: ft.conv2d(x, k, b, strides=strides, padding=padding), ref, [x, k, b])


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling(kind):
    x = r(2, 6, 6, 3)
    op = getattr(ft, f"{kind}_pool2d")
    ref = getattr(F, f"{kind}_pool2d")
    _check(lambda x: op(x, 2, 2), lambda x: nhwc(ref(nchw(x), 2, 2)), [x])
    _check(lambda x: op(x, 3, 1), lambda x: nhwc(ref(nchw(x), 3, 1)), [x])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax(axis):
    _check(lambda x: ft.softmax(x, axis), lambda x: torch.softmax(x, axis), [r(3, 4, 5)])


def test_cross_entropy_labels_soft_and_ignore_index():
    x = r(6, 5)
    labels = torch.tensor([0, 4, 2, 2, 1, 3])
    _check(lambda x: ft.softmax_cross_entropy(x, labels), lambda x: F.cross_entropy(x, labels, reduction="none"), [x])
    soft = torch.softmax(r(6, 5, seed=3, grad=False), 1).requires_grad_()
    _check(lambda x, t: ft.softmax_cross_entropy(x, t), lambda x, t: F.cross_entropy(x, t, reduction="none"), [x, soft])
    ign = torch.tensor([0, -100, 2, 2, -100, 3])
    for red in ("mean", "sum", "none"):
        _check(lambda x: ft.cross_entropy(x, ign, reduction=red),
               lambda x: F.cross_entropy(x, ign, reduction=red), [x])
    with pytest.raises(NotImplementedError, match="label_smoothing"):
        ft.cross_entropy(x, labels, label_smoothing=0.1)


def _lstm_ref(x, h, c, kernel, rk, bias):
    ys = []
    u = h.shape[1]
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ rk + bias
        i, f, g, o = (z[:, j * u:(j + 1) * u] for j in range(4))
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        ys.append(h)
    return torch.stack(ys, 1), h, c


def test_lstm_outputs_and_gradients():
    args = [r(2, 4, 3), r(2, 5), r(2, 5), r(3, 20), r(5, 20), r(20)]
    for pick in range(3):  # gradients through y, through h_T and through c_T
        _check(lambda *a: ft.lstm(*a)[pick], lambda *a: _lstm_ref(*a)[pick], args)


def test_lstm_backward_needs_training_forward():
    args = [r(1, 2, 3), r(1, 2), r(1, 2), r(3, 8), r(2, 8), r(8)]
    y = ops.lstm(*args, False)[0]
    with pytest.raises(RuntimeError, match="training=True"):
        y.sum().backward()


def test_embedding():
    ids = torch.tensor([[0, 3, 3], [1, 0, 3]])
    _check(lambda e: ft.embedding(ids, e), lambda e: F.embedding(ids, e), [r(4, 5)])


@pytest.mark.parametrize("causal", [False, True])
def test_attention(causal):
    q, k, v = r(2, 3, 5, 4), r(2, 3, 7, 4), r(2, 3, 7, 6)
    _check(lambda q, k, v: ft.attention(q, k, v, causal=causal, scale=0.4),
           lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=0.4), [q, k, v])


def test_layer_norm():
    x, g, b = r(3, 4, 6), r(6), r(6)
    _check(lambda x, g, b: ft.layer_norm(x, g, b, epsilon=1e-5),
           lambda x, g, b: F.layer_norm(x, (6,), g, b, eps=1e-5), [x, g, b])


def _through64(fn):
    """A float64 function that runs fn on float32 copies: gradcheck's inputs, our kernels' dtype."""
    return lambda *xs: fn(*(x.float() if x.dtype.is_floating_point else x for x in xs)).double()


@pytest.mark.parametrize("name", ["gemm", "conv2d", "max_pool2d", "softmax", "lstm", "attention", "layer_norm",
                                  "embedding", "cross_entropy"])
def test_gradcheck_float32_relaxed(name):
    d = lambda *s: r(*s, seed=5).detach().double().requires_grad_()  # noqa: E731
    ids = torch.tensor([1, 0, 1])
    cases = {
        "gemm": (lambda a, b: ft.gemm(a, b), (d(2, 3), d(3, 2))),
        "conv2d": (lambda x, k: ft.conv2d(x, k, padding="same"), (d(1, 4, 4, 2), d(3, 3, 2, 2))),
        "max_pool2d": (lambda x: ft.max_pool2d(x, 2), (d(1, 4, 4, 2),)),
        "softmax": (lambda x: ft.softmax(x), (d(3, 4),)),
        "lstm": (lambda x, k: ft.lstm(x, torch.zeros(1, 2), torch.zeros(1, 2), k, torch.ones(2, 8) * 0.1,
                                      torch.zeros(8))[0], (d(1, 3, 2), d(2, 8))),
        "attention": (lambda q, k, v: ft.attention(q, k, v, causal=True), (d(1, 1, 3, 2), d(1, 1, 3, 2), d(1, 1, 3, 2))),
        "layer_norm": (lambda x, g: ft.layer_norm(x, g, None), (d(2, 4), d(4))),
        "embedding": (lambda e: ft.embedding(ids, e), (d(2, 3),)),
        "cross_entropy": (lambda x: ft.cross_entropy(x, ids), (d(3, 4),)),
    }
    fn, inputs = cases[name]
    assert torch.autograd.gradcheck(_through64(fn), inputs, eps=1e-3, atol=1e-3, rtol=1e-2)


# ------------------------------------------------------------------------------------ torch.compile
def _block(x, w, k, g):
    h = ft.conv2d(x, k, padding="same")
    h = ft.max_pool2d(torch.relu(h), 2)
    h = ft.layer_norm(h.reshape(h.shape[0], -1), g, None)
    return ft.cross_entropy(ft.linear(h, w), torch.tensor([1, 0]))


def test_torch_compile_forward_backward_matches_eager():
    args = [r(2, 4, 4, 1), r(3, 8), r(3, 3, 1, 2), r(8)]
    loss = _block(*args)
    grads = torch.autograd.grad(loss, args)
    compiled = torch.compile(_block, backend="aot_eager", fullgraph=True)
    loss_c = compiled(*args)
    grads_c = torch.autograd.grad(loss_c, args)
    torch.testing.assert_close(loss_c, loss)
    for a, b in zip(grads_c, grads):
        torch.testing.assert_close(a, b)


def test_torch_compile_backward_of_ops_with_auxiliary_outputs():
    # attention (lse) and lstm (reserve, h_T, c_T) leave their unused outputs' gradients as None
    # (set_materialize_grads(False)): AOTAutograd's traced backward must agree with eager
    def f(q, k, v, x, kern, rk):
        o = ft.scaled_dot_product_attention(q, k, v, is_causal=True)
        y, _, _ = ft.lstm(x, torch.zeros(2, 3), torch.zeros(2, 3), kern, rk, torch.zeros(12))
        return o.square().sum() + y.sum()

    args = [r(1, 2, 5, 4), r(1, 2, 5, 4), r(1, 2, 5, 4), r(2, 3, 4), r(4, 12), r(3, 12)]
    grads = torch.autograd.grad(f(*args), args)
    grads_c = torch.autograd.grad(torch.compile(f, backend="aot_eager", fullgraph=True)(*args), args)
    for a, b in zip(grads_c, grads):
        torch.testing.assert_close(a, b)


def test_meta_tensors_give_shapes():
    q = torch.empty(2, 3, 5, 4, device="meta")
    o, lse = ops.attention(q, q, torch.empty(2, 3, 5, 7, device="meta"), False, None)
    assert o.shape == (2, 3, 5, 7) and lse.shape == (2, 3, 5) and o.device.type == "meta"


# ----------------------------------------------------------------------------------------- bad input
def test_errors_name_the_function():
    with pytest.raises(TypeError, match="gemm: a must be float32"):
        ft.gemm(torch.ones(2, 2, dtype=torch.float64), torch.ones(2, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match="forgenet.torch.conv2d: x must be a torch.Tensor"):
        ft.conv2d(np.ones((1, 3, 3, 1), np.float32), torch.ones(1, 1, 1, 1))
    with pytest.raises(ValueError, match="inner dimensions"):
        ft.gemm(torch.ones(2, 3), torch.ones(2, 3))
    from forgenet.torch._backend import device_of

    with pytest.raises(TypeError, match="gemm: all tensors must be on one device"):
        device_of("gemm", torch.ones(2, 2), torch.ones(2, 2, device="meta"))


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("FORGENET_TEST_BUILDS"),
                    reason="minutes of compiling (a wheel / inductor's C++): set FORGENET_TEST_BUILDS=1")
def test_torch_compile_inductor():
    # minutes on a busy 2-core machine: inductor generates and compiles C++ around our opaque ops
    def f(x, w, q):
        return torch.relu(ft.linear(x, w)).sum() + ft.scaled_dot_product_attention(q, q, q, is_causal=True).sum()

    args = [r(4, 8), r(6, 8), r(1, 2, 5, 4)]
    grads = torch.autograd.grad(f(*args), args)
    grads_c = torch.autograd.grad(torch.compile(f, fullgraph=True)(*args), args)
    for a, b in zip(grads_c, grads):
        torch.testing.assert_close(a, b)
