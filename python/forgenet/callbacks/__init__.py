"""Callbacks for fit / evaluate / predict (Keras 3 names and behaviour)."""
from forgenet.callbacks.callback import Callback, CallbackList, History
from forgenet.callbacks.early_stopping import EarlyStopping
from forgenet.callbacks.model_checkpoint import ModelCheckpoint
from forgenet.callbacks.progbar import Progbar, ProgbarLogger
from forgenet.callbacks.terminate_on_nan import TerminateOnNaN
from forgenet.callbacks.backup_and_restore import BackupAndRestore
from forgenet.callbacks.csv_logger import CSVLogger
from forgenet.callbacks.lambda_callback import LambdaCallback
from forgenet.callbacks.lr_callbacks import LearningRateScheduler, ReduceLROnPlateau

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint", "Progbar", "ProgbarLogger",
           "TerminateOnNaN", "BackupAndRestore", "CSVLogger", "LambdaCallback", "LearningRateScheduler",
           "ReduceLROnPlateau"]
