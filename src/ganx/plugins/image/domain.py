"""The `image` domain: GANs on folders of images and on named image datasets."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from ganx.core.config import DomainConfig
from ganx.core.domain import Domain
from ganx.core.errors import ConfigError


@dataclass
class ImageConfig(DomainConfig):
    resolution: int = 32
    """Square image size in pixels: 16, 32, 64 or 128. Images are centre-cropped and resized."""
    channels: int = 0
    """1 (grey) or 3 (colour); 0 takes them from the data."""
    conditional: bool = False
    """Class-conditional training when the data has labels (class subfolders, named sets)."""
    num_classes: int = 0
    """Number of classes; 0 takes it from the data when conditional."""
    arch: Literal["dcgan"] = "dcgan"
    """Network family: dcgan (Radford et al. 2016)."""
    latent_dim: int = 100
    width: int = 64
    """Channels of the widest-resolution layer (ngf/ndf in the DCGAN paper)."""


class ImageDomain(Domain):
    name = "image"
    description = "images from a folder or a named dataset (default: Fashion-MNIST subset)"
    Config = ImageConfig
    # the DCGAN paper's optimiser settings
    train_defaults: ClassVar[dict[str, Any]] = {
        "g_lr": 2e-4, "d_lr": 2e-4, "betas": (0.5, 0.999), "r1_gamma": 0.0, "batch_size": 64,
        "steps": 5000, "sample_every": 500, "checkpoint_every": 1000, "eval_every": -1,
    }

    def resolve_config(self, cfg: ImageConfig, data: str) -> ImageConfig:
        from . import sources

        if cfg.resolution not in (16, 32, 64, 128):
            raise ConfigError(f"resolution {cfg.resolution}: use 16, 32, 64 or 128")
        channels, classes = sources.peek(data)
        changes: dict[str, Any] = {}
        if cfg.channels == 0:
            changes["channels"] = channels
        elif cfg.channels not in (1, 3):
            raise ConfigError(f"channels {cfg.channels}: use 1, 3 or 0 (from the data)")
        if cfg.conditional and cfg.num_classes == 0:
            if classes < 2:
                raise ConfigError(f"conditional training needs labels; {data or 'the data'} has"
                                  " none (put images in one subfolder per class)")
            changes["num_classes"] = classes
        return dataclasses.replace(cfg, **changes)

    def build_dataset(self, cfg: ImageConfig, data: str):
        import torch

        from . import sources

        images = sources.load(data, cfg.resolution, cfg.channels)
        tensor = torch.from_numpy(images.images)
        if cfg.conditional:
            if images.labels is None:
                raise ConfigError(f"conditional training needs labels; {data} has none")
            return tensor, torch.from_numpy(images.labels)
        return tensor

    def build_generator(self, cfg: ImageConfig):
        from .dcgan import DCGANGenerator

        return DCGANGenerator(cfg.latent_dim, cfg.channels, cfg.resolution, cfg.width,
                              cfg.num_classes if cfg.conditional else 0)

    def build_discriminator(self, cfg: ImageConfig):
        from .dcgan import DCGANDiscriminator

        return DCGANDiscriminator(cfg.channels, cfg.resolution, cfg.width,
                                  cfg.num_classes if cfg.conditional else 0)

    def generate(self, cfg: ImageConfig, generator_net, n: int, *, device, rng):
        import torch

        z = self.sample_latent(cfg, n, device=device, generator=rng)
        if not cfg.conditional:
            return generator_net(z)
        # cycle through the classes so a grid shows each class in turn
        labels = torch.arange(n, device=device) % cfg.num_classes
        return generator_net(z, labels)

    def write_samples(self, cfg: ImageConfig, samples, out_dir: Path, tag: str) -> list[Path]:
        from .writer import save_grid

        path = out_dir / f"{tag}.png"
        nrow = cfg.num_classes if cfg.conditional else math.ceil(math.sqrt(len(samples)))
        save_grid(samples, path, nrow=nrow)
        return [path]

    def datasets(self) -> list[tuple[str, str, str | None]]:
        from . import sources

        return [(s.name, s.description, s.available()) for s in sources.NAMED.values()]
