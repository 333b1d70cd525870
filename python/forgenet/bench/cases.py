"""The benchmarks: for each kernel and shape, the work it does and a runner per implementation.

A runner is a zero-argument callable that does one whole operation and returns when its results
exist (peers on asynchronous runtimes synchronise inside it). Torch's forward+backward runners
return the gradients (torch.autograd.grad) as ours do, instead of accumulating them into .grad: an
extra add per input that our kernels' runners do not pay. Operands are built once, outside the
timed calls. FLOP conventions: gemm 2MNK; conv 2 N Ho Wo Cout KH KW Cin forward, backward twice
that (dx and dkernel); attention 4 B H Nq Nk d forward (halved when causal), backward 2.5x forward
(FlashAttention's count); LSTM per step 2 N (D + U) 4U forward, backward twice that. cnn-epoch is
timed in images per second.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from forgenet import kernels

PEERS = ("numpy", "torch", "jax", "cupy", "forgenet.torch", "tf")  # tf: cnn-epoch only, via BENCH_TF_PYTHON


@dataclass
class Case:
    bench: str
    case: str
    work: float          # FLOP, or images for throughput cases
    unit: str            # "GFLOP/s" or "img/s"
    runners: dict        # impl -> Callable[[], Callable[[], object]] (a factory: builds operands lazily)
    device: str = "cpu"

    def rate(self, seconds: float) -> float:
        return self.work / seconds / (1e9 if self.unit == "GFLOP/s" else 1.0)


def available(name: str) -> bool:
    if name == "tf":  # runs in its own interpreter (forgenet.bench.peers), never imported here
        from forgenet.bench.peers import tf_python

        return tf_python() is not None
    try:
        importlib.import_module("torch" if name == "forgenet.torch" else name)
    except Exception:  # noqa: BLE001 - a broken install is as good as absent here
        return False
    return True


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def _torch():
    import torch

    return torch


def _jax():
    import jax

    return jax


# ---------------------------------------------------------------------------------------------- gemm
def gemm_cases(sizes, peers, device="cpu") -> list[Case]:
    out = []
    for m, n, k in sizes:
        def ours(m=m, n=n, k=k):
            a, b = _rand((m, k)), _rand((k, n), 1)
            if device == "cuda":
                import cupy

                a, b = cupy.asarray(a), cupy.asarray(b)
                return lambda: _sync_cupy(kernels.gemm(a, b))
            return lambda: kernels.gemm(a, b)

        def np_peer(m=m, n=n, k=k):
            a, b = _rand((m, k)), _rand((k, n), 1)
            return lambda: np.matmul(a, b)

        def torch_peer(m=m, n=n, k=k, adapter=False):
            torch = _torch()
            a, b = torch.from_numpy(_rand((m, k))), torch.from_numpy(_rand((k, n), 1))
            if adapter:
                import forgenet.torch as ft

                return lambda: ft.gemm(a, b)
            return lambda: torch.mm(a, b)

        def jax_peer(m=m, n=n, k=k):
            jax = _jax()
            a, b = jax.numpy.asarray(_rand((m, k))), jax.numpy.asarray(_rand((k, n), 1))
            f = jax.jit(jax.numpy.dot)
            return lambda: f(a, b).block_until_ready()

        def cupy_peer(m=m, n=n, k=k):
            import cupy

            a, b = cupy.asarray(_rand((m, k))), cupy.asarray(_rand((k, n), 1))
            return lambda: _sync_cupy(a @ b)

        runners = {"forgenet": ours}
        _add(runners, peers, device, numpy=np_peer, torch=torch_peer, jax=jax_peer, cupy=cupy_peer,
             adapter=lambda torch_peer=torch_peer: torch_peer(adapter=True))  # this size's, not the last one's
        out.append(Case("gemm", f"{m}x{n}x{k}", 2.0 * m * n * k, "GFLOP/s", runners, device))
    return out


def _sync_cupy(x):
    import cupy

    cupy.cuda.get_current_stream().synchronize()
    return x


def _add(runners, peers, device, *, numpy=None, torch=None, jax=None, cupy=None, adapter=None):
    """The peers asked for, installed, and able to run on `device`."""
    table = {"numpy": (numpy, "cpu"), "torch": (torch, "cpu"), "jax": (jax, "cpu"), "cupy": (cupy, "cuda"),
             "forgenet.torch": (adapter, "cpu")}
    for name in peers:
        fn, dev = table.get(name, (None, None))
        if fn is not None and dev == device and available(name):
            runners[name] = fn


# --------------------------------------------------------------------------------------------- conv2d
PRESETS = {
    # ResNet-50's conv shapes at 224x224 input: (name, H, W, Cin, Cout, K, stride)
    "resnet": [("conv1 7x7/2", 224, 224, 3, 64, 7, 2), ("res2 3x3", 56, 56, 64, 64, 3, 1),
               ("res2 1x1", 56, 56, 64, 256, 1, 1), ("res3 3x3", 28, 28, 128, 128, 3, 1),
               ("res4 3x3", 14, 14, 256, 256, 3, 1), ("res5 3x3", 7, 7, 512, 512, 3, 1)],
    # the article's MNIST CNN (valid padding)
    "mnist": [("conv1 3x3", 28, 28, 1, 32, 3, 1), ("conv2 3x3", 13, 13, 32, 64, 3, 1)],
}


def conv_cases(layers, batch, padding, mode, peers) -> list[Case]:
    out = []
    for name, h, w, cin, cout, ks, stride in layers:
        ho = -(-h // stride) if padding == "same" else (h - ks) // stride + 1
        wo = -(-w // stride) if padding == "same" else (w - ks) // stride + 1
        fwd_flops = 2.0 * batch * ho * wo * cout * ks * ks * cin

        def arrays(h=h, w=w, cin=cin, cout=cout, ks=ks, ho=ho, wo=wo):
            return _rand((batch, h, w, cin)), _rand((ks, ks, cin, cout), 1) * 0.1, _rand((batch, ho, wo, cout), 2)

        def ours(stride=stride, arrays=arrays):
            x, k, dy = arrays()
            if mode == "fwd":
                return lambda: kernels.conv2d(x, k, strides=stride, padding=padding)
            # (no bias, as in the peers' convolutions: nobody computes a bias gradient)
            return lambda: (kernels.conv2d(x, k, strides=stride, padding=padding),
                            kernels.conv2d_backward(dy, x, k, strides=stride, padding=padding, need_db=False))

        def torch_peer(stride=stride, ks=ks, arrays=arrays, channels_last=False):
            torch = _torch()
            x, k, dy = arrays()
            # torch's two layouts: its contiguous NCHW, and channels_last (NHWC in memory, oneDNN's
            # preferred); the peer is the faster of the two, so both are timed
            fmt = torch.channels_last if channels_last else torch.contiguous_format
            tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
            tk = torch.from_numpy(k).permute(3, 2, 0, 1).contiguous(memory_format=fmt)
            pad = "valid" if padding == "valid" else ((ks - 1) // 2 if stride > 1 else "same")
            if mode == "fwd":
                def run():
                    with torch.no_grad():
                        return torch.nn.functional.conv2d(tx, tk, stride=stride, padding=pad)
                return run
            tx.requires_grad_(), tk.requires_grad_()
            tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=fmt)

            def step():
                return torch.autograd.grad(torch.nn.functional.conv2d(tx, tk, stride=stride, padding=pad), (tx, tk), tdy)
            return step

        def jax_peer(stride=stride, arrays=arrays):
            jax = _jax()
            x, k, dy = (jax.numpy.asarray(a) for a in arrays())
            conv = lambda x, k: jax.lax.conv_general_dilated(  # noqa: E731
                x, k, (stride, stride), padding.upper(), dimension_numbers=("NHWC", "HWIO", "NHWC"))
            if mode == "fwd":
                f = jax.jit(conv)
                return lambda: f(x, k).block_until_ready()
            g = jax.jit(lambda x, k: jax.vjp(conv, x, k)[1](dy))
            return lambda: jax.block_until_ready(g(x, k))

        def adapter(stride=stride, arrays=arrays):
            torch = _torch()
            import forgenet.torch as ft

            x, k, dy = (torch.from_numpy(a) for a in arrays())
            if mode == "fwd":  # no torch.no_grad() block: nothing requires grad, and entering one costs ~5 us
                return lambda: ft.conv2d(x, k, strides=stride, padding=padding)
            x.requires_grad_(), k.requires_grad_()
            return lambda: torch.autograd.grad(ft.conv2d(x, k, strides=stride, padding=padding), (x, k), dy)

        runners = {"forgenet": ours}
        _add(runners, peers, "cpu", torch=torch_peer, jax=jax_peer, adapter=adapter)
        if "torch" in runners:
            runners["torch-cl"] = lambda torch_peer=torch_peer: torch_peer(channels_last=True)
        case = f"{name} b{batch} {h}x{w}x{cin}->{cout}"
        out.append(Case("conv2d", case, fwd_flops * (1 if mode == "fwd" else 3), "GFLOP/s", runners))
    return out


# ------------------------------------------------------------------------------------------ attention
def attention_cases(ns, b, h, d, causal, mode, peers) -> list[Case]:
    out = []
    for n in ns:
        flops = 4.0 * b * h * n * n * d * (0.5 if causal else 1.0) * (1.0 if mode == "fwd" else 3.5)

        def arrays(n=n):
            return [_rand((b, h, n, d), s) for s in range(4)]

        def ours(arrays=arrays):
            q, k, v, do = arrays()
            if mode == "fwd":
                return lambda: kernels.attention(q, k, v, causal=causal)

            def step():
                o, lse = kernels.attention(q, k, v, causal=causal, return_lse=True)
                return kernels.attention_backward(do, q, k, v, o, lse, causal=causal)
            return step

        def torch_peer(arrays=arrays, adapter=False):
            torch = _torch()
            if adapter:
                import forgenet.torch as ft

                sdpa = ft.scaled_dot_product_attention
            else:
                sdpa = torch.nn.functional.scaled_dot_product_attention
            q, k, v, do = (torch.from_numpy(a) for a in arrays())
            if mode == "fwd":  # nothing requires grad: no torch.no_grad() block (~5 us a call) on either side
                return lambda: sdpa(q, k, v, is_causal=causal)
            for t in (q, k, v):
                t.requires_grad_()

            def step():
                return torch.autograd.grad(sdpa(q, k, v, is_causal=causal), (q, k, v), do)
            return step

        def jax_peer(arrays=arrays):
            jax = _jax()
            q, k, v, do = (jax.numpy.asarray(a.swapaxes(1, 2)) for a in arrays())  # jax.nn wants (B, T, N, H)
            f = lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=causal)  # noqa: E731
            if mode == "fwd":
                g = jax.jit(f)
                return lambda: g(q, k, v).block_until_ready()
            g = jax.jit(lambda q, k, v: jax.vjp(f, q, k, v)[1](do))
            return lambda: jax.block_until_ready(g(q, k, v))

        runners = {"forgenet": ours}
        _add(runners, peers, "cpu", torch=torch_peer, jax=jax_peer,
             adapter=lambda a=arrays, peer=torch_peer: peer(a, True))
        case = f"b{b} h{h} n{n} d{d}{' causal' if causal else ''} {mode}"
        out.append(Case("attention", case, flops, "GFLOP/s", runners))
    return out


# ----------------------------------------------------------------------------------------------- lstm
def lstm_cases(batch, steps, inp, hidden, mode, peers) -> list[Case]:
    fwd = 2.0 * steps * batch * (inp + hidden) * 4 * hidden

    def arrays():
        x, h0, c0 = _rand((batch, steps, inp)), np.zeros((batch, hidden), np.float32), np.zeros((batch, hidden), np.float32)
        k, rk = _rand((inp, 4 * hidden), 1) * 0.1, _rand((hidden, 4 * hidden), 2) * 0.1
        return x, h0, c0, k, rk, np.zeros(4 * hidden, np.float32), _rand((batch, steps, hidden), 3)

    def ours():
        x, h0, c0, k, rk, bias, dy = arrays()
        if mode == "fwd":
            return lambda: kernels.lstm(x, h0, c0, k, rk, bias)

        def step():
            y, h, c, reserve = kernels.lstm(x, h0, c0, k, rk, bias, training=True)
            return kernels.lstm_backward(dy, None, None, x, h0, c0, k, rk, bias, reserve)
        return step

    def torch_peer():
        torch = _torch()
        x, h0, c0, k, rk, bias, dy = arrays()
        net = torch.nn.LSTM(inp, hidden, batch_first=True)
        with torch.no_grad():
            net.weight_ih_l0.copy_(torch.from_numpy(k.T))
            net.weight_hh_l0.copy_(torch.from_numpy(rk.T))
        tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
        if mode == "fwd":
            def run():
                with torch.no_grad():
                    return net(tx)
            return run
        tx.requires_grad_()
        wrt = (tx, *net.parameters())
        return lambda: torch.autograd.grad(net(tx)[0], wrt, tdy)

    def jax_peer():
        jax = _jax()
        jnp = jax.numpy
        x, h0, c0, k, rk, bias, dy = (jnp.asarray(a) for a in arrays())

        def f(x, k, rk):
            def step(hc, xt):
                h, c = hc
                i, fg, g, o = jnp.split(xt @ k + h @ rk + bias, 4, axis=1)
                c = jax.nn.sigmoid(fg) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
                h = jax.nn.sigmoid(o) * jnp.tanh(c)
                return (h, c), h
            return jnp.swapaxes(jax.lax.scan(step, (h0, c0), jnp.swapaxes(x, 0, 1))[1], 0, 1)
        if mode == "fwd":
            g = jax.jit(f)
            return lambda: g(x, k, rk).block_until_ready()
        g = jax.jit(lambda x, k, rk: jax.vjp(f, x, k, rk)[1](dy))
        return lambda: jax.block_until_ready(g(x, k, rk))

    def adapter():
        torch = _torch()
        import forgenet.torch as ft

        x, h0, c0, k, rk, bias, dy = (torch.from_numpy(a) for a in arrays())
        if mode == "fwd":  # nothing requires grad: no torch.no_grad() block (~5 us a call)
            return lambda: ft.lstm(x, h0, c0, k, rk, bias)
        x.requires_grad_(), k.requires_grad_(), rk.requires_grad_()
        return lambda: torch.autograd.grad(ft.lstm(x, h0, c0, k, rk, bias)[0], (x, k, rk), dy)

    runners = {"forgenet": ours}
    _add(runners, peers, "cpu", torch=torch_peer, jax=jax_peer, adapter=adapter)
    case = f"n{batch} t{steps} d{inp} u{hidden} {mode}"
    return [Case("lstm", case, fwd * (1 if mode == "fwd" else 3), "GFLOP/s", runners)]


# ------------------------------------------------------------------------------------------ cnn-epoch
def cnn_epoch_cases(n, batch, peers, threads=None) -> list[Case]:
    """One training epoch of the article's MNIST CNN (Adam, batch 32) on n images of the bundled sample.

    The peers run in their best configuration, each in its own process (forgenet.bench.peers): torch in
    both memory layouts (NCHW and channels_last: which is faster depends on the machine) and tf.keras
    (with BENCH_TF_PYTHON), all with the tuned malloc settings; the fastest of them is the best peer.
    """
    def data():
        from forgenet.datasets import mnist

        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (x, y), _ = mnist.load_data()
        if n > len(x):
            raise SystemExit(f"forgenet.bench cnn-epoch: --n {n} exceeds the {len(x)} images available")
        return (x[:n].astype(np.float32) / 255.0)[..., None], y[:n].astype(np.int64)

    def ours():
        import forgenet
        from forgenet.examples.mnist_cnn import build_model

        x, y = data()
        forgenet.utils.set_random_seed(0)
        model = build_model()
        model.fit(x[:4 * batch], y[:4 * batch], epochs=1, batch_size=batch, verbose=0)  # build, as the peers warm up
        return lambda: model.fit(x, y, epochs=1, batch_size=batch, verbose=0)

    def child(framework, layout="nchw"):
        def make():
            from forgenet import get_num_threads
            from forgenet.bench.peers import ChildPeer

            x, y = data()
            return ChildPeer(framework, "cnn", {"x": x, "y": y}, layout=layout, batch=batch,
                             threads=threads or get_num_threads())
        return make

    runners = {"forgenet": ours}
    if "torch" in peers and available("torch"):
        runners["torch nchw"] = child("torch", "nchw")
        runners["torch nhwc"] = child("torch", "nhwc")
    if "tf" in peers and available("tf"):
        runners["tf.keras"] = child("tf")
    return [Case("cnn-epoch", f"mnist cnn n{n} b{batch}", float(n), "img/s", runners)]


Factory = Callable[[], Callable[[], object]]
