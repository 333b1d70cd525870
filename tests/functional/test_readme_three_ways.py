"""The README's seed CNN written three ways (Sequential, functional, subclassed) runs and gives one model."""
import pathlib

import numpy as np

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_three_ways_build_the_same_model():
    block = README.read_text().split("The seed CNN three ways")[1].split("```python")[1].split("```")[0]
    scope = {}
    exec(block, scope)
    seq, fun, sub = scope["seq"], scope["fun"], scope["model"]
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    sub(x)  # a subclassed model builds on its first call
    assert seq.count_params() == fun.count_params() == sub.count_params() == 121930
    fun.set_weights(seq.get_weights())
    sub.set_weights(seq.get_weights())
    np.testing.assert_allclose(fun.predict(x, verbose=0), seq.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sub.predict(x, verbose=0), seq.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    history = sub.fit(x, np.arange(8) % 10, epochs=1, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss"]
