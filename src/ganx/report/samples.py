"""The samples a run wrote, found by file type and grouped by snapshot step.

Domains name sample files after the snapshot (`step-00001000.png`, `step-00001000_gm.png`,
`step-00001000/03.wav`, `step-00001000.txt`); the report needs no knowledge of the domain:
images become pictures over time, audio files players, text files text blocks, and volumes
(NIfTI, DICOM) a note, since a browser cannot show them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .embed import MIME, read_embeddable

IMAGE = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
AUDIO = {".wav", ".flac", ".ogg", ".mp3"}
TEXT = {".txt"}
VOLUME = {".nii", ".nii.gz", ".dcm", ".mha", ".nrrd"}
MAX_CLIPS = 16
MAX_AUDIO_BYTES = 4 << 20
MAX_TEXT_CHARS = 6000
MAX_TEXT_LINES = 60
_STEP = re.compile(r"step-(\d+)")
T = TypeVar("T")


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def step_of(rel: Path) -> int | None:
    """The snapshot step named in a path relative to samples/ (file or folder name)."""
    for part in rel.parts:
        match = _STEP.search(part)
        if match:
            return int(match.group(1))
    return None


def series_of(rel: Path) -> str:
    """Which picture a file is, apart from its step: '' for the main grid, else the rest of the
    name (`step-00000010_gm.png` -> 'gm')."""
    stem = rel.name[: -len(suffix_of(rel))] if suffix_of(rel) else rel.name
    return _STEP.sub("", stem).strip("-_. ")


def image_width(path: Path) -> int:
    """Pixel width from the file's header (0 when unreadable)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return int(image.width)
    except (OSError, UnidentifiedImageError):
        return 0


def fit(width: int, target: int) -> dict[str, int | bool]:
    """Display width for an image of `width` pixels in a slot of about `target`: small images
    grow by a whole factor with sharp pixels, large ones shrink to the slot."""
    if width <= 0:
        return {"width": target, "pixelated": False}
    if width <= target:
        factor = max(1, target // width)
        return {"width": width * factor, "pixelated": factor > 1}
    return {"width": target, "pixelated": False}


def spread(items: Sequence[T], k: int) -> list[T]:
    """At most `k` items evenly spaced over `items`, always with the first and the last."""
    n = len(items)
    if n <= k:
        return list(items)
    if k <= 1:
        return [items[-1]]
    picks = sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})
    return [items[i] for i in picks]


@dataclass
class Shown:
    """One file as the page shows it."""

    name: str
    step: int | None
    uri: str = ""
    text: str = ""
    mime: str = ""
    truncated: bool = False
    width: int = 0


@dataclass
class Samples:
    """The samples section: image series over time, audio per snapshot, text per snapshot, and
    notes about what was left out."""

    images: dict[str, list[Shown]] = field(default_factory=dict)
    image_counts: dict[str, int] = field(default_factory=dict)
    audio: list[tuple[int | None, list[Shown]]] = field(default_factory=list)
    audio_snapshots: int = 0
    texts: list[Shown] = field(default_factory=list)
    text_snapshots: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.images or self.audio or self.texts)


def _by_step(pairs: list[tuple[int | None, Path]]) -> list[tuple[int | None, Path]]:
    return sorted(pairs, key=lambda p: (p[0] is None, p[0] or 0, p[1].name))


def _names(paths: list[Path], root: Path, limit: int = 3) -> str:
    shown = ", ".join(str(p.relative_to(root)) for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


@dataclass
class _Found:
    """The sample files under a folder, by kind."""

    images: dict[str, list[tuple[int | None, Path]]] = field(
        default_factory=lambda: defaultdict(list))
    audio: dict[int | None, list[Path]] = field(default_factory=lambda: defaultdict(list))
    texts: list[tuple[int | None, Path]] = field(default_factory=list)
    volumes: list[Path] = field(default_factory=list)
    others: list[Path] = field(default_factory=list)
    incomplete: list[Path] = field(default_factory=list)
    """Files still being written or damaged (found while reading them)."""


def _find(samples_dir: Path) -> _Found:
    found = _Found()
    for path in sorted(samples_dir.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        rel = path.relative_to(samples_dir)
        suffix, step = suffix_of(path), step_of(rel)
        if suffix in IMAGE:
            found.images[series_of(rel)].append((step, path))
        elif suffix in AUDIO:
            found.audio[step].append(path)
        elif suffix in TEXT:
            found.texts.append((step, path))
        elif suffix in VOLUME:
            found.volumes.append(path)
        else:
            found.others.append(path)
    return found


def _pick_images(out: Samples, found: _Found, snapshots: int) -> None:
    for series in sorted(found.images, key=lambda s: (s != "", s)):
        ordered = _by_step(found.images[series])
        label = series or "samples"
        out.image_counts[label] = len(ordered)
        shown = []
        for step, path in spread(ordered, snapshots):
            uri = read_embeddable(path)
            if uri is None:
                found.incomplete.append(path)
                continue
            shown.append(Shown(path.name, step, uri=uri, width=image_width(path)))
        if shown:
            out.images[label] = shown


def _pick_audio(out: Samples, found: _Found, samples_dir: Path, snapshots: int) -> None:
    audio = found.audio
    audio_steps = sorted(audio, key=lambda s: (s is None, s or 0))
    out.audio_snapshots = len(audio_steps)
    for step in spread(audio_steps, snapshots):
        clips = []
        for path in sorted(audio[step])[:MAX_CLIPS]:
            if path.stat().st_size > MAX_AUDIO_BYTES:
                out.notes.append(f"{path.relative_to(samples_dir)} is over"
                                 f" {MAX_AUDIO_BYTES >> 20} MB and was not embedded")
                continue
            uri = read_embeddable(path)
            if uri is None:
                found.incomplete.append(path)
                continue
            clips.append(Shown(str(path.relative_to(samples_dir)), step, uri=uri,
                               mime=MIME[suffix_of(path)]))
        if clips:
            out.audio.append((step, clips))
        if len(audio[step]) > MAX_CLIPS:
            out.notes.append(f"step {step}: {MAX_CLIPS} of {len(audio[step])} audio files shown")


def _pick_texts(out: Samples, found: _Found, snapshots: int) -> None:
    ordered_texts = _by_step(found.texts)
    out.text_snapshots = len(ordered_texts)
    for step, path in reversed(spread(ordered_texts, snapshots)):  # newest first
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = text.splitlines()
        short = "\n".join(lines[:MAX_TEXT_LINES])[:MAX_TEXT_CHARS]
        out.texts.append(Shown(path.name, step, text=short, truncated=short != text.rstrip("\n")))


def _note_unshown(out: Samples, found: _Found, samples_dir: Path) -> None:
    if found.incomplete:
        out.notes.append(f"{len(found.incomplete)} file(s) still being written or damaged were"
                         f" left out: {_names(found.incomplete, samples_dir)}")
    if found.volumes:
        out.notes.append(f"{len(found.volumes)} volume file(s) (NIfTI/DICOM) are not shown in a"
                         f" browser; open them with a viewer such as 3D Slicer or ITK-SNAP:"
                         f" {_names(found.volumes, samples_dir)}")
    if found.others:
        kinds = sorted({suffix_of(p) or p.name for p in found.others})
        out.notes.append(f"{len(found.others)} other file(s) ({', '.join(kinds)}) are in"
                         f" {samples_dir.name}/: {_names(found.others, samples_dir)}")


def collect_samples(samples_dir: Path, snapshots: int = 12, audio_snapshots: int = 3,
                    text_snapshots: int = 12) -> Samples:
    """Find the sample files under `samples_dir` and pick what the page shows: up to
    `snapshots` steps of every image series, `audio_snapshots` steps of audio players and
    `text_snapshots` steps of text, evenly spaced and always with the newest."""
    out = Samples()
    if not samples_dir.is_dir():
        return out
    found = _find(samples_dir)
    _pick_images(out, found, snapshots)
    _pick_audio(out, found, samples_dir, audio_snapshots)
    _pick_texts(out, found, text_snapshots)
    _note_unshown(out, found, samples_dir)
    return out
