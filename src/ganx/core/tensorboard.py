"""TensorBoard event files for a run, as a run callback (registered by the built-in `engine`
plugin): every scalar written to metrics.jsonl also goes to RUN/tensorboard/ as `kind/name`.
Nothing happens when the optional `tensorboard` package is not installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .callbacks import Callback, RunInfo


class TensorBoardCallback(Callback):
    def __init__(self) -> None:
        self.writer: Any = None

    def on_run_start(self, run: RunInfo, step: int) -> None:
        if not run.writes:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is an optional extra
            return
        self.writer = SummaryWriter(log_dir=str(Path(run.run_dir) / "tensorboard"))

    def on_record(self, run: RunInfo, step: int, kind: str, values: dict[str, float]) -> None:
        if self.writer is None:
            return
        for key, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.writer.add_scalar(f"{kind}/{key}", value, step)

    def on_run_end(self, run: RunInfo, step: int, error: BaseException | None) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
