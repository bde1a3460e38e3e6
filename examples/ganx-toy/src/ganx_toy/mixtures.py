"""The two standard 2-D mixtures from the Unrolled-GAN, VEEGAN and PacGAN papers."""

from __future__ import annotations

import numpy as np

RING_MODES, RING_RADIUS, RING_STD = 8, 2.0, 0.02
GRID_SIDE, GRID_SPACING, GRID_STD = 5, 2.0, 0.05


def centers(mixture: str) -> np.ndarray:
    """Mode centres, shape (K, 2)."""
    if mixture == "ring":
        angles = 2 * np.pi * np.arange(RING_MODES) / RING_MODES
        return RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if mixture == "grid":
        ticks = (np.arange(GRID_SIDE) - (GRID_SIDE - 1) / 2) * GRID_SPACING
        return np.array([(x, y) for x in ticks for y in ticks], dtype=np.float64)
    raise ValueError(f"unknown mixture {mixture!r}; valid: ring, grid")


def std(mixture: str) -> float:
    return RING_STD if mixture == "ring" else GRID_STD


def sample(mixture: str, n: int, seed: int) -> np.ndarray:
    """`n` points drawn uniformly over the modes, float32 (n, 2), deterministic in `seed`."""
    rng = np.random.default_rng(seed)
    c = centers(mixture)
    picks = rng.integers(0, len(c), size=n)
    return (c[picks] + rng.normal(0.0, std(mixture), size=(n, 2))).astype(np.float32)
