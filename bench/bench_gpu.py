"""GPU benchmarks: forgenet's CUDA kernels beside their peers, in one run on one GPU.

    python bench/bench_gpu.py [OUT.json]

  gemm   ours vs cupy.matmul (cuBLAS, float32, TF32 off) at 4096^3 and a few other shapes
  conv   ours (im2col + our gemm) forward and backward vs torch's cuDNN (NHWC) when torch has CUDA
  lstm   ours (input GEMM + per-step GEMM and fused pointwise kernel) forward and forward+backward vs
         torch.nn.LSTM on CUDA (cuDNN), same weights (Keras and torch both order the gates i, f, c/g, o)
  attn   fused attention (B=4, H=8, d=64, float32, N 1024 and 4096, causal and not) forward and
         forward+backward vs torch's scaled_dot_product_attention (float32: its memory-efficient kernel)
  layernorm  ours vs torch.nn.functional.layer_norm (CUDA) at (4096, 1024), forward and backward
  optimizer  one Adam step (the CNN's weights; one 4096^2 weight): ours (a fused kernel per weight) vs the
         CuPy ufunc chain it replaced vs torch.optim.Adam(fused=True)
  cnn    one epoch of the article's MNIST CNN (forgenet.examples.mnist_cnn) after Model.to("cuda"), and
         the same model on this host's CPU with 2 threads (6000 images, scaled to the epoch)
Every section records its error instead of failing the run.
GPU times come from CUDA events around each call (median of several, after warm-up), not from the
host clock, since launches return before the work is done. Prints a short table; writes JSON.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
import traceback

import numpy as np

os.environ.setdefault("CUPY_TF32", "0")  # the peer computes in true float32, like us


def gpu_ms(fn, repeats=10, warmup=2):
    """Median milliseconds of fn() on the current stream, measured with CUDA events."""
    import cupy

    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return statistics.median(times)


def torch_ms(torch, fn, repeats=10, warmup=2):
    """gpu_ms for torch work, which runs on torch's own stream: timed with torch's events."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def torch_cuda():
    """torch when it is installed with CUDA (the peers' home), else None: those columns are left out."""
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def bench_gemm():
    import cupy

    from forgenet import _cuda_backend

    ops = _cuda_backend.module("bench")
    rng = cupy.random.default_rng(0)
    rows = []
    for (m, n, k) in [(4096, 4096, 4096), (8192, 8192, 1024), (1024, 1024, 1024), (128, 4096, 4096),
                      (288, 64, 86528)]:
        a = rng.standard_normal((m, k), dtype=cupy.float32)
        b = rng.standard_normal((k, n), dtype=cupy.float32)
        ours, peer = gpu_ms(lambda: kernels.gemm(a, b)), gpu_ms(lambda: cupy.matmul(a, b))
        ref = cupy.matmul(a, b)
        err = float(cupy.abs(kernels.gemm(a, b) - ref).max() / cupy.abs(ref).max())
        flop = 2.0 * m * n * k
        rows.append({"shape": [m, n, k], "ours_ms": ours, "cupy_ms": peer, "ours_tflops": flop / ours / 1e9,
                     "cupy_tflops": flop / peer / 1e9, "ratio_ours_over_cupy": ours / peer, "max_rel_diff": err})
    return rows


def bench_conv():
    import cupy

    from forgenet import _cuda_backend

    ops = _cuda_backend.module("bench")
    torch = torch_cuda()
    rng = cupy.random.default_rng(0)
    rows = []
    # the article CNN's two convolutions at batch 128, and a ResNet-ish 3x3 layer
    for (x_shape, k_shape, padding) in [((128, 28, 28, 1), (3, 3, 1, 32), "valid"),
                                        ((128, 13, 13, 32), (3, 3, 32, 64), "valid"),
                                        ((32, 56, 56, 64), (3, 3, 64, 64), "same")]:
        x = rng.standard_normal(x_shape, dtype=cupy.float32)
        k = rng.standard_normal(k_shape, dtype=cupy.float32)
        b = rng.standard_normal(k_shape[3], dtype=cupy.float32)
        y = kernels.conv2d(x, k, b, padding=padding)
        dy = rng.standard_normal(y.shape, dtype=cupy.float32)
        row = {"x": list(x_shape), "kernel": list(k_shape), "padding": padding,
               "ours_fwd_ms": gpu_ms(lambda: kernels.conv2d(x, k, b, padding=padding)),
               "ours_bwd_ms": gpu_ms(lambda: kernels.conv2d_backward(dy, x, k, padding=padding))}
        if torch is not None:
            import torch.nn.functional as F

            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cudnn.benchmark = True
            tx = torch.as_tensor(x, device="cuda").permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
            tk = torch.as_tensor(k, device="cuda").permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
            tb = torch.as_tensor(b, device="cuda")
            tx.requires_grad_(True)
            tk.requires_grad_(True)
            pad = "same" if padding == "same" else 0
            tdy = torch.as_tensor(dy, device="cuda").permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
            cupy.cuda.get_current_stream().synchronize()
            row["cudnn_fwd_ms"] = torch_ms(torch, lambda: F.conv2d(tx, tk, tb, padding=pad))
            row["cudnn_bwd_ms"] = torch_ms(torch, lambda: torch.autograd.grad(F.conv2d(tx, tk, tb, padding=pad),
                                                                              (tx, tk, tb), tdy))
        rows.append(row)
    return rows


def bench_lstm():
    import cupy

    from forgenet import _cuda_backend

    ops = _cuda_backend.module("bench")
    torch = torch_cuda()
    rng = cupy.random.default_rng(0)
    rows = []
    for (n, t, d, u) in [(64, 100, 256, 512), (32, 200, 128, 256)]:
        x = rng.standard_normal((n, t, d), dtype=cupy.float32)
        h0, c0 = cupy.zeros((n, u), cupy.float32), cupy.zeros((n, u), cupy.float32)
        w = rng.standard_normal((d, 4 * u), dtype=cupy.float32) * (1 / d ** 0.5)
        r = rng.standard_normal((u, 4 * u), dtype=cupy.float32) * (1 / u ** 0.5)
        b = rng.standard_normal(4 * u, dtype=cupy.float32) * 0.1
        dy = rng.standard_normal((n, t, u), dtype=cupy.float32)

        def fwd_bwd():
            y, _, _, res = kernels.lstm(x, h0, c0, w, r, b, True)
            return kernels.lstm_backward(dy, None, None, x, h0, c0, w, r, b, res)

        row = {"batch": n, "steps": t, "input": d, "units": u,
               "ours_fwd_ms": gpu_ms(lambda: kernels.lstm(x, h0, c0, w, r, b, False)),
               "ours_fwd_bwd_ms": gpu_ms(fwd_bwd)}
        if torch is not None:
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
            net = torch.nn.LSTM(d, u, batch_first=True).cuda()
            with torch.no_grad():
                net.weight_ih_l0.copy_(torch.as_tensor(w, device="cuda").T)
                net.weight_hh_l0.copy_(torch.as_tensor(r, device="cuda").T)
                net.bias_ih_l0.copy_(torch.as_tensor(b, device="cuda"))
                net.bias_hh_l0.zero_()
            tx = torch.as_tensor(x, device="cuda").requires_grad_(True)
            th, tc = torch.as_tensor(h0, device="cuda")[None], torch.as_tensor(c0, device="cuda")[None]
            tdy = torch.as_tensor(dy, device="cuda")
            params = [tx, *net.parameters()]
            cupy.cuda.get_current_stream().synchronize()

            def torch_fwd():
                with torch.no_grad():
                    return net(tx, (th, tc))

            row["cudnn_fwd_ms"] = torch_ms(torch, torch_fwd)
            row["cudnn_fwd_bwd_ms"] = torch_ms(torch, lambda: torch.autograd.grad(net(tx, (th, tc))[0], params, tdy))
            ty = torch_fwd()[0].detach()
            torch.cuda.synchronize()
            ours = kernels.lstm(x, h0, c0, w, r, b, False)[0]
            row["max_abs_diff_y"] = float(cupy.abs(ours - cupy.asarray(ty)).max())
        rows.append(row)
    return rows


def bench_attention():
    import cupy

    from forgenet import _cuda_backend

    ops = _cuda_backend.module("bench")
    torch = torch_cuda()
    rng = cupy.random.default_rng(0)
    b, h, d = 4, 8, 64
    rows = []
    for n in (1024, 4096):
        q, k, v, do = (rng.standard_normal((b, h, n, d), dtype=cupy.float32) for _ in range(4))
        for causal in (False, True):
            def fwd():
                return kernels.attention(q, k, v, causal, None)

            def fwd_bwd():
                o, lse = kernels.attention(q, k, v, causal, None)
                return kernels.attention_backward(do, q, k, v, o, lse, causal, None)

            # matmuls of the forward and backward: 2 (fwd) + 5 (bwd, with the recomputed scores) of 2*N*N*d
            # flops each, halved when causal
            flop = 2.0 * b * h * n * n * d * (0.5 if causal else 1.0)
            row = {"shape": [b, h, n, d], "causal": causal, "ours_fwd_ms": gpu_ms(fwd),
                   "ours_fwd_bwd_ms": gpu_ms(fwd_bwd)}
            row["ours_fwd_tflops"] = 2 * flop / row["ours_fwd_ms"] / 1e9
            row["ours_fwd_bwd_tflops"] = 7 * flop / row["ours_fwd_bwd_ms"] / 1e9
            if torch is not None:
                import torch.nn.functional as F

                torch.backends.cuda.matmul.allow_tf32 = False
                tq, tk, tv, tdo = (torch.as_tensor(a, device="cuda") for a in (q, k, v, do))
                tq, tk, tv = (t.clone().requires_grad_(True) for t in (tq, tk, tv))
                cupy.cuda.get_current_stream().synchronize()
                sdpa = lambda: F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)  # noqa: E731
                row["sdpa_fwd_ms"] = torch_ms(torch, sdpa)
                row["sdpa_fwd_bwd_ms"] = torch_ms(torch, lambda: torch.autograd.grad(sdpa(), (tq, tk, tv), tdo))
                row["ratio_sdpa_over_ours_fwd"] = row["sdpa_fwd_ms"] / row["ours_fwd_ms"]
                row["ratio_sdpa_over_ours_fwd_bwd"] = row["sdpa_fwd_bwd_ms"] / row["ours_fwd_bwd_ms"]
                with torch.no_grad():
                    ref = sdpa()
                torch.cuda.synchronize()
                o, _ = fwd()
                cupy.cuda.get_current_stream().synchronize()
                row["max_abs_diff_vs_sdpa"] = float(cupy.abs(o - cupy.asarray(ref.detach())).max())
            rows.append(row)
    return rows


def bench_layernorm():
    import cupy

    from forgenet import _cuda_backend

    ops = _cuda_backend.module("bench")
    rows, cols, eps = 4096, 1024, 1e-3
    rng = cupy.random.default_rng(0)
    x = rng.standard_normal((rows, cols), dtype=cupy.float32)
    dy = rng.standard_normal((rows, cols), dtype=cupy.float32)
    gamma = rng.random(cols, dtype=cupy.float32) + 0.5
    beta = rng.standard_normal(cols, dtype=cupy.float32)
    y, mean, rstd = kernels.layer_norm(x, gamma, beta, eps)
    # x in, y out; dy and x in twice (dx, then the column sums), dx out
    bytes_fwd, bytes_bwd = 2 * x.nbytes, 5 * x.nbytes
    out = {"shape": [rows, cols],
           "ours_fwd_ms": gpu_ms(lambda: kernels.layer_norm(x, gamma, beta, eps)),
           "ours_bwd_ms": gpu_ms(lambda: kernels.layer_norm_backward(dy, x, gamma, mean, rstd))}
    out["ours_fwd_gbs"] = bytes_fwd / out["ours_fwd_ms"] / 1e6
    out["ours_bwd_gbs"] = bytes_bwd / out["ours_bwd_ms"] / 1e6
    torch = torch_cuda()
    if torch is not None:
        import torch.nn.functional as F

        tx = torch.as_tensor(x, device="cuda").requires_grad_(True)
        tg = torch.as_tensor(gamma, device="cuda").requires_grad_(True)
        tb = torch.as_tensor(beta, device="cuda").requires_grad_(True)
        tdy = torch.as_tensor(dy, device="cuda")
        cupy.cuda.get_current_stream().synchronize()
        with torch.no_grad():
            out["torch_fwd_ms"] = torch_ms(torch, lambda: F.layer_norm(tx, (cols,), tg, tb, eps))
        ty = F.layer_norm(tx, (cols,), tg, tb, eps)  # the backward alone: one graph, kept for the repeats
        out["torch_bwd_ms"] = torch_ms(torch, lambda: torch.autograd.grad(ty, (tx, tg, tb), tdy, retain_graph=True))
        ref = cupy.asarray(ty.detach())
        out["max_abs_diff_y"] = float(cupy.abs(y - ref).max())
    return out


def bench_optimizer():
    """One Adam step over a set of weights: ours (one fused kernel per weight) vs the CuPy ufunc chain
    Adam ran before (~12 launches per weight) vs torch.optim.Adam(fused=True) when torch has CUDA."""
    import cupy

    from forgenet import kernels

    rng = cupy.random.default_rng(0)
    sets = {"mnist_cnn": [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (1600, 64), (64,), (64, 10), (10,)],
            "4096x4096": [(4096, 4096)]}
    out = []
    for name, shapes in sets.items():
        w = [rng.standard_normal(s, dtype=cupy.float32) for s in shapes]
        g = [rng.standard_normal(s, dtype=cupy.float32) for s in shapes]
        m = [cupy.zeros(s, cupy.float32) for s in shapes]
        v = [cupy.zeros(s, cupy.float32) for s in shapes]
        tmp = [(cupy.empty(s, cupy.float32), cupy.empty(s, cupy.float32)) for s in shapes]
        lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7

        def fused():
            for i in range(len(w)):
                kernels.adam_update(w[i], g[i], m[i], v[i], None, lr, b1, b2, eps)

        def ufuncs():  # optimizers/adam.py before the fused kernel
            for i in range(len(w)):
                a, b = tmp[i]
                cupy.subtract(g[i], m[i], out=a)
                a *= 1 - b1
                m[i] += a
                cupy.multiply(g[i], g[i], out=a)
                a -= v[i]
                a *= 1 - b2
                v[i] += a
                cupy.multiply(m[i], lr, out=a)
                cupy.sqrt(v[i], out=b)
                b += eps
                a /= b
                w[i] -= a

        n = sum(int(x.size) for x in w)
        r = {"weights": name, "params": n, "ours_ms": gpu_ms(fused, repeats=20), "ufunc_ms": gpu_ms(ufuncs, repeats=20)}
        r["ours_gbs"] = 28 * n / r["ours_ms"] / 1e6  # var, m, v read and written, grad read
        torch = torch_cuda()
        if torch is not None:
            params = [torch.nn.Parameter(torch.as_tensor(x, device="cuda").clone()) for x in w]
            for p_, gg in zip(params, g):
                p_.grad = torch.as_tensor(gg, device="cuda").clone()
            opt = torch.optim.Adam(params, lr=lr, eps=eps, fused=True)
            cupy.cuda.get_current_stream().synchronize()
            r["torch_fused_ms"] = torch_ms(torch, opt.step)
        out.append(r)
    return out


def bench_cnn():
    import cupy

    from forgenet.examples.mnist_cnn import build_model, prepare
    from forgenet.datasets import mnist

    model = build_model()
    if not hasattr(model, "to"):
        return {"skipped": "Model.to does not exist in this build"}
    (x, y), _ = mnist.load_data()
    x, y = prepare(x), y.astype(np.int64)
    model.to("cuda")
    model.fit(x[:512], y[:512], epochs=1, batch_size=128, verbose=0)  # build + warm up
    cupy.cuda.get_current_stream().synchronize()
    out = {"images": int(len(x))}
    for batch in (32, 128):
        t0 = time.perf_counter()
        hist = model.fit(x, y, epochs=1, batch_size=batch, verbose=0)
        cupy.cuda.get_current_stream().synchronize()
        out[f"epoch_s_batch{batch}"] = time.perf_counter() - t0
        out[f"loss_batch{batch}"] = float(hist.history["loss"][-1])
    # The yardstick is our CPU on 2 cores: time the same model there on 6000 images with 2 threads
    # (this host's cores, not the dev machine's) and scale to the epoch.
    import forgenet

    threads = forgenet.get_num_threads()
    forgenet.set_num_threads(2)
    try:
        cpu = build_model()
        n = min(6000, len(x))
        cpu.fit(x[:256], y[:256], epochs=1, batch_size=32, verbose=0)  # build + warm up
        t0 = time.perf_counter()
        cpu.fit(x[:n], y[:n], epochs=1, batch_size=32, verbose=0)
        cpu_epoch = (time.perf_counter() - t0) * len(x) / n
    finally:
        forgenet.set_num_threads(threads)
    out["cpu_2threads_epoch_s_batch32_est"] = cpu_epoch
    out["speedup_batch32_vs_cpu_2threads"] = cpu_epoch / out["epoch_s_batch32"]
    return out


def main(path=None):
    import cupy

    dev = cupy.cuda.runtime.getDeviceProperties(0)
    res = {"device": dev["name"].decode() if isinstance(dev["name"], bytes) else str(dev["name"])}
    for name, fn in (("gemm", bench_gemm), ("conv", bench_conv), ("lstm", bench_lstm), ("attn", bench_attention),
                     ("layernorm", bench_layernorm), ("optimizer", bench_optimizer), ("cnn", bench_cnn)):
        try:
            res[name] = fn()
        except Exception as e:  # record and go on: one missing piece must not hide the others
            res[name] = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-2000:]}
    print(f"GPU: {res['device']}")
    for r in res["gemm"] if isinstance(res["gemm"], list) else []:
        print(f"gemm {r['shape']}: ours {r['ours_tflops']:.1f} TFLOP/s, cupy {r['cupy_tflops']:.1f} TFLOP/s "
              f"(ours/cupy time {r['ratio_ours_over_cupy']:.2f}x, max rel diff {r['max_rel_diff']:.1e})")
    for r in res["conv"] if isinstance(res["conv"], list) else []:
        peer = (f", cuDNN fwd {r['cudnn_fwd_ms']:.3f} ms bwd {r['cudnn_bwd_ms']:.3f} ms" if "cudnn_fwd_ms" in r
                else " (no torch CUDA peer)")
        print(f"conv x={r['x']} k={r['kernel']}: ours fwd {r['ours_fwd_ms']:.3f} ms bwd {r['ours_bwd_ms']:.3f} ms{peer}")
    for r in res["lstm"] if isinstance(res["lstm"], list) else []:
        peer = (f", cuDNN fwd {r['cudnn_fwd_ms']:.3f} ms fwd+bwd {r['cudnn_fwd_bwd_ms']:.3f} ms "
                f"(max |y diff| {r['max_abs_diff_y']:.1e})" if "cudnn_fwd_ms" in r else " (no torch CUDA peer)")
        print(f"lstm N={r['batch']} T={r['steps']} {r['input']}->{r['units']}: ours fwd {r['ours_fwd_ms']:.3f} ms "
              f"fwd+bwd {r['ours_fwd_bwd_ms']:.3f} ms{peer}")
    for r in res["attn"] if isinstance(res["attn"], list) else []:
        peer = (f", SDPA fwd {r['sdpa_fwd_ms']:.3f} ms fwd+bwd {r['sdpa_fwd_bwd_ms']:.3f} ms (SDPA/ours time: fwd "
                f"{r['ratio_sdpa_over_ours_fwd']:.2f}x, fwd+bwd {r['ratio_sdpa_over_ours_fwd_bwd']:.2f}x, max diff "
                f"{r['max_abs_diff_vs_sdpa']:.1e})" if "sdpa_fwd_ms" in r else " (no torch CUDA peer)")
        print(f"attention {r['shape']} causal={r['causal']}: ours fwd {r['ours_fwd_ms']:.3f} ms "
              f"({r['ours_fwd_tflops']:.1f} TFLOP/s) fwd+bwd {r['ours_fwd_bwd_ms']:.3f} ms "
              f"({r['ours_fwd_bwd_tflops']:.1f} TFLOP/s){peer}")
    r = res["layernorm"]
    if "ours_fwd_ms" in r:
        peer = (f", torch fwd {r['torch_fwd_ms']:.3f} ms bwd {r['torch_bwd_ms']:.3f} ms" if "torch_fwd_ms" in r
                else " (no torch CUDA peer)")
        print(f"layer_norm {r['shape']}: ours fwd {r['ours_fwd_ms']:.3f} ms ({r['ours_fwd_gbs']:.0f} GB/s) "
              f"bwd {r['ours_bwd_ms']:.3f} ms ({r['ours_bwd_gbs']:.0f} GB/s){peer}")
    elif "error" in r:
        print(f"layernorm: {r['error']}")
    for r in res["optimizer"] if isinstance(res["optimizer"], list) else []:
        peer = f", torch Adam(fused=True) {r['torch_fused_ms']:.3f} ms" if "torch_fused_ms" in r else ""
        print(f"adam step {r['weights']} ({r['params']} params): ours {r['ours_ms']:.3f} ms "
              f"({r['ours_gbs']:.0f} GB/s), CuPy ufuncs {r['ufunc_ms']:.3f} ms{peer}")
    r = res["cnn"]
    if "epoch_s_batch32" in r:
        print(f"cnn epoch ({r['images']} images): GPU {r['epoch_s_batch32']:.2f} s at batch 32, "
              f"{r['epoch_s_batch128']:.2f} s at batch 128; our CPU, 2 threads (estimated from 6000 images) "
              f"{r['cpu_2threads_epoch_s_batch32_est']:.1f} s: {r['speedup_batch32_vs_cpu_2threads']:.1f}x")
    for name in ("gemm", "conv", "lstm", "attn", "optimizer"):
        if isinstance(res[name], dict):
            print(f"{name}: {res[name].get('error') or res[name]}")
    if path:
        with open(path, "w") as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
