"""The quality-diversity frontier of text GANs (Caccia et al. 2018, "Language GANs Falling
Short"): one temperature does not compare two text models, because lowering the softmax
temperature trades diversity for quality. For each branch of `text_quality.py` (MLE only,
Gumbel-softmax, REINFORCE) this sweeps the sampling temperature, measures quality (BLEU-4 against
the held-out lines) and diversity (self-BLEU-4: lower is more diverse) of the same number of
samples from the same seed, draws the curves in one PNG and says which branch dominates which:
a point is dominated when another branch's curve has a point with both higher BLEU-4 and lower
self-BLEU-4.

Used by `text_quality.py --frontier`; no training here.
"""

from __future__ import annotations

from pathlib import Path

TEMPERATURES = (0.6, 0.8, 1.0, 1.2, 1.5)
COLORS = {"mle": (31, 111, 180), "gumbel": (224, 123, 22), "reinforce": (42, 157, 73)}

Point = tuple[float, float, float]
"""(temperature, BLEU-4, self-BLEU-4)."""


def sweep(run_dir: Path, temperatures: tuple[float, ...], n: int, seed: int) -> list[Point]:
    """BLEU-4 and self-BLEU-4 of `n` samples of the run (EMA weights) at each temperature."""
    import ganx
    from ganx.plugins.text.metrics import text_metrics

    points = []
    for temperature in temperatures:
        model = ganx.load(run_dir, settings={"temperature": temperature})
        # registers the held-out lines the metric scores against (from the cache)
        model.domain.build_dataset(model.config, model.train_config.data)
        fake = model.generate(n, seed=seed)
        values = text_metrics(fake, fake, model.config)
        points.append((temperature, values["bleu4"], values["self_bleu4"]))
    return points


def dominators(curves: dict[str, list[Point]], branch: str, point: Point) -> list[str]:
    """The other branches with a point of higher BLEU-4 and lower self-BLEU-4 than `point`."""
    _, bleu, self_bleu = point
    return [other for other, points in curves.items() if other != branch
            and any(b > bleu and s < self_bleu for _, b, s in points)]


def table(curves: dict[str, list[Point]], labels: dict[str, str]) -> list[str]:
    lines = ["| branch | temperature | BLEU-4 (quality) | self-BLEU-4 (lower: more diverse) |"
             " dominated by |", "|---|---|---|---|---|"]
    for branch, points in curves.items():
        for point in points:
            beaten = ", ".join(dominators(curves, branch, point)) or "none"
            lines.append(f"| {labels[branch]} | {point[0]:g} | {point[1]:.3f} | {point[2]:.3f} |"
                         f" {beaten} |")
    return lines


def verdict(curves: dict[str, list[Point]]) -> list[str]:
    """One line per branch: at which temperatures another branch's curve dominates it."""
    lines = []
    for branch, points in curves.items():
        for other in curves:
            if other == branch:
                continue
            hit = [f"{p[0]:g}" for p in points if other in dominators(curves, branch, p)]
            if hit:
                lines.append(f"- {other} dominates {branch} at {branch}'s temperature(s)"
                             f" {', '.join(hit)} (of {len(points)})")
    return lines or ["- no branch's point is dominated by another branch's curve"]


def plot(curves: dict[str, list[Point]], path: Path, title: str) -> Path:
    """The curves, self-BLEU-4 across and BLEU-4 up, each point marked with its temperature."""
    from PIL import Image, ImageDraw

    width, height, left, right, top, bottom = 720, 480, 70, 20, 40, 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    xs = [p[2] for ps in curves.values() for p in ps]
    ys = [p[1] for ps in curves.values() for p in ps]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    pad_x, pad_y = (x1 - x0) * 0.08 or 0.01, (y1 - y0) * 0.08 or 0.01
    x0, x1, y0, y1 = x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y

    def px(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x0) / (x1 - x0) * (width - left - right),
                top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom))

    draw.rectangle([left, top, width - right, height - bottom], outline=(120, 120, 120))
    for i in range(5):
        x, y = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        draw.text((px(x, y0)[0] - 12, height - bottom + 6), f"{x:.3f}", fill="black")
        draw.text((8, px(x0, y)[1] - 6), f"{y:.3f}", fill="black")
    draw.text((left, 12), title, fill="black")
    draw.text((width // 2 - 110, height - 20), "self-BLEU-4 (lower: more diverse)",
              fill="black")
    draw.text((8, top - 16), "BLEU-4 (quality)", fill="black")
    for i, (branch, points) in enumerate(curves.items()):
        color = COLORS.get(branch, (100, 100, 100))
        pixels = [px(p[2], p[1]) for p in points]
        draw.line(pixels, fill=color, width=2)
        for (x, y), point in zip(pixels, points, strict=True):
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=color)
            draw.text((x + 5, y - 14), f"T={point[0]:g}", fill=color)
        draw.rectangle([width - 160, top + 10 + 18 * i, width - 150, top + 20 + 18 * i],
                       fill=color)
        draw.text((width - 145, top + 8 + 18 * i), branch, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def frontier_section(work: Path, branches: dict[str, str], temperatures: tuple[float, ...],
                     n: int, seed: int, png: Path) -> str:
    """The sweep of every branch in `work`, as a Markdown section (the PNG written to `png`)."""
    curves = {name: sweep(work / name, temperatures, n, seed) for name in branches}
    plot(curves, png, f"quality-diversity frontier, {n} samples per point, seed {seed}")
    lines = ["## Quality-diversity frontier (temperature sweep)", "",
             f"{n} samples per point from each branch's final EMA generator, sampling seed {seed},"
             f" temperatures {', '.join(f'{t:g}' for t in temperatures)}; BLEU-4 against the"
             " held-out lines, self-BLEU-4 among the samples. A point is dominated when another"
             f" branch's curve has a point better on both. Curves: `{png.name}`.", "",
             *table(curves, branches), "", *verdict(curves), ""]
    return "\n".join(lines)
