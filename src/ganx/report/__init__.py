"""Run reports: one self-contained HTML page per run (curves, samples over time, config,
environment) that works offline and is cheap to regenerate while the run is going.

    from ganx.report import write_report
    write_report("runs/image-20261128-120000")      # -> runs/image-.../report.html

No torch at import time, nor while rendering a run whose config.toml records its versions.
"""

from __future__ import annotations

from .page import REPORT_NAME, render_report, write_report
from .rundata import RunData, read_run

__all__ = ["REPORT_NAME", "RunData", "read_run", "render_report", "write_report"]
