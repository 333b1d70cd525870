"""LayerNormalization (Keras 3 names, defaults and weight order: gamma, then beta)."""
from __future__ import annotations

import math
import numbers

from forgenet import functional as F
from forgenet.layers.base import Layer
from forgenet.layers.core import check_initializers, initializer_config


class LayerNormalization(Layer):
    """Normalises over `axis` (default the last) to zero mean and unit variance, then scales by gamma
    and shifts by beta: y = (x - mean) / sqrt(var + epsilon) * gamma + beta."""

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        axes = [axis] if isinstance(axis, numbers.Integral) else list(axis) if isinstance(axis, (list, tuple)) else None
        if not axes or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes):
            raise ValueError(f"{self.name}: axis must be an int or a list of ints, got {axis!r}")
        self.axis = [int(a) for a in axes]
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon >= 0:
            raise ValueError(f"{self.name}: epsilon must be a number >= 0, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        check_initializers(self.name, beta_initializer, gamma_initializer)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.gamma = self.beta = None
        self._axes = self._param_shape = None

    def _resolve(self, shape):
        rank = len(shape)
        if any(not -rank <= a < rank for a in self.axis):
            raise ValueError(f"{self.name}: axis {self.axis} is out of range for input of shape {tuple(shape)}")
        axes = sorted({a % rank for a in self.axis})
        if len(axes) != len(self.axis):
            raise ValueError(f"{self.name}: axis {self.axis} names an axis twice")
        return axes

    def build(self, input_shape):
        axes = self._resolve(input_shape)
        if any(input_shape[a] is None for a in axes):
            raise ValueError(f"{self.name}: the normalised axes must have known sizes, got shape {tuple(input_shape)}")
        self._axes = axes
        self._param_shape = param_shape = tuple(input_shape[a] for a in axes)
        if self.scale:
            self.gamma = self.add_weight(param_shape, self.gamma_initializer, name="gamma")
        if self.center:
            self.beta = self.add_weight(param_shape, self.beta_initializer, name="beta")
        self.built = True

    def call(self, inputs):
        shape = tuple(inputs.shape)
        axes = self._resolve(shape)
        want = tuple(shape[a] for a in axes)
        if axes != self._axes or want != self._param_shape:
            raise ValueError(f"{self.name}: expected sizes {self._param_shape} on axes {self._axes}, "
                             f"got input of shape {shape}")
        rest = [a for a in range(len(shape)) if a not in axes]
        perm = rest + axes
        x = inputs if perm == sorted(perm) else F.transpose(inputs, perm)
        n = math.prod(want)
        moved = tuple(shape[a] for a in perm)
        x = F.reshape(x, moved[: len(rest)] + (n,)) if len(axes) != 1 else x
        gamma = None if self.gamma is None else (F.reshape(self.gamma, (n,)) if len(axes) != 1 else self.gamma)
        beta = None if self.beta is None else (F.reshape(self.beta, (n,)) if len(axes) != 1 else self.beta)
        y = F.layer_norm(x, gamma, beta, self.epsilon)
        if len(axes) != 1:
            y = F.reshape(y, moved)
        if perm != sorted(perm):
            inv = sorted(range(len(perm)), key=perm.__getitem__)
            y = F.transpose(y, inv)
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis[0] if len(self.axis) == 1 else list(self.axis), "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "beta_initializer": initializer_config(self.beta_initializer),
                "gamma_initializer": initializer_config(self.gamma_initializer)}
