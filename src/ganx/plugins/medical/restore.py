"""`ganx sample RUN --input VOLUME_OR_FOLDER`: restoring a user's own volumes slice by slice.

Each NIfTI volume, DICOM series or DICOM image is scaled as in training (CT window, MR robust
percentiles, radiograph VOI) and cut into slices along the run's axis. Each slice is resampled
to the pixel size the model was trained at (fov_mm / resolution), restored in overlapping
tiles of `resolution` pixels blended with a Hann window (`ganx.nn.restore_image`), and
resampled back onto its own grid (`native`). The restored slices are put back into the volume's
own voxel order and written as float32 NIfTI in the input's physical units (HU for CT, clipped
to the run's window; for MR and radiographs the input's own intensity scale, within its robust
range), with the input's affine and, for NIfTI inputs, its header geometry (qform, sform,
units; free-text fields and extensions are dropped). inpaint takes the holes of every input,
NIfTI or DICOM, from a NIfTI mask named after its output (`masks`). The loop over the volumes
is `ganx.restoration.restore_each`; unusable files are reported together, as for `--data`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from ganx.restoration import SkipInput, Skipped, restore_each

from . import masks, slicing, sources
from .extract import volume_scaling
from .native import restore_slice, training_pixel_mm
from .nifti_io import is_nifti, stem
from .volume import SkipFile, Volume

log = logging.getLogger("ganx")


def _cut(volume: Volume, array: np.ndarray, axis: str
         ) -> tuple[np.ndarray, object, tuple[float, float]]:
    """Display slices of `array` (shaped like the volume's data), how to put them back, and
    their (row, column) pixel spacing in mm."""
    if volume.is_2d:
        return array[None], None, volume.spacing
    ras, ornt, zooms = slicing.to_ras(array, volume.affine)
    index = slicing.slice_axis(ras.shape, axis)
    return slicing.ras_slices(ras, index), (ornt, index), slicing.slice_spacing(zooms, index)


def _uncut(slices: np.ndarray, how) -> np.ndarray:
    if how is None:
        return slices[0]
    ornt, index = how
    return slicing.from_ras(slicing.slices_to_ras(slices, index), ornt)


@torch.no_grad()
def restore_volume(cfg, generator: torch.nn.Module, volume: Volume, device: torch.device,
                   holes: np.ndarray | None = None) -> np.ndarray:
    """The restored volume, shaped like `volume.data`, in its physical units. `holes` (inpaint,
    shaped like the data) is True where voxels are to be filled in."""
    from .domain import slice_settings

    scaling = volume_scaling(volume, slice_settings(cfg))
    slices, how, spacing = _cut(volume, scaling.to_unit(volume.data), cfg.axis)
    known = None if holes is None else ~_cut(volume, holes, cfg.axis)[0]
    pixel_mm = training_pixel_mm(cfg)
    if pixel_mm is not None and not volume.spacing_known:
        log.warning("%s: no pixel spacing in its header; restored at its own pixel size, not"
                    " at the %.3g mm the model was trained at", volume.path, pixel_mm)
        pixel_mm = None
    elif pixel_mm is not None and slicing.scaled_shape(slices.shape[1:], spacing,
                                                       pixel_mm) != slices.shape[1:]:
        log.info("%s: restored at the training pixel size %.3g mm (its own: %.3g x %.3g mm)"
                 " and resampled back", volume.path, pixel_mm, *spacing)
    restored = np.empty_like(slices)
    for k, image in enumerate(slices):
        restored[k] = restore_slice(generator, image, None if known is None else known[k],
                                    spacing, pixel_mm, cfg.resolution, device)
    return scaling.to_physical(_uncut(restored, how))


def output_stem(volume: Volume) -> str:
    """The name of a volume's restored output without .nii.gz: the NIfTI or DICOM file's name, or
    for a DICOM series its folder's and first file's (by slice position)."""
    path = volume.path
    if not is_nifti(path) and len(volume.files) > 1:
        return f"{path.parent.name or 'series'}-{stem(path)}"
    return stem(path)


def _output_name(volume: Volume, root: Path) -> Path:
    path = volume.path
    relative = path.relative_to(root) if path != root and root in path.parents else Path(
        path.name)
    return relative.with_name(output_stem(volume) + ".nii.gz")


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
    from .domain import RESTORATION

    RESTORATION.require_restoring(cfg)
    inputs = sources.folder_inputs(source, (), what="--input")
    if training_pixel_mm(cfg) is None:
        log.warning("the run's config has no fov_mm: slices are restored at their own pixel size,"
                    " not resampled to the training pixel size")
    root = source if source.is_dir() else source.parent

    def restore(volume: Volume) -> np.ndarray:
        try:
            holes = masks.holes(volume, output_stem(volume)) if cfg.task == "inpaint" else None
            return restore_volume(cfg, generator, volume, device, holes)
        except SkipFile as exc:
            raise SkipInput(str(exc)) from None

    def write(volume: Volume, restored: np.ndarray) -> list[Path]:
        target = out_dir / _output_name(volume, root)
        write_nifti(volume, restored, target)
        if not cfg.write_dicom:
            return [target]
        return [target, *_write_dicom(cfg, volume, restored, target)]

    volumes = (Skipped(*item) if isinstance(item, tuple) else item
               for item in sources.iter_volumes(inputs, cfg.modality, cfg.frame))
    written, skipped = restore_each(volumes, restore, write, path_of=lambda volume: volume.path,
                                    on_skip=None)
    reasons = [str(skip) for skip in skipped]
    sources.report_skipped(reasons, str(source))
    if not written:
        raise sources.nothing_usable(f"--input {source}", len(inputs.nifti) + len(inputs.dicom),
                                     reasons)
    return written


def _write_dicom(cfg, volume: Volume, restored: np.ndarray, target: Path) -> list[Path]:
    """The restored volume as an anonymous DICOM series beside its NIfTI `target`."""
    from .dicom_writer import write_series
    from .writer import display_range

    data = restored if restored.ndim == 3 else restored[:, :, None]
    return write_series(data, volume.affine, volume.modality or cfg.modality,
                        target.with_name(target.name[: -len(".nii.gz")] + "-dicom"),
                        "ganx restored", _window(cfg, volume, display_range(cfg)))


def _window(cfg, volume: Volume, default: tuple[float, float]) -> tuple[float, float]:
    """Display window of restored values: the run's for CT, the volume's robust range else."""
    if cfg.modality == "CT":
        return default
    from .domain import slice_settings

    scaling = volume_scaling(volume, slice_settings(cfg))
    return scaling.low, scaling.high
