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


# the later families and the fused optimizers: forgenet.kernels takes the arrays in _C's positions and the
# rest as keywords, so a case whose positional arguments are all arrays runs through it with the same message
POSITIONAL = {"gru": 5, "gru_backward": 8, "simple_rnn": 5, "simple_rnn_backward": 8, "batch_norm": 3,
              "batch_norm_inference": 5, "batch_norm_backward": 5, "depthwise_conv2d": 3, "depthwise_conv2d_backward": 3,
              "softmax_cross_entropy": 2, "layer_norm_backward": 5}


@pytest.mark.parametrize("case", [c for c in CASES if len(c[1]) <= POSITIONAL.get(c[0], -1)], ids=lambda c: c[0])
def test_later_families_through_kernels(case):
    check_case(K, lambda a: a, case)


def test_fused_optimizer_messages_through_kernels():
    z = np.zeros
    with pytest.raises(ValueError, match=r"^adagrad_update: accumulator must have the shape of var \(3,\), got \(4,\)$"):
        K.adagrad_update(z(3, np.float32), z(3, np.float32), z(4, np.float32), 0.1, 1e-7)
    with pytest.raises(TypeError, match=r"^ftrl_update: linear must be float32, got float64$"):
        K.ftrl_update(*(z(3, np.float32),) * 3, z(3), 0.1, -0.5, 0.0, 0.0, 0.0, 0.0)
    with pytest.raises(TypeError, match=r"^nadam_update: u_product must be a real number, got str"):
        K.nadam_update(*(z(3, np.float32),) * 4, 0.1, 0.9, 0.999, 1e-7, 1, "x")
    ro = z(3, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^lion_update: m must be writeable \(it is updated in place\)$"):
        K.lion_update(z(3, np.float32), z(3, np.float32), ro, 0.1, 0.9, 0.99)
