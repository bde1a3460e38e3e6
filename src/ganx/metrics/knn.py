"""Fidelity and diversity from k-nearest-neighbour balls around each sample, on any features:

- precision and recall (Kynkäänniemi et al. 2019): the share of generated samples inside the real
  manifold, and of real samples inside the generated one, each manifold being the union of balls
  that reach every point's k-th nearest neighbour (a point on a ball's surface is inside);
- density and coverage (Naeem et al. 2020), with the real samples' balls only: density counts
  how many real balls hold each generated sample (divided by k, averaged; 1 on average for
  matching distributions, unbounded above), coverage is the share of real balls holding at least
  one generated sample. As in that paper's code, a point is inside a ball when strictly closer
  than its radius.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ganx.core.errors import RunError

from .distances import Array, as_features, check_widths

KNN_K = 3
"""Precision/recall's neighbourhood size (Kynkäänniemi et al. used 3)."""
DENSITY_K = 5
"""Density/coverage's neighbourhood size (Naeem et al. recommend 5)."""
CHUNK = 1024


def _squared_distances(a: Array, b: Array) -> Array:
    d2: Array = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0)


def knn_radii(points: npt.ArrayLike, k: int = KNN_K, chunk: int = CHUNK) -> Array:
    """Squared distance from each point (N, D) to its k-th nearest other point."""
    x = as_features(points, "points")
    if k < 1:
        raise ValueError(f"k = {k}: the neighbourhood size must be at least 1")
    if len(x) <= k:
        raise RunError(f"k-NN manifolds need more than {k} samples (got {len(x)})")
    radii = []
    for start in range(0, len(x), chunk):
        d2 = _squared_distances(x[start: start + chunk], x)
        # the point itself is among the k + 1 smallest (distance 0): the k-th neighbour is at k
        radii.append(np.partition(d2, k, axis=1)[:, k])
    return np.concatenate(radii)


def inside_manifold(points: npt.ArrayLike, centres: npt.ArrayLike, radii: npt.ArrayLike,
                    chunk: int = CHUNK) -> npt.NDArray[np.bool_]:
    """For each point, whether it lies in some ball (centre, squared radius), surface included."""
    x, c = as_features(points, "points"), as_features(centres, "centres")
    r = np.asarray(radii, np.float64)
    inside = [(_squared_distances(x[s: s + chunk], c) <= r[None, :]).any(axis=1)
              for s in range(0, len(x), chunk)]
    return np.concatenate(inside)


def precision_recall(fake_features: npt.ArrayLike, real_features: npt.ArrayLike,
                     k: int = KNN_K) -> tuple[float, float]:
    """Improved precision and recall with k-NN manifolds (Kynkäänniemi et al. 2019)."""
    fake = as_features(fake_features, "fake features")
    real = as_features(real_features, "real features")
    check_widths(fake, real)
    precision = inside_manifold(fake, real, knn_radii(real, k)).mean()
    recall = inside_manifold(real, fake, knn_radii(fake, k)).mean()
    return float(precision), float(recall)


def density_coverage(fake_features: npt.ArrayLike, real_features: npt.ArrayLike,
                     k: int = DENSITY_K, chunk: int = CHUNK) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) of generated features against real ones, with
    balls reaching each real sample's k-th nearest real neighbour (strictly inside counts)."""
    fake = as_features(fake_features, "fake features")
    real = as_features(real_features, "real features")
    check_widths(fake, real)
    radii = knn_radii(real, k, chunk)
    hits = 0
    for s in range(0, len(fake), chunk):
        hits += int((_squared_distances(fake[s: s + chunk], real) < radii[None, :]).sum())
    # per real ball: the nearest generated sample's squared distance, chunk by chunk of real
    nearest = np.concatenate([_squared_distances(real[s: s + chunk], fake).min(axis=1)
                              for s in range(0, len(real), chunk)])
    density = hits / (k * len(fake))
    coverage = float((nearest < radii).mean())
    return float(density), coverage
