"""2-D slices of volumes, in a fixed display convention, and back.

A volume is first reoriented to RAS+ (nibabel's closest canonical orientation), then cut along
the chosen axis. Slices are shown as radiologists read them: axial and coronal slices with the
patient's right on the image's left, anterior (axial) or superior (coronal, sagittal) at the
top, sagittal slices with anterior on the left. `slices_to_ras` inverts `ras_slices` exactly,
so restored slices go back into the volume they came from.
"""

from __future__ import annotations

import numpy as np

AXES = {"sagittal": 0, "coronal": 1, "axial": 2}
CANONICAL = np.array([[0, 1], [1, 1], [2, 1]], dtype=float)


def to_ras(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data reoriented to RAS+, its orientation transform from the original, voxel sizes in
    RAS order)."""
    import nibabel as nib

    ornt = nib.orientations.io_orientation(affine)
    ras = nib.orientations.apply_orientation(data, ornt)
    zooms = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    ras_zooms = np.empty(3)
    for source, (target, _) in enumerate(ornt):
        ras_zooms[int(target)] = zooms[source]
    return ras, ornt, ras_zooms


def from_ras(ras: np.ndarray, ornt: np.ndarray) -> np.ndarray:
    """Inverse of `to_ras`: RAS+ data back to the original voxel order."""
    import nibabel as nib

    return nib.orientations.apply_orientation(
        ras, nib.orientations.ornt_transform(CANONICAL, ornt))


def slice_axis(shape: tuple[int, ...], axis: str) -> int:
    """The RAS axis to cut along: the chosen one, or the only thin axis of a single-slice
    volume (a 2-D image stored as a volume is used whole)."""
    singletons = [i for i, n in enumerate(shape) if n == 1]
    return singletons[0] if len(singletons) == 1 else AXES[axis]


def ras_slices(ras: np.ndarray, axis: int) -> np.ndarray:
    """(K, rows, cols) display slices of a RAS+ volume cut along `axis` (0, 1 or 2)."""
    v = np.moveaxis(ras, axis, -1)
    return np.ascontiguousarray(v[::-1, ::-1, :].transpose(2, 1, 0))


def slices_to_ras(slices: np.ndarray, axis: int) -> np.ndarray:
    """Inverse of `ras_slices`."""
    v = np.asarray(slices).transpose(2, 1, 0)[::-1, ::-1, :]
    return np.ascontiguousarray(np.moveaxis(v, -1, axis))


def slice_spacing(ras_zooms: np.ndarray, axis: int) -> tuple[float, float]:
    """(row, column) spacing in mm of slices cut along `axis`."""
    p, q = (i for i in range(3) if i != axis)
    return float(ras_zooms[q]), float(ras_zooms[p])


def scaled_shape(shape: tuple[int, ...], spacing: tuple[float, float],
                 pixel_mm: float) -> tuple[int, int]:
    """(rows, cols) of a 2-D image of `shape` and pixel `spacing` (mm) resampled to square pixels
    of `pixel_mm`, keeping its physical size."""
    return (max(1, round(shape[0] * spacing[0] / pixel_mm)),
            max(1, round(shape[1] * spacing[1] / pixel_mm)))


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A 2-D image resampled to (rows, cols), float32: bilinear with antialiasing (PIL), so
    downsampling does not alias. A copy of the image when it already has that shape."""
    from PIL import Image

    if tuple(image.shape) == tuple(shape):
        return np.array(image, np.float32)
    pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32))  # mode F
    return np.array(pil.resize((shape[1], shape[0]), Image.Resampling.BILINEAR), np.float32)


def fit(image: np.ndarray, spacing: tuple[float, float], fov_mm: float,
        resolution: int) -> np.ndarray:
    """Resample a 2-D image with pixel `spacing` (mm) so that `fov_mm` spans `resolution`
    pixels, then centre-pad (with 0) or centre-crop it to a square of that side.
    Bilinear with antialiasing (PIL), so downsampling does not alias."""
    rows, cols = scaled_shape(image.shape, spacing, fov_mm / resolution)
    resized = resize(image, (rows, cols))
    out = np.zeros((resolution, resolution), np.float32)
    # centre both: crop the part of the image that falls outside, pad the rest
    src_r, dst_r = max(0, (rows - resolution) // 2), max(0, (resolution - rows) // 2)
    src_c, dst_c = max(0, (cols - resolution) // 2), max(0, (resolution - cols) // 2)
    h, w = min(rows, resolution), min(cols, resolution)
    out[dst_r: dst_r + h, dst_c: dst_c + w] = resized[src_r: src_r + h, src_c: src_c + w]
    return out


def volume_affine(shape: tuple[int, int, int], spacing: float) -> np.ndarray:
    """A RAS+ affine with isotropic `spacing`, centred on the origin (for generated volumes)."""
    affine = np.diag([spacing, spacing, spacing, 1.0])
    affine[:3, 3] = -(np.array(shape, float) - 1.0) / 2.0 * spacing
    return affine
