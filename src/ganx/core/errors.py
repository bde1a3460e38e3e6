"""Errors a user can act on. Each carries the process exit code the CLI returns for it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GanxError(Exception):
    """Base class: a failure explained in one line, shown to the user without a traceback."""

    exit_code = 1


class ConfigError(GanxError):
    """Usage or configuration error: unknown plugin, bad key, bad value, bad file (exit 2)."""

    exit_code = 2


class RunError(GanxError):
    """The run itself failed: data missing, training diverged beyond recovery (exit 1)."""

    exit_code = 1


class CheckpointError(GanxError):
    """A checkpoint file that cannot be used: truncated, corrupt, foreign or hostile (exit 2)."""

    exit_code = 2


class TrainingInterrupted(GanxError):
    """SIGINT/SIGTERM arrived; a snapshot was written first (exit 130 or 143)."""

    def __init__(self, signum: int, checkpoint: str) -> None:
        super().__init__(f"interrupted by signal {signum}; snapshot saved to {checkpoint}")
        self.exit_code = 128 + signum
        self.checkpoint = checkpoint


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the nearest valid choice, else a list of what is valid."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    if close:
        return f"; did you mean '{close[0]}'?"
    if not choices:
        return ""
    shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return f"; valid: {shown}"
