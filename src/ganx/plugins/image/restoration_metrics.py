"""Restoration quality: PSNR and SSIM of restored images against their clean targets.

Both are computed on images in [-1, 1] (data range 2), per image, then averaged; SSIM uses the
standard 11x11 Gaussian window with sigma 1.5 (Wang et al. 2004), via torchmetrics.
"""

from __future__ import annotations

import torch


def restoration_metrics(fake: torch.Tensor, real: torch.Tensor, cfg) -> dict[str, float]:
    from torchmetrics.functional.image import (
        peak_signal_noise_ratio,
        structural_similarity_index_measure,
    )

    if fake.shape != real.shape:
        raise ValueError(f"restored images {tuple(fake.shape)} and targets {tuple(real.shape)}"
                         " differ in shape")
    fake, real = fake.float().clamp(-1, 1), real.float()
    psnr = peak_signal_noise_ratio(fake, real, data_range=2.0, dim=(1, 2, 3))
    ssim = structural_similarity_index_measure(fake, real, data_range=2.0)
    return {"psnr": float(psnr), "ssim": float(ssim), "n": float(len(fake))}
