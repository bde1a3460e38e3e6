"""The library entry points behind `ganx.train`, `ganx.load` and `ganx.evaluate`.

The CLI calls these same functions, so the command line and the library behave alike. How a
run's settings are resolved is `planning`'s job.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core import rundir
from .core.callbacks import NamedCallback
from .core.calls import call_domain
from .core.config import DomainConfig, TrainConfig, apply_settings, stored_domain_config
from .core.domain import Domain
from .core.errors import ConfigError, RunError
from .core.fitted import with_stored_fitted
from .planning import RunPlan, plan_run
from .plugins.host import PluginHost, get_host

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .core.bench import BenchRow
    from .core.sampling import Reference
    from .core.trainer import RunResult

log = logging.getLogger("ganx")


def _world() -> Any:
    """torchrun's view of this process (a single process when not under torchrun)."""
    from .core.distributed import world_from_env

    return world_from_env()


def _loss(host: PluginHost, name: str) -> Any:
    loss = host.losses.get(name)
    return loss() if isinstance(loss, type) else loss


def run_plan(plan: RunPlan, *, host: PluginHost | None = None,
             show_progress: bool | None = None) -> RunResult:
    """Train according to `plan`: lock the run dir, write config.toml, fit."""
    from .core.trainer import Trainer

    host = host or get_host()
    loss = _loss(host, plan.train.loss)
    metrics = {}
    if plan.train.eval_every >= 0:
        names = call_domain(plan.domain, "default_metrics", plan.domain_config)
        metrics = {name: host.metrics.get(name) for name in names}
    callbacks = run_callbacks(host)
    world = _world()
    rundir.tighten_umask()
    with rundir.locked(plan.run_dir) if world.writes else contextlib.nullcontext():
        if world.writes:
            if plan.resume is None:
                rundir.refuse_overwrite(plan.run_dir)
            tmp = plan.run_dir / ".config.toml.tmp"
            tmp.write_text(plan.to_toml(), encoding="utf-8")
            tmp.replace(plan.run_dir / "config.toml")
        trainer = Trainer(plan.domain, plan.domain_config, plan.train, run_dir=plan.run_dir,
                          loss=loss, metrics=metrics, resume=plan.resume, versions=plan.versions,
                          plugin=plan.plugin, show_progress=show_progress, callbacks=callbacks)
        return trainer.fit()


def run_callbacks(host: PluginHost) -> list[NamedCallback]:
    """A fresh instance of every registered run callback."""
    made = []
    for name in host.callbacks.names():
        factory = host.callbacks.get(name)
        owner = host.callbacks.owner(name)
        try:
            callback = factory()
        except Exception as exc:
            raise RunError(f"{owner}: callback '{name}' failed to start: {type(exc).__name__}:"
                           f" {exc}") from exc
        made.append(NamedCallback(name, owner, callback))
    return made


def train(
    plugin: str | None = None,
    *,
    config: str | Path | None = None,
    resume: bool = False,
    settings: Mapping[str, Any] | None = None,
    host: PluginHost | None = None,
    show_progress: bool = False,
    **options: Any,
) -> RunResult:
    """Train a GAN for `plugin` and return a `RunResult` (run dir, step, snapshot, metrics).

    Engine fields go in as keywords (`ganx.train("toy", steps=500, batch_size=128)`); domain
    fields go in `settings` (`settings={"mixture": "ring"}`), as does anything `--set` takes.
    """
    plan = plan_run(plugin, config_file=config, settings=settings, options=options,
                    resume=resume, host=host)
    return run_plan(plan, host=host, show_progress=show_progress)


def bench(
    plugin: str,
    *,
    settings: Mapping[str, Any] | None = None,
    steps: int = 20,
    warmup: int = 5,
    rounds: int = 3,
    precisions: tuple[str, ...] = ("fp32", "bf16", "fp16"),
    formats: tuple[str, ...] = ("contiguous", "channels_last"),
    host: PluginHost | None = None,
    report: Any = None,
    **options: Any,
) -> list[BenchRow]:
    """Time the domain's default training step in ganx and in a textbook loop of the same
    networks, batch and device (see `ganx.core.bench`). Precisions the device lacks are skipped."""
    import tempfile

    from .core.bench import run_bench

    host = host or get_host()
    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_run(plugin, settings=settings, options={**options, "run_dir": tmp},
                        host=host)
        return run_bench(plan.domain, plan.domain_config, plan.train, _loss(host, plan.train.loss),
                         steps=steps, warmup=warmup, rounds=rounds, precisions=precisions,
                         formats=formats, report=report or (lambda line: None))


@dataclass
class TrainedGenerator:
    """A generator loaded from a snapshot (its EMA weights unless loaded with weights="raw"),
    ready to sample."""

    domain: Domain[Any]
    config: DomainConfig
    train_config: TrainConfig
    generator: nn.Module
    device: torch.device
    step: int
    path: Path
    weights: str = "ema"
    """`ema` (the moving average of the generator's weights) or `raw` (the trained generator's)."""

    def generate(self, n: int, *, seed: int = 0, batch_size: int | None = None,
                 reference: Reference | None = None) -> torch.Tensor:
        """`n` samples as a CPU float tensor; the same seed gives the same samples. Restoration
        domains take their inputs from `reference` (real samples, conditions)."""
        from .core.sampling import generate

        return generate(self.domain, self.config, self.generator, n, device=self.device,
                        seed=seed, batch_size=batch_size or self.train_config.batch_size,
                        reference=reference)

    def restore(self, source: str | Path, out_dir: str | Path) -> list[Path]:
        """Restore the user's own files (a file or a folder) with a restoration run."""
        paths: list[Path] = call_domain(self.domain, "restore_files", self.config,
                                        self.generator, Path(source), Path(out_dir), self.device)
        return paths

    def write_samples(self, out_dir: str | Path, n: int, *, seed: int = 0,
                      tag: str = "sample") -> list[Path]:
        """Generate `n` samples and write them with the domain's sample writer."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths: list[Path] = call_domain(self.domain, "write_samples", self.config,
                                        self.generate(n, seed=seed), out, tag)
        return paths


def _snapshot_path(path: Path) -> Path:
    from .core.checkpoint import list_snapshots

    if path.is_dir():
        found = list_snapshots(path / "checkpoints") or list_snapshots(path)
        if not found:
            raise ConfigError(f"{path} holds no snapshots (looked in {path / 'checkpoints'})")
        return found[0][1]
    if not path.exists():
        raise ConfigError(f"{path} does not exist; give a run directory or a .pt snapshot")
    return path


def load(path: str | Path, *, device: str = "cpu", settings: Mapping[str, Any] | None = None,
         host: PluginHost | None = None, weights: str = "ema") -> TrainedGenerator:
    """Load the generator of a run directory's newest snapshot or of a snapshot file: its EMA
    weights, or with `weights="raw"` the trained generator's own (to see what the EMA adds).
    Nothing in the file is executed (weights-only loading). `settings` change domain fields that
    only affect sampling (e.g. `{"label": 3}` for a class-conditional image run)."""
    from .core.checkpoint import load_checkpoint
    from .core.device import resolve_device
    from .core.errors import CheckpointError
    from .core.metric_protocol import GENERATOR_WEIGHTS

    if weights not in GENERATOR_WEIGHTS:
        raise ConfigError(f"weights {weights!r}: use ema (the generator's moving average) or raw")
    host = host or get_host()
    snap = _snapshot_path(Path(path))
    payload = load_checkpoint(snap)
    stored = payload["config"]
    if stored.get("plugin", payload["domain"]) != payload["domain"]:
        raise CheckpointError(f"{snap} is inconsistent: it holds domain '{payload['domain']}'"
                              f" but its config is for '{stored.get('plugin')}'")
    domain = host.domain(payload["domain"])
    train_cfg = apply_settings(TrainConfig(), stored["train"], f"{snap} [train]")
    dcfg = stored_domain_config(domain.Config, stored["domain"], f"{snap} [domain]")
    dcfg = with_stored_fitted(domain, dcfg, stored, str(snap))
    dcfg = apply_settings(dcfg, settings or {}, "--set")
    dev = resolve_device(device)
    from .core.sampling import call_domain

    G = call_domain(domain, "build_generator", dcfg)
    try:
        G.load_state_dict(payload["G_ema" if weights == "ema" else "G"])
    except RuntimeError as exc:
        raise CheckpointError(f"{snap} does not fit domain '{domain.name}' networks:"
                              f" {str(exc).splitlines()[0][:200]}") from None
    G = G.to(dev).eval().requires_grad_(False)
    return TrainedGenerator(domain, dcfg, train_cfg, G, dev, int(payload["step"]), snap, weights)


def evaluate(path: str | Path, *, n: int | None = None, device: str = "cpu",
             reference: str = "train", host: PluginHost | None = None) -> dict[str, float]:
    """Score a trained generator with its domain's default metrics (and the extra ones it names
    for `ganx evaluate`) against `reference` (`train`, `test` or a PATH); the values only. See
    `ganx.evaluation` for their protocol and several seeds."""
    from .measuring import evaluation

    return evaluation(path, n=n, device=device, reference=reference, host=host).values
