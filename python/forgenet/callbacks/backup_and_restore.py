"""BackupAndRestore (Keras 3): resume an interrupted fit() from the last backup in `backup_dir`.

At each epoch end (or every `save_freq` batches) the weights go to backup_dir/latest.weights.h5 and
the epoch to training_metadata.json; a later fit() with the same callback loads them in
on_train_begin and sets `model._initial_epoch`, which fit reads after on_train_begin (as Keras's
Trainer does). A successful fit deletes the backup (delete_checkpoint=True).
"""
from __future__ import annotations

import json
import os
import shutil

from forgenet.callbacks.callback import Callback


class BackupAndRestore(Callback):
    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: empty `backup_dir` argument passed")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0) and save_freq is not False:
            raise ValueError(f"BackupAndRestore: invalid value for argument `save_freq`: {save_freq!r}; expected "
                             "'epoch', a positive int or False")
        self.backup_dir, self.save_freq = os.fspath(backup_dir), save_freq
        self.double_checkpoint, self.delete_checkpoint = double_checkpoint, delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = self._weights_path + ".bkp"
        self._prev_training_metadata_path = self._training_metadata_path + ".bkp"
        self._batches_seen_since_last_saving = self._last_batch_seen = self._current_epoch = 0

    def on_train_begin(self, logs=None):
        if not getattr(self.model, "built", True):
            raise ValueError("To use the BackupAndRestore callback, you model must be built before you call `fit()`.")
        for w, meta in ((self._weights_path, self._training_metadata_path),
                        (self._prev_weights_path, self._prev_training_metadata_path)):
            if os.path.exists(w) and os.path.exists(meta):
                try:
                    self.model.load_weights(w)
                    with open(meta) as f:
                        self.model._initial_epoch = json.load(f)["epoch"]
                    return
                except Exception:  # a torn backup: fall back to the previous one when double_checkpoint
                    if not self.double_checkpoint:
                        raise

    def on_train_batch_end(self, batch, logs=None):
        if isinstance(self.save_freq, int) and self.save_freq is not True:
            self._last_batch_seen = batch + 1
            self._batches_seen_since_last_saving += 1
            if self._batches_seen_since_last_saving >= self.save_freq:
                self._save()
                self._batches_seen_since_last_saving = 0

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def _save(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            shutil.copy(self._weights_path, self._prev_weights_path)
            if os.path.exists(self._training_metadata_path):
                shutil.copy(self._training_metadata_path, self._prev_training_metadata_path)
        self.model.save_weights(self._weights_path, overwrite=True)
        with open(self._training_metadata_path, "w") as f:
            json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, f)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)
