"""forgenet.torch's drop-ins against torch's own: SDPA, nn modules from torch state_dicts, training
parity, and the CUDA dispatch (with a stand-in forgenet._cuda: no GPU on the test machine)."""
import contextlib
import sys

import pytest

torch = pytest.importorskip("torch")

import forgenet  # noqa: E402
import forgenet.torch as ft  # noqa: E402
from forgenet.torch import _backend  # noqa: E402

F = torch.nn.functional


def r(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed + 7 * len(shape) + sum(shape)))


def _same(ours, ref, inputs, rtol=1e-4, atol=1e-5):
    """Same outputs and same input/parameter gradients (float32 both sides)."""
    a = [t.clone().requires_grad_() for t in inputs]
    b = [t.clone().requires_grad_() for t in inputs]
    ya, yb = ours(*a), ref(*b)
    torch.testing.assert_close(ya, yb, rtol=rtol, atol=atol)
    dy = r(*ya.shape, seed=9)
    ya.backward(dy)
    yb.backward(dy)
    for x, y in zip(a, b):
        torch.testing.assert_close(x.grad, y.grad, rtol=rtol * 10, atol=atol * 10)


# --------------------------------------------------------------------------------------------- SDPA
@pytest.mark.parametrize("causal,scale", [(False, None), (True, None), (True, 0.25)])
def test_sdpa_matches_torch(causal, scale):
    q, k, v = r(2, 3, 6, 8), r(2, 3, 9, 8), r(2, 3, 9, 5)
    _same(lambda q, k, v: ft.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale),
          lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale), [q, k, v])


def test_sdpa_ranks_and_gqa():
    q, k, v = r(4, 6, 8), r(4, 6, 8), r(4, 6, 8)  # 3-D: (N, L, E)
    _same(ft.scaled_dot_product_attention, F.scaled_dot_product_attention, [q, k, v])
    q, k, v = r(2, 4, 5, 8), r(2, 2, 5, 8), r(2, 2, 5, 8)
    _same(lambda q, k, v: ft.scaled_dot_product_attention(q, k, v, enable_gqa=True, is_causal=True),
          lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True, is_causal=True), [q, k, v])


def test_sdpa_refuses_what_it_cannot_do():
    q = r(1, 1, 4, 8)
    with pytest.raises(NotImplementedError, match="attn_mask"):
        ft.scaled_dot_product_attention(q, q, q, attn_mask=torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(NotImplementedError, match="dropout_p"):
        ft.scaled_dot_product_attention(q, q, q, dropout_p=0.1)
    with pytest.raises(ValueError, match="leading dims"):
        ft.scaled_dot_product_attention(q, r(1, 2, 4, 8), r(1, 2, 4, 8))


# ------------------------------------------------------------------------------------------ modules
def _pair_modules(ours_cls, torch_cls, *args, **kwargs):
    ref = torch_cls(*args, **kwargs)
    ours = ours_cls(*args, **kwargs)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def _same_module(ours, ref, x, rtol=1e-4, atol=1e-5):
    ya, yb = ours(x), ref(x)
    if isinstance(ya, tuple):  # LSTM: output, (h_n, c_n)
        ya = torch.cat([ya[0].flatten(), ya[1][0].flatten(), ya[1][1].flatten()])
        yb = torch.cat([yb[0].flatten(), yb[1][0].flatten(), yb[1][1].flatten()])
    torch.testing.assert_close(ya, yb, rtol=rtol, atol=atol)
    dy = r(*ya.shape, seed=3)
    ya.backward(dy)
    yb.backward(dy)
    for (name, pa), pb in zip(ours.named_parameters(), ref.parameters()):
        torch.testing.assert_close(pa.grad, pb.grad, rtol=rtol * 10, atol=atol * 10, msg=name)


def test_linear():
    ours, ref = _pair_modules(ft.nn.Linear, torch.nn.Linear, 6, 4)
    _same_module(ours, ref, r(2, 3, 6))
    ours, ref = _pair_modules(ft.nn.Linear, torch.nn.Linear, 6, 4, bias=False)
    _same_module(ours, ref, r(5, 6))


@pytest.mark.parametrize("kwargs", [dict(padding=0), dict(padding=1, stride=2), dict(padding="same"),
                                    dict(padding=(1, 2), padding_mode="reflect"), dict(padding=1, bias=False)])
def test_conv2d(kwargs):
    ours, ref = _pair_modules(ft.nn.Conv2d, torch.nn.Conv2d, 3, 5, (3, 2), **kwargs)
    _same_module(ours, ref, r(2, 3, 7, 6))


def test_conv2d_channels_last_and_unbatched():
    ours, ref = _pair_modules(ft.nn.Conv2d, torch.nn.Conv2d, 3, 4, 3)
    x = r(2, 3, 6, 6).to(memory_format=torch.channels_last)
    _same_module(ours, ref, x)
    torch.testing.assert_close(ours(x[0]), ref(x[0]), rtol=1e-4, atol=1e-5)


def test_conv2d_refuses_dilation_and_groups():
    with pytest.raises(NotImplementedError, match="dilation"):
        ft.nn.Conv2d(2, 2, 3, dilation=2)
    with pytest.raises(NotImplementedError, match="groups"):
        ft.nn.Conv2d(2, 2, 3, groups=2)


@pytest.mark.parametrize("args", [(2,), (3, 2, 1), ((2, 3), (1, 2))])
def test_pools(args):
    x = r(2, 3, 7, 8)
    for ours_cls, torch_cls in ((ft.nn.MaxPool2d, torch.nn.MaxPool2d), (ft.nn.AvgPool2d, torch.nn.AvgPool2d)):
        _same(ours_cls(*args), torch_cls(*args), [x])
    with pytest.raises(NotImplementedError, match="ceil_mode"):
        ft.nn.MaxPool2d(2, ceil_mode=True)
    with pytest.raises(NotImplementedError, match="return_indices"):
        ft.nn.MaxPool2d(2, return_indices=True)


@pytest.mark.parametrize("shape,kwargs", [((6,), {}), ((3, 4), {"eps": 1e-3}), ((5,), {"elementwise_affine": False}),
                                          ((5,), {"bias": False})])
def test_layer_norm(shape, kwargs):
    ours, ref = _pair_modules(ft.nn.LayerNorm, torch.nn.LayerNorm, shape, **kwargs)
    for p in ref.parameters():  # not the default ones and zeros, so a swapped gamma/beta shows
        torch.nn.init.normal_(p)
    ours.load_state_dict(ref.state_dict())
    x = r(2, 3, *shape)
    if not list(ref.parameters()):
        _same(ours, ref, [x])
    else:
        _same_module(ours, ref, x)


@pytest.mark.parametrize("kwargs", [dict(), dict(batch_first=True), dict(num_layers=2, bidirectional=True),
                                    dict(num_layers=2, bias=False, batch_first=True)])
def test_lstm_from_torch_state_dict(kwargs):
    ours, ref = _pair_modules(ft.nn.LSTM, torch.nn.LSTM, 4, 5, **kwargs)
    assert "weight_ih_l0" in ours.state_dict()
    _same_module(ours, ref, r(3, 6, 4))


def test_lstm_initial_state_and_unbatched():
    ours, ref = _pair_modules(ft.nn.LSTM, torch.nn.LSTM, 4, 5, num_layers=2)
    x, h0, c0 = r(6, 3, 4), r(2, 3, 5), r(2, 3, 5)
    ya, (ha, ca) = ours(x, (h0, c0))
    yb, (hb, cb) = ref(x, (h0, c0))
    for a, b in ((ya, yb), (ha, hb), (ca, cb)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    ya, (ha, _) = ours(x[:, 0])
    yb, (hb, _) = ref(x[:, 0])
    torch.testing.assert_close(ya, yb, rtol=1e-4, atol=1e-5)
    assert ha.shape == hb.shape == (2, 5)
    with pytest.raises(NotImplementedError, match="proj_size"):
        ft.nn.LSTM(4, 5, proj_size=2)


# ---------------------------------------------------------------------------------- training parity
class _Net(torch.nn.Module):
    def __init__(self, nn):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.norm = nn.LayerNorm(64)
        self.lstm = nn.LSTM(16, 8, batch_first=True)
        self.head = nn.Linear(64 + 8, 3)

    def forward(self, x, cross_entropy, labels):
        h = self.pool(torch.relu(self.conv(x))).flatten(1)  # (N, 4*4*4)
        seq, _ = self.lstm(x.reshape(x.shape[0], 8, 8).repeat(1, 1, 2))  # each image row as a step
        return cross_entropy(self.head(torch.cat([self.norm(h), seq[:, -1]], 1)), labels)


def test_small_model_trains_with_the_same_losses_as_torch():
    torch.manual_seed(0)
    ref = _Net(torch.nn)
    ours = _Net(ft.nn)
    ours.load_state_dict(ref.state_dict())
    x, labels = r(16, 1, 8, 8), torch.arange(16) % 3
    losses = {}
    for name, net, ce in (("torch", ref, F.cross_entropy), ("forgenet", ours, ft.cross_entropy)):
        opt = torch.optim.SGD(net.parameters(), lr=0.5)
        losses[name] = []
        for _ in range(5):
            opt.zero_grad()
            loss = net(x, ce, labels)
            loss.backward()
            opt.step()
            losses[name].append(loss.item())
    assert losses["forgenet"][-1] < losses["forgenet"][0]  # it learns
    torch.testing.assert_close(torch.tensor(losses["forgenet"]), torch.tensor(losses["torch"]), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------------- CUDA dispatch
class _FakeCuda:
    """Stands in for forgenet._cuda: records each call and fills outputs from its alloc callback."""

    def __init__(self):
        self.calls = []

    def gemm(self, a, b, c, trans_a, trans_b, alpha, beta, *, stream, alloc):
        self.calls.append(("gemm", stream, [t.is_contiguous() and not t.requires_grad for t in (a, b)]))
        return alloc((a.shape[0], b.shape[1])).fill_(1.0)


def test_cuda_ops_use_torch_stream_and_allocator():
    fake = _FakeCuda()
    ops = _backend._TorchCudaOps(fake, torch.device("cpu"), stream=lambda d: 1234,
                                 guard=lambda d: contextlib.nullcontext())
    a = r(4, 3).requires_grad_()
    y = ops.gemm(a.t().t(), r(3, 2).t().contiguous().t(), None, False, False, 1.0, 0.0)
    assert y.shape == (4, 2) and y.dtype == torch.float32 and bool((y == 1).all())
    assert fake.calls == [("gemm", 1234, [True, True])]  # detached, made contiguous, on that stream
    with pytest.raises(NotImplementedError, match="no 'conv9d'"):
        ops.conv9d
    with pytest.raises(TypeError, match="float32"):
        ops.gemm(torch.ones(2, 2, dtype=torch.float64), torch.ones(2, 2), None, False, False, 1.0, 0.0)


def test_cuda_tensor_without_cuda_build_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(_backend, "_cuda_ops", {})
    monkeypatch.setitem(sys.modules, "forgenet._cuda", None)  # import forgenet._cuda -> ImportError
    monkeypatch.delattr(forgenet, "_cuda", raising=False)  # ... also once an earlier test imported it
    with pytest.raises(RuntimeError, match=r"forgenet.torch.attention: got a CUDA tensor but .*\.cpu\(\)"):
        _backend.cuda("attention", torch.device("cuda", 0))


def test_cuda_tensor_without_a_gpu_is_a_clear_error(monkeypatch):
    cuda_mod = pytest.importorskip("forgenet._cuda")
    if cuda_mod.device_count() > 0:
        pytest.skip("a GPU is present")
    monkeypatch.setattr(_backend, "_cuda_ops", {})
    with pytest.raises(RuntimeError, match="forgenet.torch.gemm: got a CUDA tensor but forgenet._cuda finds no GPU"):
        _backend.cuda("gemm", torch.device("cuda", 0))


def test_cuda_ops_are_cached_per_device(monkeypatch):
    fake = _FakeCuda()
    monkeypatch.setattr(_backend, "_cuda_ops", {})
    monkeypatch.setattr(_backend, "load_cuda_module", lambda op: fake)
    g0 = _backend.cuda("gemm", torch.device("cuda", 0))
    assert _backend.cuda("gemm", torch.device("cuda", 0)) is g0
    assert set(_backend._cuda_ops) == {torch.device("cuda", 0)}
