"""
forgenet CPU kernels (C++17, their own thread pool)
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['PackedB', 'adam_update', 'attention', 'attention_backward', 'avg_pool2d', 'avg_pool2d_backward', 'batch_norm', 'batch_norm_backward', 'batch_norm_inference', 'bias_relu_backward', 'conv2d', 'conv2d_backward', 'depthwise_conv2d', 'depthwise_conv2d_backward', 'embedding', 'embedding_backward', 'fused_update', 'gemm', 'gemm_kernel', 'gemm_pack_b', 'gemm_reference', 'get_num_threads', 'gru', 'gru_backward', 'isa', 'layer_norm', 'layer_norm_backward', 'lstm', 'lstm_backward', 'max_pool2d', 'max_pool2d_backward', 'measure_clock_mhz', 'measure_fma_gflops', 'relu_', 'relu_backward', 'rmsprop_update', 'set_num_threads', 'sgd_update', 'simple_rnn', 'simple_rnn_backward', 'softmax', 'softmax_backward', 'softmax_cross_entropy']
class PackedB:
    """
    op(b) packed once by gemm_pack_b for gemm's micro-kernel; pass it to gemm in place of b.
    """
    def __reduce__(self) -> typing.Any:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def isa(self) -> str:
        ...
    @property
    def nbytes(self) -> int:
        ...
    @property
    def shape(self) -> tuple[int, int]:
        """
        (K, N): the shape of op(b)
        """
    @property
    def tile(self) -> str:
        """
        the micro-kernel's MR x NR
        """
    @property
    def trans_b(self) -> bool:
        ...
def _conv2d_path(x_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], kernel_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], *, strides: typing.Any = (1, 1), padding: typing.Any = 'valid') -> tuple:
    ...
def _conv2d_uses_winograd(x_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], kernel_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], *, strides: typing.Any = (1, 1), padding: typing.Any = 'valid') -> tuple:
    ...
def _gemm_path(m: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, k: typing.SupportsInt | typing.SupportsIndex, trans_a: bool = False, trans_b: bool = False, packed: bool = False) -> dict:
    """
    How gemm would run an m x n x k product here: {tile, threads, split, b} (b: where the first slab reads op(b) from: packed, in_place, sliver, block or shared). For tests.
    """
def _lstm_activations(x: typing.Any) -> tuple:
    ...
def _max_threads() -> int:
    """
    The largest count set_num_threads accepts.
    """
def _numpy_handler_set(capsule: typing.Any) -> typing.Any:
    ...
def _parallel_for_probe(n: typing.SupportsInt | typing.SupportsIndex, grain: typing.SupportsInt | typing.SupportsIndex, fail_at: typing.SupportsInt | typing.SupportsIndex = -1) -> list:
    """
    Test hook: the chunks parallel_for runs.
    """
def _parallel_run_probe(chunks: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex) -> tuple[list, list]:
    """
    Test hook: (times each chunk of a claimed loop ran, the pool slot that ran it).
    """
def _pool_close() -> None:
    ...
def _pool_handler() -> typing.Any:
    ...
def _pool_open() -> None:
    ...
def _pool_set_limit(bytes: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def _pool_stats() -> dict:
    ...
def _pool_trim() -> None:
    ...
def _scratch_probe(floats: typing.SupportsInt | typing.SupportsIndex, inner: typing.SupportsInt | typing.SupportsIndex = 0) -> list:
    """
    Test hook: addresses of a Scratch frame (and a nested one).
    """
def _xla_ffi_targets() -> dict:
    """
    {target name: PyCapsule of its XLA FFI handler} for jax.ffi.register_ffi_target (None: built without jaxlib's FFI headers).
    """
def adam_update(var: typing.Any, grad: typing.Any, m: typing.Any, v: typing.Any, vhat: typing.Any, alpha: typing.SupportsFloat | typing.SupportsIndex, beta_1: typing.SupportsFloat | typing.SupportsIndex, beta_2: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex) -> None:
    """
    Adam step in place on var, m, v (and vhat unless None: amsgrad); Keras 3's formulas in float32.
    """
def attention(q: typing.Any, k: typing.Any, v: typing.Any, causal: bool = False, scale: typing.Any = None, *, out: typing.Any = None) -> tuple:
    ...
def attention_backward(do: typing.Any, q: typing.Any, k: typing.Any, v: typing.Any, o: typing.Any, lse: typing.Any, causal: bool = False, scale: typing.Any = None, *, out: typing.Any = None) -> tuple:
    ...
def avg_pool2d(x: typing.Any, pool_size: typing.Any = (2, 2), strides: typing.Any = None, padding: typing.Any = 'valid', *, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def avg_pool2d_backward(dy: typing.Any, x: typing.Any, pool_size: typing.Any = (2, 2), strides: typing.Any = None, padding: typing.Any = 'valid', *, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def batch_norm(x: typing.Any, gamma: typing.Any, beta: typing.Any, axis: typing.Any = -1, epsilon: typing.SupportsFloat | typing.SupportsIndex = 0.001, *, out: typing.Any = None) -> tuple:
    ...
def batch_norm_backward(dy: typing.Any, x: typing.Any, gamma: typing.Any, mean: typing.Any, variance: typing.Any, axis: typing.Any = -1, epsilon: typing.SupportsFloat | typing.SupportsIndex = 0.001, training: bool = True, *, out: typing.Any = None) -> tuple:
    ...
def batch_norm_inference(x: typing.Any, gamma: typing.Any, beta: typing.Any, mean: typing.Any, variance: typing.Any, axis: typing.Any = -1, epsilon: typing.SupportsFloat | typing.SupportsIndex = 0.001, *, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def bias_relu_backward(g: typing.Any, y: typing.Any, *, relu: bool = True, out: typing.Any = None) -> tuple:
    """
    (dz, db): dz = g masked by y > 0 (relu) or g, db = dz summed over rows; out: (dz, db) buffers, dz may be g
    """
def conv2d(x: typing.Any, kernel: typing.Any, bias: typing.Any = None, *, strides: typing.Any = (1, 1), padding: typing.Any = 'valid', out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def conv2d_backward(dy: typing.Any, x: typing.Any, kernel: typing.Any, *, strides: typing.Any = (1, 1), padding: typing.Any = 'valid', need_dx: bool = True, need_db: bool = True, out: typing.Any = None) -> tuple:
    ...
def depthwise_conv2d(x: typing.Any, kernel: typing.Any, bias: typing.Any = None, *, strides: typing.Any = (1, 1), padding: typing.Any = 'valid', dilation_rate: typing.Any = (1, 1), out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def depthwise_conv2d_backward(dy: typing.Any, x: typing.Any, kernel: typing.Any, *, strides: typing.Any = (1, 1), padding: typing.Any = 'valid', dilation_rate: typing.Any = (1, 1), need_dx: bool = True, out: typing.Any = None) -> tuple:
    ...
def embedding(ids: typing.Any, embeddings: typing.Any, *, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def embedding_backward(dy: typing.Any, ids: typing.Any, input_dim: typing.Any, *, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def fused_update(kind: typing.SupportsInt | typing.SupportsIndex, var: typing.Any, grad: typing.Any, s0: typing.Any, s1: typing.Any, consts: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
    """
    Adagrad/Adadelta/Adamax/Nadam/Lion/Ftrl step in place (common/optimizer_math.h); float32 constants.
    """
def gemm(a: typing.Any, b: typing.Any, c: typing.Any = None, trans_a: bool = False, trans_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, *, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    """
    alpha * op(a) @ op(b) + beta * c (float32, row-major), op(x) = x.T when trans_x; b may be a PackedB.
    """
def gemm_kernel(m: typing.SupportsInt | typing.SupportsIndex = 1073741824, n: typing.SupportsInt | typing.SupportsIndex = 1073741824) -> tuple[str, int, int]:
    """
    (isa, MR, NR): the micro-kernel gemm uses for an (m, n) result (FORGENET_ISA caps the isa).
    """
def gemm_pack_b(b: typing.Any, trans_b: bool = False, isa: typing.Any = None) -> PackedB:
    """
    op(b) packed for gemm (isa: the kernels to pack for, default this process's; tests only).
    """
def gemm_reference(a: typing.Any, b: typing.Any, c: typing.Any = None, trans_a: bool = False, trans_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> numpy.typing.NDArray[numpy.float32]:
    """
    The plain triple loop (double accumulators) that gemm is checked against.
    """
def get_num_threads() -> int:
    ...
def gru(x: typing.Any, h0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, reset_after: bool = True, training: bool = False, *, out: typing.Any = None) -> tuple:
    ...
def gru_backward(dy: typing.Any, dh_T: typing.Any, x: typing.Any, h0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, reserve: typing.Any, reset_after: bool = True, *, out: typing.Any = None) -> tuple:
    ...
def isa() -> str:
    """
    The SIMD instruction set the kernels use on this CPU.
    """
def layer_norm(x: typing.Any, gamma: typing.Any, beta: typing.Any, epsilon: typing.SupportsFloat | typing.SupportsIndex = 0.001, *, out: typing.Any = None) -> tuple:
    ...
def layer_norm_backward(dy: typing.Any, x: typing.Any, gamma: typing.Any, mean: typing.Any, rstd: typing.Any, *, out: typing.Any = None) -> tuple:
    ...
def lstm(x: typing.Any, h0: typing.Any, c0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, training: bool = False, *, out: typing.Any = None) -> tuple:
    ...
def lstm_backward(dy: typing.Any, dh_T: typing.Any, dc_T: typing.Any, x: typing.Any, h0: typing.Any, c0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, reserve: typing.Any, *, out: typing.Any = None) -> tuple:
    ...
def max_pool2d(x: typing.Any, pool_size: typing.Any = (2, 2), strides: typing.Any = None, padding: typing.Any = 'valid', *, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def max_pool2d_backward(dy: typing.Any, x: typing.Any, pool_size: typing.Any = (2, 2), strides: typing.Any = None, padding: typing.Any = 'valid', *, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def measure_clock_mhz(ms: typing.SupportsFloat | typing.SupportsIndex = 20.0) -> float:
    """
    The calling thread's core clock in MHz, timed: the best rate of chunks of dependent integer adds
    (1 cycle each) over about `ms` milliseconds. Under turbo this is the boosted clock of one busy
    core; on a loaded machine it can only come out low, never high.
    """
def measure_fma_gflops(ms: typing.SupportsFloat | typing.SupportsIndex = 20.0) -> float:
    """
    fp32 GFLOP/s of the calling thread's core issuing independent FMAs of the widest vectors of the
    ISA path the kernels take (isa()), timed like measure_clock_mhz: the best chunk over about `ms`
    milliseconds. Over the clock it gives the FLOP per cycle the core sustains: 64 on a core with two
    512-bit FMA pipes, 32 on AVX2 and on cores that split 512-bit FMAs in two (AMD Zen 4).
    """
def relu_(x: typing.Any) -> numpy.ndarray:
    """
    x = max(x, 0) in place (NaN stays NaN); returns x
    """
def relu_backward(g: typing.Any, y: typing.Any, *, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    """
    g where y > 0, else 0 (y: the ReLU's output); out may be g
    """
def rmsprop_update(var: typing.Any, grad: typing.Any, v: typing.Any, avg: typing.Any, mom: typing.Any, learning_rate: typing.SupportsFloat | typing.SupportsIndex, rho: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex) -> None:
    """
    RMSprop step in place on var, v (and avg: centered, mom: momentum, unless None); Keras 3's formulas.
    """
def set_num_threads(n: typing.Any) -> None:
    ...
def sgd_update(var: typing.Any, grad: typing.Any, m: typing.Any, learning_rate: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, nesterov: bool) -> None:
    """
    SGD step in place on var (and the momentum slot m unless None); Keras 3's formulas in float32.
    """
def simple_rnn(x: typing.Any, h0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, activation: typing.Any = 'tanh', training: bool = False, *, out: typing.Any = None) -> tuple:
    ...
def simple_rnn_backward(dy: typing.Any, dh_T: typing.Any, x: typing.Any, h0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, reserve: typing.Any, activation: typing.Any = 'tanh', *, out: typing.Any = None) -> tuple:
    ...
def softmax(x: typing.Any, *, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def softmax_backward(dy: typing.Any, y: typing.Any, *, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def softmax_cross_entropy(logits: typing.Any, target: typing.Any, *, out: typing.Any = None) -> tuple:
    ...
