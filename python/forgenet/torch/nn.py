"""Drop-in torch.nn modules whose forward runs on forgenet's kernels.

Each subclasses its torch.nn namesake, so arguments, defaults, initialisation, parameter names and
state_dict are torch's own: `load_state_dict` of a torch module works unchanged, and so does the
other way round. Only forward differs. Arguments our kernels cannot honour raise NotImplementedError
at construction (or at forward, for per-call ones) instead of being ignored.

Layouts: torch's (NCHW, (Cout, Cin, KH, KW) weights). The kernels are NHWC, so Conv2d and the pools
permute to NHWC and back: free for channels_last inputs (x.to(memory_format=torch.channels_last)),
where the NHWC view is already contiguous; their outputs are channels_last-strided NCHW tensors, so a
stack of them copies nothing between layers. The weight permute is a small copy per call.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from forgenet.torch import functional as fF


def _unsupported(module: str, **args):
    for name, (val, default) in args.items():
        if val != default:
            raise NotImplementedError(f"forgenet.torch.nn.{module}: {name}={val!r} is not supported "
                                      f"(only {name}={default!r})")


def _batched(module: str, x, rank: int):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"forgenet.torch.nn.{module}: input must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() == rank - 1:
        return x.unsqueeze(0), True
    if x.dim() != rank:
        raise ValueError(f"forgenet.torch.nn.{module}: input must have rank {rank - 1} or {rank}, got shape {tuple(x.shape)}")
    return x, False


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


def _nchw(y):
    return y.permute(0, 3, 1, 2)


class Linear(torch.nn.Linear):
    """torch.nn.Linear; y = x W^T + b as one forgenet gemm."""

    def forward(self, input):
        return fF.linear(input, self.weight, self.bias)


class Conv2d(torch.nn.Conv2d):
    """torch.nn.Conv2d (dilation 1, groups 1) on forgenet's NHWC conv2d; every padding_mode works."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _unsupported("Conv2d", dilation=(self.dilation, (1, 1)), groups=(self.groups, 1))

    def forward(self, input):
        x, unbatched = _batched("Conv2d", input, 4)
        if self.padding_mode != "zeros":
            x, padding = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode), "valid"
        elif isinstance(self.padding, str):
            padding = self.padding  # torch's 'same' (stride 1) puts the odd row bottom/right, as ours does
        elif any(self.padding):
            ph, pw = self.padding
            x, padding = F.pad(x, (pw, pw, ph, ph)), "valid"
        else:
            padding = "valid"
        kernel = self.weight.permute(2, 3, 1, 0)  # (Cout, Cin, KH, KW) -> (KH, KW, Cin, Cout)
        y = _nchw(fF.conv2d(_nhwc(x), kernel, self.bias, strides=self.stride, padding=padding))
        return y.squeeze(0) if unbatched else y


class _PoolMixin:
    def _pool(self, kind: str, input, pad_value: float):
        name = type(self).__name__
        x, unbatched = _batched(name, input, 4)
        ph, pw = (self.padding, self.padding) if isinstance(self.padding, int) else self.padding
        if ph or pw:
            x = F.pad(x, (pw, pw, ph, ph), value=pad_value)
        stride = self.kernel_size if self.stride is None or self.stride == [] else self.stride
        y = _nchw(fF._pool(kind, _nhwc(x), self.kernel_size, stride, "valid"))
        return y.squeeze(0) if unbatched else y


class MaxPool2d(_PoolMixin, torch.nn.MaxPool2d):
    """torch.nn.MaxPool2d (no dilation, indices or ceil_mode); padding pads with -inf, as torch's does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _unsupported("MaxPool2d", dilation=(self.dilation, 1) if isinstance(self.dilation, int) else
                     (tuple(self.dilation), (1, 1)), return_indices=(self.return_indices, False),
                     ceil_mode=(self.ceil_mode, False))

    def forward(self, input):
        return self._pool("max", input, -math.inf)


class AvgPool2d(_PoolMixin, torch.nn.AvgPool2d):
    """torch.nn.AvgPool2d (no ceil_mode or divisor_override); padding counts in the mean
    (count_include_pad=True, torch's default) by padding with zeros first."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _unsupported("AvgPool2d", ceil_mode=(self.ceil_mode, False), divisor_override=(self.divisor_override, None))
        if not self.count_include_pad and self.padding not in (0, (0, 0)):
            raise NotImplementedError("forgenet.torch.nn.AvgPool2d: count_include_pad=False with padding > 0 is "
                                      "not supported")

    def forward(self, input):
        return self._pool("avg", input, 0.0)


class LayerNorm(torch.nn.LayerNorm):
    """torch.nn.LayerNorm over the trailing normalized_shape dims (flattened into one for the kernel)."""

    def forward(self, input):
        shape = tuple(self.normalized_shape)
        if tuple(input.shape[input.dim() - len(shape):]) != shape or input.dim() < len(shape):
            raise ValueError(f"forgenet.torch.nn.LayerNorm: input must end in normalized_shape {shape}, got {tuple(input.shape)}")
        lead = input.shape[:input.dim() - len(shape)]
        x = input.reshape(*lead, math.prod(shape))
        gamma = None if self.weight is None else self.weight.reshape(-1)
        beta = None if self.bias is None else self.bias.reshape(-1)
        return fF.layer_norm(x, gamma, beta, epsilon=self.eps).reshape(input.shape)


class LSTM(torch.nn.LSTM):
    """torch.nn.LSTM (num_layers, bias, batch_first, dropout, bidirectional; not proj_size or packed
    sequences) on forgenet's LSTM kernel.

    torch's gate order i, f, g, o is forgenet's i, f, c, o; its weight_ih (4H, D) and weight_hh (4H, H)
    are our kernel and recurrent_kernel transposed, and its two biases add into our one. A reverse
    direction runs the kernel over the time-flipped sequence.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _unsupported("LSTM", proj_size=(self.proj_size, 0))

    def forward(self, input, hx=None):
        if isinstance(input, torch.nn.utils.rnn.PackedSequence):
            raise NotImplementedError("forgenet.torch.nn.LSTM: PackedSequence input is not supported")
        unbatched = input.dim() == 2
        if input.dim() not in (2, 3):
            raise ValueError(f"forgenet.torch.nn.LSTM: input must have rank 2 or 3, got shape {tuple(input.shape)}")
        x = input.unsqueeze(0 if self.batch_first else 1) if unbatched else input
        x = x if self.batch_first else x.transpose(0, 1)  # (N, T, D)
        dirs = 2 if self.bidirectional else 1
        n, h = x.shape[0], self.hidden_size
        if hx is None:
            h0 = c0 = x.new_zeros(self.num_layers * dirs, n, h)
        else:
            h0, c0 = hx
            if unbatched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            want = (self.num_layers * dirs, n, h)
            if tuple(h0.shape) != want or tuple(c0.shape) != want:
                raise ValueError(f"forgenet.torch.nn.LSTM: hx must be two tensors of shape {want}, got "
                                 f"{tuple(h0.shape)} and {tuple(c0.shape)}")
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                y, hn, cn = self._direction(x, layer, d, h0[layer * dirs + d], c0[layer * dirs + d])
                outs.append(y)
                hs.append(hn)
                cs.append(cn)
            x = torch.cat(outs, dim=2) if dirs == 2 else outs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        out = x if self.batch_first else x.transpose(0, 1)
        h_n, c_n = torch.stack(hs), torch.stack(cs)
        if unbatched:
            out, h_n, c_n = out.squeeze(0 if self.batch_first else 1), h_n.squeeze(1), c_n.squeeze(1)
        return out, (h_n, c_n)

    def _direction(self, x, layer, d, h0, c0):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        w_ih, w_hh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
        if self.bias:
            bias = getattr(self, "bias_ih" + sfx) + getattr(self, "bias_hh" + sfx)
        else:
            bias = w_ih.new_zeros(w_ih.shape[0])
        xs = x.flip(1) if d else x
        y, hn, cn = fF.lstm(xs, h0, c0, w_ih.t(), w_hh.t(), bias)
        return (y.flip(1) if d else y), hn, cn


__all__ = ["Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "LayerNorm", "LSTM"]
