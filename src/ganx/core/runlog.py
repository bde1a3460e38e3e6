"""What a run records as it goes: train.log and metrics.jsonl (TensorBoard is a run callback,
see `tensorboard`)."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("ganx")


def append_record(path: Path, step: int, kind: str, values: dict[str, Any]) -> None:
    """Append one JSON line {step, kind, time, **values} to `path` (non-finite floats -> null)."""
    row = {"step": step, "kind": kind, "time": round(time.time(), 3)}
    row.update({k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in values.items()})
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")


class RunLog:
    """Appends JSON lines to metrics.jsonl and attaches a train.log file handler to the `ganx`
    logger for the run's lifetime."""

    def __init__(self, run_dir: Path, write: bool = True) -> None:
        self.write = write
        self.path = run_dir / "metrics.jsonl"
        self._file_handler: logging.Handler | None = None
        if not write:
            return
        handler = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        if log.level == logging.NOTSET or log.level > logging.INFO:
            log.setLevel(logging.INFO)
        self._file_handler = handler

    def record(self, step: int, kind: str, values: dict[str, Any]) -> None:
        if not self.write:
            return
        append_record(self.path, step, kind, values)

    def truncate_after(self, step: int) -> None:
        """Drop rows past `step` (after a resume or roll-back re-trains those steps)."""
        if not self.write or not self.path.exists():
            return
        keep = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:  # a line cut short when the process was killed mid-write
                continue
            if isinstance(row, dict) and row.get("step", 0) <= step:
                keep.append(line)
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(line + "\n" for line in keep), encoding="utf-8")
        tmp.replace(self.path)

    def close(self) -> None:
        if self._file_handler is not None:
            log.removeHandler(self._file_handler)
            self._file_handler.close()
