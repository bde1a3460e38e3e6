"""The engine's quality bar: the toy plugin, installed as a package and trained through the CLI
with its default settings, covers the 8-mode ring and the 25-mode grid."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_default_settings_cover_ring_and_grid(tmp_path):
    # the two runs go side by side, one CPU thread each
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = {}
    for mixture in ("ring", "grid"):
        cmd = [sys.executable, "-m", "ganx", "train", "--plugin", "toy", "--set",
               f"mixture={mixture}", "--device", "cpu", "--run-dir", str(tmp_path / mixture),
               "--no-progress"]
        procs[mixture] = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)
    results = {}
    for mixture, proc in procs.items():
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-2000:]
        rows = [json.loads(line) for line in (tmp_path / mixture / "metrics.jsonl").open()]
        results[mixture] = [r for r in rows if r["kind"] == "eval"][-1]
    ring, grid = results["ring"], results["grid"]
    assert ring["modes_total"] == 8 and ring["modes_covered"] == 8, ring
    assert grid["modes_total"] == 25 and grid["modes_covered"] >= 24, grid
    assert ring["high_quality"] >= 0.70, ring
    assert grid["high_quality"] >= 0.70, grid
