"""What the benchmark scripts share: running the ganx CLI (a failure ends the benchmark with
ganx's own error), the common flags and snapshot points, and publishing the table."""

from __future__ import annotations

import argparse
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


def protocol_line(row: dict) -> str:
    """How a result's values were measured (its `protocol`, from `ganx evaluate --json` or a
    metrics.jsonl row), as one line for a benchmark's table."""
    from ganx.core.metric_protocol import MetricProtocol

    stored = row.get("protocol")
    if not isinstance(stored, dict):
        return "protocol: not recorded"
    return f"protocol: {MetricProtocol.from_dict(stored).summary()}"


def add_training_arguments(parser: argparse.ArgumentParser, *, steps: int, n: int,
                           n_help: str) -> None:
    """The options a train-then-evaluate quality benchmark shares: the run (steps, batch, device,
    precision, seed, `--set`), the evaluation (`--n`, `--eval-at`) and where results go."""
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--batch-size", type=int, default=0, help="default: the domain's")
    parser.add_argument("--n", type=int, default=n, help=n_help)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to ganx train (repeatable)")
    parser.add_argument("--eval-at", default="", metavar="STEPS",
                        help="also evaluate at these earlier steps (comma-separated)")
    parser.add_argument("--run-dir", type=Path, help="keep the run here (default: temporary)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")


def eval_points(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[int]:
    """`--eval-at 1000,2000`: the earlier steps to evaluate too, sorted (a usage error when one
    is not between 1 and `--steps` - 1)."""
    points = sorted({int(s) for s in args.eval_at.split(",") if s.strip()} - {args.steps})
    if any(not 0 < p < args.steps for p in points):
        parser.error("--eval-at: steps between 1 and --steps")
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


def publish(text: str, out: Path | None) -> None:
    """Print a benchmark's table and, with `--out`, write it there too (folders made)."""
    text = text.rstrip("\n")
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
