"""SIGINT/SIGTERM during training: finish the step, write a snapshot, exit 130/143.

A second Ctrl-C stops at once. Under torchrun the ranks agree at log points only (a per-step
agreement would be a per-step host sync), so they stop together.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import torch

from . import distributed
from .distributed import World


class StopSignals:
    """Catches SIGINT and SIGTERM while installed (main thread only) and remembers the first."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C stops at once
        self.signum = signum

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._previous = {s: signal.signal(s, self._on_signal)
                          for s in (signal.SIGINT, signal.SIGTERM)}

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def stop_requested(self, step: int, log_every: int, device: torch.device) -> bool:
        """Whether a signal asked the run to stop (agreed over ranks under torchrun)."""
        if not self.world.distributed:
            return self.signum is not None
        if step % log_every:
            return False
        return distributed.any_rank(self.signum is not None, device, self.world)
