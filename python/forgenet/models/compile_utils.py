"""What `compile(loss=..., metrics=..., loss_weights=..., weighted_metrics=...)` becomes (Keras 3's compile_utils).

A model's output is one Tensor, or a list / tuple / dict of them. Losses and metrics are given once
for all outputs, or per output as a list (in output order) or a dict keyed by output name (dict
outputs: their keys; list outputs: the model's `output_names`, when it has them). Both are resolved
on the first batch, since "accuracy" and "crossentropy" pick their kind from the shapes.

Names follow Keras: with several losses, each gets a tracker "<name>_loss" (name = output name, else
the loss's own name), and metrics of a named output are prefixed "<output>_"; repeated names get
"_1", "_2"; a weighted metric that would repeat an unweighted one becomes "weighted_<name>".
"""
from __future__ import annotations

import numbers

from forgenet import losses as losses_mod
from forgenet import metrics as metrics_mod
from forgenet.models.data_adapters import flatten, is_nested


def _output_keys(y_pred, output_names):
    """(keys to index y_pred by, display names or None) for a list / tuple / dict output."""
    if isinstance(y_pred, dict):
        if output_names and set(output_names) == set(y_pred):
            keys = list(output_names)
        else:
            keys = sorted(y_pred)
        return keys, keys
    n = len(y_pred)
    names = list(output_names) if output_names and len(output_names) == n else None
    return list(range(n)), names


def align(y, y_pred, keys, output_names, who, what="y"):
    """`y` (targets or sample weights) as a dict {key: value} matching a multi-output y_pred."""
    if isinstance(y, dict):
        if isinstance(y_pred, dict):
            return y
        if output_names and set(y) <= set(output_names):
            return {i: y.get(name) for i, name in zip(keys, output_names)}
        raise ValueError(f"{who}: {what} is a dict with keys {sorted(y)} but the model's outputs have no such names"
                         f"{' (' + str(output_names) + ')' if output_names else ''}")
    if isinstance(y, (list, tuple)):
        if len(y) == len(keys):
            return dict(zip(keys, y))
        raise ValueError(f"{who}: {what} has {len(y)} entries but the model has {len(keys)} outputs")
    return {k: y for k in keys}  # one array for every output


class _Entry:
    __slots__ = ("key", "fn", "weight", "name")

    def __init__(self, key, fn, weight, name):
        self.key, self.fn, self.weight, self.name = key, fn, weight, name


def get_loss(identifier, y_true, y_pred):
    """A Loss for a compile() entry; "crossentropy" / "ce" pick binary, sparse or categorical by shape."""
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        binary, sparse = metrics_mod.is_binary_or_sparse(y_true, y_pred)
        cls = (losses_mod.BinaryCrossentropy if binary else losses_mod.SparseCategoricalCrossentropy if sparse
               else losses_mod.CategoricalCrossentropy)
        return cls(name=identifier)
    loss = losses_mod.get(identifier)
    if isinstance(identifier, str):
        loss.name = identifier  # Keras names a loss given by string after the string ("mse" -> "mse_loss")
    return loss


def check_loss(identifier):
    if identifier is None or (isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce")):
        return
    losses_mod.get(identifier)  # raises with the valid names


class CompileLoss:
    def __init__(self, loss, loss_weights=None, output_names=None, who="compile"):
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, numbers.Real)):
            raise ValueError(f"{who}: loss_weights must be a float (one output) or a list, tuple or dict (several "
                             f"outputs), got {type(loss_weights).__name__} {loss_weights!r}")
        for leaf in (loss.values() if isinstance(loss, dict) else loss if isinstance(loss, (list, tuple)) else [loss]):
            check_loss(leaf)
        self.loss, self.loss_weights, self.output_names, self.who = loss, loss_weights, output_names, who
        self.built = False
        self.metrics = []  # one Mean per loss when there are several
        self._entries = []

    def _weights_for(self, keys, names):
        w = self.loss_weights
        if w is None:
            return {k: None for k in keys}
        if isinstance(w, numbers.Real):
            return {k: float(w) for k in keys}
        if isinstance(w, dict):
            lookup = dict(zip(names or [], keys))
            bad = [k for k in w if k not in lookup and k not in keys]
            if bad:
                raise ValueError(f"{self.who}: loss_weights has keys {bad} that are not output names {names}")
            return {k: (float(w[n]) if n in w else None) for n, k in zip(names or keys, keys)}
        if len(w) != len(keys):
            raise ValueError(f"{self.who}: loss_weights must match the number of losses, got {len(keys)} outputs and "
                             f"{len(w)} weights")
        return {k: (None if v is None else float(v)) for k, v in zip(keys, w)}

    def build(self, y_true, y_pred):
        loss, who = self.loss, self.who
        if not is_nested(y_pred):
            if isinstance(loss, dict):
                if len(loss) != 1:
                    raise ValueError(f"{who}: the model has one output but loss is a dict with keys {list(loss)}")
                loss = next(iter(loss.values()))
            elif isinstance(loss, (list, tuple)):
                if len(loss) != 1:
                    raise ValueError(f"{who}: the model has one output but loss has {len(loss)} entries")
                loss = loss[0]
            w = self.loss_weights
            if isinstance(w, dict):
                w = next(iter(w.values())) if len(w) == 1 else None
            elif isinstance(w, (list, tuple)):
                w = w[0] if len(w) == 1 else None
            fn = get_loss(loss, y_true, y_pred)
            self._entries = [_Entry(None, fn, None if w is None else float(w), fn.name)]
            self.built = True
            return
        keys, names = _output_keys(y_pred, self.output_names)
        if isinstance(loss, dict):
            lookup = dict(zip(names or [], keys)) if not isinstance(y_pred, dict) else {k: k for k in keys}
            bad = [k for k in loss if k not in lookup]
            if bad:
                raise ValueError(f"{who}: loss is a dict with keys {list(loss)} but the model's outputs are "
                                 f"{names if names else f'{len(keys)} unnamed tensors (use a list)'}; unknown: {bad}")
            per = {lookup[k]: v for k, v in loss.items()}  # Keras: in the order of the loss dict
            order = [lookup[k] for k in loss]
        elif isinstance(loss, (list, tuple)):
            if len(loss) != len(keys):
                raise ValueError(f"{who}: loss has {len(loss)} entries but the model has {len(keys)} outputs")
            per, order = dict(zip(keys, loss)), keys
        else:
            per, order = {k: loss for k in keys}, keys
        weights = self._weights_for(keys, names)
        shown = dict(zip(keys, names)) if names else {}
        self._keys, self._names = keys, names
        self._with_loss = [k for k in order if per.get(k) is not None]
        yt = self._targets(y_true, y_pred)
        self._entries = []
        for k in self._with_loss:
            fn = get_loss(per[k], yt.get(k), y_pred[k])
            self._entries.append(_Entry(k, fn, weights.get(k), shown.get(k, fn.name)))
        if len(self._entries) > 1:
            self.metrics = [metrics_mod.Mean(name=f"{e.name}_loss") for e in self._entries]
        self.built = True

    def _targets(self, y_true, y_pred):
        # Keras also takes targets for only the outputs that have a loss, in order
        if isinstance(y_true, (list, tuple)) and len(y_true) != len(self._keys) \
                and len(y_true) == len(self._with_loss):
            return dict(zip(self._with_loss, y_true))
        return align(y_true, y_pred, self._keys, self._names, self.who)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        if not is_nested(y_pred):
            e = self._entries[0]
            value = e.fn(y_true, y_pred, sample_weight)
            return value if e.weight is None else value * e.weight
        yt = self._targets(y_true, y_pred)
        sw = None if sample_weight is None else align(sample_weight, y_pred, self._keys, self._names, self.who,
                                                      "sample_weight")
        total = None
        n = len(flatten(y_pred)[0])
        for i, e in enumerate(self._entries):
            if yt.get(e.key) is None:
                raise ValueError(f"{self.who}: no target given for output {e.name!r}")
            value = e.fn(yt[e.key], y_pred[e.key], None if sw is None else sw.get(e.key))
            if self.metrics:
                self.metrics[i].update_state(value.data, sample_weight=n)  # unweighted, as Keras records them
            if e.weight is not None:
                value = value * e.weight
            total = value if total is None else total + value
        return total


class _MetricsList:
    def __init__(self, metrics, output_name=None):
        self.metrics, self.output_name = metrics, output_name

    def update_state(self, y_true, y_pred, sample_weight=None):
        for m in self.metrics:
            m.update_state(y_true, y_pred, sample_weight=sample_weight)


def get_metric(identifier, y_true, y_pred):
    m = metrics_mod.get(identifier, y_true, y_pred)
    if isinstance(identifier, str):
        m.name = identifier
    return m


class CompileMetrics(metrics_mod.Metric):
    """All compiled metrics as one Metric whose result() is a dict (Keras's "compile_metrics")."""

    def __init__(self, metrics, weighted_metrics, output_names=None, who="compile"):
        for arg, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value and not isinstance(value, (list, tuple, dict)):
                raise ValueError(f"{who}: {arg} must be a list, tuple or dict, got {type(value).__name__} {value!r}")
            for leaf in _leaves(value):
                metrics_mod.check(leaf)
        self._user, self._user_weighted = metrics, weighted_metrics
        self.output_names, self.who = output_names, who
        self.built = False
        super().__init__(name="compile_metrics")

    @property
    def metrics(self):
        if not self.built:
            return []
        return [m for mls in self._flat + self._flat_weighted if mls for m in mls.metrics]

    def _build_set(self, spec, y_true, y_pred, arg):
        if not spec:
            return [None] * self._n
        if not is_nested(y_pred):
            return [_MetricsList([get_metric(m, y_true, y_pred) for m in _leaves(spec)])]
        keys, names = self._keys, self._names
        yt = align(y_true, y_pred, keys, names, self.who)
        if isinstance(spec, dict):
            lookup = {k: k for k in keys} if isinstance(y_pred, dict) else dict(zip(names or [], keys))
            bad = [k for k in spec if k not in lookup]
            if bad:
                raise ValueError(f"{self.who}: {arg} is a dict with keys {list(spec)} but the model's outputs are "
                                 f"{names if names else f'{len(keys)} unnamed tensors (use a list)'}")
            per = {lookup[k]: v for k, v in spec.items()}
        elif len(spec) == len(keys):
            per = dict(zip(keys, spec))
        else:
            raise ValueError(f"{self.who}: {arg} must be a list with one entry (a metric or a list of metrics) per "
                             f"output, or a dict keyed by output name; the model has {len(keys)} outputs and got "
                             f"{arg}={spec!r}")
        out = []
        for i, k in enumerate(keys):
            entry = per.get(k)
            if entry is None:
                out.append(None)
                continue
            out.append(_MetricsList([get_metric(m, yt[k], y_pred[k]) for m in _leaves(entry)],
                                    names[i] if names else None))
        return out

    def build(self, y_true, y_pred):
        if is_nested(y_pred):
            self._keys, self._names = _output_keys(y_pred, self.output_names)
            self._n = len(self._keys)
        else:
            self._keys, self._names, self._n = [None], None, 1
        self._flat = self._build_set(self._user, y_true, y_pred, "metrics")
        self._flat_weighted = self._build_set(self._user_weighted, y_true, y_pred, "weighted_metrics")
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        if not is_nested(y_pred):
            if self._flat[0]:
                self._flat[0].update_state(y_true, y_pred)
            if self._flat_weighted[0]:
                self._flat_weighted[0].update_state(y_true, y_pred, sample_weight)
            return
        yt = align(y_true, y_pred, self._keys, self._names, self.who)
        sw = {} if sample_weight is None else align(sample_weight, y_pred, self._keys, self._names, self.who,
                                                    "sample_weight")
        for mls, wmls, k in zip(self._flat, self._flat_weighted, self._keys):
            if mls:
                mls.update_state(yt[k], y_pred[k])
            if wmls:
                wmls.update_state(yt[k], y_pred[k], sw.get(k))

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()

    def result(self):
        if not self.built:
            return {}
        results, seen = {}, {}
        for weighted, group in ((False, self._flat), (True, self._flat_weighted)):
            for mls in group:
                if not mls:
                    continue
                for m in mls.metrics:
                    prefix = f"{mls.output_name}_" if mls.output_name else ""
                    name = prefix + m.name
                    if name in seen and weighted:
                        name = prefix + "weighted_" + m.name
                    if name in seen:
                        seen[name] += 1
                        name = f"{name}_{seen[name] - 1}"
                    else:
                        seen[name] = 1
                    results[name] = m.result()
        return results


def _leaves(spec):
    if spec is None:
        return []
    if isinstance(spec, dict):
        return [leaf for v in spec.values() for leaf in _leaves(v)]
    if isinstance(spec, (list, tuple)):
        return [leaf for v in spec for leaf in _leaves(v)]
    return [spec]
