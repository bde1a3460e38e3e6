"""The Fréchet distance against scipy's matrix square root and an independent eigenvalue route."""

from __future__ import annotations

import numpy as np
import pytest

from ganx.metrics import feature_stats, frechet_distance, frechet_distance_from_stats

from .conftest import gaussian

linalg = pytest.importorskip("scipy.linalg")


def scipy_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """The textbook formula with scipy.linalg.sqrtm of cov1 @ cov2."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    c1, c2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    root = linalg.sqrtm(c1 @ c2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1 + c2 - 2 * np.real(root)))


def eigenvalue_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """FID another way: eigenvalues of the non-symmetric product cov1 @ cov2."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    c1, c2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    cross = np.sqrt(np.clip(np.linalg.eigvals(c1 @ c2).real, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * cross)


@pytest.mark.parametrize(("seeds", "scale"), [((2, 3), 0.6), ((0, 1), 1.7)])
def test_frechet_distance_equals_the_scipy_sqrtm_reference(seeds, scale):
    f1, f2 = gaussian(400, 24, seeds[0]), gaussian(300, 24, seeds[1], scale=scale)
    value = frechet_distance(f1, f2)
    assert value == pytest.approx(scipy_fid(f1, f2), rel=1e-6)
    assert value == pytest.approx(eigenvalue_fid(f1, f2), rel=1e-6)
    assert value > 1.0


def test_the_two_entry_points_agree():
    f1, f2 = gaussian(200, 8, 4), gaussian(150, 8, 5)
    (mu1, c1), (mu2, c2) = feature_stats(f1), feature_stats(f2)
    assert frechet_distance_from_stats(mu1, c1, mu2, c2) == frechet_distance(f1, f2)
    assert mu1 == pytest.approx(f1.mean(0)) and np.allclose(c1, np.cov(f1, rowvar=False))


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    f = gaussian(500, 32, 4)
    _, cov = feature_stats(f)
    assert frechet_distance(f, f) < 1e-8 * np.trace(cov)
    shifts = [frechet_distance(f, f + s) for s in (0.1, 0.5, 1.0)]
    assert shifts == sorted(shifts)
    # equal covariances: FID is exactly the squared distance of the means
    assert shifts[-1] == pytest.approx(32 * 1.0**2, rel=1e-6)


def test_fewer_samples_than_dimensions():
    f1, f2 = gaussian(20, 64, 5), gaussian(20, 64, 6)
    value = frechet_distance(f1, f2)
    assert np.isfinite(value) and value == pytest.approx(eigenvalue_fid(f1, f2), rel=1e-5)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="differ in width"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"must be a matrix \(N, D\)"):
        frechet_distance(np.zeros(5), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="do not fit one dimension"):
        frechet_distance_from_stats(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))
