"""The protocol of a metric value: everything besides the generator that decides the number.

FID moves with the feature network, the resize filter, the sample counts and the reference set;
a value without those is not comparable with another. Every evaluation ganx runs (training's eval
points, `ganx evaluate`, `ganx.evaluate`) therefore yields a `MetricProtocol` next to its values,
and metrics.jsonl, `ganx evaluate --json` and the run report carry it.

The engine fills what it knows (sample counts, reference set, generator, seed, precision, device,
versions); metrics add what only they know (feature network, its weights' SHA-256, input resize,
domain details such as an audio classifier's sample rate) with `note_protocol` while they run.
No torch here.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

RUN_FIELDS = ("seed",)
"""Fields that belong to the run itself (the seed its samples are drawn with): `differences`
ignores them by default, so runs trained with different seeds stay comparable."""


GENERATOR_WEIGHTS = ("ema", "raw")
"""Which weights of a run's generator are scored: their moving average or the trained ones."""


@dataclass(frozen=True)
class MetricProtocol:
    """How a set of metric values was measured. `to_dict` gives the JSON form."""

    features: str = ""
    """Feature network(s) by registry name (e.g. `inception`), or "" when none was used."""
    features_sha256: str = ""
    """SHA-256 of the feature network's weights (the weights file where there is one)."""
    resize: str = ""
    """How inputs reached the network's size: filter and size (e.g. `tf1-legacy-bilinear
    299x299`), `none`, or "" when no network was used."""
    n_generated: int = 0
    n_real: int = 0
    reference: str = ""
    """The reference set's name: the dataset name or path."""
    reference_split: str = ""
    """`train` (the training data), `test` (the data's held-out split) or `path`."""
    reference_count: int = 0
    """Items in that split; `n_real` of them were used."""
    reference_digest: str = ""
    """SHA-256 of the real items used, as the metrics received them."""
    generator: str = "ema"
    """`ema` (the moving average of the generator's weights) or `raw`."""
    seed: int = 0
    """Seed of the generated samples (the run's seed unless `--eval-seeds` varies it)."""
    precision: str = "fp32"
    """Autocast precision of the generator during the evaluation (feature networks run fp32)."""
    device: str = "cpu"
    ganx_version: str = ""
    torch_version: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Domain-specific settings metrics noted (sample rate, clip length, classifier, ...)."""

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-ready values (details as a nested dict)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["details"] = dict(self.details)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricProtocol:
        """The record `to_dict` wrote (unknown keys are kept in `details`)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"details"}
        details = dict(data.get("details") or {})
        details.update({k: v for k, v in data.items() if k not in names and k != "details"})
        return cls(**{k: v for k, v in data.items() if k in names}, details=details)

    def summary(self) -> str:
        """One line: network and resize, counts, reference, generator, seed, precision, device."""
        net = self.features or "no feature network"
        resize = f" ({self.resize})" if self.resize and self.resize != "none" else ""
        return (f"{net}{resize}; {self.n_generated} generated vs {self.n_real} real of"
                f" {self.reference or '?'} [{self.reference_split or '?'},"
                f" {self.reference_count} items]; generator {self.generator}, seed {self.seed},"
                f" {self.precision} on {self.device}; ganx {self.ganx_version},"
                f" torch {self.torch_version}")

    def differences(self, other: MetricProtocol,
                    ignore: tuple[str, ...] = RUN_FIELDS) -> list[str]:
        """Names of the fields that differ (`details.KEY` for details), less `ignore`."""
        mine, theirs = self.to_dict(), other.to_dict()
        differ = [name for name in mine if name != "details" and name not in ignore
                  and mine[name] != theirs[name]]
        for key in sorted(set(mine["details"]) | set(theirs["details"])):
            if key not in ignore and mine["details"].get(key) != theirs["details"].get(key):
                differ.append(f"details.{key}")
        return differ


_NOTES: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "ganx_metric_protocol", default=None)
_FIELDS = {f.name for f in dataclasses.fields(MetricProtocol)} - {"details"}


@contextlib.contextmanager
def collecting() -> Iterator[dict[str, Any]]:
    """Collect what metrics note with `note_protocol` while the block runs."""
    notes: dict[str, Any] = {}
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def note_protocol(**fields: Any) -> None:
    """Add to the protocol of the evaluation running now (outside one: nothing). Fields of
    `MetricProtocol` (features, features_sha256, resize) go there, anything else to `details`.
    Two metrics noting different values of a field (two networks) give both, comma-separated."""
    notes = _NOTES.get()
    if notes is None:
        return
    for key, value in fields.items():
        old = notes.get(key)
        if old is None or old == value:
            notes[key] = value
        elif str(value) not in str(old).split(", "):
            notes[key] = f"{old}, {value}"


def with_notes(protocol: MetricProtocol, notes: Mapping[str, Any]) -> MetricProtocol:
    """`protocol` with the noted fields filled in."""
    known = {k: v for k, v in notes.items() if k in _FIELDS}
    details = {**protocol.details, **{k: v for k, v in notes.items() if k not in _FIELDS}}
    return dataclasses.replace(protocol, **known, details=details)


def installed_version(distribution: str) -> str:
    """The installed version of `distribution` (`ganx`, `torch`), or `unknown`."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"
