"""forgenet._C's DLPack entry (csrc/bindings/dlpack_arg.h), the route forgenet.torch's CPU ops take: every
_C array argument also accepts a "dltensor" capsule, read without a copy, checked by the same contracts
(so refused with the same words), and consumed once, as the protocol asks.
"""
import ctypes
import gc

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import forgenet.torch as ft  # noqa: E402
from forgenet import _C, kernels  # noqa: E402
from forgenet.torch import _cpu  # noqa: E402

to_dlpack = torch.utils.dlpack.to_dlpack


def r(*shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed + sum(shape)))


def _gemm(a, b):
    return _C.gemm(a, b, None, False, False, 1.0, 0.0)


@pytest.mark.parametrize("kind", ["torch", "numpy"])
def test_capsules_give_the_numpy_result_bit_for_bit(kind):
    a, b = r(5, 7), r(7, 3, seed=1)
    make = to_dlpack if kind == "torch" else (lambda t: t.numpy().__dlpack__())
    expect = _gemm(a.numpy(), b.numpy())
    np.testing.assert_array_equal(_gemm(make(a), make(b)), expect)
    np.testing.assert_array_equal(_gemm(make(a), b.numpy()), expect)  # capsules and arrays mix


def test_a_tensor_that_requires_grad_goes_through_its_capsule():
    a = r(4, 4).requires_grad_()
    np.testing.assert_array_equal(_gemm(to_dlpack(a), to_dlpack(a)), _gemm(a.detach().numpy(), a.detach().numpy()))


def test_int64_capsule_reaches_an_integer_argument():
    ids, table = torch.tensor([[2, 0], [1, 1]]), r(3, 4)
    np.testing.assert_array_equal(_C.embedding(to_dlpack(ids), to_dlpack(table)),
                                  kernels.embedding(ids.numpy(), table.numpy()))


def test_capsule_memory_outlives_its_tensor():
    # the producer's deleter runs only when _C lets go of the view: a temporary tensor is safe
    y = _gemm(to_dlpack(torch.full((3, 3), 2.0)), to_dlpack(torch.eye(3)))
    gc.collect()
    np.testing.assert_array_equal(y, np.full((3, 3), 2.0, np.float32))


def test_out_buffer_as_capsule_is_written_in_place():
    a, b, out = r(3, 4), r(4, 2, seed=1), torch.zeros(3, 2)
    _C.gemm(to_dlpack(a), to_dlpack(b), None, False, False, 1.0, 0.0, out=to_dlpack(out))
    np.testing.assert_array_equal(out.numpy(), _gemm(a.numpy(), b.numpy()))


def test_a_consumed_capsule_is_refused():
    cap = to_dlpack(r(2, 2))
    _gemm(cap, r(2, 2).numpy())
    with pytest.raises(TypeError, match=r"gemm: a is a DLPack capsule that was already consumed"):
        _gemm(cap, r(2, 2).numpy())


def test_non_contiguous_capsule_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match=r"gemm: b must be C-contiguous"):
        _gemm(to_dlpack(r(3, 3)), to_dlpack(r(3, 3).t()))


@pytest.mark.parametrize("dtype, word", [(torch.float64, "float64"), (torch.int32, "int32"),
                                         (torch.float16, "float16")])
def test_wrong_dtype_capsule_is_refused_naming_the_argument(dtype, word):
    with pytest.raises(TypeError, match=rf"gemm: a must be float32, got {word}"):
        _gemm(to_dlpack(r(2, 2).to(dtype)), r(2, 2).numpy())


def test_dtype_numpy_cannot_hold_is_refused_naming_the_argument():
    with pytest.raises(TypeError, match=r"gemm: b is a DLPack tensor of dtype code 4, 16 bits"):
        _gemm(r(2, 2).numpy(), to_dlpack(r(2, 2).bfloat16()))


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32),
                ("ndim", ctypes.c_int32), ("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class _Managed(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


def _capsule(device_type: int, name: bytes = b"dltensor"):
    """A hand-made capsule (no GPU needed) describing a 2x2 float32 tensor on `device_type`."""
    shape = (ctypes.c_int64 * 2)(2, 2)
    buf = (ctypes.c_float * 4)()
    m = _Managed(_DLTensor(ctypes.cast(buf, ctypes.c_void_p), device_type, 0, 2, 2, 32, 1, shape, None, 0), None, None)
    new = ctypes.pythonapi.PyCapsule_New
    new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    cap = new(ctypes.addressof(m), name, None)
    return cap, (m, shape, buf, name)  # the second keeps the memory alive while the capsule is used


def test_hand_made_cpu_capsule_is_read():
    cap, keep = _capsule(1)
    np.testing.assert_array_equal(_gemm(cap, np.eye(2, dtype=np.float32)), np.zeros((2, 2), np.float32))
    del keep


@pytest.mark.parametrize("device_type, word", [(2, "cuda"), (10, "an unknown device")])
def test_capsule_on_another_device_is_refused_naming_the_argument(device_type, word):
    cap, keep = _capsule(device_type)
    with pytest.raises(TypeError, match=rf"gemm: a is a DLPack tensor on {word} \(device type {device_type}\)"):
        _gemm(cap, np.eye(2, dtype=np.float32))
    del keep


def test_other_capsules_are_refused_naming_the_argument():
    cap, keep = _capsule(1, b"something_else")
    with pytest.raises(TypeError, match=r"gemm: a is a capsule named 'something_else'"):
        _gemm(cap, np.eye(2, dtype=np.float32))
    del keep


# ---- forgenet.torch on the capsule route


def test_adapter_takes_the_capsule_route(monkeypatch):
    # with forgenet.kernels' entry points broken, only the direct _C route can produce these
    for name in ("gemm", "conv2d", "conv2d_backward", "lstm", "lstm_backward", "attention", "attention_backward"):
        monkeypatch.setattr(kernels, name, None)
    a, b = r(3, 4).requires_grad_(), r(4, 5, seed=1).requires_grad_()
    torch.autograd.grad(ft.gemm(a, b).sum(), (a, b))
    x, k = r(2, 6, 6, 3).requires_grad_(), r(3, 3, 3, 4).requires_grad_()
    torch.autograd.grad(ft.conv2d(x, k).sum(), (x, k))
    xs = [r(2, 4, 3).requires_grad_(), r(2, 5), r(2, 5), r(3, 20).requires_grad_(), r(5, 20), r(20)]
    torch.autograd.grad(ft.lstm(*xs)[0].sum(), (xs[0], xs[3]))
    q = r(1, 2, 4, 8).requires_grad_()
    torch.autograd.grad(ft.attention(q, q, q).sum(), (q,))


def test_non_contiguous_and_negative_views_give_the_contiguous_result():
    a, b = r(6, 4), r(5, 6, seed=1)
    expect = ft.gemm(a.t().contiguous(), b.t().contiguous())
    torch.testing.assert_close(ft.gemm(a.t(), b.t()), expect, rtol=0, atol=0)
    neg = torch._neg_view(a)  # what torch.conj(z).imag is: DLPack does not carry the bit
    assert neg.is_neg()
    c = r(4, 3, seed=2)
    torch.testing.assert_close(ft.gemm(neg, c), ft.gemm(-a, c), rtol=0, atol=0)


def test_expanded_bias_is_copied_not_refused():
    x, w, b = r(3, 4), r(5, 4, seed=1), r(5, seed=2)
    torch.testing.assert_close(ft.linear(x, w, b), x @ w.t() + b, rtol=1e-5, atol=1e-5)


def test_wrong_dtype_keeps_forgenet_kernels_words():
    with pytest.raises(TypeError, match=r"conv2d: x must be float32, got float64"):
        ft.conv2d(r(1, 4, 4, 2).double(), r(3, 3, 2, 2))
    with pytest.raises(TypeError, match=r"lstm: kernel must be float32, got float64"):
        ft.lstm(r(2, 4, 3), r(2, 5), r(2, 5), r(3, 20).double(), r(5, 20), r(20))


def test_wrong_rank_keeps_forgenet_kernels_words():
    with pytest.raises(ValueError, match=r"attention: q must have rank 4"):
        _cpu.attention(r(2, 4, 8), r(1, 2, 4, 8), r(1, 2, 4, 8), False, None)


def test_negative_views_reach_the_kernels_resolved_forward_and_backward():
    x, k = r(1, 5, 5, 2), r(3, 3, 2, 3, seed=1)
    torch.testing.assert_close(ft.conv2d(torch._neg_view(x), k), ft.conv2d(-x, k), rtol=0, atol=0)
    xg = x.clone().requires_grad_()
    y = ft.conv2d(xg, k)
    dy = r(*y.shape, seed=2)
    (dx_neg,) = torch.autograd.grad(y, xg, torch._neg_view(dy))  # a grad_output that is a negative view
    (dx,) = torch.autograd.grad(ft.conv2d(xg, k), xg, -dy)
    torch.testing.assert_close(dx_neg, dx, rtol=0, atol=0)


def test_in_place_op_on_a_capsule_writes_the_tensor():
    t = torch.tensor([-1.0, 2.0, -3.0])
    out = _C.relu_(to_dlpack(t))
    np.testing.assert_array_equal(t.numpy(), [0.0, 2.0, 0.0])
    np.testing.assert_array_equal(out, [0.0, 2.0, 0.0])


def test_empty_capsules_are_read():
    a, b = torch.zeros(0, 3), torch.zeros(3, 2)
    assert _gemm(to_dlpack(a), to_dlpack(b)).shape == (0, 2)
