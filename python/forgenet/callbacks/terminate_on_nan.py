"""Stop training as soon as the loss becomes NaN or infinite (Keras's TerminateOnNaN)."""
from __future__ import annotations

import math

from forgenet.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
