"""What the examples share: a callback that records each epoch's wall time."""
import time

from forgenet.callbacks import Callback


class EpochTimer(Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._t0)
