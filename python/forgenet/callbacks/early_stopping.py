"""Stop training when a monitored quantity has stopped improving (Keras 3's EarlyStopping)."""
from __future__ import annotations

import operator
import warnings

from forgenet.callbacks.callback import Callback


def monitor_op(callback, monitor: str, mode: str, model):
    """operator.lt (lower is better) or operator.gt, as Keras resolves mode="auto" from the metric."""
    if mode == "min":
        return operator.lt
    if mode == "max":
        return operator.gt
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss":
        return operator.lt
    found = getattr(model, "metrics", []) if model is not None else []
    found = [s for m in found for s in (getattr(m, "metrics", None) or [m])]  # compiled metrics spread out
    for m in found:
        if m.name == name and getattr(m, "_direction", None):
            return operator.gt if m._direction == "up" else operator.lt
    raise ValueError(f"{type(callback).__name__} received monitor={monitor!r} but cannot tell whether that metric "
                     "should be maximized or minimized. Pass mode='max' or mode='min'.")


class EarlyStopping(Callback):
    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.verbose, self.mode = monitor, int(patience), verbose, mode
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.min_delta = abs(min_delta)
        self.start_from_epoch = start_from_epoch
        self.monitor_op = None
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = self.best_weights = None

    def _improved(self, value, reference) -> bool:
        if reference is None:
            return True
        delta = -self.min_delta if self.monitor_op is operator.lt else self.min_delta
        return self.monitor_op(value - delta, reference)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self.monitor_op = monitor_op(self, self.monitor, self.mode, self.model)
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs or {})}", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
