"""The image domain passes the contract, trains through the CLI and writes sample grids."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from ganx.plugins import image as image_plugin
from ganx.plugins.image.domain import ImageConfig, ImageDomain
from ganx.testing import DomainContract

from ...conftest import run_ganx

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


def test_spectral_norm_on_a_restoration_task_is_a_config_error(tmp_path):
    result = run_ganx("train", "--plugin", "image", "--set", "task=denoise", "--set",
                      "d_norm=spectral", "--run-dir", str(tmp_path / "run"), "--dry-run")
    assert result.returncode == 2
    assert "d_norm=spectral applies to task=generate only" in result.stderr


@pytest.mark.parametrize("task", ["inpaint", "denoise", "superres"])
class TestRestorationDomain(DomainContract):
    domain = ImageDomain()
    plugin = image_plugin

    @pytest.fixture(autouse=True)
    def _task(self, task, monkeypatch):
        monkeypatch.setattr(type(self), "settings", {**TINY, "task": task})


def test_denoising_beats_the_noisy_input(tmp_path):
    import ganx
    from ganx.core.sampling import reference_set
    from ganx.plugins.image.restoration_metrics import restoration_metrics

    result = ganx.train("image", run_dir=str(tmp_path / "run"), steps=200, batch_size=32,
                        device="cpu", precision="fp32", eval_every=0, eval_samples=128,
                        log_every=50, sample_every=200,
                        settings={"task": "denoise", "resolution": 16, "width": 16})
    assert result.metrics["n"] == 128
    # the same reference images and noisy inputs the metric saw, scored as they are
    model = ganx.load(result.run_dir)
    cfg, train_cfg = model.config, model.train_config
    dataset = model.domain.build_dataset(cfg, train_cfg.data)
    real, (noisy,) = reference_set(model.domain, cfg, dataset, 128, device=model.device,
                                   seed=train_cfg.seed, batch_size=train_cfg.batch_size)
    baseline = restoration_metrics(noisy, real, cfg)["psnr"]
    assert result.metrics["psnr"] > baseline + 1.0, (result.metrics, baseline)
    grid = tmp_path / "run" / "samples" / "step-00000200.png"
    from PIL import Image

    assert Image.open(grid).size[1] == 2 + 3 * 18  # input, output and target rows


def test_sample_one_class_from_a_conditional_run(tmp_path):
    env = {"GANX_HOME": str(tmp_path / "home")}
    run = tmp_path / "run"
    result = run_ganx("train", "--plugin", "image", "--steps", "2", "--batch-size", "8",
                      "--device", "cpu", "--run-dir", str(run), "--set", "resolution=16",
                      "--set", "width=8", "--set", "conditional=true", "--no-progress", env=env)
    assert result.returncode == 0, result.stderr
    import ganx

    model = ganx.load(run, settings={"label": 3})
    reference = ganx.load(run)  # cycles through the classes: item 3, 13, 23 ... are class 3
    same = model.generate(12, seed=5)
    cycled = reference.generate(12, seed=5)
    assert same[3].equal(cycled[3]) and not same[4].equal(cycled[4])
    out = run_ganx("sample", str(run), "-n", "4", "--label", "3", "--out", str(tmp_path / "s"),
                   env=env)
    assert out.returncode == 0, out.stderr
    bad = run_ganx("sample", str(run), "--label", "10", env=env)
    assert bad.returncode == 2 and "label 10: this run has classes 0 to 9" in bad.stderr


class TestResNetImageDomain(DomainContract):
    domain = ImageDomain()
    plugin = image_plugin
    settings: ClassVar[dict[str, Any]] = {**TINY, "arch": "resnet", "conditional": True,
                                          "augment": "color,translation,cutout"}


class TestBatchNormDCGANImageDomain(DomainContract):
    domain = ImageDomain()
    plugin = image_plugin
    settings: ClassVar[dict[str, Any]] = {**TINY, "d_norm": "batch", "conditional": True}


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, "spectral"), ({"task": "denoise"}, "batch"), ({"arch": "resnet"}, "spectral"),
    ({"d_norm": "batch"}, "batch"), ({"d_norm": "spectral"}, "spectral")])
def test_d_norm_auto_is_resolved_into_the_run_config(settings, expected):
    from torch import nn

    domain = ImageDomain()
    cfg = domain.resolve_config(domain.Config(**{**TINY, **settings}), "")
    assert cfg.d_norm == expected  # config.toml records what ran, never "auto"
    has_batchnorm = any(isinstance(m, nn.BatchNorm2d)
                        for m in domain.build_discriminator(cfg).modules())
    assert has_batchnorm == (expected == "batch")


def test_batch_norm_with_the_resnet_discriminator_is_a_config_error(tmp_path):
    result = run_ganx("train", "--plugin", "image", "--set", "arch=resnet", "--set",
                      "d_norm=batch", "--run-dir", str(tmp_path / "run"), "--dry-run")
    assert result.returncode == 2
    assert "d_norm=batch applies to arch=dcgan only" in result.stderr


def test_augment_typo_is_a_config_error(tmp_path):
    result = run_ganx("train", "--plugin", "image", "--set", "augment=colour", "--dry-run",
                      env={"GANX_HOME": str(tmp_path)})
    assert result.returncode == 2 and "unknown augmentation 'colour'" in result.stderr


def test_resnet_gets_sngan_engine_defaults_and_flags_still_win(tmp_path):
    from ganx.api import plan_run

    plan = plan_run("image", settings={"arch": "resnet"}, options={"run_dir": str(tmp_path)})
    assert plan.train.loss == "hinge" and tuple(plan.train.betas) == (0.0, 0.9)
    plan = plan_run("image", settings={"arch": "resnet", "loss": "nonsaturating"},
                    options={"run_dir": str(tmp_path)})
    assert plan.train.loss == "nonsaturating" and tuple(plan.train.betas) == (0.0, 0.9)
    plan = plan_run("image", options={"run_dir": str(tmp_path)})
    assert plan.train.loss == "nonsaturating" and tuple(plan.train.betas) == (0.5, 0.999)


def test_a_snapshot_from_before_d_norm_resumes_with_its_batchnorm_discriminator(tmp_path):
    from ganx.core.checkpoint import list_snapshots, load_checkpoint, save_atomic

    run, home = tmp_path / "run", {"GANX_HOME": str(tmp_path / "home")}
    common = ["--plugin", "image", "--batch-size", "8", "--device", "cpu", "--run-dir", str(run),
              "--no-progress"]
    tiny = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
    result = run_ganx("train", *common, *tiny, "--steps", "2", "--set", "d_norm=batch", env=home)
    assert result.returncode == 0, result.stderr
    _, snapshot = list_snapshots(run / "checkpoints")[0]  # the newest
    payload = load_checkpoint(snapshot)
    del payload["config"]["domain"]["d_norm"]  # as written before the field existed
    save_atomic(payload, snapshot)
    (run / "config.toml").unlink()
    result = run_ganx("train", *common, "--resume", "--steps", "4", env=home)
    assert result.returncode == 0, result.stderr
    assert load_checkpoint(list_snapshots(run / "checkpoints")[0][1])["step"] == 4


def test_batch_norm_projection_starts_on_the_scale_of_the_unconditional_logit():
    """The label embedding is initialised as DCGAN's other layers are: left at torch's N(0, 1)
    the projection term was ~100x the head's logit on real images and conditional training with
    the batch-norm discriminator never recovered (D and G losses of 50-60 from the start)."""
    import torch

    domain = ImageDomain()
    cfg = domain.resolve_config(ImageConfig(conditional=True, d_norm="batch"), "")
    images, labels = domain.build_dataset(cfg, "")
    real, (classes,) = domain.prepare_batch(cfg, (images[:64], labels[:64]))
    torch.manual_seed(0)
    d = domain.build_discriminator(cfg)
    with torch.no_grad():
        head = d.head(d.features(real)).flatten(1).squeeze(1)
        projection = d(real, classes) - head
    assert 0 < float(projection.std()) < 5 * float(head.std())
