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
    # gru (the recurrent rules are lstm's, written once: contracts/recurrent.h)
    ("gru", (z(2, 3, 4), z(2, 5), z(4, 15), z(5, 16), z(2, 15)), {}, ValueError,
     r"^gru: recurrent_kernel must have shape \(units, 3\*units\), got \(5, 16\)$"),
    ("gru", (z(2, 3, 4), z(2, 5), z(4, 15), z(5, 15), z(15)), {}, ValueError,
     r"^gru: bias must have rank 2, got shape \(15,\)$"),
    ("gru", (z(2, 3, 4), z(2, 5), z(4, 15), z(5, 15), z(2, 15), False), {}, ValueError,
     r"^gru: bias must have rank 1, got shape \(2, 15\)$"),
    ("gru", (z(2, 3, 4), z(2, 5), z(4, 15), z(5, 15), z(3, 15)), {}, ValueError,
     r"^gru: bias must have shape \(2, 15\) for units=5 with reset_after=True, got \(3, 15\)$"),
    ("gru", (z(2, 3, 4), z(2, 4), z(4, 15), z(5, 15), z(2, 15)), {}, ValueError,
     r"^gru: h0 must have shape \(2, 5\) \(batch, units\), got \(2, 4\)$"),
    ("gru", (z(0, 2**40, 3), z(0, 4), z(3, 12), z(4, 12), z(2, 12)), {}, None, None),  # empty at once
    ("gru", (z(0, 3, 4), z(0, 2**61 - 1), z(4, 0), z(2**61 - 1, 0), z(2, 0)), {}, ValueError, r"^gru: 5 \* units overflows int64"),
    ("gru_backward", (None, None, z(2, 3, 4), z(2, 5), z(4, 15), z(5, 15), z(2, 15), z(2, 3, 15)), {}, ValueError,
     r"^gru_backward: reserve must have shape \(2, 3, 25\) \(batch, steps, 5\*units\) as returned by gru\(\.\.\., training=True\)"),
    ("gru_backward", (z(2, 3, 4), None, z(2, 3, 4), z(2, 5), z(4, 15), z(5, 15), z(2, 15), z(2, 3, 25)), {}, ValueError,
     r"^gru_backward: dy must have shape \(2, 3, 5\), got \(2, 3, 4\)$"),
    ("gru_backward", (None, z(2, 5, dtype=np.float64), z(2, 3, 4), z(2, 5), z(4, 15), z(5, 15), z(2, 15), z(2, 3, 25)), {},
     TypeError, r"^gru_backward: dh_T must be float32, got float64$"),
    # simple_rnn
    ("simple_rnn", (z(2, 3, 4), z(2, 5), z(4, 5), z(5, 6), z(5)), {}, ValueError,
     r"^simple_rnn: recurrent_kernel must have shape \(units, units\), got \(5, 6\)$"),
    ("simple_rnn", (z(2, 3, 4), z(2, 5), z(3, 5), z(5, 5), z(5)), {}, ValueError,
     r"^simple_rnn: kernel must have shape \(4, 5\) for x \(2, 3, 4\) and units=5, got \(3, 5\)$"),
    ("simple_rnn", (z(2, 3, 4), z(2, 5), z(4, 5), z(5, 5), z(6)), {}, ValueError,
     r"^simple_rnn: bias must have shape \(5,\) for units=5, got \(6,\)$"),
    ("simple_rnn", (z(2, 3, 4), z(2, 5), z(4, 5), z(5, 5), z(5), "gelu"), {}, ValueError,
     r"^simple_rnn: activation must be 'tanh', 'relu', 'sigmoid' or 'linear', got 'gelu'$"),
    ("simple_rnn", (z(2, 3, 4), z(2, 5), z(4, 5), z(5, 5), z(5), 3), {}, TypeError, r"^simple_rnn: activation must be a str, got int$"),
    ("simple_rnn", (z(0, 2**40, 3), z(0, 4), z(3, 4), z(4, 4), z(4), "tanh", True), {}, None, None),
    ("simple_rnn_backward", (None, None, z(2, 3, 4), z(2, 5), z(4, 5), z(5, 5), z(5), z(2, 3, 4)), {}, ValueError,
     r"^simple_rnn_backward: reserve must have shape \(2, 3, 5\) \(batch, steps, units\) as returned by simple_rnn"),
    # batch norm
    ("batch_norm", (z(4, 3), z(2), z(3)), {}, ValueError,
     r"^batch_norm: gamma must have shape \(3,\) to match x \(4, 3\) on its channel axis, got \(2,\)$"),
    ("batch_norm", (z(4, 3), z(4), z(4), 0), {}, None, None),
    ("batch_norm", (z(4, 3), z(3), z(3), 2), {}, ValueError, r"^batch_norm: axis 2 is out of range for x of shape \(4, 3\)$"),
    ("batch_norm", (z(), z(1), z(1)), {}, ValueError, r"^batch_norm: x must have rank >= 1, got a scalar$"),
    ("batch_norm", (z(4, 3), z(3), z(3), -1, -1.0), {}, ValueError, r"^batch_norm: epsilon must be >= 0, got -1"),
    ("batch_norm", (z(2**40, 2**20, 0), z(0), z(0)), {}, None, None),  # empty at once, however large the rest
    ("batch_norm", (z(3, 2**40, 0), z(3), z(3), 0), {}, None, None),
    ("batch_norm_inference", (z(4, 3), z(3), z(3), z(3), z(3, 1)), {}, ValueError,
     r"^batch_norm_inference: variance must have shape \(3,\) to match x \(4, 3\) on its channel axis, got \(3, 1\)$"),
    ("batch_norm_backward", (z(4, 2), z(4, 3), z(3), z(3), z(3)), {}, ValueError,
     r"^batch_norm_backward: dy must have the shape of x \(4, 3\), got \(4, 2\)$"),
    # depthwise conv (the sliding-window rule is window.h's, on the dilated window)
    ("depthwise_conv2d", (z(1, 4, 4, 2), z(3, 3, 2, 1)), {"dilation_rate": 2}, ValueError,
     r"^depthwise_conv2d: dilated kernel \(5, 5\) larger than input \(4, 4\) with padding='valid'$"),
    ("depthwise_conv2d", (z(1, 4, 4, 2), z(3, 3, 3, 1)), {}, ValueError,
     r"^depthwise_conv2d: x has 2 channels but kernel \(3, 3, 3, 1\) expects 3$"),
    ("depthwise_conv2d", (z(1, 4, 4, 2), z(3, 3, 2, 0)), {}, ValueError,
     r"^depthwise_conv2d: kernel's depth multiplier \(last axis\) must be >= 1"),
    ("depthwise_conv2d", (z(1, 4, 4, 2), z(3, 3, 2, 2), z(3)), {}, ValueError, r"^depthwise_conv2d: bias must have shape \(4,\), got \(3,\)$"),
    ("depthwise_conv2d", (z(1, 4, 4, 2), z(3, 3, 2, 2)), {"strides": 2, "dilation_rate": 2}, ValueError,
     r"^depthwise_conv2d: strides > 1 with dilation_rate > 1 on the same axis is not supported"),
    ("depthwise_conv2d", (z(1, 4, 4, 2), z(3, 3, 2, 1)), {"dilation_rate": 2**62, "padding": "same"}, ValueError,
     r"^depthwise_conv2d: the dilated kernel overflows int64"),
    ("depthwise_conv2d", (z(3, 2**30, 2**28, 0), z(1, 1, 0, 1)), {"padding": "same"}, None, None),  # empty at once
    ("depthwise_conv2d_backward", (z(1, 3, 3, 2), z(1, 4, 4, 2), z(3, 3, 2, 1)), {}, ValueError,
     r"^depthwise_conv2d_backward: dy must have the forward output's shape \(1, 2, 2, 2\), got \(1, 3, 3, 2\)$"),
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
    # the fused kinds (Adagrad..Ftrl) speak as their public op, with their slots' names
    ("fused_update", (0, z(3), z(3), z(4), None, [0.1, 1e-7]), {}, ValueError,
     r"^adagrad_update: accumulator must have the shape of var \(3,\), got \(4,\)$"),
    ("fused_update", (5, z(3), z(3), z(3), z(3, dtype=np.float64), [0.1] * 5), {}, TypeError,
     r"^ftrl_update: linear must be float32, got float64$"),
    ("fused_update", (1, z(3), z(3), z(3), None, [0.1] * 4), {}, ValueError, r"^adadelta_update: takes 2 slot arrays, got 1$"),
    ("fused_update", (4, z(3), z(3), z(3), None, [0.1] * 4), {}, ValueError,
     r"^lion_update: fused_update kind 4 takes 5 constants, got 4$"),
    ("fused_update", (9, z(3), z(3), z(3), None, []), {}, ValueError, r"^fused_update: kind must be in \[0, 6\), got 9$"),
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
