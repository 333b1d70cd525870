"""Callbacks for fit / evaluate / predict (Keras 3 names and behaviour)."""
from forgenet.callbacks.callback import Callback, CallbackList, History
from forgenet.callbacks.early_stopping import EarlyStopping
from forgenet.callbacks.model_checkpoint import ModelCheckpoint
from forgenet.callbacks.progbar import Progbar, ProgbarLogger
from forgenet.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint", "Progbar", "ProgbarLogger",
           "TerminateOnNaN"]
