"""The `image-memorisation` metric (`ganx evaluate` on image runs): how much closer generated
images are to their nearest training image than unseen real images are, in the feature space
`image-fid` uses (`ganx.metrics.image_memorisation`), with a picture of the closest pairs.

The baseline is Fashion-MNIST's test split when the Debian package is installed and the run
trained on Fashion-MNIST (the shipped subset is drawn from its training split), else
leave-one-out distances within the training set. Up to `TRAIN_LIMIT` training images (a fixed
random subset) are compared, and their features are cached with the FID statistics.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from ganx.core.evaluation import current_evaluation
from ganx.metrics import image_memorisation, note_features

from . import sources
from .features import evaluation_network

log = logging.getLogger("ganx")
TRAIN_LIMIT = 10_000


def _as_float(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(127.5).sub_(1.0)


def _limited(images: np.ndarray) -> np.ndarray:
    if len(images) <= TRAIN_LIMIT:
        return images
    return images[np.random.default_rng(0).permutation(len(images))[:TRAIN_LIMIT]]


def memorisation_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    """Outside an evaluation (no run data known) the real images given stand for the training
    set."""
    context = current_evaluation()
    if context is None:
        train, kept = real, None
    else:
        train = _as_float(_limited(sources.load(context.data, cfg.resolution,
                                                cfg.channels).images))
        kept = sources.heldout(context.data, cfg.resolution, cfg.channels)
    net = evaluation_network(cfg, real.shape[-1], real.shape[1])
    note_features(net)
    log.info("image-memorisation: %d generated vs %d training images (%s baseline, %s)",
             len(fake), len(train), "test-split" if kept is not None else "leave-one-out",
             net.description)
    return image_memorisation(
        net, fake, train, _as_float(kept.images) if kept is not None else None,
        namespace="image", out_dir=context.out_dir if context else None,
        step=context.step if context else 0)
