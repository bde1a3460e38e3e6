"""MLP generator and discriminator for 2-D points."""

from __future__ import annotations

import torch
from torch import nn

from ganx.nn import MLP


class Generator(nn.Module):
    """MLP from the latent to points in unit scale, then scaled and shifted to the data's place."""

    def __init__(self, latent_dim: int, hidden: int, depth: int, scale: float = 1.0,
                 offset: tuple[float, float] = (0.0, 0.0)) -> None:
        super().__init__()
        self.net = MLP(latent_dim, 2, hidden, depth)
        self.scale, self.offset = scale, offset

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.net(z) * self.scale
        if self.offset != (0.0, 0.0):
            out = out + torch.tensor(self.offset, dtype=out.dtype, device=out.device)
        return out


class Discriminator(nn.Module):
    """MLP from points (brought to unit scale) to one logit each."""

    def __init__(self, hidden: int, depth: int, scale: float = 1.0,
                 offset: tuple[float, float] = (0.0, 0.0)) -> None:
        super().__init__()
        self.net = MLP(2, 1, hidden, depth)
        self.scale, self.offset = scale, offset

    def layers(self) -> list[nn.Module]:
        """Its Linear layers from the input on (what `freeze_d` counts)."""
        return self.net.layers()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.offset != (0.0, 0.0):
            x = x - torch.tensor(self.offset, dtype=x.dtype, device=x.device)
        return self.net(x / self.scale).squeeze(1)
