"""Where images come from: named datasets, folders of files, and the cache that holds them
resized as uint8.

Named datasets:
- `fashion-mnist-mini`: 8,000 Fashion-MNIST training images (800 per class) shipped inside ganx
  (MIT, Zalando; see data/NOTICE). Always available: the default.
- `fashion-mnist`: the full 60,000 training images from the Debian package
  `dataset-fashion-mnist` (`apt-get install dataset-fashion-mnist`).
- `digits`: scikit-learn's 1,797 8x8 handwritten digits (`pip install scikit-learn`).

Anything else is a path: a folder searched recursively for PNG, JPEG, WebP, BMP and TIFF files.
If every image sits in a first-level subfolder, the subfolder names are the class labels.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ganx.core import cache
from ganx.core.errors import ConfigError, RunError, did_you_mean

log = logging.getLogger("ganx")

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
FASHION_CLASSES = ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                   "sneaker", "bag", "ankle boot"]
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
CACHE_VERSION = 1


@dataclass
class ImageSet:
    """Images as uint8 (N, C, H, W), optional int64 labels (N,), and the class names."""

    images: np.ndarray
    labels: np.ndarray | None = None
    classes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class NamedSource:
    name: str
    description: str
    available: Callable[[], str | None]
    """None when usable here, else what to install."""
    load: Callable[[], ImageSet]
    identity: Callable[[], str]


def read_idx(path: Path, kind: str) -> np.ndarray:
    """Read a (gzipped) IDX file of Fashion-MNIST/MNIST: images (N, 28, 28) or labels (N,)."""
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    if kind == "images":
        n, rows, cols = (int.from_bytes(data[i: i + 4], "big") for i in (4, 8, 12))
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows, cols)
    return np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64)


def _packaged(name: str) -> Path:
    return Path(str(resources.files("ganx.plugins.image") / "data" / name))


def _load_mini() -> ImageSet:
    images = read_idx(_packaged("fashion-mnist-mini-images-idx3-ubyte.gz"), "images")
    labels = read_idx(_packaged("fashion-mnist-mini-labels-idx1-ubyte.gz"), "labels")
    return ImageSet(images[:, None], labels, list(FASHION_CLASSES))


def _load_debian_fashion() -> ImageSet:
    images = read_idx(DEBIAN_FASHION / "train-images-idx3-ubyte.gz", "images")
    labels = read_idx(DEBIAN_FASHION / "train-labels-idx1-ubyte.gz", "labels")
    return ImageSet(images[:, None], labels, list(FASHION_CLASSES))


def _debian_missing() -> str | None:
    if (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").is_file():
        return None
    return "apt-get install dataset-fashion-mnist"


def _sklearn_missing() -> str | None:
    try:
        import sklearn.datasets  # noqa: F401
    except ImportError:
        return "pip install scikit-learn"
    return None


def _load_digits() -> ImageSet:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # pixel values are 0..16
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    return ImageSet(images, digits.target.astype(np.int64), [str(i) for i in range(10)])


def _file_identity(*paths: Path) -> str:
    return ";".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths if p.exists())


NAMED: dict[str, NamedSource] = {
    s.name: s for s in (
        NamedSource("fashion-mnist-mini",
                    "8,000 Fashion-MNIST training images, 28x28 grey, 10 classes (ships with ganx)",
                    lambda: None, _load_mini,
                    lambda: f"fashion-mnist-mini:{CACHE_VERSION}"),
        NamedSource("fashion-mnist",
                    "Fashion-MNIST, 60,000 training images, 28x28 grey, 10 classes (Debian)",
                    _debian_missing, _load_debian_fashion,
                    lambda: _file_identity(DEBIAN_FASHION / "train-images-idx3-ubyte.gz")),
        NamedSource("digits", "scikit-learn handwritten digits, 1,797 images, 8x8 grey, 10 classes",
                    _sklearn_missing, _load_digits, lambda: "sklearn-digits:1"),
    )
}
DEFAULT = "fashion-mnist-mini"


# -- folders --------------------------------------------------------------------------------------

def list_image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS
                  and p.is_file() and not any(part.startswith(".") for part in
                                              p.relative_to(root).parts))


def _decode(path: Path, resolution: int, mode: str) -> np.ndarray | str:
    """One image as uint8 (C, H, W): centre-cropped to a square, resized; or the error text."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            im = im.convert(mode)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return f"{path}: {type(exc).__name__}"
    except Exception as exc:  # decoders of damaged files raise anything (SyntaxError, ...)
        return f"{path}: {type(exc).__name__}"
    w, h = im.size
    if w == 0 or h == 0:
        return f"{path}: empty image"
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    im = im.crop((left, top, left + side, top + side))
    if side != resolution:
        im = im.resize((resolution, resolution), Image.Resampling.LANCZOS)
    array = np.asarray(im, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _folder_mode(files: list[Path], channels: int) -> str:
    if channels in (1, 3):
        return "L" if channels == 1 else "RGB"
    from PIL import Image

    for path in files[:64]:  # a sample decides grey or colour
        try:
            with Image.open(path) as im:
                if im.mode not in ("L", "LA", "I", "I;16", "1", "F"):
                    return "RGB"
        except Exception:  # unreadable files are reported when decoded
            continue
    return "L"


def load_folder(root: Path, resolution: int, channels: int) -> ImageSet:
    if not root.exists():
        raise ConfigError(f"--data {root}: no such folder (and not a dataset name; known: "
                          f"{', '.join(NAMED)})")
    if not root.is_dir():
        raise ConfigError(f"--data {root}: not a folder of images")
    files = list_image_files(root)
    if not files:
        raise ConfigError(f"--data {root}: no image files found (looked for "
                          f"{', '.join(sorted(IMAGE_EXTENSIONS))} recursively)")
    mode = _folder_mode(files, channels)
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        decoded = list(pool.map(lambda p: _decode(p, resolution, mode), files))
    good = [(f, d) for f, d in zip(files, decoded, strict=True) if not isinstance(d, str)]
    skipped = [d for d in decoded if isinstance(d, str)]
    if not good:
        raise ConfigError(f"--data {root}: none of the {len(files)} image files could be read"
                          f" (first: {skipped[0]})")
    rel = [f.relative_to(root) for f, _ in good]
    labels, classes = None, []
    if all(len(r.parts) >= 2 for r in rel):
        classes = sorted({r.parts[0] for r in rel})
        if len(classes) >= 2:
            index = {c: i for i, c in enumerate(classes)}
            labels = np.array([index[r.parts[0]] for r in rel], dtype=np.int64)
        else:
            classes = []
    images = np.stack([d for _, d in good])
    return ImageSet(images, labels, classes, skipped)


def resize_set(data: ImageSet, resolution: int, channels: int) -> ImageSet:
    """Bring an in-memory set to `resolution` (square) and `channels` (0 keeps them)."""
    from PIL import Image

    images = data.images
    if images.shape[-1] != resolution:
        mode = "L" if images.shape[1] == 1 else "RGB"
        out = []
        for img in images:
            pil = Image.fromarray(img[0] if mode == "L" else img.transpose(1, 2, 0), mode)
            out.append(np.asarray(pil.resize((resolution, resolution),
                                             Image.Resampling.LANCZOS), dtype=np.uint8))
        images = np.stack(out)
        images = images[:, None] if mode == "L" else images.transpose(0, 3, 1, 2)
    if channels == 3 and images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    elif channels == 1 and images.shape[1] == 3:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)[None, :, None, None]
        images = np.round((images * weights).sum(1, keepdims=True)).astype(np.uint8)
    return ImageSet(np.ascontiguousarray(images), data.labels, data.classes, data.skipped)


# -- the cache ------------------------------------------------------------------------------------

def cache_dir() -> Path:
    return cache.domain_dir("image")


def _folder_identity(root: Path) -> str:
    digest = hashlib.sha256()
    for path in list_image_files(root):
        st = path.stat()
        digest.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return f"folder:{root.resolve()}:{digest.hexdigest()}"


def load(data: str, resolution: int, channels: int) -> ImageSet:
    """The images for `--data` (a dataset name or a folder), at `resolution`, cached."""
    name = data or DEFAULT
    if name in NAMED:
        source = NAMED[name]
        missing = source.available()
        if missing:
            raise ConfigError(f"--data {name}: not installed on this machine; {missing}")
        identity, loader = source.identity(), source.load
    else:
        root = Path(name).expanduser()
        if not root.exists() and "/" not in name and "." not in name:
            raise ConfigError(f"--data {name}: no such folder or dataset"
                              f"{did_you_mean(name, NAMED)}")
        # for anything but a folder, load_folder explains what is wrong with it
        identity = _folder_identity(root) if root.is_dir() else str(root)

        def loader() -> ImageSet:
            return load_folder(root, resolution, channels)

    key = hashlib.sha256(f"{CACHE_VERSION}|{identity}|{resolution}|{channels}".encode())
    path = cache_dir() / f"{key.hexdigest()[:24]}.npz"
    cached = cache.load_arrays(path, "image cache")
    if cached is not None and {"images", "labels", "classes"} <= cached.keys():
        labels = cached["labels"] if cached["labels"].size else None
        return ImageSet(cached["images"], labels, [str(c) for c in cached["classes"]])
    result = resize_set(loader(), resolution, channels)
    if len(result.images) == 0:
        raise RunError(f"--data {name}: no images")
    cache.warn_skipped(result.skipped, "unreadable file(s)", name)
    cache.save_arrays(path, "image cache", {
        "images": result.images,
        "labels": result.labels if result.labels is not None else np.zeros(0, np.int64),
        "classes": np.array(result.classes, dtype=str)})
    return result


def heldout(data: str, resolution: int, channels: int) -> ImageSet | None:
    """Real images of `--data`'s distribution that are not in its training set (Fashion-MNIST's
    10,000 test images, from the Debian package), or None when the data has no such split."""
    test = DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz"
    if (data or DEFAULT) not in ("fashion-mnist", "fashion-mnist-mini") or not test.is_file():
        return None
    labels = read_idx(DEBIAN_FASHION / "t10k-labels-idx1-ubyte.gz", "labels")
    images = ImageSet(read_idx(test, "images")[:, None], labels, list(FASHION_CLASSES))
    return resize_set(images, resolution, channels)


SIZES = {"fashion-mnist-mini": 8000, "fashion-mnist": 60000, "digits": 1797}
"""Images in each named dataset."""


def count(data: str) -> int:
    """How many images `--data` holds (files in a folder, without decoding them)."""
    name = data or DEFAULT
    if name in SIZES:
        return SIZES[name]
    root = Path(name).expanduser()
    return len(list_image_files(root)) if root.is_dir() else 0


def peek(data: str) -> tuple[int, int]:
    """(channels, number of classes) of `--data` without decoding every image."""
    name = data or DEFAULT
    if name in NAMED:
        return 1, 10
    root = Path(name).expanduser()
    if not root.is_dir():
        load_folder(root, 1, 0)  # raises the right error for a missing or odd path
    files = list_image_files(root)
    if not files:
        raise ConfigError(f"--data {root}: no image files found (looked for "
                          f"{', '.join(sorted(IMAGE_EXTENSIONS))} recursively)")
    rel = [f.relative_to(root) for f in files]
    classes = len({r.parts[0] for r in rel}) if all(len(r.parts) >= 2 for r in rel) else 0
    return (1 if _folder_mode(files, 0) == "L" else 3), classes
