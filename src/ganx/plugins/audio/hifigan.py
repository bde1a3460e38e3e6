"""The networks of the neural-vocoder literature (MelGAN, HiFi-GAN; Kong et al. 2020).

- `MultiDiscriminator`: the multi-period discriminator (periods 2, 3, 5, 7, 11: the waveform
  folded into a 2-D grid of that period and convolved along time) plus the multi-scale
  discriminator (raw, 2x and 4x average-pooled waveforms through grouped 1-D convolutions). It
  returns a `DiscriminatorOutput` with the logits of all eight sub-discriminators and every
  intermediate feature map, for the engine's feature-matching loss.
- `MelVocoder`: HiFi-GAN's generator: a mel spectrogram upsampled by transposed convolutions to
  the sample rate, each stage followed by a multi-receptive-field fusion of dilated residual
  blocks.

Channel counts scale with `width`; width 32 gives HiFi-GAN V1's discriminators (32 to 1024
channels) and, for a 256-sample hop, its V1 generator (512 channels after the input layer).
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from ganx.core.domain import DiscriminatorOutput

PERIODS = (2, 3, 5, 7, 11)
SLOPE = 0.1


def judge(convs: nn.ModuleList, post: nn.Module,
          x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A sub-discriminator's pass: its convolutions with leaky ReLU, then the output layer;
    returns the flattened logits and every layer's output (for feature matching)."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), SLOPE)
        features.append(x)
    x = post(x)
    features.append(x)
    return x.flatten(1), features


class PeriodDiscriminator(nn.Module):
    def __init__(self, period: int, channels: int, width: int) -> None:
        super().__init__()
        self.period = period
        sizes = [channels, width, 4 * width, 16 * width, 32 * width, 32 * width]
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(a, b, (5, 1), (3 if i < 4 else 1, 1), padding=(2, 0)))
            for i, (a, b) in enumerate(itertools.pairwise(sizes)))
        self.post = weight_norm(nn.Conv2d(sizes[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        n, c, t = x.shape
        if t % self.period:
            x = F.pad(x, (0, self.period - t % self.period), mode="reflect")
        return judge(self.convs, self.post, x.view(n, c, -1, self.period))


class ScaleDiscriminator(nn.Module):
    # (kernel, stride, groups, channels as a multiple of width)
    LAYERS = ((15, 1, 1, 4), (41, 2, 4, 4), (41, 2, 16, 8), (41, 4, 16, 16), (41, 4, 16, 32),
              (41, 1, 16, 32), (5, 1, 1, 32))

    def __init__(self, channels: int, width: int, spectral: bool) -> None:
        super().__init__()
        norm = spectral_norm if spectral else weight_norm
        convs = []
        c_in = channels
        for kernel, stride, groups, mult in self.LAYERS:
            c_out = mult * width
            g = math.gcd(groups, math.gcd(c_in, c_out))
            convs.append(norm(nn.Conv1d(c_in, c_out, kernel, stride, padding=kernel // 2,
                                        groups=g)))
            c_in = c_out
        self.convs = nn.ModuleList(convs)
        self.post = norm(nn.Conv1d(c_in, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return judge(self.convs, self.post, x)


class MultiDiscriminator(nn.Module):
    """D(x, *conditions) -> DiscriminatorOutput over MPD + MSD; conditions are ignored (the
    discriminator judges the waveform alone, as in HiFi-GAN)."""

    def __init__(self, channels: int, width: int) -> None:
        super().__init__()
        self.periods = nn.ModuleList(PeriodDiscriminator(p, channels, width) for p in PERIODS)
        self.scales = nn.ModuleList(ScaleDiscriminator(channels, width, spectral=i == 0)
                                    for i in range(3))
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, x: torch.Tensor, *conditions: torch.Tensor) -> DiscriminatorOutput:
        logits, features = [], []
        for sub in self.periods:
            out, feats = sub(x)
            logits.append(out)
            features += feats
        for i, sub in enumerate(self.scales):
            if i:
                x = self.pool(x)
            out, feats = sub(x)
            logits.append(out)
            features += feats
        return DiscriminatorOutput(logits=logits, features=features)


# -- the vocoder ----------------------------------------------------------------------------------

class ResBlock(nn.Module):
    """Dilated residual block of HiFi-GAN (type 1): dilations 1, 3, 5."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...] = (1, 3, 5)) -> None:
        super().__init__()
        self.dilated = nn.ModuleList(
            weight_norm(nn.Conv1d(channels, channels, kernel, dilation=d,
                                  padding=d * (kernel - 1) // 2)) for d in dilations)
        self.plain = nn.ModuleList(
            weight_norm(nn.Conv1d(channels, channels, kernel, padding=(kernel - 1) // 2))
            for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for a, b in zip(self.dilated, self.plain, strict=True):
            x = x + b(F.leaky_relu(a(F.leaky_relu(x, SLOPE)), SLOPE))
        return x


def upsample_rates(hop: int) -> list[int]:
    """Factors whose product is `hop` (a power of two): two 8x stages first, then 2x stages, as
    HiFi-GAN V1's 8, 8, 2, 2 for 256."""
    bits = int(math.log2(hop))
    if hop < 4 or 2 ** bits != hop:
        raise ValueError(f"hop {hop}: the vocoder needs a power of two of at least 4")
    eights = min(2, bits // 3)
    return [8] * eights + [2] * (bits - 3 * eights)


class MelVocoder(nn.Module):
    """G(z, mel) -> waveform (N, channels, frames * hop); z is empty (no latent)."""

    def __init__(self, n_mels: int, channels: int, hop: int, width: int,
                 kernels: tuple[int, ...] = (3, 7, 11)) -> None:
        super().__init__()
        rates = upsample_rates(hop)
        c = width * 2 ** len(rates)
        self.pre = weight_norm(nn.Conv1d(n_mels, c, 7, padding=3))
        self.ups = nn.ModuleList()
        self.mrf = nn.ModuleList()
        for r in rates:
            self.ups.append(weight_norm(nn.ConvTranspose1d(c, c // 2, 2 * r, r, padding=r // 2)))
            c //= 2
            self.mrf.append(nn.ModuleList(ResBlock(c, k) for k in kernels))
        self.post = weight_norm(nn.Conv1d(c, channels, 7, padding=3))

    def forward(self, z: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        x = self.pre(mel)
        for up, blocks in zip(self.ups, self.mrf, strict=True):
            x = up(F.leaky_relu(x, SLOPE))
            x = torch.stack([block(x) for block in blocks]).mean(0)
        return torch.tanh(self.post(F.leaky_relu(x)))
