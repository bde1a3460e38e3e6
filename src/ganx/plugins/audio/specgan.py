"""SpecGAN (Donahue, McAuley & Puckette 2019): an image GAN on log-magnitude spectrograms, turned
back into waveforms with Griffin-Lim.

A spectrogram is a picture of a word (harmonics, formant tracks, bursts of frication), and 2-D
convolutional GANs learn pictures quickly; the WaveGAN paper found SpecGAN's digits easier to
tell apart (Inception score 6.0 against 4.7 on SC09). The phase is left out and recovered when
sampling: Griffin-Lim (torchaudio) finds a waveform whose STFT magnitude matches.

- `SpectrogramView`: waveform (N, 1, T) -> (N, 1, bins, frames) in [-1, 1]: an STFT with a frame
  of about 8 ms (`frame_hop`) and an FFT four frames long, magnitudes relative to a full-scale
  sine, `RANGE_DB` dB of range mapped linearly to [-1, 1] (-1 is silence). The Nyquist bin and
  the last frame are dropped, so a 1 s clip is a 2^k x 2^k picture (128 x 128 at 8 kHz).
- `to_waveform`: the inverse, by Griffin-Lim from a zero phase (deterministic, so the same latent
  gives the same clip).
- `SpecGANGenerator` / `SpecGANDiscriminator`: DCGAN-style networks on that picture (nearest
  upsampling + 3x3 convolutions in G, against the checkerboard of transposed ones; spectral norm
  in D), class-conditional like WaveGAN's (label embedding in G, projection in D), and optionally
  a minibatch standard deviation feature before D's last layer. The generator
  makes spectrograms; the discriminator takes spectrograms, or waveforms, which it converts
  itself (the engine hands it real clips as they are stored).
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganx.nn import minibatch_std as append_minibatch_std

from .spectral import frame_hop
from .wavegan import required_labels

RANGE_DB = 80.0
"""Dynamic range kept below a full-scale sine. 60 dB was not enough: Griffin-Lim from real
spectrograms clipped at -60 dB gave clips the digit classifier scored 5.3 (8.4 at -80 dB, 8.8
with no floor), the raised noise floor in the pauses was what it objected to."""
STAGES = 5
"""Upsamplings in G (and stride-2 stages in D): a picture is (bins/32, frames/32) at the start."""
GRIFFIN_LIM_ITERATIONS = 32


def geometry(segment: int, sample_rate: int) -> tuple[int, int, int, int]:
    """(n_fft, hop, bins, frames) of the spectrogram of a `segment`-sample clip."""
    hop = frame_hop(sample_rate)
    n_fft = 4 * hop
    return n_fft, hop, n_fft // 2, segment // hop


def check_segment(segment: int, sample_rate: int) -> None:
    _, hop, bins, frames = geometry(segment, sample_rate)
    unit = 2 ** STAGES
    if segment % hop or frames % unit or bins % unit:
        raise ValueError(f"segment {segment}: the specgan generator at {sample_rate} Hz needs a"
                         f" multiple of {hop * unit} (e.g. {hop * 128})")


class SpectrogramView(nn.Module):
    """Waveforms (N, 1, T) -> log-magnitude spectrograms (N, 1, bins, frames) in [-1, 1]."""

    def __init__(self, segment: int, sample_rate: int) -> None:
        super().__init__()
        self.n_fft, self.hop, self.bins, self.frames = geometry(segment, sample_rate)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wave[:, 0].float(), self.n_fft, self.hop, window=self.window,
                          return_complex=True)[:, :self.bins, :self.frames]
        # A full-scale sine peaks at n_fft / 4 (the Hann window's sum over 2): that is 0 dB.
        db = 20 * torch.log10(spec.abs() / (self.n_fft / 4) + 1e-7)
        return (db / (RANGE_DB / 2) + 1).clamp(-1, 1)[:, None]


def to_waveform(spec: torch.Tensor, segment: int, sample_rate: int,
                iterations: int = GRIFFIN_LIM_ITERATIONS) -> torch.Tensor:
    """Spectrograms (N, 1, bins, frames) as `SpectrogramView` makes them -> waveforms
    (N, 1, segment), by Griffin-Lim from a zero phase."""
    import torchaudio.functional as AF

    n_fft, hop, _, _ = geometry(segment, sample_rate)
    db = (spec[:, 0].float().clamp(-1, 1) - 1) * (RANGE_DB / 2)
    # -1 is silence: subtract the floor so the pauses are silent, not a faint hiss
    magnitude = (10 ** (db / 20) - 10 ** (-RANGE_DB / 20)).clamp(min=0) * (n_fft / 4)
    magnitude = F.pad(magnitude, (0, 1, 0, 1))  # the dropped last frame and Nyquist bin
    window = torch.hann_window(n_fft, device=spec.device)
    wave = AF.griffinlim(magnitude, window, n_fft, hop, n_fft, power=1.0, n_iter=iterations,
                         momentum=0.99, length=segment, rand_init=False)
    return wave.clamp(-1, 1)[:, None]


class ClassBatchNorm(nn.Module):
    """Batch normalisation whose scale and shift are looked up by class (conditional batch norm,
    de Vries et al. 2017, as in the SNGAN-projection and BigGAN generators): the class steers
    every stage, not only the input."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        scale, shift = self.scale(labels), self.shift(labels)
        return self.norm(x) * scale[:, :, None, None] + shift[:, :, None, None]


class SpecGANGenerator(nn.Module):
    """G(z[, labels]) -> (N, 1, bins, frames) in [-1, 1]: a spectrogram (see `to_waveform`).
    With `class_norm` (conditional only) every batch norm takes its scale and shift from the
    class."""

    def __init__(self, latent_dim: int, segment: int, sample_rate: int, width: int,
                 num_classes: int = 0, class_norm: bool = False) -> None:
        super().__init__()
        check_segment(segment, sample_rate)
        _, _, bins, frames = geometry(segment, sample_rate)
        self.start = (bins >> STAGES, frames >> STAGES)
        widths = [16 * width, 8 * width, 4 * width, 2 * width, width, width]
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        in_dim = latent_dim * (2 if num_classes else 1)
        self.project = nn.Linear(in_dim, widths[0] * math.prod(self.start))

        def norm(channels: int) -> nn.Module:
            if class_norm and num_classes:
                return ClassBatchNorm(channels, num_classes)
            return nn.BatchNorm2d(channels)

        layers: list[nn.Module] = [norm(widths[0]), nn.ReLU()]
        for c_in, c_out in itertools.pairwise(widths):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv2d(c_in, c_out, 3, padding=1), norm(c_out), nn.ReLU()]
        layers += [nn.Conv2d(width, 1, 3, padding=1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            labels = required_labels(labels, "generator")
            z = torch.cat([z, self.embed(labels)], dim=1)
        h = self.project(z).view(z.shape[0], -1, *self.start)
        for layer in self.body:
            h = layer(h, labels) if isinstance(layer, ClassBatchNorm) else layer(h)
        return h


class SpecGANDiscriminator(nn.Module):
    """D(x[, labels]) -> (N,) logits; x is a spectrogram (N, 1, bins, frames) or a waveform
    (N, 1, segment), which is converted first."""

    def __init__(self, segment: int, sample_rate: int, width: int,
                 num_classes: int = 0, minibatch_std: int = 0) -> None:
        super().__init__()
        check_segment(segment, sample_rate)
        self.view = SpectrogramView(segment, sample_rate)
        self.minibatch_std = minibatch_std
        widths = [1, width, 2 * width, 4 * width, 8 * width, 16 * width]
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(widths):
            layers += [spectral_norm(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)),
                       nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        cells = (self.view.bins >> STAGES) * (self.view.frames >> STAGES)
        std_channels = 1 if minibatch_std else 0
        self.head = spectral_norm(nn.Linear((widths[-1] + std_channels) * cells, 1))
        self.embed = (spectral_norm(nn.Embedding(num_classes, widths[-1])) if num_classes
                      else None)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() == 3:
            x = self.view(x).to(x.dtype)
        h = self.body(x)
        # a batch of near copies has a small spread: the head sees it (Karras et al. 2018)
        seen = append_minibatch_std(h, self.minibatch_std) if self.minibatch_std else h
        logits = self.head(seen.flatten(1)).squeeze(1)
        if self.embed is not None:
            y = self.embed(required_labels(labels, "discriminator"))
            logits = logits + (y * h.sum((2, 3))).sum(1)
        return logits
