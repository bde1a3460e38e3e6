"""Reading DICOM files and series into `Volume`s (pydicom).

Files are grouped into series (SeriesInstanceUID, image size and orientation); the single-frame
files of a series are sorted along the slice normal and stacked into a volume whose affine comes
from ImageOrientationPatient, ImagePositionPatient and PixelSpacing (DICOM's LPS turned into
RAS). A multi-frame file is a volume on its own. A series that cannot be stacked (one file, no
geometry, repeated positions) gives one 2-D image per file, as do radiographs.

Values go through the modality LUT (rescale slope and intercept: Hounsfield units for CT); an
enhanced multi-frame file rescales each frame with its own functional-group values.
Every file that cannot be used raises or yields a `SkipFile` whose message says why: not a DICOM,
no pixel data, a compressed transfer syntax without its decoder (naming the package to install),
an unsupported modality or a colour image.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .intensity import modality_group
from .volume import SkipFile, Volume

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _decoder_packages() -> dict[str, str]:
    from pydicom import uid

    libjpeg = "pylibjpeg pylibjpeg-libjpeg (or python-gdcm)"
    openjpeg = "pylibjpeg pylibjpeg-openjpeg (or python-gdcm)"
    return {
        uid.JPEGLSLossless: libjpeg, uid.JPEGLSNearLossless: libjpeg,
        uid.JPEGLossless: libjpeg, uid.JPEGLosslessSV1: libjpeg,
        uid.JPEGBaseline8Bit: "pillow (or pylibjpeg pylibjpeg-libjpeg)",
        uid.JPEGExtended12Bit: libjpeg,
        uid.JPEG2000Lossless: openjpeg, uid.JPEG2000: openjpeg,
        uid.HTJ2KLossless: openjpeg, uid.HTJ2KLosslessRPCL: openjpeg, uid.HTJ2K: openjpeg,
        uid.RLELossless: "pylibjpeg pylibjpeg-rle",
    }


def read_dataset(path: Path) -> Any:
    """The DICOM dataset of `path`, large values (the pixels) read only when used."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(path, defer_size="64 KB")
    except InvalidDicomError:
        raise SkipFile("not a DICOM file (no DICM marker after the 128-byte preamble)") from None
    except (OSError, ValueError, EOFError, KeyError, TypeError, AttributeError) as exc:
        reason = f"{type(exc).__name__}: {_first_line(exc)}"
        raise SkipFile(f"unreadable DICOM file ({reason})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def check_usable(ds: Any, wanted: str | None) -> str:
    """The ganx modality (CT, MR, XR) of a dataset with usable pixels, else SkipFile.
    `wanted` (a modality or None for any) skips files of other modalities."""
    if not any(k in ds for k in PIXEL_KEYWORDS):
        kind = ds.get("Modality") or getattr(ds.get("SOPClassUID"), "name", "") or "unknown"
        raise SkipFile(f"a DICOM without pixel data ({kind}: a report, plan, DICOMDIR or"
                       " similar)")
    raw = str(ds.get("Modality", "") or "")
    modality = modality_group(raw)
    if modality is None:
        raise SkipFile(f"modality {raw or 'unknown'!s} is not supported (CT, MR and radiographs:"
                       " CR, DX, MG, ...)")
    if wanted is not None and modality != wanted:
        raise SkipFile(f"modality {raw}, but this run trains on {wanted}")
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if samples != 1 or not photometric.startswith("MONOCHROME"):
        raise SkipFile(f"a colour image ({photometric}): only greyscale images are used")
    return modality


def decode(ds: Any) -> np.ndarray:
    """Pixel values after the modality LUT, float32: (rows, cols) or (frames, rows, cols)."""
    from pydicom.pixels import apply_modality_lut, get_decoder

    meta = getattr(ds, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None)
    if syntax is None:
        raise SkipFile("no transfer syntax in the file meta information: cannot decode pixels")
    if syntax.is_compressed:
        try:
            decoder = get_decoder(syntax)
        except NotImplementedError:
            raise SkipFile(f"pixel data compressed as {syntax.name}, which pydicom cannot"
                           " decode") from None
        if not decoder.is_available:
            package = _decoder_packages().get(syntax, "a pydicom pixel-data plugin")
            raise SkipFile(f"pixel data compressed as {syntax.name} and no decoder for it is"
                           f" installed: pip install {package}")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pixels = ds.pixel_array
            if (frames > 1 and pixels.ndim == 3 and "ModalityLUTSequence" not in ds
                    and _has_functional_rescale(ds)):
                slopes, intercepts = frame_rescale(ds, len(pixels))
                values = pixels * slopes[:, None, None] + intercepts[:, None, None]
            else:
                values = apply_modality_lut(pixels, ds)
    except Exception as exc:  # any decoding failure: damaged, truncated, inconsistent
        raise SkipFile(f"pixel data could not be decoded ({type(exc).__name__}:"
                       f" {_first_line(exc)})") from None
    return np.asarray(values, np.float32)


# -- enhanced multi-frame rescale -----------------------------------------------------------------

def _group_value(group: Any, keyword: str) -> Any:
    """`keyword` from a functional group item (it sits one sequence down, e.g. in
    PixelValueTransformationSequence), or None."""
    for item in group:
        if item.VR == "SQ" and len(item.value) and keyword in item.value[0]:
            return item.value[0].get(keyword)
    return None


def _has_functional_rescale(ds: Any) -> bool:
    groups = list(ds.get("SharedFunctionalGroupsSequence") or [])
    groups += list(ds.get("PerFrameFunctionalGroupsSequence") or [])
    return any(_group_value(g, "RescaleSlope") is not None
               or _group_value(g, "RescaleIntercept") is not None for g in groups)


def frame_rescale(ds: Any, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(slopes, intercepts), one per frame, of an enhanced multi-frame file: each frame's own
    PixelValueTransformationSequence, else the shared functional groups', else the top-level
    RescaleSlope/RescaleIntercept, else 1 and 0."""
    shared = ds.get("SharedFunctionalGroupsSequence") or []
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    slopes, intercepts = np.ones(frames), np.zeros(frames)
    for k in range(frames):
        groups = ([per_frame[k]] if k < len(per_frame) else []) + list(shared[:1])
        for keyword, out, default in (("RescaleSlope", slopes, 1.0),
                                      ("RescaleIntercept", intercepts, 0.0)):
            found = [_group_value(g, keyword) for g in groups] + [ds.get(keyword)]
            value = next((v for v in found if v is not None and str(v) != ""), default)
            out[k] = float(value)
    return slopes, intercepts


# -- geometry -----------------------------------------------------------------------------------

def _find(ds: Any, keyword: str, frame: int | None = None) -> Any:
    """A geometry attribute from the top level, else the shared or the per-frame functional
    groups (enhanced multi-frame files keep it there)."""
    if keyword in ds:
        return ds.get(keyword)
    groups = []
    if "SharedFunctionalGroupsSequence" in ds:
        groups.append(ds.SharedFunctionalGroupsSequence[0])
    if "PerFrameFunctionalGroupsSequence" in ds:
        per_frame = ds.PerFrameFunctionalGroupsSequence
        if len(per_frame):
            groups.append(per_frame[frame or 0])
    for group in groups:
        value = _group_value(group, keyword)
        if value is not None:
            return value
    return None


def given_spacing(ds: Any) -> tuple[float, float] | None:
    """(row spacing, column spacing) in mm: PixelSpacing, else ImagerPixelSpacing
    (radiographs), else None."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = _find(ds, keyword)
        try:
            if value is not None and len(value) == 2 and all(float(v) > 0 for v in value):
                return float(value[0]), float(value[1])
        except (TypeError, ValueError):
            continue
    return None


def pixel_spacing(ds: Any) -> tuple[float, float]:
    """`given_spacing`, else 1 mm."""
    return given_spacing(ds) or (1.0, 1.0)


def _orientation(ds: Any) -> tuple[np.ndarray, np.ndarray] | None:
    value = _find(ds, "ImageOrientationPatient")
    if value is None or len(value) != 6:
        return None
    row_dir, col_dir = np.array(value[:3], float), np.array(value[3:], float)
    if not (np.isclose(np.linalg.norm(row_dir), 1, atol=1e-2)
            and np.isclose(np.linalg.norm(col_dir), 1, atol=1e-2)):
        return None
    return row_dir, col_dir


def _position(ds: Any, frame: int | None = None) -> np.ndarray | None:
    value = _find(ds, "ImagePositionPatient", frame)
    return np.array(value, float) if value is not None and len(value) == 3 else None


def _slice_thickness(ds: Any) -> float:
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        value = _find(ds, keyword)
        try:
            if value is not None and float(value) > 0:
                return float(value)
        except (TypeError, ValueError):
            continue
    return 1.0


def affine_from(ds: Any, origin: np.ndarray | None, step: np.ndarray | None) -> np.ndarray:
    """Voxel (row, column, slice) to RAS+ mm. Without an orientation the image is taken as
    axial (rows run posterior, columns run to the patient's left, as DICOM's LPS axes)."""
    row_sp, col_sp = pixel_spacing(ds)
    orientation = _orientation(ds)
    if orientation is None:
        row_dir, col_dir = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    else:
        row_dir, col_dir = orientation
    normal = np.cross(row_dir, col_dir)
    if step is None:
        step = normal * _slice_thickness(ds)
    lps = np.eye(4)
    # DICOM: the row direction is the direction of increasing column index and vice versa
    lps[:3, 0] = col_dir * row_sp
    lps[:3, 1] = row_dir * col_sp
    lps[:3, 2] = step
    lps[:3, 3] = origin if origin is not None else 0.0
    return LPS_TO_RAS @ lps


def _first(value: Any) -> float:
    """The first of a possibly multi-valued numeric attribute."""
    if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
        return float(value)
    return float(value[0])


def _voi(ds: Any) -> tuple[float, float] | None:
    """A radiograph's own display window (the first, when it lists several)."""
    try:
        center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    except (TypeError, ValueError, IndexError):
        return None
    return (center - width / 2.0, center + width / 2.0) if width > 1 else None


# -- files to volumes ---------------------------------------------------------------------------

def _image(path: Path, ds: Any, values: np.ndarray, modality: str, files: list[Path]) -> Volume:
    """A 2-D image (one frame)."""
    inverted = modality != "CT" and ds.get("PhotometricInterpretation") == "MONOCHROME1"
    return Volume(path, values, affine_from(ds, _position(ds), None), modality,
                  spacing=pixel_spacing(ds), spacing_known=given_spacing(ds) is not None,
                  voi=_voi(ds) if modality == "XR" else None,
                  inverted=inverted, files=files)


def _stack(items: list[tuple[Path, Any, np.ndarray]], modality: str) -> Volume | None:
    """Single-frame slices of one series as a volume, or None when they do not stack."""
    first_ds = items[0][1]
    orientation = _orientation(first_ds)
    positions = [_position(ds) for _, ds, _ in items]
    if orientation is None or any(p is None for p in positions):
        return None
    normal = np.cross(*orientation)
    depth = np.array([float(np.dot(p, normal)) for p in positions])
    order = np.argsort(depth, kind="stable")
    gaps = np.diff(depth[order])
    if len(gaps) == 0 or np.any(gaps < 1e-3):  # repeated positions: not one volume
        return None
    items = [items[i] for i in order]
    positions = [positions[i] for i in order]
    data = np.stack([v for _, _, v in items], axis=-1)
    step = (positions[-1] - positions[0]) / (len(items) - 1)
    affine = affine_from(first_ds, positions[0], step)
    inverted = modality != "CT" and first_ds.get("PhotometricInterpretation") == "MONOCHROME1"
    return Volume(items[0][0], data, affine, modality, spacing=pixel_spacing(first_ds),
                  spacing_known=given_spacing(first_ds) is not None, inverted=inverted,
                  files=[p for p, _, _ in items])


def _multiframe(path: Path, ds: Any, values: np.ndarray, modality: str) -> list[Volume]:
    if modality == "XR":  # a sequence of radiographs: each frame is an image
        return [_image(path, ds, frame, modality, [path]) for frame in values]
    first, last = _position(ds, 0), _position(ds, len(values) - 1)
    step = (last - first) / (len(values) - 1) if first is not None and last is not None else None
    if step is not None and np.linalg.norm(step) < 1e-6:
        step = None
    inverted = ds.get("PhotometricInterpretation") == "MONOCHROME1" and modality != "CT"
    return [Volume(path, np.moveaxis(values, 0, -1), affine_from(ds, first, step), modality,
                   spacing=pixel_spacing(ds), spacing_known=given_spacing(ds) is not None,
                   inverted=inverted, files=[path])]


def _series_key(path: Path, ds: Any) -> tuple[str, ...]:
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    orientation = _orientation(ds)
    iop = "" if orientation is None else ",".join(
        f"{v:.3f}" for v in np.concatenate(orientation))
    series = str(ds.get("SeriesInstanceUID", "") or "")
    alone = frames > 1 or not series or modality_group(str(ds.get("Modality", ""))) == "XR"
    return (str(path) if alone else series, str(ds.get("Rows")), str(ds.get("Columns")), iop)


def read_dicom(paths: list[Path], wanted: str | None
               ) -> Iterator[Volume | tuple[Path, str]]:
    """Volumes from DICOM files, one series at a time; unusable files come out as
    (path, reason)."""
    series: dict[tuple[str, ...], list[tuple[Path, Any, str]]] = defaultdict(list)
    for path in paths:
        try:
            ds = read_dataset(path)
            modality = check_usable(ds, wanted)
        except SkipFile as exc:
            yield path, str(exc)
            continue
        series[_series_key(path, ds)].append((path, ds, modality))
    for members in series.values():
        decoded: list[tuple[Path, Any, np.ndarray]] = []
        for path, ds, _ in members:
            try:
                decoded.append((path, ds, decode(ds)))
            except SkipFile as exc:
                yield path, str(exc)
        if not decoded:
            continue
        modality = members[0][2]
        if len(decoded) == 1 and decoded[0][2].ndim == 3:
            yield from _multiframe(*decoded[0], modality)
            continue
        volume = _stack(decoded, modality) if len(decoded) > 1 and modality != "XR" else None
        if volume is not None:
            yield volume
            continue
        for path, ds, values in decoded:
            if values.ndim == 3:
                yield from _multiframe(path, ds, values, modality)
            else:
                yield _image(path, ds, values, modality, [path])
