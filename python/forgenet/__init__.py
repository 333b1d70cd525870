"""forgenet: a Keras-style deep-learning library on hand-written C++ (SIMD, own thread pool) and CUDA kernels."""
from forgenet import _C

__version__ = "0.1.0"


def set_num_threads(n: int) -> None:
    """Number of threads the CPU kernels use, for the whole process (as torch.set_num_threads).

    The default is OMP_NUM_THREADS when it is set to a positive count, else the CPUs this process may
    run on. n must be an int in [1, 4 * cores] (at least 64 allowed): more threads than that only add
    overhead. A forked child (multiprocessing's 'fork' start method) keeps the parent's count on a
    pool of its own.
    """
    _C.set_num_threads(n)


def get_num_threads() -> int:
    return _C.get_num_threads()


from forgenet import kernels  # noqa: E402
from forgenet import (activations, backend, callbacks, config, constraints, datasets, distribution,  # noqa: E402
                      functional, initializers, layers, losses, metrics, models, ops, optimizers, random,
                      regularizers, saving, utils)
from forgenet.autograd import Tensor, Variable, no_grad  # noqa: E402
from forgenet.models import Model, Sequential  # noqa: E402  (as keras.Sequential / keras.Model)
from forgenet.layers import Input  # noqa: E402  (as keras.Input)
from forgenet.layers.node import KerasTensor  # noqa: E402

__all__ = ["activations", "backend", "config", "constraints", "initializers", "random", "regularizers",
           "kernels", "ops", "functional", "layers", "models", "optimizers", "losses", "metrics", "callbacks",
           "datasets", "distribution", "saving", "utils", "Sequential", "Model", "Input", "KerasTensor", "Tensor",
           "Variable", "no_grad",
           "set_num_threads", "get_num_threads", "__version__"]
