"""Restoration networks in the pix2pix style (Isola et al. 2017): a U-Net generator conditioned on
the corrupted image, and a PatchGAN discriminator on (candidate, corrupted input) pairs."""

from __future__ import annotations

import math

import torch
from torch import nn

from .dcgan import dcgan_init
from .layers import weight_layers


def _depth(resolution: int) -> int:
    return int(math.log2(resolution)) - 2  # down to 4x4


class UNetGenerator(nn.Module):
    """Encoder of stride-2 convolutions down to 4x4, decoder of transposed convolutions with skip
    connections from the encoder. The latent is ignored: like pix2pix, the mapping is
    deterministic given the input.

    The output starts where the input is, so training begins at the corrupted image instead of
    noise: for `inpaint` the known pixels are kept and only the hole is generated; for the other
    tasks the network predicts a correction in tanh-space, `tanh(atanh(input) + correction)`.
    """

    def __init__(self, in_channels: int, out_channels: int, resolution: int,
                 width: int = 64, task: str = "denoise") -> None:
        super().__init__()
        self.out_channels, self.task = out_channels, task
        depth = _depth(resolution)
        widths = [min(width * 2 ** i, width * 8) for i in range(depth)]
        self.down = nn.ModuleList()
        previous = in_channels
        for i, w in enumerate(widths):
            layers: list[nn.Module] = [nn.Conv2d(previous, w, 4, 2, 1, bias=i == 0)]
            if i > 0:
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            self.down.append(nn.Sequential(*layers))
            previous = w
        self.up = nn.ModuleList()
        for i in reversed(range(1, depth)):
            in_w = widths[i] if i == depth - 1 else widths[i] * 2
            self.up.append(nn.Sequential(
                nn.ConvTranspose2d(in_w, widths[i - 1], 4, 2, 1, bias=False),
                nn.BatchNorm2d(widths[i - 1]), nn.ReLU(inplace=True)))
        last_in = widths[0] * 2 if depth > 1 else widths[0]
        self.out = nn.ConvTranspose2d(last_in, out_channels, 4, 2, 1)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, corrupted: torch.Tensor) -> torch.Tensor:
        skips = []
        h = corrupted
        for block in self.down:
            h = block(h)
            skips.append(h)
        skips.pop()  # the bottleneck feeds the decoder directly
        for block in self.up:
            h = block(h)
            h = torch.cat([h, skips.pop()], dim=1)
        raw = self.out(h)
        image = corrupted[:, : self.out_channels]
        if self.task == "inpaint":
            known = corrupted[:, self.out_channels:]
            return known * image + (1 - known) * torch.tanh(raw)
        return torch.tanh(torch.atanh(image.clamp(-0.999, 0.999)) + raw)


class PatchDiscriminator(nn.Module):
    """Judges overlapping patches of (candidate, corrupted input): returns a map of logits."""

    def __init__(self, channels: int, cond_channels: int, width: int = 64,
                 layers: int = 3) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Conv2d(channels + cond_channels, width, 4, 2, 1),
                                   nn.LeakyReLU(0.2, inplace=True)]
        w = width
        for i in range(1, layers):
            w_next = min(width * 2 ** i, width * 8)
            blocks += [nn.Conv2d(w, w_next, 4, 2, 1, bias=False), nn.BatchNorm2d(w_next),
                       nn.LeakyReLU(0.2, inplace=True)]
            w = w_next
        blocks += [nn.Conv2d(w, 1, 3, 1, 1)]
        self.net = nn.Sequential(*blocks)
        self.apply(dcgan_init)

    def layers(self) -> list[nn.Module]:
        """Its layers from the input on (see `ganx.nn.layers`)."""
        return weight_layers(self.net)

    def forward(self, x: torch.Tensor, corrupted: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.net(torch.cat([x, corrupted], dim=1)).flatten(1)
        return logits
