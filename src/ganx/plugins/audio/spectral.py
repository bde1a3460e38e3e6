"""Spectral views of waveforms: the log-mel spectrogram (vocoder input, mel-L1 loss, metrics and
pictures) and the multi-resolution STFT loss.

The log-mel follows HiFi-GAN's: reflection padding of (n_fft - hop) / 2 on each side and no
centring, so a clip of T samples gives exactly T / hop frames and a vocoder that upsamples by
`hop` gives back T samples; magnitudes (not power), Slaney mel filters from torchaudio, and the
natural log clamped at 1e-5.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

LOG_FLOOR = 1e-5
FRAME_SECONDS = 0.008
"""Frame length of the generators that work frame by frame (ddsp, specgan)."""
STFT_RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
"""(n_fft, hop, window) of the multi-resolution STFT loss (Yamamoto et al. 2020)."""


class LogMel(nn.Module):
    """Waveforms (..., T) to log-mel spectrograms (..., n_mels, T // hop) of the band up to
    `f_max` (default: half the sample rate)."""

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int,
                 f_max: float | None = None) -> None:
        super().__init__()
        import torchaudio.functional as AF

        self.n_fft, self.hop = n_fft, hop
        fb = AF.melscale_fbanks(n_fft // 2 + 1, 0.0, f_max or sample_rate / 2, n_mels,
                                sample_rate, norm="slaney", mel_scale="slaney")
        self.register_buffer("fb", fb, persistent=False)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        shape = wave.shape
        x = wave.reshape(-1, shape[-1]).float()
        pad = (self.n_fft - self.hop) // 2
        x = F.pad(x[:, None], (pad, pad), mode="reflect")[:, 0]
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window, center=False,
                          return_complex=True)
        magnitude = spec.abs().clamp(min=1e-9)
        mel = torch.matmul(magnitude.transpose(1, 2), self.fb).transpose(1, 2)
        return mel.clamp(min=LOG_FLOOR).log().reshape(*shape[:-1], *mel.shape[-2:])


@lru_cache(maxsize=16)
def log_mel(sample_rate: int, n_fft: int, hop: int, n_mels: int, device: str) -> LogMel:
    """A shared LogMel on `device` (its buffers are constants)."""
    return LogMel(sample_rate, n_fft, hop, n_mels).to(device)


def frame_hop(sample_rate: int) -> int:
    """Samples per frame: the power of two nearest FRAME_SECONDS (128 at 16 kHz, 64 at
    8 kHz), so a frame lasts about as long whatever the rate."""
    return 2 ** max(2, round(math.log2(sample_rate * FRAME_SECONDS)))


def _magnitude(x: torch.Tensor, n_fft: int, hop: int, win: int) -> torch.Tensor:
    window = torch.hann_window(win, device=x.device)
    spec = torch.stft(x, n_fft, hop, win, window=window, return_complex=True)
    return spec.abs().clamp(min=1e-7)


def multi_resolution_stft_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean over STFT_RESOLUTIONS of spectral convergence plus log-magnitude L1, in fp32."""
    x = fake.reshape(-1, fake.shape[-1]).float()
    y = real.reshape(-1, real.shape[-1]).float()
    terms = []
    for n_fft, hop, win in STFT_RESOLUTIONS:
        mx, my = _magnitude(x, n_fft, hop, win), _magnitude(y, n_fft, hop, win)
        convergence = torch.linalg.norm(my - mx) / torch.linalg.norm(my).clamp(min=1e-7)
        terms.append(convergence + (my.log() - mx.log()).abs().mean())
    return torch.stack(terms).mean()
