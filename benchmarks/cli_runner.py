"""Run the ganx CLI from a benchmark script: a failure ends the benchmark with ganx's own error."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path


def run_ganx(*args: str, env: dict[str, str] | None = None) -> str:
    """`python -m ganx ARGS` in this interpreter; returns its stdout, exits with its stderr's tail
    when it fails."""
    done = subprocess.run([sys.executable, "-m", "ganx", *args], capture_output=True, text=True,
                          env=dict(os.environ) if env is None else env)
    if done.returncode != 0:
        sys.exit(f"ganx {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def parse_eval_at(text: str, steps: int) -> list[int]:
    """`--eval-at 1000,2000`: the earlier steps to evaluate too, sorted; ValueError when one is
    not between 1 and `steps` - 1."""
    points = sorted({int(s) for s in text.split(",") if s.strip()} - {steps})
    if any(not 0 < p < steps for p in points):
        raise ValueError("--eval-at: steps between 1 and --steps")
    return points


def snapshot_options(steps: int, points: list[int]) -> list[str]:
    """`ganx train` options that keep a snapshot at every step in `points` (and at `steps`)."""
    if not points:
        return []
    every = math.gcd(steps, *points)
    return ["--set", f"checkpoint_every={every}", "--set",
            f"keep_checkpoints={steps // every + 1}"]


def train_seconds(run_dir: Path, step: int, total_s: float, steps: int) -> float:
    """Training time up to `step`: from the run's log (the first logged row starts the clock
    late by one logging interval, so scale from the total instead when the log is short)."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").open()]
    times = {r["step"]: r["time"] for r in rows if r.get("kind") == "train"}
    if step in times and steps in times:
        return total_s - (times[steps] - times[step])
    return total_s * step / steps
