"""WaveGAN (Donahue, McAuley & Puckette 2019): DCGAN flattened to one dimension for raw audio.

The generator projects the latent to 16·width channels at segment/1024 steps and upsamples 4x five
times with length-25 transposed convolutions (ReLU between, tanh at the end). The discriminator
mirrors it with stride-4 length-25 convolutions and LeakyReLU(0.2), and applies phase shuffle
after each hidden layer: every sample's feature maps are shifted by a random -n..n steps
(reflection-padded), so the discriminator cannot tell real from fake by the periodic artifacts of
transposed convolutions.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

KERNEL = 25
STAGES = 5
UPSAMPLE = 4 ** STAGES


def check_segment(segment: int) -> None:
    if segment < UPSAMPLE or segment % UPSAMPLE:
        raise ValueError(f"segment {segment}: WaveGAN needs a multiple of {UPSAMPLE}")


class PhaseShuffle(nn.Module):
    """Shift each sample's feature map by a random offset in [-n, n], reflect-padded. Random
    numbers come from torch's global generator (seeded and checkpointed by the engine); in eval
    mode it is the identity."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.n == 0 or not self.training:
            return x
        batch, _, length = x.shape
        shifts = torch.randint(-self.n, self.n + 1, (batch, 1, 1), device=x.device)
        padded = F.pad(x, (self.n, self.n), mode="reflect")
        index = torch.arange(length, device=x.device).view(1, 1, -1) + self.n - shifts
        return padded.gather(2, index.expand(-1, x.shape[1], -1))


class WaveGANGenerator(nn.Module):
    """G(z) -> (N, channels, segment) in [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, segment: int, width: int) -> None:
        super().__init__()
        check_segment(segment)
        self.start = segment // UPSAMPLE
        self.width = width
        self.project = nn.Linear(latent_dim, 16 * width * self.start)
        layers: list[nn.Module] = []
        widths = [16 * width, 8 * width, 4 * width, 2 * width, width, channels]
        for i, (c_in, c_out) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.ConvTranspose1d(c_in, c_out, KERNEL, stride=4, padding=11,
                                             output_padding=1))
            layers.append(nn.Tanh() if i == STAGES - 1 else nn.ReLU())
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, *conditions: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.project(z)).view(len(z), 16 * self.width, self.start)
        return self.body(x)


class WaveGANDiscriminator(nn.Module):
    """D(x) -> (N,) logits."""

    def __init__(self, channels: int, segment: int, width: int, phase_shuffle: int) -> None:
        super().__init__()
        check_segment(segment)
        widths = [channels, width, 2 * width, 4 * width, 8 * width, 16 * width]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(itertools.pairwise(widths)):
            layers += [nn.Conv1d(c_in, c_out, KERNEL, stride=4, padding=11),
                       nn.LeakyReLU(0.2)]
            if i < STAGES - 1:
                layers.append(PhaseShuffle(phase_shuffle))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(16 * width * (segment // UPSAMPLE), 1)

    def forward(self, x: torch.Tensor, *conditions: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1)).squeeze(1)
