"""`ganx train --profile N`: a PyTorch Profiler trace of N training steps, phases labelled.

The trace is written for TensorBoard's profiler plugin and as one Chrome-trace JSON file that
Perfetto (ui.perfetto.dev) and chrome://tracing open; a short table of where step time went is
logged and saved next to it. Outside a profiled window the phase labels cost nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

log = logging.getLogger("ganx")

PHASES = ("ganx/data", "ganx/D step", "ganx/D reg", "ganx/G step", "ganx/pretrain step",
          "ganx/EMA")


class StepProfiler:
    """Profiles steps [first, first + n) of a run; `label` marks phases inside a step."""

    def __init__(self, n: int, first: int, out_dir: Path, device: torch.device) -> None:
        self.n, self.first, self.out_dir, self.device = n, first, out_dir, device
        self._prof: profile | None = None
        self.done = n <= 0

    @contextlib.contextmanager
    def label(self, name: str) -> Iterator[None]:
        if self._prof is None:
            yield
            return
        with record_function(name):
            yield

    def before_step(self, step: int) -> None:
        if self.done or self._prof is not None or step < self.first:
            return
        activities = [ProfilerActivity.CPU]
        if self.device.type == "cuda":
            activities.append(ProfilerActivity.CUDA)
        else:  # kineto otherwise logs an ERROR line about CUDA on every CPU-only machine
            os.environ.setdefault("KINETO_LOG_LEVEL", "5")
        self._prof = profile(activities=activities, record_shapes=False, with_stack=False)
        self._prof.__enter__()  # type: ignore[no-untyped-call]
        self._started = step

    def after_step(self, step: int) -> None:
        if self._prof is None or step - self._started < self.n:
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        prof, self._prof, self.done = self._prof, None, True
        prof.__exit__(None, None, None)  # type: ignore[no-untyped-call]
        self.out_dir.mkdir(parents=True, exist_ok=True)
        trace = self.out_dir / "ganx.pt.trace.json"  # the name TensorBoard's plugin looks for
        prof.export_chrome_trace(str(trace))
        summary = summarize(prof, step - self._started, self.device)
        (self.out_dir / "summary.txt").write_text(summary + "\n", encoding="utf-8")
        log.info("profile of steps %d-%d: %s\n%s", self._started + 1, step, trace, summary)


def summarize(prof: profile, steps: int, device: torch.device) -> str:
    """Per-step time of each labelled phase, then the operators with the most self time."""
    cuda = device.type == "cuda"
    events = prof.key_averages()
    by_name = {e.key: e for e in events}
    lines = [f"{'phase':<22}{'CPU ms/step':>14}" + (f"{'CUDA ms/step':>14}" if cuda else "")]
    for phase in PHASES:
        e = by_name.get(phase)
        if e is None:
            continue
        row = f"{phase:<22}{e.cpu_time_total / 1e3 / steps:>14.2f}"
        if cuda:
            row += f"{e.device_time_total / 1e3 / steps:>14.2f}"
        lines.append(row)
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    ops = sorted((e for e in events if not e.key.startswith("ganx/")),
                 key=lambda e: getattr(e, key), reverse=True)[:8]
    lines += ["", f"{'top operators (self time)':<40}{'ms/step':>10}{'calls/step':>12}"]
    for e in ops:
        lines.append(f"{e.key[:39]:<40}{getattr(e, key) / 1e3 / steps:>10.2f}"
                     f"{e.count / steps:>12.1f}")
    return "\n".join(lines)
