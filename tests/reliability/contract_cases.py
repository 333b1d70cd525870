"""The contract messages of every op family, written once and checked against each device's module:
tests/reliability/test_messages.py runs them on forgenet._C (numpy arrays), tests/cuda_emu/
test_emu_contracts.py on the emulated forgenet._cuda (the same arrays behind __cuda_array_interface__),
and on a GPU machine the same table serves the real one. Each case: (op, positional args, keyword
args, exception type, regex the message must match). Arrays are numpy here; a runner wraps them for its
device. Scalars and strings are not wrapped."""
import numpy as np

F = np.float32


def z(*shape, dtype=F):
    return np.zeros(shape, dtype)


CASES = [
    # sliding windows: pooling
    ("max_pool2d", (z(1, 4, 4, 2), (5, 5), None, "valid"), {}, ValueError,
     r"^max_pool2d: pool_size \(5, 5\) larger than input \(4, 4\) with padding='valid'$"),
    ("avg_pool2d", (z(1, 4, 4), 2, None, "valid"), {}, ValueError, r"^avg_pool2d: x must have rank 4, got shape \(1, 4, 4\)$"),
    ("max_pool2d", (z(1, 4, 4, 2, dtype=np.float64), 2, None, "valid"), {}, TypeError,
     r"^max_pool2d: x must be float32, got float64$"),
    ("max_pool2d", (z(1, 4, 4, 2), (0, 2), None, "valid"), {}, ValueError, r"^max_pool2d: pool_size must be positive"),
    ("max_pool2d", (z(1, 4, 4, 2), 2, None, "full"), {}, ValueError, r"^max_pool2d: padding must be 'valid' or 'same', got 'full'$"),
    ("max_pool2d_backward", (z(1, 3, 3, 2), z(1, 4, 4, 2), 2, None, "valid"), {}, ValueError,
     r"^max_pool2d_backward: dy must have the forward output's shape \(1, 2, 2, 2\), got \(1, 3, 3, 2\)$"),
    ("avg_pool2d", (z(2**20, 2**20, 1, 0), (1, 1), None, "same"), {}, None, None),  # an empty output, at once
    # sliding windows: conv2d
    ("conv2d", (z(1, 5, 5, 3), z(3, 3, 2, 4)), {}, ValueError,
     r"^conv2d: x has 3 channels but kernel \(3, 3, 2, 4\) expects 2$"),
    ("conv2d", (z(1, 2, 2, 3), z(3, 3, 3, 4)), {}, ValueError,
     r"^conv2d: kernel \(3, 3\) larger than input \(2, 2\) with padding='valid'$"),
    ("conv2d", (z(1, 5, 5, 3), z(3, 3, 3, 4), z(5)), {}, ValueError, r"^conv2d: bias must have shape \(4,\), got \(5,\)$"),
    ("conv2d", (z(1, 5, 5, 3), z(0, 3, 3, 4)), {}, ValueError, r"^conv2d: kernel must be at least 1x1"),
    ("conv2d_backward", (z(1, 2, 2, 4), z(1, 5, 5, 3), z(3, 3, 3, 4)), {}, ValueError,
     r"^conv2d_backward: dy must have the forward output's shape \(1, 3, 3, 4\), got \(1, 2, 2, 4\)$"),
    # gemm
    ("gemm", (z(2, 3), z(4, 5)), {}, ValueError,
     r"^gemm: inner dimensions must match, got op\(a\) of shape \(2, 3\) and op\(b\) of shape \(4, 5\)$"),
    ("gemm", (z(2, 3), z(3, 5), z(2, 4), False, False, 1.0, 1.0), {}, ValueError,
     r"^gemm: c must have shape \(2, 5\) to match op\(a\) @ op\(b\), got \(2, 4\)$"),
    ("gemm", (z(2, 3), z(3, 5), None, False, False, 1.0, 0.5), {}, ValueError, r"^gemm: c is required when beta != 0"),
    ("gemm", (z(2**60, 0), z(0, 2**60)), {}, ValueError, r"^gemm: the output \(M, N\) overflows int64"),
    # softmax
    ("softmax", (z(),), {}, ValueError, r"^softmax: x must have rank >= 1, got a scalar$"),
    ("softmax_backward", (z(2, 3), z(3, 2)), {}, ValueError,
     r"^softmax_backward: dy and y must have the same shape, got \(2, 3\) and \(3, 2\)$"),
    ("softmax_cross_entropy", (z(2, 0), z(2, 0)), {}, ValueError, r"^softmax_cross_entropy: logits must have at least one class"),
    ("softmax_cross_entropy", (z(2, 3), z(3, dtype=np.int64)), {}, ValueError,
     r"^softmax_cross_entropy: labels must have shape \(2,\) to match logits \(2, 3\), got \(3,\)$"),
    ("softmax_cross_entropy", (z(2, 3), z(2, 4)), {}, ValueError,
     r"^softmax_cross_entropy: target must have the shape of logits \(2, 3\), got \(2, 4\)$"),
    # lstm
    ("lstm", (z(2, 3, 4), z(2, 5), z(2, 5), z(4, 20), z(5, 16), z(20)), {}, ValueError,
     r"^lstm: recurrent_kernel must have shape \(units, 4\*units\), got \(5, 16\)$"),
    ("lstm", (z(2, 3, 4), z(2, 5), z(2, 5), z(3, 20), z(5, 20), z(20)), {}, ValueError,
     r"^lstm: kernel must have shape \(4, 20\) for x \(2, 3, 4\) and units=5, got \(3, 20\)$"),
    ("lstm", (z(2, 3, 4), z(3, 5), z(2, 5), z(4, 20), z(5, 20), z(20)), {}, ValueError,
     r"^lstm: h0 must have shape \(2, 5\) \(batch, units\), got \(3, 5\)$"),
    ("lstm", (z(0, 2**40, 3), z(0, 4), z(0, 4), z(3, 16), z(4, 16), z(16)), {}, None, None),
    ("lstm_backward", (None, None, None, z(2, 3, 4), z(2, 5), z(2, 5), z(4, 20), z(5, 20), z(20), z(2, 3, 20)), {},
     ValueError, r"^lstm_backward: reserve must have shape \(2, 3, 25\)"),
    # embedding
    ("embedding", (z(3, dtype=np.int32), z(4, 2)), {}, TypeError, r"^embedding: ids must be int64, got int32$"),
    ("embedding_backward", (z(3, 2), z(3, dtype=np.int64), -1), {}, ValueError, r"^embedding_backward: input_dim must be >= 0"),
    ("embedding_backward", (z(3, 2), z(4, dtype=np.int64), 5), {}, ValueError,
     r"^embedding_backward: dy must have shape ids.shape \+ \(output_dim,\) with ids \(4,\), got \(3, 2\)$"),
    ("embedding_backward", (z(3, 5), z(3, dtype=np.int64), 2**62), {}, ValueError,
     r"^embedding_backward: the gradient \(input_dim, output_dim\) overflows int64"),
    ("embedding_backward", (z(3, 0), z(3, dtype=np.int64), 2**40), {}, None, None),
    # attention
    ("attention", (z(1, 2, 3, 4), z(1, 2, 5, 4), z(1, 2, 6, 4)), {}, ValueError,
     r"^attention: k and v must have the same length \(axis 2\)"),
    ("attention", (z(1, 2, 3, 4), z(1, 2, 5, 3), z(1, 2, 5, 4)), {}, ValueError,
     r"^attention: q and k must have the same head dim \(axis 3\)"),
    ("attention", (z(1, 2, 3, 0), z(1, 2, 5, 0), z(1, 2, 5, 4)), {}, ValueError, r"^attention: the head dim of q and k must be >= 1"),
    ("attention", (z(1, 2, 3, 4), z(1, 2, 5, 4), z(1, 2, 5, 4), False, "x"), {}, TypeError,
     r"^attention: scale must be a number or None, got str$"),
    ("attention_backward", (z(1, 2, 3, 4), z(1, 2, 3, 4), z(1, 2, 5, 4), z(1, 2, 5, 4), z(1, 2, 3, 4), z(1, 2, 4)), {},
     ValueError, r"^attention_backward: lse must have shape \(1, 2, 3\), got \(1, 2, 4\)$"),
    # layer norm
    ("layer_norm", (z(2, 3), z(4), z(3)), {}, ValueError, r"^layer_norm: gamma must have shape \(3,\) to match x \(2, 3\), got \(4,\)$"),
    ("layer_norm", (z(2, 3), z(3), z(3), -1.0), {}, ValueError, r"^layer_norm: epsilon must be >= 0"),
    ("layer_norm_backward", (z(2, 3), z(2, 3), z(3), z(3), z(2)), {}, ValueError,
     r"^layer_norm_backward: mean and rstd must have shape x.shape\[:-1\] for x \(2, 3\), got \(3,\) and \(2,\)$"),
    # optimizers
    ("adam_update", (z(3), z(4), z(3), z(3), None, 1e-3, 0.9, 0.999, 1e-7), {}, ValueError,
     r"^adam_update: grad must have the shape of var \(3,\), got \(4,\)$"),
    ("sgd_update", (z(3), z(3), None, 0.1, 0.9, False), {}, ValueError, r"^sgd_update: m is None \(plain SGD\) but momentum is 0.9"),
]


def shared_memory_case():
    """var and m the same memory: refused (an in-place update would corrupt both)."""
    v = z(4)
    return ("adam_update", (v, z(4), v, z(4), None, 1e-3, 0.9, 0.999, 1e-7), {}, ValueError,
            r"^adam_update: var and m must not share memory$")


def check_case(module, wrap, case):
    """Calls module.<op> with the case's arrays wrapped by `wrap`; asserts the outcome."""
    import re

    op, args, kwargs, exc, pattern = case
    args = tuple(wrap(a) if isinstance(a, np.ndarray) else a for a in args)
    fn = getattr(module, op)
    if exc is None:
        fn(*args, **kwargs)
        return
    try:
        fn(*args, **kwargs)
    except exc as e:
        assert re.search(pattern, str(e)), f"{op}: message {str(e)!r} does not match {pattern!r}"
    else:
        raise AssertionError(f"{op}: no {exc.__name__} (expected {pattern!r})")
