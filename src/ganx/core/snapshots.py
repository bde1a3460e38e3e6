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
    lecam: torch.Tensor | None = None
    """LeCam's moving averages of D's outputs (real, generated), when LeCam is on."""
    pl_mean: torch.Tensor | None = None
    """The path-length regulariser's running mean length, when it is on."""


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
            **({"lecam": state.lecam.clone()} if state.lecam is not None else {}),
            **({"pl_mean": state.pl_mean.clone()} if state.pl_mean is not None else {}),
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
    # a running mean the snapshot lacks (older, or the regulariser newly on) starts afresh
    for name in ("lecam", "pl_mean"):
        kept = getattr(state, name)
        if kept is not None and name in payload:
            kept.copy_(payload[name])


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


def initialise_run(source: Path, domain_name: str, nets: Networks) -> None:
    """Fine-tuning (`init`): G, D and G_ema from another run (fresh optimizers, step 0)."""
    path = snapshot_of(source, "init")
    payload = ckpt.load_checkpoint(path)
    if payload["domain"] != domain_name:
        raise ConfigError(f"init {path}: a snapshot of domain '{payload['domain']}', not"
                          f" '{domain_name}'")
    initialise_from(payload, path, nets)
    log.info("initialised G, D and G_ema from %s (step %d of that run)", path,
             int(payload["step"]))


def initialise_from(payload: dict[str, Any], path: Path, nets: Networks) -> None:
    """Fine-tuning (`init`): G, D and G_ema from another run's snapshot, checked to have the same
    parameters and shapes. A name that differs only by an augmentation wrapper's prefix
    (`discriminator.`) matches, and buffers the snapshot lacks (augmentation state) keep their
    fresh values."""
    for name, net, stored in (("generator", nets.G, payload["G"]),
                              ("discriminator", nets.D, payload["D"]),
                              ("generator", nets.G_ema, payload["G_ema"])):
        state = _aligned(net, stored, name, path)
        net.load_state_dict(state, strict=False)


def _aligned(net: torch.nn.Module, stored: dict[str, torch.Tensor], what: str,
             path: Path) -> dict[str, torch.Tensor]:
    wrapper = "discriminator."
    parameters = {n for n, _ in net.named_parameters()}
    out: dict[str, torch.Tensor] = {}
    for key, value in net.state_dict().items():
        candidates = (key, key.removeprefix(wrapper), wrapper + key)
        found = next((stored[c] for c in candidates if c in stored), None)
        if found is None:
            if key in parameters:
                raise ConfigError(f"init {path}: its {what} has no parameter {key!r}; --init"
                                  " needs a run of the same architecture (same arch, width,"
                                  " resolution, ...)")
            continue
        if found.shape != value.shape:
            raise ConfigError(
                f"init {path}: {what} parameter {key!r} is {tuple(found.shape)} there and"
                f" {tuple(value.shape)} here; --init needs the same architecture settings")
        out[key] = found
    return out


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


def snapshot_of(path: Path, where: str) -> Path:
    """The snapshot a path names: a file itself, or a run directory's newest snapshot."""
    if path.is_dir():
        found = ckpt.list_snapshots(path / "checkpoints") or ckpt.list_snapshots(path)
        if not found:
            raise ConfigError(f"{where} {path}: holds no snapshots (looked in"
                              f" {path / 'checkpoints'})")
        return found[0][1]
    if not path.exists():
        raise ConfigError(f"{where} {path}: does not exist; give a run directory or a .pt"
                          " snapshot")
    return path


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
