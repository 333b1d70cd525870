"""`keras.ops` for forgenet: differentiable numpy-style and neural-network functions on arrays and Tensors.

Given Tensors (inside a model's call, a custom train_step or a loss) every function here records its
backward, so gradients flow through it; given arrays it computes eagerly and returns arrays of the
same kind. Where one of our kernels does the work (matmul/einsum on GEMM, softmax, conv, attention)
the function calls it through `forgenet.functional`; the raw kernel API on arrays is `forgenet.kernels`.

Not provided (a NotImplementedError or an absent name says so): linear algebra decompositions
(keras.ops.linalg: qr, svd, inv, solve...), FFTs, image ops, sparse tensors, einsum diagonals
(a letter repeated within one operand), conv with dilation or groups, associative_scan.
"""
from forgenet.ops import core as _core
from forgenet.ops import math as _math
from forgenet.ops import nn as _nn
from forgenet.ops import numpy as _numpy

__all__ = []
for _mod in (_numpy, _nn, _math, _core):
    for _name in dir(_mod):
        _obj = getattr(_mod, _name)
        if not _name.startswith("_") and callable(_obj) and getattr(_obj, "__module__", "").startswith("forgenet.ops"):
            globals()[_name] = _obj
            if _name not in __all__:
                __all__.append(_name)
del _mod, _name, _obj
