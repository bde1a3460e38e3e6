"""StyleGAN2's residual discriminator (Karras et al. 2020), written for ganx from the paper:
fromRGB at full resolution, residual blocks that halve the resolution (two 3x3 convolutions
beside a 1x1 skip, summed and scaled by 1/sqrt(2)), then at 4x4 the minibatch standard deviation
(Karras et al. 2018: a feature map of how much samples in a group differ, so a collapsed batch
is easy to spot), a convolution and two fully connected layers. Class-conditional through a
projection term (Miyato & Koyama 2018). Equalized learning rate throughout.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .equalized import EqualConv2d, EqualLinear
from .stylegan2 import stylegan_channels


class DiscriminatorBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3, activation=True)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3, activation=True, down=True)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False, down=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = (self.skip(x) + self.conv1(self.conv0(x))) * (1.0 / math.sqrt(2.0))
        return out


def group_size(n: int, largest: int) -> int:
    """The largest group size up to `largest` that divides a batch of `n`."""
    return next(g for g in range(min(largest, n), 0, -1) if n % g == 0)


def minibatch_std(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """`x` with one more channel: the mean standard deviation of its features over each group of
    samples (groups of up to `group` that divide the batch), the same for the whole group."""
    n, c, h, w = x.shape
    g = group_size(n, group)
    y = x.float().reshape(g, n // g, c, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (n // g,)
    y = y.reshape(1, n // g, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y.to(x.dtype)], dim=1)


class StyleGAN2Discriminator(nn.Module):
    """Images (N, channels, resolution, resolution) to one logit each, shape (N,); with
    `num_classes`, call it as `D(x, labels)`. `width` as for `StyleGAN2Generator`."""

    def __init__(self, channels: int, resolution: int, width: int = 64,
                 num_classes: int = 0, mbstd_group: int = 4) -> None:
        super().__init__()
        if resolution < 8 or resolution > 256 or resolution & (resolution - 1):
            raise ValueError(f"StyleGAN2Discriminator: resolution {resolution}; use a power of"
                             " two from 8 to 256")
        self.mbstd_group = mbstd_group
        sizes = [2 ** i for i in range(int(math.log2(resolution)), 2, -1)]  # e.g. 32, 16, 8
        self.from_rgb = EqualConv2d(channels, stylegan_channels(resolution, width, resolution),
                                    1, activation=True)
        self.blocks = nn.Sequential(*(
            DiscriminatorBlock(stylegan_channels(resolution, width, size),
                               stylegan_channels(resolution, width, size // 2))
            for size in sizes))
        top = stylegan_channels(resolution, width, 4)
        self.conv = EqualConv2d(top + 1, top, 3, activation=True)
        self.fc = EqualLinear(top * 16, top, activation=True)
        self.out = EqualLinear(top, 1)
        self.embed = EqualLinear(num_classes, top) if num_classes else None
        self.num_classes = num_classes

    def layers(self) -> list[nn.Module]:
        """Its layers from the input on (what FreezeD counts)."""
        last = [self.out] + ([self.embed] if self.embed is not None else [])
        return [self.from_rgb, *self.blocks, self.conv, self.fc, *last]

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.blocks(self.from_rgb(x))
        h = self.conv(minibatch_std(h, self.mbstd_group))
        h = self.fc(h.flatten(1))
        logits: torch.Tensor = self.out(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            onehot = torch.nn.functional.one_hot(labels.long(), self.num_classes).to(h.dtype)
            logits = logits + (self.embed(onehot) * h).sum(1) / math.sqrt(h.shape[1])
        return logits
