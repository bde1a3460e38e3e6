"""`ganx sample RUN --input`: restoring a user's own files of any size."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ...conftest import run_ganx


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny denoise and superres runs (two steps each)."""
    root = tmp_path_factory.mktemp("runs")
    env = {"GANX_HOME": str(root / "home")}
    made = {}
    for task in ("denoise", "superres", "inpaint"):
        run = root / task
        result = run_ganx("train", "--plugin", "image", "--steps", "2", "--batch-size", "8",
                          "--device", "cpu", "--run-dir", str(run), "--set", "resolution=16",
                          "--set", "width=8", "--set", f"task={task}", "--no-progress", env=env)
        assert result.returncode == 0, result.stderr
        made[task] = run
    return made, env


def photos(folder, sizes):
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate(sizes):
        path = folder / "sub" / f"p{i}.jpg" if i else folder / f"p{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), "RGB").save(path)


def test_denoise_and_superres_keep_sizes_and_folders(runs, tmp_path):
    made, env = runs
    photos(tmp_path / "in", [(37, 23), (20, 50)])
    result = run_ganx("sample", str(made["denoise"]), "--input", str(tmp_path / "in"), "--out",
                      str(tmp_path / "den"), env=env)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "den" / "p0.png").size == (37, 23)
    assert Image.open(tmp_path / "den" / "sub" / "p1.png").size == (20, 50)
    result = run_ganx("sample", str(made["superres"]), "--input", str(tmp_path / "in" / "p0.png"),
                      "--out", str(tmp_path / "sr"), env=env)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "sr" / "p0.png").size == (37 * 4, 23 * 4)


def test_inpaint_needs_masks_and_generation_runs_refuse_input(runs, tmp_path):
    made, env = runs
    photos(tmp_path / "in", [(30, 20)])
    result = run_ganx("sample", str(made["inpaint"]), "--input", str(tmp_path / "in"),
                      env=env)
    assert result.returncode == 2 and "no file could be restored" in result.stderr
    assert "needs a mask p0.mask.png" in result.stderr
    mask = np.full((20, 30), 255, dtype=np.uint8)
    mask[5:10, 5:15] = 0
    Image.fromarray(mask, "L").save(tmp_path / "in" / "p0.mask.png")
    result = run_ganx("sample", str(made["inpaint"]), "--input", str(tmp_path / "in"), "--out",
                      str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stderr
    restored = np.asarray(Image.open(tmp_path / "out" / "p0.png"))
    original = np.asarray(Image.open(tmp_path / "in" / "p0.png").convert("L"))
    assert restored.shape == (20, 30)
    assert np.abs(restored[mask > 0].astype(int) - original[mask > 0]).max() <= 1  # kept pixels
