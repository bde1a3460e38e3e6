"""Exact quality metrics for mixtures with known modes.

A generated point is *high quality* when it lies within 3 standard deviations of its nearest mode
centre. A mode is *covered* when at least one high-quality point is nearest to it (the count used
by VEEGAN and PacGAN), and *balanced* when it holds at least `BALANCED_SHARE` of the high-quality
points a perfect generator would give it (n / K), which a few stray points cannot fake.
"""

from __future__ import annotations

import torch

from . import mixtures

BALANCED_SHARE = 0.1


def mode_metrics(fake: torch.Tensor, real: torch.Tensor, cfg) -> dict[str, float]:
    centers = torch.as_tensor(mixtures.centers(cfg.mixture), dtype=torch.float32)
    sigma = mixtures.std(cfg.mixture)
    points = fake.float().reshape(-1, 2)
    finite = torch.isfinite(points).all(dim=1)
    nearest_dist, nearest = torch.cdist(torch.nan_to_num(points), centers).min(dim=1)
    good = (nearest_dist <= 3 * sigma) & finite
    counts = torch.bincount(nearest[good], minlength=len(centers))
    fair_share = len(points) / len(centers)
    return {
        "modes_covered": float((counts >= 1).sum()),
        "modes_balanced": float((counts >= BALANCED_SHARE * fair_share).sum()),
        "modes_total": float(len(centers)),
        "high_quality": float(good.float().mean()),
    }


def point_metrics(fake: torch.Tensor, real: torch.Tensor, cfg) -> dict[str, float]:
    """For a user's own points, with no known modes: the Frechet distance between generated and
    real points (the points are their own features) and the k-NN precision and recall
    (Kynkäänniemi et al. 2019), built on ganx's public metrics."""
    from ganx.metrics import frechet_distance, precision_recall

    fake_points = fake.double().reshape(-1, 2).numpy()
    real_points = real.double().reshape(-1, 2).numpy()
    precision, recall = precision_recall(fake_points, real_points)
    return {"frechet": frechet_distance(fake_points, real_points), "precision": precision,
            "recall": recall}
