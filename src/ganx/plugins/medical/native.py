"""Restoring one slice of a user's volume at the pixel size the model was trained at.

A restoration model learns noise and anatomy at one scale: training slices have square pixels
of fov_mm / resolution mm. A slice of another pixel size is resampled to that scale (bilinear,
antialiased: the resampling of training), restored in overlapping tiles of `resolution` pixels
(`ganx.nn.restore_image`), and resampled back onto its own grid, so the output has exactly the
input's shape. Inpainting keeps the known pixels of the input at its own resolution and fills
only the holes.
"""

from __future__ import annotations

import numpy as np
import torch

from ganx.nn import restore_image

from . import slicing


def training_pixel_mm(cfg) -> float | None:
    """The in-plane pixel size (mm) of the run's training slices; None when the config does not
    say (fov_mm unresolved)."""
    return cfg.fov_mm / cfg.resolution if cfg.fov_mm > 0 else None


@torch.no_grad()
def restore_slice(generator: torch.nn.Module, image: np.ndarray, known: np.ndarray | None,
                  spacing: tuple[float, float], pixel_mm: float | None, resolution: int,
                  device: torch.device) -> np.ndarray:
    """One slice in [0, 1] (rows, cols) with pixel `spacing` (mm), restored at `pixel_mm` (None:
    at its own pixel size); `known` (inpainting) is True where pixels are kept. Returns
    (rows, cols) in [0, 1]."""
    shape = (int(image.shape[0]), int(image.shape[1]))
    scaled = shape if pixel_mm is None else slicing.scaled_shape(shape, spacing, pixel_mm)
    x = torch.from_numpy(slicing.resize(image, scaled))[None] * 2.0 - 1.0
    if known is not None:
        # a pixel is known at the training scale only when no hole pixel went into it, so no
        # blanked value is passed off as known (the filter weights of the image and the mask
        # are the same)
        scaled_known = slicing.resize(known.astype(np.float32), scaled) >= 1.0 - 1e-4
        mask = torch.from_numpy(scaled_known)[None].float()
        x = torch.cat([x * mask, mask])
    out = restore_image(generator, x, resolution, 1, device)
    restored = ((out[0].clamp(-1, 1) + 1.0) / 2.0).numpy()
    restored = slicing.resize(restored, shape)
    if known is not None:
        restored = np.where(known, image, restored)
    return restored.astype(np.float32)
