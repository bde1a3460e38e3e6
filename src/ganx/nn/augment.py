"""Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient
GAN Training"): the same random colour, translation and cutout transforms are applied to real
and generated images before the discriminator sees them, in both D and G steps, so the
discriminator cannot memorise a small dataset and gradients still reach the generator.

Randomness comes from torch's global generator, which the engine seeds and checkpoints.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganx.core.networks import discriminator_layers

POLICIES = ("color", "translation", "cutout")
"""The transforms a policy may name; they are applied in the order the policy lists them."""


def parse_policy(text: str) -> tuple[str, ...]:
    """The transforms named in a comma-separated policy such as "color,translation" (empty: none);
    a ValueError names the first unknown one and the valid names."""
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in parts if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; valid: {', '.join(POLICIES)}")
    return parts


def color(x: torch.Tensor) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5), per image."""
    n = x.shape[0]
    x = x + (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size, filling with zeros."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx
    padded = F.pad(x, (1, 1, 1, 1))  # a zero border to read from when shifted out of range
    rows = (rows + 1).clamp(0, h + 1).expand(n, h, w)
    cols = (cols + 1).clamp(0, w + 1).expand(n, h, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of `ratio` of the image side at a random position in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + 1 - ch % 2, (n, 1, 1), device=x.device) - ch // 2
    left = torch.randint(0, w + 1 - cw % 2, (n, 1, 1), device=x.device) - cw // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~hole).unsqueeze(1).to(x.dtype)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


class AugmentedDiscriminator(nn.Module):
    """Wraps a discriminator: in training mode, its inputs are augmented first."""

    def __init__(self, discriminator: nn.Module, policy: tuple[str, ...]) -> None:
        super().__init__()
        self.discriminator, self.policy = discriminator, policy

    def layers(self) -> list[nn.Module]:
        """The wrapped discriminator's layers (what FreezeD counts)."""
        return discriminator_layers(self.discriminator)

    def forward(self, x: torch.Tensor, *conditions: torch.Tensor) -> torch.Tensor:
        if self.training:
            for name in self.policy:
                x = TRANSFORMS[name](x)
        logits: torch.Tensor = self.discriminator(x, *conditions)
        return logits
