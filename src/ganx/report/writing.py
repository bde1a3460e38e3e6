"""Writing a page atomically: a reader sees the previous file or the new one, never half of one."""

from __future__ import annotations

import os
from pathlib import Path

from ganx.core.errors import ConfigError


def write_page(text: str, out: str | Path, what: str, example_name: str) -> Path:
    """Write `text` to `out` through a temporary file and a rename; a directory or an unwritable
    place is a one-line ConfigError naming `what` is written (e.g. "the report")."""
    path = Path(out)
    if path.is_dir():
        raise ConfigError(f"--out {path} is a directory; give a file name such as"
                          f" {path / example_name}")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {what} to {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path
