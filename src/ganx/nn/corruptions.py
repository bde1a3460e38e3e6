"""Corruptions for restoration tasks, generated on the device from clean images in [-1, 1].

Randomness comes from torch's global generator, which the engine seeds and checkpoints.
- inpaint: one square hole per image, side `mask_size` x resolution, at a uniform position,
  filled with 0 (mid grey); the mask (1 = known pixel) is appended as an extra channel.
- denoise: additive Gaussian noise of standard deviation `noise_std` (in [-1, 1] units, so 0.2 is
  10% of the range), clamped to the valid range.
- superres: average-pooled by `scale`, then upsampled back (bilinear) to the full size, so the
  generator maps a blurry full-size image to a sharp one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def input_channels(task: str, channels: int) -> int:
    """Channels of the corrupted input the generator and discriminator receive."""
    return channels + 1 if task == "inpaint" else channels


def inpaint(images: torch.Tensor, mask_size: float) -> torch.Tensor:
    """(N, C, H, W) to (N, C + 1, H, W): one square hole per image, side `mask_size` x the
    shorter side, filled with 0, and the known-pixel mask (1 = known) as the last channel."""
    n, _, h, w = images.shape
    side = max(1, round(mask_size * min(h, w)))
    top = torch.randint(0, h - side + 1, (n, 1, 1), device=images.device)
    left = torch.randint(0, w - side + 1, (n, 1, 1), device=images.device)
    rows = torch.arange(h, device=images.device).view(1, h, 1)
    cols = torch.arange(w, device=images.device).view(1, 1, w)
    hole = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
    known = (~hole).unsqueeze(1).to(images.dtype)
    return torch.cat([images * known, known], dim=1)


def denoise(images: torch.Tensor, noise_std: float) -> torch.Tensor:
    """`images` plus Gaussian noise of standard deviation `noise_std`, clamped to [-1, 1]."""
    return (images + noise_std * torch.randn_like(images)).clamp_(-1, 1)


def superres(images: torch.Tensor, scale: int) -> torch.Tensor:
    """`images` average-pooled by `scale` and upsampled back (bilinear) to their own size."""
    small = F.avg_pool2d(images, scale)
    return F.interpolate(small, size=images.shape[-2:], mode="bilinear", align_corners=False)


def corrupt(images: torch.Tensor, task: str, *, mask_size: float, noise_std: float,
            scale: int) -> torch.Tensor:
    """The corrupted input of restoration `task` (inpaint, denoise or superres) for clean
    `images`; a ValueError for another task."""
    if task == "inpaint":
        return inpaint(images, mask_size)
    if task == "denoise":
        return denoise(images, noise_std)
    if task == "superres":
        return superres(images, scale)
    raise ValueError(f"unknown restoration task {task!r}")


def visible(corrupted: torch.Tensor, channels: int) -> torch.Tensor:
    """The image part of a corrupted input (drops the inpainting mask channel)."""
    return corrupted[:, :channels]
