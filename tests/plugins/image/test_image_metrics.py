"""The image domain's metric `image-fid` and its feature classifier (`image-classifier`). The
distances themselves are tested in tests/metrics."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch

from ganx.core.errors import RunError
from ganx.metrics import file_digest, image_feature_extractor
from ganx.plugins import image as image_plugin
from ganx.plugins.image import features, sources
from ganx.plugins.image.domain import ImageConfig, ImageDomain
from ganx.plugins.image.metrics import image_metrics


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANX_IMAGE_FEATURES", raising=False)


def fashion(n: int, resolution: int = 16, offset: int = 0) -> torch.Tensor:
    """`n` shipped Fashion-MNIST images in [-1, 1], as the discriminator sees them."""
    images = sources.load("", resolution, 1).images[offset: offset + n]
    return torch.from_numpy(images).float() / 127.5 - 1.0


# -- the feature classifier ------------------------------------------------------------------------

def test_unlabelled_data_gets_the_random_network(tmp_path, caplog):
    from PIL import Image

    folder = tmp_path / "flat"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(folder / f"{i}.png")
    with caplog.at_level(logging.WARNING, logger="ganx"):
        net = features.classifier_network(str(folder), 16, 1)
    assert net.name == "image-random" and "no labels" in caplog.text


def test_classifier_is_reached_through_the_public_registry(monkeypatch):
    monkeypatch.setattr(features, "CLASSIFIER_MAX_IMAGES", 200)
    monkeypatch.setattr(features, "CLASSIFIER_EPOCHS", 1)
    net = image_feature_extractor(16, 1, "classifier")
    assert net.name == "image-classifier" and net.digest.startswith("image-classifier:")
    assert net(fashion(3)).shape == (3, 128)


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
    assert meta["sha256"] == file_digest(meta_file.with_suffix(".pt"))
    assert len(list((home / "metrics").glob("ref-image-classifier-*.npz"))) == 1
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


# -- the default: a quality number at the end, from the fastest honest network ---------------------

def test_the_default_run_evaluates_at_the_end_with_the_fast_network():
    from ganx.core.config import stored_domain_config

    domain = ImageDomain()
    assert domain.train_defaults["eval_every"] == 0
    assert ImageConfig().eval_features == "fast"
    # runs made before the field existed keep measuring as they did
    assert stored_domain_config(ImageConfig, {}, "old run").eval_features == "auto"


def test_fast_features_learn_the_runs_own_labelled_data_or_are_random(monkeypatch, tmp_path):
    from PIL import Image

    from ganx.core.evaluation import EvaluationContext, evaluating
    from ganx.core.metric_protocol import collecting

    monkeypatch.setattr(features, "CLASSIFIER_MAX_IMAGES", 200)
    monkeypatch.setattr(features, "CLASSIFIER_EPOCHS", 1)
    cfg = ImageConfig(resolution=16, channels=1)
    real, other = fashion(40), fashion(40, offset=40)
    with evaluating(EvaluationContext("", None, 1, "train")), collecting() as notes:
        values = image_metrics(other, real, cfg)
    assert values["feature_net"] == 1.0
    assert notes["features"] == "image-classifier" and notes["feature_choice"] == "fast"
    assert "trained on fashion-mnist-mini at 16px" in notes["features_description"]

    flat = tmp_path / "flat"  # no class folders: no labels to learn from
    flat.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(flat / f"{i}.png")
    with evaluating(EvaluationContext(str(flat), None, 1, "train")), collecting() as notes:
        assert image_metrics(other, real, cfg)["feature_net"] == 0.0
    assert notes["features"] == "image-random"

    monkeypatch.setenv("GANX_IMAGE_FEATURES", "random")  # the environment still overrides
    with evaluating(EvaluationContext("", None, 1, "train")), collecting() as notes:
        image_metrics(other, real, cfg)
    assert notes["features"] == "image-random"
    assert notes["feature_choice"] == "GANX_IMAGE_FEATURES=random"
