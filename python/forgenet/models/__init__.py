"""Models: `Sequential`, the `Model` base class, saving/loading (forgenet.saving), cloning."""
from forgenet.models.model import Model
from forgenet.models.saving import load_model, register_serializable, save_model
from forgenet.models.sequential import Sequential
from forgenet.saving.cloning import clone_model, model_from_json

__all__ = ["Model", "Sequential", "load_model", "save_model", "register_serializable", "clone_model",
           "model_from_json"]
