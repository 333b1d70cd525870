"""The optimizer base class (Keras 3's `Optimizer`): clipping, decoupled weight decay, the update loop.

Subclasses implement `update_step(grad, variable, lr)` with exactly Keras's formulas, in place on the
variable's array and on slot arrays made once in `build`: as one fused kernel per weight where there
is one (forgenet.kernels.optimizer), else as in-place ufuncs (`out=`). Temporaries come from two scratch
buffers sized to the largest variable, so a training step allocates nothing here.
"""
from __future__ import annotations

import math
import re
import warnings

import numpy as np

from forgenet.autograd.tensor import Tensor, array_module
from forgenet.constraints import constraint_of


class Optimizer:
    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if loss_scale_factor is not None:
            raise NotImplementedError(f"{type(self).__name__}: loss_scale_factor is not supported by forgenet "
                                      "(float32 training needs no loss scaling)")
        if gradient_accumulation_steps is not None and (not isinstance(gradient_accumulation_steps, int)
                                                        or gradient_accumulation_steps < 2):
            raise ValueError(f"{type(self).__name__}: gradient_accumulation_steps must be an int >= 2, got "
                             f"{gradient_accumulation_steps!r}")
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(f"{type(self).__name__}: ema_momentum must be in [0, 1], got {ema_momentum!r}")
        if ema_overwrite_frequency is not None and (not isinstance(ema_overwrite_frequency, int)
                                                    or ema_overwrite_frequency < 1):
            raise ValueError(f"{type(self).__name__}: ema_overwrite_frequency must be an int >= 1 or None, got "
                             f"{ema_overwrite_frequency!r}")
        self.use_ema, self.ema_momentum = bool(use_ema), float(ema_momentum)
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.gradient_accumulation_steps = gradient_accumulation_steps
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"{type(self).__name__}: only one of clipnorm, clipvalue and global_clipnorm can be set")
        for arg, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm),
                       ("weight_decay", weight_decay)):
            if v is not None and (not isinstance(v, (int, float)) or v < 0):
                raise ValueError(f"{type(self).__name__}: {arg} must be a non-negative float or None, got {v!r}")
        self.name = name or _snake(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.learning_rate = learning_rate
        self._iterations = 0  # every apply() call; `iterations` counts real updates (Keras, with accumulation)
        self.built = False
        self._variables = []  # the trainable variables, in build order
        self._index = {}  # id(variable) -> position
        self._slots = {}  # slot name -> list of arrays, one per variable
        self._scratch = None
        self._exclude_ids, self._exclude_names = set(), []

    # ---- learning rate ---------------------------------------------------------------------------
    @property
    def iterations(self) -> int:
        steps = self.gradient_accumulation_steps
        return self._iterations // steps if steps else self._iterations

    @iterations.setter
    def iterations(self, value):
        self._iterations = int(value) * (self.gradient_accumulation_steps or 1)

    @property
    def learning_rate(self) -> float:
        lr = self._learning_rate
        return _call_schedule(lr, self._iterations) if callable(lr) else lr

    @learning_rate.setter
    def learning_rate(self, value):
        if not callable(value):
            if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{type(self).__name__}: learning_rate must be a non-negative float or a "
                                 f"callable schedule, got {value!r}")
            value = float(value)
        self._learning_rate = value

    # ---- state -----------------------------------------------------------------------------------
    def build(self, variables) -> None:
        """Create the slot arrays (moments, ...) for these variables."""
        self._variables = list(variables)
        self._index = {id(v): i for i, v in enumerate(self._variables)}
        self._slots = {}
        # Keras's order: the moving averages, then the gradient accumulators, then the subclass's slots
        self._ema = self.add_slot("average") if self.use_ema else None
        if self._ema is not None:
            for a, v in zip(self._ema, self._variables):
                a[...] = v.data
        self._accum = self.add_slot("gradient_accumulator") if self.gradient_accumulation_steps else None
        self._make_scratch()
        self.built = True

    def add_slot(self, name: str) -> list:
        arrays = [array_module(v.data).zeros(v.data.shape, v.data.dtype) for v in self._variables]
        self._slots[name] = arrays
        return arrays

    def _make_scratch(self):
        size = max((v.data.size for v in self._variables), default=0)
        xp = array_module(self._variables[0].data) if self._variables else np
        self._scratch = (xp.empty(size, np.float32), xp.empty(size, np.float32))
        # per-variable views of the scratch buffers, made once (slicing per step costs more than the math)
        self._views = [tuple(s[:v.data.size].reshape(v.data.shape) for s in self._scratch) for v in self._variables]

    def _tmp(self, var, k=0):
        return self._views[self._index[id(var)]][k]

    @property
    def variables(self) -> list:
        """The optimizer's state arrays (slots in creation order, one per variable each)."""
        return [a for arrays in self._slots.values() for a in arrays]

    def get_state(self) -> tuple[int, list]:
        return self._iterations, [_to_numpy(a) for a in self.variables]

    def set_state(self, iterations: int, arrays) -> None:
        mine = self.variables
        if len(arrays) != len(mine):
            raise ValueError(f"{self.name}: expected {len(mine)} optimizer state arrays, got {len(arrays)}")
        for dst, src in zip(mine, arrays):
            if tuple(dst.shape) != tuple(src.shape):
                raise ValueError(f"{self.name}: optimizer state of shape {tuple(dst.shape)} cannot take an array "
                                 f"of shape {tuple(src.shape)}")
        for dst, src in zip(mine, arrays):
            dst[...] = array_module(dst).asarray(src, dtype=dst.dtype)
        self._iterations = int(iterations)

    def _to(self, xp) -> None:
        """Move the slot arrays to numpy or cupy (model.to)."""
        for arrays in self._slots.values():
            for i, a in enumerate(arrays):
                arrays[i] = xp.asarray(_to_numpy(a)) if xp is not np else _to_numpy(a)
        if self._variables:
            self._make_scratch()

    # ---- updates ---------------------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        if self.built:
            raise ValueError(f"{self.name}: exclude_from_weight_decay() must be called before the optimizer is built")
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_names = list(var_names or ())

    def apply_gradients(self, grads_and_vars):
        grads, variables = zip(*grads_and_vars)
        self.apply(list(grads), list(variables))
        return self.iterations

    def apply(self, grads, variables=None) -> None:
        """One update of `variables` (Variables) with `grads` (arrays or Tensors, None to skip)."""
        if len(grads) == 0:
            return
        if variables is None:
            if not self.built:
                raise ValueError(f"{self.name}: pass the variables on the first call to apply() (or call build())")
            variables = self._variables
        elif not self.built:
            self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(f"{self.name}: got {len(grads)} gradients for {len(variables)} variables")
        pairs = []
        for g, v in zip(grads, variables):
            if id(v) not in self._index:
                raise ValueError(f"{self.name}: variable '{getattr(v, 'name', v)}' is not one of the variables "
                                 "this optimizer was built with; after adding layers or unfreezing weights, "
                                 "compile() again with a new optimizer")
            if g is not None:
                pairs.append((g.data if isinstance(g, Tensor) else g, v))
        if not pairs:
            raise ValueError(f"{self.name}: no gradients provided for any variable")
        from forgenet.distribution import distribution

        dist = distribution()
        if dist is not None and dist.size > 1:  # every rank then applies the global-batch gradient
            if not self.__dict__.get("_dist_synced"):  # to rank 0's weights (ranks seeded alike already agree)
                dist.broadcast_weights([v for _, v in pairs])
                self._dist_synced = True
            pairs = list(zip(dist.reduce_gradients([g for g, _ in pairs]), [v for _, v in pairs]))
        if len(pairs) < len(grads):
            missing = [v.name for g, v in zip(grads, variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss.", stacklevel=3)
        for g, v in pairs:
            if g.shape != v.data.shape:
                raise ValueError(f"{self.name}: gradient of shape {tuple(g.shape)} does not match variable "
                                 f"'{v.name}' of shape {tuple(v.data.shape)}")
        if self.gradient_accumulation_steps:
            # Keras: accumulate; every n-th call step with (sum + this gradient) / n and reset. The step count
            # (and so the schedule and bias corrections) counts every call.
            steps = self.gradient_accumulation_steps
            acc = [self._accum[self._index[id(v)]] for _, v in pairs]
            if (self._iterations + 1) % steps:
                for a, (g, _) in zip(acc, pairs):
                    a += g
                self._after_step([v for _, v in pairs])
                return
            pairs = [((g + a) / np.float32(steps), v) for a, (g, v) in zip(acc, pairs)]
            for a in acc:
                a[...] = 0
        grads = self._clip([g for g, _ in pairs])
        lr = self.learning_rate
        self._before_updates(lr)
        if self.weight_decay:
            for _, v in pairs:
                if self._use_weight_decay(v):  # Keras: variable - variable * wd * lr, before the step
                    tmp = self._tmp(v)
                    array_module(v.data).multiply(v.data, self.weight_decay, out=tmp)
                    tmp *= lr
                    v.data -= tmp
        for g, (_, v) in zip(grads, pairs):
            self.update_step(g, v, lr)
        for _, v in pairs:  # Keras: each variable's constraint right after the gradient step
            c = constraint_of(v)
            if c is not None:
                v.data[...] = c(v.data)
        self._after_step([v for _, v in pairs])

    def _before_updates(self, lr) -> None:
        """Once per update, before the per-variable steps (Nadam advances its momentum product here)."""

    def _after_step(self, variables) -> None:
        """Keras's moving average (use_ema: the first step copies the weights) and optional overwrite, then
        the step count."""
        if self._ema is not None:
            mom = self.ema_momentum if self.iterations != 0 else 0.0
            for v in variables:
                a = self._ema[self._index[id(v)]]
                a *= mom
                a += v.data * np.float32(1 - mom)
            if self.ema_overwrite_frequency and (self.iterations + 1) % self.ema_overwrite_frequency == 0:
                self.finalize_variable_values(variables)
        self._iterations += 1

    def finalize_variable_values(self, var_list=None) -> None:
        """With use_ema, write the moving averages into the weights (Keras calls this at the end of fit)."""
        if self._ema is None:
            return
        for v in var_list if var_list is not None else self._variables:
            if id(v) in self._index:
                v.data[...] = self._ema[self._index[id(v)]]

    def update_step(self, grad, variable, learning_rate) -> None:
        raise NotImplementedError

    def _use_weight_decay(self, v) -> bool:
        if id(v) in self._exclude_ids:
            return False
        return not any(re.search(n, v.name) for n in self._exclude_names)

    def _clip(self, grads):
        # Keras's order: clipnorm (each gradient), else global_clipnorm, else clipvalue. Copies: grads may alias.
        if self.clipnorm:
            out = []
            for g in grads:
                xp = array_module(g)
                norm = float(xp.sqrt((g.astype(np.float64) ** 2).sum()))
                out.append((g * self.clipnorm / max(norm, self.clipnorm)).astype(np.float32))
            return out
        if self.global_clipnorm:
            norm = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
            if not math.isfinite(norm):
                return [g * np.float32("nan") for g in grads]
            scale = self.global_clipnorm / max(norm, self.global_clipnorm)
            return [(g * scale).astype(np.float32) for g in grads]
        if self.clipvalue:
            return [array_module(g).clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    # ---- config ----------------------------------------------------------------------------------
    def get_config(self) -> dict:
        from forgenet.optimizers import schedules

        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):  # as Keras: the schedule's own config
            lr = schedules.serialize(lr)
        elif callable(lr):  # a plain function saves as its current value
            lr = _call_schedule(lr, self._iterations)
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency, "loss_scale_factor": None,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config):
        from forgenet.optimizers import schedules

        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} learning_rate={self._learning_rate} iterations={self.iterations}>"


def _call_schedule(lr, step) -> float:
    """A schedule is called with the step count; a plain callable with it too, or (Keras's convention for
    plain callables) with nothing when it takes no argument."""
    import inspect

    try:
        params = inspect.signature(lr).parameters.values()
        takes_step = any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)
    except (TypeError, ValueError):
        takes_step = True
    return float(lr(step) if takes_step else lr())


def _snake(name: str) -> str:
    s = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", s).lower()


def _fusable(w, g) -> bool:
    """Whether the fused update kernels (forgenet.kernels.optimizer) take this weight array and gradient; the
    slots are made like the weight, so they follow it."""
    return (w.dtype == np.float32 and g.dtype == np.float32 and w.flags.c_contiguous
            and getattr(w.flags, "writeable", True))


def _to_numpy(a):
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)
