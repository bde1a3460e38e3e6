"""ganx's on-disk cache: arrays the domains compute once (resized images, audio segments, medical
slices, token rows, reference statistics), under `$GANX_HOME` (default `~/.cache/ganx`), one
folder per domain, each file named by a hash of what it was made from.

Files are `.npz`, written atomically (a temporary, then a rename), read without pickles, and
verified against the SHA-256 of their arrays stored beside them: a damaged or edited file is
reported and rebuilt, never used. A cache that cannot be read or written only costs time.
numpy only: plugin discovery imports this module's callers without torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger("ganx")

_DIGEST = "__sha256__"


def home() -> Path:
    """`$GANX_HOME`, or `~/.cache/ganx`."""
    return Path(os.environ.get("GANX_HOME") or Path.home() / ".cache" / "ganx")


def domain_dir(domain: str) -> Path:
    """The cache folder of one domain."""
    return home() / domain


def _digest(arrays: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def load_arrays(path: Path, what: str) -> dict[str, np.ndarray] | None:
    """The arrays cached in `path`, or None when it is missing, unreadable or does not match its
    stored digest (`what` names the cache in the warning, e.g. "image cache")."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("ignoring unreadable %s %s: %s", what, path, exc)
        return None
    expected = arrays.pop(_DIGEST, None)
    if expected is None:
        log.warning("rebuilding %s %s: it has no checksum (an older ganx wrote it)", what, path)
        return None
    if str(expected) != _digest(arrays):
        log.warning("ignoring %s %s: its contents do not match their checksum", what, path)
        return None
    return arrays


def save_arrays(path: Path, what: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` to `path` atomically with their digest; a failure is a warning."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            np.savez(fh, **{**arrays, _DIGEST: np.array(_digest(arrays))})  # type: ignore[arg-type]
        os.replace(tmp, path)
    except OSError as exc:  # a cache that cannot be written only costs time
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        log.warning("could not write the %s %s: %s", what, path, exc.strerror or exc)


def warn_skipped(skipped: Sequence[str], what: str, where: str, shown: int = 3) -> None:
    """One warning for the files a loader skipped: how many, where, and the first few reasons."""
    if skipped:
        more = " ..." if len(skipped) > shown else ""
        log.warning("skipped %d %s in %s: %s%s", len(skipped), what, where,
                    "; ".join(skipped[:shown]), more)
