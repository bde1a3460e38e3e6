"""The `image-fid` metric (the `image` domain's default): FID, KID (± std) and k-NN
precision/recall (k = 3) from `ganx.metrics`, on the features of the network the run's
`eval_features` names (`features.evaluation_network`; GANX_IMAGE_FEATURES overrides it).

Results carry `feature_net` (2 Inception, 1 classifier, 0 random weights; metric values must be
floats) and the choice is logged. Numbers are comparable only between results with the same
`feature_net` and sample counts. Real-data statistics are cached under `$GANX_HOME/image/metrics`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch

from ganx.core.errors import RunError
from ganx.metrics import (
    FEATURE_NET_CODES,
    KNN_K,
    note_features,
    note_protocol,
    pixel_digest,
    reference_stats,
    score_features,
)

from .features import evaluation_network

log = logging.getLogger("ganx")


def _check_inputs(fake: torch.Tensor, real: torch.Tensor) -> None:
    if real.ndim != 4 or real.shape[1] not in (1, 3):
        raise RunError(f"image metrics expect (N, 1 or 3, H, W) images, got {tuple(real.shape)}")
    if fake.shape[1:] != real.shape[1:]:
        raise RunError(f"generated samples {tuple(fake.shape[1:])} differ from real samples"
                       f" {tuple(real.shape[1:])}")
    if min(len(fake), len(real)) <= KNN_K:
        raise RunError(f"image metrics need more than {KNN_K} samples per side"
                       f" (got {len(fake)} generated, {len(real)} real)")


def image_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    """The `image-fid` metric: FID, KID (± std), precision and recall (k = 3) of `fake` against
    `real` (N, C, H, W) in [-1, 1], with `feature_net` telling which network measured them."""
    _check_inputs(fake, real)
    net = evaluation_network(cfg, real.shape[-1], real.shape[1])
    code = FEATURE_NET_CODES[net.name]
    log.info("image-fid: features from %s (feature_net=%g)", net.description, code)
    note_features(net)
    env = os.environ.get("GANX_IMAGE_FEATURES")
    choice = f"GANX_IMAGE_FEATURES={env}" if env else getattr(cfg, "eval_features", "auto")
    note_protocol(feature_choice=choice, features_description=net.description)
    if net.name == "inception" and net.device.type == "cpu" and len(fake) > 500:
        log.warning("image-fid: Inception on the CPU runs at a few images/s; %d samples take"
                    " minutes (GANX_IMAGE_FEATURES=classifier is fast)", len(fake))
    ref = reference_stats(net, real, namespace="image", data_digest=pixel_digest(real))
    results = score_features(net(fake), ref)
    results.update(n_fake=float(len(fake)), n_real=float(len(real)), feature_net=code)
    return results
