"""Precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020) against
brute-force numpy references that follow the papers' definitions point by point."""

from __future__ import annotations

import numpy as np
import pytest

from ganx.core.errors import RunError
from ganx.metrics import density_coverage, precision_recall
from ganx.metrics.knn import knn_radii

from .conftest import gaussian


def overlapping(n_real: int, n_fake: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Real samples and a wider, shifted fake set that overlaps them in part."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_real, d)), rng.normal(size=(n_fake, d)) * 1.3 + 0.4


def kth_neighbour_distance(points: np.ndarray, k: int) -> np.ndarray:
    """Euclidean distance from each point to its k-th nearest other point, by sorting."""
    out = []
    for i, p in enumerate(points):
        others = np.delete(points, i, axis=0)
        out.append(np.sort(np.linalg.norm(others - p, axis=1))[k - 1])
    return np.array(out)


def brute_precision_recall(fake: np.ndarray, real: np.ndarray, k: int) -> tuple[float, float]:
    def inside(points, centres):
        radius = kth_neighbour_distance(centres, k)
        return np.mean([any(np.linalg.norm(c - p) <= r for c, r in zip(centres, radius,
                                                                        strict=True))
                        for p in points])

    return float(inside(fake, real)), float(inside(real, fake))


def brute_density_coverage(fake: np.ndarray, real: np.ndarray, k: int) -> tuple[float, float]:
    radius = kth_neighbour_distance(real, k)
    within = np.array([[np.linalg.norm(r - f) < rad for r, rad in zip(real, radius, strict=True)]
                       for f in fake])  # (fake, real)
    density = within.sum() / (k * len(fake))
    coverage = within.any(axis=0).mean()
    return float(density), float(coverage)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_precision_recall_equal_the_brute_force_reference(k):
    real, fake = overlapping(120, 90, 6, seed=20)
    ours = precision_recall(fake, real, k=k)
    assert ours == pytest.approx(brute_precision_recall(fake, real, k), rel=1e-6)
    assert 0.0 < ours[0] < 1.0 and 0.0 < ours[1] < 1.0  # neither trivially 0 nor 1


@pytest.mark.parametrize("k", [2, 5])
def test_density_coverage_equal_the_brute_force_reference(k):
    real, fake = overlapping(110, 80, 5, seed=22)
    density, coverage = density_coverage(fake, real, k=k)
    ref_density, ref_coverage = brute_density_coverage(fake, real, k)
    assert density == pytest.approx(ref_density, rel=1e-6)
    assert coverage == pytest.approx(ref_coverage, rel=1e-6)
    assert 0.0 < coverage < 1.0 and density > 0.0


def test_chunking_does_not_change_the_results():
    real, fake = gaussian(70, 4, 24), gaussian(60, 4, 25)
    assert density_coverage(fake, real, chunk=7) == density_coverage(fake, real)
    # equal to rounding: blocks of other shapes may take other BLAS kernels (one thread or two)
    np.testing.assert_allclose(knn_radii(real, 3, chunk=5), knn_radii(real, 3), rtol=1e-12)


def test_knn_radii_are_squared_kth_neighbour_distances():
    points = gaussian(40, 3, 26)
    assert knn_radii(points, 4) == pytest.approx(kth_neighbour_distance(points, 4) ** 2,
                                                 rel=1e-9)


def test_identical_and_disjoint_sets():
    points = gaussian(200, 4, 12)
    assert precision_recall(points, points.copy()) == (1.0, 1.0)
    assert precision_recall(points + 1000.0, points) == (0.0, 0.0)
    density, coverage = density_coverage(points.copy(), points)
    # every real ball's k-th neighbour lies exactly on its surface here, so which side rounding
    # puts it depends on the BLAS kernel (thread count, CPU): equal to within those ties
    assert coverage == 1.0 and density == pytest.approx(
        brute_density_coverage(points, points, 5)[0], rel=0.03)
    assert density_coverage(points + 1000.0, points) == (0.0, 0.0)


def test_a_generator_that_drops_a_mode():
    rng = np.random.default_rng(13)
    mode_a, mode_b = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 50.0
    real = np.concatenate([mode_a, mode_b])
    fake = rng.normal(size=(200, 2))  # every sample from mode a
    precision, recall = precision_recall(fake, real)
    assert precision > 0.9  # what it makes looks real
    assert 0.4 <= recall <= 0.55  # but half of the real data is out of its reach
    density, coverage = density_coverage(fake, real)
    # twice the real density in half the balls: about one per ball on average, half covered
    assert 0.4 <= coverage <= 0.55 and 0.8 <= density <= 1.3


def test_too_few_samples_and_bad_k():
    with pytest.raises(RunError, match="more than 3 samples"):
        precision_recall(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(RunError, match="more than 5 samples"):
        density_coverage(np.zeros((9, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="at least 1"):
        knn_radii(np.zeros((9, 2)), 0)
    with pytest.raises(ValueError, match="differ in width"):
        density_coverage(np.zeros((9, 2)), np.zeros((9, 3)))
