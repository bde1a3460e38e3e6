"""Where medical slices come from: named datasets read from installed packages, folders (or
single files) of NIfTI volumes and DICOM files, and the cache that holds the slices.

Named datasets (read in place from their packages, never copied into ganx):
- `mni152` (default): the MNI152 2009 symmetric T1 template shipped in nilearn (197x233x189 at
  1 mm, brain-extracted), with its grey- and white-matter probability maps as paired maps
  `gm` and `wm`.
- `pydicom-ct`, `pydicom-mr`: the CT and MR test images inside pydicom (a handful of slices),
  with the larger ones of `pydicom-data` when that package is installed; `pydicom-xr`: the
  computed radiographs of `pydicom-data`.

Anything else is a path: a NIfTI or DICOM file, or a folder searched recursively for `.nii`,
`.nii.gz`, `.dcm`, `.dicom`, `.ima` and extension-less (or numeric-extension) DICOM files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganx.core import cache
from ganx.core.errors import ConfigError, did_you_mean

from .extract import SliceSettings, training_slices
from .intensity import modality_group, unit_to_int16
from .nifti_io import is_nifti, map_path, read_nifti, stem
from .volume import SkipFile, Volume

log = logging.getLogger("ganx")

CACHE_VERSION = 1
DICOM_SUFFIXES = {".dcm", ".dicom", ".ima"}
MASK_SUFFIX = ".mask"
"""NAME.mask.nii(.gz) beside a volume marks holes for `ganx sample --input` (inpainting)."""
SHOWN_SKIPS = 3

MNI_FILES = {"t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
             "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
             "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz"}
PYDICOM_FILES = {
    # in the pydicom wheel, then pydicom-data's (one copy of each image, greyscale only)
    "CT": ["CT_small.dcm", "J2K_pixelrep_mismatch.dcm", "693_J2KI.dcm", "eCT_Supplemental.dcm"],
    "MR": ["MR_small.dcm", "examples_overlay.dcm", "MR2_UNCI.dcm", "emri_small.dcm",
           "MR-SIEMENS-DICOM-WithOverlays.dcm"],
    "XR": ["RG1_UNCI.dcm", "RG3_UNCI.dcm"],
}


@dataclass
class Inputs:
    """The files of a `--data` value."""

    nifti: list[Path] = field(default_factory=list)
    dicom: list[Path] = field(default_factory=list)
    maps: dict[Path, tuple[Path, ...]] = field(default_factory=dict)
    """Paired map files of each NIfTI volume, in the order of the configured suffixes."""
    modality: str | None = None
    """The modality a named dataset declares."""

    def files(self) -> list[Path]:
        return [*self.nifti, *self.dicom, *(m for ms in self.maps.values() for m in ms)]


@dataclass
class SliceSet:
    """Slices as int16 codes of [-1, 1], (N, 1 + maps, resolution, resolution)."""

    slices: np.ndarray
    skipped: list[str] = field(default_factory=list)


@dataclass
class NamedSource:
    name: str
    description: str
    modality: str
    available: Callable[[], str | None]
    """None when usable here, else what to install."""
    inputs: Callable[[tuple[str, ...]], Inputs]


# -- named datasets -----------------------------------------------------------------------------

def nilearn_data_dir() -> Path | None:
    """nilearn's datasets/data folder, found without importing nilearn (slow to import)."""
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "datasets" / "data"
        if (path / MNI_FILES["t1"]).is_file():
            return path
    return None


def _mni_missing() -> str | None:
    return None if nilearn_data_dir() else "pip install nilearn"


def _mni_inputs(maps: tuple[str, ...]) -> Inputs:
    folder = nilearn_data_dir()
    if folder is None:
        raise ConfigError("--data mni152: nilearn is not installed; pip install nilearn")
    unknown = [m for m in maps if m not in ("gm", "wm")]
    if unknown:
        raise ConfigError(f"maps {','.join(maps)}: mni152 has the paired maps gm and wm"
                          f"{did_you_mean(unknown[0], ['gm', 'wm'])}")
    t1 = folder / MNI_FILES["t1"]
    return Inputs(nifti=[t1], maps={t1: tuple(folder / MNI_FILES[m] for m in maps)},
                  modality="MR")


def pydicom_files(modality: str) -> list[Path]:
    """The named test files of `modality` that are on this machine (no download)."""
    if importlib.util.find_spec("pydicom") is None:
        return []
    from pydicom.data import get_testdata_file

    found = []
    for name in PYDICOM_FILES[modality]:
        path = get_testdata_file(name, download=False)
        if isinstance(path, str):
            found.append(Path(path))
    return found


def _pydicom_source(modality: str, description: str) -> NamedSource:
    def missing() -> str | None:
        if pydicom_files(modality):
            return None
        return "pip install pydicom-data" if modality == "XR" else "pip install pydicom"

    def inputs(maps: tuple[str, ...]) -> Inputs:
        if maps:
            raise ConfigError(f"maps {','.join(maps)}: paired maps come with NIfTI volumes;"
                              f" pydicom-{modality.lower()} has none")
        files = pydicom_files(modality)
        if not files:
            raise ConfigError(f"--data pydicom-{modality.lower()}: not on this machine;"
                              f" {missing()}")
        return Inputs(dicom=files, modality=modality)

    return NamedSource(f"pydicom-{modality.lower()}", description, modality, missing, inputs)


NAMED: dict[str, NamedSource] = {
    s.name: s for s in (
        NamedSource("mni152", "MNI152 2009 T1 brain template (nilearn), 1 mm, maps gm, wm", "MR",
                    _mni_missing, _mni_inputs),
        _pydicom_source("CT", "CT test slices of pydicom (and pydicom-data when installed)"),
        _pydicom_source("MR", "MR test images of pydicom (and pydicom-data when installed)"),
        _pydicom_source("XR", "computed radiographs of pydicom-data"),
    )
}
DEFAULT = "mni152"


# -- folders ------------------------------------------------------------------------------------

def _is_dicom_name(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix in DICOM_SUFFIXES or suffix == "" or suffix[1:].isdigit()


def is_companion(path: Path, maps: tuple[str, ...]) -> bool:
    """A paired map or an inpainting mask of another volume, not a volume itself."""
    name = stem(path)
    return name.endswith(MASK_SUFFIX) or any(name.endswith(f"_{m}") for m in maps)


def folder_inputs(root: Path, maps: tuple[str, ...], what: str = "--data") -> Inputs:
    """The NIfTI and DICOM files of a file or folder; a ConfigError when there are none."""
    if not root.exists():
        raise ConfigError(f"{what} {root}: no such file or folder (and not a dataset name;"
                          f" known: {', '.join(NAMED)})")
    if root.is_file():
        files = [root]
    else:
        files = sorted(p for p in root.rglob("*") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(root).parts))
    inputs = Inputs()
    for path in files:
        if is_nifti(path):
            if not is_companion(path, maps) or root.is_file():
                inputs.nifti.append(path)
        elif (_is_dicom_name(path) and path.name.upper() != "DICOMDIR") or root.is_file():
            inputs.dicom.append(path)
    if not inputs.nifti and not inputs.dicom:
        raise ConfigError(f"{what} {root}: no NIfTI or DICOM files found (looked for .nii,"
                          " .nii.gz, .dcm, .dicom, .ima and files without an extension)")
    inputs.maps = {p: tuple(map_path(p, m) for m in maps) for p in inputs.nifti}
    return inputs


def resolve_inputs(data: str, maps: tuple[str, ...]) -> tuple[str, Inputs]:
    """(display name, files) for `--data`."""
    name = data or DEFAULT
    if name in NAMED:
        return name, NAMED[name].inputs(maps)
    root = Path(name).expanduser()
    if not root.exists() and "/" not in name and "." not in name:
        raise ConfigError(f"--data {name}: no such folder or dataset{did_you_mean(name, NAMED)}")
    return name, folder_inputs(root, maps)


# -- volumes ------------------------------------------------------------------------------------

def iter_volumes(inputs: Inputs, modality: str | None, frame: int
                 ) -> Iterator[Volume | tuple[Path, str]]:
    """Every volume of `inputs`, one at a time; unusable files as (path, reason)."""
    from .dicom_io import read_dicom

    for path in inputs.nifti:
        try:
            yield read_nifti(path, frame=frame, maps=inputs.maps.get(path, ()),
                             modality=inputs.modality)
        except SkipFile as exc:
            yield path, str(exc)
    if inputs.dicom:
        yield from read_dicom(inputs.dicom, modality)


def report_skipped(skipped: list[str], where: str) -> None:
    if skipped:
        shown = "; ".join(skipped[:SHOWN_SKIPS])
        log.warning("skipped %d unusable file(s) in %s: %s%s", len(skipped), where, shown,
                    " ..." if len(skipped) > SHOWN_SKIPS else "")


def nothing_usable(where: str, count: int, skipped: list[str]) -> ConfigError:
    first = f" (first: {skipped[0]})" if skipped else ""
    return ConfigError(f"{where}: none of the {count} file(s) could be used{first}")


def explain_unusable(data: str, maps: tuple[str, ...], frame: int) -> None:
    """Raise the "none could be used" error, with the first file's reason, when no volume of
    `--data` can be read (for data whose headers told nothing)."""
    name, inputs = resolve_inputs(data, maps)
    skipped = []
    for item in iter_volumes(inputs, None, frame):
        if not isinstance(item, tuple):
            return
        skipped.append(f"{item[0]}: {item[1]}")
    raise nothing_usable(f"--data {name}", len(inputs.nifti) + len(inputs.dicom), skipped)


def _slice_all(name: str, inputs: Inputs, settings: SliceSettings, frame: int) -> SliceSet:
    slices: list[np.ndarray] = []
    skipped: list[str] = []
    usable = 0
    for item in iter_volumes(inputs, settings.modality, frame):
        if isinstance(item, tuple):
            skipped.append(f"{item[0]}: {item[1]}")
            continue
        usable += 1
        slices.extend(training_slices(item, settings))
    report_skipped(skipped, name)
    if not usable:
        raise nothing_usable(f"--data {name}", len(inputs.nifti) + len(inputs.dicom), skipped)
    if not slices:
        raise ConfigError(f"--data {name}: no slice has tissue in {settings.min_tissue:.0%} of"
                          " its pixels or more; lower --set min_tissue")
    return SliceSet(unit_to_int16(np.stack(slices)), skipped)


# -- the cache ----------------------------------------------------------------------------------

def cache_dir() -> Path:
    return cache.domain_dir("medical")


def _identity(inputs: Inputs) -> str:
    digest = hashlib.sha256()
    for path in inputs.files():
        try:
            st = path.stat()
            digest.update(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}:missing\n".encode())
    return digest.hexdigest()


def load(data: str, settings: SliceSettings, *, maps: tuple[str, ...] = (),
         frame: int = -1) -> SliceSet:
    """The training slices of `--data` (cached under $GANX_HOME/medical)."""
    name, inputs = resolve_inputs(data, maps)
    key = hashlib.sha256(f"{CACHE_VERSION}|{_identity(inputs)}|{settings}|{maps}|{frame}"
                         .encode())
    path = cache_dir() / f"{key.hexdigest()[:24]}.npz"
    cached = cache.load_arrays(path, "slice cache")
    if cached is not None and "slices" in cached:
        return SliceSet(cached["slices"])
    result = _slice_all(name, inputs, settings, frame)
    cache.save_arrays(path, "slice cache", {"slices": result.slices})
    return result


# -- peeking, for resolve_config ----------------------------------------------------------------

@dataclass
class Peek:
    modalities: Counter[str]
    """DICOM files (or named sets) by modality; NIfTI files count under "" (not declared)."""
    fov_mm: float
    """The largest in-plane extent of the slices, in mm (0 when nothing could be read)."""
    niftis: tuple[Path, ...] = ()


def _nifti_extent(path: Path, axis: str) -> float:
    import nibabel as nib

    from . import slicing

    img = nib.load(str(path))  # reads the header only
    shape = np.array(img.shape[:3] + (1,) * (3 - len(img.shape[:3])))
    ornt = nib.orientations.io_orientation(img.affine)
    zooms = np.sqrt((np.asarray(img.affine)[:3, :3] ** 2).sum(axis=0))
    ras_shape, ras_zooms = np.empty(3), np.empty(3)
    for source, (target, _) in enumerate(ornt):
        ras_shape[int(target)], ras_zooms[int(target)] = shape[source], zooms[source]
    index = slicing.slice_axis(tuple(int(s) for s in ras_shape), axis)
    return float(max(ras_shape[i] * ras_zooms[i] for i in range(3) if i != index))


def _dicom_header(path: Path) -> tuple[str, float] | None:
    import warnings

    import pydicom

    from .dicom_io import pixel_spacing

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        rows, cols = int(ds.Rows), int(ds.Columns)
    except Exception:  # unusable files are reported when the data is loaded
        return None
    row_sp, col_sp = pixel_spacing(ds)
    return str(ds.get("Modality", "") or ""), max(rows * row_sp, cols * col_sp)


def peek(data: str, axis: str, maps: tuple[str, ...]) -> Peek:
    """Modalities and field of view of `--data`, from headers only."""
    _, inputs = resolve_inputs(data, maps)
    counts: Counter[str] = Counter()
    extent = 0.0
    for path in inputs.nifti:
        try:
            extent = max(extent, _nifti_extent(path, axis))
        except Exception:  # reported when loaded
            continue
        counts[inputs.modality or ""] += 1
    for path in inputs.dicom:
        header = _dicom_header(path)
        if header is None:
            continue
        group = modality_group(header[0])
        if group is not None:
            counts[group] += 1
            extent = max(extent, header[1])
    return Peek(counts, extent, tuple(inputs.nifti))


def guess_nifti_modality(paths: tuple[Path, ...]) -> str | None:
    """From the first readable volume: CT when it holds Hounsfield-like values (air near -1000),
    else MR; None when no volume can be read (the loader then skips and reports them)."""
    import nibabel as nib

    for path in paths:
        try:
            data = np.asarray(nib.load(str(path)).dataobj, dtype=np.float32)
        except Exception:  # damaged files are reported by the loader, not here
            continue
        return "CT" if data.size and float(np.percentile(data, 1)) < -500 else "MR"
    return None
