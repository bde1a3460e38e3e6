"""The report page: gather the sections, render the jinja2 template, write the file atomically."""

from __future__ import annotations

import importlib.metadata as md
import platform
import time
from pathlib import Path
from typing import Any

from markupsafe import Markup

from .charts import format_value, render_chart
from .curves import (
    EVAL_KINDS,
    TRAIN_KINDS,
    evaluation_charts,
    events,
    latest_values,
    training_charts,
)
from .rundata import RunData, read_run
from .samples import collect_samples, fit
from .writing import write_page

REPORT_NAME = "report.html"


def _dist_version(name: str) -> str:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "not installed"


def _installed_plugins() -> list[tuple[str, str]]:
    """(entry point, distribution version) of every installed ganx plugin, without importing
    any of them."""
    found = set()
    for ep in md.entry_points(group="ganx"):
        dist = ep.dist
        found.add((ep.name, f"{dist.name} {dist.version}" if dist else "?"))
    return sorted(found)


def _generated_with() -> dict[str, str]:
    return {
        "ganx": _dist_version("ganx"),
        "torch (installed)": _dist_version("torch"),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _status(run: RunData) -> str:
    total = run.total_steps
    if total is None:
        return f"step {run.step}"
    if run.step >= total and run.snapshots and run.snapshots[-1] >= total:
        return f"finished: {total} steps"
    return f"step {run.step} of {total} (running, or stopped: resume with --resume)"


def _duration(rows: list[dict[str, Any]]) -> str:
    times = [r["time"] for r in rows if isinstance(r.get("time"), int | float)]
    if len(times) < 2:
        return ""
    seconds = int(max(times) - min(times))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"


def show(value: Any) -> str:
    """A config value as TOML writes it (true, [0.5, 0.99]), without quotes around strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def evaluation_note(run: RunData) -> str:
    """Why the summary shows no evaluation, in the terms the run was configured with."""
    every = run.config.get("train", {}).get("eval_every")
    if every == -1:
        return ("this run was configured not to evaluate (eval_every = -1); score it with"
                f" ganx evaluate {run.run_dir}")
    if every == 0:
        return "no evaluation yet: this run evaluates once, at the end of training"
    if isinstance(every, int) and every > 0:
        return f"no evaluation yet: this run evaluates every {every} steps and at the end"
    return "no evaluation yet"


def _protocol(rows: list[dict[str, Any]]) -> str:
    """The protocol of the newest evaluation row, as one line ("" for rows without one)."""
    from ganx.core.metric_protocol import MetricProtocol

    for row in reversed(rows):
        if row["kind"] in EVAL_KINDS:
            stored = row.get("protocol")
            return MetricProtocol.from_dict(stored).summary() if isinstance(stored, dict) else ""
    return ""


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else ""


def context(run: RunData, snapshots: int = 12) -> dict[str, Any]:
    """Everything the template shows."""
    samples = collect_samples(run.run_dir / "samples", snapshots=snapshots)
    # pictures evaluations made (the image domain's closest generated/training pairs)
    evaluated = collect_samples(run.run_dir / "evaluation")
    for series, shown in evaluated.images.items():
        samples.images[f"evaluation: {series}"] = shown
        samples.image_counts[f"evaluation: {series}"] = evaluated.image_counts[series]
    train_step, train_values = latest_values(run.rows, TRAIN_KINDS)
    eval_step, eval_values = latest_values(run.rows, EVAL_KINDS)
    notes = list(samples.notes)
    if run.bad_rows:
        notes.append(f"{run.bad_rows} line(s) of metrics.jsonl could not be read (a running run"
                     " may be writing the last one)")
    total = run.total_steps
    return {
        "name": run.run_dir.resolve().name,
        "run_dir": str(run.run_dir),
        "plugin": run.plugin or "?",
        "status": _status(run),
        "progress": min(100.0, 100.0 * run.step / total) if total else None,
        "duration": _duration(run.rows),
        "last_update": _when(run.last_update),
        "generated": _when(time.time()),
        "snapshots": run.snapshots,
        "train_step": train_step,
        "train_values": {k: format_value(v) for k, v in train_values.items()},
        "eval_step": eval_step,
        "eval_values": {k: format_value(v) for k, v in eval_values.items()},
        "eval_protocol": _protocol(run.rows),
        "eval_note": evaluation_note(run),
        "train_charts": [Markup(render_chart(c)) for c in training_charts(run.rows)],
        "eval_charts": [Markup(render_chart(c)) for c in evaluation_charts(run.rows)],
        "events": events(run.rows),
        "samples": samples,
        "notes": notes,
        "config_source": run.config_source,
        "config_text": run.config_text,
        "domain_config": run.config.get("domain", {}),
        "train_config": run.config.get("train", {}),
        "versions": run.versions,
        "environment": run.environment,
        "generated_with": _generated_with(),
        "plugins": _installed_plugins(),
        "warnings": run.warnings,
        "log_tail": run.log_tail,
    }


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("ganx.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals["fit"] = fit
    env.filters["show"] = show
    return env


def render_report(run_dir: str | Path, *, snapshots: int = 12) -> str:
    """The report of `run_dir` as one self-contained HTML page."""
    run = read_run(run_dir)
    return _environment().get_template("report.html.j2").render(**context(run, snapshots))


def write_report(run_dir: str | Path, out: str | Path | None = None, *,
                 snapshots: int = 12) -> Path:
    """Write the report of `run_dir` to `out` (default RUN/report.html) atomically: a reader
    sees the previous page or the new one, never half of one. Returns the path."""
    html = render_report(run_dir, snapshots=snapshots)
    path = Path(out) if out is not None else Path(run_dir) / REPORT_NAME
    return write_page(html, path, "the report", REPORT_NAME)
