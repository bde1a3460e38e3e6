"""Build src/ganx/plugins/image/data/fashion-mnist-mini-*: the first 800 training images of
each Fashion-MNIST class, in the original IDX format, gzipped.

    apt-get install dataset-fashion-mnist
    python tools/make_fashion_mnist_mini.py
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

SOURCE = Path("/usr/share/datasets/fashion-mnist")
OUT = Path(__file__).resolve().parents[1] / "src/ganx/plugins/image/data"
PER_CLASS = 800


def read(name: str, offset: int) -> tuple[bytes, np.ndarray]:
    with gzip.open(SOURCE / name) as fh:
        data = fh.read()
    return data[:offset], np.frombuffer(data, dtype=np.uint8, offset=offset)


def main() -> None:
    _, labels = read("train-labels-idx1-ubyte.gz", 8)
    _, images = read("train-images-idx3-ubyte.gz", 16)
    images = images.reshape(-1, 28, 28)
    keep = np.sort(np.concatenate([np.flatnonzero(labels == c)[:PER_CLASS] for c in range(10)]))
    n = len(keep)
    label_header = (2049).to_bytes(4, "big") + n.to_bytes(4, "big")
    image_header = b"".join(x.to_bytes(4, "big") for x in (2051, n, 28, 28))
    # mtime=0 keeps the files byte-for-byte reproducible
    with gzip.GzipFile(OUT / "fashion-mnist-mini-labels-idx1-ubyte.gz", "wb", 9, mtime=0) as fh:
        fh.write(label_header + labels[keep].tobytes())
    with gzip.GzipFile(OUT / "fashion-mnist-mini-images-idx3-ubyte.gz", "wb", 9, mtime=0) as fh:
        fh.write(image_header + images[keep].tobytes())
    print(f"wrote {n} images to {OUT}")


if __name__ == "__main__":
    main()
