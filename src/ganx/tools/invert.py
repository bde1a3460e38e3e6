"""`ganx invert`: find the latents that reconstruct a user's images (GAN inversion by
optimisation). The files are read the way the domain reads training data (`build_dataset` on
the file or folder, then `prepare_batch`), so they are cropped, resized and scaled like the
run's data. The latent starts at the mean (`w_avg` in w for a mapping network, zero in z) and
Adam minimises the mean squared pixel error plus `feature_weight` times the squared distance of
features from a network that ships with ganx (`ganx.metrics`' image feature networks:
`classifier`, the small CNN trained on the shipped Fashion-MNIST subset; `inception`, the FID
Inception-v3; `random`, a fixed random CNN; or `none`). Applies to runs whose samples are
pictures (N, C, H, W): image and medical."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from ganx.core.calls import call_domain
from ganx.core.data import as_tensors
from ganx.core.domain import describe
from ganx.core.errors import ConfigError

from .latent import conditional_labels, decode, latent_kind, refuse_restoration, seed_latents

if TYPE_CHECKING:
    from ganx.api import TrainedGenerator

__all__ = ["FEATURES", "Inversion", "invert", "read_targets", "write_inversion"]

FEATURES = ("classifier", "inception", "random", "none")
MAX_ITEMS = 64


@dataclass
class Inversion:
    latents: torch.Tensor
    """(N, ...) on the CPU, in `space`."""
    space: str
    reconstructions: torch.Tensor
    targets: torch.Tensor
    psnr: list[float]
    ssim: list[float]


def read_targets(model: TrainedGenerator, source: Path, limit: int = MAX_ITEMS
                 ) -> tuple[torch.Tensor, list[str]]:
    """The items of a file or folder as the run's data (float, on the CPU) and their names."""
    if not source.exists():
        raise ConfigError(f"--input {source}: no such file or folder")
    cfg = model.config
    if getattr(cfg, "conditional", False):  # the user's files carry no labels
        cfg = dataclasses.replace(cfg, conditional=False)  # type: ignore[call-arg]
    with tempfile.TemporaryDirectory() as tmp:
        folder = source
        if source.is_file():  # the domains read folders: give the file one of its own
            folder = Path(tmp) / "input"
            folder.mkdir()
            shutil.copy(source, folder / source.name)
        tensors = as_tensors(call_domain(model.domain, "build_dataset", cfg, str(folder)))
    if not tensors or len(tensors[0]) == 0:
        raise ConfigError(f"--input {source}: {describe(model.domain)} read no items from it")
    stored = tensors[0][:limit]
    real, _ = call_domain(model.domain, "prepare_batch", cfg, (stored.to(model.device),))
    stem = source.stem.split(".")[0] if source.is_file() else "item"
    names = [stem] if len(real) == 1 and source.is_file() else \
        [f"{stem}-{i:03d}" for i in range(len(real))]
    return real.float(), names


def _features(kind: str, images: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor] | None:
    if kind == "none" or images.shape[1] not in (1, 3):
        return None
    from ganx.metrics.image_features import image_feature_extractor

    net = image_feature_extractor(images.shape[-1], images.shape[1], kind)
    module, prepare = net.module.to(images.device).eval(), net.prepare

    def features(x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = module(prepare((x.clamp(-1, 1) + 1) * 127.5))
        return out.float().reshape(len(x), -1)

    return features


def invert(model: TrainedGenerator, targets: torch.Tensor, *, steps: int = 200, lr: float = 0.05,
           features: str = "classifier", feature_weight: float = 1.0) -> Inversion:
    """Optimise one latent per target; the reconstructions and their PSNR/SSIM."""
    refuse_restoration(model, "ganx invert")
    if features not in FEATURES:
        raise ConfigError(f"--features {features}: use one of {', '.join(FEATURES)}")
    if steps < 1:
        raise ConfigError(f"--steps {steps}: use 1 or more")
    targets = targets.to(model.device)
    n, space = len(targets), latent_kind(model)
    labels = conditional_labels(model, 1)
    labels = None if labels is None else labels[:1].expand(n)
    if space == "w":
        w_avg: torch.Tensor = getattr(model.generator, "w_avg")  # noqa: B009
        start = w_avg.detach()[None].expand(n, -1)
    else:
        start = torch.zeros(n, *seed_latents(model, 1, 0).shape[1:], device=model.device)
    latent = start.clone().requires_grad_(True)
    probe = decode(model, latent.detach(), labels=labels, space=space)
    if probe.ndim != 4 or probe.shape != targets.shape:
        raise ConfigError(f"{describe(model.domain)}: invert applies to image and medical runs"
                          f" (pictures); this run makes {tuple(probe.shape[1:])}, the input"
                          f" holds {tuple(targets.shape[1:])}")
    feature_fn = _features(features, targets)
    goal = None if feature_fn is None else feature_fn(targets).detach()
    optimizer = torch.optim.Adam([latent], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        out = decode(model, latent, labels=labels, space=space, grad=True)
        loss = F.mse_loss(out, targets)
        if feature_fn is not None and goal is not None:
            loss = loss + feature_weight * F.mse_loss(feature_fn(out), goal)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    final = decode(model, latent.detach(), labels=labels, space=space).cpu()
    return Inversion(latent.detach().cpu(), space, final, targets.cpu(),
                     *_quality(final, targets.cpu()))


def _quality(estimate: torch.Tensor, target: torch.Tensor) -> tuple[list[float], list[float]]:
    from ganx.metrics.restoration import psnr, ssim

    pairs = [(e[None], t[None]) for e, t in zip(estimate, target, strict=True)]
    return ([psnr(e, t, data_range=2.0) for e, t in pairs],
            [ssim(e, t, data_range=2.0) for e, t in pairs])


def write_inversion(model: TrainedGenerator, result: Inversion, names: list[str],
                    out_dir: Path) -> list[Path]:
    """NAME.z.npy or NAME.w.npy (the latent, an end point for `ganx interpolate`) per item,
    and the domain's picture of the reconstructions (and of the targets)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, latent in zip(names, result.latents, strict=True):
        path = out_dir / f"{name}.{result.space}.npy"
        np.save(path, latent[None].numpy())
        paths.append(path)
    for tag, images in (("reconstruction", result.reconstructions), ("target", result.targets)):
        paths += call_domain(model.domain, "write_samples", model.config, images, out_dir, tag)
    return paths
