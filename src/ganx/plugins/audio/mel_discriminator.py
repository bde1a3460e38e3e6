"""A discriminator that judges log-mel spectrograms, as the spectrogram discriminators of recent
vocoders (UnivNet, Jang et al. 2021) do.

The waveform is turned into a log-mel spectrogram (64 bands up to Nyquist, 8 ms hop at 16 kHz),
then a 2-D CNN with spectral normalisation (four stride-2 stages, LeakyReLU 0.2) and a linear
head give the logit; with labels, a projection term (Miyato & Koyama 2018) is added. It sees what
the ear weighs (the spectral envelope over time) and is cheap on a CPU, but not the phase: pair
it with a generator that makes plausible phase by construction (the `ddsp` generator).
"""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .spectral import LogMel
from .wavegan import required_labels

N_MELS = 64
STAGES = 4


class MelDiscriminator(nn.Module):
    """D(x[, labels]) -> (N,) logits over (N, channels, segment) waveforms."""

    def __init__(self, channels: int, segment: int, sample_rate: int, width: int,
                 num_classes: int = 0) -> None:
        super().__init__()
        hop = max(1, round(sample_rate * 0.008))
        n_fft = 4 * hop
        self.mel = LogMel(sample_rate, n_fft, hop, N_MELS)
        sizes = [channels] + [width * 4 * 2 ** i for i in range(STAGES)]
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(sizes):
            layers += [spectral_norm(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)),
                       nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        frames = segment // hop
        with torch.no_grad():
            shape = self.body(torch.zeros(1, channels, N_MELS, frames)).shape
        self.head = spectral_norm(nn.Linear(shape[1] * shape[2] * shape[3], 1))
        self.embed = (spectral_norm(nn.Embedding(num_classes, shape[1])) if num_classes
                      else None)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        # log-mel in fp32; roughly standardised (log magnitudes of speech span about -11 to 3)
        spec = (self.mel(x.float()) + 4.0) / 4.0
        h = self.body(spec.to(x.dtype))
        logits = self.head(h.flatten(1)).squeeze(1)
        if self.embed is not None:
            y = self.embed(required_labels(labels, "discriminator"))
            logits = logits + (y * h.sum((2, 3))).sum(1)
        return logits
