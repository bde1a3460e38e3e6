"""`ganx sample RUN --input VOLUME_OR_FOLDER`: restoring a user's own volumes slice by slice.

Each NIfTI volume, DICOM series or DICOM image is scaled as in training (CT window, MR robust
percentiles, radiograph VOI), cut into slices along the run's axis, and each slice is restored
at its own pixel size in tiles of `resolution` pixels (the image domain's tiling). The restored
slices are put back into the volume's own voxel order and written as float32 NIfTI in the
input's physical units (HU for CT, clipped to the run's window; for MR and radiographs the
input's own intensity scale, within its robust range), with the input's affine and, for NIfTI
inputs, its header geometry (qform, sform, units; free-text fields and extensions are
dropped). inpaint needs a mask NAME.mask.nii(.gz) beside a NIfTI volume, non-zero where the
holes are.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from ganx.core.errors import ConfigError
from ganx.plugins.image.restore_files import restore_image

from . import slicing, sources
from .extract import volume_scaling
from .nifti_io import NIFTI_SUFFIXES, is_nifti, stem
from .volume import SkipFile, Volume

log = logging.getLogger("ganx")


def mask_for(path: Path) -> Path | None:
    for suffix in NIFTI_SUFFIXES:
        candidate = path.with_name(f"{stem(path)}{sources.MASK_SUFFIX}{suffix}")
        if candidate.is_file():
            return candidate
    return None


def _holes(volume: Volume) -> np.ndarray:
    """The inpainting mask of a volume: True where voxels are to be filled in."""
    import nibabel as nib

    mask_path = mask_for(volume.path) if is_nifti(volume.path) else None
    if mask_path is None:
        raise SkipFile(f"inpainting needs a mask {stem(volume.path)}{sources.MASK_SUFFIX}.nii.gz"
                       " beside the NIfTI volume (non-zero = hole)")
    mask = np.asarray(nib.load(str(mask_path)).dataobj)
    mask = mask.reshape(volume.data.shape) if mask.size == volume.data.size else mask
    if mask.shape != volume.data.shape:
        raise SkipFile(f"its mask {mask_path.name} is {mask.shape}, the volume"
                       f" {volume.data.shape}")
    return mask != 0


def _cut(volume: Volume, array: np.ndarray, axis: str) -> tuple[np.ndarray, object]:
    """Display slices of `array` (shaped like the volume's data) and how to put them back."""
    if volume.is_2d:
        return array[None], None
    ras, ornt, _ = slicing.to_ras(array, volume.affine)
    index = slicing.slice_axis(ras.shape, axis)
    return slicing.ras_slices(ras, index), (ornt, index)


def _uncut(slices: np.ndarray, how) -> np.ndarray:
    if how is None:
        return slices[0]
    ornt, index = how
    return slicing.from_ras(slicing.slices_to_ras(slices, index), ornt)


@torch.no_grad()
def restore_volume(cfg, generator: torch.nn.Module, volume: Volume,
                   device: torch.device) -> np.ndarray:
    """The restored volume, shaped like `volume.data`, in its physical units."""
    from .domain import slice_settings

    scaling = volume_scaling(volume, slice_settings(cfg))
    unit = scaling.to_unit(volume.data)
    slices, how = _cut(volume, unit, cfg.axis)
    holes = _cut(volume, _holes(volume), cfg.axis)[0] if cfg.task == "inpaint" else None
    restored = np.empty_like(slices)
    for k, image in enumerate(slices):
        x = torch.from_numpy(np.ascontiguousarray(image))[None] * 2.0 - 1.0
        if holes is not None:
            known = torch.from_numpy(~holes[k])[None].float()
            x = torch.cat([x * known, known])
        out = restore_image(generator, x, cfg.resolution, 1, device)
        restored[k] = ((out[0].clamp(-1, 1) + 1.0) / 2.0).numpy()
    return scaling.to_physical(_uncut(restored, how))


def _output_name(volume: Volume, root: Path) -> Path:
    path = volume.path
    relative = path.relative_to(root) if path != root and root in path.parents else Path(
        path.name)
    if is_nifti(path):
        return relative.with_name(stem(path) + ".nii.gz")
    if len(volume.files) > 1:  # a DICOM series: named after its folder and first file
        return relative.with_name(f"{relative.parent.name or 'series'}-{stem(path)}.nii.gz")
    return relative.with_name(stem(path) + ".nii.gz")


FREE_TEXT = ("descrip", "aux_file", "intent_name", "db_name")
"""NIfTI header fields that hold free text (converters put acquisition details there)."""


def geometry_header(header):
    """A copy of a NIfTI header that keeps its geometry (dimensions, voxel sizes, qform, sform,
    units, slice timing) but no free text and no extensions (which can carry whole DICOM
    headers)."""
    copy = header.copy()
    for key in FREE_TEXT:
        if key in copy:
            copy[key] = b""
    copy.extensions.clear()
    copy["descrip"] = b"ganx restored"
    return copy


def write_nifti(volume: Volume, data: np.ndarray, path: Path) -> None:
    """`data` with the input's affine and (for NIfTI inputs) its header geometry."""
    import nibabel as nib

    array = np.asarray(data, np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    path.parent.mkdir(parents=True, exist_ok=True)
    if volume.header is not None:
        header = geometry_header(volume.header)
        header.set_data_dtype(np.float32)
        kind = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
        img = kind(array, volume.affine, header)
        img.header.set_slope_inter(1.0, 0.0)
    else:
        from .writer import nifti_image

        img = nifti_image(array, volume.affine)
        img.set_qform(volume.affine, code=1)  # scanner coordinates, from the DICOM geometry
        img.set_sform(volume.affine, code=1)
    nib.save(img, str(path))


def restore_files(cfg, generator: torch.nn.Module, source: Path, out_dir: Path,
                  device: torch.device) -> list[Path]:
    if cfg.task == "generate":
        raise ConfigError("--input restores volumes; this run generates slices (task=generate)")
    inputs = sources.folder_inputs(source, (), what="--input")
    root = source if source.is_dir() else source.parent
    written: list[Path] = []
    skipped: list[str] = []
    for item in sources.iter_volumes(inputs, cfg.modality, cfg.frame):
        if isinstance(item, tuple):
            skipped.append(f"{item[0]}: {item[1]}")
            continue
        try:
            restored = restore_volume(cfg, generator, item, device)
        except SkipFile as exc:
            skipped.append(f"{item.path}: {exc}")
            continue
        target = out_dir / _output_name(item, root)
        write_nifti(item, restored, target)
        written.append(target)
        if cfg.write_dicom:
            from .dicom_writer import write_series
            from .writer import display_range

            data = restored if restored.ndim == 3 else restored[:, :, None]
            written += write_series(data, item.affine, item.modality or cfg.modality,
                                    target.with_name(target.name[: -len(".nii.gz")] + "-dicom"),
                                    "ganx restored", _window(cfg, item, display_range(cfg)))
    sources.report_skipped(skipped, str(source))
    if not written:
        raise sources.nothing_usable(f"--input {source}", len(inputs.nifti) + len(inputs.dicom),
                                     skipped)
    return written


def _window(cfg, volume: Volume, default: tuple[float, float]) -> tuple[float, float]:
    """Display window of restored values: the run's for CT, the volume's robust range else."""
    if cfg.modality == "CT":
        return default
    from .domain import slice_settings

    scaling = volume_scaling(volume, slice_settings(cfg))
    return scaling.low, scaling.high
