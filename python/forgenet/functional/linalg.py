"""Batched matmul, tensordot and einsum, all on our GEMM kernel (never np.matmul/np.einsum).

einsum is planned as Keras programs use it: each operand's letters are sorted into batch (shared and
kept), contracted (shared, summed), and free letters; the operands are transposed and reshaped to
(batch, free, contracted) and multiplied by one batched GEMM; the result is reshaped and transposed to
the output's letter order. Letters only one operand has and the output lacks are summed first.
"""
from __future__ import annotations

import numpy as np

from forgenet import kernels
from forgenet.autograd.tensor import Function, Tensor, array_module
from forgenet.functional import math as M
from forgenet.functional.math import _unbroadcast


def _bgemm(a, b, trans_a=False, trans_b=False):
    """a (B, M, K) x b (B, K, N) (after the transposes) -> (B, M, N) float32, one GEMM per batch."""
    xp = array_module(a)
    m = a.shape[2] if trans_a else a.shape[1]
    n = b.shape[1] if trans_b else b.shape[2]
    out = xp.empty((a.shape[0], m, n), np.float32)
    for i in range(a.shape[0]):
        out[i] = kernels.gemm(a[i], b[i], trans_a=trans_a, trans_b=trans_b)
    return out


class _BatchMatMul(Function):
    """a (..., M, K) @ b (..., K, N), the batch axes broadcast (numpy's matmul rule)."""

    def forward(self, a, b):
        xp = array_module(a)
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: inner dimensions must match, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a3 = xp.broadcast_to(a, batch + a.shape[-2:]).reshape((-1,) + a.shape[-2:])
        b3 = xp.broadcast_to(b, batch + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
        self.save(a3, b3, a.shape, b.shape, batch)
        return _bgemm(a3, b3).reshape(batch + (a.shape[-2], b.shape[-1]))

    def backward(self, g):
        a3, b3, sa, sb, batch = self.saved
        g3 = g.reshape((-1,) + g.shape[-2:])
        da = _bgemm(g3, b3, trans_b=True).reshape(batch + sa[-2:])
        db = _bgemm(a3, g3, trans_a=True).reshape(batch + sb[-2:])
        return _unbroadcast(da, sa), _unbroadcast(db, sb)


def _f32(x):
    if isinstance(x, Tensor):
        return x if x.dtype == np.float32 else Tensor(x.data.astype(np.float32))
    return array_module(x).asarray(x, dtype=np.float32)


def matmul(a, b):
    """numpy's matmul: 1-D operands are promoted and the added axis removed again."""
    a, b = _f32(a), _f32(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: operands must have at least one axis (use multiply for scalars)")
    va, vb = a.ndim == 1, b.ndim == 1
    if va:
        a = M.reshape(a, (1, a.shape[0]))
    if vb:
        b = M.reshape(b, (b.shape[0], 1))
    if b.ndim == 2:
        out = M.matmul(a, b)  # one GEMM over all leading axes of a
    else:
        out = _BatchMatMul.apply(a, b)
    if va:
        out = M.reshape(out, out.shape[:-2] + out.shape[-1:])
    if vb:
        out = M.reshape(out, out.shape[:-1])
    return out


def tensordot(a, b, axes=2):
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    ax_a = [x % a.ndim for x in ax_a]
    ax_b = [x % b.ndim for x in ax_b]
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    k = int(np.prod([a.shape[i] for i in ax_a]))
    if k != int(np.prod([b.shape[i] for i in ax_b])):
        raise ValueError(f"tensordot: contracted axes have different sizes: {tuple(a.shape)} axes {ax_a} vs "
                         f"{tuple(b.shape)} axes {ax_b}")
    a2 = M.reshape(M.transpose(a, free_a + ax_a), (-1, k))
    b2 = M.reshape(M.transpose(b, ax_b + free_b), (k, -1))
    out = M.matmul(_f32(a2), _f32(b2))
    return M.reshape(out, tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


def dot(a, b):
    """numpy's dot: the last axis of a with the second-to-last of b (the only axis of a 1-D b)."""
    if a.ndim == 0 or b.ndim == 0:
        return M.mul(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [0 if b.ndim == 1 else b.ndim - 2]))


# ---- einsum -------------------------------------------------------------------------------------
def _parse(subscripts, operands):
    s = subscripts.replace(" ", "")
    if "->" in s:
        lhs, out = s.split("->")
    else:
        lhs = s
        letters = lhs.replace(",", "").replace("...", "")
        out = ("..." if "..." in lhs else "") + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    ins = lhs.split(",")
    if len(ins) != len(operands):
        raise ValueError(f"einsum: {subscripts!r} names {len(ins)} operands but {len(operands)} were given")
    used = set(s)
    spare = iter(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used)
    ell = None
    if "..." in s:
        n = max(op.ndim - (len(t) - 3) for t, op in zip(ins, operands) if "..." in t)
        ell = "".join(next(spare) for _ in range(n))
        ins = [t.replace("...", ell[len(ell) - (op.ndim - (len(t) - 3)):]) if "..." in t else t
               for t, op in zip(ins, operands)]
        out = out.replace("...", ell)
    for t, op in zip(ins, operands):
        if len(t) != op.ndim:
            raise ValueError(f"einsum: subscripts {t!r} have {len(t)} letters for an operand of rank {op.ndim}")
        if len(set(t)) != len(t):
            raise NotImplementedError(f"einsum: repeated letters in one operand ({t!r}: diagonals) are not supported")
    return ins, out


def _sum_out(x, letters, keep):
    axes = tuple(i for i, c in enumerate(letters) if c not in keep)
    if not axes:
        return x, letters
    return M.sum(x, axis=axes), "".join(c for c in letters if c in keep)


def _pair(a, la, b, lb, keep):
    """einsum of two operands into letters sorted as batch + free_a + free_b; `keep` = letters needed later."""
    a, la = _sum_out(a, la, set(lb) | keep)
    b, lb = _sum_out(b, lb, set(la) | keep)
    batch = [c for c in la if c in lb and c in keep]
    contract = [c for c in la if c in lb and c not in keep]
    fa = [c for c in la if c not in lb]
    fb = [c for c in lb if c not in la]
    size = dict(zip(la, a.shape)) | dict(zip(lb, b.shape))
    nb, nc = int(np.prod([size[c] for c in batch])), int(np.prod([size[c] for c in contract]))
    na, nbf = int(np.prod([size[c] for c in fa])), int(np.prod([size[c] for c in fb]))
    a3 = M.reshape(M.transpose(a, [la.index(c) for c in batch + fa + contract]), (nb, na, nc))
    b3 = M.reshape(M.transpose(b, [lb.index(c) for c in batch + contract + fb]), (nb, nc, nbf))
    out = _BatchMatMul.apply(_f32(a3), _f32(b3))
    letters = batch + fa + fb
    return M.reshape(out, tuple(size[c] for c in letters)), "".join(letters)


def einsum(subscripts, *operands):
    ins, out = _parse(subscripts, operands)
    x, lx = operands[0], ins[0]
    for i in range(1, len(operands)):
        later = set(out).union(*ins[i + 1:])
        x, lx = _pair(x, lx, operands[i], ins[i], later)
    x, lx = _sum_out(x, lx, set(out))
    if sorted(lx) != sorted(out):
        raise ValueError(f"einsum: output letters {out!r} are not all in the inputs of {subscripts!r}")
    return M.transpose(x, [lx.index(c) for c in out]) if lx != out else x
