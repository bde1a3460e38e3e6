"""Reading NIfTI volumes (`.nii`, `.nii.gz`) and their paired maps into `Volume`s (nibabel)."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from .volume import SkipFile, Volume

NIFTI_SUFFIXES = (".nii.gz", ".nii")


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def stem(path: Path) -> str:
    """The file name without .nii or .nii.gz."""
    name = path.name
    for suffix in NIFTI_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def map_path(path: Path, suffix: str) -> Path:
    """Where the paired map `suffix` of a volume lives: NAME_suffix.nii(.gz) beside NAME.nii(.gz),
    with the volume's own extension."""
    extension = path.name[len(stem(path)):]
    return path.with_name(f"{stem(path)}_{suffix}{extension}")


def _array(path: Path, frame: int) -> tuple[np.ndarray, object]:
    """The 3-D float32 data (scaled by the header's slope and intercept) and the image."""
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError

    try:
        img = nib.load(str(path))
    except (ImageFileError, OSError, EOFError, ValueError, zlib.error) as exc:
        raise SkipFile(f"not a readable NIfTI file ({type(exc).__name__}: "
                       f"{str(exc).splitlines()[0][:120] if str(exc) else ''})") from None
    shape = tuple(int(s) for s in img.shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    try:
        if len(shape) == 2:
            data = np.asarray(img.dataobj, dtype=np.float32).reshape(*shape, 1)
        elif len(shape) == 3:
            data = np.asarray(img.dataobj, dtype=np.float32).reshape(shape)
        elif len(shape) == 4:
            if frame < 0:
                raise SkipFile(f"a 4-D volume {'x'.join(map(str, shape))}: choose which of its"
                               f" {shape[3]} volumes to use with --set frame=N (0 to"
                               f" {shape[3] - 1})")
            if frame >= shape[3]:
                raise SkipFile(f"a 4-D volume with {shape[3]} volumes has no frame {frame}")
            data = np.asarray(img.dataobj[..., frame], dtype=np.float32).reshape(shape[:3])
        else:
            raise SkipFile(f"a {len(shape)}-D image {'x'.join(map(str, shape))}: only 2-D, 3-D"
                           " and 4-D NIfTI images are used")
    except SkipFile:
        raise
    except (OSError, EOFError, ValueError, TypeError, zlib.error) as exc:
        raise SkipFile(f"NIfTI data could not be read ({type(exc).__name__}: "
                       f"{str(exc).splitlines()[0][:120] if str(exc) else ''})") from None
    if not np.isfinite(data).all():
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    return data, img


def read_nifti(path: Path, *, frame: int = -1, maps: tuple[Path, ...] = (),
               modality: str | None = None) -> Volume:
    """One NIfTI volume with its paired maps (files of the same shape, each divided by its
    maximum, so probability maps, 0/1 masks and 0..255 maps all become 0..1). SkipFile when it
    or a map cannot be used."""
    data, img = _array(path, frame)
    loaded = []
    for other in maps:
        if not other.is_file():
            raise SkipFile(f"its paired map {other.name} is missing")
        try:
            values, _ = _array(other, frame)
        except SkipFile as exc:
            raise SkipFile(f"its paired map {other.name}: {exc}") from None
        if values.shape != data.shape:
            raise SkipFile(f"its paired map {other.name} is {values.shape}, the volume"
                           f" {data.shape}")
        top = float(values.max())
        loaded.append(np.clip(values / top, 0.0, 1.0) if top > 0 else np.zeros_like(values))
    header = img.header  # type: ignore[attr-defined]
    zooms = tuple(float(z) for z in header.get_zooms()[:3])
    # pixdim is mandatory in NIfTI (nibabel turns zeros into 1 with a warning on load); only
    # negative or non-finite voxel sizes say nothing
    known = len(zooms) >= 2 and all(np.isfinite(z) and z > 0 for z in zooms)
    spacing = (zooms[1], zooms[0]) if known else (1.0, 1.0)
    return Volume(path, data, np.asarray(img.affine, np.float64),  # type: ignore[attr-defined]
                  modality, spacing=spacing, spacing_known=known, header=header, maps=loaded,
                  files=[path])
