"""KID against a direct numpy computation of the unbiased MMD² with the cubic kernel."""

from __future__ import annotations

import numpy as np
import pytest

from ganx.core.errors import RunError
from ganx.metrics import kernel_inception_distance
from ganx.metrics import kid as kid_module

from .conftest import gaussian


def direct_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² written out with loops over the off-diagonal pairs."""
    d = x.shape[1]

    def k(a, b):
        return (a @ b / d + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return float(xx + yy - 2 * xy)


def test_kid_of_whole_sets_is_the_unbiased_mmd_with_the_cubic_kernel():
    x, y = gaussian(60, 8, 7), gaussian(60, 8, 8, scale=1.3)
    mean, std = kernel_inception_distance(x, y, subsets=1, subset_size=1000)
    assert mean == pytest.approx(direct_mmd2(x, y), rel=1e-9)
    assert std == 0.0


def test_kid_mean_and_std_over_subsets_equal_a_direct_computation():
    x, y = gaussian(50, 6, 9), gaussian(45, 6, 10)
    mean, std = kernel_inception_distance(x, y, subsets=5, subset_size=20, seed=3)
    # the same subsets, drawn as the metric draws them: fake side first, then real
    rng = np.random.default_rng(3)
    fake_sets = [rng.choice(50, 20, replace=False) for _ in range(5)]
    real_sets = [rng.choice(45, 20, replace=False) for _ in range(5)]
    values = [direct_mmd2(x[a], y[b]) for a, b in zip(fake_sets, real_sets, strict=True)]
    assert mean == pytest.approx(np.mean(values), rel=1e-9)
    assert std == pytest.approx(np.std(values), rel=1e-9)


def test_kid_is_about_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    same, std = kernel_inception_distance(x, y, subsets=50, subset_size=300)
    shifted, _ = kernel_inception_distance(x, y + 0.5, subsets=50, subset_size=300)
    assert abs(same) < 3 * std / np.sqrt(50) + 1e-3
    assert shifted > 20 * abs(same) and shifted > 0.01


def test_kid_subset_paths_agree(monkeypatch):
    x, y = gaussian(150, 8, 10), gaussian(130, 8, 11)
    full = kernel_inception_distance(x, y, subsets=10, subset_size=100)
    monkeypatch.setattr(kid_module, "FULL_KERNEL_LIMIT", 10)  # one subset at a time
    assert kernel_inception_distance(x, y, subsets=10, subset_size=100) == pytest.approx(
        full, rel=1e-9)


def test_kid_needs_two_samples_per_side():
    with pytest.raises(RunError, match="at least 2 samples per side"):
        kernel_inception_distance(np.zeros((1, 3)), np.zeros((5, 3)))
