"""Snapshots: one file each, written atomically, loaded without executing code.

Writing goes to a temporary file in the same directory, is fsynced, then renamed over the final
name, so a reader sees either the old set of snapshots or the new one, never a partial file.
Loading uses `torch.load(weights_only=True)`, which refuses any pickled object that is not plain
tensors and containers: a hostile file cannot run code. torch is imported inside the functions
that need it, so listing snapshots (and the CLI's config checks) stays light.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import CheckpointError, RunError

FORMAT = "ganx-checkpoint"
FORMAT_VERSION = 1
_NAME = re.compile(r"step-(\d+)\.pt")
_TMP_SUFFIX = ".tmp"


def snapshot_name(step: int) -> str:
    return f"step-{step:08d}.pt"


def list_snapshots(directory: Path) -> list[tuple[int, Path]]:
    """(step, path) of every complete snapshot file in `directory`, newest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _NAME.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete temporaries left by a writer that died mid-write (call while holding the run lock)."""
    stale = [p for p in directory.glob(f".*{_TMP_SUFFIX}")] if directory.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not supported on this platform
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_atomic(payload: dict[str, Any], path: Path) -> None:
    """Write `payload` to `path` atomically. On failure the previous files are untouched and a
    RunError names the path and the reason."""
    import torch

    tmp = path.with_name(f".{path.name}.{os.getpid()}{_TMP_SUFFIX}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # 0o644 before the umask: never group- or world-writable, whatever the umask allows
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunError(f"could not write snapshot {path}: {exc.strerror or exc}") from exc


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and check a ganx snapshot. Raises CheckpointError naming the file and the problem."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    _verify_checksums(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"refused to load {path}: it holds objects other than tensors and plain data"
            f" ({first[:160]})"
        ) from None
    except Exception as exc:  # damaged files raise RuntimeError, KeyError, EOFError, ...
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated or corrupt:"
            f" {reason or type(exc).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ganx checkpoint")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {payload.get('format_version')!r}; this ganx reads"
            f" format {FORMAT_VERSION}"
        )
    return payload


def _verify_checksums(path: Path) -> None:
    """A torch checkpoint is a zip archive with a CRC-32 per record: check them all, so a
    flipped bit in the weights is an error rather than a silently different model."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated or corrupt: {exc})") from None
    if bad is not None:
        raise CheckpointError(f"{path} is corrupt: checksum mismatch in record {bad}")


def iter_loadable(directory: Path) -> Iterator[tuple[Path, dict[str, Any] | CheckpointError]]:
    """Each snapshot newest first, with its payload or the error that made it unusable."""
    for _, path in list_snapshots(directory):
        try:
            yield path, load_checkpoint(path)
        except CheckpointError as exc:
            yield path, exc


def prune(directory: Path, keep: int) -> None:
    """Keep the newest `keep` snapshots (at least one)."""
    for _, path in list_snapshots(directory)[max(1, keep):]:
        path.unlink(missing_ok=True)
