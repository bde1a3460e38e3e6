"""The image domain's generators and discriminators, by `arch` and `task`, from `ganx.nn`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

    from .domain import ImageConfig


def discriminator_norm(cfg: ImageConfig) -> str:
    """`d_norm` with auto resolved: spectral to generate, batch (PatchGAN) to restore."""
    if cfg.d_norm != "auto":
        return cfg.d_norm
    return "spectral" if cfg.task == "generate" else "batch"


def generator(cfg: ImageConfig) -> nn.Module:
    if cfg.task != "generate":
        from ganx.nn import UNetGenerator, input_channels

        return UNetGenerator(input_channels(cfg.task, cfg.channels), cfg.channels,
                             cfg.resolution, cfg.width, cfg.task)
    classes = cfg.num_classes if cfg.conditional else 0
    if cfg.arch == "stylegan2":
        from ganx.nn import StyleGAN2Generator

        return StyleGAN2Generator(cfg.latent_dim, cfg.channels, cfg.resolution, cfg.width,
                                  classes, mapping_layers=cfg.mapping_layers,
                                  style_mixing=cfg.style_mixing)
    if cfg.arch == "resnet":
        from ganx.nn import ResNetGenerator

        return ResNetGenerator(cfg.latent_dim, cfg.channels, cfg.resolution, cfg.width, classes)
    from ganx.nn import DCGANGenerator

    return DCGANGenerator(cfg.latent_dim, cfg.channels, cfg.resolution, cfg.width, classes)


def discriminator(cfg: ImageConfig) -> nn.Module:
    """The discriminator, wrapped in its augmentation (ADA or a DiffAugment policy)."""
    classes = cfg.num_classes if cfg.conditional else 0
    d: nn.Module
    if cfg.task != "generate":
        from ganx.nn import PatchDiscriminator, input_channels

        d = PatchDiscriminator(cfg.channels, input_channels(cfg.task, cfg.channels), cfg.width)
    elif cfg.arch == "stylegan2":
        from ganx.nn import StyleGAN2Discriminator

        d = StyleGAN2Discriminator(cfg.channels, cfg.resolution, cfg.width, classes)
    elif cfg.arch == "resnet":
        from ganx.nn import ResNetDiscriminator

        d = ResNetDiscriminator(cfg.channels, cfg.resolution, cfg.width, classes)
    else:
        from ganx.nn import DCGANDiscriminator

        d = DCGANDiscriminator(cfg.channels, cfg.resolution, cfg.width, classes,
                               spectral=discriminator_norm(cfg) == "spectral")
    return _augmented(d, cfg)


def _augmented(d: nn.Module, cfg: ImageConfig) -> nn.Module:
    if cfg.augment == "ada":
        from ganx.nn import AdaptiveAugment

        return AdaptiveAugment(d, target=cfg.ada_target, speed_kimg=cfg.ada_kimg)
    if cfg.augment in ("", "none", "auto"):
        return d
    from ganx.nn import AugmentedDiscriminator, parse_policy

    return AugmentedDiscriminator(d, parse_policy(cfg.augment))
