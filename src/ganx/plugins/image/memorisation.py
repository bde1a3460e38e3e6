"""The `image-memorisation` metric (`ganx evaluate` on image runs): how much closer generated
images are to their nearest training image than unseen real images are, in the feature space
`image-fid` uses (`ganx.metrics.memorisation_report`), with a picture of the closest pairs.

The baseline is Fashion-MNIST's test split when the Debian package is installed and the run
trained on Fashion-MNIST (the shipped subset is drawn from its training split), else
leave-one-out distances within the training set. Up to `TRAIN_LIMIT` training images (a fixed
random subset) are compared, and their features are cached with the FID statistics.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganx.core.evaluation import current_evaluation
from ganx.metrics import (
    image_feature_extractor,
    memorisation_report,
    pixel_digest,
    reference_stats,
    save_image_grid,
)

from . import sources

log = logging.getLogger("ganx")
TRAIN_LIMIT = 10_000


def _as_float(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(127.5).sub_(1.0)


def _training_images(data: str, cfg: Any, real: torch.Tensor) -> torch.Tensor:
    """The run's training images (up to TRAIN_LIMIT, a fixed random subset), or, outside an
    evaluation that names the data, the real images the metric was given."""
    if not data and current_evaluation() is None:
        return real
    images = sources.load(data, cfg.resolution, cfg.channels).images
    if len(images) > TRAIN_LIMIT:
        images = images[np.random.default_rng(0).permutation(len(images))[:TRAIN_LIMIT]]
    return _as_float(images)


def memorisation_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    context = current_evaluation()
    data = context.data if context is not None else ""
    train = _training_images(data, cfg, real)
    net = image_feature_extractor(real.shape[-1], real.shape[1])
    bank = reference_stats(net, train, namespace="image", data_digest=pixel_digest(train))
    kept = sources.heldout(data, cfg.resolution, cfg.channels)
    heldout = net(_as_float(kept.images)) if kept is not None else None
    report = memorisation_report(net(fake), bank.features, heldout)
    log.info("image-memorisation: %d generated vs %d training images (%s baseline, %s)",
             len(fake), len(train), "test-split" if kept is not None else "leave-one-out",
             net.description)
    if context is not None and context.out_dir is not None:
        _write_pairs(fake, train, report.closest, context.out_dir, context.step)
    return {**report.values, "memo_train_images": float(len(train))}


def _write_pairs(fake: torch.Tensor, train: torch.Tensor, closest: list[tuple[int, int, float]],
                 out_dir: Path, step: int) -> Path:
    """Two rows: the generated samples closest to the training set, and under each its nearest
    training image."""
    top = torch.stack([fake[i] for i, _, _ in closest])
    bottom = torch.stack([train[j] for _, j, _ in closest])
    path = out_dir / f"memorisation-step-{step:08d}.png"
    out_dir.mkdir(parents=True, exist_ok=True)
    save_image_grid(torch.cat([top, bottom]), path, nrow=len(closest))
    return path
