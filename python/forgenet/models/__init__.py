"""Models: `Sequential`, the `Model` base class, and one-file saving/loading (safetensors)."""
from forgenet.models.model import Model
from forgenet.models.saving import load_model, register_serializable, save_model
from forgenet.models.sequential import Sequential

__all__ = ["Model", "Sequential", "load_model", "save_model", "register_serializable"]
