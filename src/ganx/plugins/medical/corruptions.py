"""Corruptions for the restoration tasks, made on the device from clean slices in [-1, 1].

Noise models of `task=denoise` (all in image space, on the slices the network sees):
- CT, reduced dose: quantum noise grows as 1/sqrt(dose), so an image taken at `dose_fraction`
  of the dose has noise sigma_full / sqrt(dose_fraction). Starting from a full-dose image that
  already holds noise of standard deviation `ct_noise_hu`, the missing part is zero-mean
  Gaussian noise of standard deviation ct_noise_hu * sqrt(1 / dose_fraction - 1) HU, added in
  HU and clipped to the window. (Real low-dose noise is spatially correlated and streaky; this
  white-noise model is the usual first approximation.)
- MR: Rician noise, as in magnitude images: |x + n1 + i n2| with n1, n2 ~ N(0, noise_sigma^2),
  on the normalised intensity (0..1 of the robust range).
- Radiographs: additive Gaussian noise of standard deviation `noise_sigma`, normalised units.

`task=inpaint` makes the image domain's square holes (`ganx.nn.inpaint`).
Randomness comes from torch's global generator, which the engine seeds and checkpoints.
"""

from __future__ import annotations

import math

import torch

from ganx.nn import inpaint

from .intensity import window_range


def ct_added_noise_hu(ct_noise_hu: float, dose_fraction: float) -> float:
    """Standard deviation (HU) of the noise that turns a full-dose image into one at
    `dose_fraction` of the dose."""
    return ct_noise_hu * math.sqrt(1.0 / dose_fraction - 1.0)


def low_dose_ct(images: torch.Tensor, window: str, ct_noise_hu: float,
                dose_fraction: float) -> torch.Tensor:
    low, high = window_range(window)
    sigma = ct_added_noise_hu(ct_noise_hu, dose_fraction) * 2.0 / (high - low)  # in [-1, 1] units
    return (images + sigma * torch.randn_like(images)).clamp_(-1, 1)


def rician(images: torch.Tensor, sigma: float) -> torch.Tensor:
    unit = (images + 1.0) / 2.0
    real = unit + sigma * torch.randn_like(unit)
    imaginary = sigma * torch.randn_like(unit)
    return (torch.sqrt(real * real + imaginary * imaginary).clamp_(0, 1) * 2.0 - 1.0)


def gaussian(images: torch.Tensor, sigma: float) -> torch.Tensor:
    return (images + 2.0 * sigma * torch.randn_like(images)).clamp_(-1, 1)


def corrupt(images: torch.Tensor, cfg) -> torch.Tensor:
    """The generator's input for clean `images` under `cfg` (task, modality, noise settings)."""
    if cfg.task == "inpaint":
        return inpaint(images, cfg.mask_size)
    if cfg.modality == "CT":
        return low_dose_ct(images, cfg.window, cfg.ct_noise_hu, cfg.dose_fraction)
    if cfg.modality == "MR":
        return rician(images, cfg.noise_sigma)
    return gaussian(images, cfg.noise_sigma)


def input_channels(task: str) -> int:
    """Channels of the corrupted input: the slice, plus the known-pixel mask for inpainting."""
    return 2 if task == "inpaint" else 1
