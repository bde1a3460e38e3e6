"""Run the ganx CLI from a benchmark script: a failure ends the benchmark with ganx's own error."""

from __future__ import annotations

import os
import subprocess
import sys


def run_ganx(*args: str, env: dict[str, str] | None = None) -> str:
    """`python -m ganx ARGS` in this interpreter; returns its stdout, exits with its stderr's tail
    when it fails."""
    done = subprocess.run([sys.executable, "-m", "ganx", *args], capture_output=True, text=True,
                          env=dict(os.environ) if env is None else env)
    if done.returncode != 0:
        sys.exit(f"ganx {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout
