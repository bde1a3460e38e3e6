"""Shared pieces of the fault-injection suite: a small toy run and a patched CLI launcher."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from ganx.core.checkpoint import load_checkpoint

TOY_ARGS = ["--plugin", "toy", "--device", "cpu", "--precision", "fp32", "--batch-size", "16",
            "--set", "n_points=512", "--set", "hidden=16", "--set", "depth=2",
            "--set", "log_every=2", "--set", "sample_every=1000", "--set", "eval_every=-1",
            "--no-progress"]


def ganx_with_patch(patch: str, *args: str, timeout: float = 300,
                    env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ganx CLI in a fresh interpreter after executing `patch` (Python source that
    injects a fault, e.g. a failing fsync)."""
    source = textwrap.dedent(patch) + textwrap.dedent("""
        import sys
        from ganx.cli.main import main
        main(sys.argv[1:])
    """)
    return subprocess.run([sys.executable, "-c", source, *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def assert_same_training_state(a_path: Path, b_path: Path) -> None:
    """Two snapshots hold bit-identical networks, optimizers and step."""
    a, b = load_checkpoint(a_path), load_checkpoint(b_path)
    assert a["step"] == b["step"]
    for key in ("G", "D", "G_ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs"
    for key in ("opt_g", "opt_d"):
        for idx, state in a[key]["state"].items():
            for name, value in state.items():
                assert torch.equal(value, b[key]["state"][idx][name]), f"{key}.{idx}.{name}"
    assert a["data"] == b["data"] and a["noise"].equal(b["noise"])
