"""The eager fast path (forgenet.torch._eager) against the custom ops it skips: the same values and the
same gradients, bit for bit (one kernel, one thread count), and the right path taken in each setting.

A pass-through TorchDispatchMode forces the custom-op path (any dispatch mode must see every op, so the
fast path steps aside under one); each result's grad_fn shows which path made it.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import forgenet.torch as ft  # noqa: E402


class _PassThrough(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def r(*shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed + sum(shape)))


def _labels(n, c):
    return torch.arange(n) % c


CASES = {  # name -> (fn, float inputs that get gradients)
    "gemm": (lambda a, b, c: ft.gemm(a, b, c, trans_b=True, alpha=0.5, beta=2.0), (r(3, 4), r(5, 4), r(3, 5))),
    "linear": (lambda x, w, b: ft.linear(x, w, b), (r(2, 3, 6), r(4, 6), r(4))),
    "conv2d": (lambda x, k, b: ft.conv2d(x, k, b, strides=2, padding="same"), (r(2, 7, 6, 3), r(3, 3, 3, 4), r(4))),
    "max_pool2d": (lambda x: ft.max_pool2d(x, 3, 2, "same"), (r(2, 7, 7, 3),)),
    "avg_pool2d": (lambda x: ft.avg_pool2d(x, 2), (r(2, 6, 6, 3),)),
    "softmax": (lambda x: ft.softmax(x, 1), (r(3, 4, 5),)),
    "cross_entropy": (lambda x: ft.cross_entropy(x, _labels(6, 5)), (r(6, 5),)),
    "soft_cross_entropy": (lambda x, t: ft.softmax_cross_entropy(x, t.softmax(1)), (r(4, 5), r(4, 5, seed=1))),
    "lstm": (lambda x, h, c, k, rk, b: torch.cat([t.flatten() for t in ft.lstm(x, h, c, k, rk, b)]),
             (r(2, 4, 3), r(2, 5), r(2, 5), r(3, 20), r(5, 20), r(20))),
    "lstm_y_only": (lambda x, k: ft.lstm(x, torch.zeros(2, 5), torch.zeros(2, 5), k, r(5, 20), r(20))[0],
                    (r(2, 4, 3), r(3, 20))),  # h_T, c_T unused: their gradients reach the kernel as None
    "embedding": (lambda e: ft.embedding(torch.tensor([[0, 2], [1, 2]]), e), (r(3, 4),)),
    "sdpa": (lambda q, k, v: ft.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
             (r(2, 3, 5, 4), r(2, 3, 7, 4), r(2, 3, 7, 6))),
    "layer_norm": (lambda x, g, b: ft.layer_norm(x, g, b, epsilon=1e-5), (r(3, 4, 6), r(6), r(6))),
}


def _run(fn, inputs):
    xs = [t.clone().requires_grad_() for t in inputs]
    y = fn(*xs)
    dy = r(*y.shape, seed=7)
    grads = torch.autograd.grad(y, xs, dy)
    return y, grads


@pytest.mark.parametrize("name", list(CASES))
def test_fast_path_equals_custom_op_path(name):
    fn, inputs = CASES[name]
    y_fast, g_fast = _run(fn, inputs)
    with _PassThrough():
        y_op, g_op = _run(fn, inputs)
    torch.testing.assert_close(y_fast, y_op, rtol=0, atol=0)
    for a, b in zip(g_fast, g_op):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    with torch.no_grad():  # no autograd.Function at all: the same numbers again
        torch.testing.assert_close(fn(*inputs), y_fast.detach(), rtol=0, atol=0)


def _grad_fn(y):
    return type(y.grad_fn).__name__


def test_each_setting_takes_its_path():
    a, b = r(3, 4).requires_grad_(), r(4, 2).requires_grad_()
    assert _grad_fn(ft.gemm(a, b)) == "forgenet_gemm_eagerBackward"
    with _PassThrough():
        assert _grad_fn(ft.gemm(a, b)).startswith("GeneratedBackwardFor_forgenet_gemm")
    assert _grad_fn(torch.ops.forgenet.gemm(a, b, None, False, False, 1.0, 0.0)).startswith("GeneratedBackwardFor")
    with torch.no_grad():
        assert ft.gemm(a, b).grad_fn is None and not ft.gemm(a, b).requires_grad
    meta = torch.empty(3, 4, device="meta")
    assert ft.gemm(meta, meta.T).device.type == "meta"  # meta tensors: the custom op's fake kernel


def test_double_backward_matches_and_once_differentiable_ops_refuse_it():
    a, b = r(3, 4).double(), r(4, 2).double()
    a32, b32 = a.float().requires_grad_(), b.float().requires_grad_()
    (ga,) = torch.autograd.grad(ft.gemm(a32, b32).square().sum(), a32, create_graph=True)
    assert _grad_fn(ga) == "forgenet_gemm_eagerBackward"  # the backward's gemms are fast-path ones too
    (gb,) = torch.autograd.grad(ga.sum(), b32)
    a.requires_grad_(), b.requires_grad_()
    (ga64,) = torch.autograd.grad((a @ b).square().sum(), a, create_graph=True)
    (gb64,) = torch.autograd.grad(ga64.sum(), b)
    torch.testing.assert_close(gb.double(), gb64, rtol=1e-4, atol=1e-4)
    x = r(2, 3, 4).requires_grad_()
    (gx,) = torch.autograd.grad(ft.softmax(x).square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        gx.sum().backward()


def test_compile_traces_the_custom_ops():
    seen = []

    def backend(gm, example_inputs):
        seen.extend(str(n.target) for n in gm.graph.nodes if n.op == "call_function")
        return gm

    f = torch.compile(lambda x, w: ft.linear(x, w).relu(), backend=backend, fullgraph=True)
    x, w = r(4, 3).requires_grad_(), r(2, 3).requires_grad_()
    torch.testing.assert_close(f(x, w), ft.linear(x, w).relu())
    assert any("forgenet.gemm" in t for t in seen), seen


@pytest.mark.parametrize("strides,want", [(2, [2, 2]), (np.int64(2), [2, 2]), ((2, 1), [2, 1]), ([2, 1], [2, 1]),
                                          ((np.int64(2), 1), [2, 1])])
def test_strides_every_spelling_same_result(strides, want):
    # the exact-type fast paths for int / (int, int) must agree with the general path (numpy ints)
    x, k = r(1, 7, 6, 2), r(3, 3, 2, 3)
    want = torch.ops.forgenet.conv2d(x, k, None, want, "valid")
    torch.testing.assert_close(ft.conv2d(x, k, strides=strides), want, rtol=0, atol=0)


@pytest.mark.parametrize("bad", [True, (1, 2, 3), (1.0, 1), "2", None, torch.tensor(2)])
def test_strides_refused_with_the_functions_name(bad):
    with pytest.raises(ValueError, match="forgenet.torch.conv2d: strides must be an int or a pair of ints"):
        ft.conv2d(r(1, 5, 5, 2), r(3, 3, 2, 3), strides=bad)


@pytest.mark.parametrize("padding", ["VALID", "Same"])
def test_padding_any_case(padding):
    x, k = r(1, 5, 5, 2), r(3, 3, 2, 3)
    want = torch.ops.forgenet.conv2d(x, k, None, [1, 1], padding.lower())
    torch.testing.assert_close(ft.conv2d(x, k, padding=padding), want, rtol=0, atol=0)


@pytest.mark.parametrize("bad", ["full", 1, None])
def test_padding_refused_with_the_functions_name(bad):
    with pytest.raises(ValueError, match="forgenet.torch.max_pool2d: padding must be 'valid' or 'same'"):
        ft.max_pool2d(r(1, 4, 4, 2), 2, padding=bad)


class _Sub(torch.Tensor):
    pass


def test_parameters_take_the_fast_path_and_subclasses_the_custom_op():
    a, w = r(3, 4), torch.nn.Parameter(r(2, 4))
    assert _grad_fn(ft.gemm(a, w, trans_b=True)) == "forgenet_gemm_eagerBackward"
    sub = r(3, 4).as_subclass(_Sub).requires_grad_()
    y = ft.gemm(sub, r(4, 2))
    # torch.Tensor's __torch_function__ re-wraps the result (an AliasBackward0 on top): the op's node is below
    below = [type(f).__name__ for f, _ in y.grad_fn.next_functions if f is not None]
    assert any(n.startswith("GeneratedBackwardFor_forgenet_gemm") for n in below), below
    torch.testing.assert_close(y.as_subclass(torch.Tensor), ft.gemm(sub.as_subclass(torch.Tensor), r(4, 2)),
                               rtol=0, atol=0)
