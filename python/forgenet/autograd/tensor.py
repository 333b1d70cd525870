from __future__ import annotations

import contextlib
import threading

import numpy as np

_state = threading.local()


def grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def no_grad():
    """Run without recording a graph (inference: predict, evaluate)."""
    prev = grad_enabled()
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = prev


def array_module(a):
    if type(a).__module__.startswith("cupy"):
        import cupy

        return cupy
    return np


class Tensor:
    """An array plus, when it was computed from tensors that need gradients, the node that made it."""

    # _keras_mask: the mask a layer attached to this output (Keras's `_keras_mask`; see get_keras_mask)
    __slots__ = ("data", "grad", "requires_grad", "_node", "_index", "_keras_mask", "__weakref__")
    __array_priority__ = 1000  # so numpy's operators defer to ours: ndarray + Tensor -> Tensor

    def __init__(self, data, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.data
        elif not hasattr(data, "dtype") or not hasattr(data, "shape"):
            data = np.asarray(data, dtype=np.float32)
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self._node = None  # the Function call that produced this tensor
        self._index = 0  # which of that call's outputs this is
        self._keras_mask = None

    # array-like surface
    shape = property(lambda self: tuple(self.data.shape))
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    def __len__(self):
        return len(self.data)

    def numpy(self) -> np.ndarray:
        d = self.data
        return d.get() if hasattr(d, "get") and not isinstance(d, np.ndarray) else np.asarray(d)

    def __float__(self):
        if self.size != 1:
            raise TypeError(f"only a tensor with one element converts to float, got shape {self.shape}")
        return float(self.numpy().reshape(()))

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self):
        g = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{g})"

    def detach(self) -> Tensor:
        return Tensor(self.data)

    # arithmetic, broadcasting as numpy; defined in functional.math (imported lazily to avoid a cycle)
    def __add__(self, o): return _F().add(self, o)
    def __radd__(self, o): return _F().add(o, self)
    def __sub__(self, o): return _F().sub(self, o)
    def __rsub__(self, o): return _F().sub(o, self)
    def __mul__(self, o): return _F().mul(self, o)
    def __rmul__(self, o): return _F().mul(o, self)
    def __truediv__(self, o): return _F().div(self, o)
    def __rtruediv__(self, o): return _F().div(o, self)
    def __neg__(self): return _F().mul(self, -1.0)
    def __matmul__(self, o): return _F().matmul(self, o)
    def __rmatmul__(self, o): return _F().matmul(o, self)
    def __pow__(self, p): return _F().power(self, p)
    def __getitem__(self, idx): return _F().getitem(self, idx)

    def reshape(self, *shape): return _F().reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
    def transpose(self, *axes): return _F().transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else (axes or None))
    def sum(self, axis=None, keepdims=False): return _F().sum(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return _F().mean(self, axis=axis, keepdims=keepdims)
    T = property(lambda self: _F().transpose(self, None))

    def backward(self, grad=None) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf tensor that requires a gradient."""
        if grad is None:
            if self.size != 1:
                raise ValueError(f"backward: grad must be given for a non-scalar tensor of shape {self.shape}")
            grad = array_module(self.data).ones_like(self.data)
        _backward(self, grad)


class Variable(Tensor):
    """A trainable (or stateful) weight owned by a layer; a leaf of the graph."""

    __slots__ = ("name", "_trainable")

    def __init__(self, data, name: str = "variable", trainable: bool = True):
        # C order always: the kernels take only C-order weights, so an F-order one (an orthogonal
        # initializer's Q.T, a transposed set_weights value) would be copied on every call and would keep
        # the optimizer off its fused update
        if not data.flags.c_contiguous:
            data = array_module(data).ascontiguousarray(data)
        super().__init__(data, requires_grad=bool(trainable))
        self.name = name
        self._trainable = bool(trainable)

    # A frozen variable does not require a gradient, so no Function records a backward for it:
    # freezing a layer (Layer.trainable = False) costs nothing in the backward pass.
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self._trainable = bool(value)
        self.requires_grad = self._trainable
        if not self._trainable:
            self.grad = None

    def assign(self, value) -> None:
        xp = array_module(self.data)
        value = value.data if isinstance(value, Tensor) else value
        # always a private copy: optimizers update self.data in place and must not write into the caller's array
        value = xp.array(value, dtype=self.data.dtype, copy=True, order="C")
        if value.shape != self.data.shape:
            raise ValueError(f"Variable '{self.name}': cannot assign a value of shape {tuple(value.shape)} "
                             f"to a variable of shape {self.shape}")
        self.data = value

    @property
    def value(self):
        return self.data

    def __repr__(self):
        return f"<Variable '{self.name}' shape={self.shape} dtype={self.dtype}>"


def get_keras_mask(x):
    """The mask travelling with `x` (Keras's backend.get_keras_mask): a boolean array or None."""
    return getattr(x, "_keras_mask", None)


def set_keras_mask(x, mask) -> None:
    """Attach `mask` to the Tensor `x` (arrays cannot carry one; Keras's backend.set_keras_mask)."""
    if isinstance(x, Tensor):
        x._keras_mask = None if mask is None else (mask.data if isinstance(mask, Tensor) else mask)
    elif hasattr(x, "_keras_mask"):
        x._keras_mask = mask


def _F():
    from forgenet.functional import math

    return math


class Function:
    """A differentiable operation. Subclasses implement `forward(*arrays, **kw)` returning an array
    (or a tuple of arrays) and `backward(*output_grads)` returning one gradient per positional input
    (None where there is none). `self.save(...)` keeps what backward needs; `Fn.apply(...)` runs it.
    """

    keep_inputs = False  # link outputs to inputs even when no graph is recorded

    def __init__(self):
        self.inputs = ()  # the positional Tensor inputs (others are constants)
        self.saved = ()
        self.n_outputs = 1
        self.needs_grad = ()

    def save(self, *items) -> None:
        self.saved = items

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def backward(self, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        fn = cls()
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        out = fn.forward(*arrays, **kwargs)
        record = grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad for a in args)
        outs = out if isinstance(out, tuple) else (out,)
        tensors = tuple(None if o is None else Tensor(o, requires_grad=record) for o in outs)
        if record:
            fn.inputs = tuple(args)
            # which inputs want a gradient: backward may skip the others' (e.g. a frozen layer's kernel)
            fn.needs_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
            fn.n_outputs = len(outs)
            for i, t in enumerate(tensors):
                if t is not None:
                    t._node, t._index = fn, i
        else:
            fn.saved = ()  # nothing will call backward: let the saved arrays go now
            if cls.keep_inputs:  # e.g. softmax: a loss may still want the logits it was applied to
                fn.inputs = tuple(args)
                for t in tensors:
                    if t is not None:
                        t._node = fn
        return tensors if isinstance(out, tuple) else tensors[0]


def _backward(root: Tensor, grad) -> None:
    if root._node is None:
        if root.requires_grad:
            root.grad = grad if root.grad is None else root.grad + grad
        return
    # Functions in topological order (inputs before users), found without recursion.
    order, seen, stack = [], set(), [(root._node, False)]
    while stack:
        fn, done = stack.pop()
        if done:
            order.append(fn)
            continue
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        stack.append((fn, True))
        for t in fn.inputs:
            if isinstance(t, Tensor) and t._node is not None and id(t._node) not in seen:
                stack.append((t._node, False))
    grads = {id(root._node): [None] * root._node.n_outputs}
    grads[id(root._node)][root._index] = grad
    for fn in reversed(order):
        out_grads = grads.pop(id(fn), None)
        if out_grads is None or all(g is None for g in out_grads):
            continue
        in_grads = fn.backward(*out_grads)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for t, g in zip(fn.inputs, in_grads):
            if g is None or not isinstance(t, Tensor) or not t.requires_grad:
                continue
            if t._node is None:  # a leaf: a Variable or a user tensor
                t.grad = g if t.grad is None else t.grad + g
            else:
                slot = grads.setdefault(id(t._node), [None] * t._node.n_outputs)
                slot[t._index] = g if slot[t._index] is None else slot[t._index] + g
        fn.saved = ()  # free activations as soon as they are used
