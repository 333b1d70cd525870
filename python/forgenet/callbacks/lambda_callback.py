"""LambdaCallback (Keras 3): a callback made of plain functions, e.g. on_epoch_end=lambda epoch, logs: ..."""
from __future__ import annotations

from forgenet.callbacks.callback import Callback

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin",
          "on_test_batch_end", "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
          "on_predict_batch_end")


class LambdaCallback(Callback):
    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        bad = sorted(set(given) - set(_HOOKS))
        if bad:
            raise TypeError(f"LambdaCallback: unknown hooks {bad}; expected some of {list(_HOOKS)}")
        fns = {k: f for k, f in given.items() if f is not None}
        # The given hooks become methods of a class of this instance's own: CallbackList dispatches per-batch
        # hooks only to callbacks whose class overrides them, so absent hooks keep costing nothing.
        methods = {k: (lambda name: lambda self, *a: self._fns[name](*a))(k) for k in fns}
        self._fns = fns
        self.__class__ = type("LambdaCallback", (LambdaCallback,), methods)
