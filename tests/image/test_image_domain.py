"""The image domain passes the contract, trains through the CLI and writes sample grids."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from ganx.plugins import image as image_plugin
from ganx.plugins.image.domain import ImageDomain
from ganx.testing import DomainContract

from ..conftest import run_ganx

TINY: dict[str, Any] = {"resolution": 16, "width": 8, "latent_dim": 16}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "ganx-home"))


class TestImageDomain(DomainContract):
    domain = ImageDomain()
    plugin = image_plugin
    settings: ClassVar[dict[str, Any]] = TINY


class TestConditionalImageDomain(DomainContract):
    domain = ImageDomain()
    plugin = image_plugin
    settings: ClassVar[dict[str, Any]] = {**TINY, "conditional": True}


def test_train_through_the_cli_writes_grids(tmp_path):
    run = tmp_path / "run"
    result = run_ganx("train", "--plugin", "image", "--steps", "4", "--batch-size", "8",
                      "--device", "cpu", "--run-dir", str(run), "--set", "resolution=16",
                      "--set", "width=8", "--set", "sample_every=2", "--set", "n_samples=20",
                      "--set", "conditional=true", "--no-progress",
                      env={"GANX_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stderr
    from PIL import Image

    grid = Image.open(run / "samples" / "step-00000004.png")
    assert grid.mode == "L" and grid.size == (2 + 10 * 18, 2 + 2 * 18)  # a row per 10 classes
    config = (run / "config.toml").read_text()
    assert "channels = 1" in config and "num_classes = 10" in config


def test_conditional_without_labels_is_a_config_error(tmp_path):
    from PIL import Image

    (tmp_path / "flat").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "flat" / "a.png")
    result = run_ganx("train", "--plugin", "image", "--data", str(tmp_path / "flat"),
                      "--set", "conditional=true", "--dry-run")
    assert result.returncode == 2 and "conditional training needs labels" in result.stderr
