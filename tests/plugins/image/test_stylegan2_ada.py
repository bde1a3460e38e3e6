"""arch=stylegan2 and augment=ada in the image domain: the contract, exact resume with the
adaptive p, p in the log, and the small-data autopilot's one line."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
import torch

import ganx
from ganx.core.checkpoint import load_checkpoint
from ganx.plugins import image as image_plugin
from ganx.plugins.image.domain import ImageDomain
from ganx.testing import DomainContract

from ...conftest import run_ganx

TINY_SG2: dict[str, Any] = {"arch": "stylegan2", "resolution": 16, "width": 8,
                            "latent_dim": 16, "augment": "ada"}
RUN = {"batch_size": 8, "device": "cpu", "precision": "fp32", "log_every": 2,
       "sample_every": 4, "checkpoint_every": 4, "n_samples": 8, "eval_every": -1}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "ganx-home"))


class TestStyleGAN2WithADA(DomainContract):
    domain = ImageDomain()
    plugin = image_plugin
    settings: ClassVar[dict[str, Any]] = {**TINY_SG2, "conditional": True}


def test_a_stylegan2_run_with_ada_resumes_exactly(tmp_path):
    # a fast-moving p, lazy R1 every 2 D steps (through the augmentation) and the path-length
    # regulariser every 2 G steps (its running mean in the snapshot)
    settings = {**TINY_SG2, "ada_kimg": 0.05, "r1_interval": 2, "pl_weight": 2.0,
                "pl_interval": 2}
    straight = ganx.train("image", run_dir=str(tmp_path / "straight"), settings=settings,
                          steps=8, **RUN)
    ganx.train("image", run_dir=str(tmp_path / "parts"), settings=settings, steps=4, **RUN)
    parts = ganx.train("image", run_dir=str(tmp_path / "parts"), settings=settings, steps=8,
                       resume=True, **RUN)
    a, b = load_checkpoint(straight.checkpoint), load_checkpoint(parts.checkpoint)
    # the engine showed ADA every real batch, and r_t was computed at every 4th
    assert a["D"]["calls"].item() == 8 and a["D"]["rt"].item() != 0
    assert a["pl_mean"].item() > 0 and torch.equal(a["pl_mean"], b["pl_mean"])
    for net in ("G", "D", "G_ema"):
        for name, tensor in a[net].items():
            assert torch.equal(tensor, b[net][name]), (net, name)
    rows = [json.loads(x) for x in (tmp_path / "straight" / "metrics.jsonl").read_text()
            .splitlines() if '"train"' in x]
    assert all("ada_p" in r and "ada_rt" in r for r in rows)
    assert rows[-1]["ada_p"] == pytest.approx(a["D"]["p"].item())


def _folder(tmp_path, n):
    from PIL import Image

    from ganx.plugins.image import sources

    real = sources.load("fashion-mnist-mini", 16, 1).images[:n, 0]
    folder = tmp_path / "few"
    folder.mkdir()
    for i, picture in enumerate(real):
        Image.fromarray(picture).save(folder / f"{i:03d}.png")
    return folder


def test_the_autopilot_turns_on_ada_for_small_data_and_says_so(tmp_path):
    folder = _folder(tmp_path, 30)
    done = run_ganx("train", "--plugin", "image", "--data", str(folder), "--dry-run",
                    cwd=tmp_path, env={"GANX_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    lines = [x for x in done.stderr.splitlines() if "small dataset" in x]
    assert lines == ["small dataset (30 images, under 5000): augment=ada, adaptive"
                     " discriminator augmentation (set augment=none to train without)"]
    assert 'augment = "ada"' in done.stdout
    chosen = run_ganx("train", "--plugin", "image", "--data", str(folder), "--set",
                      "augment=color", "--dry-run", cwd=tmp_path,
                      env={"GANX_HOME": str(tmp_path / "home")})
    assert "small dataset" not in chosen.stderr and 'augment = "color"' in chosen.stdout


def test_the_autopilot_leaves_large_data_alone(tmp_path):
    done = run_ganx("train", "--plugin", "image", "--dry-run", cwd=tmp_path)
    assert "small dataset" not in done.stderr and 'augment = "none"' in done.stdout


def test_bad_augment_values_name_the_valid_ones(tmp_path):
    done = run_ganx("train", "--plugin", "image", "--set", "augment=adaa", "--dry-run",
                    cwd=tmp_path)
    assert done.returncode == 2
    assert "augment 'adaa': unknown augmentation 'adaa'; valid: color, translation, cutout," \
           " or auto, ada, none" in done.stderr


def test_evaluate_reports_memorisation_with_the_closest_pairs(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_IMAGE_FEATURES", "random")  # fast features for the test
    run = ganx.train("image", run_dir=str(tmp_path / "run"), settings={
        "resolution": 16, "width": 8, "latent_dim": 16}, steps=2, **RUN)
    results = ganx.evaluate(run.run_dir, n=64)
    assert {"memo_close_share", "memo_nn_ratio", "memo_train_images"} <= results.keys()
    assert results["memo_train_images"] == 8000  # the whole shipped training subset
    assert 0 <= results["memo_close_share"] <= 1
    pairs = tmp_path / "run" / "evaluation" / "memorisation-step-00000002.png"
    assert pairs.is_file()
    from PIL import Image

    assert Image.open(pairs).size[1] > Image.open(pairs).size[0] / 8  # two rows of eight
    from ganx.report import render_report

    assert "evaluation: memorisation" in render_report(run.run_dir)


def test_stylegan2_trains_under_bf16_autocast(tmp_path):
    result = ganx.train("image", run_dir=str(tmp_path / "run"), settings=TINY_SG2,
                        **{**RUN, "precision": "bf16"}, steps=2)
    assert result.precision == "bf16" and result.step == 2
    payload = load_checkpoint(result.checkpoint)
    assert all(torch.isfinite(t).all() for t in payload["G"].values() if t.is_floating_point())
