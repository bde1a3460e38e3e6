"""Run callbacks: observers of every run of every domain (log, track, stop).

A plugin registers callbacks through the `ganx_register_callbacks` hook; the engine calls each
one at the start and end of a run, at every record it writes to metrics.jsonl (losses, metric
evaluations, roll-backs) and after every snapshot. A callback may ask the run to stop early with
`run.request_stop(reason)`: the engine writes a snapshot and returns normally.

A callback that raises is reported once (naming its plugin, the callback and the method) and
left out for the rest of the run: an observer's bug never costs the run its work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("ganx")


@dataclass
class RunInfo:
    """What a callback knows about the run it observes."""

    plugin: str
    """The `--plugin` value (the domain's name)."""
    run_dir: Path
    train_config: Any
    """The run's `TrainConfig`."""
    domain_config: Any
    """The run's domain config (an instance of the domain's `Config`)."""
    device: str = "cpu"
    precision: str = "fp32"
    writes: bool = True
    """Whether this process writes files (rank 0 under torchrun)."""
    stop_reason: str | None = field(default=None, init=False)

    def request_stop(self, reason: str) -> None:
        """Ask the run to stop after the current step, with a snapshot."""
        if self.stop_reason is None:
            self.stop_reason = reason


class Callback:
    """Base class of run callbacks: override any subset of the methods."""

    def on_run_start(self, run: RunInfo, step: int) -> None:
        """The networks are built (and restored on resume); `step` is where training starts."""

    def on_record(self, run: RunInfo, step: int, kind: str, values: dict[str, float]) -> None:
        """A row written to metrics.jsonl: `kind` is train, pretrain, eval or event."""

    def on_snapshot(self, run: RunInfo, step: int, path: Path) -> None:
        """A snapshot was written to `path`."""

    def on_run_end(self, run: RunInfo, step: int, error: BaseException | None) -> None:
        """The run ended, normally (`error` None) or by an exception (a signal included)."""


@dataclass
class NamedCallback:
    """A callback with the names that identify it in messages."""

    name: str
    owner: str
    """Who registered it, e.g. "plugin 'ganx-wandb'"."""
    callback: Callback


class CallbackList:
    """Calls every callback in turn; a failing one is reported and dropped."""

    def __init__(self, callbacks: list[NamedCallback], run: RunInfo) -> None:
        self.callbacks = list(callbacks)
        self.run = run

    def _each(self, method: str, *args: Any) -> None:
        for entry in list(self.callbacks):
            try:
                getattr(entry.callback, method)(self.run, *args)
            except Exception as exc:
                self.callbacks.remove(entry)
                log.warning("%s: callback '%s' failed in %s during a run of domain '%s' (%s: %s);"
                            " left out for the rest of this run", entry.owner, entry.name,
                            method, self.run.plugin, type(exc).__name__, exc)

    def run_start(self, step: int) -> None:
        self._each("on_run_start", step)

    def record(self, step: int, kind: str, values: dict[str, float]) -> None:
        self._each("on_record", step, kind, dict(values))

    def snapshot(self, step: int, path: Path) -> None:
        self._each("on_snapshot", step, path)

    def run_end(self, step: int, error: BaseException | None) -> None:
        self._each("on_run_end", step, error)
