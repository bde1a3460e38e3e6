"""The shared writers write real files: PNG grids, 16-bit WAV, spectrogram pictures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from ganx.metrics import save_image_grid, spectrogram_pictures, to_uint8, write_wav
from ganx.metrics.writers import RAMP


def test_to_uint8_rounds_to_the_nearest_level():
    values = torch.tensor([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]).reshape(1, 1, 1, 6)
    assert to_uint8(values).flatten().tolist() == [0, 0, 128, 191, 255, 255]


def test_grey_image_grid(tmp_path):
    images = torch.linspace(-1, 1, 5 * 4 * 6).reshape(5, 1, 4, 6)
    path = save_image_grid(images, tmp_path / "grid.png", nrow=3)
    with Image.open(path) as im:
        assert im.mode == "L"
        # 3 columns and 2 rows of 6x4 tiles, 2 pixels of white around each
        assert im.size == (3 * 6 + 4 * 2, 2 * 4 + 3 * 2)
        array = np.asarray(im)
    assert np.array_equal(array[2:6, 2:8], to_uint8(images[0])[0].numpy())
    assert (array[:2] == 255).all()  # padding is white
    assert np.array_equal(array[8:12, 10:16], to_uint8(images[4])[0].numpy())
    assert (array[8:12, 18:24] == 255).all()  # the sixth tile is missing: white


def test_colour_grid_from_pixels_widened(tmp_path):
    tiles = torch.randint(0, 256, (2, 3, 5, 4), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    path = save_image_grid(tiles, tmp_path / "wide.png", nrow=2, padding=0, widen=2)
    with Image.open(path) as im:
        assert im.mode == "RGB" and im.size == (2 * 8, 5)
        array = np.asarray(im)
    assert np.array_equal(array[:, :8], tiles[0].repeat_interleave(2, -1).permute(1, 2, 0))


def test_grid_refuses_other_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"\(N, 1 or 3, H, W\)"):
        save_image_grid(torch.zeros(2, 2, 4, 4), tmp_path / "x.png", nrow=1)


def test_wav_round_trip(tmp_path):
    import soundfile as sf

    t = torch.arange(800) / 8000
    wave = torch.stack([0.5 * torch.sin(2 * math.pi * 440 * t), torch.full_like(t, 2.0)])
    path = write_wav(tmp_path / "sub" / "a.wav", wave, 8000)
    data, rate = sf.read(path, dtype="float32")
    assert rate == 8000 and data.shape == (800, 2)
    assert sf.info(path).subtype == "PCM_16"
    assert np.allclose(data[:, 0], wave[0].numpy(), atol=1 / 32768 + 1e-6)
    assert np.allclose(data[:, 1], 32767 / 32768)  # clipped to [-1, 1]
    with pytest.raises(ValueError, match="one clip"):
        write_wav(tmp_path / "b.wav", wave[None], 8000)


def test_spectrogram_pictures_use_the_ramp_over_80_db():
    top = 2.0
    span = math.log(1e4)
    # one frame per column: the top, half-way down, the floor and far below it
    log_mag = torch.tensor([[[top, top - span / 2, top - span, top - 3 * span]]])
    log_mag = log_mag.expand(1, 2, 4).clone()
    log_mag[0, 0] = top - span  # the low band is quiet everywhere
    pictures, used = spectrogram_pictures(log_mag)
    assert used == top and pictures.dtype == torch.uint8 and pictures.shape == (1, 3, 2, 4)
    high, low = pictures[0, :, 0], pictures[0, :, 1]  # low frequencies are the bottom row
    assert high[:, 0].tolist() == RAMP[-1].tolist()
    assert high[:, 1].tolist() == RAMP[2].tolist()
    assert high[:, 2].tolist() == high[:, 3].tolist() == RAMP[0].tolist()
    assert low.T.tolist() == [RAMP[0].tolist()] * 4
    # a shared top draws a quieter batch darker
    darker, _ = spectrogram_pictures(log_mag - 1.0, top=top)
    assert darker.float().mean() < pictures.float().mean()
