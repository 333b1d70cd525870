"""Ours against one peer, mode by mode, on the shared timing core: what the repo's bench/ scripts print.

    versus.table("GRU N=32 ...", [("forward", ours_fwd, torch_fwd), ("forward+backward", ours_fb, torch_fb)])

prints, per mode, each side's median time per call with its spread (IQR / median) and the ratio
ours/peer (the median over reps of each rep's ratio: timing.paired), and returns the rows as dicts.
"""
from __future__ import annotations

from forgenet.bench import machine, timing


def _cell(t: timing.Timing) -> str:
    return f"{t.median * 1e3:9.3f} ms ±{100 * t.spread:3.0f}%"


def table(title: str, modes, *, ours: str = "forgenet", peer: str = "torch", reps: int = 15, warmup: int = 1,
          min_sample_s: float = 0.05, threads: int | None = None, write=print) -> list[dict]:
    """modes: (label, ours_fn, peer_fn) triples, each fn one whole call (returning when its results exist)."""
    info = machine.cpu_info(threads)
    write(f"{title} | {info['threads']} threads, ISA {info['isa']}, {info['cpu']}")
    write(f"medians of {reps} interleaved reps (± IQR/median); {ours}/{peer} = the median of each rep's ratio")
    write(f"{'':<18} {ours:>19} {peer:>19} {ours + '/' + peer:>{max(16, len(ours) + len(peer) + 2)}}")
    rows = []
    for label, ours_fn, peer_fn in modes:
        t = timing.alternate({ours: ours_fn, peer: peer_fn}, reps=reps, warmup=warmup, min_sample_s=min_sample_s)
        ratio, _ = timing.paired(t[peer], t[ours])
        write(f"{label:<18} {_cell(t[ours])} {_cell(t[peer])} {ratio:15.2f}x")
        rows.append({"mode": label, f"{ours}_median_s": t[ours].median, f"{peer}_median_s": t[peer].median,
                     f"{ours}_spread": t[ours].spread, f"{peer}_spread": t[peer].spread, "ratio": ratio})
    return rows


def set_threads(threads: int) -> None:
    """forgenet and (when installed) torch on the same thread count, as every comparison here runs."""
    import forgenet

    forgenet.set_num_threads(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


def cli(argv, description: str, tables, *, peer: str = "torch", threads: int = 2) -> list[dict]:
    """The bench/ scripts' command line (--reps, --min-sample-s): both libraries on `threads` threads, then
    one table per (title, modes) that tables() builds (after the thread counts are set)."""
    import argparse

    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--min-sample-s", type=float, default=0.05, help="calls per sample so that one lasts this long")
    args = p.parse_args(argv)
    set_threads(threads)
    rows = []
    for i, (title, modes) in enumerate(tables()):
        if i:
            print()
        rows += table(title, modes, peer=peer, reps=args.reps, min_sample_s=args.min_sample_s, threads=threads)
    return rows
