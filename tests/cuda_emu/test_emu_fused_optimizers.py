"""The CUDA twin of the fused Adagrad/Adadelta/Adamax/Nadam/Lion/Ftrl update (csrc/cuda/optimizer.cu, the
steps of csrc/common/optimizer_math.h) under the emulator: the binding against forgenet._C, its argument
checks, and the optimizers on fake-CuPy weights stepping as on the CPU."""
import numpy as np
import pytest

import fake_cupy
from emu_support import D
from forgenet import _C, optimizers
from forgenet.autograd import Variable
from forgenet.kernels import optimizer as K

KINDS = [("adagrad", K.adagrad_consts(0.1, 1e-7), 1), ("adadelta", K.adadelta_consts(1.0, 0.9, 1e-6), 2),
         ("adamax", K.adamax_consts(0.01, 0.9, 0.999, 1e-7, 3), 2),
         ("nadam", K.nadam_consts(0.01, 0.9, 0.999, 1e-7, 3, 0.5), 2), ("lion", K.lion_consts(0.01, 0.9, 0.99), 1),
         ("ftrl", K.ftrl_consts(0.1, -0.5, 0.01, 0.02, 0.03, 0.1), 2)]


@pytest.mark.parametrize("n", [0, 1, 7, 1000])
@pytest.mark.parametrize("kind,consts,nslots", KINDS, ids=[k[0] for k in KINDS])
def test_binding_matches_cpu(ops, rng, kind, consts, nslots, n):
    w, g = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    s0, s1 = rng.uniform(0.1, 1, n).astype(np.float32), rng.uniform(0.1, 1, n).astype(np.float32)
    cpu = [w.copy(), g.copy(), s0.copy(), s1.copy() if nslots == 2 else None]
    dev = [D(w.copy()), D(g.copy()), D(s0.copy()), D(s1.copy()) if nslots == 2 else None]
    c = [float(x) for x in consts]
    _C.fused_update(K._KIND[kind], *cpu, c)
    ops.fused_update(K._KIND[kind], *dev, c)
    for name, d, h in zip(("var", "grad", "s0", "s1"), dev, cpu):
        if h is not None:  # the same float32 operations in the same order (powf: the same libm here)
            np.testing.assert_array_equal(d.a, h, err_msg=f"{kind} {name}")


def test_binding_checks(emu, rng):
    w = np.zeros(4, np.float32)
    c = [float(x) for x in KINDS[0][1]]
    with pytest.raises(ValueError, match=r"^fused_update: kind must be in \[0, 6\), got 9$"):
        emu.module.fused_update(9, D(w), D(w.copy()), D(w.copy()), None, c, stream=0, alloc=None)
    with pytest.raises(ValueError, match=r"^adagrad_update: fused_update kind 0 takes 2 constants, got 1$"):
        emu.module.fused_update(0, D(w), D(w.copy()), D(w.copy()), None, c[:1], stream=0, alloc=None)
    with pytest.raises(ValueError, match=r"^adamax_update: takes 2 slot arrays, got 1$"):
        emu.module.fused_update(2, D(w), D(w.copy()), D(w.copy()), None, [0.0] * 5, stream=0, alloc=None)
    with pytest.raises(ValueError, match=r"^adagrad_update: accumulator must have the shape of var \(4,\), got \(3,\)$"):
        emu.module.fused_update(0, D(w), D(w.copy()), D(np.zeros(3, np.float32)), None, c, stream=0, alloc=None)
    with pytest.raises(ValueError, match=r"^adagrad_update: var and accumulator must not share memory$"):
        d = D(w)
        emu.module.fused_update(0, d, D(w.copy()), d, None, c, stream=0, alloc=None)


@pytest.fixture
def cp(emu, monkeypatch):
    from forgenet import _cuda_backend

    cupy = fake_cupy.install(monkeypatch)
    monkeypatch.setattr(_cuda_backend, "_ops", _cuda_backend._Ops(emu.module, cupy))
    return cupy


@pytest.mark.parametrize("make", [lambda: optimizers.Adagrad(0.1), lambda: optimizers.Adadelta(1.0),
                                  lambda: optimizers.Adamax(0.01), lambda: optimizers.Nadam(0.01),
                                  lambda: optimizers.Lion(0.01, weight_decay=0.1),
                                  lambda: optimizers.Ftrl(0.1, l1_regularization_strength=0.01, beta=0.1)],
                         ids=["adagrad", "adadelta", "adamax", "nadam", "lion", "ftrl"])
def test_optimizers_on_the_device_step_as_on_the_cpu(cp, rng, make):
    w0 = rng.standard_normal((9, 4)).astype(np.float32)
    grads = [rng.standard_normal((9, 4)).astype(np.float32) for _ in range(4)]
    cpu_var, dev_var = Variable(w0.copy(), name="w"), Variable(cp.asarray(w0), name="w")
    cpu_opt, dev_opt = make(), make()
    for g in grads:
        cpu_opt.apply([g], [cpu_var])
        dev_opt.apply([cp.asarray(g)], [dev_var])
    assert isinstance(dev_var.data, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(dev_var.data), cpu_var.data, rtol=1e-6, atol=1e-7)
    for d, c in zip(dev_opt.variables, cpu_opt.variables):
        np.testing.assert_allclose(cp.asnumpy(d), c, rtol=1e-6, atol=1e-7)
