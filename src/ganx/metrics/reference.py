"""Reference statistics, cached, and the FID-style scores against them.

`reference_stats` computes the real samples' features and Gaussian statistics once and keeps them
under `$GANX_HOME/<namespace>/metrics/` (each domain its own namespace), in a file named by the
extractor and keyed by its digest and the caller's digest of the data: a different network,
different weights or different data give a different file. The files are ganx's verified cache
(`ganx.core.cache`): a damaged one is reported and rebuilt.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ganx.core import cache
from ganx.core.errors import ConfigError

from .distances import feature_stats, frechet_distance_from_stats
from .extractors import FeatureExtractor
from .kid import kernel_inception_distance
from .knn import precision_recall

STATS_VERSION = 2  # 2: keyed by extractor digest and data digest (ganx.metrics)
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Reference:
    """Real samples' features (N, D) and their mean (D,) and covariance (D, D)."""

    features: npt.NDArray[np.floating[Any]]
    mean: npt.NDArray[np.float64]
    cov: npt.NDArray[np.float64]


def reference_path(extractor: FeatureExtractor, namespace: str, data_digest: str) -> Path:
    """Where `reference_stats` caches the statistics of that extractor on that data."""
    if not _SAFE.fullmatch(namespace):
        raise ConfigError(f"cache namespace {namespace!r}: use letters, digits, '.', '_' or '-'"
                          " (your domain's name)")
    key = hashlib.sha256(f"{STATS_VERSION}|{extractor.digest}|{data_digest}".encode())
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", extractor.name)
    return cache.domain_dir(namespace) / "metrics" / f"ref-{stem}-{key.hexdigest()[:24]}.npz"


def reference_stats(extractor: FeatureExtractor, samples: Any, *, namespace: str,
                    data_digest: str) -> Reference:
    """Features, mean and covariance of `samples` under `extractor`, from the cache when there.

    `data_digest` must change whenever the samples do (e.g. `array_digest(samples)`, or
    `pixel_digest(images)` for images); `namespace` is the cache folder, your domain's name.
    """
    path = reference_path(extractor, namespace, data_digest)
    cached = cache.load_arrays(path, "metric cache")
    if cached is not None and {"features", "mean", "cov"} <= cached.keys():
        return Reference(cached["features"], cached["mean"], cached["cov"])
    features = np.asarray(extractor(samples))
    mean, cov = feature_stats(features)
    cache.save_arrays(path, "metric cache", {"features": features, "mean": mean, "cov": cov})
    return Reference(features, mean, cov)


def score_features(fake_features: npt.ArrayLike, reference: Reference) -> dict[str, float]:
    """FID-style scores of generated features against a reference: `fid` (the Fréchet
    distance), `kid` and `kid_std` (100 subsets of up to 1000), `precision` and `recall`
    (k = 3)."""
    fake = np.asarray(fake_features)
    mean, cov = feature_stats(fake)
    kid_mean, kid_std = kernel_inception_distance(fake, reference.features)
    precision, recall = precision_recall(fake, reference.features)
    return {
        "fid": frechet_distance_from_stats(mean, cov, reference.mean, reference.cov),
        "kid": kid_mean,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
    }
