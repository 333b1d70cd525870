"""forgenet: a Keras-style deep-learning library on hand-written C++ (OpenMP) and CUDA kernels."""
from forgenet import _C

__version__ = "0.1.0"


def set_num_threads(n: int) -> None:
    """Number of OpenMP threads the CPU kernels use (default: all cores)."""
    _C.set_num_threads(int(n))


def get_num_threads() -> int:
    return _C.get_num_threads()


from forgenet import kernels  # noqa: E402
from forgenet import callbacks, datasets, functional, layers, losses, metrics, models, optimizers, utils  # noqa: E402
from forgenet import saving  # noqa: E402
from forgenet.autograd import Tensor, Variable, no_grad  # noqa: E402
from forgenet.models import Model, Sequential  # noqa: E402  (as keras.Sequential / keras.Model)

__all__ = ["kernels", "ops", "functional", "layers", "models", "optimizers", "losses", "metrics", "callbacks",
           "datasets", "utils", "saving", "Sequential", "Model", "Tensor", "Variable", "no_grad",
           "set_num_threads", "get_num_threads", "__version__"]
