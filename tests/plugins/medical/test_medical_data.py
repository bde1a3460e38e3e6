"""The medical domain's data: named sets, NIfTI and DICOM folders, modality-aware intensities,
slicing geometry, and every bad-input case (skipped and reported, or exit 2 when nothing is left).

The helpers at the top build small synthetic volumes and DICOM files; the other medical test
files import them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ganx.core.errors import ConfigError
from ganx.plugins.medical import intensity, slicing, sources
from ganx.plugins.medical.domain import MedicalConfig, MedicalDomain, slice_settings

from ...conftest import run_ganx

PATIENT = {"PatientName": "Doe^Jane", "PatientID": "PID-20240917", "PatientBirthDate": "19610412",
           "PatientSex": "F", "InstitutionName": "Saint Example Hospital",
           "ReferringPhysicianName": "House^Gregory", "AccessionNumber": "ACC99321",
           "StudyDate": "20240917"}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "ganx-home"))


# -- synthetic data -------------------------------------------------------------------------------

def head_phantom(shape: tuple[int, int, int] = (40, 48, 24)) -> np.ndarray:
    """A CT head in HU: air, a skull shell (1000), brain (40), ventricles (5); the top quarter of
    the slices (along the last axis) is air only."""
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij"))
    radius = np.sqrt((grid[0] / 0.8) ** 2 + (grid[1] / 0.9) ** 2 + ((grid[2] + 0.3) / 0.9) ** 2)
    volume = np.full(shape, -1000.0, np.float32)
    volume[radius < 1.0] = 1000.0
    volume[radius < 0.85] = 40.0
    volume[(np.abs(grid[0]) < 0.15) & (np.abs(grid[1]) < 0.3) & (radius < 0.5)] = 5.0
    return volume


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.diag([1.2, 1.0, 2.0, 1.0]) if affine is None else affine),
             str(path))
    return path


def dicom_dataset(pixels: np.ndarray, *, modality: str = "CT", position=(0.0, 0.0, 0.0),
                  spacing=(0.9, 0.9), series: str | None = None, study: str | None = None,
                  slope: float = 1.0, intercept: float = -1024.0,
                  photometric: str = "MONOCHROME2", window: tuple[float, float] | None = None,
                  identifying: bool = True):
    """A DICOM dataset built from scratch (with made-up patient data unless told not to)."""
    from pydicom import uid
    from pydicom.dataset import Dataset, FileMetaDataset

    sop_class = {"CT": uid.CTImageStorage, "MR": uid.MRImageStorage}.get(
        modality, uid.ComputedRadiographyImageStorage)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid.generate_uid()
    meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study or uid.generate_uid()
    ds.SeriesInstanceUID = series or uid.generate_uid()
    ds.FrameOfReferenceUID = uid.generate_uid()
    ds.Modality = modality
    if identifying:
        for key, value in PATIENT.items():
            setattr(ds, key, value)
    ds.ImagePositionPatient = list(position)
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = list(spacing)
    ds.SliceThickness = 2.0
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = (window[0] + window[1]) / 2, window[1] - window[0]
    ds.set_pixel_data(np.ascontiguousarray(pixels.astype(np.uint16)), photometric, 16)
    return ds


def write_ct_series(folder: Path, volume_hu: np.ndarray, *, spacing=(0.9, 0.9), gap=2.0,
                    modality: str = "CT", shuffle: bool = True) -> list[Path]:
    """A series of single-frame files, one per slice along the last axis, stored as
    HU + 1024 with intercept -1024; written in a shuffled order, named without extension."""
    from pydicom import uid

    folder.mkdir(parents=True, exist_ok=True)
    series, study = uid.generate_uid(), uid.generate_uid()
    order = np.random.default_rng(0).permutation(volume_hu.shape[2]) if shuffle else range(
        volume_hu.shape[2])
    paths = []
    for n, k in enumerate(order):
        stored = np.round(volume_hu[:, :, k] + 1024.0)
        ds = dicom_dataset(stored, modality=modality, position=(-20.0, -25.0, 10.0 + gap * k),
                           spacing=spacing, series=series, study=study)
        path = folder / f"IM{n:04d}"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_bad_files(folder: Path) -> dict[str, Path]:
    """One file for each bad-input case of the issue."""
    from pydicom.data import get_testdata_file

    folder.mkdir(parents=True, exist_ok=True)
    bad = {"not_dicom": folder / "notes.dcm", "no_pixels": folder / "report.dcm",
           "jpeg_ls": folder / "compressed.dcm", "four_d": folder / "fmri.nii.gz"}
    bad["not_dicom"].write_text("this is a text file, not a DICOM file\n")
    ds = dicom_dataset(np.zeros((4, 4)))
    del ds.PixelData
    ds.save_as(bad["no_pixels"], enforce_file_format=True)
    # pydicom's JPEG-LS test image, relabelled CT so that only its compression stands in the way
    compressed = get_testdata_file("MR_small_jpeg_ls_lossless.dcm", read=True, download=False)
    compressed.Modality = "CT"
    compressed.save_as(bad["jpeg_ls"])
    rng = np.random.default_rng(0)
    write_nifti(bad["four_d"], rng.normal(100, 10, (8, 8, 6, 3)).astype(np.float32))
    return bad


def jpeg_ls_decodable() -> bool:
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEGLSLossless

    return get_decoder(JPEGLSLossless).is_available


def load(data: str, **settings) -> sources.SliceSet:
    domain = MedicalDomain()
    cfg = domain.resolve_config(MedicalConfig(**settings), data)
    from ganx.plugins.medical.domain import map_names

    return sources.load(data, slice_settings(cfg), maps=map_names(cfg), frame=cfg.frame)


def unit(codes: np.ndarray) -> np.ndarray:
    return (codes.astype(np.float32) / intensity.INT16_SCALE + 1.0) / 2.0


# -- named data -----------------------------------------------------------------------------------

def test_mni152_default_loads_offline_with_paired_maps(tmp_path):
    cfg = MedicalDomain().resolve_config(MedicalConfig(), "")
    assert cfg.modality == "MR" and cfg.fov_mm == 233.0  # the template's largest axial side
    data = load("", resolution=32, maps="gm,wm")
    n = len(data.slices)
    assert 100 < n < 189 and data.slices.shape == (n, 3, 32, 32)
    assert data.slices.dtype == np.int16
    brain, grey = unit(data.slices[:, 0]), unit(data.slices[:, 1])
    assert brain.max() > 0.95 and brain.min() == pytest.approx(0.0)
    # grey-matter probability lies inside the brain
    assert grey[brain < 0.01].max() < 0.2 and grey.max() > 0.5
    again = load("", resolution=32, maps="gm,wm")
    assert np.array_equal(again.slices, data.slices)
    assert list((tmp_path / "ganx-home" / "medical").glob("*.npz"))


def test_pydicom_ct_is_read_in_hounsfield_units():
    data = load("pydicom-ct", resolution=32, window="full")
    assert len(data.slices) >= 1 and data.slices.shape[1:] == (1, 32, 32)
    hu = intensity.Scaling(*intensity.window_range("full")).to_physical(unit(data.slices))
    assert hu.min() < -900 and hu.max() > 500  # air and bone, in HU


def test_unknown_dataset_name_suggests_the_nearest():
    with pytest.raises(ConfigError, match="did you mean 'mni152'"):
        load("mni125")
    with pytest.raises(ConfigError, match="mni152 has the paired maps gm and wm"):
        load("", maps="csf")


# -- folders --------------------------------------------------------------------------------------

def test_ct_series_folder_stacks_windows_and_skips_empty_slices(tmp_path):
    volume = head_phantom()
    write_ct_series(tmp_path / "ct", volume)
    cfg = MedicalDomain().resolve_config(MedicalConfig(resolution=16), str(tmp_path / "ct"))
    assert cfg.modality == "CT" and cfg.fov_mm == pytest.approx(48 * 0.9)
    axial = load(str(tmp_path / "ct"), resolution=16)
    tissue = [(volume[:, :, k] > -500).mean() for k in range(volume.shape[2])]
    assert len(axial.slices) == sum(t >= 0.1 for t in tissue) < volume.shape[2]
    # brain (40 HU) sits in the middle of the soft-tissue window (-160..240)
    middle = unit(axial.slices[len(axial.slices) // 2, 0])
    assert np.isclose(middle, 0.5, atol=0.02).mean() > 0.1
    brain = load(str(tmp_path / "ct"), resolution=16, window="brain")  # 0..80 HU
    assert np.isclose(unit(brain.slices[len(brain.slices) // 2, 0]), 0.5, atol=0.02).mean() > 0.1
    coronal = load(str(tmp_path / "ct"), resolution=16, axis="coronal")
    assert 0 < len(coronal.slices) <= volume.shape[1]


def test_dicom_series_affine_follows_the_headers(tmp_path):
    from ganx.plugins.medical.dicom_io import read_dicom

    paths = write_ct_series(tmp_path / "ct", head_phantom((12, 10, 5)), spacing=(0.7, 0.5))
    (volume,) = list(read_dicom(paths, None))
    assert volume.data.shape == (12, 10, 5) and len(volume.files) == 5
    # voxel (row, col, slice) -> RAS: LPS position (-20, -25, 10 + 2 k) with x, y negated
    ras = volume.affine @ np.array([3, 4, 2, 1.0])
    assert np.allclose(ras[:3], [20 - 4 * 0.5, 25 - 3 * 0.7, 10 + 2 * 2.0])
    assert np.allclose(volume.data, head_phantom((12, 10, 5)))  # sorted back into order, in HU


def test_a_multiframe_dicom_is_a_volume(tmp_path):
    from ganx.plugins.medical.dicom_io import read_dicom

    frames = np.round(np.moveaxis(head_phantom((10, 12, 4)), -1, 0) + 1024.0)  # (4, 10, 12)
    ds = dicom_dataset(frames[0])
    ds.NumberOfFrames = 4
    ds.SpacingBetweenSlices = 3.0
    ds.PixelData = frames.astype(np.uint16).tobytes()
    ds.save_as(tmp_path / "multi.dcm", enforce_file_format=True)
    (volume,) = list(read_dicom([tmp_path / "multi.dcm"], None))
    assert volume.data.shape == (10, 12, 4) and volume.modality == "CT"
    assert np.allclose(volume.data, head_phantom((10, 12, 4)))
    assert np.allclose(volume.affine[:3, 2], [0, 0, 3.0])  # frames 3 mm apart along +z


def _transformation(slope: float, intercept: float):
    from pydicom.dataset import Dataset

    item = Dataset()
    item.RescaleSlope, item.RescaleIntercept, item.RescaleType = slope, intercept, "HU"
    return item


@pytest.mark.parametrize("top_level", [False, True])
def test_enhanced_multiframe_rescales_each_frame(tmp_path, top_level):
    """Per-frame PixelValueTransformationSequence values, else the shared functional groups',
    else the top-level RescaleSlope/RescaleIntercept."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    from ganx.plugins.medical.dicom_io import read_dicom

    stored = np.arange(4 * 6 * 5, dtype=np.uint16).reshape(4, 6, 5) * 3 + 100
    own = {0: (1.0, -1024.0), 1: (2.0, -1000.0), 3: (0.5, -10.0)}  # frame 2 has none of its own
    ds = dicom_dataset(stored[0])
    ds.NumberOfFrames = 4
    ds.PixelData = stored.tobytes()
    if top_level:  # no shared values: frame 2 falls back to the top level
        ds.RescaleSlope, ds.RescaleIntercept = 4.0, -7.0
        fallback = (4.0, -7.0)
    else:
        del ds.RescaleSlope, ds.RescaleIntercept
        shared = Dataset()
        shared.PixelValueTransformationSequence = Sequence([_transformation(3.0, -500.0)])
        ds.SharedFunctionalGroupsSequence = Sequence([shared])
        fallback = (3.0, -500.0)
    frames = []
    for k in range(4):
        group = Dataset()
        position = Dataset()
        position.ImagePositionPatient = [0.0, 0.0, 2.0 * k]
        group.PlanePositionSequence = Sequence([position])
        if k in own:
            group.PixelValueTransformationSequence = Sequence([_transformation(*own[k])])
        frames.append(group)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.save_as(tmp_path / "enhanced.dcm", enforce_file_format=True)
    (volume,) = list(read_dicom([tmp_path / "enhanced.dcm"], None))
    assert volume.data.shape == (6, 5, 4)
    for k in range(4):
        slope, intercept = own.get(k, fallback)
        assert np.allclose(volume.data[:, :, k], stored[k] * slope + intercept), k


def test_nifti_folder_mr_is_normalised_per_volume(tmp_path):
    rng = np.random.default_rng(0)
    base = np.abs(head_phantom((16, 16, 12))) * 0.5 + rng.normal(0, 1, (16, 16, 12))
    base[head_phantom((16, 16, 12)) < -500] = 0
    write_nifti(tmp_path / "mr" / "a.nii.gz", base.astype(np.float32))
    write_nifti(tmp_path / "mr" / "sub" / "b.nii", (base * 7.5).astype(np.float32))
    data = load(str(tmp_path / "mr"), resolution=16)
    assert MedicalDomain().resolve_config(MedicalConfig(), str(tmp_path / "mr")).modality == "MR"
    half = len(data.slices) // 2
    # the same anatomy at another scanner scale gives the same slices
    assert np.abs(unit(data.slices[:half]) - unit(data.slices[half:])).max() < 2e-3


def test_radiographs_honour_monochrome1(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(100, 3000, (24, 20)).astype(np.uint16)
    folder = tmp_path / "xr"
    folder.mkdir()
    dicom_dataset(image, modality="CR", intercept=0, window=(0, 4096)).save_as(
        folder / "mono2.dcm", enforce_file_format=True)
    dicom_dataset(4095 - image, modality="DX", intercept=0, photometric="MONOCHROME1",
                  window=(0, 4095)).save_as(folder / "mono1.dcm", enforce_file_format=True)
    data = load(str(folder), resolution=16)
    assert data.slices.shape == (2, 1, 16, 16)
    assert np.abs(unit(data.slices[0]) - unit(data.slices[1])).max() < 2e-3  # inverted back


def test_radiographs_use_their_own_voi_window(tmp_path):
    image = np.full((16, 16), 1024, np.uint16)
    image[3, 3] = 4000  # an outlier that robust percentiles would stretch to
    ds = dicom_dataset(image, modality="DX", intercept=0)
    ds.WindowCenter, ds.WindowWidth = [2048, 1000], [4096, 500]  # several presets: the first
    (tmp_path / "xr").mkdir()
    ds.save_as(tmp_path / "xr" / "a.dcm", enforce_file_format=True)
    data = load(str(tmp_path / "xr"), resolution=16)
    assert np.median(unit(data.slices[0, 0])) == pytest.approx(1024 / 4096, abs=2e-3)


# -- bad inputs -----------------------------------------------------------------------------------

def test_every_bad_file_is_skipped_with_a_reason_naming_it(tmp_path, caplog):
    folder = tmp_path / "mixed"
    write_ct_series(folder / "series", head_phantom((16, 16, 8)))
    bad = write_bad_files(folder)
    inputs = sources.folder_inputs(folder, ())
    reasons = {Path(p).name: r for p, r in (
        item for item in sources.iter_volumes(inputs, "CT", -1) if isinstance(item, tuple))}
    assert "not a DICOM file" in reasons["notes.dcm"]
    assert "without pixel data" in reasons["report.dcm"]
    assert "4-D volume 8x8x6x3" in reasons["fmri.nii.gz"]
    assert "--set frame=N (0 to 2)" in reasons["fmri.nii.gz"]
    if jpeg_ls_decodable():  # a decoder is installed on this machine: the file is usable
        assert "compressed.dcm" not in reasons
    else:
        assert "JPEG-LS Lossless" in reasons["compressed.dcm"]
        assert "pip install pylibjpeg pylibjpeg-libjpeg" in reasons["compressed.dcm"]
    with caplog.at_level("WARNING", logger="ganx"):
        data = load(str(folder), resolution=16)
    assert len(data.slices) > 0
    expected = 3 if jpeg_ls_decodable() else 4
    assert f"skipped {expected} unusable file(s)" in caplog.text
    assert str(bad["four_d"]) in caplog.text


def test_a_4d_volume_loads_with_a_frame_choice(tmp_path):
    write_bad_files(tmp_path / "bad")
    folder = tmp_path / "fmri"
    folder.mkdir()
    shutil.copy(tmp_path / "bad" / "fmri.nii.gz", folder)
    with pytest.raises(ConfigError, match=r"fmri.nii.gz: a 4-D volume .* --set frame=N"):
        load(str(folder), resolution=16, min_tissue=0.0)
    assert len(load(str(folder), resolution=16, min_tissue=0.0, frame=2).slices) == 6
    with pytest.raises(ConfigError, match="has no frame 3"):
        load(str(folder), resolution=16, min_tissue=0.0, frame=3)


@pytest.mark.parametrize(("make", "message"), [
    (lambda root: None, "no such file or folder"),
    (lambda root: root.mkdir(), "no NIfTI or DICOM files found"),
    (lambda root: (root.mkdir(), (root / "x.dcm").write_text("nope")),
     r"none of the 1 file\(s\) could be used \(first: .*x.dcm: not a DICOM"),
    (lambda root: write_bad_files(root), "none of the 4 file"),
])
def test_unusable_data_is_a_config_error(tmp_path, make, message):
    root = tmp_path / "data"
    make(root)
    with pytest.raises(ConfigError, match=message):
        load(str(root), resolution=16, modality="MR")


def test_nothing_usable_exits_2_through_the_cli(tmp_path):
    write_bad_files(tmp_path / "bad")
    result = run_ganx("train", "--plugin", "medical", "--data", str(tmp_path / "bad"),
                      "--set", "modality=MR", "--steps", "1", "--run-dir", str(tmp_path / "run"),
                      "--no-progress", env={"GANX_HOME": str(tmp_path / "home")})
    assert result.returncode == 2, result.stderr
    assert "none of the 4 file(s) could be used" in result.stderr
    assert "Traceback" not in result.stderr


def test_mixed_modalities_need_a_choice(tmp_path):
    write_ct_series(tmp_path / "mix" / "ct", head_phantom((16, 16, 8)))
    write_ct_series(tmp_path / "mix" / "mr", np.abs(head_phantom((16, 16, 8))), modality="MR")
    with pytest.raises(ConfigError, match=r"found CT \(8 files\) and MR \(8 files\); choose one"
                                          r" with --set modality=CT\|MR"):
        load(str(tmp_path / "mix"))
    assert len(load(str(tmp_path / "mix"), resolution=16, modality="MR").slices) > 0


# -- intensities and geometry ---------------------------------------------------------------------

def test_ct_windows_map_hounsfield_units():
    assert intensity.window_range("brain") == (0.0, 80.0)
    assert intensity.window_range("lung") == (-1350.0, 150.0)
    scaling = intensity.Scaling(*intensity.window_range("soft_tissue"))
    hu = np.array([-1000.0, -160.0, 40.0, 240.0, 1000.0])
    assert scaling.to_unit(hu).tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert scaling.to_physical(scaling.to_unit(hu)).tolist() == [-160.0, -160.0, 40.0, 240.0,
                                                                 240.0]


@pytest.mark.parametrize("codes", ["RAS", "LPS", "PIR", "ASL"])
def test_slices_come_back_exactly(codes):
    import nibabel as nib

    rng = np.random.default_rng(1)
    data = rng.normal(size=(5, 6, 7))
    affine = np.eye(4)
    affine[:3, :3] = 0
    for voxel_axis, (ras_axis, sign) in enumerate(nib.orientations.axcodes2ornt(codes)):
        affine[int(ras_axis), voxel_axis] = sign * (voxel_axis + 1.0)
    ras, back_ornt, _ = slicing.to_ras(data, affine)
    assert nib.aff2axcodes(affine) == tuple(codes)
    for axis in range(3):
        assert np.array_equal(slicing.slices_to_ras(slicing.ras_slices(ras, axis), axis), ras)
    assert np.array_equal(slicing.from_ras(ras, back_ornt), data)


def test_axial_slices_are_shown_radiologically():
    ras = np.zeros((4, 5, 3))
    ras[3, 4, 1] = 1.0  # the patient's right-most, most anterior voxel
    image = slicing.ras_slices(ras, 2)[1]
    assert image.shape == (5, 4) and image[0, 0] == 1.0  # top left: anterior, patient's right


def test_fit_keeps_physical_size():
    image = np.ones((10, 20), np.float32)  # 10 x 40 mm at 1 x 2 mm pixels
    out = slicing.fit(image, (1.0, 2.0), 80.0, 16)  # 5 mm pixels
    rows, cols = np.nonzero(out > 0.5)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (2, 8)
