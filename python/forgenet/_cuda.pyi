"""
forgenet CUDA kernels (ops on __cuda_array_interface__ arrays; see forgenet._cuda_backend)
"""
from __future__ import annotations
import collections.abc
import typing
__all__: list[str] = ['adam_update', 'attention', 'attention_backward', 'avg_pool2d', 'avg_pool2d_backward', 'batch_norm', 'batch_norm_backward', 'batch_norm_inference', 'conv2d', 'conv2d_backward', 'depthwise_conv2d', 'depthwise_conv2d_backward', 'device_count', 'device_status', 'driver_version', 'embedding', 'embedding_backward', 'fused_update', 'gemm', 'gru', 'gru_backward', 'layer_norm', 'layer_norm_backward', 'lstm', 'lstm_backward', 'max_pool2d', 'max_pool2d_backward', 'rmsprop_update', 'runtime_version', 'sgd_update', 'simple_rnn', 'simple_rnn_backward', 'softmax', 'softmax_backward', 'softmax_cross_entropy']
def _lstm_activations(x: typing.Any, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any) -> tuple:
    ...
def adam_update(var: typing.Any, grad: typing.Any, m: typing.Any, v: typing.Any, vhat: typing.Any, alpha: typing.SupportsFloat | typing.SupportsIndex, beta_1: typing.SupportsFloat | typing.SupportsIndex, beta_2: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any) -> None:
    """
    Adam step in place on var, m, v (and vhat unless None: amsgrad); Keras 3's formulas in float32.
    """
def attention(q: typing.Any, k: typing.Any, v: typing.Any, causal: bool = False, scale: typing.Any = None, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    ...
def attention_backward(do: typing.Any, q: typing.Any, k: typing.Any, v: typing.Any, o: typing.Any, lse: typing.Any, causal: bool = False, scale: typing.Any = None, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    ...
def avg_pool2d(x: typing.Any, pool_size: typing.Any = (2, 2), strides: typing.Any = None, padding: typing.Any = 'valid', *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    ...
def avg_pool2d_backward(dy: typing.Any, x: typing.Any, pool_size: typing.Any = (2, 2), strides: typing.Any = None, padding: typing.Any = 'valid', *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    ...
def batch_norm(x: typing.Any, gamma: typing.Any, beta: typing.Any, axis: typing.Any = -1, epsilon: typing.SupportsFloat | typing.SupportsIndex = 0.001, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    ...
def batch_norm_backward(dy: typing.Any, x: typing.Any, gamma: typing.Any, mean: typing.Any, variance: typing.Any, axis: typing.Any = -1, epsilon: typing.SupportsFloat | typing.SupportsIndex = 0.001, training: bool = True, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    ...
def batch_norm_inference(x: typing.Any, gamma: typing.Any, beta: typing.Any, mean: typing.Any, variance: typing.Any, axis: typing.Any = -1, epsilon: typing.SupportsFloat | typing.SupportsIndex = 0.001, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    ...
def conv2d(x: typing.Any, kernel: typing.Any, bias: typing.Any = None, *, strides: typing.Any = (1, 1), padding: typing.Any = 'valid', stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    ...
def conv2d_backward(dy: typing.Any, x: typing.Any, kernel: typing.Any, *, strides: typing.Any = (1, 1), padding: typing.Any = 'valid', stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, need_dx: bool = True, need_db: bool = True, out: typing.Any = None) -> tuple:
    ...
def depthwise_conv2d(x: typing.Any, kernel: typing.Any, bias: typing.Any = None, *, strides: typing.Any = (1, 1), padding: typing.Any = 'valid', dilation_rate: typing.Any = (1, 1), stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    ...
def depthwise_conv2d_backward(dy: typing.Any, x: typing.Any, kernel: typing.Any, *, strides: typing.Any = (1, 1), padding: typing.Any = 'valid', dilation_rate: typing.Any = (1, 1), need_dx: bool = True, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    ...
def device_count() -> int:
    """
    Number of CUDA GPUs; 0 when there is no GPU or no (new enough) driver.
    """
def device_status() -> str:
    """
    Why device_count() is 0 (or how many devices there are), in words.
    """
def driver_version() -> int:
    """
    CUDA version the installed driver supports (0 without a driver).
    """
def embedding(ids: typing.Any, embeddings: typing.Any, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    ...
def embedding_backward(dy: typing.Any, ids: typing.Any, input_dim: typing.Any, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    ...
def fused_update(kind: typing.SupportsInt | typing.SupportsIndex, var: typing.Any, grad: typing.Any, s0: typing.Any, s1: typing.Any, consts: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any) -> None:
    """
    Adagrad/Adadelta/Adamax/Nadam/Lion/Ftrl step in place (common/optimizer_math.h); float32 constants.
    """
def gemm(a: typing.Any, b: typing.Any, c: typing.Any = None, trans_a: bool = False, trans_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    """
    alpha * op(a) @ op(b) + beta * c (float32, row-major), op(x) = x.T when trans_x.
    """
def gru(x: typing.Any, h0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, reset_after: bool = True, training: bool = False, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    """
    GRU over x (N,T,D) from h0 (N,U), Keras gates z,r,h: (y, h_T[, reserve]) as forgenet._C.gru.
    """
def gru_backward(dy: typing.Any, dh_T: typing.Any, x: typing.Any, h0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, reserve: typing.Any, reset_after: bool = True, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    """
    (dx, dh0, dkernel, drecurrent_kernel, dbias) as forgenet._C.gru_backward.
    """
def layer_norm(x: typing.Any, gamma: typing.Any, beta: typing.Any, epsilon: typing.SupportsFloat | typing.SupportsIndex = 0.001, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    ...
def layer_norm_backward(dy: typing.Any, x: typing.Any, gamma: typing.Any, mean: typing.Any, rstd: typing.Any, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    ...
def lstm(x: typing.Any, h0: typing.Any, c0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, training: bool = False, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    """
    LSTM over x (N,T,D) from h0, c0 (N,U), Keras gates i,f,c,o: (y, h_T, c_T[, reserve]) as forgenet._C.lstm.
    """
def lstm_backward(dy: typing.Any, dh_T: typing.Any, dc_T: typing.Any, x: typing.Any, h0: typing.Any, c0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, reserve: typing.Any, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    """
    (dx, dh0, dc0, dkernel, drecurrent_kernel, dbias) as forgenet._C.lstm_backward.
    """
def max_pool2d(x: typing.Any, pool_size: typing.Any = (2, 2), strides: typing.Any = None, padding: typing.Any = 'valid', *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    ...
def max_pool2d_backward(dy: typing.Any, x: typing.Any, pool_size: typing.Any = (2, 2), strides: typing.Any = None, padding: typing.Any = 'valid', *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    ...
def rmsprop_update(var: typing.Any, grad: typing.Any, v: typing.Any, avg: typing.Any, mom: typing.Any, learning_rate: typing.SupportsFloat | typing.SupportsIndex, rho: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any) -> None:
    """
    RMSprop step in place on var, v (and avg: centered, mom: momentum, unless None); Keras 3's formulas.
    """
def runtime_version() -> int:
    """
    CUDA runtime version linked in, e.g. 13000 for 13.0.
    """
def sgd_update(var: typing.Any, grad: typing.Any, m: typing.Any, learning_rate: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, nesterov: bool, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any) -> None:
    """
    SGD step in place on var (and the momentum slot m unless None); Keras 3's formulas in float32.
    """
def simple_rnn(x: typing.Any, h0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, activation: typing.Any = 'tanh', training: bool = False, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    """
    SimpleRNN over x (N,T,D): (y, h_T[, reserve]) as forgenet._C.simple_rnn.
    """
def simple_rnn_backward(dy: typing.Any, dh_T: typing.Any, x: typing.Any, h0: typing.Any, kernel: typing.Any, recurrent_kernel: typing.Any, bias: typing.Any, reserve: typing.Any, activation: typing.Any = 'tanh', *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    """
    (dx, dh0, dkernel, drecurrent_kernel, dbias) as forgenet._C.simple_rnn_backward.
    """
def softmax(x: typing.Any, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    ...
def softmax_backward(dy: typing.Any, y: typing.Any, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> typing.Any:
    ...
def softmax_cross_entropy(logits: typing.Any, target: typing.Any, *, stream: typing.SupportsInt | typing.SupportsIndex, alloc: typing.Any, out: typing.Any = None) -> tuple:
    ...
