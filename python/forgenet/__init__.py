"""forgenet: a Keras-style deep-learning library on hand-written C++ (OpenMP) and CUDA kernels."""
from forgenet import _C

__version__ = "0.1.0"


def set_num_threads(n: int) -> None:
    """Number of OpenMP threads the CPU kernels use (default: all cores).

    n must be an int in [1, 4 * cores] (at least 64 allowed): more threads than that only add
    overhead, and far more exhaust the OpenMP runtime. In a process forked from one whose OpenMP
    threads had started (multiprocessing's 'fork' start method), the kernels run on one thread and this
    warns: OpenMP's thread pool does not survive fork (use 'spawn' or 'forkserver' for threaded workers).
    """
    _C.set_num_threads(n)


def get_num_threads() -> int:
    return _C.get_num_threads()


from forgenet import kernels  # noqa: E402
from forgenet import callbacks, datasets, functional, layers, losses, metrics, models, optimizers, utils  # noqa: E402
from forgenet.autograd import Tensor, Variable, no_grad  # noqa: E402
from forgenet.models import Model, Sequential  # noqa: E402  (as keras.Sequential / keras.Model)

__all__ = ["kernels", "ops", "functional", "layers", "models", "optimizers", "losses", "metrics", "callbacks",
           "datasets", "utils", "Sequential", "Model", "Tensor", "Variable", "no_grad",
           "set_num_threads", "get_num_threads", "__version__"]
