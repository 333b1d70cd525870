"""Where a torch tensor's op runs: forgenet's CPU kernels (zero-copy DLPack capsules: _cpu.py) or forgenet._cuda.

CPU tensors go to forgenet._C (falling back to forgenet.kernels for anything _C refuses, so validation
and error messages are the kernel API's own).
CUDA tensors go straight to forgenet._cuda, which reads them through __cuda_array_interface__ (no
copy), queues its kernels on torch's current stream of the tensor's device, and allocates every
output and scratch buffer with torch.empty on that device, so torch's caching allocator owns them
(stream-ordered like CuPy's pool: freeing scratch right after queuing is safe).
"""
from __future__ import annotations

import torch

_cuda_ops: dict = {}  # torch.device -> _TorchCudaOps


def device_of(op: str, *tensors) -> torch.device:
    """The one device all tensor arguments are on; a mix is an error, never a silent transfer."""
    devices = {t.device for t in tensors if isinstance(t, torch.Tensor)}
    if len(devices) > 1:
        raise TypeError(f"forgenet.torch.{op}: all tensors must be on one device, got {sorted(map(str, devices))}")
    dev = devices.pop() if devices else torch.device("cpu")
    if dev.type not in ("cpu", "cuda", "meta"):
        raise TypeError(f"forgenet.torch.{op}: tensors on {dev.type} are not supported (cpu or cuda only)")
    return dev


def cuda(op: str, device: torch.device):
    """forgenet._cuda's function `op` bound to torch's current stream and allocator on `device`."""
    ops = _cuda_ops.get(device)
    if ops is None:
        ops = _cuda_ops[device] = _TorchCudaOps(load_cuda_module(op), device)
    return getattr(ops, op)


def load_cuda_module(op: str):
    """forgenet._cuda, or a RuntimeError that says why a CUDA tensor cannot run here."""
    from forgenet import _cuda_backend

    try:
        from forgenet import _cuda
    except ImportError as e:
        why = ("this forgenet was built without CUDA (no nvcc at build time; forgenet._cuda is absent)"
               if not _cuda_backend.built_with_cuda() else f"forgenet._cuda failed to load: {e}")
        raise RuntimeError(f"forgenet.torch.{op}: got a CUDA tensor but {why}; move the tensors to the CPU "
                           "(.cpu()) or install a CUDA build of forgenet") from e
    if _cuda.device_count() == 0:
        raise RuntimeError(f"forgenet.torch.{op}: got a CUDA tensor but forgenet._cuda finds no GPU "
                           f"({_cuda.device_status()})")
    return _cuda


def current_stream(device: torch.device) -> int:
    return torch.cuda.current_stream(device).cuda_stream


class _TorchCudaOps:
    """forgenet._cuda's functions taking and returning torch CUDA tensors of one device."""

    def __init__(self, module, device: torch.device, stream=current_stream, guard=None):
        self._module = module
        self._device = device
        self._stream = stream  # device -> stream handle; the tests stand in a fake for both
        self._guard = guard or torch.cuda.device

    def __getattr__(self, name):
        fn = getattr(self._module, name, None) if not name.startswith("_") else None
        if fn is None:
            raise NotImplementedError(f"forgenet.torch.{name}: forgenet._cuda has no '{name}' kernel; run it on the CPU")
        device, stream, guard = self._device, self._stream, self._guard

        def alloc(shape):
            return torch.empty(tuple(int(s) for s in shape), dtype=torch.float32, device=device)

        def op(*args, **kwargs):
            args = [_device_arg(name, a) for a in args]
            with guard(device):  # the kernels launch on the current device
                return fn(*args, stream=stream(device), alloc=alloc, **kwargs)

        op.__name__ = name
        setattr(self, name, op)
        return op


def _device_arg(op: str, a):
    if not isinstance(a, torch.Tensor):
        return a
    if a.dtype not in (torch.float32, torch.int64, torch.int32):
        raise TypeError(f"forgenet.torch.{op}: CUDA tensors must be float32 (ids int32/int64), got {a.dtype}")
    # __cuda_array_interface__ refuses tensors that require grad; contiguous because the kernels
    # read dense row-major memory
    return a.detach().contiguous()

