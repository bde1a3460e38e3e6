"""Audio sample writing: 16-bit WAV files and a PNG of their log-mel spectrograms.

The spectrograms are this domain's log-mel (see `spectral`), drawn by `ganx.metrics`' shared
spectrogram pictures (a fixed colour ramp over the 80 dB below the loudest bin of the whole
picture, time left to right and low frequencies at the bottom), so loudness compares across
tiles; tiles are stretched 2x horizontally for legibility.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ganx.metrics import save_image_grid, spectrogram_pictures, write_wav

from .spectral import log_mel

PICTURE_MELS = 80
PICTURE_FFT = 1024


def picture_hop(length: int) -> int:
    """A hop giving 64 to 128 frames for clips of `length` samples (at least 64 samples)."""
    hop = 64
    while length // hop > 128:
        hop *= 2
    return hop


def spectrogram_images(waves: torch.Tensor, sample_rate: int,
                       top: float | None = None) -> tuple[torch.Tensor, float]:
    """(N, C, T) waveforms -> (N, 3, mels, frames) uint8 pictures (channels averaged), and the
    loudest log-magnitude used as the top of the scale (pass it back to share a scale)."""
    n_fft = min(PICTURE_FFT, 1 << int(math.log2(max(waves.shape[-1] // 2, 16))))
    hop = min(picture_hop(waves.shape[-1]), n_fft)
    mel = log_mel(sample_rate, n_fft, hop, PICTURE_MELS, "cpu")(waves.float().mean(1))
    return spectrogram_pictures(mel, top)


def save_picture(rows: list[torch.Tensor], path: Path, nrow: int) -> None:
    """Tiles (N, 3, H, W) uint8 in a grid, stretched 2x horizontally."""
    save_image_grid(torch.cat(rows), path, nrow, widen=2)


def write_samples(samples: torch.Tensor, out_dir: Path, tag: str, sample_rate: int,
                  inputs: torch.Tensor | None = None, targets: torch.Tensor | None = None,
                  input_mels: torch.Tensor | None = None,
                  labels: list[int] | None = None) -> list[Path]:
    """WAV files `out_dir/tag/NN.wav` (and `NN-input.wav`, `NN-target.wav` when given) and the
    spectrogram picture `out_dir/tag.png`: one tile per sample, or for restoration one column
    per sample with rows input, output, target. With `labels` (a conditional run's classes) the
    files are `NN-classK.wav` and the picture has a column per class."""
    folder = out_dir / tag
    paths = []
    for i, wave in enumerate(samples):
        name = f"{i:02d}" if labels is None else f"{i:02d}-class{labels[i]}"
        paths.append(write_wav(folder / f"{name}.wav", wave, sample_rate))
        for name, extra in (("input", inputs), ("target", targets)):
            if extra is not None:
                paths.append(write_wav(folder / f"{i:02d}-{name}.wav", extra[i], sample_rate))
    picture = out_dir / f"{tag}.png"
    images, top = spectrogram_images(samples, sample_rate)
    if targets is None:
        nrow = len(set(labels)) if labels else math.ceil(math.sqrt(len(samples)))
        save_picture([images], picture, nrow)
    else:
        target_images, top = spectrogram_images(targets, sample_rate)
        images = spectrogram_images(samples, sample_rate, top)[0]
        if inputs is not None:
            first = spectrogram_images(inputs, sample_rate, top)[0]
        else:  # the vocoder's input is a mel spectrogram: draw it on its own scale
            first = spectrogram_pictures(input_mels)[0]
            first = torch.nn.functional.interpolate(first.float(), size=images.shape[-2:],
                                                    mode="nearest").to(torch.uint8)
        save_picture([first, images, target_images], picture, len(samples))
    return [picture, *paths]
