"""Runs side by side (`ganx compare`): one table of their latest metrics and one HTML page with
their evaluation curves, only when every value was measured under the same protocol.

    from ganx.report.compare import compare_runs, write_comparison
    runs = compare_runs(["runs/a", "runs/b"])   # ConfigError when the protocols differ
    print(comparison_table(runs)); write_comparison(runs, "compare.html")

A run's latest evaluation row (of kind `eval` or `evaluate`) counts, with its `protocol`; two
protocols may differ only in what belongs to the run itself (the seed, see
`MetricProtocol.differences`). The curves show each run's rows measured under that protocol.
No torch here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ganx.core.errors import ConfigError
from ganx.core.metric_protocol import MetricProtocol

from .charts import Chart, Series, format_value, render_chart
from .curves import EVAL_KINDS, latest_values
from .rundata import read_run
from .writing import write_page

__all__ = ["ComparedRun", "compare_runs", "comparison_table", "render_comparison",
           "write_comparison"]


@dataclass(frozen=True)
class ComparedRun:
    """One run's latest evaluation: where, at which step, the values and their protocol, and
    the evaluation rows measured under that protocol (for the curves)."""

    name: str
    run_dir: Path
    step: int
    values: dict[str, Any]
    protocol: MetricProtocol
    rows: list[dict[str, Any]]


def _latest(run_dir: Path, name: str) -> ComparedRun:
    data = read_run(run_dir)
    rows = [r for r in data.rows if r.get("kind") in EVAL_KINDS]
    if not rows:
        raise ConfigError(f"run {run_dir} has no evaluation yet; score it with"
                          f" `ganx evaluate {run_dir}`")
    stored = rows[-1].get("protocol")
    if not isinstance(stored, dict):
        raise ConfigError(f"run {run_dir}: its latest evaluation records no protocol (made"
                          f" before ganx recorded them); evaluate it again with"
                          f" `ganx evaluate {run_dir}`")
    protocol = MetricProtocol.from_dict(stored)
    same = [r for r in rows if isinstance(r.get("protocol"), dict)
            and not MetricProtocol.from_dict(r["protocol"]).differences(protocol)]
    step, values = latest_values(rows, EVAL_KINDS)
    return ComparedRun(name, run_dir, step or 0, values, protocol, same)


def _names(run_dirs: list[Path]) -> list[str]:
    names = [p.resolve().name for p in run_dirs]
    return [str(p) if names.count(n) > 1 else n for p, n in zip(run_dirs, names, strict=True)]


def compare_runs(run_dirs: list[str | Path]) -> list[ComparedRun]:
    """The runs' latest evaluations; a ConfigError naming the field when two protocols differ
    in anything but the run itself."""
    paths = [Path(p) for p in run_dirs]
    if len(paths) < 2:
        raise ConfigError("ganx compare needs at least two run directories")
    runs = [_latest(path, name) for path, name in zip(paths, _names(paths), strict=True)]
    first = runs[0]
    for other in runs[1:]:
        differ = first.protocol.differences(other.protocol)
        if differ:
            field = differ[0]
            mine, theirs = (_field(first.protocol, field), _field(other.protocol, field))
            more = f" (and {', '.join(differ[1:])})" if len(differ) > 1 else ""
            raise ConfigError(f"cannot compare {first.name} and {other.name}: their metrics were"
                              f" measured differently: {field} is {mine!r} vs {theirs!r}{more}")
    return runs


def _field(protocol: MetricProtocol, name: str) -> Any:
    data = protocol.to_dict()
    if name.startswith("details."):
        return data["details"].get(name.removeprefix("details."))
    return data[name]


def _metric_keys(runs: list[ComparedRun]) -> list[str]:
    keys: dict[str, None] = {}
    for run in runs:
        keys.update(dict.fromkeys(run.values))
    return list(keys)


def comparison_table(runs: list[ComparedRun]) -> str:
    """A Markdown table: one row per metric, one column per run, and the shared protocol."""
    header = ["metric", *(run.name for run in runs)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.append("| step | " + " | ".join(str(run.step) for run in runs) + " |")
    for key in _metric_keys(runs):
        cells = [format_value(run.values[key]) if key in run.values else "" for run in runs]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    seeds = ", ".join(str(run.protocol.seed) for run in runs)
    lines.append("")
    lines.append(f"protocol: {runs[0].protocol.summary()} (seeds per run: {seeds})")
    return "\n".join(lines)


def comparison_charts(runs: list[ComparedRun]) -> list[Chart]:
    """One chart per metric, one series per run (training's eval points as lines, `ganx
    evaluate` results as dots)."""
    charts = []
    for key in _metric_keys(runs):
        series = []
        for run in runs:
            points = [(float(r["step"]), None if r[key] is None else float(r[key]))
                      for r in run.rows if key in r and not isinstance(r[key], dict | list | str)]
            if points:
                series.append(Series(run.name, points,
                                     markers_only=all(r["kind"] == "evaluate" for r in run.rows)))
        charts.append(Chart(key, series))
    return charts


def render_comparison(runs: list[ComparedRun]) -> str:
    """The comparison as one self-contained HTML page."""
    from .page import _environment

    return _environment().get_template("compare.html.j2").render(
        runs=runs, keys=_metric_keys(runs), format_value=format_value,
        protocol=runs[0].protocol.summary(),
        charts=[Markup(render_chart(c)) for c in comparison_charts(runs)],
        generated=time.strftime("%Y-%m-%d %H:%M:%S"))


def write_comparison(runs: list[ComparedRun], out: str | Path) -> Path:
    """Write the comparison page to `out` atomically; returns the path."""
    return write_page(render_comparison(runs), out, "the comparison", "compare.html")
