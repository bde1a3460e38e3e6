"""ResNet generator and spectral-norm discriminator in the style of SNGAN (Miyato et al. 2018),
with projection conditioning (Miyato & Koyama 2018) for labels.

G: latent -> 4x4 -> residual up-blocks (BatchNorm, ReLU, nearest upsampling, 3x3 convolutions)
-> BatchNorm, ReLU, 3x3 conv, tanh. With labels, a learned label embedding is concatenated to the
latent. D: residual down-blocks with spectral normalisation on every layer, ReLU, global sum
pooling, a linear logit plus the projection term <embed(y), features>.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class UpBlock(nn.Module):
    """A generator residual block that doubles the resolution: (N, c_in, H, W) to
    (N, c_out, 2H, 2W)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        out: torch.Tensor = h + self.skip(F.interpolate(x, scale_factor=2, mode="nearest"))
        return out


class DownBlock(nn.Module):
    """A spectrally normalised discriminator residual block; `down` halves the resolution with
    average pooling, `first` marks the block that sees raw pixels (no ReLU before it)."""

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool = False) -> None:
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = spectral_norm(nn.Conv2d(c_in, c_out, 3, 1, 1))
        self.conv2 = spectral_norm(nn.Conv2d(c_out, c_out, 3, 1, 1))
        self.skip = spectral_norm(nn.Conv2d(c_in, c_out, 1)) if c_in != c_out or down else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)  # the first block sees raw pixels
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.skip is not None:
            s = self.skip(s)
        if self.down:
            s = F.avg_pool2d(s, 2)
        return h + s


class ResNetGenerator(nn.Module):
    """Latent (N, latent_dim) to images (N, channels, resolution, resolution) in [-1, 1].

    Every residual block has `2 * width` channels. With `num_classes`, call it as
    `G(z, labels)`: a learned label embedding is concatenated to z.
    """

    def __init__(self, latent_dim: int, channels: int, resolution: int, width: int = 128,
                 num_classes: int = 0) -> None:
        super().__init__()
        ups = int(math.log2(resolution)) - 2
        self.width = width * 2
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        in_dim = latent_dim * (2 if num_classes else 1)
        self.linear = nn.Linear(in_dim, 4 * 4 * self.width)
        self.blocks = nn.Sequential(*[UpBlock(self.width, self.width) for _ in range(ups)])
        self.out = nn.Sequential(nn.BatchNorm2d(self.width), nn.ReLU(),
                                 nn.Conv2d(self.width, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels")
            z = torch.cat([z, self.embed(labels)], dim=1)
        h = self.linear(z).view(-1, self.width, 4, 4)
        images: torch.Tensor = self.out(self.blocks(h))
        return images


class ResNetDiscriminator(nn.Module):
    """Images (N, channels, resolution, resolution) to one logit each, shape (N,); spectral
    normalisation on every layer. With `num_classes`, call it as `D(x, labels)`: the projection
    term <embed(labels), features> is added to the logit."""

    def __init__(self, channels: int, resolution: int, width: int = 128,
                 num_classes: int = 0) -> None:
        super().__init__()
        downs = max(1, int(math.log2(resolution)) - 3)
        blocks = [DownBlock(channels, width, down=True, first=True)]
        blocks += [DownBlock(width, width, down=True) for _ in range(downs - 1)]
        blocks += [DownBlock(width, width, down=False) for _ in range(2)]
        self.blocks = nn.Sequential(*blocks)
        self.linear = spectral_norm(nn.Linear(width, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, width)) if num_classes else None

    def layers(self) -> list[nn.Module]:
        """Its residual blocks from the input on, then the output layers."""
        last = [self.linear] + ([self.embed] if self.embed is not None else [])
        return [*self.blocks, *last]

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        logits: torch.Tensor = self.linear(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            logits = logits + (self.embed(labels) * h).sum(1)
        return logits
