"""Noise added on the fly for `task=denoise`: white, pink (1/f power) or brown (1/f² power)
Gaussian noise scaled to a signal-to-noise ratio drawn uniformly per clip from a range in dB.

Random numbers come from torch's global generator, which the engine seeds and checkpoints.
"""

from __future__ import annotations

import torch

COLORS = ("white", "pink", "brown")
EXPONENTS = {"white": 0.0, "pink": 0.5, "brown": 1.0}
"""Amplitude spectrum ∝ f^-exponent."""


def colored_noise(shape: tuple[int, ...], exponent: torch.Tensor, device: torch.device,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Gaussian noise (N, C, T) whose amplitude spectrum falls as f^-exponent (one exponent per
    clip), normalised to unit power."""
    white = torch.randn(shape, device=device, generator=generator)
    spectrum = torch.fft.rfft(white)
    freqs = torch.arange(spectrum.shape[-1], device=device).clamp(min=1).float()
    gain = freqs.view(1, 1, -1).pow(-exponent.view(-1, 1, 1))
    noise = torch.fft.irfft(spectrum * gain, n=shape[-1])
    return noise / noise.square().mean(dim=(1, 2), keepdim=True).sqrt().clamp(min=1e-8)


def add_noise(clean: torch.Tensor, snr_db: tuple[float, float], color: str) -> torch.Tensor:
    """`clean` (N, C, T) plus noise at an SNR drawn from `snr_db` per clip; `color` is one of
    COLORS or "mixed" (a colour drawn per clip)."""
    n = clean.shape[0]
    device = clean.device
    if color == "mixed":
        table = torch.tensor([EXPONENTS[c] for c in COLORS], device=device)
        exponent = table[torch.randint(len(COLORS), (n,), device=device)]
    else:
        exponent = torch.full((n,), EXPONENTS[color], device=device)
    noise = colored_noise(tuple(clean.shape), exponent, device)
    low, high = snr_db
    snr = low + (high - low) * torch.rand(n, device=device)
    power = clean.float().square().mean(dim=(1, 2)).clamp(min=1e-8)
    scale = (power / 10.0 ** (snr / 10.0)).sqrt().view(-1, 1, 1)
    return clean + noise * scale
