"""Inpainting masks of `ganx sample RUN --input` on a task=inpaint run.

Every input, NIfTI or DICOM, takes its holes from a NIfTI mask named like its restored output
with `.mask` added (`NAME.mask.nii.gz` beside `NAME.nii.gz`; `FOLDER-FIRSTFILE.mask.nii.gz` in
the folder of a DICOM series; `NAME.mask.nii.gz` beside a DICOM file `NAME.dcm`), in the voxel
grid of the volume (the shape of the restored output), non-zero where the holes are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .nifti_io import NIFTI_SUFFIXES
from .sources import MASK_SUFFIX
from .volume import SkipFile, Volume


def mask_for(volume: Volume, name: str) -> Path | None:
    """The mask file of `volume`, whose restored output is called `name` (without .nii.gz), or
    None when there is none."""
    for suffix in NIFTI_SUFFIXES:
        candidate = volume.path.with_name(f"{name}{MASK_SUFFIX}{suffix}")
        if candidate.is_file():
            return candidate
    return None


def holes(volume: Volume, name: str) -> np.ndarray:
    """True where the voxels of `volume` are to be filled in; SkipFile naming the mask it needs
    when there is none or it does not fit."""
    import nibabel as nib

    path = mask_for(volume, name)
    if path is None:
        where = "beside it" if len(volume.files) <= 1 else (
            f"in its series folder {volume.path.parent.name}")
        raise SkipFile(f"inpainting needs a mask {name}{MASK_SUFFIX}.nii.gz {where}"
                       " (non-zero = hole)")
    try:
        mask = np.asarray(nib.load(str(path)).dataobj)
    except Exception as exc:  # any unreadable mask: the volume is skipped, naming it
        raise SkipFile(f"its mask {path.name} cannot be read ({type(exc).__name__})") from None
    # a 2-D image's mask may carry a trailing axis of one (and the reverse)
    mask = mask.reshape(volume.data.shape) if mask.size == volume.data.size else mask
    if mask.shape != volume.data.shape:
        raise SkipFile(f"its mask {path.name} is {mask.shape}, the volume {volume.data.shape}")
    return mask != 0
