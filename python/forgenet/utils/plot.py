"""keras.utils.plot_model / model_to_dot through pydot and graphviz, when they are installed."""
from __future__ import annotations

import os


def _pydot():
    try:
        import pydot
    except ImportError:
        raise ImportError("You must install pydot (`pip install pydot`) for `plot_model` to work (and graphviz, "
                          "https://graphviz.gitlab.io/download/, to write images other than .dot).") from None
    return pydot


def _shape(layer, what):
    try:
        s = getattr(layer, what)
    except Exception:  # a layer not yet built has no shape to show
        return "?"
    return str(s) if s is not None else "?"


def _edges(model, layers):
    """(src, dst) pairs: the functional graph's inbound layers where the model records them, else a chain."""
    pairs = []
    for lay in layers:
        for src in getattr(lay, "_inbound_layers", None) or []:
            pairs.append((src, lay))
    if pairs:
        return pairs
    return list(zip(layers[:-1], layers[1:]))


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False, show_trainable=False,
                 **kwargs):
    if kwargs:
        raise ValueError(f"model_to_dot: unrecognized arguments {sorted(kwargs)}")
    pydot = _pydot()
    dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, dpi=dpi)
    dot.set_node_defaults(shape="record")
    layers = list(getattr(model, "layers", []))
    for lay in layers:
        label = f"{lay.name} ({type(lay).__name__})" if show_layer_names else type(lay).__name__
        if show_layer_activations and hasattr(lay, "activation"):
            from forgenet.functional.activation import activation_name
            label += f"|{activation_name(lay.activation)}"
        if show_shapes:
            label += f"|{{input: {_shape(lay, 'input_shape')}|output: {_shape(lay, 'output_shape')}}}"
        if show_dtype:
            label += "|float32"
        if show_trainable:
            label += f"|Trainable: {'T' if lay.trainable else 'F'}"
        dot.add_node(pydot.Node(str(id(lay)), label=label))
    for a, b in _edges(model, layers):
        dot.add_edge(pydot.Edge(str(id(a)), str(id(b))))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
               expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False, **kwargs):
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations, show_trainable=show_trainable, **kwargs)
    to_file = os.fspath(to_file)
    ext = os.path.splitext(to_file)[1][1:] or "png"
    if ext == "dot":
        dot.write_raw(to_file)
    else:
        try:
            dot.write(to_file, format=ext)
        except (OSError, FileNotFoundError) as e:
            raise ImportError(f"plot_model: writing {to_file} needs graphviz's `dot` program on the PATH "
                              f"(https://graphviz.gitlab.io/download/): {e}") from None
    return dot
