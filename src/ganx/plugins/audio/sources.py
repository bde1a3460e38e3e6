"""Where audio comes from: the synthesised `spoken-digits` set and folders of recordings, cut into
fixed-length segments and cached as int16.

Any file soundfile reads (WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF, ...) at any sample rate and
channel count is resampled to the configured rate (torchaudio), mixed to mono or kept as channels,
optionally peak-normalised, and cut into segments of `segment` samples: a file shorter than a
segment is centred in one (zero padding), a longer one gives consecutive segments, its tail kept
(zero-padded) when it is at least half a segment. Silent segments are dropped. Files that cannot
be read, are empty, silent or not finite are skipped and reported. If every file sits in a
first-level subfolder, the subfolder names are class labels (as for images).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganx.core import cache
from ganx.core.errors import ConfigError, RunError, did_you_mean

from . import digits

log = logging.getLogger("ganx")

AUDIO_EXTENSIONS = {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff",
                    ".aifc", ".au", ".snd", ".w64", ".caf", ".rf64"}
DEFAULT = digits.NAME
NAMED = {digits.NAME: "spoken digits zero..nine synthesised with espeak-ng (SC09-like),"
                      " 22.05 kHz mono, 10 classes; generated into the ganx cache on first use"}
CACHE_VERSION = 1
PEAK = 0.95
"""Peak level of normalised files, as a share of full scale."""
SILENCE = 1e-3
"""Segments whose peak stays below this share of full scale (-60 dBFS) are dropped as silence."""


@dataclass
class AudioSet:
    """Segments as int16 (N, C, T) at one sample rate, optional int64 labels (N,), class names,
    and the files that were skipped (with why)."""

    waves: np.ndarray
    labels: np.ndarray | None = None
    classes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    """How recordings become training segments."""

    sample_rate: int
    channels: int
    segment: int
    normalize: bool = True

    @classmethod
    def of(cls, cfg: Any) -> Layout:
        return cls(cfg.sample_rate, cfg.channels, cfg.segment, cfg.normalize)


def list_audio_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS
                  and p.is_file() and not any(part.startswith(".") for part in
                                              p.relative_to(root).parts))


# -- one file ------------------------------------------------------------------------------------

def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """A file as float32 (channels, frames) in [-1, 1] and its sample rate; raises ValueError
    with a short reason for files that cannot be used."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        raise ValueError(str(exc).strip().splitlines()[0][:120] or type(exc).__name__) from None
    if data.size == 0:
        raise ValueError("no audio frames")
    if not np.isfinite(data).all():
        raise ValueError("non-finite samples")
    return np.ascontiguousarray(data.T), int(rate)


def match_channels(wave: np.ndarray, channels: int) -> np.ndarray:
    """(C, T) to (channels, T): mono is mixed by averaging, a mono file repeated; other counts
    must match."""
    have = wave.shape[0]
    if have == channels:
        return wave
    if channels == 1:
        return wave.mean(axis=0, keepdims=True)
    if have == 1:
        return np.repeat(wave, channels, axis=0)
    raise ValueError(f"{have} channels; this run uses {channels} (set channels=1 to mix to mono)")


def resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return wave
    import torch
    import torchaudio.functional as AF

    return AF.resample(torch.from_numpy(wave), rate, target).numpy()


def to_int16(wave: np.ndarray) -> np.ndarray:
    return np.clip(np.round(wave * 32768.0), -32768, 32767).astype(np.int16)


def segments(wave: np.ndarray, length: int) -> list[np.ndarray]:
    """Cut (C, T) into (C, length) pieces: short clips centred in one, long ones consecutive,
    a tail of half a segment or more kept zero-padded."""
    total = wave.shape[1]
    if total <= length:
        out = np.zeros((wave.shape[0], length), dtype=wave.dtype)
        start = (length - total) // 2
        out[:, start: start + total] = wave
        return [out]
    pieces = [wave[:, i: i + length] for i in range(0, total - length + 1, length)]
    tail = total % length
    if tail >= length // 2:
        last = np.zeros((wave.shape[0], length), dtype=wave.dtype)
        last[:, :tail] = wave[:, total - tail:]
        pieces.append(last)
    return pieces


def decode(path: Path, layout: Layout) -> np.ndarray | str:
    """A file's segments as int16 (K, C, T), or why it was skipped."""
    try:
        wave, rate = read_audio(path)
        wave = match_channels(wave, layout.channels)
    except ValueError as exc:
        return f"{path}: {exc}"
    peak = float(np.abs(wave).max())
    if peak < SILENCE:
        return f"{path}: silent"
    wave = resample(wave, rate, layout.sample_rate)
    if layout.normalize:
        wave = wave * (PEAK / float(np.abs(wave).max()))
    kept = [s for s in segments(wave, layout.segment) if np.abs(s).max() >= SILENCE]
    if not kept:
        return f"{path}: silent"
    return to_int16(np.stack(kept))


# -- folders -------------------------------------------------------------------------------------

def load_folder(root: Path, layout: Layout) -> AudioSet:
    if not root.exists():
        raise ConfigError(f"--data {root}: no such folder (and not a dataset name; known:"
                          f" {', '.join(NAMED)})")
    files = [root] if root.is_file() else list_audio_files(root)
    if root.is_file() and root.suffix.lower() not in AUDIO_EXTENSIONS:
        raise ConfigError(f"--data {root}: not an audio file or a folder of them")
    if not files:
        raise ConfigError(f"--data {root}: no audio files found (looked for"
                          f" {', '.join(sorted(AUDIO_EXTENSIONS))} recursively)")
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        decoded = list(pool.map(lambda p: decode(p, layout), files))
    good = [(f, d) for f, d in zip(files, decoded, strict=True) if not isinstance(d, str)]
    skipped = [d for d in decoded if isinstance(d, str)]
    if not good:
        raise ConfigError(f"--data {root}: none of the {len(files)} audio files could be used"
                          f" (first: {skipped[0]})")
    labels, classes = None, []
    if root.is_dir():
        rel = [f.relative_to(root) for f, _ in good]
        if all(len(r.parts) >= 2 for r in rel):
            names = sorted({r.parts[0] for r in rel})
            if len(names) >= 2:
                classes = _order_classes(names)
                index = {c: i for i, c in enumerate(classes)}
                labels = np.concatenate([np.full(len(d), index[r.parts[0]], dtype=np.int64)
                                         for r, (_, d) in zip(rel, good, strict=True)])
    waves = np.concatenate([d for _, d in good])
    return AudioSet(waves, labels, classes, skipped)


def _order_classes(names: list[str]) -> list[str]:
    """Class order: the digit words in numeric order when the folders are digit words (so label
    i means digit i), otherwise alphabetical."""
    order = digits.word_labels()
    if all(n in order for n in names):
        return sorted(names, key=order.__getitem__)
    return names


# -- the cache -----------------------------------------------------------------------------------

def cache_dir() -> Path:
    return digits.cache_root()


def _folder_identity(root: Path) -> str:
    digest = hashlib.sha256()
    files = [root] if root.is_file() else list_audio_files(root)
    for path in files:
        st = path.stat()
        digest.update(f"{path.relative_to(root) if root.is_dir() else path.name}:{st.st_size}:"
                      f"{st.st_mtime_ns}\n".encode())
    return f"folder:{root.resolve()}:{digest.hexdigest()}"


def resolve_source(data: str, *, digits_clips: int, digits_seed: int) -> Path:
    """The folder (or file) behind `--data`: the spoken-digit set (synthesised on first use) for
    the default name, else the path itself."""
    name = data or DEFAULT
    if name == digits.NAME:
        return digits.prepare(digits_clips, digits_seed)
    root = Path(name).expanduser()
    if not root.exists() and "/" not in name and "." not in name:
        raise ConfigError(f"--data {name}: no such folder or dataset{did_you_mean(name, NAMED)}"
                          f" (known datasets: {', '.join(NAMED)})")
    return root


def load(data: str, layout: Layout, *, digits_clips: int = 4000, digits_seed: int = 0) -> AudioSet:
    """The segments for `--data` (a dataset name, a folder or one file), cached by content."""
    root = resolve_source(data, digits_clips=digits_clips, digits_seed=digits_seed)
    identity = _folder_identity(root) if root.exists() else str(root)
    key = hashlib.sha256(f"{CACHE_VERSION}|{identity}|{layout}".encode())
    path = cache_dir() / "segments" / f"{key.hexdigest()[:24]}.npz"
    cached = cache.load_arrays(path, "audio cache")
    if cached is not None and {"waves", "labels", "classes"} <= cached.keys():
        labels = cached["labels"] if cached["labels"].size else None
        return AudioSet(cached["waves"], labels, [str(c) for c in cached["classes"]])
    result = load_folder(root, layout)
    if len(result.waves) == 0:
        raise RunError(f"--data {data or DEFAULT}: no audio")
    cache.warn_skipped(result.skipped, "unusable audio file(s)", data or DEFAULT)
    cache.save_arrays(path, "audio cache", {
        "waves": result.waves,
        "labels": result.labels if result.labels is not None else np.zeros(0, np.int64),
        "classes": np.array(result.classes, dtype=str)})
    return result


def peek_classes(data: str) -> int:
    """The number of class labels `--data` gives (one per first-level subfolder when every file
    sits in one, as `load_folder` reads them; the ten digits for the spoken digits), 0 for
    none. Lists files only."""
    name = data or DEFAULT
    if name == digits.NAME:
        return len(digits.DIGITS)
    root = Path(name).expanduser()
    if not root.is_dir():
        return 0
    rel = [f.relative_to(root) for f in list_audio_files(root)]
    if not rel or any(len(r.parts) < 2 for r in rel):
        return 0
    names = {r.parts[0] for r in rel}
    return len(names) if len(names) >= 2 else 0


def peek_channels(data: str) -> int:
    """The most common channel count among (up to 64 of) the files of `--data`, reading headers
    only; checks that the folder exists and holds audio files."""
    import soundfile as sf

    name = data or DEFAULT
    if name == digits.NAME:
        return 1
    root = resolve_source(name, digits_clips=10, digits_seed=0)
    if not root.exists():
        load_folder(root, Layout(16000, 1, 16384))  # raises the right error
    files = [root] if root.is_file() else list_audio_files(root)
    if not files:
        raise ConfigError(f"--data {root}: no audio files found (looked for"
                          f" {', '.join(sorted(AUDIO_EXTENSIONS))} recursively)")
    counts: Counter[int] = Counter()
    for path in files[:64]:
        try:
            counts[sf.info(str(path)).channels] += 1
        except (sf.LibsndfileError, RuntimeError, OSError):
            continue  # reported when decoded
    return counts.most_common(1)[0][0] if counts else 1
