"""model.summary(): Keras 3's table of layers, output shapes and parameter counts, with the
"Connected to" column for graphs that are not a plain chain (Keras's utils/summary_utils.py,
drawn as its `rich` table comes out on an 80-column console)."""
from __future__ import annotations

import shutil

from forgenet.layers.node import flatten


def _readable_size(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n_bytes / 1024 < 1:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} PB"


def _fmt(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _shape_str(shape) -> str:
    """The shape column for a shape or a list of them (batch axis shown as None, as Keras shows it)."""
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(_fmt((None,) + tuple(s[1:]) if s else ()) for s in shape) + "]" if len(shape) > 1 \
            else _shape_str(shape[0])
    return _fmt((None,) + tuple(shape[1:])) if len(shape) else "()"


def _layer_shape(layer) -> str:
    if layer._inbound_nodes:
        outs = layer._inbound_nodes[-1].output_tensors
        shapes = [tuple(t.shape) for t in outs]
        if len(shapes) == 1:
            return _fmt(shapes[0])
        return "[" + ", ".join(_fmt(s) for s in shapes) + "]"
    if not layer.built:
        return "?"
    return _shape_str(layer._output_shape)


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap; a word longer than the cell is cut with an ellipsis (rich's overflow)."""
    lines = []
    for word in text.split(" "):
        if len(word) > width:
            word = word[:width - 1] + "…"
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _ratio_reduce(total, values):
    """rich's ratio_reduce with equal ratios: take `total` off the column widths, spread evenly."""
    out, ratio, left = [], len(values), total
    for v in values:
        d = min(v, round(left / ratio))
        out.append(v - d)
        left -= d
        ratio -= 1
    return out


def _column_widths(line_length, positions):
    widths, current = [], 0
    for p in positions:
        w = int(p * line_length) - current
        if w < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(w)
        current += w
    n = len(widths)
    # rich fits the columns (plus a border between and around them and one space of padding each
    # side) into line_length, taking the excess from every column alike
    contents = _ratio_reduce(sum(widths) - (line_length - (n + 1) - 2 * n), widths)
    return [c + 2 for c in contents]


def _sequential_like(model) -> bool:
    from forgenet.models.functional import Functional

    if not isinstance(model, Functional):
        return True
    nodes = []
    for v in model._nodes_by_depth.values():
        if len(v) > 1 or (len(v) == 1 and len(v[0].input_tensors) > 1):
            return False
        nodes += v
    ids = {id(n) for n in nodes}
    for layer in model.layers:
        if sum(id(n) in ids for n in layer._inbound_nodes) > 1:
            return False
    return True


def print_summary(model, line_length=None, positions=None, print_fn=None):
    out = print_fn or print
    seq = _sequential_like(model)
    if seq:
        default, positions = 88, positions or [0.45, 0.80, 1.0]
        header, right = ["Layer (type)", "Output Shape", "Param #"], {2}
    else:
        default, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header, right = ["Layer (type)", "Output Shape", "Param #", "Connected to"], {2}
        relevant = {id(n) for v in model._nodes_by_depth.values() for n in v}
    if positions[-1] <= 1:
        line_length = line_length or min(default, shutil.get_terminal_size().columns - 4)
    else:  # absolute positions, as Keras accepts them
        line_length = line_length or int(positions[-1])
        positions = [p / line_length for p in positions]
    widths = _column_widths(line_length, positions)
    inner = [w - 2 for w in widths]

    def row(cells):
        lines = [_wrap(c, w) for c, w in zip(cells, inner)]
        height = max(len(l) for l in lines)
        text = []
        for i in range(height):
            parts = [(l[i] if i < len(l) else "").rjust(w) if j in right else (l[i] if i < len(l) else "").ljust(w)
                     for j, (l, w) in enumerate(zip(lines, inner))]
            text.append("│ " + " │ ".join(parts) + " │")
        return text

    def connections(layer):
        found = []
        for node in layer._inbound_nodes:
            if id(node) not in relevant:
                continue
            for kt in node.input_tensors:
                op, ni, ti = kt._keras_history
                found.append(f"{op.name}[{ni}][{ti}]")
        return ", ".join(found) or "-"

    out(f'Model: "{model.name}"')
    out("┏" + "┳".join("━" * w for w in widths) + "┓")
    out("┃ " + " ┃ ".join(h.rjust(w) if j in right else h.ljust(w) for j, (h, w) in enumerate(zip(header, inner)))
        + " ┃")
    out("┡" + "╇".join("━" * w for w in widths) + "┩")
    from forgenet.models.functional import Functional

    layers = model.operations if isinstance(model, Functional) else model.layers  # Keras lists a graph's ops too
    for i, layer in enumerate(layers):
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        kind = getattr(layer, "keras_class_name", type(layer).__name__)
        cells = [f"{layer.name} ({kind})", _layer_shape(layer), params]
        if not seq:
            cells.append(connections(layer))
        for line in row(cells):
            out(line)
        if i < len(layers) - 1:
            out("├" + "┼".join("─" * w for w in widths) + "┤")
    out("└" + "┴".join("─" * w for w in widths) + "┘")
    trainable = sum(w.size for w in model.trainable_weights)
    non_trainable = sum(w.size for w in model.non_trainable_weights)
    opt = getattr(model, "optimizer", None)
    opt_count = 0
    if getattr(model, "compiled", False) and opt is not None and opt.built:
        opt_count = sum(v.size for v in flatten(list(opt.variables))) + 2  # + iterations and learning_rate,
        # which Keras counts as optimizer variables
    total = trainable + non_trainable + opt_count
    out(f" Total params: {total:,} ({_readable_size(total * 4)})")
    out(f" Trainable params: {trainable:,} ({_readable_size(trainable * 4)})")
    out(f" Non-trainable params: {non_trainable:,} ({_readable_size(non_trainable * 4)})")
    if opt_count:
        out(f" Optimizer params: {opt_count:,} ({_readable_size(opt_count * 4)})")
