"""Reverse-mode automatic differentiation over forgenet's ops.

A `Tensor` wraps an array (numpy on the CPU, CuPy on the GPU). Calling a `Function` on tensors runs
its forward op and, when any input needs a gradient and grad mode is on, records a node so that
`loss.backward()` can replay the graph in reverse, calling each Function's hand-written backward
(which in turn calls the ops' backward kernels). Layers and models are built on this, which is what
lets a user subclass `Layer`, compose other layers with residual connections, and train it with
`fit` without writing a backward pass.
"""
from forgenet.autograd.grad import grad
from forgenet.autograd.tensor import Function, Tensor, Variable, grad_enabled, no_grad

__all__ = ["Function", "Tensor", "Variable", "grad", "grad_enabled", "no_grad"]
