"""keras.config basics: floatx, epsilon, image data format, and which backend this is.

`backend()` returns "forgenet": a program that branches on `keras.backend.backend() == "tensorflow"`
(or "torch", "jax") takes its generic path. forgenet computes in float32 only and lays images out
channels last, so set_floatx / set_image_data_format refuse anything else rather than ignore it.
"""
from __future__ import annotations

_EPSILON = 1e-7


def backend() -> str:
    return "forgenet"


def floatx() -> str:
    return "float32"


def set_floatx(value) -> None:
    if value not in ("float32",):
        raise ValueError(f"set_floatx: forgenet computes in float32 only, got {value!r}")


def epsilon() -> float:
    return _EPSILON


def set_epsilon(value) -> None:
    """The fuzz factor of losses, metrics, constraints and ops.normalize (Keras's default 1e-7)."""
    global _EPSILON
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1:
        raise ValueError(f"set_epsilon: expected a float in (0, 1), got {value!r}")
    _EPSILON = float(value)
    # the modules that read a module-level epsilon at call time
    from forgenet import constraints
    from forgenet.losses import losses, more_losses
    from forgenet.metrics import more_metrics

    losses.EPSILON = more_losses.EPSILON = constraints.EPSILON = more_metrics.EPS = _EPSILON


def image_data_format() -> str:
    return "channels_last"


def set_image_data_format(data_format) -> None:
    if data_format != "channels_last":
        raise ValueError(f"set_image_data_format: forgenet supports 'channels_last' only, got {data_format!r}")


def standardize_data_format(data_format) -> str:
    if data_format is None:
        return image_data_format()
    data_format = str(data_format).lower()
    if data_format != "channels_last":
        raise ValueError(f"forgenet supports data_format='channels_last' only, got {data_format!r}")
    return data_format


def clear_session(free_memory=True) -> None:
    """Reset the layer-name counters (dense, dense_1, ... start again) and collect garbage, as Keras."""
    import gc

    from forgenet.layers import base

    base._names.clear()
    if free_memory:
        gc.collect()


def set_random_seed(seed) -> None:
    from forgenet.utils import set_random_seed as seed_all

    seed_all(seed)


__all__ = ["backend", "floatx", "set_floatx", "epsilon", "set_epsilon", "image_data_format", "set_image_data_format",
           "standardize_data_format", "clear_session"]
