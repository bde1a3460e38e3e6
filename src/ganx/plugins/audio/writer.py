"""Audio sample writing: 16-bit WAV files and a PNG of their log-mel spectrograms.

Spectrograms are drawn with a fixed colour ramp (dark = quiet, yellow = loud) over the 80 dB below
the loudest bin of the whole picture, time left to right and low frequencies at the bottom, so
loudness compares across tiles.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .spectral import log_mel

PICTURE_MELS = 80
PICTURE_FFT = 1024
RANGE = math.log(1e4)  # 80 dB in natural-log magnitude
# a perceptually ordered ramp (black, purple, red, orange, pale yellow), interpolated linearly
RAMP = np.array([[0, 0, 4], [81, 18, 124], [183, 55, 121], [252, 137, 97], [252, 253, 191]],
                dtype=np.float32)


def write_wav(path: Path, wave: torch.Tensor, sample_rate: int) -> None:
    """(C, T) floats in [-1, 1] as a 16-bit PCM WAV file."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    data = wave.float().clamp(-1.0, 1.0).T.contiguous().numpy()
    sf.write(str(path), data, sample_rate, subtype="PCM_16", format="WAV")


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
    return mel_images(mel, top)


def mel_images(mel: torch.Tensor, top: float | None = None) -> tuple[torch.Tensor, float]:
    """(N, mels, frames) natural-log magnitudes -> (N, 3, mels, frames) uint8 pictures."""
    top = float(mel.max()) if top is None else top
    level = ((mel - (top - RANGE)) / RANGE).clamp(0, 1).flip(1).numpy()  # low frequencies down
    position = level * (len(RAMP) - 1)
    low = np.floor(position).astype(int).clip(0, len(RAMP) - 2)
    frac = (position - low)[..., None]
    rgb = RAMP[low] * (1 - frac) + RAMP[low + 1] * frac
    return torch.from_numpy(np.round(rgb).astype(np.uint8)).permute(0, 3, 1, 2), top


def save_picture(rows: list[torch.Tensor], path: Path, nrow: int) -> None:
    """Tiles (N, 3, H, W) uint8 in a grid (horizontally stretched 2x for legibility)."""
    from PIL import Image
    from torchvision.utils import make_grid

    tiles = torch.cat(rows)
    tiles = tiles.repeat_interleave(2, dim=-1)
    grid = make_grid(tiles, nrow=max(1, nrow), padding=2, pad_value=255)
    Image.fromarray(grid.permute(1, 2, 0).numpy(), "RGB").save(path, format="PNG")


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
        paths.append(folder / f"{name}.wav")
        write_wav(paths[-1], wave, sample_rate)
        for name, extra in (("input", inputs), ("target", targets)):
            if extra is not None:
                paths.append(folder / f"{i:02d}-{name}.wav")
                write_wav(paths[-1], extra[i], sample_rate)
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
            first = mel_images(input_mels)[0]
            first = torch.nn.functional.interpolate(first.float(), size=images.shape[-2:],
                                                    mode="nearest").to(torch.uint8)
        save_picture([first, images, target_images], picture, len(samples))
    return [picture, *paths]
