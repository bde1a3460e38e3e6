"""Writing DICOM series that carry no identifying data.

Every dataset is built from nothing: no attribute of any input file is copied. Each series gets
new, random Study, Series, Frame of Reference and SOP Instance UIDs (pydicom's `generate_uid`,
under the 2.25 UUID root); there are no patient, study-date, institution or operator attributes;
PatientIdentityRemoved is YES. What is written: the modality, the image geometry (position,
orientation, spacing, which locate voxels in space but identify no one), the pixel values and a
display window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _sop_class(modality: str) -> str:
    from pydicom import uid

    return {"CT": uid.CTImageStorage, "MR": uid.MRImageStorage}.get(
        modality, uid.SecondaryCaptureImageStorage)


def _geometry(affine: np.ndarray) -> tuple[list[float], list[float], float, np.ndarray]:
    """(ImageOrientationPatient, PixelSpacing, SliceThickness, LPS affine) of a RAS+ affine
    whose first two axes are the rows and columns of each slice."""
    lps = LPS_FROM_RAS @ np.asarray(affine, float)
    along_rows, along_cols = lps[:3, 0], lps[:3, 1]
    row_spacing, col_spacing = float(np.linalg.norm(along_rows)), float(np.linalg.norm(along_cols))
    # DICOM lists the direction of increasing column index first
    orientation = [*(along_cols / col_spacing), *(along_rows / row_spacing)]
    thickness = float(np.linalg.norm(lps[:3, 2])) or 1.0
    return [round(float(v), 6) for v in orientation], [row_spacing, col_spacing], thickness, lps


def _stored_values(volume: np.ndarray, modality: str) -> tuple[np.ndarray, float, float]:
    """(int16 stored pixels, rescale slope, rescale intercept) of physical values."""
    if modality == "CT":  # whole HU, as scanners store them
        slope, intercept = 1.0, 0.0
    else:  # the value range spread over the 65,536 stored levels
        low, high = float(volume.min()), float(volume.max())
        slope = (high - low) / 65535.0 if high > low else 1.0
        intercept = low + 32768.0 * slope
    pixels = np.clip(np.round((volume - intercept) / slope), -32768, 32767).astype(np.int16)
    return pixels, slope, intercept


def _series_dataset(series: dict[str, Any], k: int) -> Any:
    """The k-th slice's dataset of a series (`series`: what all its slices share)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = series["sop_class"]
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = series["sop_class"]
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = series["study"], series["series"]
    ds.FrameOfReferenceUID = series["frame_of_reference"]
    modality = series["modality"]
    ds.Modality = modality if modality in ("CT", "MR") else "OT"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.SeriesDescription = series["description"]
    ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "ganx: written from scratch; no attribute of any input copied"
    ds.BurnedInAnnotation = "NO"
    return ds


def write_series(volume: np.ndarray, affine: np.ndarray, modality: str, out_dir: Path,
                 description: str, window: tuple[float, float]) -> list[Path]:
    """Write (rows, cols, slices) physical values (HU for CT, the volume's own units otherwise)
    as one new series, a file per slice, into `out_dir`; return the paths."""
    from pydicom.uid import generate_uid

    volume = np.asarray(volume, np.float32)
    if volume.ndim == 2:
        volume = volume[:, :, None]
    orientation, spacing, thickness, lps = _geometry(affine)
    pixels, slope, intercept = _stored_values(volume, modality)
    series = {"sop_class": _sop_class(modality), "study": generate_uid(),
              "series": generate_uid(), "frame_of_reference": generate_uid(),
              "modality": modality, "description": description}
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(volume.shape[2]):
        ds = _series_dataset(series, k)
        ds.ImagePositionPatient = [round(float(v), 4) for v in (lps @ [0, 0, k, 1])[:3]]
        ds.ImageOrientationPatient = orientation
        ds.PixelSpacing = [round(s, 6) for s in spacing]
        ds.SliceThickness = round(thickness, 6)
        ds.RescaleIntercept, ds.RescaleSlope = f"{intercept:.10g}", f"{slope:.10g}"
        if modality == "CT":
            ds.RescaleType = "HU"
        ds.WindowCenter = round((window[0] + window[1]) / 2.0, 6)
        ds.WindowWidth = round(window[1] - window[0], 6)
        ds.set_pixel_data(np.ascontiguousarray(pixels[:, :, k]), "MONOCHROME2", 16)
        path = out_dir / f"IM{k + 1:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
