"""Small datasets train with default settings: a batch larger than the dataset repeats samples
(with a warning) instead of refusing to start."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import ganx


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "ganx-home"))


def test_a_folder_of_25_images_trains_with_the_default_batch(tmp_path, caplog):
    from PIL import Image

    from ganx.plugins.image import sources

    real = sources.load("fashion-mnist-mini", 32, 1).images[:25, 0]
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, picture in enumerate(real):
        Image.fromarray(picture).save(folder / f"{i:02d}.png")
    with caplog.at_level("WARNING", logger="ganx"):
        result = ganx.train("image", data=str(folder), steps=2, device="cpu", log_every=1,
                            run_dir=str(tmp_path / "run"))
    assert "batch_size 64 is larger than the dataset (25 samples)" in caplog.text
    assert result.step == 2 and result.checkpoint is not None and result.checkpoint.is_file()
    assert (tmp_path / "run" / "samples" / "step-00000002.png").is_file()


def test_a_folder_of_9_recordings_trains_with_the_default_batch(tmp_path, caplog):
    folder = tmp_path / "recordings"
    folder.mkdir()
    t = np.arange(16000) / 16000
    for i in range(9):  # nine one-second vowel-like tones, each with its own pitch
        wave = 0.3 * np.sin(2 * np.pi * (110 + 20 * i) * t) * np.hanning(len(t))
        sf.write(folder / f"take-{i}.wav", wave, 16000)
    with caplog.at_level("WARNING", logger="ganx"):
        result = ganx.train("audio", data=str(folder), steps=2, device="cpu", log_every=1,
                            eval_every=-1, run_dir=str(tmp_path / "run"))
    assert "batch_size 16 is larger than the dataset (9 samples)" in caplog.text
    assert result.step == 2 and result.checkpoint is not None and result.checkpoint.is_file()
