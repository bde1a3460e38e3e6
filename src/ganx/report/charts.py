"""Line charts as inline SVG: no JavaScript, no fonts or scripts from elsewhere, and readable
when printed. One chart per quantity (losses differ in scale by orders of magnitude)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#1f6fb4", "#e07b16", "#2a9d49", "#c7333a", "#7b52ab", "#8c564b")
WIDTH, HEIGHT = 460, 230
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 30, 36


@dataclass
class Series:
    """A named line: (x, y) points in x order; y None marks a non-finite value (a gap)."""

    name: str
    points: list[tuple[float, float | None]]
    color: str = ""
    markers_only: bool = False


@dataclass
class Chart:
    title: str
    series: list[Series]
    events: list[tuple[float, str]] = field(default_factory=list)
    x_label: str = "step"


def nice_ticks(low: float, high: float, count: int = 5, integer: bool = False) -> list[float]:
    """About `count` round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) over
    [low, high]; with `integer`, whole-number steps only (training steps)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = [m * magnitude for m in (1, 2, 2.5, 5, 10)]
    if integer:
        steps = [max(1, s) for s in steps if s >= 1 and float(s).is_integer()] or [1]
    step = next((s for s in steps if s >= raw), steps[-1])
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(i * step, 12) + 0.0 for i in range(first, last + 1)]


def format_tick(value: float, ticks: Sequence[float]) -> str:
    """A tick label with as many decimals as the tick spacing needs; thousands as k/M."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(value) or 1.0
    for unit, suffix in ((1e6, "M"), (1e3, "k")):
        if step >= unit:
            return f"{value / unit:g}{suffix}" if value else "0"
    if abs(value) >= 1e5 or 0 < step < 1e-4:
        return f"{value:.2g}"
    decimals = next((d for d in range(7)
                     if math.isclose(step, round(step, d), rel_tol=1e-9, abs_tol=1e-12)), 6)
    return f"{value:.{decimals}f}"


def format_value(value: float | None) -> str:
    if value is None:
        return "non-finite"
    return f"{value:.4g}"


def _bounds(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high == low:
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.06
    return low - pad, high + pad


def render_chart(chart: Chart) -> str:
    """The SVG markup of `chart` (text escaped; safe to insert into HTML)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    xs = [x for s in chart.series for x, _ in s.points] + [x for x, _ in chart.events]
    ys = [y for s in chart.series for _, y in s.points if y is not None]
    title = escape(chart.title)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH}'
             f' {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{title}">',
             f'<text class="chart-title" x="{LEFT}" y="18">{title}</text>']
    if not xs or not ys:
        parts.append(f'<text class="chart-empty" x="{WIDTH / 2}" y="{HEIGHT / 2}"'
                     ' text-anchor="middle">no finite values yet</text></svg>')
        return "".join(parts)
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = _bounds(ys)

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return TOP + (1 - (y - y0) / (y1 - y0)) * plot_h

    parts.append(f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}"/>')
    parts.extend(_grid((x0, x1), (y0, y1), px, py))
    parts.append(f'<text class="axis" x="{LEFT + plot_w / 2}" y="{HEIGHT - 4}"'
                 f' text-anchor="middle">{escape(chart.x_label)}</text>')
    for x, label in chart.events:
        parts.append(f'<line class="event" x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{TOP}"'
                     f' y2="{TOP + plot_h}"><title>{escape(label)}</title></line>')
    for i, series in enumerate(chart.series):
        color = series.color or PALETTE[i % len(PALETTE)]
        parts.extend(_draw_series(series, color, px, py))
    if len(chart.series) > 1:
        parts.extend(_legend(chart))
    parts.append("</svg>")
    return "".join(parts)


def _grid(xs: tuple[float, float], ys: tuple[float, float], px: Callable[[float], float],
          py: Callable[[float], float]) -> list[str]:
    """Grid lines and tick labels of both axes."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    out = []
    y_ticks = nice_ticks(*ys)
    for tick in y_ticks:
        y = py(tick)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}"'
                   f' y2="{y:.1f}"/><text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}"'
                   f' text-anchor="end">{escape(format_tick(tick, y_ticks))}</text>')
    x_ticks = [t for t in nice_ticks(*xs, integer=True) if xs[0] <= t <= xs[1]]
    for tick in x_ticks:
        x = px(tick)
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}"'
                   f' y2="{TOP + plot_h}"/><text class="tick" x="{x:.1f}"'
                   f' y="{TOP + plot_h + 15}" text-anchor="middle">'
                   f'{escape(format_tick(tick, x_ticks))}</text>')
    return out


def _legend(chart: Chart) -> list[str]:
    """The series' names and colours, right-aligned above the plot."""
    out = []
    x = WIDTH - RIGHT
    for i, series in enumerate(reversed(chart.series)):
        color = series.color or PALETTE[(len(chart.series) - 1 - i) % len(PALETTE)]
        width = 8 + 6.5 * len(series.name)
        x -= width + 10
        out.append(f'<rect x="{x:.1f}" y="9" width="9" height="9" fill="{color}"/>'
                   f'<text class="legend" x="{x + 12:.1f}" y="18">{escape(series.name)}</text>')
    return out


def _draw_series(series: Series, color: str, px, py) -> list[str]:
    out: list[str] = []
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in series.points:
        if y is None:
            runs.append([])
        else:
            runs[-1].append((x, y))
    name = escape(series.name)
    for run in runs:
        if len(run) > 1 and not series.markers_only:
            points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run)
            out.append(f'<polyline class="line" points="{points}" stroke="{color}">'
                       f'<title>{name}</title></polyline>')
        elif run:
            for x, y in run:
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}">'
                           f'<title>{name} at {x:g}: {format_value(y)}</title></circle>')
    return out
