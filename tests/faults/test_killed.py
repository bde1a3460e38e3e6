"""Killed at random (SIGKILL, including in the middle of a snapshot write), then resumed: the run
ends bit-identical to one that was never interrupted."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from ganx.core.checkpoint import list_snapshots

from ..conftest import run_ganx
from .common import TOY_ARGS, assert_same_training_state

STEPS = 60
ARGS = [*TOY_ARGS, "--steps", str(STEPS), "--set", "checkpoint_every=3"]
# A slow disk: each snapshot's fsync takes 0.3 s, so kills land inside writes too.
SLOW_FSYNC = """
import os, time
_fsync = os.fsync
def slow_fsync(fd):
    time.sleep(0.3)
    _fsync(fd)
os.fsync = slow_fsync
import sys
from ganx.cli.main import main
main(sys.argv[1:])
"""


def _start(run_dir) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SLOW_FSYNC, "train", *ARGS, "--run-dir", str(run_dir),
         "--resume"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _kill_during_write(proc: subprocess.Popen, ckpt_dir, deadline: float) -> bool:
    """SIGKILL as soon as a snapshot temporary appears; False if the run ended first."""
    while time.monotonic() < deadline and proc.poll() is None:
        if ckpt_dir.is_dir() and any(p.name.endswith(".tmp") for p in ckpt_dir.iterdir()):
            proc.send_signal(signal.SIGKILL)
            return True
        time.sleep(0.01)
    return False


def test_random_sigkills_then_resume_end_bit_identical(tmp_path):
    reference = run_ganx("train", *ARGS, "--run-dir", str(tmp_path / "reference"))
    assert reference.returncode == 0, reference.stderr

    rng = random.Random(1234)
    run_dir = tmp_path / "killed"
    ckpt_dir = run_dir / "checkpoints"
    kills = in_write = 0
    resumed_from: list[int] = []
    while True:
        newest = list_snapshots(ckpt_dir)
        resumed_from.append(newest[0][0] if newest else -1)
        proc = _start(run_dir)
        if kills >= 8:  # enough: let the last attempt finish
            assert proc.wait(timeout=300) == 0, proc.stderr.read()
            break
        if rng.random() < 0.5:
            hit = _kill_during_write(proc, ckpt_dir, time.monotonic() + 60)
            in_write += hit
        else:
            time.sleep(rng.uniform(1.0, 6.0))  # startup, training or a write: wherever
            hit = proc.poll() is None
            if hit:
                proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        kills += hit
        if not hit and proc.returncode == 0:
            break  # finished before we could kill it
        assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read()
        for p in ckpt_dir.iterdir() if ckpt_dir.is_dir() else []:
            # no temporary is ever taken for a snapshot
            assert p.name.endswith(".tmp") or p.name.startswith("step-"), p

    assert kills >= 4 and in_write >= 1, (kills, in_write)
    # progress was never lost: each attempt resumed from the newest complete snapshot
    assert resumed_from == sorted(resumed_from)
    assert not [p for p in ckpt_dir.iterdir() if p.name.endswith(".tmp")]  # cleaned on resume
    final = ckpt_dir / f"step-{STEPS:08d}.pt"
    assert_same_training_state(tmp_path / "reference" / "checkpoints" / final.name, final)
    rows = [json.loads(r) for r in (run_dir / "metrics.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in rows if r["kind"] == "train"]
    assert train_steps == list(range(2, STEPS + 1, 2))  # no duplicated or missing log rows
    assert os.path.exists(run_dir / "config.toml")
