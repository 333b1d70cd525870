"""Keras 3's progress bar: `1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.8775 - loss: 0.4283`.

On a terminal the line is redrawn in place (at most every `interval` seconds); when stdout is not a
terminal (logs, CI) only the final line of each epoch is written, instead of thousands of lines.
"""
from __future__ import annotations

import math
import sys
import time

from forgenet.callbacks.callback import Callback


def _fmt_value(v) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return f" {v}"
    return f" {v:.4f}" if abs(v) > 1e-3 else f" {v:.4e}"


def _fmt_time_per_unit(t: float, unit: str) -> str:
    if t >= 1 or t == 0:
        return f" {t:.0f}s/{unit}"
    if t >= 1e-3:
        return f" {t * 1e3:.0f}ms/{unit}"
    return f" {t * 1e6:.0f}us/{unit}"


class Progbar:
    def __init__(self, target, width=20, verbose=1, interval=0.05, unit_name="step", stream=None):
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stream = stream
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first = None
        self._prev_width = 0

    def _out(self):
        return self.stream or sys.stdout

    def _dynamic(self) -> bool:
        out = self._out()
        return bool(getattr(out, "isatty", lambda: False)())

    def _step_time(self, current, now):
        if not current:
            return 0.0
        if self._time_after_first is not None and current > 1:
            t = (now - self._time_after_first) / (current - 1)
        else:
            t = (now - self._start) / current
        if current == 1 and self._time_after_first is None:
            self._time_after_first = now
        return t

    def update(self, current, values=(), finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.time()
        per_unit = self._step_time(current, now)
        if self.verbose == 1:
            dynamic = self._dynamic()
            if not finalize and (not dynamic or now - self._last_update < self.interval):
                return
            color = dynamic
            if self.target:
                digits = int(math.log10(self.target)) + 1
                count = f"{current:{digits}d}/{self.target}"
                done = int(self.width * current / self.target)
                if color:
                    bar = f"\x1b[1m{count}\x1b[0m " + (f"\x1b[32m{'━' * done}\x1b[0m" if done else "")
                    bar += f"\x1b[37m{'━' * (self.width - done)}\x1b[0m"
                else:
                    bar = f"{count} {'━' * self.width}"
                plain_bar = f"{count} {'━' * self.width}"
            else:
                bar = plain_bar = f"{current:7d}/Unknown"
            if self.target and not finalize:
                eta = per_unit * (self.target - current)
                t = (f"{eta // 3600:.0f}:{(eta % 3600) // 60:02.0f}:{eta % 60:02.0f}" if eta > 3600
                     else f"{eta // 60:.0f}:{eta % 60:02.0f}" if eta > 60 else f"{eta:.0f}s")
            else:
                t = f"{now - self._start:.0f}s"
            info = f" {t}" + _fmt_time_per_unit(per_unit, self.unit_name)
            for k, v in values:
                info += f" - {k}:" + _fmt_value(v)
            width = len(plain_bar) + len(info)
            msg = ("\r" + bar + info + " " * max(self._prev_width - width, 0)) if dynamic else bar + info
            if finalize:
                msg += "\n"
            self._out().write(msg)
            self._out().flush()
            self._prev_width = width
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            info = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -"
            info += _fmt_time_per_unit(per_unit, self.unit_name)
            for k, v in values:
                info += f" - {k}:" + _fmt_value(v)
            self._out().write(info + "\n")
            self._out().flush()
        self._last_update = now


class ProgbarLogger(Callback):
    """Prints "Epoch i/n" and a progress bar with the running loss and metrics (verbose=1), or one
    line per epoch (verbose=2)."""

    def __init__(self):
        super().__init__()
        self.verbose, self.epochs, self.target = 1, 1, None
        self.progbar, self.seen = None, 0
        self._in_fit = False

    def set_params(self, params):
        super().set_params(params)
        v = params.get("verbose", 1)
        self.verbose = 1 if v == "auto" else v
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _new_bar(self):
        self.seen = 0
        self.progbar = Progbar(self.target, verbose=self.verbose)

    def _update(self, batch, logs):
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs):
        if self.target is None:
            self.target = self.progbar.target = self.seen
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._new_bar()
        if self.verbose and self.epochs > 1:
            sys.stdout.write(f"Epoch {epoch + 1}/{self.epochs}\n")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs=None):
        self._new_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_predict_end(self, logs=None):
        self._finalize(None)
