"""Reference statistics cached per namespace, keyed by extractor digest and data digest; the
FID-style scores against them; the digests."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pytest

from ganx.core.errors import ConfigError
from ganx.metrics import (
    array_digest,
    density_coverage,
    feature_stats,
    frechet_distance,
    kernel_inception_distance,
    precision_recall,
    reference_stats,
    score_features,
)
from ganx.metrics.reference import reference_path

from .conftest import gaussian


@dataclass
class Counting:
    """An extractor that is the identity on feature matrices and counts its calls."""

    digest: str = "identity:1"
    name: str = "identity"
    description: str = "the samples themselves"
    calls: list[int] = field(default_factory=list)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        self.calls.append(len(samples))
        return np.asarray(samples, np.float64)


def test_statistics_are_computed_once_then_read_from_the_cache(tmp_path):
    real = gaussian(50, 4, 0)
    net = Counting()
    first = reference_stats(net, real, namespace="mydomain", data_digest=array_digest(real))
    again = reference_stats(net, real, namespace="mydomain", data_digest=array_digest(real))
    assert net.calls == [50]
    mean, cov = feature_stats(real)
    for ref in (first, again):
        assert np.array_equal(ref.features, real)
        assert np.array_equal(ref.mean, mean) and np.array_equal(ref.cov, cov)
    (path,) = (tmp_path / "home" / "mydomain" / "metrics").glob("ref-identity-*.npz")
    assert path == reference_path(net, "mydomain", array_digest(real))


def test_other_data_another_network_or_another_namespace_is_another_file():
    real = gaussian(30, 3, 1)
    digest = array_digest(real)
    base = reference_path(Counting(), "image", digest)
    assert reference_path(Counting(), "image", array_digest(real + 1)) != base
    assert reference_path(Counting(digest="identity:2"), "image", digest) != base
    medical = reference_path(Counting(), "medical", digest)
    assert medical.parent.parent.name == "medical" and base.parent.parent.name == "image"


def test_a_damaged_cache_file_is_rebuilt(caplog):
    real = gaussian(40, 3, 2)
    net = Counting()
    reference_stats(net, real, namespace="image", data_digest="d1")
    path = reference_path(net, "image", "d1")
    path.write_bytes(path.read_bytes()[:200])
    with caplog.at_level(logging.WARNING, logger="ganx"):
        ref = reference_stats(net, real, namespace="image", data_digest="d1")
    assert net.calls == [40, 40] and "metric cache" in caplog.text
    assert np.array_equal(ref.features, real)


@pytest.mark.parametrize("namespace", ["", "../image", "a/b", " image"])
def test_a_namespace_must_be_a_plain_name(namespace):
    with pytest.raises(ConfigError, match="cache namespace"):
        reference_stats(Counting(), np.zeros((4, 2)), namespace=namespace, data_digest="x")


def test_score_features_are_the_public_functions_together():
    real, fake = gaussian(80, 5, 3), gaussian(70, 5, 4, scale=1.2)
    ref = reference_stats(Counting(), real, namespace="image", data_digest=array_digest(real))
    scores = score_features(fake, ref)
    kid, kid_std = kernel_inception_distance(fake, real)
    precision, recall = precision_recall(fake, real)
    assert scores == {"fid": frechet_distance(fake, real), "kid": kid, "kid_std": kid_std,
                      "precision": precision, "recall": recall}
    assert density_coverage(fake, real)[1] <= 1.0


def test_array_digest_sees_values_shapes_and_types():
    a = np.arange(6, dtype=np.int64)
    assert array_digest(a) == array_digest(a.copy())
    assert array_digest(a) != array_digest(a.reshape(2, 3))
    assert array_digest(a) != array_digest(a.astype(np.int32))
    assert array_digest(a) != array_digest(a + 1)
    assert array_digest(a, a) != array_digest(a)
