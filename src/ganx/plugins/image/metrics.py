"""Image metrics on network features: FID, KID and k-NN precision/recall; registered as
`image-fid` (the `image` domain's default metric).

- FID (Heusel et al. 2017): the Fréchet distance between Gaussians fitted to the two feature sets.
- KID (Bińkowski et al. 2018): the unbiased MMD² with the cubic polynomial kernel
  k(x, y) = (x·y / d + 1)³, averaged over random subsets (and its standard deviation).
- Precision and recall (Kynkäänniemi et al. 2019): the share of generated samples inside the real
  manifold, and of real samples inside the generated one, each manifold being the union of balls
  that reach every point's k-th nearest neighbour (k = 3).

`features.feature_network` picks the network (see there); results carry `feature_net` (2 Inception,
1 classifier, 0 random weights; metric values must be floats) and the choice is logged. Numbers
are comparable only between results with the same `feature_net` and sample counts.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganx.core import cache
from ganx.core.errors import RunError

from . import features as feats
from . import sources

log = logging.getLogger("ganx")

STATS_VERSION = 1
KNN_K = 3
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
FULL_KERNEL_LIMIT = 4096  # up to this many samples per side, KID uses one kernel matrix per pair


# -- statistics ---------------------------------------------------------------------------------

def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features (N, D), in float64."""
    x = np.asarray(features, dtype=np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray,
                     cov2: np.ndarray) -> float:
    """‖mu1 − mu2‖² + Tr(cov1 + cov2 − 2 (cov1 cov2)^½), in float64.

    Tr (cov1 cov2)^½ is the sum of the square roots of the eigenvalues of cov1 cov2, which has the
    eigenvalues of the symmetric PSD matrix cov1^½ cov2 cov1^½: two symmetric eigendecompositions,
    no complex parts to discard and no failure on singular covariances (fewer samples than dims).
    torch.linalg (MKL) on one thread does them: at 2048 dims that took 3 s here, numpy 15-22 s.
    """
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    c1 = torch.as_tensor(np.asarray(cov1), dtype=torch.float64)
    c2 = torch.as_tensor(np.asarray(cov2), dtype=torch.float64)
    with feats.single_thread():
        root = _psd_sqrt(c1)
        middle = root @ c2 @ root
        cross = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum().item()
    value = diff @ diff + c1.trace().item() + c2.trace().item() - 2.0 * cross
    return max(float(value), 0.0)  # rounding can leave a tiny negative for identical sets


# -- KID ----------------------------------------------------------------------------------------

def _cubic_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray) -> float:
    m, n = len(kxx), len(kyy)
    within_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * kxy.mean())


def _subset_sums(kernel: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """For each subset s: the sum of kernel[i, j] over i in rows[s], j in cols[s], given as 0/1
    indicator matrices (S, n): one matrix product instead of S gathers of m x m blocks."""
    return ((rows @ kernel) * cols).sum(axis=1)


def _indicators(n: int, m: int, subsets: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((subsets, n))
    for s in range(subsets):
        out[s, rng.choice(n, m, replace=False)] = 1.0
    return out


def kid(fake: np.ndarray, real: np.ndarray, *, subsets: int = KID_SUBSETS,
        subset_size: int = KID_SUBSET_SIZE, seed: int = 0) -> tuple[float, float]:
    """KID: mean and standard deviation over `subsets` random subsets (without replacement) of
    m = min(subset_size, n_fake, n_real) samples per side of the unbiased MMD² (Bińkowski et al.
    used 100 subsets of 1000)."""
    x, y = np.asarray(fake, np.float64), np.asarray(real, np.float64)
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise RunError(f"KID needs at least 2 samples per side (got {len(x)} and {len(y)})")
    if m == len(x) == len(y):
        subsets = 1  # every subset would be the whole of both sets (kid_std is then 0)
    rng = np.random.default_rng(seed)
    sx, sy = _indicators(len(x), m, subsets, rng), _indicators(len(y), m, subsets, rng)
    if max(len(x), len(y)) <= FULL_KERNEL_LIMIT:
        kxx, kyy, kxy = _cubic_kernel(x, x), _cubic_kernel(y, y), _cubic_kernel(x, y)
        within = m * (m - 1)
        values = ((_subset_sums(kxx, sx, sx) - sx @ np.diag(kxx)) / within
                  + (_subset_sums(kyy, sy, sy) - sy @ np.diag(kyy)) / within
                  - 2.0 * _subset_sums(kxy, sx, sy) / (m * m))
    else:  # the kernel matrices would not fit comfortably: one subset at a time
        values = []
        for rx, ry in zip(sx, sy, strict=True):
            xs, ys = x[rx > 0], y[ry > 0]
            values.append(_unbiased_mmd2(_cubic_kernel(xs, xs), _cubic_kernel(ys, ys),
                                         _cubic_kernel(xs, ys)))
    return float(np.mean(values)), float(np.std(values))


# -- precision and recall -----------------------------------------------------------------------

def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0)


def knn_radii(points: np.ndarray, k: int = KNN_K, chunk: int = 1024) -> np.ndarray:
    """Squared distance from each point to its k-th nearest other point."""
    x = np.asarray(points, np.float64)
    if len(x) <= k:
        raise RunError(f"k-NN precision/recall needs more than {k} samples (got {len(x)})")
    radii = []
    for start in range(0, len(x), chunk):
        d2 = _squared_distances(x[start: start + chunk], x)
        # the point itself is among the k + 1 smallest (distance 0): the k-th neighbour is at k
        radii.append(np.partition(d2, k, axis=1)[:, k])
    return np.concatenate(radii)


def inside_manifold(points: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                    chunk: int = 1024) -> np.ndarray:
    """For each point, whether it lies in some ball (centre, squared radius)."""
    x, c = np.asarray(points, np.float64), np.asarray(centres, np.float64)
    inside = [(_squared_distances(x[s: s + chunk], c) <= radii[None, :]).any(axis=1)
              for s in range(0, len(x), chunk)]
    return np.concatenate(inside)


def precision_recall(fake: np.ndarray, real: np.ndarray, k: int = KNN_K) -> tuple[float, float]:
    """Improved precision and recall with k-NN manifolds (Kynkäänniemi et al. 2019)."""
    precision = inside_manifold(fake, real, knn_radii(real, k)).mean()
    recall = inside_manifold(real, fake, knn_radii(fake, k)).mean()
    return float(precision), float(recall)


# -- reference statistics, cached ---------------------------------------------------------------

@dataclass
class Reference:
    """The real samples' features and their Gaussian statistics."""

    features: np.ndarray
    mean: np.ndarray
    cov: np.ndarray


def _reference_path(real: torch.Tensor, net: feats.FeatureNet) -> Path:
    """Keyed by the real samples themselves (as 8-bit pixels: data, subset and resolution) and
    by the feature network's identity."""
    pixels = feats.to_pixels(real).to(torch.uint8).contiguous().numpy()
    digest = hashlib.sha256(f"{STATS_VERSION}|{net.key}|{pixels.shape}|".encode())
    digest.update(pixels.tobytes())
    return sources.cache_dir() / "metrics" / f"ref-{net.kind}-{digest.hexdigest()[:24]}.npz"


def reference_stats(real: torch.Tensor, net: feats.FeatureNet) -> Reference:
    """Features, mean and covariance of `real` under `net`, from the cache when there."""
    path = _reference_path(real, net)
    cached = cache.load_arrays(path, "metric cache")
    if cached is not None and {"features", "mean", "cov"} <= cached.keys():
        return Reference(cached["features"], cached["mean"], cached["cov"])
    features = net(real)
    mean, cov = feature_stats(features)
    cache.save_arrays(path, "metric cache", {"features": features, "mean": mean, "cov": cov})
    return Reference(features, mean, cov)


# -- the registered metric ----------------------------------------------------------------------

def _check_inputs(fake: torch.Tensor, real: torch.Tensor) -> None:
    if real.ndim != 4 or real.shape[1] not in (1, 3):
        raise RunError(f"image metrics expect (N, 1 or 3, H, W) images, got {tuple(real.shape)}")
    if fake.shape[1:] != real.shape[1:]:
        raise RunError(f"generated samples {tuple(fake.shape[1:])} differ from real samples"
                       f" {tuple(real.shape[1:])}")
    if min(len(fake), len(real)) <= KNN_K:
        raise RunError(f"image metrics need more than {KNN_K} samples per side"
                       f" (got {len(fake)} generated, {len(real)} real)")


def score_features(fake: np.ndarray, ref: Reference) -> dict[str, float]:
    """FID, KID and precision/recall of generated features against a reference."""
    mean, cov = feature_stats(fake)
    kid_mean, kid_std = kid(fake, ref.features)
    precision, recall = precision_recall(fake, ref.features)
    return {
        "fid": frechet_distance(mean, cov, ref.mean, ref.cov),
        "kid": kid_mean,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
    }


def image_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    """The `image-fid` metric: FID, KID (± std), precision and recall (k = 3) of `fake` against
    `real` (N, C, H, W) in [-1, 1], with `feature_net` telling which network measured them."""
    _check_inputs(fake, real)
    net = feats.feature_network(real.shape[-1], real.shape[1])
    log.info("image-fid: features from %s (feature_net=%g)", net.description,
             feats.KIND_CODES[net.kind])
    if net.kind == "inception" and net.device.type == "cpu" and len(fake) > 500:
        log.warning("image-fid: Inception on the CPU runs at a few images/s; %d samples take"
                    " minutes (GANX_IMAGE_FEATURES=classifier is fast)", len(fake))
    ref = reference_stats(real, net)
    results = score_features(net(fake), ref)
    results.update(n_fake=float(len(fake)), n_real=float(len(real)),
                   feature_net=feats.KIND_CODES[net.kind])
    return results
