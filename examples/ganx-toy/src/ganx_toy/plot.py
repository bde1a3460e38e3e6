"""A scatter plot of generated points over the mode centres, drawn with Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 320


def scatter_png(points: np.ndarray, centers: np.ndarray, path: Path) -> None:
    extent = float(np.abs(centers).max()) * 1.5
    image = Image.new("RGB", (SIZE, SIZE), "white")
    draw = ImageDraw.Draw(image)

    def to_pixel(x: float, y: float) -> tuple[float, float]:
        return ((x / extent + 1) * SIZE / 2, (1 - y / extent) * SIZE / 2)

    for x, y in centers:
        px, py = to_pixel(x, y)
        draw.ellipse((px - 5, py - 5, px + 5, py + 5), outline=(200, 60, 60))
    for x, y in points:
        if np.isfinite(x) and np.isfinite(y):
            px, py = to_pixel(float(x), float(y))
            draw.point((px, py), fill=(30, 30, 120))
    image.save(path, format="PNG")
