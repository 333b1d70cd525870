"""keras.ops neural-network functions on our kernels (through forgenet.functional)."""
from __future__ import annotations

from forgenet import functional as F
from forgenet.ops._dispatch import tensor_op


@tensor_op
def relu(x): return F.relu(x)


@tensor_op
def sigmoid(x): return F.sigmoid(x)


@tensor_op
def tanh(x): return F.tanh(x)


@tensor_op
def gelu(x, approximate=True):
    if approximate is not True:
        raise ValueError("forgenet.ops.gelu: only approximate=True is implemented so far")
    return F.gelu(x)


@tensor_op
def softmax(x, axis=-1): return F.softmax(x, axis)
