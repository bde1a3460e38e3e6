"""The feature-extractor registry: named networks that turn samples into feature matrices
(N, D), so that every domain's FID-style metric is the same code on different features.

An extractor is any object with a `name`, a `digest` (a string that changes whenever the features
would: the weights' checksum and the input handling; it keys cached reference statistics), a
one-line `description`, and `__call__(samples) -> np.ndarray (N, D)`. A factory builds one from
keyword options; registering it as a "package.module:attribute" string keeps torch unimported
until an extractor is built. This module imports neither numpy nor torch.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ganx.core.errors import ConfigError, RunError
from ganx.core.registry import Entry

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@runtime_checkable
class FeatureExtractor(Protocol):
    """What `feature_extractor` returns and what a registered factory must build."""

    @property
    def name(self) -> str:
        """The registry name (file names of cached statistics include it)."""

    @property
    def digest(self) -> str:
        """Identity of the features: weights checksum and input handling."""

    @property
    def description(self) -> str:
        """One line for logs: which network, which weights."""

    def __call__(self, samples: Any, /) -> npt.NDArray[np.floating[Any]]:
        """Features (N, D) of N samples (tensors, lists of strings: whatever the network reads)."""


Factory = Callable[..., FeatureExtractor]

# ganx's own extractors, as lazy references: listing or registering imports nothing heavy.
# "image-classifier" and "audio-digits" learn from data their domains ship or synthesise, so their
# code stays in those plugins; any domain reaches them through this registry.
_BUILTIN: dict[str, str] = {
    "inception": "ganx.metrics.inception:inception_extractor",
    "image-random": "ganx.metrics.image_features:random_extractor",
    "image-classifier": "ganx.plugins.image.features:classifier_extractor",
    "audio-digits": "ganx.plugins.audio.classifier:digit_extractor",
    "sentence-minilm": "ganx.plugins.text.embedding:sentence_extractor",
}
_targets: dict[str, Factory | str] = dict(_BUILTIN)
"""Every registered name with the factory as registered (a callable or a lazy reference)."""
_factories: dict[str, Factory] = {}
"""The factories resolved so far."""


def register_feature_extractor(name: str, factory: Factory | str) -> None:
    """Register `factory` (a callable taking keyword options, or "package.module:attribute"
    naming one) under `name`. Registering the same factory again under the same name does
    nothing, so a plugin hook may run once per plugin host; another factory under a taken name
    is a ConfigError."""
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise ConfigError(f"feature extractor name {name!r}: use a non-empty name without"
                          " surrounding spaces")
    if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
        raise ConfigError(f"feature extractor {name!r}: the factory must be a callable or a"
                          f" 'package.module:attribute' string, got {factory!r}")
    taken = _targets.get(name)
    if taken is not None and taken != factory:
        raise ConfigError(f"feature extractor {name!r} is already registered ({taken!r});"
                          " choose another name")
    _targets[name] = factory


def feature_extractors() -> list[str]:
    """The registered names, sorted."""
    return sorted(_targets)


def _factory(name: str) -> Factory:
    if name not in _factories:
        target = _targets.get(name)
        if target is None:
            raise ConfigError(f"unknown feature extractor {name!r}; registered:"
                              f" {', '.join(feature_extractors())}")
        try:
            _factories[name] = Entry(name, target, "").resolve("feature extractor")
        except RunError as exc:
            raise ConfigError(f"feature extractor {name!r}: cannot load {target!r}:"
                              f" {exc.__cause__}") from None
    return _factories[name]


def _check_options(name: str, factory: Factory, options: dict[str, Any]) -> None:
    try:
        inspect.signature(factory).bind(**options)
    except TypeError:
        accepted = [p.name for p in inspect.signature(factory).parameters.values()
                    if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
        given = ", ".join(sorted(options)) or "none"
        raise ConfigError(f"feature extractor {name!r}: options {given} do not fit; it takes"
                          f" {', '.join(accepted) or 'no options'}") from None


def feature_extractor(name: str, **options: Any) -> FeatureExtractor:
    """Build the extractor registered as `name` with keyword `options` (e.g.
    `feature_extractor("image-random", channels=1)`). An unknown name or an option the factory
    does not take is a one-line ConfigError."""
    factory = _factory(name)
    _check_options(name, factory, options)
    extractor = factory(**options)
    if not isinstance(extractor, FeatureExtractor):
        raise TypeError(f"feature extractor {name!r}: the factory returned"
                        f" {type(extractor).__name__}, which lacks name, digest, description or"
                        " __call__")
    return extractor
