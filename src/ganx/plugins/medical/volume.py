"""`Volume`: one medical image in physical values with its geometry, whatever file it came from;
and `SkipFile`, the reason a file cannot be used."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class SkipFile(Exception):
    """A file that cannot be used. The message says why (and what would fix it); the loader
    skips the file, counts it and reports it with its path."""


@dataclass
class Volume:
    """A 3-D volume (or a 2-D image) in physical values.

    `data` is float32: (I, J, K) voxels mapped to RAS+ millimetres by `affine` for volumes; (rows,
    cols) as displayed, row 0 at the top, for 2-D images (radiographs, single DICOM slices), with
    `spacing` (row, column) in millimetres.
    """

    path: Path
    data: np.ndarray
    affine: np.ndarray
    modality: str | None
    """CT, MR, XR, or None when the file does not say (NIfTI)."""
    spacing: tuple[float, float] = (1.0, 1.0)
    spacing_known: bool = True
    """False when the file gives no pixel spacing (a DICOM without PixelSpacing or
    ImagerPixelSpacing, a NIfTI with invalid voxel sizes): `spacing` and the affine's voxel sizes
    are then a 1 mm guess."""
    voi: tuple[float, float] | None = None
    """A radiograph's own display window (low, high), from its DICOM VOI attributes."""
    inverted: bool = False
    """MONOCHROME1: high values are dark."""
    header: Any = None
    """The NIfTI header of a NIfTI file (kept so restored volumes keep its geometry)."""
    maps: list[np.ndarray] = field(default_factory=list)
    """Paired maps (same shape as `data`), each scaled to [0, 1]."""
    files: list[Path] = field(default_factory=list)
    """Every file the volume was read from (a DICOM series has many)."""

    @property
    def is_2d(self) -> bool:
        return self.data.ndim == 2
