"""Make python/forgenet/datasets/data/mnist_sample.npz: a small, class-balanced sample of real MNIST.

    python scripts/make_mnist_sample.py [--src /work/shared/data/mnist] [--out ...]

Deterministic: the same source files give a byte-identical npz. It keeps `per_class_train` images of
each digit from the training set and `per_class_test` from t10k, chosen by a seeded generator and kept
in their original order; the chosen indices are stored beside the arrays (train_indices, test_indices).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import pathlib
import zipfile

import numpy as np

from forgenet.datasets.mnist import load_data

REPO = pathlib.Path(__file__).resolve().parents[1]
OUT = REPO / "python" / "forgenet" / "datasets" / "data" / "mnist_sample.npz"
SEED = 20261129

# sha256 of the original gzipped files (published MD5s match; see /work/shared/data/README.md)
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}


def pick(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    idx = [rng.choice(np.flatnonzero(y == d), size=per_class, replace=False) for d in range(10)]
    return np.sort(np.concatenate(idx)).astype(np.int32)


def write_npz(path: pathlib.Path, arrays: dict[str, np.ndarray]) -> None:
    # np.savez_compressed stamps the current time into the zip; fixed timestamps keep it reproducible
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default="/work/shared/data/mnist")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--per-class-train", type=int, default=600)
    ap.add_argument("--per-class-test", type=int, default=100)
    args = ap.parse_args()

    src = pathlib.Path(args.src)
    for name, digest in SHA256.items():
        got = hashlib.sha256((src / name).read_bytes()).hexdigest()
        if got != digest:
            raise SystemExit(f"{src / name}: sha256 {got}, expected {digest} (not the original MNIST file)")
    (x_train, y_train), (x_test, y_test) = load_data(src)

    rng = np.random.default_rng(SEED)
    tr = pick(y_train, args.per_class_train, rng)
    te = pick(y_test, args.per_class_test, rng)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(out, {"x_train": x_train[tr], "y_train": y_train[tr], "x_test": x_test[te],
                    "y_test": y_test[te], "train_indices": tr, "test_indices": te})
    print(f"{out}: {len(tr)} train + {len(te)} test images, {out.stat().st_size:,} bytes, "
          f"sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
