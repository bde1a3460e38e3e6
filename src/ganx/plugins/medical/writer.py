"""Medical sample writing: PNG grids in the modality's window and NIfTI volumes (and, on request,
anonymous DICOM series) of generated slices with a correct affine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganx.metrics import save_image_grid

from . import slicing
from .intensity import window_range


def to_physical(cfg, x: torch.Tensor) -> torch.Tensor:
    """Network values in [-1, 1] to physical units: HU over the window for CT, the normalised
    intensity 0..1 otherwise."""
    unit = (x.float().clamp(-1, 1) + 1.0) / 2.0
    if cfg.modality != "CT":
        return unit
    low, high = window_range(cfg.window)
    return low + unit * (high - low)


def to_display(cfg, x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] as shown: CT re-windowed from the training window to `display_window`."""
    if cfg.modality != "CT" or cfg.display_window in ("", cfg.window):
        return x.float().clamp(-1, 1)
    low, high = window_range(cfg.display_window)
    return ((to_physical(cfg, x) - low) / (high - low)).clamp(0, 1) * 2.0 - 1.0


def save_grids(cfg, samples: torch.Tensor, out_dir: Path, tag: str, nrow: int,
               maps: tuple[str, ...]) -> list[Path]:
    """`tag.png` of the slices and `tag_MAP.png` for each paired map."""
    path = out_dir / f"{tag}.png"
    save_image_grid(to_display(cfg, samples[:, :1]), path, nrow=nrow)
    paths = [path]
    for i, name in enumerate(maps, start=1):
        map_path = out_dir / f"{tag}_{name}.png"
        save_image_grid(samples[:, i: i + 1].float().clamp(-1, 1), map_path, nrow=nrow)
        paths.append(map_path)
    return paths


def save_rows(cfg, rows: list[torch.Tensor], path: Path) -> Path:
    """One row per tensor (restoration: input, output, target), in the display window."""
    n = len(rows[0])
    save_image_grid(torch.cat([to_display(cfg, r[:, :1]) for r in rows]), path, nrow=n)
    return path


def nifti_image(data: np.ndarray, affine: np.ndarray):
    import nibabel as nib

    img = nib.Nifti1Image(np.asarray(data, np.float32), affine)
    img.header.set_xyzt_units("mm")
    img.set_qform(affine, code=2)  # aligned: generated data has no scanner
    img.set_sform(affine, code=2)
    return img


def save_volumes(cfg, samples: torch.Tensor, out_dir: Path, tag: str,
                 maps: tuple[str, ...]) -> list[Path]:
    """The slices stacked along the slicing axis as `tag.nii.gz` (physical units), each map as
    `tag_MAP.nii.gz` (0..1). Voxels are fov_mm / resolution mm in-plane; the independent samples
    are stacked at the same spacing, in RAS+ orientation, centred on the origin."""
    import nibabel as nib

    axis = slicing.AXES[cfg.axis]
    spacing = cfg.fov_mm / cfg.resolution
    volume = slicing.slices_to_ras(to_physical(cfg, samples[:, 0]).numpy(), axis)
    affine = slicing.volume_affine(volume.shape, spacing)
    path = out_dir / f"{tag}.nii.gz"
    nib.save(nifti_image(volume, affine), str(path))
    paths = [path]
    for i, name in enumerate(maps, start=1):
        unit = ((samples[:, i].float().clamp(-1, 1) + 1.0) / 2.0).numpy()
        map_path = out_dir / f"{tag}_{name}.nii.gz"
        nib.save(nifti_image(slicing.slices_to_ras(unit, axis), affine), str(map_path))
        paths.append(map_path)
    if cfg.write_dicom:
        from .dicom_writer import write_series

        paths += write_series(volume, affine, cfg.modality, out_dir / f"{tag}-dicom",
                              "ganx generated slices", display_range(cfg))
    return paths


def display_range(cfg) -> tuple[float, float]:
    """The (low, high) display window in physical units, for DICOM VOI attributes."""
    if cfg.modality == "CT":
        return window_range(cfg.display_window or cfg.window)
    return 0.0, 1.0
