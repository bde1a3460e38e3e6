"""Exact quality metrics for mixtures with known modes.

A generated point is *high quality* when it lies within 3 standard deviations of its nearest mode
centre. A mode is *covered* when it holds at least `COVER_SHARE` of the high-quality points a
perfect generator would give it (n / K), so a handful of stray points does not count as a mode.
"""

from __future__ import annotations

import torch

from . import mixtures

COVER_SHARE = 0.1


def mode_metrics(fake: torch.Tensor, real: torch.Tensor, cfg) -> dict[str, float]:
    centers = torch.as_tensor(mixtures.centers(cfg.mixture), dtype=torch.float32)
    sigma = mixtures.std(cfg.mixture)
    dist = torch.cdist(fake.float().reshape(-1, 2), centers)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= 3 * sigma
    counts = torch.bincount(nearest[good], minlength=len(centers))
    expected = len(fake) / len(centers)
    return {
        "modes_covered": float((counts >= COVER_SHARE * expected).sum()),
        "modes_total": float(len(centers)),
        "high_quality": float(good.float().mean()),
    }
