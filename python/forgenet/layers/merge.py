"""Merge layers (Keras 3): Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, and
their lowercase functional forms (`add([a, b])` ...). Shapes are checked as Keras checks them;
elementwise merges broadcast and OR their inputs' masks, Concatenate concatenates them."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet import functional as F
from forgenet.autograd.tensor import Tensor, array_module, get_keras_mask, set_keras_mask
from forgenet.layers.base import Layer


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _xp(x):
    return array_module(_data(x))


class Merge(Layer):
    supports_masking = True

    def _merge_function(self, inputs):
        raise NotImplementedError

    def _check_list(self, inputs, what="inputs"):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{self.name}: a merge layer should be called on a list of inputs, got {what}="
                             f"{type(inputs).__name__}")
        if len(inputs) < 1:
            raise ValueError(f"{self.name}: a merge layer should be called on a list of at least 1 input, got 0")

    @staticmethod
    def _elementwise_shape(s1, s2):
        if s1 is None or s2 is None:
            return None
        if len(s1) < len(s2):
            return Merge._elementwise_shape(s2, s1)
        if not s2:
            return tuple(s1)
        out = list(s1[:-len(s2)])
        for i, j in zip(s1[-len(s2):], s2):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(f"Inputs have incompatible shapes. Received shapes {tuple(s1)} and {tuple(s2)}")
        return tuple(out)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not isinstance(input_shape[0], (tuple, list)):
            raise ValueError(f"{self.name}: a merge layer should be called on a list of inputs. Received: "
                             f"input_shape={input_shape} (not a list of shapes)")
        batches = {s[0] for s in input_shape if s} - {None}
        if len(batches) > 1:
            raise ValueError(f"{self.name}: cannot merge tensors with different batch sizes. Received tensors with "
                             f"shapes {[tuple(s) for s in input_shape]}")
        out = tuple(input_shape[0][1:])
        for s in input_shape[1:]:
            out = self._elementwise_shape(out, tuple(s[1:]))
        self.built = True

    def call(self, inputs):
        self._check_list(inputs)
        ranks = [x.ndim for x in inputs]
        if len(set(ranks)) > 1:  # Keras: expand lower-rank inputs at axis 1 until the ranks agree
            top = max(ranks)
            inputs = [F.reshape(x, (x.shape[0],) + (1,) * (top - x.ndim) + tuple(x.shape[1:])) for x in inputs]
        return self._merge_function(list(inputs))

    def compute_output_shape(self, input_shape):
        out = tuple(input_shape[0][1:])
        for s in input_shape[1:]:
            out = self._elementwise_shape(out, tuple(s[1:]))
        batches = {s[0] for s in input_shape} - {None}
        return ((batches.pop() if len(batches) == 1 else None),) + tuple(out)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{self.name}: `mask` should be a list. Received: mask={mask}")
        if len(mask) != len(inputs):
            raise ValueError(f"{self.name}: the lists `inputs` and `mask` should have the same length, got "
                             f"{len(inputs)} inputs and {len(mask)} masks")
        if any(m is None for m in mask):
            return None
        out = _data(mask[0])
        for m in mask[1:]:
            out = _xp(out).logical_or(out, _data(m))
        return out


def _sum(inputs):
    out = inputs[0]
    for x in inputs[1:]:
        out = F.add(out, x)
    return out


class Add(Merge):
    """Elementwise sum of a list of inputs of the same shape."""

    def _merge_function(self, inputs):
        return _sum(inputs)


class Subtract(Merge):
    """inputs[0] - inputs[1] (exactly two inputs)."""

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"{self.name}: a Subtract layer should be called on exactly 2 inputs, got "
                             f"{len(input_shape)}")

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"{self.name}: a Subtract layer should be called on exactly 2 inputs, got {len(inputs)}")
        return F.sub(inputs[0], inputs[1])


class Average(Merge):
    """Elementwise mean of a list of inputs."""

    def _merge_function(self, inputs):
        return F.mul(_sum(inputs), 1.0 / len(inputs))


def _broadcast_mask(mask, x):
    """A (batch, ...) mask as a float 0/1 array broadcast to x's shape (on the last axis)."""
    m = _data(mask)
    xp = array_module(m)
    m = xp.expand_dims(m, -1)
    return xp.broadcast_to(m, x.shape)


def _select(cond, a, b):
    """where(cond, a, b) for a constant boolean array cond, differentiable in a and b."""
    keep = cond.astype(np.float32)
    return F.add(F.mul(a, keep), F.mul(b, 1.0 - keep))


class Multiply(Merge):
    """Elementwise product; masked positions count as 1 in the product and 0 in the result (Keras)."""

    def _merge_function(self, inputs):
        masks = [get_keras_mask(x) for x in inputs]
        all_masked = all(m is not None for m in masks)
        out = out_mask = None
        for x, m in zip(inputs, masks):
            if m is not None:
                bm = _broadcast_mask(m, x)
                x = _select(bm, x, 1.0)
                if all_masked:
                    out_mask = bm if out_mask is None else array_module(bm).logical_or(out_mask, bm)
            out = x if out is None else F.mul(out, x)
        if all_masked:
            out = _select(out_mask, out, 0.0)
            set_keras_mask(out, out_mask.any(axis=-1))
        return out


class _MinMax(Merge):
    _pick_first = None  # (a, b) -> boolean array: where the result is a

    def _merge_function(self, inputs):
        # Keras's _apply_merge_op_and_or_mask: a masked input does not take part where it is masked
        out = out_mask = None
        for x in inputs:
            m = get_keras_mask(x)
            bm = None if m is None else _broadcast_mask(m, x)
            if out is None:
                out, out_mask = x, bm
                continue
            if bm is not None:
                x = _select(bm, x, out)
            if out_mask is not None:
                out = _select(out_mask, out, x)
            out_mask = array_module(bm).logical_or(out_mask, bm) if bm is not None and out_mask is not None else None
            out = _select(type(self)._pick_first(_data(out), _data(x)), out, x)
        if out_mask is not None:
            if not isinstance(out, Tensor):
                out = Tensor(out)
            set_keras_mask(out, out_mask.any(axis=-1))
        return out


class Maximum(_MinMax):
    """Elementwise maximum of a list of inputs."""
    _pick_first = staticmethod(lambda a, b: a >= b)


class Minimum(_MinMax):
    """Elementwise minimum of a list of inputs."""
    _pick_first = staticmethod(lambda a, b: a <= b)


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis` (all other axes must match)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise ValueError(f"{self.name}: axis must be an integer, got {axis!r}")
        self.axis = int(axis)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not isinstance(input_shape[0], (tuple, list)):
            raise ValueError(f"{self.name}: a `Concatenate` layer should be called on a list of at least 1 input. "
                             f"Received: input_shape={input_shape}")
        self._check_shapes(input_shape)
        self.built = True

    def _check_shapes(self, shapes):
        ranks = {len(s) for s in shapes}
        err = (f"{self.name}: a `Concatenate` layer requires inputs with matching shapes except for the "
               f"concatenation axis. Received: input_shape={[tuple(s) for s in shapes]}")
        if len(ranks) != 1:
            raise ValueError(err)
        rank = ranks.pop()
        axis = self.axis % rank
        for i in range(rank):
            if i == axis:
                continue
            dims = {s[i] for s in shapes} - {None}
            if len(dims) > 1:
                raise ValueError(err)

    def call(self, inputs):
        self._check_list(inputs)
        self._check_shapes([tuple(x.shape) for x in inputs])
        return F.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        out = list(input_shape[0])
        for s in input_shape[1:]:
            if out[self.axis] is None or s[self.axis] is None:
                out[self.axis] = None
                break
            out[self.axis] += s[self.axis]
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{self.name}: `mask` should be a list. Received mask={mask}")
        if len(mask) != len(inputs):
            raise ValueError(f"{self.name}: the lists `inputs` and `mask` should have the same length, got "
                             f"{len(inputs)} inputs and {len(mask)} masks")
        if all(m is None for m in mask):
            return None
        xp = _xp(inputs[0])
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                full.append(xp.ones(x.shape, dtype=bool))
            else:
                m = xp.asarray(_data(m)).astype(bool)
                full.append(xp.broadcast_to(xp.expand_dims(m, -1), x.shape) if m.ndim < x.ndim else m)
        return xp.concatenate(full, axis=self.axis).any(axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


# ---- Dot -----------------------------------------------------------------------------------------
def _l2_normalize(x, axis):
    # Keras's ops.normalize: x * min(rsqrt(sum(x^2)), 1/epsilon) with epsilon 1e-7, i.e. the sum of
    # squares floored at epsilon^2 (where the floor applies, no gradient flows into the sum)
    sq = F.sum(F.mul(x, x), axis=axis, keepdims=True)
    floor = np.float32(1e-14)
    small = _data(sq) < floor
    if bool(small.any()):
        sq = _select(small, floor, sq)
    return F.mul(x, F.power(sq, -0.5))


def batch_dot(x, y, axes):
    """Keras's batch_dot for Tensors: contract x's axes[0] with y's axes[1], per sample."""
    xn, yn = x.ndim, y.ndim
    xn0, yn0 = xn, yn
    a0, a1 = axes
    if xn == 2:
        x = F.reshape(x, (x.shape[0], 1, x.shape[1]))
        a0 += 1
        xn += 1
    if yn == 2:
        y = F.reshape(y, tuple(y.shape) + (1,))
        yn += 1
    if a0 != xn - 1:  # move the contracted axis of x last
        perm = [i for i in range(xn) if i != a0] + [a0]
        x = F.transpose(x, perm)
    if a1 != 1:  # and that of y to axis 1
        perm = [0, a1] + [i for i in range(1, yn) if i != a1]
        y = F.transpose(y, perm)
    xs, ys = tuple(x.shape), tuple(y.shape)
    b, k = xs[0], xs[-1]
    mid, trail = xs[1:-1], ys[2:]
    m, n = int(np.prod(mid)) if mid else 1, int(np.prod(trail)) if trail else 1
    x3 = F.reshape(x, (b, m, k, 1))
    y3 = F.reshape(y, (b, 1, k, n))
    out = F.sum(F.mul(x3, y3), axis=2)  # (b, m, n): small per-sample contractions, no GEMM needed
    shape = (b,) + mid + trail
    if xn0 == 2:  # Keras squeezes the axes it added
        shape = shape[:1] + shape[2:]
    elif yn0 == 2:
        shape = shape[:-1]
    return F.reshape(out, shape)


class Dot(Merge):
    """Dot product of two inputs along `axes` (per sample); normalize=True gives cosine similarity."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, numbers.Integral) or isinstance(axes, bool):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"{self.name}: invalid type for argument `axes`: it should be a list or an int. "
                                f"Received: axes={axes}")
            if len(axes) != 2:
                raise ValueError(f"{self.name}: invalid format for argument `axes`: it should contain two "
                                 f"elements. Received: axes={axes}")
            if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes):
                raise ValueError(f"{self.name}: invalid format for argument `axes`: list elements should be "
                                 f"integers. Received: axes={axes}")
            axes = [int(a) for a in axes]
        else:
            axes = int(axes)
        self.axes = axes
        self.normalize = bool(normalize)

    def _axes(self, r1, r2):
        if isinstance(self.axes, int):
            return [self.axes % r1, self.axes % r2] if self.axes < 0 else [self.axes, self.axes]
        return [a % r if a < 0 else a for a, r in zip(self.axes, (r1, r2))]

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or \
                not isinstance(input_shape[0], (tuple, list)):
            raise ValueError(f"{self.name}: a `Dot` layer should be called on a list of 2 inputs. Received: "
                             f"input_shape={input_shape}")
        s1, s2 = input_shape
        a = self._axes(len(s1), len(s2))
        if 0 in a:
            raise ValueError(f"{self.name}: cannot perform batch_dot over axis 0 (the batch axis), got axes="
                             f"{self.axes}")
        if s1[a[0]] is not None and s2[a[1]] is not None and s1[a[0]] != s2[a[1]]:
            raise ValueError(f"{self.name}: incompatible input shapes: axis values {s1[a[0]]} (at axis {a[0]}) != "
                             f"{s2[a[1]]} (at axis {a[1]}). Full input shapes: {tuple(s1)}, {tuple(s2)}")
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"{self.name}: a `Dot` layer should be called on exactly 2 inputs")
        x1, x2 = inputs
        if x1.ndim < 2 or x2.ndim < 2:
            raise ValueError(f"{self.name}: cannot do batch_dot on inputs with rank < 2, got shapes "
                             f"{tuple(x1.shape)} and {tuple(x2.shape)}")
        a = self._axes(x1.ndim, x2.ndim)
        if x1.shape[a[0]] != x2.shape[a[1]]:
            raise ValueError(f"{self.name}: cannot do batch_dot on inputs with shapes {tuple(x1.shape)} and "
                             f"{tuple(x2.shape)} with axes={a}: {x1.shape[a[0]]} != {x2.shape[a[1]]}")
        if self.normalize:
            x1, x2 = _l2_normalize(x1, a[0]), _l2_normalize(x2, a[1])
        return batch_dot(x1, x2, a)

    def compute_output_shape(self, input_shape):
        s1, s2 = list(input_shape[0]), list(input_shape[1])
        a = self._axes(len(s1), len(s2))
        s1.pop(a[0])
        s2.pop(a[1])
        s2.pop(0)
        out = s1 + s2
        return tuple(out + [1] if len(out) == 1 else out)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


# ---- functional forms ------------------------------------------------------------------------------
def add(inputs, **kwargs): return Add(**kwargs)(inputs)
def subtract(inputs, **kwargs): return Subtract(**kwargs)(inputs)
def multiply(inputs, **kwargs): return Multiply(**kwargs)(inputs)
def average(inputs, **kwargs): return Average(**kwargs)(inputs)
def maximum(inputs, **kwargs): return Maximum(**kwargs)(inputs)
def minimum(inputs, **kwargs): return Minimum(**kwargs)(inputs)
def concatenate(inputs, axis=-1, **kwargs): return Concatenate(axis=axis, **kwargs)(inputs)
def dot(inputs, axes=-1, **kwargs): return Dot(axes=axes, **kwargs)(inputs)
