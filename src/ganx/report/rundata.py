"""Read what a run directory records: config.toml, metrics.jsonl, train.log and the versions.

Everything here is plain file reading (no torch), so a report can be regenerated while the run is
going. Only a run whose config.toml lacks the versions falls back to its newest snapshot, which
needs torch to read.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganx.core.checkpoint import list_snapshots
from ganx.core.errors import ConfigError

LOG_TAIL_LINES = 60
MAX_WARNINGS = 20
_TRAINING_LINE = re.compile(
    r"training (?P<plugin>\S+) on (?P<device>\S+) \((?P<precision>[^)]*)\) for (?P<steps>\d+)"
    r" steps, batch (?P<batch>\d+)")
_AUTO_PRECISION = re.compile(r"precision auto -> (?P<choice>.+)$")
_LEVEL = re.compile(r"^\S+ \S+ (?P<level>WARNING|ERROR|CRITICAL) (?P<message>.*)$")


@dataclass
class RunData:
    """What a report shows about a run, read from its directory."""

    run_dir: Path
    config: dict[str, Any] = field(default_factory=dict)
    config_text: str = ""
    config_source: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    bad_rows: int = 0
    snapshots: list[int] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    last_update: float | None = None

    @property
    def plugin(self) -> str:
        return str(self.config.get("plugin", ""))

    @property
    def total_steps(self) -> int | None:
        steps = self.config.get("train", {}).get("steps")
        return int(steps) if isinstance(steps, int) else None

    @property
    def step(self) -> int:
        """The furthest step the run has recorded (metrics or snapshots)."""
        steps = [int(r["step"]) for r in self.rows if isinstance(r.get("step"), int)]
        return max(steps + self.snapshots, default=0)


def read_run(run_dir: str | Path) -> RunData:
    """Read a run directory. ConfigError (exit 2) when it is not one."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"run {run_dir}: no such directory (give a run directory such as"
                          " runs/image-<timestamp>)")
    config_path, metrics_path = run_dir / "config.toml", run_dir / "metrics.jsonl"
    snapshots = sorted(step for step, _ in list_snapshots(run_dir / "checkpoints"))
    if not (config_path.is_file() or metrics_path.is_file() or snapshots):
        raise ConfigError(f"{run_dir} is not a ganx run directory: it has no config.toml,"
                          " metrics.jsonl or checkpoints/")
    data = RunData(run_dir=run_dir, snapshots=snapshots)
    if config_path.is_file():
        data.config_text = config_path.read_text(encoding="utf-8")
        try:
            data.config = tomllib.loads(data.config_text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path} is not valid TOML: {exc}") from None
        data.config_source = "config.toml"
        data.versions = {str(k): str(v) for k, v in data.config.get("versions", {}).items()}
    if not data.versions and snapshots:
        _from_snapshot(data)
    data.rows, data.bad_rows = read_metrics(metrics_path)
    _read_log(data, run_dir / "train.log")
    times = [p.stat().st_mtime for p in (config_path, metrics_path, run_dir / "train.log")
             if p.is_file()]
    data.last_update = max(times, default=None)
    return data


def read_metrics(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The rows of metrics.jsonl and how many lines could not be read (a line being written by
    a running run is one of them)."""
    if not path.is_file():
        return [], 0
    rows, bad = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int) and "kind" in row:
            rows.append(row)
        else:
            bad += 1
    return rows, bad


def _from_snapshot(data: RunData) -> None:
    """Versions (and the config, when config.toml is missing) from the newest readable
    snapshot. Imports torch."""
    from ganx.core.checkpoint import iter_loadable
    from ganx.core.config import dump_toml
    from ganx.core.errors import CheckpointError

    for path, payload in iter_loadable(data.run_dir / "checkpoints"):
        if isinstance(payload, CheckpointError):
            continue
        data.versions = {str(k): str(v) for k, v in payload.get("versions", {}).items()}
        if not data.config and isinstance(payload.get("config"), dict):
            data.config = payload["config"]
            data.config_text = dump_toml(data.config)
            data.config_source = f"checkpoints/{path.name}"
        return


def _read_log(data: RunData, path: Path) -> None:
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    data.log_tail = lines[-LOG_TAIL_LINES:]
    for line in lines:
        level = _LEVEL.match(line)
        if level and len(data.warnings) < MAX_WARNINGS:
            data.warnings.append(f"{level['level'].lower()}: {level['message']}")
        training = _TRAINING_LINE.search(line)
        if training:  # the newest start (a resumed run logs it again)
            data.environment.update(device=training["device"], precision=training["precision"],
                                    batch_size=training["batch"])
        auto = _AUTO_PRECISION.search(line)
        if auto:
            data.environment["precision auto"] = auto["choice"]
