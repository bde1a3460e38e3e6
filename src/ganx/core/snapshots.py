"""A run's snapshots: what goes into one, restoring from one, keeping the newest few, rolling back.

A snapshot holds everything the next step depends on (networks, optimizers, grad scalers, every
random generator, the data position, the learning-rate scale), so a run resumed from it on the
CPU continues bit for bit. Writing is atomic and rank 0's job (see `checkpoint`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import checkpoint as ckpt
from . import distributed, rng
from .data import DataSource
from .distributed import World
from .errors import CheckpointError, ConfigError, RunError
from .networks import Networks
from .precision import PrecisionPolicy

log = logging.getLogger("ganx")


@dataclass
class TrainingState:
    """The counters and the training-noise generator: the run's position besides its weights."""

    noise: torch.Generator
    step: int = 0
    d_step: int = 0
    lr_scale: float = 1.0


@dataclass
class Snapshots:
    """Writes, restores and prunes the snapshots of one run in `directory`."""

    directory: Path
    keep: int
    world: World
    last: Path | None = None
    """The newest snapshot this process wrote or resumed from: the roll-back target."""

    def payload(self, nets: Networks, state: TrainingState, policy: PrecisionPolicy,
                source: DataSource, header: dict[str, Any]) -> dict[str, Any]:
        """Everything a snapshot holds; `header` adds the domain, resolved config and versions."""
        return {
            "format": ckpt.FORMAT,
            "format_version": ckpt.FORMAT_VERSION,
            **header,
            "step": state.step,
            "d_step": state.d_step,
            "G": nets.G.state_dict(),
            "D": nets.D.state_dict(),
            "G_ema": nets.G_ema.state_dict(),
            "opt_g": nets.opt_g.state_dict(),
            "opt_d": nets.opt_d.state_dict(),
            "opt_pre": nets.opt_pre.state_dict() if nets.opt_pre is not None else {},
            "scalers": policy.state_dict(),
            "rng": rng.capture(policy.device),
            "noise": state.noise.get_state(),
            "data": source.state_dict(),
            "lr_scale": state.lr_scale,
        }

    def write(self, payload: dict[str, Any], step: int) -> Path:
        """Write a snapshot (rank 0 only; every rank holds the same state) and prune old ones."""
        path = self.directory / ckpt.snapshot_name(step)
        if self.world.writes:
            ckpt.save_atomic(payload, path)
            ckpt.prune(self.directory, self.keep)
        distributed.barrier(self.world)  # the file exists before any rank may roll back to it
        self.last = path
        return path


def restore(payload: dict[str, Any], path: Path, nets: Networks, state: TrainingState,
            policy: PrecisionPolicy, source: DataSource) -> None:
    """Put a snapshot's contents back into the run's objects."""
    _load_weights(payload, path, nets)
    policy.load_state_dict(payload["scalers"])
    rng.restore(payload["rng"], policy.device)
    state.noise.set_state(payload["noise"])
    source.load_state_dict(payload["data"])
    state.step, state.d_step = int(payload["step"]), int(payload["d_step"])
    state.lr_scale = float(payload["lr_scale"])


def _load_weights(payload: dict[str, Any], path: Path, nets: Networks) -> None:
    try:
        nets.G.load_state_dict(payload["G"])
        nets.D.load_state_dict(payload["D"])
        nets.G_ema.load_state_dict(payload["G_ema"])
        nets.opt_g.load_state_dict(payload["opt_g"])
        nets.opt_d.load_state_dict(payload["opt_d"])
        if nets.opt_pre is not None and payload.get("opt_pre"):
            nets.opt_pre.load_state_dict(payload["opt_pre"])
    except (RuntimeError, KeyError, ValueError) as exc:
        raise CheckpointError(
            f"{path} does not fit this run's networks (was the domain config changed?):"
            f" {str(exc).splitlines()[0][:200]}"
        ) from None


def rollback_target(snapshots: Snapshots, rollbacks: int, max_rollbacks: int, reason: str,
                    bad_step: int) -> Path:
    """The snapshot to return to after a health failure, or a RunError when the run should
    stop: too many roll-backs in a row, or nothing to return to."""
    last = snapshots.last
    if rollbacks > max_rollbacks or last is None:
        raise RunError(
            f"training diverged: {reason} at step {bad_step}, still after"
            f" {rollbacks - 1} roll-back(s); last good snapshot: {last}"
        )
    return last


def find_resume_snapshot(run_dir: Path, domain_name: str) -> tuple[Path, dict[str, Any]] | None:
    """The newest loadable snapshot in `run_dir` for `domain_name`, skipping corrupt files with a
    warning. None when the run has no snapshots; RunError when it has some but none is usable."""
    directory = Path(run_dir) / "checkpoints"
    tried: list[str] = []
    for path, result in ckpt.iter_loadable(directory):
        if isinstance(result, CheckpointError):
            log.warning("skipping unusable snapshot: %s", result)
            tried.append(path.name)
            continue
        if result["domain"] != domain_name:
            raise ConfigError(
                f"run dir {run_dir} holds checkpoints of domain '{result['domain']}', not"
                f" '{domain_name}'; choose another --run-dir"
            )
        return path, result
    if tried:
        raise RunError(f"no usable snapshot in {directory} (tried {', '.join(tried)})")
    return None
