"""A domain's data-fitted state (`Domain.fit_state`): fitted once on a fresh run, kept in the
run's config.toml ([fitted]) and in every snapshot, and handed back as `cfg.fitted` on resume,
sampling and evaluation, where the data may be gone. Versioned by `Domain.fitted_version`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from .calls import call_domain
from .config import DomainConfig
from .domain import Domain, describe
from .errors import CheckpointError, RunError

C = TypeVar("C", bound=DomainConfig)


def fitted_record(domain: Domain[Any], cfg: DomainConfig) -> dict[str, Any]:
    """The [fitted] table of config.toml and of a snapshot's config."""
    return {"version": domain.fitted_version, "state": dict(cfg.fitted)}


def checked_state(domain: Domain[Any], state: Any) -> dict[str, Any]:
    """`fit_state`'s result, checked to be a mapping that TOML can hold."""
    import tomli_w

    if not isinstance(state, Mapping):
        raise RunError(f"{describe(domain)}: fit_state returned {type(state).__name__}, not a"
                       " mapping")
    try:
        tomli_w.dumps({"state": dict(state)})
    except (TypeError, ValueError) as exc:
        raise RunError(f"{describe(domain)}: fit_state returned a value TOML cannot hold"
                       f" ({exc}); use strings, numbers, booleans, lists and tables") from None
    return dict(state)


def with_stored_fitted(domain: Domain[Any], cfg: C, stored: Mapping[str, Any], where: str) -> C:
    """`cfg` with the fitted state a run recorded (upgraded from an older version through the
    domain's `upgrade_fitted`); runs from before fitted state existed have none."""
    record = stored.get("fitted")
    if not record:
        return cfg
    version, state = int(record.get("version", 1)), record.get("state", {})
    if version > domain.fitted_version:
        raise CheckpointError(f"{where}: fitted state version {version} was written by a newer"
                              f" {describe(domain)} (this one reads {domain.fitted_version});"
                              " upgrade the plugin")
    if version < domain.fitted_version:
        state = call_domain(domain, "upgrade_fitted", state, version)
    return dataclasses.replace(cfg, fitted=dict(state))
