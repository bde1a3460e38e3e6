"""`ganx sample RUN --input`: restoring a user's NIfTI volumes and DICOM series slice by slice,
keeping their geometry; and the privacy guarantee of every DICOM file ganx writes."""

from __future__ import annotations

import gzip
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from ganx.core.errors import ConfigError
from ganx.nn import restore_image
from ganx.plugins.medical.dicom_io import read_dicom
from ganx.plugins.medical.domain import MedicalConfig, MedicalDomain
from ganx.plugins.medical.restore import restore_files

from ...conftest import run_ganx
from .test_medical_data import PATIENT, dicom_dataset, head_phantom, write_ct_series, write_nifti

CPU = torch.device("cpu")
TRAINING_GRID = np.diag([1.25, 1.25, 2.0, 1.0])
"""1.25 mm in-plane: the training pixel size of fov_mm=20 at resolution 16 (no resampling)."""


class Identity(torch.nn.Module):
    """A 'restoration' that returns its input: what comes out is exactly what went in."""

    def forward(self, z, corrupted):
        return corrupted[:, :1]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "ganx-home"))


def oblique_affine() -> np.ndarray:
    """LPS-ordered voxels, anisotropic (0.8 mm in-plane, 2.5 mm apart), slightly rotated,
    off-centre."""
    angle = np.deg2rad(10)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                         [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([-0.8, -0.8, 2.5])
    affine[:3, 3] = [30.0, 40.0, -12.0]
    return affine


def test_restored_nifti_keeps_the_affine_header_and_values(tmp_path):
    import nibabel as nib

    volume = head_phantom((20, 18, 9))
    img = nib.Nifti1Image(volume, oblique_affine())
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(oblique_affine(), code=1)
    img.set_sform(oblique_affine(), code=3)
    img.header["descrip"] = b"Doe^Jane 19610412"  # free text some converters fill
    img.header.extensions.append(nib.nifti1.Nifti1Extension(2, b"(0010,0010) PN Doe^Jane"))
    (tmp_path / "in" / "sub").mkdir(parents=True)
    nib.save(img, str(tmp_path / "in" / "sub" / "head.nii"))
    # trained at the volume's own 0.8 mm pixels: nothing is resampled, the identity is exact
    cfg = MedicalConfig(task="denoise", modality="CT", window="full", fov_mm=12.8, resolution=16)
    (path,) = restore_files(cfg, Identity(), tmp_path / "in", tmp_path / "out", CPU)
    assert path == tmp_path / "out" / "sub" / "head.nii.gz"
    out = nib.load(str(path))
    assert out.shape == volume.shape and np.allclose(out.affine, oblique_affine())
    assert int(out.header["qform_code"]) == 1 and int(out.header["sform_code"]) == 3
    assert out.header.get_xyzt_units() == ("mm", "sec")
    assert np.allclose(out.header.get_zooms(), img.header.get_zooms())
    assert np.allclose(np.asarray(out.dataobj), np.clip(volume, -1024, 3071), atol=0.01)  # HU
    assert b"Doe^Jane" not in gzip.decompress(path.read_bytes()) and not out.header.extensions


def test_restored_mr_keeps_its_own_intensity_scale(tmp_path):
    import nibabel as nib

    rng = np.random.default_rng(0)
    volume = (np.abs(head_phantom((16, 16, 8))) * 3 + rng.normal(0, 5, (16, 16, 8)))
    write_nifti(tmp_path / "mr.nii.gz", volume.astype(np.float32), np.diag([1.2, 1.25, 1.25, 1]))
    cfg = MedicalConfig(task="denoise", modality="MR", fov_mm=20.0, resolution=16, axis="sagittal")
    (path,) = restore_files(cfg, Identity(), tmp_path / "mr.nii.gz", tmp_path / "out", CPU)
    tissue = volume[volume != 0]
    low, high = np.percentile(tissue, [0.5, 99.5])
    out = np.asarray(nib.load(str(path)).dataobj)
    assert np.allclose(out, np.clip(volume, low, high), atol=1e-3 * (high - low))


def test_inpainting_needs_a_mask_and_keeps_the_known_voxels(tmp_path):
    import nibabel as nib

    volume = np.abs(head_phantom((16, 16, 6))) + 10.0
    write_nifti(tmp_path / "in" / "v.nii.gz", volume.astype(np.float32), TRAINING_GRID)
    cfg = MedicalConfig(task="inpaint", modality="MR", fov_mm=20.0, resolution=16)
    with pytest.raises(ConfigError, match=r"v.nii.gz: inpainting needs a mask v.mask.nii.gz"):
        restore_files(cfg, Identity(), tmp_path / "in", tmp_path / "out", CPU)
    holes = np.zeros(volume.shape, np.uint8)
    holes[4:9, 5:10, 2:4] = 1
    write_nifti(tmp_path / "in" / "v.mask.nii.gz", holes, TRAINING_GRID)
    (path,) = restore_files(cfg, Identity(), tmp_path / "in", tmp_path / "out", CPU)
    out = np.asarray(nib.load(str(path)).dataobj)
    low, high = np.percentile(volume, [0.5, 99.5])
    known = holes == 0
    assert np.allclose(out[known], np.clip(volume, low, high)[known], atol=1e-3 * (high - low))
    # the identity "fills" holes with the mid-grey the hole was blanked with
    assert np.allclose(out[~known], (low + high) / 2, atol=1e-3 * (high - low))


def test_dicom_series_input_gives_nifti_in_its_geometry(tmp_path):
    import nibabel as nib

    write_ct_series(tmp_path / "in" / "series", head_phantom((16, 12, 6)), spacing=(0.75, 0.75))
    (series,) = list(read_dicom(sorted((tmp_path / "in" / "series").iterdir()), None))
    cfg = MedicalConfig(task="denoise", modality="CT", window="full", fov_mm=12.0, resolution=16)
    (path,) = restore_files(cfg, Identity(), tmp_path / "in", tmp_path / "out", CPU)
    out = nib.load(str(path))
    assert np.allclose(out.affine, series.affine) and out.shape == (16, 12, 6)
    assert np.allclose(np.asarray(out.dataobj), series.data, atol=0.01)


class TileOffset(torch.nn.Module):
    """Each tile comes back as a different flat grey: the worst case for seams."""

    def forward(self, z, corrupted):
        levels = torch.linspace(-1, 1, len(corrupted))[torch.randperm(len(corrupted))]
        return levels[:, None, None, None].expand(-1, 1, *corrupted.shape[-2:]).clone()


def test_slices_are_restored_in_blended_overlapping_tiles(tmp_path):
    import nibabel as nib

    # an identity reproduces slices of any size, not a multiple of the tile, exactly
    rng = np.random.default_rng(1)
    volume = rng.uniform(10, 200, (37, 23, 2)).astype(np.float32)
    write_nifti(tmp_path / "odd.nii.gz", volume, TRAINING_GRID)
    cfg = MedicalConfig(task="denoise", modality="MR", fov_mm=20.0, resolution=16,
                        percentiles=(0.0, 100.0))
    (path,) = restore_files(cfg, Identity(), tmp_path / "odd.nii.gz", tmp_path / "out", CPU)
    out = np.asarray(nib.load(str(path)).dataobj)
    assert out.shape == volume.shape
    assert np.abs(out - volume).max() <= 1e-5 * (volume.max() - volume.min())
    # tiles that disagree as much as they can are blended: no seam jumps between neighbours
    torch.manual_seed(0)
    write_nifti(tmp_path / "ct.nii.gz", head_phantom((64, 64, 2)), TRAINING_GRID)
    cfg = MedicalConfig(task="denoise", modality="CT", window="full", fov_mm=20.0, resolution=16)
    (path,) = restore_files(cfg, TileOffset(), tmp_path / "ct.nii.gz", tmp_path / "out", CPU)
    out = np.asarray(nib.load(str(path)).dataobj)
    jump = max(np.abs(np.diff(out, axis=0)).max(), np.abs(np.diff(out, axis=1)).max())
    # tiles differ by up to the whole window (4095 HU); blended, a neighbour moves < 1/4 of it
    assert jump < 0.25 * 4095


def test_slices_are_restored_at_the_training_pixel_size(tmp_path, monkeypatch, caplog):
    """A volume at half the training pixel size: the model sees its slices at the training
    scale (half as many pixels each way, a 16-pixel square shrunk to 8) and the output comes back
    on the input's own grid and geometry."""
    import nibabel as nib

    from ganx.plugins.medical import native

    seen: list[torch.Tensor] = []

    def recording(generator, corrupted, *args, **kwargs):
        seen.append(corrupted.clone())
        return restore_image(generator, corrupted, *args, **kwargs)

    monkeypatch.setattr(native, "restore_image", recording)
    volume = np.full((40, 36, 3), 20.0, np.float32)
    volume[12:28, 10:26] = 100.0  # a 16 x 16 voxel (8 x 8 mm) square in every slice
    affine = np.diag([0.5, 0.5, 3.0, 1.0])
    affine[:3, 3] = [-10.0, 5.0, 2.0]
    img = nib.Nifti1Image(volume, affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=2)
    nib.save(img, str(tmp_path / "fine.nii.gz"))
    cfg = MedicalConfig(task="denoise", modality="MR", fov_mm=16.0, resolution=16,
                        percentiles=(0.0, 100.0))  # trained at 1 mm
    (path,) = restore_files(cfg, Identity(), tmp_path / "fine.nii.gz", tmp_path / "out", CPU)
    assert len(seen) == 3 and all(x.shape == (1, 18, 20) for x in seen)  # 36 x 40 at 0.5 mm
    square = (seen[0][0] > 0).sum(dim=1)  # pixels brighter than mid-grey, per row
    assert int(square.max()) == 8
    out = nib.load(str(path))
    assert out.shape == volume.shape and np.allclose(out.affine, affine)
    assert int(out.header["qform_code"]) == 1 and int(out.header["sform_code"]) == 2
    assert np.allclose(out.header.get_zooms(), (0.5, 0.5, 3.0))
    data = np.asarray(out.dataobj)
    assert np.allclose(data[16:24, 14:22], 100.0, atol=0.5)  # inside the square
    assert np.allclose(data[:6], 20.0, atol=0.5) and np.allclose(data[34:], 20.0, atol=0.5)
    # an input without pixel spacing is restored at its own size, with one warning line
    seen.clear()
    ds = dicom_dataset(np.round(head_phantom((30, 26, 1))[:, :, 0] + 1024.0))
    del ds.PixelSpacing
    (tmp_path / "dicom").mkdir()
    ds.save_as(tmp_path / "dicom" / "nospacing.dcm", enforce_file_format=True)
    ct = MedicalConfig(task="denoise", modality="CT", window="full", fov_mm=16.0, resolution=16)
    caplog.clear()
    with caplog.at_level("WARNING", logger="ganx"):
        restore_files(ct, Identity(), tmp_path / "dicom", tmp_path / "out2", CPU)
    assert [x.shape for x in seen] == [(1, 30, 26)]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "nospacing.dcm: no pixel spacing in its header; restored at its own pixel size" in (
        warning)


def test_dicom_series_is_inpainted_like_nifti(tmp_path):
    """A DICOM series on an inpaint run takes its holes from a NIfTI mask named after its output;
    known voxels are kept, holes filled, and DICOM output is anonymous as for denoising."""
    import nibabel as nib

    inputs = write_ct_series(tmp_path / "in" / "series", head_phantom((16, 12, 6)),
                             spacing=(0.75, 0.75))
    (series,) = list(read_dicom(inputs, None))
    cfg = MedicalConfig(task="inpaint", modality="CT", window="full", fov_mm=12.0, resolution=16,
                        write_dicom=True)
    name = f"series-{series.path.name}"  # the series folder and its first file
    with pytest.raises(ConfigError, match=rf"inpainting needs a mask {name}.mask.nii.gz in its"
                                          " series folder series"):
        restore_files(cfg, Identity(), tmp_path / "in", tmp_path / "out", CPU)
    holes = np.zeros(series.data.shape, np.uint8)
    holes[4:9, 3:8, 1:4] = 1
    write_nifti(tmp_path / "in" / "series" / f"{name}.mask.nii.gz", holes, series.affine)
    written = restore_files(cfg, Identity(), tmp_path / "in", tmp_path / "out", CPU)
    (nifti,) = [p for p in written if p.name.endswith(".nii.gz")]
    assert nifti == tmp_path / "out" / "series" / f"{name}.nii.gz"
    out = nib.load(str(nifti))
    assert np.allclose(out.affine, series.affine) and out.shape == series.data.shape
    data, known = np.asarray(out.dataobj), holes == 0
    assert np.allclose(data[known], series.data[known], atol=0.01)
    assert np.allclose(data[~known], (-1024 + 3071) / 2, atol=0.01)  # the identity's mid-grey
    dicom = [p for p in written if p.suffix == ".dcm"]
    assert len(dicom) == 6
    assert_anonymous(dicom, _input_values(inputs))
    (copy,) = list(read_dicom(dicom, None))
    assert np.allclose(copy.affine, series.affine, atol=1e-3)
    assert np.allclose(copy.data, data, atol=0.51)  # whole HU


def _input_values(paths: list[Path]) -> set[str]:
    import pydicom

    values = set()
    for path in paths:
        ds = pydicom.dcmread(path)
        values |= {str(ds.get(k)) for k in ("StudyInstanceUID", "SeriesInstanceUID",
                                            "SOPInstanceUID", "FrameOfReferenceUID")}
    return values


def assert_anonymous(paths: list[Path], input_uids: set[str]) -> None:
    """No patient attribute, no identifying value, no UID of any input."""
    import pydicom

    assert paths
    for path in paths:
        raw = path.read_bytes()
        for value in PATIENT.values():
            if len(value) > 2:  # a one-letter value (PatientSex) could be any pixel byte
                assert value.encode() not in raw, (path, value)
        ds = pydicom.dcmread(path)
        keywords = {e.keyword for e in ds.iterall()}
        assert not {k for k in keywords if k.startswith("Patient")} - {"PatientIdentityRemoved"}
        assert not keywords & set(PATIENT), keywords & set(PATIENT)
        assert ds.PatientIdentityRemoved == "YES"
        for key in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
                    "FrameOfReferenceUID"):
            assert str(ds[key].value) not in input_uids
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID


def test_written_dicom_carries_no_identifying_data(tmp_path):
    """Restoring an identified DICOM series with write_dicom=true: new UIDs, no patient fields,
    and the series reads back with the input's geometry and the restored values."""
    inputs = write_ct_series(tmp_path / "in" / "series", head_phantom((16, 12, 6)))
    cfg = MedicalConfig(task="denoise", modality="CT", window="full", fov_mm=14.4, resolution=16,
                        write_dicom=True)  # 0.9 mm pixels, as the series
    written = restore_files(cfg, Identity(), tmp_path / "in", tmp_path / "out", CPU)
    dicom = [p for p in written if p.suffix == ".dcm"]
    assert len(dicom) == 6
    assert_anonymous(dicom, _input_values(inputs))
    (original,) = list(read_dicom(inputs, None))
    (copy,) = list(read_dicom(dicom, None))
    assert np.allclose(copy.affine, original.affine, atol=1e-3)
    assert np.allclose(copy.data, original.data, atol=0.5)  # whole HU
    # generated samples written as DICOM follow the same rules
    domain = MedicalDomain()
    generated = MedicalConfig(modality="MR", fov_mm=20.0, resolution=16, write_dicom=True)
    paths = domain.write_samples(generated, torch.rand(3, 1, 16, 16) * 2 - 1, tmp_path, "g")
    assert_anonymous([p for p in paths if p.suffix == ".dcm"], _input_values(inputs))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny runs on the default data (two steps each): denoise through the CLI, generate
    in-process."""
    import ganx

    root = tmp_path_factory.mktemp("runs")
    env = {"GANX_HOME": str(root / "home"), "GANX_IMAGE_FEATURES": "random"}
    result = run_ganx("train", "--plugin", "medical", "--steps", "2", "--batch-size", "8",
                      "--device", "cpu", "--run-dir", str(root / "denoise"), "--set",
                      "resolution=16", "--set", "width=8", "--set", "task=denoise", "--set",
                      "eval_every=-1", "--no-progress", env=env)
    assert result.returncode == 0, result.stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANX_HOME", env["GANX_HOME"])
        ganx.train("medical", run_dir=str(root / "generate"), steps=2, batch_size=8,
                   device="cpu", eval_every=-1, settings={"resolution": 16, "width": 8})
    return {"denoise": root / "denoise", "generate": root / "generate"}, env


def test_sample_input_restores_a_folder_through_the_cli(runs, tmp_path):
    import nibabel as nib

    made, env = runs
    volume = np.abs(head_phantom((20, 24, 10))) + 5.0
    write_nifti(tmp_path / "in" / "a.nii.gz", volume.astype(np.float32))
    (tmp_path / "in" / "readme.txt").write_text("ignored")
    result = run_ganx("sample", str(made["denoise"]), "--input", str(tmp_path / "in"), "--out",
                      str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stderr
    out = nib.load(str(tmp_path / "out" / "a.nii.gz"))
    assert out.shape == volume.shape and np.isfinite(np.asarray(out.dataobj)).all()
    # the training pixel size (fov_mm / resolution) that restoration resamples to is on record
    recorded = tomllib.loads((made["denoise"] / "config.toml").read_text())["domain"]
    assert recorded["fov_mm"] > 0 and recorded["resolution"] == 16


def test_generation_runs_sample_volumes_and_refuse_input(runs, tmp_path, monkeypatch):
    import nibabel as nib

    import ganx

    made, env = runs
    monkeypatch.setenv("GANX_HOME", env["GANX_HOME"])
    model = ganx.load(made["generate"])
    paths = model.write_samples(tmp_path / "gen", 4, seed=3)
    assert nib.load(str(tmp_path / "gen" / "sample.nii.gz")).shape == (16, 16, 4)
    again = ganx.load(made["generate"]).write_samples(tmp_path / "again", 4, seed=3)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]  # same seed
    with pytest.raises(ConfigError, match="this run generates slices"):
        model.restore(tmp_path / "gen", tmp_path / "restored")
    with pytest.raises(ConfigError, match="pass volumes with ganx sample RUN --input"):
        ganx.load(made["denoise"]).write_samples(tmp_path / "x", 2)
