"""Shared fixtures of the ganx.metrics tests: fixed random feature sets and a private cache."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANX_IMAGE_FEATURES", raising=False)


def gaussian(n: int, d: int, seed: int, scale: float = 1.0) -> np.ndarray:
    """`n` correlated Gaussian features of width `d`, fixed by `seed`."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) / np.sqrt(d) * scale
    return rng.normal(size=(n, d)) @ mixing + rng.normal(size=d)
