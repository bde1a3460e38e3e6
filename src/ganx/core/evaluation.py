"""What a metric may know about the evaluation it runs in, beyond (generated, real, config).

The engine sets the context around every metric call (training's eval points, `ganx evaluate`,
`ganx.evaluate`); a metric that needs more than its samples reads it with
`current_evaluation()`: the run's `--data` (to compare with the whole training set, as the
memorisation report does), where to put files it makes (pictures the run report shows), the
step, and whether a user asked for it (`ganx evaluate`) or the training loop did. Outside an
evaluation it is None. No torch here.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class EvaluationContext:
    data: str
    """The run's training data, as its config records it (`TrainConfig.data`)."""
    out_dir: Path | None
    """Where files this evaluation makes go (RUN/evaluation), or None: make none."""
    step: int
    """The training step of the generator being evaluated."""
    kind: Literal["train", "evaluate"]
    """`train` at the training loop's eval points, `evaluate` for `ganx evaluate`."""


_CURRENT: contextvars.ContextVar[EvaluationContext | None] = contextvars.ContextVar(
    "ganx_evaluation", default=None)


def current_evaluation() -> EvaluationContext | None:
    """The evaluation a metric is running in, or None outside one."""
    return _CURRENT.get()


@contextlib.contextmanager
def evaluating(context: EvaluationContext | None) -> Iterator[None]:
    token = _CURRENT.set(context)
    try:
        yield
    finally:
        _CURRENT.reset(token)
