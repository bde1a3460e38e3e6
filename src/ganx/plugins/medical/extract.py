"""From a `Volume` to training slices: modality scaling, empty-slice filtering, resampling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import slicing
from .intensity import Scaling, scaling_for, tissue_mask
from .volume import Volume


@dataclass(frozen=True)
class SliceSettings:
    """What turns volumes into slices (the domain config's fields of the same names)."""

    modality: str
    window: str
    percentiles: tuple[float, float]
    axis: str
    min_tissue: float
    fov_mm: float
    resolution: int


def volume_scaling(volume: Volume, settings: SliceSettings) -> Scaling:
    modality = volume.modality or settings.modality
    return scaling_for(modality, volume.data, window=settings.window,
                       percentiles=settings.percentiles, voi=volume.voi,
                       inverted=volume.inverted)


def display_slices(volume: Volume, axis: str) -> tuple[np.ndarray, list[np.ndarray],
                                                       tuple[float, float]]:
    """(K, rows, cols) physical slices, the same for each map, and the pixel spacing."""
    if volume.is_2d:
        return volume.data[None], [m[None] for m in volume.maps], volume.spacing
    ras, _, zooms = slicing.to_ras(volume.data, volume.affine)
    index = slicing.slice_axis(ras.shape, axis)
    maps = [slicing.ras_slices(slicing.to_ras(m, volume.affine)[0], index) for m in volume.maps]
    return slicing.ras_slices(ras, index), maps, slicing.slice_spacing(zooms, index)


def training_slices(volume: Volume, settings: SliceSettings) -> list[np.ndarray]:
    """The volume's non-empty slices as float32 (1 + maps, resolution, resolution) in [0, 1].

    A slice is kept when at least `min_tissue` of its pixels are tissue (see
    `intensity.tissue_mask`); radiographs are always kept whole."""
    modality = volume.modality or settings.modality
    scaling = volume_scaling(volume, settings)
    images, maps, spacing = display_slices(volume, settings.axis)
    out = []
    for k, image in enumerate(images):
        unit = scaling.to_unit(image)
        if modality != "XR" and tissue_mask(modality, image, unit).mean() < settings.min_tissue:
            continue
        channels = [unit] + [m[k] for m in maps]
        out.append(np.stack([slicing.fit(c, spacing, settings.fov_mm, settings.resolution)
                             for c in channels]))
    return out
