"""`grad(loss, variables)`: gradients as a list, without touching anyone's `.grad` (as torch.autograd.grad).

What a custom `train_step` uses when it must keep two sets of gradients apart (a GAN's generator
and discriminator): `loss.backward()` accumulates into `.grad` of every leaf the loss depends on,
while `grad` hands back only the ones asked for and leaves every `.grad` as it was.
"""
from __future__ import annotations

from forgenet.autograd.tensor import Tensor


def _leaves(root: Tensor) -> list:
    out, seen, stack = [], set(), [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t._node is None:
            if t.requires_grad:
                out.append(t)
            continue
        stack.extend(i for i in t._node.inputs if isinstance(i, Tensor))
    return out


def grad(loss, variables):
    """d(loss)/d(v) for each v in `variables` (a Tensor or a list of them): arrays shaped like v, or
    None where the loss does not depend on v. The graph is consumed, as by loss.backward()."""
    single = isinstance(variables, Tensor)
    variables = [variables] if single else list(variables)
    if not isinstance(loss, Tensor):
        raise TypeError(f"grad: loss must be a Tensor, got {type(loss).__name__}")
    if loss.size != 1:
        raise ValueError(f"grad: loss must be a scalar, got shape {loss.shape}")
    for v in variables:
        if not isinstance(v, Tensor):
            raise TypeError(f"grad: variables must be Tensors or Variables, got {type(v).__name__}")
    leaves = _leaves(loss)
    for v in variables:  # asked-for tensors that are not in the graph get None, not a stale .grad
        if all(v is not t for t in leaves):
            leaves.append(v)
    saved = [t.grad for t in leaves]
    for t in leaves:
        t.grad = None
    try:
        loss.backward()
        grads = [v.grad for v in variables]
    finally:
        for t, g in zip(leaves, saved):
            t.grad = g
    return grads[0] if single else grads
