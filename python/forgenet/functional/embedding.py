"""Embedding lookup as a differentiable function of the table (ids are constants)."""
from __future__ import annotations

from forgenet import kernels
from forgenet.autograd.tensor import Function


class _Embedding(Function):
    def forward(self, table, ids):
        self.save(ids, table.shape[0])
        return kernels.embedding(ids, table)

    def backward(self, g):
        ids, input_dim = self.saved
        return kernels.embedding_backward(g, ids, input_dim), None


def embedding(ids, table):
    """table[ids] -> (*ids.shape, output_dim); the table's gradient sums the rows of repeated ids."""
    return _Embedding.apply(table, ids)
