"""MLP generator and discriminator for 2-D points."""

from __future__ import annotations

import torch
from torch import nn


def _mlp(inputs: int, hidden: int, depth: int, outputs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = inputs
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """MLP from the latent to points in unit scale, then scaled to the data's extent."""

    def __init__(self, latent_dim: int, hidden: int, depth: int, scale: float = 1.0) -> None:
        super().__init__()
        self.net = _mlp(latent_dim, hidden, depth, 2)
        self.scale = scale

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z) * self.scale


class Discriminator(nn.Module):
    """MLP from points (brought to unit scale) to one logit each."""

    def __init__(self, hidden: int, depth: int, scale: float = 1.0) -> None:
        super().__init__()
        self.net = _mlp(2, hidden, depth, 1)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x / self.scale).squeeze(1)
