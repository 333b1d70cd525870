"""The eager fast path: the ops' CPU kernels called directly, without torch's custom-op dispatcher.

A call through torch.ops.forgenet.<name> costs tens of microseconds before the kernel starts (the
dispatcher's boxing into Python, the generated autograd.Function, schema checks): more than the 5%
the adapter may add to a millisecond kernel. Plain eager calls on CPU tensors need none of it, so
`ops.<name>` here runs the same CPU implementation (_cpu.py) directly, inside a thin
torch.autograd.Function with the custom op's own setup_context and autograd formula (_ops.AUTOGRAD)
when a gradient is needed. Everything else goes through the custom op, unchanged: torch.compile
and export tracing, FakeTensor / meta / CUDA tensors and tensor subclasses, functorch transforms
(vmap, grad), TorchDispatchMode / TorchFunctionMode users (profilers, FLOP counters), jit tracing.
"""
from __future__ import annotations

from types import SimpleNamespace

import torch
from torch.autograd.function import once_differentiable
import torch.utils._python_dispatch as _python_dispatch

from forgenet.torch import _cpu, _ops as _custom

_Tensor, _Parameter = torch.Tensor, torch.nn.Parameter
_is_compiling = torch.compiler.is_compiling
_functorch_active = torch._C._are_functorch_transforms_active
_tracing_state = torch._C._get_tracing_state
_function_mode = torch._C._is_torch_function_mode_enabled
_grad_enabled = torch._C.is_grad_enabled
# is_in_torch_dispatch_mode() returns this module global: read straight, one Python call less per op
_dispatch_flag = "_is_in_torch_dispatch_mode"
if not hasattr(_python_dispatch, _dispatch_flag):  # pragma: no cover - another torch's layout
    raise ImportError(f"forgenet.torch: torch {torch.__version__} has no torch.utils._python_dispatch.{_dispatch_flag}")


def _modes_active() -> bool:
    """A compiler, tracer, functorch transform or torch function/dispatch mode that must see the op."""
    # is_compiling first: under dynamo it is a constant True and the rest is never traced
    return (_is_compiling() or _functorch_active() or _python_dispatch._is_in_torch_dispatch_mode
            or _function_mode() or _tracing_state() is not None)


def direct(args) -> bool:
    """True where running the CPU kernel directly is all the custom op would do with `args`."""
    return not _modes_active() and all(_plain_cpu(a) for a in args if isinstance(a, _Tensor))


def _plain_cpu(t) -> bool:
    # exact types: a subclass (FakeTensor, a wrapper subclass) takes the custom op, as do meta and CUDA tensors,
    # and negative-bit views, which the dispatcher resolves (DLPack, the kernels' route, cannot carry the bit)
    return (type(t) is _Tensor or type(t) is _Parameter) and t.is_cpu and not t.is_neg()


def _function(name: str, impl, setup, grads):
    def forward(ctx, *args):
        out = impl(*args)
        setup(ctx, args, out)
        return out

    def backward(ctx, *output_grads):
        return grads(ops, ctx, *output_grads)

    if name not in _custom.DIFFERENTIABLE_BACKWARD:
        # their backward kernels have no derivative: under create_graph a second backward must fail, not
        # see constants; without it (grad mode off) once_differentiable's wrapping is all overhead
        once = once_differentiable(backward)

        def backward(ctx, *output_grads):
            if _grad_enabled():
                return once(ctx, *output_grads)
            # the saved tensors are the forward's plain CPU ones: with no mode to see the backward op and
            # plain gradients coming in, the formula calls the CPU kernels with no route in between
            if _modes_active():
                return grads(ops, ctx, *output_grads)
            for g in output_grads:
                if g is not None and (type(g) is not _Tensor or g.is_neg()):
                    return grads(ops, ctx, *output_grads)
            return grads(_direct, ctx, *output_grads)
    return type(f"forgenet_{name}_eager", (torch.autograd.Function,),
                {"forward": staticmethod(forward), "backward": staticmethod(backward)})


# the backward ops' CPU implementations by name, for the eager backward above
_direct = SimpleNamespace(**{name: getattr(_cpu, name) for name in _custom.BACKWARD_OPS})


def _tensor_slots(op) -> tuple:
    """The positions of op's Tensor / Optional[Tensor] arguments, from its schema: only those are
    looked at on each call (each look costs a few hundred instructions)."""
    return tuple(i for i, a in enumerate(op.default._schema.arguments) if "Tensor" in str(a.type))


def _route(name: str):
    # direct() written out inline over the tensor slots only, with the requires-grad test in the same
    # pass: this runs on every call of every op, so its cost is the adapter's floor
    impl, op = getattr(_cpu, name), getattr(torch.ops.forgenet, name)
    slots = _tensor_slots(op)
    if name not in _custom.AUTOGRAD:  # a backward op: no autograd of its own
        def route(*args):
            if _modes_active():
                return op(*args)
            for i in slots:
                a = args[i]
                t = type(a)
                if t is _Tensor or t is _Parameter:
                    if not a.is_cpu or a.is_neg():
                        return op(*args)
                elif a is not None:
                    return op(*args)  # a subclass (or not a tensor at all: the op's schema says so)
            return impl(*args)
    else:
        # the C apply under Function.apply: its Python wrapper only adds functorch handling, and
        # _modes_active() has ruled functorch out (it costs ~10 us a call)
        apply = super(torch.autograd.Function, _function(name, impl, *_custom.AUTOGRAD[name])).apply

        def route(*args):
            if _modes_active():
                return op(*args)
            grad = _grad_enabled()
            needs = False
            for i in slots:
                a = args[i]
                t = type(a)
                if t is _Tensor or t is _Parameter:
                    if not a.is_cpu or a.is_neg():
                        return op(*args)
                    if grad and not needs and a.requires_grad:
                        needs = True
                elif a is not None:
                    return op(*args)
            return apply(*args) if needs else impl(*args)
    route.__name__ = route.__qualname__ = name
    route.__doc__ = f"torch.ops.forgenet.{name}, called directly in plain eager CPU calls."
    return route


# every op by name, with torch.ops.forgenet's signatures: forgenet.torch.functional calls these
ops = SimpleNamespace(**{name: _route(name) for name in _custom.FORWARD_OPS + _custom.BACKWARD_OPS})
