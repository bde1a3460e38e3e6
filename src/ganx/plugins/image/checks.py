"""Resolving and checking the image domain's settings against each other and the data, and the
small-data autopilot: on a dataset under `SMALL_DATA` images, `augment=auto` turns on adaptive
discriminator augmentation (ADA) and says so in one line."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from ganx.core.errors import ConfigError

from . import sources
from .networks import discriminator_norm

if TYPE_CHECKING:
    from .domain import ImageConfig

log = logging.getLogger("ganx")

SMALL_DATA = 5000
"""Below this many training images, `augment=auto` means ADA (StyleGAN2-ADA's experiments show
discriminators overfitting well before 5k images; above, it costs more than it helps)."""
RESOLUTIONS = {"dcgan": (16, 32, 64, 128), "resnet": (16, 32, 64, 128),
               "stylegan2": (16, 32, 64, 128, 256)}


def resolved(cfg: ImageConfig, data: str) -> ImageConfig:
    """`cfg` with channels, classes, d_norm and augment filled in from the data; a one-line
    ConfigError for any setting that does not fit the others."""
    valid = RESOLUTIONS[cfg.arch] if cfg.task == "generate" else (16, 32, 64, 128)
    if cfg.resolution not in valid:
        raise ConfigError(f"resolution {cfg.resolution}: use {', '.join(map(str, valid))}")
    channels, classes = sources.peek(data)
    changes: dict[str, Any] = {"d_norm": discriminator_norm(cfg),
                               "augment": _augmentation(cfg, data)}
    if cfg.channels == 0:
        changes["channels"] = channels
    elif cfg.channels not in (1, 3):
        raise ConfigError(f"channels {cfg.channels}: use 1, 3 or 0 (from the data)")
    _check_combinations(cfg)
    if cfg.conditional and cfg.num_classes == 0:
        if classes < 2:
            raise ConfigError(f"conditional training needs labels; {data or 'the data'} has"
                              " none (put images in one subfolder per class)")
        changes["num_classes"] = classes
    return dataclasses.replace(cfg, **changes)


def _augmentation(cfg: ImageConfig, data: str) -> str:
    """`augment` resolved: auto becomes ada on small data (to generate) and none otherwise."""
    if cfg.augment not in ("auto", "ada", "none", ""):
        from ganx.nn import parse_policy

        try:
            parse_policy(cfg.augment)
        except ValueError as exc:
            raise ConfigError(f"augment {cfg.augment!r}: {exc}, or auto, ada, none") from None
    if not 0 < cfg.ada_target < 1:
        raise ConfigError(f"ada_target {cfg.ada_target}: use a value between 0 and 1")
    if cfg.ada_kimg <= 0:
        raise ConfigError(f"ada_kimg {cfg.ada_kimg}: use a positive number of thousand images")
    if cfg.augment != "auto":
        return cfg.augment
    if cfg.task != "generate":
        return "none"
    images = sources.count(data)
    if images >= SMALL_DATA:
        return "none"
    log.info("small dataset (%d images, under %d): augment=ada, adaptive discriminator"
             " augmentation (set augment=none to train without)", images, SMALL_DATA)
    return "ada"


def _check_combinations(cfg: ImageConfig) -> None:
    restoring = cfg.task != "generate"
    if restoring and cfg.conditional:
        raise ConfigError("conditional=true applies to task=generate only")
    if restoring and cfg.d_norm == "spectral":
        raise ConfigError(f"d_norm=spectral applies to task=generate only; task={cfg.task}"
                          " uses the PatchGAN discriminator with BatchNorm")
    if cfg.arch in ("resnet", "stylegan2") and not restoring and cfg.d_norm == "batch":
        raise ConfigError(f"d_norm=batch applies to arch=dcgan only; the {cfg.arch}"
                          " discriminator has its own normalisation (use d_norm=auto)")
    if cfg.task == "superres" and (cfg.scale < 2 or cfg.resolution % cfg.scale):
        raise ConfigError(f"scale {cfg.scale}: use a factor of 2 or more that divides"
                          f" resolution {cfg.resolution}")
    if cfg.task == "inpaint" and not 0 < cfg.mask_size < 1:
        raise ConfigError(f"mask_size {cfg.mask_size}: use a share between 0 and 1")
    if not 0 <= cfg.style_mixing <= 1:
        raise ConfigError(f"style_mixing {cfg.style_mixing}: use a share between 0 and 1")
    if cfg.mapping_layers < 1:
        raise ConfigError(f"mapping_layers {cfg.mapping_layers}: use 1 or more")
