"""Benchmark results as rows: the table on stdout, --json, --csv, --compare and --plot."""
from __future__ import annotations

import csv
import io
import json

SCHEMA = 1
# the per-row fields of --json and --csv (CSV adds the machine's threads, isa, forgenet_isa_env, cpu)
ROW_FIELDS = ("bench", "case", "impl", "device", "reps", "calls_per_rep", "median_s", "q1_s", "q3_s", "min_s",
              "max_s", "spread", "rate", "unit", "pct_peak", "vs_forgenet", "previous_median_s", "change", "slower")
CSV_MACHINE_FIELDS = ("threads", "isa", "forgenet_isa_env", "cpu")


def row(case, impl, timing, peak_gflops):
    med = timing.median
    rate = case.rate(med)
    pct = 100.0 * rate / peak_gflops if case.unit == "GFLOP/s" and peak_gflops else None
    return {"bench": case.bench, "case": case.case, "impl": impl, "device": case.device, "reps": len(timing.samples),
            "calls_per_rep": timing.number, "median_s": med, "q1_s": timing.quantile(0.25), "q3_s": timing.quantile(0.75),
            "min_s": timing.min, "max_s": timing.max, "spread": timing.spread, "rate": rate, "unit": case.unit,
            "pct_peak": pct, "vs_forgenet": None, "previous_median_s": None, "change": None, "slower": False}


def relate(rows):
    """vs_forgenet: each row's median time over forgenet's in the same case (above 1: slower than ours)."""
    ours = {(r["bench"], r["case"], r["device"]): r["median_s"] for r in rows if r["impl"] == "forgenet"}
    for r in rows:
        base = ours.get((r["bench"], r["case"], r["device"]))
        r["vs_forgenet"] = r["median_s"] / base if base else None


def document(rows, machine, argv):
    return {"schema": SCHEMA, "tool": "forgenet.bench", "argv": list(argv), "machine": machine, "rows": rows}


def to_json(doc) -> str:
    return json.dumps(doc, indent=2)


def to_csv(doc) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(ROW_FIELDS) + list(CSV_MACHINE_FIELDS), lineterminator="\n")
    w.writeheader()
    for r in doc["rows"]:
        w.writerow({**{k: r.get(k) for k in ROW_FIELDS}, **{k: doc["machine"].get(k) for k in CSV_MACHINE_FIELDS}})
    return buf.getvalue()


def compare(rows, previous: dict, threshold: float) -> int:
    """Marks rows whose median grew by more than `threshold` (0.1 = 10%) against the same
    (bench, case, impl, device) in `previous`; returns how many forgenet rows got slower."""
    old = {(r["bench"], r["case"], r["impl"], r.get("device", "cpu")): r for r in previous.get("rows", [])}
    worse = 0
    for r in rows:
        p = old.get((r["bench"], r["case"], r["impl"], r["device"]))
        if p is None:
            continue
        r["previous_median_s"] = p["median_s"]
        r["change"] = r["median_s"] / p["median_s"] - 1.0
        r["slower"] = r["change"] > threshold
        worse += r["slower"] and r["impl"].startswith("forgenet")
    return worse


def _time(s):
    return f"{s * 1e3:.3f} ms" if s < 1 else f"{s:.3f} s"


def _nominal(m) -> str:
    nominal = m.get("clock_nominal_mhz")
    if not nominal or m.get("clock_source") != "measured":
        return ""
    return f"; nominal {nominal:.0f} MHz from {m.get('clock_nominal_source')}"


def table(doc) -> str:
    m = doc["machine"]
    isa_env = m["forgenet_isa_env"] or "unset"
    lines = [f"forgenet {m['forgenet']} bench | {m['cpu']} | {m['threads']} threads | ISA {m['isa']} "
             f"(FORGENET_ISA {isa_env}) | gemm kernel {m['gemm_kernel']}"
             + (f" | numpy's BLAS threads {m['numpy_threads']}" if "numpy_threads" in m else "")]
    if m.get("peak_gflops"):
        lines.append(f"fp32 peak {m['peak_gflops']:.1f} GFLOP/s = {m['threads']} threads x {m['flop_per_cycle']} FLOP/cycle "
                     f"({m.get('flop_per_cycle_source', 'ISA bound')}) "
                     f"x {m['clock_mhz']:.0f} MHz ({m['clock_source']}{_nominal(m)})")
    if m.get("gpu"):
        lines.append(f"GPU {m['gpu']} (sm {m['compute_capability']}), fp32 peak {m['gpu_peak_gflops']:.0f} GFLOP/s")
    head = f"{'bench':<10} {'case':<34} {'impl':<15} {'median':>11} {'spread':>7} {'rate':>10} {'unit':<8} {'%peak':>6} {'vs ours':>8}"
    lines += [head, "-" * len(head)]
    for r in doc["rows"]:
        pct = f"{r['pct_peak']:.1f}" if r["pct_peak"] is not None else "-"
        rel = f"{r['vs_forgenet']:.2f}x" if r["vs_forgenet"] is not None and r["impl"] != "forgenet" else ""
        line = (f"{r['bench']:<10} {r['case'][:34]:<34} {r['impl']:<15} {_time(r['median_s']):>11} "
                f"{100 * r['spread']:>6.1f}% {r['rate']:>10.4g} {r['unit']:<8} {pct:>6} {rel:>8}")
        if r["change"] is not None:
            line += f"  {'SLOWER ' if r['slower'] else ''}{100 * r['change']:+.1f}% vs previous"
        lines.append(line)
    return "\n".join(lines)


def plot(doc, path: str) -> None:
    """A grouped bar chart: % of fp32 peak (GFLOP/s rows) per case and implementation."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("forgenet.bench: --plot needs matplotlib: pip install 'forgenet[bench]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in doc["rows"] if r["unit"] == "GFLOP/s"]
    use_pct = all(r["pct_peak"] is not None for r in rows)
    cases = list(dict.fromkeys((r["bench"], r["case"]) for r in rows))
    impls = list(dict.fromkeys(r["impl"] for r in rows))
    if not rows:
        raise SystemExit("forgenet.bench: --plot draws GFLOP/s rows; this run has none")
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(cases) * max(1, len(impls)) / 2), 4.5))
    width = 0.8 / len(impls)
    for i, impl in enumerate(impls):
        vals = []
        for c in cases:
            r = next((r for r in rows if (r["bench"], r["case"]) == c and r["impl"] == impl), None)
            vals.append(0 if r is None else (r["pct_peak"] if use_pct else r["rate"]))
        ax.bar([j + i * width for j in range(len(cases))], vals, width, label=impl)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(cases))])
    ax.set_xticklabels([f"{b}\n{c}" for b, c in cases], fontsize=7, rotation=20, ha="right")
    m = doc["machine"]
    ax.set_ylabel("% of fp32 peak" if use_pct else "GFLOP/s")
    ax.set_title(f"{m['cpu']}, {m['threads']} threads, {m['isa']}"
                 + (f", peak {m['peak_gflops']:.0f} GFLOP/s" if m.get("peak_gflops") else ""), fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
