"""The denoising generator: a 1-D U-Net on raw waveforms (in the spirit of SEGAN and Wave-U-Net).

Four encoder stages downsample 4x each with strided convolutions (PReLU), the decoder mirrors them
with transposed convolutions and concatenates the encoder's features at each scale, and the
network predicts the noise, which is subtracted from its input (residual learning). Fully
convolutional: any length that is a multiple of 256 samples works, so whole recordings can be
processed in windows of any size.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

STAGES = 4
STRIDE = 4
MULTIPLE = STRIDE ** STAGES


def _down(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(nn.Conv1d(c_in, c_out, 16, stride=STRIDE, padding=6), nn.PReLU(c_out))


def _up(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(nn.ConvTranspose1d(c_in, c_out, 16, stride=STRIDE, padding=6),
                         nn.PReLU(c_out))


class DenoiseUNet(nn.Module):
    """G(z, noisy) -> clean estimate, both (N, channels, T); z is empty (no latent)."""

    def __init__(self, channels: int, width: int) -> None:
        super().__init__()
        widths = [width, 2 * width, 4 * width, 8 * width, 8 * width]
        self.inp = nn.Sequential(nn.Conv1d(channels, width, 15, padding=7), nn.PReLU(width))
        self.down = nn.ModuleList(_down(a, b) for a, b in itertools.pairwise(widths))
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for i in reversed(range(STAGES)):
            self.up.append(_up(widths[i + 1], widths[i]))
            self.merge.append(nn.Sequential(nn.Conv1d(2 * widths[i], widths[i], 7, padding=3),
                                            nn.PReLU(widths[i])))
        self.out = nn.Conv1d(width, channels, 7, padding=3)

    def forward(self, z: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
        if noisy.shape[-1] % MULTIPLE:
            raise ValueError(f"input length {noisy.shape[-1]} is not a multiple of {MULTIPLE}")
        x = self.inp(noisy)
        skips = []
        for layer in self.down:
            skips.append(x)
            x = layer(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips), strict=True):
            x = merge(torch.cat([up(x), skip], dim=1))
        return noisy - self.out(x)
