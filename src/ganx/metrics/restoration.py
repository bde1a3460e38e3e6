"""Restoration quality of outputs against clean targets: PSNR and SSIM, per sample, averaged.

Both take tensors (N, ...) of one shape and the data range (the span of values the signal may
take: 2 for images in [-1, 1], 400 for CT in a 400 HU window), and compute through torchmetrics.
SSIM is Wang et al. (2004)'s with the 11x11 Gaussian window (sigma 1.5) and K1 = 0.01,
K2 = 0.03, averaged over every pixel, the image being reflect-padded by 5 pixels at its borders
(torchmetrics' convention; implementations that average only where the window fits inside the
image give slightly different values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import torch


def _check(estimate: torch.Tensor, target: torch.Tensor, what: str, min_dims: int) -> None:
    if estimate.shape != target.shape:
        raise ValueError(f"{what}: outputs {tuple(estimate.shape)} and targets"
                         f" {tuple(target.shape)} differ in shape")
    if estimate.ndim < min_dims:
        raise ValueError(f"{what}: expected a batch with at least {min_dims} dimensions, got"
                         f" shape {tuple(estimate.shape)}")


def psnr(estimate: torch.Tensor, target: torch.Tensor, *, data_range: float) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(data_range² / MSE), of each sample (over all
    dimensions but the first), averaged over the batch."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    _check(estimate, target, "psnr", 2)
    dims = tuple(range(1, estimate.ndim))
    value = peak_signal_noise_ratio(estimate, target, data_range=data_range, dim=dims)
    return float(value)


def ssim(estimate: torch.Tensor, target: torch.Tensor, *, data_range: float) -> float:
    """Structural similarity of images (N, C, H, W) (or volumes (N, C, D, H, W)), averaged over
    pixels, channels and the batch; at least 6 pixels a side (for the reflect padding)."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    _check(estimate, target, "ssim", 4)
    value = structural_similarity_index_measure(estimate, target, data_range=data_range)
    return float(cast("torch.Tensor", value))  # a tuple only when asked for the full SSIM map
