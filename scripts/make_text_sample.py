"""Make python/forgenet/datasets/data/tinyshakespeare_excerpt.txt.gz: the start of tiny Shakespeare.

    python scripts/make_text_sample.py [--src /work/shared/data/tinyshakespeare/input.txt] [--chars 150000]

Deterministic: the excerpt is the text's first `--chars` characters, cut back to the last blank line
(so it ends between speeches), gzipped with no name and mtime 0, so the same source gives the same bytes.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]
OUT = REPO / "python" / "forgenet" / "datasets" / "data" / "tinyshakespeare_excerpt.txt.gz"
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"  # karpathy/char-rnn input.txt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default="/work/shared/data/tinyshakespeare/input.txt")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--chars", type=int, default=150_000)
    args = ap.parse_args()

    raw = pathlib.Path(args.src).read_bytes()
    got = hashlib.sha256(raw).hexdigest()
    if got != SHA256:
        raise SystemExit(f"{args.src}: sha256 {got}, expected {SHA256} (not the char-rnn tiny Shakespeare)")
    head = raw[: args.chars]
    excerpt = head[: head.rindex(b"\n\n") + 1]  # end on a speech's last line
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=9, mtime=0) as gz:
        gz.write(excerpt)
    print(f"{out}: first {len(excerpt):,} characters, {out.stat().st_size:,} bytes gzipped, "
          f"sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
