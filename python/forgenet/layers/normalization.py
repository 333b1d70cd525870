"""LayerNormalization, BatchNormalization, GroupNormalization, UnitNormalization (Keras 3 names,
defaults and weight order)."""
from __future__ import annotations

import math
import numbers

import numpy as np

from forgenet import functional as F
from forgenet.autograd.tensor import Tensor, array_module
from forgenet.functional import activations_extra as AX
from forgenet.functional import batchnorm as BN
from forgenet.layers.base import Layer
from forgenet.layers.convolutional import unsupported
from forgenet.layers.core import check_initializers, initializer_config
from forgenet.layers.weight_options import weight_options

_GAMMA_BETA = weight_options(gamma="gamma", beta="beta")


class LayerNormalization(_GAMMA_BETA, Layer):
    """Normalises over `axis` (default the last) to zero mean and unit variance, then scales by gamma
    and shifts by beta: y = (x - mean) / sqrt(var + epsilon) * gamma + beta."""

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                         beta_constraint=beta_constraint, gamma_constraint=gamma_constraint, **kwargs)
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


# ---- batch, group and unit normalisation ----------------------------------------------------------
def _int_axis(layer, axis):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"{layer}: axis must be an int, got {axis!r}")
    return int(axis)


def _resolve_axis(layer, axis, shape):
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"{layer}: axis {axis} is out of range for input of shape {tuple(shape)}")
    return axis % len(shape)


def _check_eps(layer, epsilon):
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon >= 0:
        raise ValueError(f"{layer}: epsilon must be a number >= 0, got {epsilon!r}")
    return float(epsilon)


class BatchNormalization(_GAMMA_BETA, Layer):
    """Normalises each channel (`axis`) with the batch's statistics while training and the moving
    averages otherwise; weights gamma, beta, moving_mean, moving_variance (Keras's order).

    As in Keras 3, a layer with trainable=False runs in inference mode even under training=True (its
    moving statistics stay frozen), which is what fine-tuning a pretrained network needs. Runs on the
    fused batch_norm kernels (one pass for the statistics, one for the output).
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                         beta_constraint=beta_constraint, gamma_constraint=gamma_constraint, **kwargs)
        n = self.name
        unsupported(n, renorm_clipping=renorm_clipping)
        if renorm:
            raise NotImplementedError(f"{n}: renorm=True is not supported yet")
        if synchronized:
            raise ValueError(f"{n}: synchronized=True is only supported with the TensorFlow backend (as Keras)")
        self.axis = _int_axis(n, axis)
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
            raise ValueError(f"{n}: momentum must be a number, got {momentum!r}")
        self.momentum = float(momentum)
        self.epsilon = _check_eps(n, epsilon)
        self.center, self.scale = bool(center), bool(scale)
        check_initializers(n, beta_initializer, gamma_initializer, moving_mean_initializer,
                           moving_variance_initializer)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.renorm, self.renorm_momentum, self.synchronized = False, float(renorm_momentum), False
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        axis = _resolve_axis(self.name, self.axis, input_shape)
        c = input_shape[axis]
        if c is None:
            raise ValueError(f"{self.name}: the size of axis {self.axis} must be known, got shape {tuple(input_shape)}")
        if self.scale:
            self.gamma = self.add_weight((c,), self.gamma_initializer, name="gamma")
        if self.center:
            self.beta = self.add_weight((c,), self.beta_initializer, name="beta")
        self.moving_mean = self.add_weight((c,), self.moving_mean_initializer, trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight((c,), self.moving_variance_initializer, trainable=False,
                                               name="moving_variance")
        self.built = True

    def call(self, inputs, training=False, mask=None):
        shape = tuple(inputs.shape)
        axis = _resolve_axis(self.name, self.axis, shape)
        if shape[axis] != self.moving_mean.shape[0]:
            raise ValueError(f"{self.name}: expected {self.moving_mean.shape[0]} channels on axis {self.axis}, "
                             f"got input of shape {shape}")
        if mask is not None and len(mask.shape) != len(shape) - 1:
            raise ValueError(f"{self.name}: the mask must have one dimension less than the inputs, got "
                             f"mask.shape={tuple(mask.shape)}, inputs.shape={shape}")
        if not (training and self.trainable):
            return BN.batch_norm_inference(inputs, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                                           axis, self.epsilon)
        if mask is None:
            y, mean, var = BN.batch_norm(inputs, self.gamma, self.beta, axis, self.epsilon)
        else:
            y, mean, var = self._masked(inputs, mask, axis)
        self._update_moving(mean, var)
        return y

    def _masked(self, x, mask, axis):
        """Keras's masked moments (weights = the mask broadcast over the channels), composed."""
        xp = array_module(x.data if isinstance(x, Tensor) else x)
        m = xp.asarray(getattr(mask, "data", mask)).astype(np.float32)[..., None]
        m = xp.broadcast_to(m, x.shape)
        axes = tuple(a for a in range(len(x.shape)) if a != axis)
        count = m.sum(axis=axes, keepdims=True)
        mean = F.sum(x * m, axis=axes, keepdims=True) / count
        var = F.sum(((x - mean) ** 2) * m, axis=axes, keepdims=True) / count
        bshape = [1] * len(x.shape)
        bshape[axis] = x.shape[axis]
        y = (x - mean) * F.power(var + self.epsilon, -0.5)
        if self.gamma is not None:
            y = y * F.reshape(self.gamma, bshape)
        if self.beta is not None:
            y = y + F.reshape(self.beta, bshape)
        return y, F.reshape(mean, (x.shape[axis],)), F.reshape(var, (x.shape[axis],))

    def _update_moving(self, mean, var):
        # Keras: moving = moving * momentum + batch * (1 - momentum), in float32
        mom = np.float32(self.momentum)
        for v, batch in ((self.moving_mean, mean), (self.moving_variance, var)):
            b = batch.data if isinstance(batch, Tensor) else batch
            v.data = (v.data * mom + b * (np.float32(1.0) - mom)).astype(np.float32)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializer_config(self.beta_initializer),
                "gamma_initializer": initializer_config(self.gamma_initializer),
                "moving_mean_initializer": initializer_config(self.moving_mean_initializer),
                "moving_variance_initializer": initializer_config(self.moving_variance_initializer),
                "synchronized": False, "renorm": False, "renorm_clipping": None,
                "renorm_momentum": self.renorm_momentum}


class GroupNormalization(_GAMMA_BETA, Layer):
    """Splits the channels (`axis`) into `groups` and normalises each sample's group over it and all
    non-batch axes; groups=-1 is instance normalisation. Weights gamma, beta (C,)."""

    supports_masking = True

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                         beta_constraint=beta_constraint, gamma_constraint=gamma_constraint, **kwargs)
        n = self.name
        if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or (groups <= 0 and groups != -1):
            raise ValueError(f"{n}: groups must be a positive integer (or -1 for instance normalization), "
                             f"got {groups!r}")
        self.groups = int(groups)
        self.axis = _int_axis(n, axis)
        self.epsilon = _check_eps(n, epsilon)
        self.center, self.scale = bool(center), bool(scale)
        check_initializers(n, beta_initializer, gamma_initializer)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.gamma = self.beta = None

    def build(self, input_shape):
        axis = _resolve_axis(self.name, self.axis, input_shape)
        c = input_shape[axis]
        if c is None:
            raise ValueError(f"{self.name}: axis {self.axis} of the input must have a known size, got {tuple(input_shape)}")
        groups = c if self.groups == -1 else self.groups
        if groups > c:
            raise ValueError(f"{self.name}: groups ({groups}) cannot be more than the number of channels ({c})")
        if c % groups:
            raise ValueError(f"{self.name}: groups ({groups}) must be a multiple of the number of channels ({c})")
        self._groups = groups
        if self.scale:
            self.gamma = self.add_weight((c,), self.gamma_initializer, name="gamma")
        if self.center:
            self.beta = self.add_weight((c,), self.beta_initializer, name="beta")
        self.built = True

    def call(self, inputs):
        shape = tuple(inputs.shape)
        axis = _resolve_axis(self.name, self.axis, shape)
        if axis == 0:
            raise ValueError(f"{self.name}: axis must not be the batch axis")
        x = inputs
        rank = len(shape)
        perm = [a for a in range(rank) if a != axis] + [axis]
        if axis != rank - 1:
            x = F.transpose(x, perm)
        moved = tuple(x.shape)
        g = self._groups
        cg = moved[-1] // g
        # (N, S..., G, Cg) -> (N, G, S..., Cg) -> rows of one sample's group
        x = F.reshape(x, (moved[0], -1, g, cg))
        x = F.transpose(x, (0, 2, 1, 3))
        grouped = tuple(x.shape)
        x = F.reshape(x, (moved[0] * g, grouped[2] * cg))
        x = F.layer_norm(x, None, None, self.epsilon)
        x = F.transpose(F.reshape(x, grouped), (0, 2, 1, 3))
        x = F.reshape(x, moved)
        if self.gamma is not None:
            x = x * self.gamma
        if self.beta is not None:
            x = x + self.beta
        if axis != rank - 1:
            x = F.transpose(x, sorted(range(rank), key=perm.__getitem__))
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializer_config(self.beta_initializer),
                "gamma_initializer": initializer_config(self.gamma_initializer)}


class UnitNormalization(Layer):
    """x / ||x||_2 over `axis` (an int or a list), as keras.ops.normalize (the inverse norm capped at 1e12)."""

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and all(isinstance(a, numbers.Integral) for a in axis):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise TypeError(f"{self.name}: axis must be an int or a list/tuple of ints, got {axis!r}")

    def call(self, inputs):
        axes = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        square_sum = F.sum(inputs * inputs, axis=axes, keepdims=True)
        inv = AX.clamp_max(F.power(square_sum, -0.5), 1e12)
        return inputs * inv

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
