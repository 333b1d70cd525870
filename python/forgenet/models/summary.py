"""model.summary(): Keras 3's table of layers, output shapes and parameter counts."""
from __future__ import annotations


def _readable_size(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n_bytes / 1024 < 1:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} PB"


def _shape_str(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_str(s) for s in shape)
    return str((None,) + tuple(shape[1:])) if len(shape) else "()"


def _wrap(text: str, width: int) -> list[str]:
    if len(text) <= width:
        return [text]
    lines = []
    for word in text.split(" "):  # "name (Type)" breaks before the type, as Keras shows it
        while len(word) > width:
            lines.append(word[:width])
            word = word[width:]
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _count(weights) -> int:
    return int(sum(w.size for w in weights))


def print_summary(model, line_length=None, positions=None, print_fn=None):
    out = print_fn or print
    widths = [33, 24, 15]
    if line_length:
        pos = positions or [0.45, 0.84, 1.0]
        edges = [int(line_length * p) for p in pos]
        widths = [max(edges[0], 8), max(edges[1] - edges[0], 8), max(edges[2] - edges[1], 8)]
    inner = [w - 2 for w in widths]

    def row(cells, right_last=True):
        lines = [_wrap(c, w) for c, w in zip(cells, inner)]
        height = max(len(l) for l in lines)
        text = []
        for i in range(height):
            parts = []
            for j, (l, w) in enumerate(zip(lines, inner)):
                s = l[i] if i < len(l) else ""
                parts.append(s.rjust(w) if (j == 2 and right_last) else s.ljust(w))
            text.append("│ " + " │ ".join(parts) + " │")
        return text

    out(f'Model: "{model.name}"')
    out("┏" + "┳".join("━" * w for w in widths) + "┓")
    head = ["Layer (type)", "Output Shape", "Param #"]
    out("┃ " + " ┃ ".join(h.rjust(w) if j == 2 else h.ljust(w) for j, (h, w) in enumerate(zip(head, inner))) + " ┃")
    out("┡" + "╇".join("━" * w for w in widths) + "┩")
    layers = model.layers
    for i, layer in enumerate(layers):
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        for line in row([f"{layer.name} ({type(layer).__name__})", _shape_str(layer._output_shape), params]):
            out(line)
        if i < len(layers) - 1:
            out("├" + "┼".join("─" * w for w in widths) + "┤")
    out("└" + "┴".join("─" * w for w in widths) + "┘")
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.weights) - trainable
    opt = getattr(model, "optimizer", None)
    opt_count = 0
    if getattr(model, "compiled", False) and opt is not None and opt.built:
        opt_count = _count(opt.variables) + 2  # + iterations and learning_rate, which Keras counts as variables
    total = trainable + non_trainable + opt_count
    out(f" Total params: {total:,} ({_readable_size(total * 4)})")
    out(f" Trainable params: {trainable:,} ({_readable_size(trainable * 4)})")
    out(f" Non-trainable params: {non_trainable:,} ({_readable_size(non_trainable * 4)})")
    if opt_count:
        out(f" Optimizer params: {opt_count:,} ({_readable_size(opt_count * 4)})")
