"""keras.backend basics (see forgenet.config): backend() is "forgenet"; floatx, epsilon, image data format,
clear_session; is_tensor / shape / cast / convert_to_numpy from forgenet.ops."""
from forgenet.config import (backend, clear_session, epsilon, floatx, image_data_format, set_epsilon, set_floatx,
                             set_image_data_format, standardize_data_format)
from forgenet.ops import cast, convert_to_numpy, convert_to_tensor, is_tensor, shape

__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format", "set_epsilon", "set_floatx",
           "set_image_data_format", "standardize_data_format", "cast", "convert_to_numpy", "convert_to_tensor",
           "is_tensor", "shape"]
