"""Planning a run: the plugin, both configs, the data-fitted state and the run directory, all
resolved and checked before anything is built or written (`ganx train --dry-run` prints a plan).

Settings are layered: engine defaults < the domain's `train_defaults_for` < a config file <
`settings` (`--set`) < explicit options (CLI flags). On a fresh run the domain first resolves
its config against the data (`resolve_config`) and fits its state (`fit_state`), so its engine
defaults may depend on the data. On `resume`, the run's stored configs and fitted state replace
the first two layers. No torch here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .core import rundir
from .core.calls import call_domain
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
from .core.domain import Domain, describe
from .core.errors import ConfigError, RunError
from .core.fitted import checked_state, fitted_record, with_stored_fitted
from .core.validate import check_train_config
from .plugins.host import PluginHost, get_host

Layers = list[tuple[Mapping[str, Any], str]]
"""Engine settings in the order they apply, each with where it came from (for errors)."""


@dataclass
class RunPlan:
    """A fully resolved run, before anything is built."""

    plugin: str
    domain: Domain[Any]
    train: TrainConfig
    domain_config: DomainConfig
    run_dir: Path
    resume: tuple[Path, dict[str, Any]] | None
    versions: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        plan = {"plugin": self.plugin, "train": to_plain(self.train),
                "domain": to_plain(self.domain_config), "versions": self.versions}
        if self.domain_config.fitted:
            plan["fitted"] = fitted_record(self.domain, self.domain_config)
        return plan

    def to_toml(self) -> str:
        return dump_toml(self.as_dict())


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
    where = str(config_file)
    plugin = _plugin_name(plugin, file, where, host)
    domain = host.domain(plugin)
    train_set, domain_set = split_set_options(settings or {}, TrainConfig, domain.Config)
    options = {k: v for k, v in (options or {}).items() if v is not None}
    layers: Layers = [(file.get("train", {}), f"{where} [train]"), (train_set, "--set"),
                      (options, "option")]
    run_dir = _run_dir(plugin, options, train_set, file, where, resume)
    found = None
    if resume:
        from .core.snapshots import find_resume_snapshot

        found = find_resume_snapshot(run_dir, domain.name)
    domain_layers: Layers = [(file.get("domain", {}), f"{where} [domain]"),
                             (domain_set, "--set")]
    if found is not None:
        train, dcfg = _stored_configs(domain, found, domain_layers, layers)
    else:
        train, dcfg = _fresh_configs(domain, domain_layers, layers)
    check_train_config(train)
    run_dir = run_dir.absolute()  # evaluate and --resume work from any folder
    train = dataclasses.replace(train, run_dir=str(run_dir),
                                data=absolute_data_path(train.data, domain),
                                init=_init_path(train.init, found is not None))
    return RunPlan(plugin, domain, train, dcfg, run_dir, found, _versions(host, plugin))


def _init_path(init: str, resuming: bool) -> str:
    """`init` checked to name a run directory or a snapshot, recorded absolute."""
    if not init or resuming:  # a resumed run continues from its own snapshots
        return init
    path = Path(init).expanduser()
    if not path.exists():
        raise ConfigError(f"init {init}: does not exist; give a run directory or a .pt snapshot"
                          " to fine-tune from")
    return str(path.absolute())


def _apply(config: Any, layers: Layers) -> Any:
    for values, where in layers:
        config = apply_settings(config, values, where)
    return config


def _fresh_configs(domain: Domain[Any], domain_layers: Layers,
                   layers: Layers) -> tuple[TrainConfig, DomainConfig]:
    """A new run: the domain config resolved against the data and fitted, then the engine
    config on the domain's (possibly data-dependent) defaults."""
    dcfg = _apply(domain.Config(), domain_layers)
    data = _apply(TrainConfig(), layers).data
    resolved = call_domain(domain, "resolve_config", dcfg, data)
    if not isinstance(resolved, domain.Config):
        raise RunError(f"{describe(domain)}: resolve_config returned {type(resolved).__name__},"
                       f" not a {domain.Config.__name__}")
    state = checked_state(domain, call_domain(domain, "fit_state", resolved, data))
    dcfg = dataclasses.replace(resolved, fitted=state)
    defaults = call_domain(domain, "train_defaults_for", dcfg)
    train = apply_settings(TrainConfig(), defaults, f"{describe(domain)} train_defaults")
    return _apply(train, layers), dcfg


def _stored_configs(domain: Domain[Any], found: tuple[Path, dict[str, Any]],
                    domain_layers: Layers, layers: Layers) -> tuple[TrainConfig, DomainConfig]:
    """A resumed run: the snapshot's configs and fitted state, then the user's changes."""
    path, payload = found
    stored = payload["config"]
    train = apply_settings(TrainConfig(), stored["train"], f"{path} [train]")
    dcfg = stored_domain_config(domain.Config, stored["domain"], f"{path} [domain]")
    dcfg = with_stored_fitted(domain, dcfg, stored, str(path))
    return _apply(train, layers), _apply(dcfg, domain_layers)


def _plugin_name(plugin: str | None, file: Mapping[str, Any], where: str,
                 host: PluginHost) -> str:
    file_plugin = file.get("plugin")
    if plugin and file_plugin and plugin != file_plugin:
        raise ConfigError(f"--plugin {plugin} conflicts with plugin = {file_plugin!r} in {where}")
    plugin = plugin or file_plugin
    if not plugin:
        known = ", ".join(host.domains.names()) or "none installed"
        raise ConfigError(f"no plugin given; use --plugin NAME (installed: {known})")
    return str(plugin)


def _run_dir(plugin: str, options: Mapping[str, Any], train_set: Mapping[str, Any],
             file: Mapping[str, Any], where: str, resume: bool) -> Path:
    value = options.get("run_dir") or train_set.get("run_dir")
    if not value and file.get("train", {}).get("run_dir"):
        value = rundir.confined(Path(str(file["train"]["run_dir"])), Path.cwd(),
                                f"{where} [train]")
    if value:
        run_dir = Path(value)
    elif resume:
        run_dir = rundir.latest_run_dir(plugin) or rundir.new_run_dir(plugin)
    else:
        run_dir = rundir.new_run_dir(plugin)
    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:  # under torchrun (imports torch)
        from .core.distributed import broadcast, world_from_env

        # names from the clock differ between processes: rank 0's wins
        run_dir = broadcast(run_dir, world_from_env())
    return run_dir


def absolute_data_path(data: str, domain: Domain[Any]) -> str:
    """`--data` as recorded in the run: an existing relative path made absolute (so the run can
    be evaluated and resumed from another folder); a dataset name the domain knows, or a value
    that is not a path on disk, as typed."""
    if not data or data in {name for name, *_ in call_domain(domain, "datasets")}:
        return data
    path = Path(data).expanduser()
    return str(path.absolute()) if path.exists() else data


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
