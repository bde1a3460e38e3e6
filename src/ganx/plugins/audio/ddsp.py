"""A source-filter generator: a harmonic-plus-noise synthesiser driven by frame-rate controls
(after DDSP, Engel et al. 2020).

Voiced speech is a periodic source (the glottal pulses, pitch f0) shaped by a slowly changing
filter (the vocal tract's formants), plus noise for fricatives. A waveform generator has to learn
all of that sample by sample; this one only learns the controls, one frame every 8 ms or so:

- f0 between F0_MIN and F0_MAX Hz (log scale) and a voicing amplitude;
- a spectral envelope for the voiced part: magnitudes at `bands` frequencies spread evenly from
  0 Hz to Nyquist. It filters a band-limited pulse train (every harmonic of f0 at equal
  amplitude), so the formants stay put when the pitch moves, as in speech;
- a spectral envelope for the noise, in the same bands.

A small 1-D convolutional decoder turns z (and a label embedding, when conditional) into those
controls; the synthesiser shapes the pulse train and white noise in the STFT domain and returns
one inverse STFT. Everything is differentiable, so the adversarial loss trains the decoder
through the synthesiser, and a step costs O(samples) rather than O(samples x harmonics).
"""

from __future__ import annotations

import hashlib
import math

import torch
import torch.nn.functional as F
from torch import nn

from .spectral import frame_hop
from .wavegan import required_labels

F0_MIN, F0_MAX = 50.0, 500.0
START_FRAMES = 8


def exp_sigmoid(x: torch.Tensor, top: float = 2.0) -> torch.Tensor:
    """DDSP's positive activation: `top` * sigmoid(x) ** ln(10), with a floor of 1e-7."""
    return top * torch.sigmoid(x) ** math.log(10.0) + 1e-7


def check_segment(segment: int, sample_rate: int) -> None:
    hop = frame_hop(sample_rate)
    frames = segment // hop
    if segment % hop or frames < START_FRAMES or frames % START_FRAMES or (
            frames // START_FRAMES) & (frames // START_FRAMES - 1):
        raise ValueError(f"segment {segment}: the ddsp generator at {sample_rate} Hz needs"
                         f" {hop * START_FRAMES} times a power of two (e.g."
                         f" {hop * START_FRAMES * 16})")


def pulse_train(phase: torch.Tensor, harmonics: torch.Tensor) -> torch.Tensor:
    """The sum of sin(k·phase) for k = 1..harmonics, in closed form (the Dirichlet kernel):
    sin(Kφ/2)·sin((K+1)φ/2) / sin(φ/2). Costs O(samples), not O(samples x harmonics); near
    φ = 0 (mod 2π), where the quotient is 0/0, its first-order value K(K+1)φ/2 is used."""
    phase = phase - 2 * math.pi * torch.round(phase / (2 * math.pi))  # to [-π, π]
    half = torch.sin(phase / 2)
    near_zero = half.abs() < 1e-3
    quotient = (torch.sin(harmonics * phase / 2) * torch.sin((harmonics + 1) * phase / 2)
                / torch.where(near_zero, torch.ones_like(half), half))
    return torch.where(near_zero, harmonics * (harmonics + 1) * phase / 2, quotient)


def upsample(controls: torch.Tensor, length: int) -> torch.Tensor:
    """Frame-rate controls (N, C, frames) to sample rate (N, C, length), linearly."""
    return F.interpolate(controls, size=length, mode="linear", align_corners=False)


class SourceFilterSynth(nn.Module):
    """Controls at frame rate -> waveform (N, 1, segment) in (-1, 1).

    The source is a band-limited pulse train at f0 (every harmonic below Nyquist at amplitude
    `voicing`) plus white noise; both are shaped in the STFT domain, frame by frame, by their
    envelopes (magnitudes over `bands` frequencies from 0 to Nyquist, interpolated to the STFT's
    bins), and one inverse STFT gives the waveform."""

    def __init__(self, sample_rate: int, segment: int) -> None:
        super().__init__()
        self.sample_rate, self.segment = sample_rate, segment
        self.hop = frame_hop(sample_rate)
        self.n_fft = 4 * self.hop
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def forward(self, f0: torch.Tensor, voicing: torch.Tensor, envelope: torch.Tensor,
                noise_envelope: torch.Tensor, randomness: torch.Tensor) -> torch.Tensor:
        """f0 (N, 1, frames) in Hz, voicing (N, 1, frames), envelope and noise_envelope
        (N, bands, frames), all positive; randomness (N, 1 + segment) uniform in [0, 1): each
        clip's starting phase, then its white noise."""
        n = len(f0)
        f0_wave = upsample(f0, self.segment)[:, 0]  # (N, T)
        # The running phase is wrapped to one turn so fp32 keeps it exact over the whole clip.
        start = randomness[:, :1] * 2 * math.pi
        phase = torch.remainder(torch.cumsum(2 * math.pi * f0_wave / self.sample_rate, 1)
                                + start, 2 * math.pi)
        harmonics = torch.floor(self.sample_rate / 2 / f0_wave.detach()).clamp(min=1)
        source = pulse_train(phase, harmonics) * upsample(voicing, self.segment)[:, 0]
        noise = randomness[:, 1:] * 2 - 1
        spectra = self.stft(torch.stack([source, noise], 1).flatten(0, 1)).unflatten(0, (n, 2))
        bins_frames = spectra.shape[-2:]
        gains = [F.interpolate(e[:, None], size=bins_frames, mode="bilinear",
                               align_corners=True)[:, 0] for e in (envelope, noise_envelope)]
        shaped = spectra[:, 0] * gains[0] + spectra[:, 1] * gains[1]
        wave = torch.istft(shaped, self.n_fft, self.hop, window=self.window,
                           length=self.segment)
        return torch.tanh(wave)[:, None]  # near the identity at speech levels; bounds peaks

    def stft(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stft(x, self.n_fft, self.hop, window=self.window, return_complex=True)


class DDSPGenerator(nn.Module):
    """G(z[, labels]) -> (N, 1, segment): a conv decoder to controls, then the synthesiser."""

    def __init__(self, latent_dim: int, segment: int, sample_rate: int, width: int,
                 num_classes: int = 0, bands: int = 65) -> None:
        super().__init__()
        check_segment(segment, sample_rate)
        frames = segment // frame_hop(sample_rate)
        hidden = 16 * width
        self.hidden, self.bands = hidden, bands
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        in_dim = latent_dim * (2 if num_classes else 1)
        self.project = nn.Linear(in_dim, hidden * START_FRAMES)
        stages: list[nn.Module] = []
        for _ in range(int(math.log2(frames // START_FRAMES))):
            stages += [nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv1d(hidden, hidden, 5, padding=2), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*stages, nn.Conv1d(hidden, hidden, 5, padding=2),
                                  nn.LeakyReLU(0.2))
        self.controls = nn.Conv1d(hidden, 2 + 2 * bands, 1)
        self.synth = SourceFilterSynth(sample_rate, segment)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(required_labels(labels, "generator"))], dim=1)
        h = F.leaky_relu(self.project(z), 0.2).view(z.shape[0], self.hidden, START_FRAMES)
        c = self.controls(self.body(h)).float()
        f0 = F0_MIN * (F0_MAX / F0_MIN) ** torch.sigmoid(c[:, :1])
        voicing = exp_sigmoid(c[:, 1:2], top=1.0)
        envelope = exp_sigmoid(c[:, 2:2 + self.bands], top=0.2)
        noise = exp_sigmoid(c[:, 2 + self.bands:], top=0.2)
        return self.synth(f0, voicing, envelope, noise, self.randomness(z))

    def randomness(self, z: torch.Tensor) -> torch.Tensor:
        """The synthesiser's random numbers. Training draws them from torch's global generator
        (seeded and checkpointed by the engine); in eval mode each clip's come from a generator
        seeded by its own latent, so the same z always gives the same clip."""
        shape = (z.shape[0], 1 + self.synth.segment)
        if self.training:
            return torch.rand(shape, device=z.device)
        rows = []
        for row in z.detach().float().cpu():
            seed = int.from_bytes(hashlib.blake2b(row.numpy().tobytes(), digest_size=8).digest())
            rows.append(torch.rand(shape[1], generator=torch.Generator().manual_seed(seed)))
        return torch.stack(rows).to(z.device)
