"""`Model`: a Layer that can be trained (Keras 3's compile / fit / evaluate / predict / save).

Subclass it and define `call` (or use `Sequential`). Training is eager: each step runs the forward
pass on Tensors (recording the graph), the loss, `loss.backward()`, and an in-place optimizer update.
Everything else on the step (batch slicing, metric updates, logs) is kept to a few numpy calls so
that the time goes to the kernels.
"""
from __future__ import annotations

import contextlib
import math
import numbers

import numpy as np

from forgenet import losses as losses_mod
from forgenet import metrics as metrics_mod
from forgenet import optimizers as optimizers_mod
from forgenet.autograd.tensor import Tensor, no_grad
from forgenet.callbacks import CallbackList
from forgenet.layers.base import Layer, weight_device
from forgenet.utils.random import get_rng

_IGNORED_COMPILE_ARGS = {"run_eagerly", "jit_compile", "steps_per_execution", "auto_scale_loss"}


class Model(Layer):
    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise NotImplementedError("forgenet.models.Model(inputs, outputs): the functional API is not supported; "
                                      "subclass Model and define call(), or use forgenet.models.Sequential")
        super().__init__(**kwargs)
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._metric_ids = []
        self._compile_metrics = None  # built on the first batch: "accuracy" depends on the shapes
        self._loss_tracker = metrics_mod.Mean(name="loss")
        self._build_input_shape = None
        self._device = "cpu"
        self._frozen = None

    # ---- building ------------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights by running the model once on a zero sample of `input_shape` (batch dim ignored)."""
        shape = _full_shape(self.name, input_shape)
        self.built = True
        self._build_input_shape = shape
        self(_zeros(shape, self.input_dtype), training=False)

    def __call__(self, *args, **kwargs):
        if self._build_input_shape is None and args and hasattr(args[0], "shape"):
            self._build_input_shape = (None,) + tuple(args[0].shape[1:])
        if self._device != "cpu" and args and isinstance(args[0], np.ndarray):  # host data follows the weights
            args = (self._xp.asarray(args[0]),) + args[1:]
        with self._placing_weights():
            return super().__call__(*args, **kwargs)

    @contextlib.contextmanager
    def _placing_weights(self):
        """Layers built in here (lazily, on their first call) create their weights on the model's device."""
        if self._device == "cpu":
            yield
            return
        token = weight_device.set(self._xp)
        try:
            yield
        finally:
            weight_device.reset(token)

    @property
    def layers(self) -> list:
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"{self.name}: no layer named {name!r}; layers are {[l.name for l in self._layers]}")

    # ---- compile -------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                **kwargs):
        unknown = set(kwargs) - _IGNORED_COMPILE_ARGS
        if unknown:
            raise TypeError(f"{self.name}.compile: unexpected keyword arguments {sorted(unknown)}")
        if loss_weights is not None or weighted_metrics:
            raise ValueError(f"{self.name}.compile: loss_weights and weighted_metrics are not supported "
                             "(single-output models only)")
        self.optimizer = optimizers_mod.get(optimizer)
        self.loss = None if loss is None else losses_mod.get(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, dict) or not isinstance(metrics, (list, tuple)):
            raise ValueError(f"{self.name}.compile: metrics must be a list, got {type(metrics).__name__} {metrics!r}")
        for m in metrics:
            metrics_mod.check(m)
        self._metric_ids = list(metrics)
        self._compile_metrics = None
        self.compiled = True

    def _require_compiled(self, what: str):
        if not self.compiled:
            raise RuntimeError(f"{self.name}: you must call compile() before {what}()")
        if self.loss is None:
            raise ValueError(f"{self.name}: no loss to compute. Provide a `loss` argument in compile() before {what}()")

    @property
    def metrics(self) -> list:
        return [self._loss_tracker] + list(self._compile_metrics or [])

    @property
    def metrics_names(self) -> list:
        return [m.name for m in self.metrics]

    def _build_metrics(self, y_true, y_pred):
        made, seen = [], {}
        for ident in self._metric_ids:
            m = metrics_mod.get(ident, y_true, y_pred)
            if m.name in seen:  # Keras de-duplicates repeated names with a suffix
                seen[m.name] += 1
                m.name = f"{m.name}_{seen[m.name]}"
            else:
                seen[m.name] = 0
            made.append(m)
        self._compile_metrics = made

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _update_metrics(self, y, y_pred, loss_value, n):
        self._loss_tracker.update_state(loss_value, sample_weight=n)
        if self._compile_metrics is None:
            self._build_metrics(y, y_pred)
        for m in self._compile_metrics:
            m.update_state(y, y_pred)

    def _logs(self) -> dict:
        # Keras's pythonify_logs sorts the keys: accuracy, loss, ...
        return dict(sorted((m.name, m.result()) for m in self.metrics))

    # ---- data ----------------------------------------------------------------------------------
    def _x_array(self, x, what):
        if isinstance(x, Tensor):
            x = x.data
        if isinstance(x, (list, tuple, dict)) and any(hasattr(a, "shape") for a in x):
            raise ValueError(f"{self.name}.{what}: multiple inputs are not supported; pass x as one array")
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            try:
                x = np.asarray(x)
            except Exception as e:
                raise TypeError(f"{self.name}.{what}: x must be an array, got {type(x).__name__}") from e
        if x.ndim == 0:
            raise ValueError(f"{self.name}.{what}: x must have a batch axis, got a scalar")
        if x.dtype.kind not in "fiub":
            raise TypeError(f"{self.name}.{what}: x must be numeric, got dtype {x.dtype}")
        return x

    def _y_array(self, y, n, what):
        if y is None:
            raise ValueError(f"{self.name}.{what}: y is required (this model was compiled with a loss)")
        if isinstance(y, Tensor):
            y = y.data
        if not hasattr(y, "shape"):
            y = np.asarray(y)
        if y.ndim == 0:
            raise ValueError(f"{self.name}.{what}: y must have a batch axis, got a scalar")
        if len(y) != n:
            raise ValueError(f"{self.name}.{what}: x and y must have the same number of samples, got x with {n} "
                             f"and y with {len(y)}")
        if y.dtype.kind not in "fiub":
            raise TypeError(f"{self.name}.{what}: y must be numeric, got dtype {y.dtype}")
        want = self.loss.target_dtype
        if y.dtype != want:
            if want == np.int64 and y.dtype.kind == "f":
                if y.size and not bool(np.all(np.floor(y) == y)):
                    raise ValueError(f"{self.name}.{what}: {self.loss.name} needs integer class ids in y, got "
                                     "non-integer values")
            y = y.astype(want)
        return y

    def _batch(self, a, idx, cast_float: bool):
        """Rows `idx` (a slice or an index array) as the array the model computes on."""
        b = a[idx] if isinstance(idx, slice) else a.take(idx, axis=0)
        if cast_float and b.dtype != np.float32:
            b = b.astype(np.float32)
        if self._device != "cpu":
            b = self._xp.asarray(b)
        return b

    @staticmethod
    def _check_batch_size(who, batch_size):
        if batch_size is None:
            return 32
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"{who}: batch_size must be a positive integer, got {batch_size!r}")
        return int(batch_size)

    # ---- training ------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0, validation_batch_size=None, validation_freq=1):
        who = f"{self.name}.fit"
        self._require_compiled("fit")
        batch_size = self._check_batch_size(who, batch_size)
        if not isinstance(epochs, numbers.Integral) or epochs < 0:
            raise ValueError(f"{who}: epochs must be a non-negative integer, got {epochs!r}")
        x = self._x_array(x, "fit")
        y = self._y_array(y, len(x), "fit")
        if len(x) == 0:
            raise ValueError(f"{who}: x is empty (0 samples): there is nothing to train on")
        if validation_data is None and validation_split:
            if not 0.0 < validation_split < 1.0:
                raise ValueError(f"{who}: validation_split must be in [0, 1), got {validation_split!r}")
            split = int(math.floor(len(x) * (1.0 - validation_split)))  # Keras: the last part validates
            if split == 0 or split == len(x):
                raise ValueError(f"{who}: {len(x)} samples are too few to split with "
                                 f"validation_split={validation_split}")
            validation_data = (x[split:], y[split:])
            x, y = x[:split], y[:split]
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError(f"{who}: validation_data must be a tuple (x_val, y_val), got "
                                 f"{type(validation_data).__name__}")
            if len(validation_data) == 3:
                raise ValueError(f"{who}: sample weights in validation_data are not supported")
            vx = self._x_array(validation_data[0], "fit(validation_data)")
            vy = self._y_array(validation_data[1], len(vx), "fit(validation_data)")
            if len(vx) == 0:
                raise ValueError(f"{who}: validation_data is empty (0 samples)")
        n = len(x)
        steps = math.ceil(n / batch_size)
        cast_x = self.input_dtype is not None
        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                           verbose=verbose, epochs=epochs, steps=steps)
        want_batch_logs = cbs.needs_batch_logs
        train_vars = self.trainable_weights if self.built else None
        self._frozen = None
        for w in self.weights:  # gradients left by an interrupted step or a manual backward() must not add in
            w.grad = None
        self.stop_training = False
        rng = get_rng()
        cbs.on_train_begin()
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            order = rng.permutation(n) if shuffle else None
            for step in range(steps):
                cbs.on_train_batch_begin(step)
                lo, hi = step * batch_size, min((step + 1) * batch_size, n)
                idx = order[lo:hi] if order is not None else slice(lo, hi)
                xb, yb = self._batch(x, idx, cast_x), self._batch(y, idx, False)
                out = self(Tensor(xb), training=True)
                if train_vars is None:  # the first call built the layers
                    train_vars = self.trainable_weights
                self._train_step(out, yb, train_vars, hi - lo)
                if want_batch_logs:
                    cbs.on_train_batch_end(step, self._logs())
                if self.stop_training:
                    break
            epoch_logs = self._logs()
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                val = self._evaluate_arrays(vx, vy, self._check_batch_size(who, validation_batch_size or batch_size))
                epoch_logs.update({"val_" + k: v for k, v in val.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end(epoch_logs)
        return cbs.history

    def _train_step(self, out, yb, train_vars, n):
        if not isinstance(out, Tensor):
            raise TypeError(f"{self.name}: call() must return a Tensor when given Tensors, got {type(out).__name__}")
        loss = self.loss(yb, out)
        if loss.size != 1:
            raise ValueError(f"{self.name}: the loss must reduce to a scalar, got shape {loss.shape}")
        loss.backward()
        grads = [v.grad for v in train_vars]
        if train_vars:
            self.optimizer.apply(grads, train_vars)
        for v in train_vars:
            v.grad = None
        if self._frozen is None:  # weights of layers set trainable=False still collect gradients: drop them
            self._frozen = [w for w in self.weights if w.requires_grad and all(w is not t for t in train_vars)]
        for v in self._frozen:
            v.grad = None
        self._update_metrics(yb, out.data, loss.data, n)  # an array: no wait for the GPU here

    # ---- inference -----------------------------------------------------------------------------
    def _forward_eval(self, xb):
        with no_grad():
            out = self(Tensor(xb), training=False)
        return out

    def _evaluate_arrays(self, x, y, batch_size, callbacks=None) -> dict:
        self.reset_metrics()
        n = len(x)
        cast_x = self.input_dtype is not None
        for step in range(math.ceil(n / batch_size)):
            if callbacks is not None:
                callbacks.on_test_batch_begin(step)
            lo, hi = step * batch_size, min((step + 1) * batch_size, n)
            idx = slice(lo, hi)
            xb, yb = self._batch(x, idx, cast_x), self._batch(y, idx, False)
            out = self._forward_eval(xb)
            with no_grad():
                loss = self.loss(yb, out)
            self._update_metrics(yb, out.data, loss.data, hi - lo)
            if callbacks is not None:
                callbacks.on_test_batch_end(step, self._logs())
        return self._logs()

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False, callbacks=None):
        who = f"{self.name}.evaluate"
        self._require_compiled("evaluate")
        batch_size = self._check_batch_size(who, batch_size)
        x = self._x_array(x, "evaluate")
        y = self._y_array(y, len(x), "evaluate")
        if len(x) == 0:
            raise ValueError(f"{who}: x is empty (0 samples): there is nothing to evaluate")
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                           steps=math.ceil(len(x) / batch_size))
        cbs.on_test_begin()
        logs = self._evaluate_arrays(x, y, batch_size, cbs)
        cbs.on_test_end(logs)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]  # loss first, then metrics in compile order
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None):
        who = f"{self.name}.predict"
        batch_size = self._check_batch_size(who, batch_size)
        x = self._x_array(x, "predict")
        n = len(x)
        cast_x = self.input_dtype is not None
        if n == 0:  # the right shape, found on one zero sample rather than on an empty batch
            probe = self._forward_eval(self._batch(_zeros(x.shape, self.input_dtype or x.dtype), slice(0, 1), cast_x))
            return np.empty((0,) + probe.shape[1:], probe.dtype)
        steps = math.ceil(n / batch_size)
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1, steps=steps)
        cbs.on_predict_begin()
        result = None
        for step in range(steps):
            cbs.on_predict_batch_begin(step)
            lo, hi = step * batch_size, min((step + 1) * batch_size, n)
            out = self._forward_eval(self._batch(x, slice(lo, hi), cast_x)).numpy()
            if result is None:
                result = np.empty((n,) + out.shape[1:], out.dtype)
            result[lo:hi] = out
            cbs.on_predict_batch_end(step, {"outputs": out})
        cbs.on_predict_end()
        return result

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(len(x), 1), verbose=0)

    def train_on_batch(self, x, y, return_dict=False):
        self._require_compiled("train_on_batch")
        x = self._x_array(x, "train_on_batch")
        y = self._y_array(y, len(x), "train_on_batch")
        self.reset_metrics()
        xb, yb = self._batch(x, slice(None), self.input_dtype is not None), self._batch(y, slice(None), False)
        out = self(Tensor(xb), training=True)
        self._frozen = None
        self._train_step(out, yb, self.trainable_weights, len(x))
        logs = self._logs()
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def test_on_batch(self, x, y, return_dict=False):
        return self.evaluate(x, y, batch_size=max(len(x), 1), verbose=0, return_dict=return_dict)

    # ---- device --------------------------------------------------------------------------------
    @property
    def _xp(self):
        if self._device == "cpu":
            return np
        import cupy

        return cupy

    def to(self, device):
        """Move the weights (and optimizer state) to "cuda" or "cpu"; fit/predict then run there."""
        d = str(device).lower()
        if d in ("cuda", "gpu") or d.startswith("cuda:"):
            from forgenet import _cuda_backend

            try:  # CuPy, a build with CUDA kernels and a GPU, or an error that says which is missing
                _cuda_backend.module(f"{self.name}.to({device!r})")
            except ImportError:
                raise RuntimeError(f"{self.name}.to({device!r}): CuPy is not installed, so forgenet cannot run on "
                                   "the GPU (pip install forgenet[cuda])") from None
            import cupy

            xp, self._device = cupy, "cuda"
        elif d == "cpu":
            xp, self._device = np, "cpu"
        else:
            raise ValueError(f"{self.name}.to: device must be 'cpu' or 'cuda', got {device!r}")
        for w in self.weights:
            w.data = xp.asarray(w.numpy()) if xp is not np else w.numpy()
            w.grad = None
        if self.optimizer is not None and self.optimizer.built:
            self.optimizer._to(xp)
        return self

    @property
    def device(self) -> str:
        return self._device

    # ---- summary, saving -----------------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs):
        from forgenet.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    def save(self, filepath, overwrite=True, include_optimizer=True):
        from forgenet.models.saving import save_model

        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        from forgenet.models.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        from forgenet.models.saving import load_weights

        load_weights(self, filepath)

    def get_compile_config(self):
        if not self.compiled:
            return None
        from forgenet.saving.serialization_lib import compile_config

        return compile_config(self)

    def compile_from_config(self, config):
        from forgenet.saving.serialization_lib import compile_with_config

        compile_with_config(self, config, who=f"{self.name}.compile_from_config")

    def to_json(self, **kwargs):
        """The model's architecture as Keras's JSON (models.model_from_json reads it back)."""
        import json

        from forgenet.saving.serialization_lib import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    def get_build_config(self):
        if self._build_input_shape is None:
            return None
        return {"input_shape": list(self._build_input_shape)}


def _full_shape(name, input_shape):
    try:
        shape = tuple(None if d is None else int(d) for d in input_shape)
    except TypeError:
        raise ValueError(f"{name}.build: input_shape must be a tuple of ints (batch first, may be None), "
                         f"got {input_shape!r}") from None
    if len(shape) < 1 or any(d is not None and d < 0 for d in shape):
        raise ValueError(f"{name}.build: invalid input_shape {input_shape!r}")
    if any(d is None for d in shape[1:]):
        raise ValueError(f"{name}.build: only the batch dimension may be None, got {input_shape!r}")
    return (None,) + shape[1:]


def _zeros(shape, dtype):
    """One zero sample: float32 for float layers, int64 ids where the first layer takes ids (input_dtype None)."""
    z = np.zeros((1,) + tuple(shape[1:]), np.int64 if dtype is None else dtype)
    xp = weight_device.get()
    return z if xp is None else xp.asarray(z)  # built inside a call on the GPU: probe there too
