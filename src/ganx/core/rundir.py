"""The run directory: naming, exclusive use, and what may be written into it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import filelock

from .checkpoint import list_snapshots
from .errors import ConfigError

LOCK_NAME = ".ganx.lock"


def new_run_dir(plugin: str, root: Path = Path("runs")) -> Path:
    """runs/<plugin>-<YYYYmmdd-HHMMSS>, with a suffix if that name is taken."""
    base = root / f"{plugin}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def latest_run_dir(plugin: str, root: Path = Path("runs")) -> Path | None:
    """The most recently modified runs/<plugin>-* directory holding snapshots."""
    candidates = [p for p in root.glob(f"{plugin}-*") if list_snapshots(p / "checkpoints")]
    return max(candidates, key=lambda p: p.stat().st_mtime, default=None)


def confined(path: Path, root: Path, where: str) -> Path:
    """`path` from a config file, checked to stay inside `root` (the working directory): a
    shared config cannot make a run write elsewhere. Explicit --run-dir options are not limited."""
    if path.is_absolute() or not (root / path).resolve().is_relative_to(root.resolve()):
        raise ConfigError(
            f"{where}: run_dir {str(path)!r} leaves the working directory; a config file may"
            " only name a relative path inside it (pass --run-dir to choose any place)"
        )
    return path


def tighten_umask() -> None:
    """Never create world-writable files, whatever umask the process was started with."""
    import os

    current = os.umask(0o022)
    os.umask(current | 0o002)


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold the run directory for one process. The OS releases the lock if the process dies, so
    a crashed run never leaves it stuck."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(run_dir / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise ConfigError(
            f"run dir {run_dir} is in use by another ganx process; wait for it or choose"
            " another --run-dir"
        ) from None
    try:
        yield
    finally:
        lock.release()


def refuse_overwrite(run_dir: Path) -> None:
    """A fresh run must not write over another run's snapshots."""
    if list_snapshots(run_dir / "checkpoints"):
        raise ConfigError(
            f"run dir {run_dir} already holds checkpoints; pass --resume to continue that run or"
            " choose another --run-dir"
        )
