"""WaveGAN (Donahue, McAuley & Puckette 2019): DCGAN flattened to one dimension for raw audio.

The generator projects the latent to 16·width channels at segment/1024 steps and upsamples 4x five
times with length-25 transposed convolutions (ReLU between, tanh at the end). The discriminator
mirrors it with stride-4 length-25 convolutions and LeakyReLU(0.2), and applies phase shuffle
after each hidden layer: every sample's feature maps are shifted by a random -n..n steps
(reflection-padded), so the discriminator cannot tell real from fake by the periodic artifacts of
transposed convolutions.

With `num_classes`, the generator concatenates a learned label embedding to z and the
discriminator adds a projection term (Miyato & Koyama 2018): the label embedding's inner product
with its last feature map summed over time.
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


def required_labels(labels: torch.Tensor | None, who: str) -> torch.Tensor:
    if labels is None:
        raise ValueError(f"this {who} is class-conditional: pass labels")
    return labels


class WaveGANGenerator(nn.Module):
    """G(z[, labels]) -> (N, channels, segment) in [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, segment: int, width: int,
                 num_classes: int = 0) -> None:
        super().__init__()
        check_segment(segment)
        self.start = segment // UPSAMPLE
        self.width = width
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        in_dim = latent_dim * (2 if num_classes else 1)
        self.project = nn.Linear(in_dim, 16 * width * self.start)
        layers: list[nn.Module] = []
        widths = [16 * width, 8 * width, 4 * width, 2 * width, width, channels]
        for i, (c_in, c_out) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.ConvTranspose1d(c_in, c_out, KERNEL, stride=4, padding=11,
                                             output_padding=1))
            layers.append(nn.Tanh() if i == STAGES - 1 else nn.ReLU())
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(required_labels(labels, "generator"))], dim=1)
        x = F.relu(self.project(z)).view(z.shape[0], 16 * self.width, self.start)
        return self.body(x)


class WaveGANDiscriminator(nn.Module):
    """D(x[, labels]) -> (N,) logits."""

    def __init__(self, channels: int, segment: int, width: int, phase_shuffle: int,
                 num_classes: int = 0) -> None:
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
        self.embed = nn.Embedding(num_classes, 16 * width) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x)
        logits = self.head(h.flatten(1)).squeeze(1)
        if self.embed is not None:
            y = self.embed(required_labels(labels, "discriminator"))
            logits = logits + (y * h.sum(-1)).sum(1)
        return logits
