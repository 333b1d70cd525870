"""The contract message table (contract_cases.py) against forgenet._C, and through forgenet.kernels
(whose messages are the contracts' own: the kernels layer only converts and dispatches)."""
import numpy as np
import pytest

import forgenet.kernels as K
from forgenet import _C
from contract_cases import CASES, check_case, shared_memory_case

IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_contract_message_cpu(case):
    check_case(_C, lambda a: a, case)


def test_shared_memory_cpu():
    check_case(_C, lambda a: a, shared_memory_case())


# the kernels API takes keyword arguments where _C takes positions; these families call through as is
# (embedding ids and class labels of any integer dtype are converted there, so those cases differ)
THROUGH_KERNELS = {"max_pool2d", "avg_pool2d", "max_pool2d_backward", "softmax", "softmax_backward", "lstm",
                   "embedding_backward", "attention"}


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in THROUGH_KERNELS and len(c[1]) < 5 or c[0] == "lstm"],
                         ids=lambda c: c[0])
def test_contract_message_through_kernels(case):
    op, args = case[0], case[1]
    if op == "attention" and len(args) > 3:
        args = args[:3]
        if case[3] is TypeError:
            pytest.skip("scale is keyword-only in forgenet.kernels")
    check_case(K, lambda a: a, (op, args) + tuple(case[2:]))
