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
from ganx.restoration import RestorationTask

RESTORATION = RestorationTask(given="images",
                              pass_hint="them (ganx sample RUN --input FILE_OR_FOLDER)",
                              restores="images", generates="them")


@dataclass
class ImageConfig(DomainConfig):
    # snapshots from before d_norm existed trained the DCGAN discriminator with BatchNorm
    legacy_defaults: ClassVar[dict[str, Any]] = {"d_norm": "batch"}

    resolution: int = 32
    """Square image size in pixels: 16, 32, 64 or 128. Images are centre-cropped and resized."""
    channels: int = 0
    """1 (grey) or 3 (colour); 0 takes them from the data."""
    conditional: bool = False
    """Class-conditional training when the data has labels (class subfolders, named sets)."""
    num_classes: int = 0
    """Number of classes; 0 takes it from the data when conditional."""
    label: int = -1
    """Class drawn by `ganx sample` and snapshots of a conditional run; -1 cycles through all."""
    arch: Literal["dcgan", "resnet"] = "dcgan"
    """dcgan (Radford et al. 2016) or resnet (SNGAN: residual blocks, spectral-norm D)."""
    d_norm: Literal["auto", "batch", "spectral"] = "auto"
    """Normalisation in the discriminator: batch (the DCGAN paper) or spectral (SN-DCGAN,
    Miyato et al. 2018). auto: spectral to generate (lower FID than batch at 10k and 20k steps,
    benchmarks/results/image-quality-cpu.md), batch in the restoration tasks' PatchGAN. The resnet
    discriminator is always spectral."""
    augment: str = ""
    """DiffAugment policy for small datasets: comma-separated color, translation, cutout."""
    latent_dim: int = 100
    width: int = 64
    """Channels of the widest-resolution layer (ngf/ndf in the DCGAN paper)."""
    task: Literal["generate", "inpaint", "denoise", "superres"] = "generate"
    """generate: images from noise. inpaint, denoise, superres: restore images corrupted on the
    fly, with a U-Net generator and a PatchGAN discriminator (pix2pix)."""
    l1_weight: float = 100.0
    """Restoration: weight of the L1 distance to the clean image (pix2pix uses 100)."""
    mask_size: float = 0.4
    """inpaint: side of the square hole, as a share of the image side."""
    noise_std: float = 0.2
    """denoise: standard deviation of the added Gaussian noise, in [-1, 1] units."""
    scale: int = 4
    """superres: downsampling factor of the input."""


def discriminator_norm(cfg: ImageConfig) -> str:
    """`d_norm` with auto resolved: spectral to generate, batch (PatchGAN) to restore."""
    if cfg.d_norm != "auto":
        return cfg.d_norm
    return "spectral" if cfg.task == "generate" else "batch"


class ImageDomain(Domain):
    name = "image"
    description = "images from a folder or a named dataset (default: Fashion-MNIST subset)"
    Config = ImageConfig
    # the DCGAN paper's optimiser settings
    train_defaults: ClassVar[dict[str, Any]] = {
        "g_lr": 2e-4, "d_lr": 2e-4, "betas": (0.5, 0.999), "r1_gamma": 0.0, "batch_size": 64,
        "steps": 2000, "sample_every": 200, "checkpoint_every": 500, "eval_every": -1,
    }

    def train_defaults_for(self, cfg: ImageConfig) -> dict[str, Any]:
        if cfg.arch == "resnet" and cfg.task == "generate":
            # SNGAN's settings (Miyato et al. 2018): hinge loss, Adam betas (0, 0.9)
            return {**self.train_defaults, "loss": "hinge", "betas": (0.0, 0.9)}
        return dict(self.train_defaults)

    def resolve_config(self, cfg: ImageConfig, data: str) -> ImageConfig:
        from . import sources

        if cfg.resolution not in (16, 32, 64, 128):
            raise ConfigError(f"resolution {cfg.resolution}: use 16, 32, 64 or 128")
        channels, classes = sources.peek(data)
        changes: dict[str, Any] = {"d_norm": discriminator_norm(cfg)}
        if cfg.channels == 0:
            changes["channels"] = channels
        elif cfg.channels not in (1, 3):
            raise ConfigError(f"channels {cfg.channels}: use 1, 3 or 0 (from the data)")
        from ganx.nn import parse_policy

        try:
            parse_policy(cfg.augment)
        except ValueError as exc:
            raise ConfigError(f"augment {cfg.augment!r}: {exc}") from None
        restoring = cfg.task != "generate"
        if restoring and cfg.conditional:
            raise ConfigError("conditional=true applies to task=generate only")
        if restoring and cfg.d_norm == "spectral":
            raise ConfigError(f"d_norm=spectral applies to task=generate only; task={cfg.task}"
                              " uses the PatchGAN discriminator with BatchNorm")
        if cfg.arch == "resnet" and not restoring and cfg.d_norm == "batch":
            raise ConfigError("d_norm=batch applies to arch=dcgan only; the resnet discriminator"
                              " is always spectral (use d_norm=auto or spectral)")
        if cfg.task == "superres" and (cfg.scale < 2 or cfg.resolution % cfg.scale):
            raise ConfigError(f"scale {cfg.scale}: use a factor of 2 or more that divides"
                              f" resolution {cfg.resolution}")
        if cfg.task == "inpaint" and not 0 < cfg.mask_size < 1:
            raise ConfigError(f"mask_size {cfg.mask_size}: use a share between 0 and 1")
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
        if cfg.conditional and cfg.task == "generate":
            if images.labels is None:
                raise ConfigError(f"conditional training needs labels; {data} has none")
            return tensor, torch.from_numpy(images.labels)
        return tensor

    def build_generator(self, cfg: ImageConfig):
        if cfg.task != "generate":
            from ganx.nn import UNetGenerator, input_channels

            return UNetGenerator(input_channels(cfg.task, cfg.channels), cfg.channels,
                                 cfg.resolution, cfg.width, cfg.task)
        classes = cfg.num_classes if cfg.conditional else 0
        if cfg.arch == "resnet":
            from ganx.nn import ResNetGenerator

            return ResNetGenerator(cfg.latent_dim, cfg.channels, cfg.resolution, cfg.width,
                                   classes)
        from ganx.nn import DCGANGenerator

        return DCGANGenerator(cfg.latent_dim, cfg.channels, cfg.resolution, cfg.width, classes)

    def build_discriminator(self, cfg: ImageConfig):
        from ganx.nn import AugmentedDiscriminator, parse_policy

        if cfg.task != "generate":
            from ganx.nn import PatchDiscriminator, input_channels

            d = PatchDiscriminator(cfg.channels, input_channels(cfg.task, cfg.channels),
                                   cfg.width)
        elif cfg.arch == "resnet":
            from ganx.nn import ResNetDiscriminator

            d = ResNetDiscriminator(cfg.channels, cfg.resolution, cfg.width,
                                    cfg.num_classes if cfg.conditional else 0)
        else:
            from ganx.nn import DCGANDiscriminator

            d = DCGANDiscriminator(cfg.channels, cfg.resolution, cfg.width,
                                   cfg.num_classes if cfg.conditional else 0,
                                   spectral=discriminator_norm(cfg) == "spectral")
        policy = parse_policy(cfg.augment)
        return AugmentedDiscriminator(d, policy) if policy else d

    def default_metrics(self, cfg: ImageConfig):
        return ["image-fid"] if cfg.task == "generate" else ["image-restoration"]

    # -- restoration: corrupted inputs are the generator's condition ----------------------------

    def sample_latent(self, cfg: ImageConfig, n: int, *, device, generator):
        if RESTORATION.restoring(cfg):
            return RESTORATION.sample_latent(n, device)  # the U-Net needs no noise
        return super().sample_latent(cfg, n, device=device, generator=generator)

    def prepare_batch(self, cfg: ImageConfig, batch):
        real, cond = super().prepare_batch(cfg, batch)
        if cfg.task == "generate":
            return real, cond
        from ganx.nn import corrupt

        corrupted = corrupt(real, cfg.task, mask_size=cfg.mask_size, noise_std=cfg.noise_std,
                            scale=cfg.scale)
        return real, (corrupted,)

    def extra_generator_losses(self, cfg: ImageConfig, real, conditions, fake,
                               generator_net=None):
        if not RESTORATION.restoring(cfg):
            return {}
        return RESTORATION.l1_loss(real, fake, cfg.l1_weight)

    def generate(self, cfg: ImageConfig, generator_net, n: int, *, device, rng, reference=None,
                 first: int = 0):
        import torch

        if RESTORATION.restoring(cfg):
            return RESTORATION.generate(cfg, generator_net, n, device=device, reference=reference)
        z = self.sample_latent(cfg, n, device=device, generator=rng)
        if not cfg.conditional:
            return generator_net(z)
        if cfg.label >= cfg.num_classes:
            raise ConfigError(f"label {cfg.label}: this run has classes 0 to {cfg.num_classes - 1}")
        if cfg.label >= 0:
            labels = torch.full((n,), cfg.label, device=device, dtype=torch.long)
        else:  # cycle through the classes so a grid shows each class in turn
            labels = torch.arange(first, first + n, device=device) % cfg.num_classes
        return generator_net(z, labels)

    def write_samples(self, cfg: ImageConfig, samples, out_dir: Path, tag: str,
                      reference=None) -> list[Path]:
        import torch

        from ganx.metrics import save_image_grid

        path = out_dir / f"{tag}.png"
        if cfg.task != "generate" and reference is not None:
            from ganx.nn import visible

            real, (corrupted,) = reference
            n = len(samples)
            rows = [visible(corrupted[:n], cfg.channels), samples, real[:n]]
            save_image_grid(torch.cat(rows), path, nrow=n)  # rows: input, output, target
            return [path]
        nrow = cfg.num_classes if cfg.conditional else math.ceil(math.sqrt(len(samples)))
        save_image_grid(samples, path, nrow=nrow)
        return [path]

    def restore_files(self, cfg: ImageConfig, generator_net, source: Path, out_dir: Path,
                      device) -> list[Path]:
        from .restore_files import image_restorer

        return RESTORATION.restore_files(cfg, image_restorer(cfg, generator_net, device), source,
                                         out_dir)

    def datasets(self) -> list[tuple[str, str, str | None]]:
        from . import sources

        return [(s.name, s.description, s.available()) for s in sources.NAMED.values()]
