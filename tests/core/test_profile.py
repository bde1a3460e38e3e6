"""`ganx train --profile N`: a labelled PyTorch Profiler trace and a summary of step time."""

from __future__ import annotations

import json

from ..cli.test_commands import SMALL_ARGS
from ..conftest import run_ganx


def test_profile_writes_a_labelled_trace_and_a_summary(tmp_path):
    run = tmp_path / "run"
    result = run_ganx("train", *SMALL_ARGS, "--steps", "8", "--profile", "3",
                      "--run-dir", str(run))
    assert result.returncode == 0, result.stderr
    trace = json.loads((run / "profile" / "ganx.pt.trace.json").read_text())
    names = {e.get("name") for e in trace["traceEvents"]}
    assert {"ganx/D step", "ganx/G step", "ganx/EMA", "ganx/data"} <= names
    # three steps were recorded: one D and one G phase each
    assert sum(e.get("name") == "ganx/G step" for e in trace["traceEvents"]) == 3
    summary = (run / "profile" / "summary.txt").read_text()
    assert "ganx/D step" in summary and "top operators" in summary
    assert "profile of steps 2-4" in (run / "train.log").read_text()
