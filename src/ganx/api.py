"""The library entry points behind `ganx.train`, `ganx.load` and `ganx.evaluate`.

The CLI calls these same functions, so the command line and the library behave alike. Settings
are layered: engine defaults < the domain's `train_defaults` < a config file < `settings`
(`--set`) < explicit options (CLI flags). On `resume`, the run's stored config replaces the
first two layers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import logging
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .core import rundir
from .core.config import (
    DomainConfig,
    TrainConfig,
    apply_settings,
    dump_toml,
    read_config_file,
    split_set_options,
    stored_domain_config,
    to_plain,
)
from .core.domain import Domain
from .core.errors import ConfigError
from .core.validate import check_train_config
from .plugins.host import PluginHost, get_host

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .core.bench import BenchRow
    from .core.sampling import Reference
    from .core.trainer import RunResult

log = logging.getLogger("ganx")


@dataclass
class RunPlan:
    """A fully resolved run, before anything is built."""

    plugin: str
    domain: Domain
    train: TrainConfig
    domain_config: DomainConfig
    run_dir: Path
    resume: tuple[Path, dict[str, Any]] | None
    versions: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "train": to_plain(self.train),
                "domain": to_plain(self.domain_config), "versions": self.versions}

    def to_toml(self) -> str:
        return dump_toml(self.as_dict())


def _versions(host: PluginHost, plugin: str) -> dict[str, str]:
    """What a run was made with, for config.toml, snapshots and the report. Read from package
    metadata: planning a run (and --dry-run) must not import torch."""
    info = host.domain_plugin(plugin)
    versions = {"ganx": __version__}
    if info is not None:
        versions["plugin"] = f"{info.distribution} {info.version}".strip()
    versions["python"] = platform.python_version()
    for package in ("torch", "torchaudio", "transformers"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    versions["platform"] = platform.platform(terse=True)
    return versions


def plan_run(
    plugin: str | None = None,
    *,
    config_file: str | Path | None = None,
    settings: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    resume: bool = False,
    host: PluginHost | None = None,
) -> RunPlan:
    """Resolve the plugin, the engine and domain configs and the run directory.

    `settings` are `--set` pairs (bare, `train.` or `domain.` keys; strings or typed values);
    `options` are engine fields given as explicit options (`steps`, `batch_size`, ...).
    """
    host = host or get_host()
    file = read_config_file(config_file) if config_file is not None else {}
    file_plugin = file.get("plugin")
    if plugin and file_plugin and plugin != file_plugin:
        raise ConfigError(f"--plugin {plugin} conflicts with plugin = {file_plugin!r} in"
                          f" {config_file}")
    plugin = plugin or file_plugin
    if not plugin:
        known = ", ".join(host.domains.names()) or "none installed"
        raise ConfigError(f"no plugin given; use --plugin NAME (installed: {known})")
    domain = host.domain(plugin)
    train_set, domain_set = split_set_options(settings or {}, TrainConfig, domain.Config)
    options = {k: v for k, v in (options or {}).items() if v is not None}

    run_dir_value = options.get("run_dir") or train_set.get("run_dir")
    if not run_dir_value and file.get("train", {}).get("run_dir"):
        run_dir_value = rundir.confined(Path(str(file["train"]["run_dir"])), Path.cwd(),
                                        f"{config_file} [train]")
    if run_dir_value:
        run_dir = Path(run_dir_value)
    elif resume:
        run_dir = rundir.latest_run_dir(plugin) or rundir.new_run_dir(plugin)
    else:
        run_dir = rundir.new_run_dir(plugin)
    world = _world()
    if world.distributed:  # names from the clock differ between processes: rank 0's wins
        from .core.distributed import broadcast

        run_dir = broadcast(run_dir, world)

    found = None
    if resume:
        from .core.trainer import find_resume_snapshot

        found = find_resume_snapshot(run_dir, domain.name)
    where = str(config_file)
    if found is not None:
        stored = found[1]["config"]
        train = apply_settings(TrainConfig(), stored["train"], f"{found[0]} [train]")
        dcfg = stored_domain_config(domain.Config, stored["domain"], f"{found[0]} [domain]")
    else:
        dcfg = domain.Config()
    dcfg = apply_settings(dcfg, file.get("domain", {}), f"{where} [domain]")
    dcfg = apply_settings(dcfg, domain_set, "--set")
    if found is None:  # the domain's engine defaults may depend on its settings
        train = apply_settings(TrainConfig(), domain.train_defaults_for(dcfg),
                               f"plugin '{plugin}' train_defaults")
    train = apply_settings(train, file.get("train", {}), f"{where} [train]")
    train = apply_settings(train, train_set, "--set")
    train = apply_settings(train, options, "option")
    check_train_config(train)
    run_dir = run_dir.absolute()  # evaluate and --resume work from any folder
    train = dataclasses.replace(train, run_dir=str(run_dir),
                                data=absolute_data_path(train.data, domain))
    if found is None:
        dcfg = domain.resolve_config(dcfg, train.data)
    return RunPlan(plugin, domain, train, dcfg, run_dir, found, _versions(host, plugin))


def absolute_data_path(data: str, domain: Domain) -> str:
    """`--data` as recorded in the run: an existing relative path made absolute (so the run can
    be evaluated and resumed from another folder); a dataset name the domain knows, or a value
    that is not a path on disk, as typed."""
    if not data or data in {name for name, *_ in domain.datasets()}:
        return data
    path = Path(data).expanduser()
    return str(path.absolute()) if path.exists() else data


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
        names = plan.domain.default_metrics(plan.domain_config)
        metrics = {name: host.metrics.get(name) for name in names}
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
                          plugin=plan.plugin, show_progress=show_progress)
        return trainer.fit()


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
    """A generator loaded from a snapshot (its EMA weights), ready to sample."""

    domain: Domain
    config: DomainConfig
    train_config: TrainConfig
    generator: nn.Module
    device: torch.device
    step: int
    path: Path

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
        from .core.sampling import call_domain

        return call_domain(self.domain, "restore_files", self.config, self.generator,
                           Path(source), Path(out_dir), self.device)

    def write_samples(self, out_dir: str | Path, n: int, *, seed: int = 0,
                      tag: str = "sample") -> list[Path]:
        """Generate `n` samples and write them with the domain's sample writer."""
        from .core.sampling import call_domain

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        return call_domain(self.domain, "write_samples", self.config, self.generate(n, seed=seed),
                           out, tag)


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
         host: PluginHost | None = None) -> TrainedGenerator:
    """Load the generator (EMA weights) of a run directory's newest snapshot or of a snapshot
    file. Nothing in the file is executed (weights-only loading). `settings` change domain
    fields that only affect sampling (e.g. `{"label": 3}` for a class-conditional image run)."""
    from .core.checkpoint import load_checkpoint
    from .core.device import resolve_device
    from .core.errors import CheckpointError

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
    dcfg = apply_settings(dcfg, settings or {}, "--set")
    dev = resolve_device(device)
    from .core.sampling import call_domain

    G = call_domain(domain, "build_generator", dcfg)
    try:
        G.load_state_dict(payload["G_ema"])
    except RuntimeError as exc:
        raise CheckpointError(f"{snap} does not fit domain '{domain.name}' networks:"
                              f" {str(exc).splitlines()[0][:200]}") from None
    G = G.to(dev).eval().requires_grad_(False)
    return TrainedGenerator(domain, dcfg, train_cfg, G, dev, int(payload["step"]), snap)


def evaluate(path: str | Path, *, n: int | None = None, device: str = "cpu",
             host: PluginHost | None = None) -> dict[str, float]:
    """Score a trained generator with its domain's default metrics against its training data."""
    from .core.sampling import call_domain, has_model_metrics, model_scores, reference_set, score

    host = host or get_host()
    model = load(path, device=device, host=host)
    names = list(model.domain.default_metrics(model.config))
    if not names and not has_model_metrics(model.domain):
        raise ConfigError(f"domain '{model.domain.name}' declares no metrics to evaluate")
    metrics = {name: host.metrics.get(name) for name in names}
    tc = model.train_config
    dataset = call_domain(model.domain, "build_dataset", model.config, tc.data)
    ref = reference_set(model.domain, model.config, dataset, n or tc.eval_samples,
                        device=model.device, seed=tc.seed, batch_size=tc.batch_size)
    results: dict[str, float] = {}
    if metrics:
        fake = model.generate(len(ref[0]), seed=tc.seed + 3, reference=ref)
        results = score(metrics, fake, ref[0], model.config)
    results.update(model_scores(model.domain, model.config, model.generator, ref, model.device))
    run_dir = model.path.parent.parent
    if model.path.parent.name == "checkpoints" and (run_dir / "metrics.jsonl").exists():
        from .core.runlog import append_record

        append_record(run_dir / "metrics.jsonl", model.step, "evaluate", results)
    return results
