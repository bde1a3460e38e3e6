"""MLP generator and discriminator for 2-D points."""

from __future__ import annotations

import torch
from torch import nn

from ganx.nn import MLP


class Generator(nn.Module):
    """MLP from the latent to points in unit scale, then scaled to the data's extent."""

    def __init__(self, latent_dim: int, hidden: int, depth: int, scale: float = 1.0) -> None:
        super().__init__()
        self.net = MLP(latent_dim, 2, hidden, depth)
        self.scale = scale

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z) * self.scale


class Discriminator(nn.Module):
    """MLP from points (brought to unit scale) to one logit each."""

    def __init__(self, hidden: int, depth: int, scale: float = 1.0) -> None:
        super().__init__()
        self.net = MLP(2, 1, hidden, depth)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x / self.scale).squeeze(1)
