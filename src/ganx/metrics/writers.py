"""Sample writers a domain can share: picture grids (PNG), 16-bit WAV files, and spectrogram
pictures on a fixed colour ramp.

Spectrogram pictures use one perceptually ordered ramp (dark = quiet, yellow = loud) over the
80 dB below the loudest bin (of the whole batch, or a given top), low frequencies at the bottom,
so loudness compares across tiles and across pictures drawn with the same top.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

SPECTROGRAM_RANGE = math.log(1e4)
"""The span drawn: 80 dB, in natural-log magnitude."""
# black, purple, red, orange, pale yellow, interpolated linearly
RAMP = np.array([[0, 0, 4], [81, 18, 124], [183, 55, 121], [252, 137, 97], [252, 253, 191]],
                dtype=np.float32)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) floats in [-1, 1] to uint8 in [0, 255], rounding to nearest."""
    return images.float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)


def save_image_grid(images: torch.Tensor, path: Path, nrow: int, *, padding: int = 2,
                    widen: int = 1) -> Path:
    """Tile images (N, 1 or 3, H, W) into a PNG grid of `nrow` per row, white between tiles.

    Floats are read as [-1, 1]; uint8 as pixel levels. `widen` repeats each pixel column (2 makes
    narrow tiles such as spectrograms legible). One channel gives a greyscale PNG.
    """
    from PIL import Image
    from torchvision.utils import make_grid  # type: ignore[import-untyped]

    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"save_image_grid expects (N, 1 or 3, H, W), got {tuple(images.shape)}")
    tiles = images if images.dtype == torch.uint8 else to_uint8(images)
    if widen > 1:
        tiles = tiles.repeat_interleave(widen, dim=-1)
    grid = make_grid(tiles, nrow=max(1, nrow), padding=padding, pad_value=255)
    array = grid.permute(1, 2, 0).numpy()
    if images.shape[1] == 1:
        Image.fromarray(array[:, :, 0], "L").save(path, format="PNG")
    else:
        Image.fromarray(array, "RGB").save(path, format="PNG")
    return path


def write_wav(path: Path, wave: torch.Tensor, sample_rate: int) -> Path:
    """One clip (C, T) of floats in [-1, 1] as a 16-bit PCM WAV file (folders created)."""
    import soundfile as sf

    if wave.ndim != 2:
        raise ValueError(f"write_wav expects one clip (channels, samples), got"
                         f" {tuple(wave.shape)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = wave.float().clamp(-1.0, 1.0).T.contiguous().numpy()
    sf.write(str(path), data, sample_rate, subtype="PCM_16", format="WAV")
    return path


def spectrogram_pictures(log_magnitudes: torch.Tensor,
                         top: float | None = None) -> tuple[torch.Tensor, float]:
    """(N, bins, frames) natural-log magnitudes (a log-mel or log-STFT) -> (N, 3, bins, frames)
    uint8 pictures, and the top of the scale used: the loudest value unless `top` is given
    (pass it back to draw other spectrograms on the same scale)."""
    top = float(log_magnitudes.max()) if top is None else top
    low_end = top - SPECTROGRAM_RANGE
    # low frequencies at the bottom of the picture
    level = ((log_magnitudes.float() - low_end) / SPECTROGRAM_RANGE).clamp(0, 1).flip(1).numpy()
    position = level * (len(RAMP) - 1)
    low = np.floor(position).astype(int).clip(0, len(RAMP) - 2)
    frac = (position - low)[..., None]
    rgb = RAMP[low] * (1 - frac) + RAMP[low + 1] * frac
    return torch.from_numpy(np.round(rgb).astype(np.uint8)).permute(0, 3, 1, 2), top
