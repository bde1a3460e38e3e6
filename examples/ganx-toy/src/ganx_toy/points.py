"""A user's own 2-D points: a CSV file with one `x,y` pair per line (a header line is allowed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import ganx


def read_points(path: str) -> np.ndarray:
    """The points of `path` as float32 (N, 2); a one-line ConfigError naming the file and the
    line for anything else."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ganx.ConfigError(f"--data {path}: no such file; give a CSV file of x,y points or"
                               " leave --data out for the mixture (--set mixture=ring|grid)")
    rows: list[tuple[float, float]] = []
    lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines, start=1):
        values = [v.strip() for v in line.split(",")]
        if not line.strip() or (number == 1 and values == ["x", "y"]):
            continue
        try:
            x, y = (float(v) for v in values)
        except ValueError:
            raise ganx.ConfigError(f"--data {path}: line {number} is {line.strip()[:40]!r};"
                                   " expected two numbers, x,y") from None
        rows.append((x, y))
    if len(rows) < 2:
        raise ganx.ConfigError(f"--data {path}: {len(rows)} point(s); a GAN needs at least 2")
    points = np.asarray(rows, dtype=np.float32)
    if not np.isfinite(points).all():
        raise ganx.ConfigError(f"--data {path}: holds inf or nan values")
    return points
