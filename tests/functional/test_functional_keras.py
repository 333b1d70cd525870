"""Functional models built the same way in Keras 3 (torch backend) and forgenet: with Keras's weights
copied over by set_weights they have the same layers (in Keras's order), shapes, parameter counts,
summaries, graph configs and predictions. Residual, multi-input/multi-output (dicts), shared layers,
nested models and models used as layers, merge layers (Dot with normalize too)."""
import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the import

import re

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

import forgenet  # noqa: E402

from support import assert_close  # noqa: E402


def both(build):
    """build(lib) once with keras and once with forgenet; Keras's weights copied into ours."""
    keras.utils.set_random_seed(0)
    km = build(keras)
    fm = build(forgenet)
    assert [type(l).__name__ for l in fm.layers] == [type(l).__name__ for l in km.layers]
    assert [w.shape for w in fm.weights] == [tuple(w.shape) for w in km.weights]
    assert fm.count_params() == km.count_params()
    fm.set_weights(km.get_weights())
    return km, fm


def knp(x):
    return keras.ops.convert_to_numpy(x)


def compare(kout, fout, what=""):
    if isinstance(kout, dict):
        assert sorted(kout) == sorted(fout)
        for k in kout:
            compare(kout[k], fout[k], f"{what}[{k}]")
    elif isinstance(kout, (list, tuple)):
        assert len(kout) == len(fout)
        for i, (a, b) in enumerate(zip(kout, fout)):
            compare(a, b, f"{what}[{i}]")
    else:
        assert_close(fout, knp(kout), rtol=1e-4, atol=1e-5, what=what)


def residual(L):
    # explicit names: Keras's automatic ones carry process-wide counters that differ between the libraries
    inp = L.Input((8,), name="x")
    h = L.layers.Dense(16, activation="relu", name="d1")(inp)
    h = L.layers.Dense(8, name="d2")(h)
    h = L.layers.Add(name="skip1")([h, inp])
    h = L.layers.Dense(8, activation="tanh", name="d3")(h)
    h = L.layers.add([h, inp], name="skip2")
    return L.Model(inp, L.layers.Dense(3, activation="softmax", name="d4")(h), name="residual")


def test_residual_model_matches_keras(rng):
    km, fm = both(residual)
    assert fm.input_shape == (None, 8) and fm.output_shape == (None, 3) == km.output_shape
    x = rng.standard_normal((10, 8)).astype(np.float32)
    compare(km.predict(x, verbose=0), fm.predict(x, verbose=0), "residual")
    compare(km(x), fm(x), "residual call")


def multi_io(L):
    a = L.Input((5,), name="a")
    b = L.Input((3,), name="b")
    shared = L.layers.Dense(4, activation="relu", name="shared")
    ha = shared(L.layers.Dense(3, name="proj_a")(a))
    hb = shared(b)
    joint = L.layers.Concatenate(name="cat")([ha, hb, b])
    y = L.layers.Dense(2, name="y")(joint)
    z = L.layers.Dense(1, activation="sigmoid", name="z")(L.layers.Subtract(name="diff")([ha, hb]))
    return L.Model(inputs={"a": a, "b": b}, outputs={"y": y, "z": z})


def test_multi_input_multi_output_dicts_and_shared_layer(rng):
    km, fm = both(multi_io)
    assert fm.output_names == km.output_names
    assert len(fm.get_layer("shared")._inbound_nodes) == 2
    x = {"a": rng.standard_normal((6, 5)).astype(np.float32), "b": rng.standard_normal((6, 3)).astype(np.float32)}
    kout, fout = km(x), fm(x)
    compare(kout, fout, "dict outputs")
    # a list in the flattened (sorted-key) order works too
    compare(kout, fm([x["a"], x["b"]]), "list inputs")
    assert fm.get_layer(index=0).name == km.get_layer(index=0).name == "a"


def nested(L):
    i = L.Input((6,), name="inner_in")
    inner = L.Model(i, L.layers.Dense(4, activation="relu")(i), name="encoder")
    head = L.Sequential([L.Input((4,)), L.layers.Dense(3), L.layers.Dense(2)], name="head")
    x1, x2 = L.Input((6,), name="x1"), L.Input((6,), name="x2")
    e1, e2 = inner(x1), inner(x2)  # one model shared at two nodes
    merged = L.layers.Average()([e1, e2])
    return L.Model([x1, x2], [head(merged), L.layers.Maximum()([e1, e2]), L.layers.Minimum()([e1, e2])])


def test_nested_and_shared_models(rng):
    km, fm = both(nested)
    x = [rng.standard_normal((4, 6)).astype(np.float32) for _ in range(2)]
    compare(km(x), fm(x), "nested")
    assert fm.output_shape == [(None, 2), (None, 4), (None, 4)]
    assert [l.name for l in fm.layers] == ["x1", "x2", "encoder", "average", "head", "maximum", "minimum"] or \
        [type(l).__name__ for l in fm.layers] == ["InputLayer", "InputLayer", "Functional", "Average", "Sequential",
                                                  "Maximum", "Minimum"]


def test_graph_config_has_keras_structure():
    """inbound_nodes / input_layers / output_layers as Keras writes them (names normalised)."""
    def norm(cfg):
        names = {}

        def rename(n):
            base = re.sub(r"_\d+$", "", n)
            return names.setdefault(n, f"{base}#{sum(v.startswith(base + '#') for v in names.values())}")

        def walk(x):
            if isinstance(x, dict):
                if x.get("class_name") == "__keras_tensor__":
                    h = x["config"]["keras_history"]
                    return ["kt", list(x["config"]["shape"]), x["config"]["dtype"], rename(h[0]), h[1], h[2]]
                return {k: walk(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                if len(x) == 3 and isinstance(x[0], str) and isinstance(x[1], int):
                    return [rename(x[0]), x[1], x[2]]
                return [walk(v) for v in x]
            return x

        out = []
        for layer in cfg["layers"]:
            nodes = walk(layer["inbound_nodes"])
            for n in nodes:
                n["kwargs"].pop("mask", None)  # Keras records the mask=None it filled in
                n["kwargs"].pop("training", None)
            out.append((layer["class_name"], rename(layer["name"]), nodes))
        return out, walk(cfg["input_layers"]), walk(cfg["output_layers"])

    for build in (multi_io, nested):
        keras.utils.set_random_seed(0)
        k, f = norm(build(keras).get_config()), norm(build(forgenet).get_config())
        assert f == k


def test_config_round_trip_predicts_the_same(rng):
    fm = multi_io(forgenet)
    clone = forgenet.Model.from_config(fm.get_config())
    clone.set_weights(fm.get_weights())
    x = {"a": rng.standard_normal((3, 5)).astype(np.float32), "b": rng.standard_normal((3, 3)).astype(np.float32)}
    compare({k: v for k, v in fm(x).items()}, clone(x), "round trip")
    nested_model = nested(forgenet)
    clone = forgenet.models.Model.from_config(nested_model.get_config())
    clone.set_weights(nested_model.get_weights())
    x = [rng.standard_normal((2, 6)).astype(np.float32) for _ in range(2)]
    for a, b in zip(nested_model(x), clone(x)):
        assert_close(b, a, rtol=1e-6, atol=1e-6)


def test_summary_of_a_graph_matches_keras(capsys):
    def norm(text):
        return [re.sub(r" +", " ", re.sub(r"functional(_\d+)?", "functional", line))
                for line in text.strip().splitlines()]

    km, fm = both(multi_io)
    capsys.readouterr()
    km.summary()
    ktext = capsys.readouterr().out
    fm.summary()
    ftext = capsys.readouterr().out
    assert norm(ftext) == norm(ktext), f"\n{ftext}\n{ktext}"
    km, fm = both(residual)
    km.summary()
    ktext = capsys.readouterr().out
    fm.summary()
    ftext = capsys.readouterr().out
    assert "Connected to" in ftext and norm(ftext) == norm(ktext), f"\n{ftext}\n{ktext}"


def test_sequential_from_input_builds_at_once_like_keras(capsys):
    def build(L):
        return L.Sequential([L.Input((None, 6)), L.layers.Dense(5, activation="relu", name="d1"),
                             L.layers.Dense(2, name="d2")], name="seq")

    km, fm = both(build)
    assert fm.built and fm.input_shape == km.input_shape == (None, None, 6)
    assert fm.output_shape == km.output_shape == (None, None, 2)
    assert len(fm.layers) == 2  # the InputLayer is not listed
    capsys.readouterr()
    km.summary()
    ktext = capsys.readouterr().out
    fm.summary()
    ftext = capsys.readouterr().out
    assert ftext == ktext, f"\n{ftext}\n{ktext}"
    added = forgenet.Sequential(name="added")
    added.add(forgenet.Input((3,)))
    added.add(forgenet.layers.Dense(4))
    assert added.built and added.count_params() == 16 and added.output_shape == (None, 4)


MERGES = [("Add", {}), ("Subtract", {}), ("Multiply", {}), ("Average", {}), ("Maximum", {}), ("Minimum", {}),
          ("Concatenate", {"axis": -1}), ("Concatenate", {"axis": 1})]


@pytest.mark.parametrize("name,kw", MERGES)
def test_merge_layers_match_keras_eager_and_in_graphs(rng, name, kw):
    a = rng.standard_normal((3, 4, 5)).astype(np.float32)
    b = rng.standard_normal((3, 4, 5)).astype(np.float32)
    compare(getattr(keras.layers, name)(**kw)([a, b]), getattr(forgenet.layers, name)(**kw)([a, b]), name)

    def build(L):
        x, y = L.Input((4, 5)), L.Input((4, 5))
        return L.Model([x, y], L.layers.Dense(2)(getattr(L.layers, name)(**kw)([x, y])))

    km, fm = both(build)
    assert fm.output_shape == km.output_shape
    compare(km([a, b]), fm([a, b]), f"{name} in a model")
    lower = name.lower()
    if name != "Concatenate":
        compare(getattr(keras.layers, lower)([a, b]), getattr(forgenet.layers, lower)([a, b]), lower)


def test_merge_broadcasts_lower_rank_inputs_as_keras(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((2, 4)).astype(np.float32)
    compare(keras.layers.Add()([a, b]), forgenet.layers.Add()([a, b]), "rank broadcast")
    with pytest.raises(ValueError, match="incompatible shapes"):
        forgenet.layers.Add()([forgenet.Input((3,)), forgenet.Input((4,))])
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        forgenet.layers.Concatenate(axis=1)([forgenet.Input((3, 2)), forgenet.Input((4, 5))])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        forgenet.layers.Subtract()([forgenet.Input((3,))] * 3)


@pytest.mark.parametrize("shapes,axes", [(((3, 5), (3, 5)), 1), (((3, 5), (3, 5)), -1),
                                         (((3, 4, 5), (3, 4, 6)), 1), (((3, 4, 5), (3, 6, 5)), (2, 2)),
                                         (((3, 4, 5), (3, 5)), (2, 1)), (((3, 4, 5), (3, 5, 4)), (1, 2))])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_matches_keras(rng, shapes, axes, normalize):
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    ky = keras.layers.Dot(axes=axes, normalize=normalize)([a, b])
    fy = forgenet.layers.Dot(axes=axes, normalize=normalize)([a, b])
    compare(ky, fy, f"dot {axes} {normalize}")
    sym = forgenet.layers.dot([forgenet.Input(shapes[0][1:]), forgenet.Input(shapes[1][1:])], axes=axes,
                              normalize=normalize)
    ksym = keras.layers.dot([keras.Input(shapes[0][1:]), keras.Input(shapes[1][1:])], axes=axes, normalize=normalize)
    assert sym.shape == tuple(ksym.shape)


def test_dot_gradients_match_torch(rng):
    import torch

    a = rng.standard_normal((3, 4, 5)).astype(np.float32)
    b = rng.standard_normal((3, 6, 5)).astype(np.float32)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ky = keras.layers.Dot(axes=(2, 2), normalize=True)([ta, tb])
    (ky * ky).sum().backward()
    fa, fb = forgenet.Tensor(a, requires_grad=True), forgenet.Tensor(b, requires_grad=True)
    fy = forgenet.layers.Dot(axes=(2, 2), normalize=True)([fa, fb])
    (fy * fy).sum().backward()
    assert_close(fa.grad, ta.grad.numpy(), rtol=1e-4, atol=1e-5, what="d/da")
    assert_close(fb.grad, tb.grad.numpy(), rtol=1e-4, atol=1e-5, what="d/db")


def keras_graph_in_forgenet(kmodel, fmodel):
    """Keras's own graph config (its inbound_nodes, input/output_layers, op specs), with each layer's spec
    swapped for ours: the graph part is what this checks (layer specs are the saving code's)."""
    kcfg, fcfg = kmodel.get_config(), fmodel.get_config()
    assert len(kcfg["layers"]) == len(fcfg["layers"])
    for kl, fl in zip(kcfg["layers"], fcfg["layers"]):
        if kl["module"].startswith("keras.src.ops"):
            continue  # Keras's op specs load as they are
        kl["module"], kl["class_name"] = fl["module"], fl["class_name"]
        kl["config"] = {**fl["config"], "name": kl["name"]}
    return forgenet.Model.from_config(kcfg)


def ops_graph(L, not_equal):
    x = L.Input((4,), name="x")
    y = L.layers.Dense(4)(x)
    z = (x + y) * 2.0 - x / 4.0
    return L.Model(x, [z, z[:, 1:3], not_equal(x, 0.0)])


def test_keras_graph_configs_load(rng):
    from forgenet.layers.node import _op

    cases = [(multi_io, {"a": rng.standard_normal((3, 5)).astype(np.float32),
                         "b": rng.standard_normal((3, 3)).astype(np.float32)}),
             (nested, [rng.standard_normal((3, 6)).astype(np.float32) for _ in range(2)]),
             (lambda L: ops_graph(L, keras.ops.not_equal if L is keras else lambda a, b: _op("not_equal", a, b)),
              np.array([[0, 1, 2, 0], [3, 0, 1, 1]], np.float32))]
    for build, x in cases:
        keras.utils.set_random_seed(0)
        km, fm = build(keras), build(forgenet)
        loaded = keras_graph_in_forgenet(km, fm)
        assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in km.layers]
        loaded.set_weights(km.get_weights())
        kout, fout = km(x), loaded(x)
        if isinstance(kout, dict):
            compare(kout, fout, "loaded graph")
        else:
            for a, b in zip(kout, fout):
                assert_close(np.asarray(b, np.float64), knp(a).astype(np.float64), rtol=1e-4, atol=1e-5)


def test_keras_masked_text_graph_config_loads(rng):
    """Keras writes the mask as a NotEqual op feeding LSTM's mask= (and training=False) in the config."""
    def build(L):
        ids = L.Input((None,), dtype="int32", name="ids")
        x = L.layers.Embedding(10, 4, mask_zero=True)(ids)
        return L.Model(ids, L.layers.Dense(2)(L.layers.LSTM(3)(x)))

    keras.utils.set_random_seed(0)
    km = build(keras)
    kcfg = km.get_config()
    assert [l["class_name"] for l in kcfg["layers"]] == ["InputLayer", "Embedding", "NotEqual", "LSTM", "Dense"]
    fm = build(forgenet)
    by_class = {l["class_name"]: l for l in fm.get_config()["layers"]}
    for kl in kcfg["layers"]:
        if kl["class_name"] in by_class:
            fl = by_class[kl["class_name"]]
            kl["module"], kl["config"] = fl["module"], {**fl["config"], "name": kl["name"]}
    loaded = forgenet.Model.from_config(kcfg)
    loaded.set_weights(km.get_weights())
    ids = np.array([[3, 4, 0, 0, 0], [1, 2, 3, 4, 5], [0, 0, 7, 8, 9]], np.int64)
    assert_close(loaded.predict(ids, verbose=0), knp(km(ids)), rtol=1e-4, atol=1e-5, what="masked text graph")
