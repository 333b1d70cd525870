"""The Trainer (Keras 3's `keras.src.trainers.Trainer`): compile, the loss, the metrics, and the loops
of fit / evaluate / predict. `Model` inherits it.

Every batch goes through the public steps, so a subclass that overrides one is honoured:
`fit` and `train_on_batch` call `train_step(data)`, `evaluate` and `test_on_batch` call
`test_step(data)` (under `no_grad`), `predict` and `predict_on_batch` call `predict_step(data)`.
`data` is what the data adapter packs, `(x,)`, `(x, y)` or `(x, y, sample_weight)`, each part a
Tensor (or a list / dict of Tensors) on the model's device.

A custom `train_step`, the forgenet version of Keras's torch-backend one (`torch.no_grad()` becomes
`forgenet.no_grad()`, `v.value.grad` becomes `v.grad`; `self.zero_grad()` exists as in torch):

    def train_step(self, data):
        x, y = data
        y_pred = self(x, training=True)               # records the graph
        loss = self.compute_loss(x, y, y_pred)        # compiled loss + add_loss() losses
        loss.backward()                               # gradients into v.grad
        self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
        self.zero_grad()
        for m in self.metrics:
            m.update_state(loss) if m.name == "loss" else m.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

`forgenet.autograd.grad(loss, variables)` returns the gradients as a list instead, leaving every
`.grad` untouched: what a GAN's step uses to keep the generator's and discriminator's apart.
"""
from __future__ import annotations

import contextlib
import inspect
import numbers
import sys
import warnings

import numpy as np

from forgenet import functional as F
from forgenet import losses as losses_mod
from forgenet import metrics as metrics_mod
from forgenet import optimizers as optimizers_mod
from forgenet.autograd.tensor import Tensor, no_grad
from forgenet.callbacks import CallbackList
from forgenet.functional.dense import packed_weights
from forgenet.memory import in_pool
from forgenet.models import data_adapters as da
from forgenet.models.compile_utils import CompileLoss, CompileMetrics

_NO_EFFECT_COMPILE_ARGS = {"run_eagerly", "auto_scale_loss"}  # always eager, always float32: nothing to do


class Trainer:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._compile_loss = None
        self._compile_metrics = None
        self._loss_tracker = None
        self._compile_config = None
        self._metric_ids = []
        self._step_vars = None  # (trainable, all with gradients), found once per fit / *_on_batch

    # ---- compile -------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True, **kwargs):
        who = f"{self.name}.compile"
        if kwargs:
            raise TypeError(f"{who}: unexpected keyword arguments {sorted(kwargs)}")
        if steps_per_execution != 1:
            raise ValueError(f"{who}: steps_per_execution must be 1 (as with Keras's torch backend), got "
                             f"{steps_per_execution!r}")
        if jit_compile is True:
            warnings.warn(f"{who}: jit_compile=True has no effect; forgenet runs its kernels eagerly", stacklevel=2)
        if loss_weights is not None and _looks_like_metrics(loss_weights):
            raise ValueError(f"{who}: loss_weights must be numbers, got {loss_weights!r}. In Keras 3 the third "
                             "positional argument of compile() is loss_weights: pass metrics=[...] by keyword")
        output_names = getattr(self, "output_names", None)
        self.optimizer = optimizers_mod.get(optimizer)
        self._compile_loss = None if loss is None else CompileLoss(loss, loss_weights, output_names, who)
        self._compile_metrics = None
        if metrics is not None or weighted_metrics is not None:
            self._compile_metrics = CompileMetrics(metrics, weighted_metrics, output_names, who)
        self.loss = _resolved_single_loss(loss)
        self._metric_ids = list(metrics) if isinstance(metrics, (list, tuple)) else []
        self._loss_tracker = metrics_mod.Mean(name="loss")
        self._compile_config = dict(optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics,
                                    weighted_metrics=weighted_metrics, run_eagerly=run_eagerly,
                                    steps_per_execution=steps_per_execution, jit_compile=jit_compile)
        self._step_vars = None
        self.stop_training = False
        self.compiled = True

    def _assert_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"{self.name}: you must call compile() before {what}()")

    # ---- metrics -------------------------------------------------------------------------------
    @property
    def metrics(self) -> list:
        """Keras's order: the loss tracker, the compiled metrics (one "compile_metrics" entry), the
        per-output loss trackers, then Metrics held as attributes of the model and its layers."""
        snap = self.__dict__.get("_metrics_snapshot")
        if snap is not None:  # inside a fit / evaluate loop: the set does not change between batches
            return snap
        out = []
        if self.compiled:
            if self._loss_tracker is not None:
                out.append(self._loss_tracker)
            if self._compile_metrics is not None:
                out.append(self._compile_metrics)
            if self._compile_loss is not None:
                out.extend(self._compile_loss.metrics)
        own = {id(m) for m in out}
        for layer in self._self_and_sublayers():
            if layer is not self and isinstance(layer, Trainer):
                continue  # a nested model's compiled metrics are its own
            for value in vars(layer).values():
                for m in (value if isinstance(value, (list, tuple)) else (value,)):
                    if isinstance(m, metrics_mod.Metric) and id(m) not in own and m is not self._compile_metrics:
                        own.add(id(m))
                        out.append(m)
        return out

    @property
    def metrics_names(self) -> list:
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self) -> dict:
        """{name: result} of every metric in `metrics`, the compiled ones spread out (Keras)."""
        out = {}
        for m in self.metrics:
            r = m.result()
            if isinstance(r, dict):
                out.update(r)
            else:
                out[m.name] = r
        return out

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Update the compiled metrics with this batch; return `get_metrics_result()`."""
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    # ---- loss ----------------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss as a scalar Tensor: the compiled loss(es), weighted, plus every loss that
        the model's layers added with `add_loss` during the last call."""
        total = None
        if self._compile_loss is not None:
            if y is None:
                raise ValueError(f"{self.name}: y is required: the model was compiled with a loss, but the data "
                                 "has no targets")
            total = self._compile_loss(y, y_pred, sample_weight)
        for extra in self.losses:
            if not isinstance(extra, Tensor):
                extra = Tensor(np.asarray(extra, dtype=np.float32))
            extra = F.sum(extra) if extra.size != 1 or extra.ndim else extra
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError(f"{self.name}: no loss to compute. Provide a `loss` argument in compile()")
        return total

    def _compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # an override written before Keras 3.3 may not take `training`
        if "training" in _params(type(self).compute_loss):
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    # ---- the steps -----------------------------------------------------------------------------
    def zero_grad(self):
        """Forget the gradients in every weight's `.grad` (torch.nn.Module.zero_grad)."""
        for w in self.weights:
            w.grad = None

    def _vars_for_step(self):
        if self._step_vars is None:  # after the first forward pass: lazily built layers have weights now
            # a cache of the sublayers' variables, not variables of the model's own (kept from the tracker)
            object.__setattr__(self, "_step_vars",
                               (self.trainable_weights, [w for w in self.weights if w.requires_grad]))
        return self._step_vars

    def train_step(self, data):
        x, y, sample_weight = da.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        if not isinstance(loss, Tensor) or loss.size != 1:
            raise ValueError(f"{self.name}: the loss must be a scalar Tensor, got "
                             f"{getattr(loss, 'shape', type(loss).__name__)}")
        self._loss_tracker.update_state(loss.data, sample_weight=_batch_size(x))  # an array: no wait for a GPU
        trainable, with_grads = self._vars_for_step()
        if trainable:
            loss.backward()
            self.optimizer.apply([v.grad for v in trainable], trainable)
        else:
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)
        for v in with_grads:  # frozen weights collect gradients too: drop them with the others
            v.grad = None
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data):
        x, y, sample_weight = da.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        self._loss_tracker.update_state(_data(loss), sample_weight=_batch_size(x))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def predict_step(self, data):
        x, _, _ = da.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def _tensors(self, data):
        return da.to_tensors(data, self._xp, cast_x=self.input_dtype is not None)

    def _begin_steps(self):
        self._step_vars = None
        self.zero_grad()  # gradients left by an interrupted step or a manual backward() must not add in

    def _freeze_metrics(self, on):
        """Walking the model for tracked metrics costs ~0.1 ms: done once per loop (after its first batch,
        which builds the compiled metrics), not per batch."""
        self.__dict__["_metrics_snapshot"] = None
        if on:
            self.__dict__["_metrics_snapshot"] = self.metrics

    # ---- fit -----------------------------------------------------------------------------------
    @in_pool  # steady-state steps reuse their buffers (forgenet.memory)
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        who = f"{self.name}.fit"
        self._assert_compiled("fit")
        _check_batch_size(who, "batch_size", batch_size)
        _check_batch_size(who, "validation_batch_size", validation_batch_size)
        for arg, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{who}: {arg} must be a non-negative integer, got {value!r}")
        if not (isinstance(validation_freq, list) or (isinstance(validation_freq, numbers.Integral)
                                                      and validation_freq > 0)):
            raise ValueError(f"{who}: validation_freq must be a positive integer or a list of epochs, got "
                             f"{validation_freq!r}")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"{who}: shuffle must be True, False or 'batch', got {shuffle!r}")
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = da.train_validation_split((x, y, sample_weight),
                                                                               validation_split, who)
        train = da.EpochIterator(da.get_adapter(x, y, sample_weight, batch_size, steps_per_epoch, shuffle,
                                                class_weight, who), steps_per_epoch, who)
        _require_samples(train, who, "train on")
        val = None
        if validation_data is not None:
            vwho = f"{who}(validation_data)"
            vx, vy, vsw = _unpack_validation(validation_data, who)
            vbs = (validation_batch_size or batch_size) if da.is_array_data(vx) else validation_batch_size
            val = da.EpochIterator(da.get_adapter(vx, vy, vsw, vbs, validation_steps, False, None, vwho),
                                   validation_steps, vwho)
            _require_samples(val, vwho, "validate on")
        dist = _distribution()
        if dist is not None and not dist.is_chief:
            verbose = 0  # only rank 0 prints
        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self, verbose=verbose,
                           epochs=epochs, steps=train.num_batches)
        # whether batch logs are made decides whether they are all-reduced: every rank must agree
        batch_logs = cbs.needs_batch_logs if dist is None else dist.agree(cbs.needs_batch_logs)
        self.stop_training = False
        self._begin_steps()
        self._initial_epoch = None  # BackupAndRestore sets the epoch to resume from in on_train_begin
        cbs.on_train_begin()
        initial_epoch = self._initial_epoch if self._initial_epoch is not None else initial_epoch
        training_logs = {}
        try:
            self._fit_epochs(train, val, cbs, initial_epoch, epochs, validation_freq, batch_logs, training_logs)
        finally:
            self._freeze_metrics(False)
        if self.optimizer is not None and self.optimizer.built:  # use_ema: the averaged weights stay
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cbs.on_train_end(training_logs)
        return cbs.history

    def _fit_epochs(self, train, val, cbs, initial_epoch, epochs, validation_freq, batch_logs, training_logs):
        dist = _distribution()
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            logs, ran = {}, False
            batches = train.epoch()
            try:
                for step, data in batches:
                    cbs.on_train_batch_begin(step)
                    if dist is None:
                        logs = self.train_step(self._tensors(data))
                    else:  # my rows of the global batch; the optimizer weighs my gradients by their count
                        data, n_local = dist.shard(data)
                        with dist.local_count(n_local):
                            logs = self.train_step(self._tensors(data))
                    if not ran:  # the first batch built the compiled losses and metrics
                        self._freeze_metrics(True)
                    ran = True
                    if batch_logs:
                        cbs.on_train_batch_end(step, _pythonify(self._global(logs)))
                    if self.stop_training:
                        break
            finally:
                batches.close()
            epoch_logs = self._metrics_or_logs(logs) if ran else {}
            if val is not None and _should_eval(epoch, validation_freq):
                epoch_logs.update({"val_" + k: v for k, v in self._run_test(val, cbs).items()})
                epoch_logs = dict(sorted(epoch_logs.items()))  # Keras hands callbacks sorted logs
            self._freeze_metrics(False)  # callbacks see the model as it is
            cbs.on_epoch_end(epoch, epoch_logs)
            training_logs.clear()
            training_logs.update(epoch_logs)
            if self.stop_training:
                break

    def _global(self, logs):
        """Under data parallelism, the metrics over every rank's samples (when the step returned the
        model's metrics; a custom step's own dict is this rank's)."""
        dist = _distribution()
        if dist is None or not isinstance(logs, dict):
            return logs
        metric_logs = dist.global_logs(self.metrics)
        flat = {}
        for k, v in metric_logs.items():
            flat.update(v if isinstance(v, dict) else {k: v})
        return flat if set(flat) == set(logs) else logs

    def _metrics_or_logs(self, logs):
        """The model's metrics when the step returned them (Keras), else what the step returned."""
        if _distribution() is not None:
            return _pythonify(self._global(logs))
        metric_logs = self.get_metrics_result()
        if isinstance(logs, dict) and set(logs) == set(metric_logs):
            return _pythonify(metric_logs)
        return _pythonify(logs)

    # ---- evaluate ------------------------------------------------------------------------------
    def _run_test(self, it, cbs):
        self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        dist = _distribution()
        want = cbs.needs("on_test_batch_end") if dist is None else dist.agree(cbs.needs("on_test_batch_end"))
        batches = it.epoch()
        try:
            for step, data in batches:
                cbs.on_test_batch_begin(step)
                if dist is not None:
                    data, _ = dist.shard(data)
                with no_grad():
                    logs = self.test_step(self._tensors(data))
                if step == 0:
                    self._freeze_metrics(True)
                if want:
                    cbs.on_test_batch_end(step, _pythonify(self._global(logs)))
        finally:
            batches.close()
            self._freeze_metrics(False)
        logs = self._metrics_or_logs(logs)
        cbs.on_test_end(logs)
        return logs

    @in_pool
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        who = f"{self.name}.evaluate"
        if kwargs:
            raise ValueError(f"{who}: arguments not recognized: {sorted(kwargs)}")
        self._assert_compiled("evaluate")
        _check_batch_size(who, "batch_size", batch_size)
        it = da.EpochIterator(da.get_adapter(x, y, sample_weight, batch_size, steps, False, None, who), steps, who)
        _require_samples(it, who, "evaluate")
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                           steps=it.num_batches)
        logs = self._run_test(it, cbs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def _flatten_metrics_in_order(self, logs):
        names = []
        for m in self.metrics:
            names += [s.name for s in m.metrics] if isinstance(m, CompileMetrics) else [m.name]
        values = [logs[n] for n in names if n in logs] + [logs[k] for k in sorted(logs) if k not in names]
        return values[0] if len(values) == 1 else values

    # ---- predict -------------------------------------------------------------------------------
    @in_pool
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        who = f"{self.name}.predict"
        _check_batch_size(who, "batch_size", batch_size)
        adapter = da.get_adapter(x, None, None, batch_size, steps, False, None, who)
        if isinstance(adapter, da.ArrayAdapter) and adapter.num_samples == 0:
            return self._predict_empty(adapter)
        it = da.EpochIterator(adapter, steps, who)
        dist = _distribution()
        if dist is not None and not dist.is_chief:
            verbose = 0  # only rank 0 prints
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                           steps=it.num_batches)
        want = cbs.needs("on_predict_batch_end")
        self.stop_predicting = False
        cbs.on_predict_begin()
        outputs = []
        batches = it.epoch()
        # weights stay as they are for the whole loop, so Dense packs each kernel once; a user callback
        # could change one in place between batches, so with callbacks every batch packs its own
        packing = packed_weights() if not callbacks else contextlib.nullcontext()
        try:
            with packing:
                for step, data in batches:
                    cbs.on_predict_batch_begin(step)
                    n = _batch_rows(data) if dist is not None else None
                    if n is not None and n >= dist.size:  # each rank predicts its rows; all get the whole batch
                        data, _ = dist.shard(data)
                    with no_grad():
                        out = da.map_structure(_numpy, self.predict_step(self._tensors(data)))
                    if n is not None and n >= dist.size:
                        out = dist.gather_rows(out, n)
                    outputs.append(out)
                    if want:
                        cbs.on_predict_batch_end(step, {"outputs": out})
                    if self.stop_predicting:
                        break
        finally:
            batches.close()
        cbs.on_predict_end()
        if not outputs:
            raise ValueError(f"{who}: the data yielded no batches, so there is nothing to predict")
        return _concat(outputs)

    def _predict_empty(self, adapter):
        """The right shapes for 0 samples, found on one zero sample rather than an empty batch."""
        probe = da.map_structure(lambda a: np.zeros((1,) + a.shape[1:], a.dtype), adapter.inputs[0])
        with no_grad():
            out = self.predict_step(self._tensors((probe,)))
        return da.map_structure(lambda o: np.empty((0,) + tuple(o.shape[1:]), _numpy(o).dtype), out)

    def predict_on_batch(self, x):
        adapter = da.ArrayAdapter(x, batch_size=sys.maxsize, who=f"{self.name}.predict_on_batch")
        with no_grad():
            return da.map_structure(_numpy, self.predict_step(self._tensors(next(iter(adapter)))))

    # ---- one batch -----------------------------------------------------------------------------
    def _one_batch(self, who, x, y, sample_weight, class_weight=None):
        adapter = da.ArrayAdapter(x, y, sample_weight, batch_size=sys.maxsize, class_weight=class_weight, who=who)
        return self._tensors(next(iter(adapter)))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        self._assert_compiled("train_on_batch")
        data = self._one_batch(f"{self.name}.train_on_batch", x, y, sample_weight, class_weight)
        self._begin_steps()
        self.reset_metrics()
        logs = _pythonify(self.train_step(data))
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        data = self._one_batch(f"{self.name}.test_on_batch", x, y, sample_weight)
        self.reset_metrics()
        with no_grad():
            logs = _pythonify(self.test_step(data))
        return logs if return_dict else self._flatten_metrics_in_order(logs)


# ---- helpers ------------------------------------------------------------------------------------
def _distribution():
    from forgenet.distribution import distribution

    d = distribution()
    return d if d is not None and d.size > 1 else None


def _params(fn):
    cache = getattr(fn, "__dict__", {}).get("_fg_params")
    if cache is None:
        cache = set(inspect.signature(fn).parameters)
        try:
            fn._fg_params = cache
        except (AttributeError, TypeError):
            pass
    return cache


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _batch_rows(data):
    """Rows of a batch's first input array (None when it has none: nothing to shard)."""
    from forgenet.distribution.data_parallel import _first_array

    first = _first_array(data)
    return None if first is None else int(first.shape[0])


def _numpy(a):
    if isinstance(a, Tensor):
        return a.numpy()
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def _concat(outputs):
    first = outputs[0]
    if isinstance(first, dict):
        return {k: _concat([o[k] for o in outputs]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_concat([o[i] for o in outputs]) for i in range(len(first)))
    return np.concatenate(outputs, axis=0) if len(outputs) > 1 else outputs[0]


def _batch_size(x):
    return next(len(t) for t in da.flatten(x))


def _pythonify(logs) -> dict:
    """Keras's pythonify_logs: floats, keys sorted, nested dicts spread out."""
    out = {}
    for k, v in sorted((logs or {}).items()):
        if isinstance(v, dict):
            out.update(_pythonify(v))
            continue
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            out[k] = v
    return out


def _should_eval(epoch, freq):
    return (epoch + 1) % freq == 0 if isinstance(freq, numbers.Integral) else (epoch + 1) in freq


def _check_batch_size(who, arg, value):
    if value is not None and (not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0):
        raise ValueError(f"{who}: {arg} must be a positive integer, got {value!r}")


def _require_samples(it, who, what):
    a = it.adapter
    if isinstance(a, da.ArrayAdapter) and a.num_samples == 0:
        raise ValueError(f"{who}: x is empty (0 samples): there is nothing to {what}")


def _unpack_validation(validation_data, who):
    if isinstance(validation_data, (tuple, list)):
        if len(validation_data) not in (2, 3):
            raise ValueError(f"{who}: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                             f"val_sample_weight), got a {type(validation_data).__name__} of {len(validation_data)} "
                             "items")
        return da.unpack_x_y_sample_weight(tuple(validation_data))
    if da.is_array_data(validation_data):
        raise ValueError(f"{who}: validation_data must be a tuple (x_val, y_val), a generator or a PyDataset, got "
                         f"{type(validation_data).__name__}")
    return validation_data, None, None


def _looks_like_metrics(weights) -> bool:
    leaves = weights.values() if isinstance(weights, dict) else weights if isinstance(weights, (list, tuple)) \
        else [weights]
    return any(isinstance(w, (str, metrics_mod.Metric)) or (callable(w) and not isinstance(w, numbers.Number))
               or isinstance(w, (list, tuple)) for w in leaves)


def _resolved_single_loss(loss):
    """`model.loss`: a Loss object for one loss given by name or object (what saving records), else as given."""
    if loss is None or isinstance(loss, (list, tuple, dict)):
        return loss
    if isinstance(loss, str) and loss.lower() in ("crossentropy", "ce"):
        return loss
    return losses_mod.get(loss)
