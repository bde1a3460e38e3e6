"""The plugin host: finds plugins through entry points of group `ganx`, one at a time.

A plugin that fails to import, uses a misspelled hook name, or registers a name another plugin
already took is reported in one line and left out; the rest of ganx keeps working
(`GANX_STRICT_PLUGINS=1` raises instead). Built-in plugins are entry points of ganx's own
distribution and go through exactly the same path.

Environment:
- GANX_LOAD_PLUGINS: comma-separated allow-list of third-party distributions (or entry-point
  names) to load; set but empty loads none. ganx's own built-ins always load unless disabled.
- GANX_DISABLE_PLUGINS: comma-separated distributions or entry-point names never to load.
- GANX_STRICT_PLUGINS=1: a plugin load error raises instead of warning.
- GANX_DEBUG=1 (set by `ganx --debug`): a plugin load error also prints its traceback.

No torch here: discovery must stay fast.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata as md
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from ganx.core.domain import Domain, missing_required, set_plugin
from ganx.core.errors import ConfigError, GanxError, did_you_mean
from ganx.core.registry import DuplicateNameError, Registry, reference_problem

from . import hookspecs

GROUP = "ganx"
_DOMAIN_NAME = re.compile(r"[a-z][a-z0-9_-]*")


class PluginError(GanxError):
    """A plugin failed to load under GANX_STRICT_PLUGINS=1."""


@dataclass
class PluginInfo:
    """One plugin as `ganx plugins` shows it."""

    name: str
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    callbacks: list[str] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    """Problems found at load time that do not stop the plugin from loading."""
    load_seconds: float = 0.0
    """How long importing the plugin's entry point took."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def label(self) -> str:
        """How messages name the plugin: "plugin 'x' (distribution version)"."""
        where = f"{self.distribution} {self.version}".strip()
        return f"plugin '{self.name}' ({where})"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _env_names(var: str) -> set[str] | None:
    value = os.environ.get(var)
    if value is None:
        return None
    return {_normalize(v) for v in value.split(",") if v.strip()}


class PluginHost:
    """Loads plugins and holds what they registered: domains, losses, metrics."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.domains: Registry[Domain] = Registry("domain")
        self.losses: Registry[Any] = Registry("loss")
        self.metrics: Registry[Any] = Registry("metric")
        self.callbacks: Registry[Any] = Registry("callback")
        self.strict = os.environ.get("GANX_STRICT_PLUGINS", "") not in ("", "0")
        self.tracebacks = os.environ.get("GANX_DEBUG", "") not in ("", "0")
        self.warn: Callable[[str], None] = lambda msg: print(f"ganx: warning: {msg}",
                                                             file=sys.stderr)

    # -- discovery ------------------------------------------------------------------------------

    def load_entry_points(self) -> PluginHost:
        """Load every allowed entry point of group `ganx`, each on its own."""
        allow, deny = _env_names("GANX_LOAD_PLUGINS"), _env_names("GANX_DISABLE_PLUGINS") or set()
        seen: set[str] = set()
        # built-ins first, then by entry-point name: the first to claim a name keeps it
        def order(ep: md.EntryPoint) -> tuple[bool, str]:
            dist = ep.dist.metadata["Name"] if ep.dist is not None else ""
            return (_normalize(dist) != "ganx", ep.name)

        for ep in sorted(md.entry_points(group=GROUP), key=order):
            dist_name = ep.dist.metadata["Name"] if ep.dist is not None else "(unknown)"
            version = ep.dist.version if ep.dist is not None else "?"
            keys = {_normalize(ep.name), _normalize(dist_name)}
            builtin = _normalize(dist_name) == "ganx"
            if keys & deny or (allow is not None and not builtin and not keys & allow):
                continue
            if ep.name in seen:  # the same distribution seen twice on sys.path
                continue
            seen.add(ep.name)
            info = PluginInfo(ep.name, dist_name, version)
            had_torch, started = "torch" in sys.modules, time.perf_counter()
            try:
                module = ep.load()
            except Exception as exc:
                self._print_traceback()
                self._fail(info, f"import failed: {type(exc).__name__}: {exc}")
                continue
            info.load_seconds = time.perf_counter() - started
            if not had_torch and "torch" in sys.modules:
                info.warnings.append(
                    f"imports torch when it loads ({info.load_seconds:.2f} s), which slows"
                    " `ganx --help` and `ganx plugins`; import torch inside the builders")
            self.register_plugin(module, info)
        return self

    def register_plugin(self, plugin: object, info: PluginInfo | str) -> PluginInfo:
        """Register a plugin object (module, class or instance with hookimpls) directly.

        Library users and tests can add a plugin without installing a distribution:
        `host.register_plugin(my_module, "mine")`.
        """
        if isinstance(info, str):
            info = PluginInfo(info, "in-process", "")
        if info.name in self.plugins:
            return self._fail(info, f"a plugin named '{info.name}' is already loaded")
        unknown = [a for a in dir(plugin) if a.startswith("ganx_") and a not in hookspecs.HOOK_NAMES
                   and callable(getattr(plugin, a, None))]
        if unknown:
            hint = did_you_mean(unknown[0], hookspecs.HOOK_NAMES)
            return self._fail(info, f"unknown hook '{unknown[0]}'{hint}")
        try:
            self.pm.register(plugin, name=info.name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            return self._fail(info, f"invalid hook implementation: {exc}")
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        try:
            self._collect(plugin, info)
        except PluginError:
            self.pm.unregister(plugin)
            raise
        except Exception as exc:
            self._print_traceback()
            self.pm.unregister(plugin)
            return self._fail(info, str(exc) if isinstance(exc, DuplicateNameError | ValueError)
                              else f"{type(exc).__name__}: {exc}")
        self.plugins[info.name] = info
        return info

    def _fail(self, info: PluginInfo, message: str) -> PluginInfo:
        info.error = message
        self.plugins.setdefault(info.name, info)
        text = f"{info.label} {message}"
        if self.strict:
            raise PluginError(text)
        self.warn(f"{text}; skipped (GANX_STRICT_PLUGINS=1 raises instead)")
        return info

    def _print_traceback(self) -> None:
        if self.tracebacks:
            traceback.print_exc(file=sys.stderr)

    def _warn(self, info: PluginInfo, message: str) -> None:
        """A load-time problem that leaves the plugin loaded (raises under strict loading)."""
        info.warnings.append(message)
        text = f"{info.label}: {message}"
        if self.strict:
            raise PluginError(text)
        self.warn(text)

    def _impl(self, plugin: object, hook: str) -> pluggy.HookImpl | None:
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin is plugin:
                return impl
        return None

    def _call(self, plugin: object, hook: str, **kwargs: Any) -> bool:
        impl = self._impl(plugin, hook)
        if impl is None:
            return False
        impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        return True

    def _collect(self, plugin: object, info: PluginInfo) -> None:
        """Run the registration hooks of one plugin; commit only if all of it is valid."""
        domains: list[Domain] = []
        losses: list[tuple[str, Any]] = []
        metrics: list[tuple[str, Any]] = []

        def add_domain(domain: Domain) -> None:
            if not isinstance(domain, Domain):
                raise ValueError(f"registered {type(domain).__name__}, not a ganx.Domain instance")
            if not isinstance(domain.name, str) or not _DOMAIN_NAME.fullmatch(domain.name):
                raise ValueError(f"domain name {domain.name!r} must match {_DOMAIN_NAME.pattern}")
            if not (isinstance(domain.Config, type) and dataclasses.is_dataclass(domain.Config)):
                raise ValueError(f"domain '{domain.name}': Config must be a dataclass")
            domains.append(domain)

        self._call(plugin, "ganx_register_domains", register=add_domain)
        callbacks: list[tuple[str, Any]] = []
        self._call(plugin, "ganx_register_losses", register=lambda n, obj: losses.append((n, obj)))
        self._call(plugin, "ganx_register_metrics",
                   register=lambda n, obj: metrics.append((n, obj)))
        self._call(plugin, "ganx_register_callbacks",
                   register=lambda n, obj: callbacks.append((n, obj)))
        owner = f"plugin '{info.name}'"
        staged = [(self.domains, d.name, d) for d in domains]
        staged += [(self.losses, n, o) for n, o in losses]
        staged += [(self.metrics, n, o) for n, o in metrics]
        staged += [(self.callbacks, n, o) for n, o in callbacks]
        names_seen: set[tuple[str, str]] = set()
        for registry, name, _ in staged:
            if name in registry or (registry.kind, name) in names_seen:
                other = registry.owner(name) if name in registry else owner
                raise DuplicateNameError(
                    f"registers {registry.kind} '{name}', already registered by {other}")
            names_seen.add((registry.kind, name))
        for registry, name, obj in staged:
            registry.add(name, obj, owner)
        for domain in domains:
            set_plugin(domain, info.name)
        info.domains = [d.name for d in domains]
        info.losses = [n for n, _ in losses]
        info.metrics = [n for n, _ in metrics]
        info.callbacks = [n for n, _ in callbacks]
        self._check(info, domains, staged)

    def _check(self, info: PluginInfo, domains: list[Domain], staged: list[Any]) -> None:
        """Load-time checks that do not stop the plugin: required methods, lazy references."""
        for domain in domains:
            for method in missing_required(domain):
                self._warn(info, f"domain '{domain.name}' does not implement {method}, which"
                                 f" training needs")
        for registry, name, obj in staged:
            problem = reference_problem(obj) if isinstance(obj, str) else None
            if problem:
                self._warn(info, f"{registry.kind} '{name}': {problem}")

    # -- use ------------------------------------------------------------------------------------

    def domain(self, name: str) -> Domain:
        """The domain registered as `name`; ConfigError naming the nearest one if unknown."""
        if name not in self.domains:
            known = self.domains.names()
            hint = did_you_mean(name, known) if known else "; no domain plugins are installed"
            raise ConfigError(f"unknown plugin '{name}'{hint}")
        return self.domains.get(name)

    def domain_plugin(self, domain_name: str) -> PluginInfo | None:
        for info in self.plugins.values():
            if domain_name in info.domains:
                return info
        return None

    def add_commands(self, cli: Any) -> None:
        """Let each plugin add subcommands to the click group `cli`."""
        for info in list(self.plugins.values()):
            if info.error:
                continue
            plugin = self.pm.get_plugin(info.name)
            try:
                self._call(plugin, "ganx_register_commands", cli=cli)
            except Exception as exc:
                self._fail(info, f"ganx_register_commands failed: {type(exc).__name__}: {exc}")

    def loaded(self) -> Iterable[PluginInfo]:
        return self.plugins.values()


_HOST: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide host, loading entry points on first use."""
    global _HOST
    if _HOST is None:
        _HOST = PluginHost().load_entry_points()
    return _HOST


def reset_host() -> None:
    """Forget the process-wide host (tests; after installing a plugin at run time)."""
    global _HOST
    _HOST = None
