"""The torch adapter's glue does no work that grows with the data, at the bench ops (gemm, conv2d, lstm,
attention) forward and forward+backward on the eager path that bench/bench_adapters.py times:

- the kernels read the caller's tensors in place and write buffers that reach the caller as they are
  (data pointers followed from the caller's tensors into forgenet._C and from _C's outputs back out
  through torch.autograd.grad);
- torch itself runs nothing but O(1) tensor bookkeeping around them (torch.profiler's aten ops: no
  zero-filled gradients for unused outputs, no copies, no contiguous() copies, no accumulation).

So the adapter's own cost at any shape is its fixed cost, which the bench measures at small shapes.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import forgenet.torch as ft  # noqa: E402
from support import CpuCapsule  # noqa: E402
from forgenet.torch import _cpu  # noqa: E402

# aten ops that touch no element: lift_fresh wraps torch.from_numpy's result, detach and new_empty(0)
# (an LSTM run without training has no reserve) make tensor objects; anything else (zeros, fill_, copy_,
# clone, add, to) is work on the data
_O1_OPS = {"aten::lift_fresh", "aten::detach", "aten::empty", "aten::new_empty"}


class _Recorder:
    """Stands in for forgenet._C in _cpu: reads each DLPack capsule as a numpy array (as _C does, no copy),
    records the address each argument's data starts at and each output's, then calls the real function."""

    def __init__(self, real):
        self._real, self.calls = real, []

    def __getattr__(self, name):
        fn = getattr(self._real, name)

        def call(*args, **kwargs):
            arrays = [np.from_dlpack(CpuCapsule(a)) if type(a).__name__ == "PyCapsule" else a for a in args]
            ins = [a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else None for a in arrays]
            out = fn(*arrays, **kwargs)
            outs = out if isinstance(out, tuple) else (out,)
            self.calls.append((name, ins, [None if o is None else o.__array_interface__["data"][0] for o in outs]))
            return out
        return call



# the forward outputs each backward kernel reads: attention's o and lse, the LSTM's reserve
_SAVED_OUTPUTS = {"conv2d": (), "lstm": (3,), "attention": (0, 1)}


@pytest.fixture
def recorder(monkeypatch):
    rec = _Recorder(_cpu._C)
    monkeypatch.setattr(_cpu, "_C", rec)
    return rec


def _rand(*shape, grad=False, seed=0):
    t = torch.from_numpy(np.random.default_rng(seed).standard_normal(shape, dtype=np.float32) * 0.3)
    return t.requires_grad_(grad)


def _cases():
    """(name, inputs, differentiated inputs, forward returning the output backward starts from, dy)."""
    x, w = _rand(2, 7, 7, 3, grad=True), _rand(3, 3, 3, 4, grad=True, seed=1)
    a, b = _rand(5, 6, grad=True), _rand(6, 4, grad=True, seed=1)
    lx, h0, c0 = _rand(2, 5, 3, grad=True), _rand(2, 4, seed=1), _rand(2, 4, seed=2)
    lk, rk, lb = _rand(3, 16, grad=True, seed=3), _rand(4, 16, grad=True, seed=4), _rand(16, seed=5)
    q, k, v = (_rand(1, 2, 6, 4, grad=True, seed=s) for s in range(3))
    return [
        ("gemm", (a, b), (a, b), lambda: ft.gemm(a, b), _rand(5, 4, seed=9)),
        ("conv2d", (x, w), (x, w), lambda: ft.conv2d(x, w), _rand(2, 5, 5, 4, seed=9)),
        ("lstm", (lx, h0, c0, lk, rk, lb), (lx, lk, rk), lambda: ft.lstm(lx, h0, c0, lk, rk, lb)[0],
         _rand(2, 5, 4, seed=9)),
        ("attention", (q, k, v), (q, k, v), lambda: ft.scaled_dot_product_attention(q, k, v), _rand(1, 2, 6, 4, seed=9)),
    ]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
def test_the_kernels_read_the_callers_tensors_and_the_gradients_are_the_kernels_buffers(case, recorder):
    name, inputs, wrt, forward, dy = case
    y = forward()
    (fname, fins, fouts), = recorder.calls
    assert fname == name
    # every tensor argument the forward kernel read is one of the caller's tensors, in place
    assert [p for p in fins if p is not None] == [t.data_ptr() for t in inputs]
    assert y.data_ptr() == fouts[0]  # the output is the kernel's own buffer
    grads = torch.autograd.grad(y, wrt, dy)
    if name == "gemm":  # its backward is two gemms: da = dy @ b^T, db = a^T @ dy
        (_, ins_a, (da,)), (_, ins_b, (db,)) = recorder.calls[1:]
        a, b = inputs
        assert ins_a[:3] == [dy.data_ptr(), b.data_ptr(), None] and ins_b[:3] == [a.data_ptr(), dy.data_ptr(), None]
        assert [g.data_ptr() for g in grads] == [da, db]
        return
    (bname, bins, bouts), = recorder.calls[1:]
    assert bname == f"{name}_backward"
    seen = set(p for p in bins if p is not None)
    assert dy.data_ptr() in seen  # the caller's dy, not a copy of it
    assert {t.data_ptr() for t in inputs} <= seen  # the saved inputs, as the forward read them
    assert {fouts[i] for i in _SAVED_OUTPUTS[name]} <= seen  # the forward's own buffers, not copies
    outs = set(p for p in bouts if p is not None)
    assert {g.data_ptr() for g in grads} <= outs  # the returned gradients are the buffers the kernel wrote


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
@pytest.mark.parametrize("mode", ["fwd", "fwd+bwd"])
def test_torch_runs_no_data_work_around_the_kernels(case, mode):
    from torch.profiler import ProfilerActivity, profile

    name, inputs, wrt, forward, dy = case
    if mode == "fwd":
        plain = [t.detach() for t in inputs]

        def step():
            return getattr(ft, "scaled_dot_product_attention" if name == "attention" else name)(*plain)
    else:
        def step():
            return torch.autograd.grad(forward(), wrt, dy)
    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    aten = {e.name for e in prof.events() if e.name.startswith("aten::")}
    assert aten <= _O1_OPS, f"{name} {mode}: torch ran {sorted(aten - _O1_OPS)} around the kernels"
