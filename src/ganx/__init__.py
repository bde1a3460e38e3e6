"""ganx: one adversarial-training engine for GANs in any domain, extended through plugins.

    import ganx
    run = ganx.train("toy", steps=2000)
    model = ganx.load(run.run_dir)
    samples = model.generate(64, seed=0)

Attributes that need torch load on first use, so `import ganx` (and `ganx --help`) stay fast.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from ganx.core.callbacks import Callback, RunInfo
from ganx.core.config import DomainConfig, TrainConfig
from ganx.core.domain import DiscriminatorOutput, Domain
from ganx.core.errors import CheckpointError, ConfigError, GanxError, RunError
from ganx.core.protocols import AdversarialLoss, Metric
from ganx.plugins.hookspecs import hookimpl

try:
    __version__ = version("ganx")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

if TYPE_CHECKING:
    from ganx.api import TrainedGenerator, evaluate, load, train
    from ganx.core.metric_protocol import MetricProtocol
    from ganx.core.trainer import RunResult, Trainer
    from ganx.measuring import RunEvaluation, evaluation

_LAZY = {
    "train": "ganx.api",
    "load": "ganx.api",
    "evaluate": "ganx.api",
    "evaluation": "ganx.measuring",
    "RunEvaluation": "ganx.measuring",
    "MetricProtocol": "ganx.core.metric_protocol",
    "TrainedGenerator": "ganx.api",
    "Trainer": "ganx.core.trainer",
    "RunResult": "ganx.core.trainer",
}

__all__ = [
    "AdversarialLoss",
    "Callback",
    "CheckpointError",
    "ConfigError",
    "DiscriminatorOutput",
    "Domain",
    "DomainConfig",
    "GanxError",
    "Metric",
    "MetricProtocol",
    "RunError",
    "RunEvaluation",
    "RunInfo",
    "RunResult",
    "TrainConfig",
    "TrainedGenerator",
    "Trainer",
    "__version__",
    "evaluate",
    "evaluation",
    "hookimpl",
    "load",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ganx' has no attribute {name!r}")
