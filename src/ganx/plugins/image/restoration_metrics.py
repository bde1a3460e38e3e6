"""Restoration quality (`image-restoration`): PSNR and SSIM of restored images against their
clean targets, on images in [-1, 1] (data range 2), per image, then averaged; SSIM uses the
standard 11x11 Gaussian window with sigma 1.5 (Wang et al. 2004), via `ganx.metrics`.
"""

from __future__ import annotations

from typing import Any

import torch

from ganx.metrics import psnr, ssim


def restoration_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    if fake.shape != real.shape:
        raise ValueError(f"restored images {tuple(fake.shape)} and targets {tuple(real.shape)}"
                         " differ in shape")
    fake, real = fake.float().clamp(-1, 1), real.float()
    return {"psnr": psnr(fake, real, data_range=2.0), "ssim": ssim(fake, real, data_range=2.0),
            "n": float(len(fake))}
