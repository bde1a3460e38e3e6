"""ganx.metrics: the building blocks of evaluation metrics, for every domain and any plugin.

    from ganx.metrics import frechet_distance, feature_extractor, reference_stats

- distances on feature matrices (N, D): `frechet_distance` (FID's formula),
  `kernel_inception_distance` (KID, with its standard deviation), `precision_recall`
  (Kynkäänniemi et al. 2019) and `density_coverage` (Naeem et al. 2020);
- restoration quality on tensors: `psnr`, `ssim`;
- copying of the training set: `memorisation_report` (nearest-neighbour distances of generated
  samples against unseen real ones), `nearest`;
- a feature-extractor registry (`feature_extractor("inception")`, `register_feature_extractor`)
  and a cache of reference statistics keyed by extractor and data (`reference_stats`);
- sample writers: `save_image_grid`, `write_wav`, `spectrogram_pictures`;
- the protocol record of metric values: `MetricProtocol`, and `note_features` /
  `note_protocol` for what a metric adds to it while it runs.

Names load on first use: importing this package imports neither numpy nor torch, and the
distances import torch only when called. See docs/reference/metrics.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .digests import array_digest, file_digest, weights_digest
    from .distances import feature_stats, frechet_distance, frechet_distance_from_stats
    from .extractors import (
        FeatureExtractor,
        feature_extractor,
        feature_extractors,
        register_feature_extractor,
    )
    from .image_features import (
        FEATURE_NET_CODES,
        FeatureNet,
        image_feature_extractor,
        pixel_digest,
        to_pixels,
    )
    from .kid import kernel_inception_distance
    from .knn import KNN_K, density_coverage, precision_recall
    from .memorisation import (
        MemorisationReport,
        image_memorisation,
        memorisation_report,
        nearest,
    )
    from .protocol import MetricProtocol, note_features, note_protocol
    from .reference import Reference, reference_stats, score_features
    from .restoration import psnr, ssim
    from .threads import single_thread
    from .writers import save_image_grid, spectrogram_pictures, to_uint8, write_wav

_LAZY = {
    "array_digest": "digests",
    "file_digest": "digests",
    "weights_digest": "digests",
    "feature_stats": "distances",
    "frechet_distance": "distances",
    "frechet_distance_from_stats": "distances",
    "FeatureExtractor": "extractors",
    "feature_extractor": "extractors",
    "feature_extractors": "extractors",
    "register_feature_extractor": "extractors",
    "FEATURE_NET_CODES": "image_features",
    "FeatureNet": "image_features",
    "image_feature_extractor": "image_features",
    "pixel_digest": "image_features",
    "to_pixels": "image_features",
    "kernel_inception_distance": "kid",
    "MemorisationReport": "memorisation",
    "memorisation_report": "memorisation",
    "image_memorisation": "memorisation",
    "nearest": "memorisation",
    "KNN_K": "knn",
    "density_coverage": "knn",
    "precision_recall": "knn",
    "MetricProtocol": "protocol",
    "note_features": "protocol",
    "note_protocol": "protocol",
    "Reference": "reference",
    "reference_stats": "reference",
    "score_features": "reference",
    "psnr": "restoration",
    "ssim": "restoration",
    "single_thread": "threads",
    "save_image_grid": "writers",
    "spectrogram_pictures": "writers",
    "to_uint8": "writers",
    "write_wav": "writers",
}

__all__ = [
    "FEATURE_NET_CODES",
    "KNN_K",
    "FeatureExtractor",
    "FeatureNet",
    "MemorisationReport",
    "MetricProtocol",
    "Reference",
    "array_digest",
    "density_coverage",
    "feature_extractor",
    "feature_extractors",
    "feature_stats",
    "file_digest",
    "frechet_distance",
    "frechet_distance_from_stats",
    "image_feature_extractor",
    "image_memorisation",
    "kernel_inception_distance",
    "memorisation_report",
    "nearest",
    "note_features",
    "note_protocol",
    "pixel_digest",
    "precision_recall",
    "psnr",
    "reference_stats",
    "register_feature_extractor",
    "save_image_grid",
    "score_features",
    "single_thread",
    "spectrogram_pictures",
    "ssim",
    "to_pixels",
    "to_uint8",
    "weights_digest",
    "write_wav",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
