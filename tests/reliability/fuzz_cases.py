"""The property-based fuzz cases, one family per `run(family, n)` call, meant to run in a subprocess
(test_fuzz.py starts one per family, with a timeout), so that a crash or a hang fails that test and not
the run. Each example draws arguments over the family's whole argument space -- dimensions 0, 1, small
and huge (products far past int64 on empty arrays), strides, paddings, pool sizes, dtypes, byte orders,
layouts, non-arrays -- calls the op through forgenet.kernels and straight through forgenet._C, and
accepts exactly two outcomes: arrays, or ValueError / TypeError / MemoryError / NotImplementedError
whose message starts with the op's name. Anything else (another exception type, a message that does
not name the op, a signal, a hang) is a failure; the example is printed to stderr before it runs, so
the last one printed is the culprit.

The process runs under a 2 GiB address-space limit, so that an op asked for terabytes fails with
MemoryError quickly instead of paging; the strategies keep every legitimate output small.
"""
from __future__ import annotations

import os
import resource
import sys

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SMALL = [0, 1, 2, 3, 5]
HUGE = [2**31 - 1, 2**31, 2**32 + 1, 2**40, 2**62, 2**63 - 1]
OK_TYPES = (ValueError, TypeError, MemoryError, NotImplementedError)


def _limit_memory():
    gib = 2 << 30
    resource.setrlimit(resource.RLIMIT_AS, (gib, gib))


small = st.sampled_from(SMALL)
huge = st.sampled_from(HUGE)
any_int = st.one_of(small, huge, st.integers(-3, 8), st.sampled_from([-(2**63), -(2**31)]))
scalar_arg = st.one_of(any_int, st.none(), st.floats(allow_nan=True), st.text(max_size=3),
                       st.tuples(any_int, any_int), st.tuples(any_int), st.tuples(any_int, any_int, any_int))


@st.composite
def shapes(draw, rank=None, max_elems=512):
    """A shape: small dimensions with at most max_elems elements, or one with a 0 and huge others (an
    empty array whose shape numpy still accepts)."""
    r = draw(st.integers(0, 5)) if rank is None else rank
    if r > 0 and draw(st.booleans()) and draw(st.booleans()):
        dims = [draw(st.sampled_from([0, 1, 3] + HUGE[:4])) for _ in range(r)]
        dims[draw(st.integers(0, r - 1))] = 0
        big = [d for d in dims if d > 1]
        while big and np.prod([float(d) for d in big]) * 8 >= 2**62:  # numpy's own limit on empty shapes
            dims[dims.index(big.pop())] = 1
        return tuple(dims)
    dims = [draw(st.sampled_from(SMALL + [4, 7])) for _ in range(r)]
    while np.prod(dims, dtype=np.float64) > max_elems:
        dims[dims.index(max(dims))] //= 2
    return tuple(dims)


@st.composite
def arrays(draw, rank=None, dtype_mix=True, integer=False):
    """Mostly the right dtype (float32, or int64 when integer), sometimes another, a big-endian one, a
    non-contiguous view, a list, None or a string."""
    shape = draw(shapes(rank))
    kind = draw(st.sampled_from(["ok"] * 6 + (["dtype", "be", "strided", "list", "junk"] if dtype_mix else [])))
    base = np.int64 if integer else np.float32
    if kind == "junk":
        return draw(st.sampled_from([None, "x", 3, 2.5, object()]))
    n = int(np.prod(shape)) if 0 not in shape else 0
    if integer:
        data = np.random.default_rng(n).integers(-2, 6, size=n if n else 0).astype(np.int64)
    else:
        data = np.random.default_rng(n).standard_normal(n).astype(np.float32)
        if n and draw(st.booleans()):
            data[0] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e38, -1e38]))
    a = data.reshape(shape) if n else np.zeros(shape, base)
    if kind == "dtype":
        a = a.astype(draw(st.sampled_from([np.float64, np.float16, np.int32, np.int64, np.bool_, np.complex64])))
    elif kind == "be":
        a = a.astype(a.dtype.newbyteorder(">"))
    elif kind == "strided" and a.ndim and n:
        a = np.repeat(a, 2, axis=-1)[..., ::2]
    elif kind == "list" and n < 64 and max(shape, default=0) < 64:
        a = a.tolist()
    return a


def check(op: str, fn, *args, **kwargs):
    """Runs one call; returns normally unless the outcome breaks the contract."""
    try:
        out = fn(*args, **kwargs)
    except OK_TYPES as e:
        msg = str(e)
        if not (msg.startswith(op) or msg.startswith(op.split(".")[-1])):
            raise AssertionError(f"{op}: {type(e).__name__} does not name the op: {msg!r}") from e
        return None
    for o in out if isinstance(out, tuple) else (out,):
        assert o is None or (isinstance(o, np.ndarray) and o.dtype == np.float32), f"{op}: returned {type(o)}"
    return out


def _both(op: str, *args, **kwargs):
    """The op through forgenet.kernels and straight through forgenet._C."""
    import forgenet.kernels as K
    from forgenet import _C

    check(op, getattr(K, op), *args, **kwargs)
    check(op, getattr(_C, op), *args, **kwargs)


def _say(*parts):
    print(*[repr(p) if not isinstance(p, np.ndarray) else f"array{p.shape}{p.dtype}" for p in parts],
          file=sys.stderr, flush=True)


# ---- one strategy per family -------------------------------------------------------------------------

def fam_pooling(d):
    x = d(arrays(rank=d(st.sampled_from([4, 4, 4, 3]))))
    pool, strides = d(scalar_arg), d(st.one_of(st.none(), scalar_arg))
    padding = d(st.sampled_from(["valid", "same", "SAME", "full", None, 3]))
    for op in ("max_pool2d", "avg_pool2d"):
        _say(op, x, pool, strides, padding)
        _both(op, x, pool, strides, padding)
    dy = d(arrays(rank=4))
    for op in ("max_pool2d_backward", "avg_pool2d_backward"):
        _say(op, dy, x, pool, strides, padding)
        _both(op, dy, x, pool, strides, padding)


def fam_conv(d):
    x, k = d(arrays(rank=4)), d(arrays(rank=4))
    bias = d(st.one_of(st.none(), arrays(rank=1)))
    strides, padding = d(scalar_arg), d(st.sampled_from(["valid", "same", "bogus"]))
    _say("conv2d", x, k, bias, strides, padding)
    _both("conv2d", x, k, bias, strides=strides, padding=padding)
    dy = d(arrays(rank=4))
    need_dx, need_db = d(st.booleans()), d(st.booleans())
    _say("conv2d_backward", dy, x, k, strides, padding, need_dx, need_db)
    _both("conv2d_backward", dy, x, k, strides=strides, padding=padding, need_dx=need_dx, need_db=need_db)


def fam_gemm(d):
    a, b = d(arrays(rank=2)), d(arrays(rank=2))
    c = d(st.one_of(st.none(), arrays(rank=2)))
    ta, tb = d(st.booleans()), d(st.booleans())
    beta = d(st.sampled_from([0.0, 1.0, 0.5]))
    _say("gemm", a, b, c, ta, tb, beta)
    import forgenet.kernels as K
    from forgenet import _C

    check("gemm", K.gemm, a, b, c, trans_a=ta, trans_b=tb, beta=beta)
    check("gemm", _C.gemm, a, b, c, ta, tb, 1.0, beta)


def fam_softmax(d):
    x = d(arrays())
    _say("softmax", x)
    _both("softmax", x)
    y = d(arrays())
    _say("softmax_backward", x, y)
    _both("softmax_backward", x, y)
    logits = d(arrays(rank=2))
    target = d(st.one_of(arrays(rank=1, integer=True), arrays(rank=2), arrays()))
    _say("softmax_cross_entropy", logits, target)
    _both("softmax_cross_entropy", logits, target)


def fam_lstm(d):
    n, t, dd, u = (d(st.sampled_from([0, 1, 2, 3] + ([2**40] if i == 1 else []))) for i in range(4))
    if n and t > 64:
        t = 3
    f = lambda *s: np.zeros(s, np.float32) if 0 in s else np.random.default_rng(0).standard_normal(s).astype(np.float32)  # noqa: E731
    args = [f(n, t, dd), f(n, u), f(n, u), f(dd, 4 * u), f(u, 4 * u), f(4 * u)]
    i = d(st.integers(-1, 5))
    if i >= 0:  # one argument from anywhere in the space
        args[i] = d(arrays())
    _say("lstm", *args)
    _both("lstm", *args)
    import forgenet.kernels as K
    from forgenet import _C

    reserve = d(st.one_of(arrays(rank=3), st.just(f(n, t, 5 * u))))
    dy = d(st.one_of(st.none(), arrays(rank=3), st.just(f(n, t, u))))
    _say("lstm_backward", dy, *args, reserve)
    check("lstm_backward", K.lstm_backward, dy, None, None, *args, reserve)
    check("lstm_backward", _C.lstm_backward, dy, None, None, *args, reserve)


def fam_embedding(d):
    ids = d(arrays(integer=True))
    table = d(arrays(rank=2))
    _say("embedding", ids, table)
    _both("embedding", ids, table)
    dy = d(arrays())
    input_dim = d(st.one_of(any_int, st.floats(), st.none()))
    _say("embedding_backward", dy, ids, input_dim)
    _both("embedding_backward", dy, ids, input_dim)


def fam_attention(d):
    q, k, v = d(arrays(rank=4)), d(arrays(rank=4)), d(arrays(rank=4))
    causal = d(st.booleans())
    scale = d(st.one_of(st.none(), st.floats(), st.integers(-(2**70), 2**70), st.text(max_size=2)))
    _say("attention", q, k, v, causal, scale)
    import forgenet.kernels as K
    from forgenet import _C

    out = check("attention", K.attention, q, k, v, causal=causal, scale=scale, return_lse=True)
    check("attention", _C.attention, q, k, v, causal, scale)
    o, lse = out if out is not None else (d(arrays(rank=4)), d(arrays(rank=3)))
    do = d(st.one_of(arrays(rank=4), st.just(o)))
    _say("attention_backward", do, q, k, v, o, lse)
    check("attention_backward", K.attention_backward, do, q, k, v, o, lse, causal=causal, scale=scale)
    check("attention_backward", _C.attention_backward, do, q, k, v, o, lse, causal, scale)


def fam_layernorm(d):
    x = d(arrays())
    g, b = d(arrays(rank=1)), d(arrays(rank=1))
    eps = d(st.sampled_from([1e-3, 0.0, -1.0, float("nan"), float("inf")]))
    _say("layer_norm", x, g, b, eps)
    import forgenet.kernels as K
    from forgenet import _C

    out = check("layer_norm", K.layer_norm, x, g, b, epsilon=eps)
    check("layer_norm", _C.layer_norm, x, g, b, eps)
    mean, rstd = (out[1], out[2]) if out is not None else (d(arrays()), d(arrays()))
    dy = d(st.one_of(arrays(), st.just(x)))
    _say("layer_norm_backward", dy, x, g, mean, rstd)
    _both("layer_norm_backward", dy, x, g, mean, rstd)


def fam_optimizer(d):
    shape = d(shapes())
    mk = lambda: d(st.one_of(st.just(np.zeros(shape, np.float32)), arrays()))  # noqa: E731
    var, grad, m, v = mk(), mk(), mk(), mk()
    _say("adam_update", var, grad, m, v)
    import forgenet.kernels as K

    check("adam_update", K.adam_update, var, grad, m, v, None, 1e-3, 0.9, 0.999, 1e-7)
    check("sgd_update", K.sgd_update, var, grad, d(st.one_of(st.none(), st.just(m))), 0.1, 0.0, False)
    check("rmsprop_update", K.rmsprop_update, var, grad, v, None, None, 0.1, 0.9, 0.0, 1e-7)
    lr = d(st.sampled_from([0.1, 0.0, -1.0, float("nan"), "x", None]))
    _say("fused", var, grad, m, v, lr)
    check("adagrad_update", K.adagrad_update, var, grad, m, lr, 1e-7)
    check("adadelta_update", K.adadelta_update, var, grad, m, v, lr, 0.95, 1e-7)
    check("adamax_update", K.adamax_update, var, grad, m, v, lr, 0.9, 0.999, 1e-7, 1)
    check("nadam_update", K.nadam_update, var, grad, m, v, lr, 0.9, 0.999, 1e-7, 1, 0.9)
    check("lion_update", K.lion_update, var, grad, m, lr, 0.9, 0.99)
    check("ftrl_update", K.ftrl_update, var, grad, m, v, lr, -0.5, 0.0, 0.0, 0.0, 0.0)


def _recurrent_args(d, weights):
    """The (N, T, D, U) of a recurrent case (T may be 2^40 when N is 0) and its arrays from `weights`, one of
    them sometimes replaced by anything from the argument space."""
    n, t, dd, u = (d(st.sampled_from([0, 1, 2, 3] + ([2**40] if i == 1 else []))) for i in range(4))
    if n and t > 64:
        t = 3
    f = lambda *s: np.zeros(s, np.float32) if 0 in s else np.random.default_rng(0).standard_normal(s).astype(np.float32)  # noqa: E731
    args = [f(*s) for s in weights(n, t, dd, u)]
    i = d(st.integers(-1, len(args) - 1))
    if i >= 0:
        args[i] = d(arrays())
    return (n, t, dd, u), f, args


def fam_gru(d):
    import forgenet.kernels as K
    from forgenet import _C

    reset_after = d(st.booleans())
    (n, t, _, u), f, args = _recurrent_args(d, lambda n, t, dd, u: [(n, t, dd), (n, u), (dd, 3 * u), (u, 3 * u),
                                                                    (2, 3 * u) if reset_after else (3 * u,)])
    _say("gru", *args, reset_after)
    check("gru", K.gru, *args, reset_after=reset_after, training=True)
    check("gru", _C.gru, *args, reset_after, True)
    reserve = d(st.one_of(arrays(rank=3), st.just(f(n, t, 5 * u))))
    dy = d(st.one_of(st.none(), arrays(rank=3), st.just(f(n, t, u))))
    dh = d(st.one_of(st.none(), arrays(rank=2), st.just(f(n, u))))
    _say("gru_backward", dy, dh, *args, reserve, reset_after)
    check("gru_backward", K.gru_backward, dy, dh, *args, reserve, reset_after=reset_after)
    check("gru_backward", _C.gru_backward, dy, dh, *args, reserve, reset_after)


def fam_simple_rnn(d):
    import forgenet.kernels as K
    from forgenet import _C

    (n, t, _, u), f, args = _recurrent_args(d, lambda n, t, dd, u: [(n, t, dd), (n, u), (dd, u), (u, u), (u,)])
    act = d(st.sampled_from(["tanh", "relu", "sigmoid", "linear", "gelu", 3, None]))
    _say("simple_rnn", *args, act)
    check("simple_rnn", K.simple_rnn, *args, activation=act, training=True)
    check("simple_rnn", _C.simple_rnn, *args, act, True)
    reserve = d(st.one_of(arrays(rank=3), st.just(f(n, t, u))))
    dy = d(st.one_of(st.none(), arrays(rank=3), st.just(f(n, t, u))))
    _say("simple_rnn_backward", dy, *args, reserve, act)
    check("simple_rnn_backward", K.simple_rnn_backward, dy, None, *args, reserve, activation=act)
    check("simple_rnn_backward", _C.simple_rnn_backward, dy, None, *args, reserve, act)


def fam_batchnorm(d):
    import forgenet.kernels as K
    from forgenet import _C

    x = d(arrays())
    axis = d(st.one_of(st.integers(-6, 6), st.sampled_from([2**63 - 1, -(2**63)]), st.floats(), st.none()))
    c = x.shape[axis] if isinstance(x, np.ndarray) and isinstance(axis, int) and -x.ndim <= axis < x.ndim else 3
    vec = lambda: d(st.one_of(st.just(np.ones(c, np.float32)), arrays(rank=1), st.none()))  # noqa: E731
    g, b, m, v = vec(), vec(), vec(), vec()
    eps = d(st.sampled_from([1e-3, 0.0, -1.0, float("nan"), "x"]))
    _say("batch_norm", x, g, b, m, v, axis, eps)
    check("batch_norm", K.batch_norm, x, g, b, axis=axis, epsilon=eps)
    check("batch_norm_inference", K.batch_norm_inference, x, g, b, m, v, axis=axis, epsilon=eps)
    check("batch_norm", _C.batch_norm, x, g, b, axis, eps)
    check("batch_norm_inference", _C.batch_norm_inference, x, g, b, m, v, axis, eps)
    dy = d(st.one_of(arrays(), st.just(x)))
    _say("batch_norm_backward", dy, x, g, m, v, axis, eps)
    check("batch_norm_backward", K.batch_norm_backward, dy, x, g, m, v, axis=axis, epsilon=eps,
          training=d(st.booleans()))


def fam_depthwise(d):
    import forgenet.kernels as K
    from forgenet import _C

    x, k = d(arrays(rank=4)), d(arrays(rank=4))
    bias = d(st.one_of(st.none(), arrays(rank=1)))
    strides, dilation = d(scalar_arg), d(st.one_of(st.just(1), st.just((1, 2)), scalar_arg))
    padding = d(st.sampled_from(["valid", "same", "bogus"]))
    kw = dict(strides=strides, padding=padding, dilation_rate=dilation)
    _say("depthwise_conv2d", x, k, bias, kw)
    out = check("depthwise_conv2d", K.depthwise_conv2d, x, k, bias, **kw)
    check("depthwise_conv2d", _C.depthwise_conv2d, x, k, bias, **kw)
    dy = d(st.one_of(arrays(rank=4), st.just(out if out is not None else np.zeros((1, 1, 1, 1), np.float32))))
    need_dx = d(st.booleans())
    _say("depthwise_conv2d_backward", dy, x, k, kw, need_dx)
    check("depthwise_conv2d_backward", K.depthwise_conv2d_backward, dy, x, k, need_dx=need_dx, **kw)
    check("depthwise_conv2d_backward", _C.depthwise_conv2d_backward, dy, x, k, need_dx=need_dx, **kw)


FAMILIES = {name[4:]: fn for name, fn in globals().items() if name.startswith("fam_")}


def run(family: str, n: int) -> None:
    _limit_memory()
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    fn = FAMILIES[family]
    random = os.environ.get("FORGENET_FUZZ_RANDOM") == "1"

    @settings(max_examples=n, deadline=None, database=None, derandomize=not random, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def case(data):
        fn(data.draw)

    case()


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]))
