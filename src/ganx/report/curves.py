"""From metrics.jsonl rows to charts: training losses (and pretraining), throughput, and the
evaluation metrics, with the run's events (roll-backs) marked on each chart."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .charts import Chart, Series

TRAIN_KINDS = ("pretrain", "train")
EVAL_KINDS = ("eval", "evaluate")
_NOT_VALUES = {"step", "kind", "time"}
TITLES = {
    "loss_d": "discriminator loss (loss_d)",
    "loss_g": "generator loss (loss_g)",
    "r1": "R1 penalty (r1)",
    "gp": "gradient penalty (gp)",
    "fm": "feature matching (fm)",
    "samples_per_s": "throughput (samples/s)",
}


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def value_keys(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Numeric keys in first-seen order (None counts: it is a non-finite number)."""
    keys: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if key not in _NOT_VALUES and _number(value):
                keys.setdefault(key)
    return list(keys)


def events(rows: Iterable[dict[str, Any]]) -> list[tuple[int, str]]:
    """(step, description) of every event row (roll-backs and the like)."""
    found = []
    for row in rows:
        if row.get("kind") != "event":
            continue
        details = ", ".join(f"{k} {v}" for k, v in row.items()
                            if k not in _NOT_VALUES and k != "event")
        found.append((int(row["step"]), f"{row.get('event', 'event')}: {details}".rstrip(": ")))
    return found


def _series(rows: list[dict[str, Any]], kind: str, key: str, **extra: Any) -> Series | None:
    points = [(float(r["step"]), None if r[key] is None else float(r[key]))
              for r in rows if r["kind"] == kind and key in r and _number(r[key])]
    return Series(kind, points, **extra) if points else None


def _charts(rows: list[dict[str, Any]], kinds: tuple[str, ...], marked: list[tuple[int, str]],
            markers_only: tuple[str, ...] = ()) -> list[Chart]:
    chosen = [r for r in rows if r["kind"] in kinds]
    charts = []
    keys = value_keys(chosen)
    keys.sort(key=lambda k: k == "samples_per_s")  # throughput after the losses
    for key in keys:
        series = [s for kind in kinds
                  if (s := _series(chosen, kind, key, markers_only=kind in markers_only))]
        gaps = sum(1 for s in series for _, y in s.points if y is None)
        title = TITLES.get(key, key) + (f" ({gaps} non-finite)" if gaps else "")
        charts.append(Chart(title, series, [(float(s), text) for s, text in marked]))
    return charts


def training_charts(rows: list[dict[str, Any]]) -> list[Chart]:
    return _charts(rows, TRAIN_KINDS, events(rows))


def evaluation_charts(rows: list[dict[str, Any]]) -> list[Chart]:
    """`eval` rows (during training) as lines; `evaluate` rows (`ganx evaluate`) as dots."""
    return _charts(rows, EVAL_KINDS, events(rows), markers_only=("evaluate",))


def latest_values(rows: list[dict[str, Any]], kinds: tuple[str, ...]) -> tuple[int | None,
                                                                               dict[str, Any]]:
    """The step and values of the newest row of `kinds`."""
    for row in reversed(rows):
        if row["kind"] in kinds:
            return int(row["step"]), {k: v for k, v in row.items()
                                      if k not in _NOT_VALUES and _number(v)}
    return None, {}
