"""Modality-aware intensities: physical values to the unit range the networks see, and back.

Every slice is stored in a common representation, `unit` in [0, 1] (the networks see it as
[-1, 1]). How a modality maps to it:

- CT: Hounsfield units (from the stored values by the DICOM modality LUT: rescale slope and
  intercept) clipped to a window [level - width/2, level + width/2] and scaled linearly.
  The physical unit is HU; `unit_to_physical` maps back.
- MR: per volume, the robust percentiles (lo, hi) of the tissue voxels (non-zero ones) map to 0
  and 1, values beyond them are clipped. MR intensities have no absolute scale, so the physical
  unit is this normalised intensity (0 to 1 of the robust range).
- XR (radiographs): the file's VOI window when it has one, else robust percentiles, to [0, 1];
  MONOCHROME1 images (where high values are dark) are inverted so bone is always bright.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CT_WINDOWS: dict[str, tuple[float, float]] = {
    # (level, width) in HU, the usual radiology presets
    "brain": (40.0, 80.0),
    "soft_tissue": (40.0, 400.0),
    "lung": (-600.0, 1500.0),
    "bone": (400.0, 1800.0),
    "full": (1023.5, 4095.0),  # -1024 .. 3071: the whole 12-bit CT range
}
TISSUE_HU = -500.0
"""CT voxels above this are tissue (air is -1000 HU, fat about -100)."""
TISSUE_UNIT = 0.1
"""MR and radiograph pixels above this share of the robust range are tissue."""
INT16_SCALE = 32767.0
XR_MODALITIES = frozenset({"CR", "DX", "MG", "RG", "IO", "PX", "DR"})


def window_range(name: str) -> tuple[float, float]:
    """(low, high) HU of a named CT window."""
    level, width = CT_WINDOWS[name]
    return level - width / 2.0, level + width / 2.0


def modality_group(dicom_modality: str) -> str | None:
    """The ganx modality (CT, MR, XR) of a DICOM Modality value, or None when unsupported."""
    value = (dicom_modality or "").upper()
    if value in ("CT", "MR"):
        return value
    if value in XR_MODALITIES:
        return "XR"
    return None


@dataclass(frozen=True)
class Scaling:
    """The linear map physical = low + unit * (high - low) of one volume."""

    low: float
    high: float
    inverted: bool = False
    """Radiographs in MONOCHROME1: unit = 1 - (value - low) / (high - low)."""

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        span = self.high - self.low
        unit = (np.asarray(values, np.float32) - self.low) / (span if span > 0 else 1.0)
        unit = np.clip(unit, 0.0, 1.0)
        return 1.0 - unit if self.inverted else unit

    def to_physical(self, unit: np.ndarray) -> np.ndarray:
        u = np.asarray(unit, np.float32)
        if self.inverted:
            u = 1.0 - u
        return (self.low + u * (self.high - self.low)).astype(np.float32)


def robust_range(values: np.ndarray, percentiles: tuple[float, float]) -> tuple[float, float]:
    """Percentiles of the non-zero values (the tissue; backgrounds are mostly exact zeros), or of
    all values when there are too few non-zero ones."""
    flat = np.asarray(values, np.float32).ravel()
    tissue = flat[flat != 0]
    sample = tissue if tissue.size >= max(16, flat.size // 100) else flat
    low, high = np.percentile(sample, percentiles)
    if not high > low:
        low, high = float(sample.min()), float(sample.max())
    if not high > low:
        high = low + 1.0
    return float(low), float(high)


def scaling_for(modality: str, values: np.ndarray, *, window: str,
                percentiles: tuple[float, float], voi: tuple[float, float] | None = None,
                inverted: bool = False) -> Scaling:
    """The scaling of one volume (or radiograph) of `modality` (CT, MR or XR)."""
    if modality == "CT":
        return Scaling(*window_range(window))
    if modality == "XR" and voi is not None:
        return Scaling(voi[0], voi[1], inverted)
    return Scaling(*robust_range(values, percentiles), inverted=inverted)


def tissue_mask(modality: str, physical: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Which pixels are tissue: CT above -500 HU, otherwise above 10% of the robust range."""
    if modality == "CT":
        return np.asarray(physical) > TISSUE_HU
    return np.asarray(unit) > TISSUE_UNIT


def unit_to_int16(unit: np.ndarray) -> np.ndarray:
    """[0, 1] to int16 codes of [-1, 1] (what the engine's default prepare_batch reads back)."""
    return np.round((np.asarray(unit, np.float32) * 2.0 - 1.0) * INT16_SCALE).astype(np.int16)


def model_to_unit(x):  # numpy arrays or torch tensors
    """The networks' [-1, 1] back to [0, 1]."""
    return (x + 1.0) / 2.0


def physical_range(modality: str, window: str) -> tuple[float, float, str]:
    """(low, high, unit name) of the units metrics report for a run of `modality`: HU over the
    training window for CT, the normalised 0..1 intensity otherwise."""
    if modality == "CT":
        low, high = window_range(window)
        return low, high, "HU"
    return 0.0, 1.0, "normalised intensity"
