"""The `medical-memorisation` metric (`ganx evaluate` on medical generation runs): how much
closer generated slices are to their nearest training slice than training slices are to their
nearest other one (leave-one-out: the data has no held-out split), in `medical-fid`'s feature
space, with a picture of the closest pairs (`ganx.metrics.image_memorisation`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganx.core.evaluation import current_evaluation
from ganx.metrics import image_feature_extractor, image_memorisation

TRAIN_LIMIT = 10_000


def memorisation_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    context = current_evaluation()
    train = real[:, :1].float()
    if context is not None:
        from . import sources
        from .domain import map_names, slice_settings

        slices = sources.load(context.data, slice_settings(cfg), maps=map_names(cfg),
                              frame=cfg.frame).slices
        if len(slices) > TRAIN_LIMIT:
            slices = slices[np.random.default_rng(0).permutation(len(slices))[:TRAIN_LIMIT]]
        train = torch.from_numpy(slices[:, :1]).float().div_(32768.0)
    net = image_feature_extractor(real.shape[-1], 1, fallback="random")
    return image_memorisation(net, fake[:, :1].float(), train, namespace="medical",
                              out_dir=context.out_dir if context else None,
                              step=context.step if context else 0)
