"""The `medical` domain: GANs on 2-D slices of CT, MR and radiographs (NIfTI and DICOM)."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from ganx.core.config import DomainConfig
from ganx.core.domain import Domain
from ganx.core.errors import ConfigError
from ganx.restoration import RestorationTask

RESTORATION = RestorationTask(given="slices",
                              pass_hint="volumes with ganx sample RUN --input VOLUME_OR_FOLDER",
                              restores="volumes", generates="slices")

Window = Literal["soft_tissue", "brain", "lung", "bone", "full"]


@dataclass
class MedicalConfig(DomainConfig):
    resolution: int = 64
    """Square slice size in pixels: 16, 32, 64 or 128."""
    modality: Literal["auto", "CT", "MR", "XR"] = "auto"
    """CT, MR or XR (radiographs: CR, DX, MG, ...); auto takes it from the DICOM headers (NIfTI:
    CT when the values look like Hounsfield units, else MR). Files of other modalities are
    skipped."""
    window: Window = "soft_tissue"
    """CT: the HU window the model sees (brain 40/80, soft_tissue 40/400, lung -600/1500,
    bone 400/1800, full -1024..3071), applied after rescale slope/intercept."""
    display_window: Literal["", "soft_tissue", "brain", "lung", "bone", "full"] = ""
    """CT: the window of PNG sample grids; empty for `window`."""
    percentiles: tuple[float, float] = (0.5, 99.5)
    """MR and radiographs without a VOI window: the robust percentiles of each volume's tissue
    (non-zero) values that map to 0 and 1."""
    axis: Literal["axial", "coronal", "sagittal"] = "axial"
    """The slicing plane of volumes (2-D images are used whole)."""
    frame: int = -1
    """4-D volumes (fMRI, DWI): which 3-D volume to slice; -1 skips 4-D volumes."""
    min_tissue: float = 0.1
    """Slices with less than this share of tissue pixels are skipped (CT: above -500 HU; MR:
    above 10% of the robust range); radiographs are always kept."""
    fov_mm: float = 0.0
    """Field of view in mm that each slice is resampled into (centre-padded or cropped); 0 takes
    the largest in-plane extent found in the headers of the data."""
    maps: str = ""
    """Paired maps as extra channels, comma-separated suffixes: `seg` reads NAME_seg.nii.gz
    beside NAME.nii.gz (mni152: gm, wm). Generation only."""
    arch: Literal["dcgan", "resnet"] = "dcgan"
    """The image domain's architectures: dcgan, or resnet (SNGAN, spectral-norm D)."""
    augment: str = ""
    """DiffAugment policy: comma-separated translation, cutout, color."""
    latent_dim: int = 100
    width: int = 16
    """Channels of the full-resolution layer (ngf/ndf)."""
    task: Literal["generate", "denoise", "inpaint"] = "generate"
    """generate: slices from noise. denoise, inpaint: restore corrupted slices with a U-Net and a
    PatchGAN discriminator (pix2pix)."""
    l1_weight: float = 100.0
    """Restoration: weight of the L1 distance to the clean slice."""
    mask_size: float = 0.3
    """inpaint: side of the square hole as a share of the slice side."""
    dose_fraction: float = 0.25
    """denoise, CT: the simulated dose as a share of the full dose."""
    ct_noise_hu: float = 12.0
    """denoise, CT: noise standard deviation (HU) of the full-dose images."""
    noise_sigma: float = 0.05
    """denoise, MR (Rician) and radiographs (Gaussian): noise sigma in normalised intensity."""
    write_dicom: bool = False
    """Also write DICOM series (anonymous: new UIDs, no patient data) beside the NIfTI files."""


def map_names(cfg: MedicalConfig) -> tuple[str, ...]:
    return tuple(m.strip() for m in cfg.maps.split(",") if m.strip())


def channels(cfg: MedicalConfig) -> int:
    return 1 + len(map_names(cfg))


def slice_settings(cfg: MedicalConfig):
    from .extract import SliceSettings

    return SliceSettings(cfg.modality, cfg.window, tuple(cfg.percentiles), cfg.axis,
                         cfg.min_tissue, cfg.fov_mm, cfg.resolution)


class MedicalDomain(Domain):
    name = "medical"
    description = "CT, MR and radiograph slices from NIfTI/DICOM (default: MNI152 T1 template)"
    Config = MedicalConfig
    # the DCGAN paper's optimiser plus R1 (gamma 1, lazy): on ~120 slices of one brain, plain
    # DCGAN's D won outright and G stayed grey at 64 px; with R1, brains appear within 400 steps.
    # Sized so the default run takes minutes on two CPU cores.
    train_defaults: ClassVar[dict[str, Any]] = {
        "g_lr": 2e-4, "d_lr": 2e-4, "betas": (0.5, 0.999), "r1_gamma": 1.0, "batch_size": 32,
        "steps": 1000, "sample_every": 200, "checkpoint_every": 500, "eval_every": 500,
        "eval_samples": 256, "n_samples": 36, "ema_half_life": 5000,
    }

    def train_defaults_for(self, cfg: MedicalConfig) -> dict[str, Any]:
        if cfg.task != "generate":  # pix2pix: the L1 term steadies training, no R1
            return {**self.train_defaults, "r1_gamma": 0.0}
        if cfg.arch == "resnet":  # SNGAN's settings (Miyato et al. 2018)
            return {**self.train_defaults, "loss": "hinge", "betas": (0.0, 0.9)}
        return dict(self.train_defaults)

    # -- configuration ----------------------------------------------------------------------------

    def resolve_config(self, cfg: MedicalConfig, data: str) -> MedicalConfig:
        from . import sources

        _validate(cfg)
        maps = map_names(cfg)
        found = sources.peek(data, cfg.axis, maps)
        if not found.modalities or found.fov_mm <= 0:
            sources.explain_unusable(data, maps, cfg.frame)
        changes: dict[str, Any] = {}
        if cfg.modality == "auto":
            changes["modality"] = _modality_from(found, data)
        if cfg.fov_mm == 0:
            if found.fov_mm <= 0:
                raise ConfigError(f"--data {data or sources.DEFAULT}: no readable NIfTI or DICOM"
                                  " image headers to take the field of view from; set fov_mm")
            changes["fov_mm"] = round(found.fov_mm, 3)
        return dataclasses.replace(cfg, **changes)

    def datasets(self) -> list[tuple[str, str, str | None]]:
        from . import sources

        return [(s.name, s.description, s.available()) for s in sources.NAMED.values()]

    # -- data -----------------------------------------------------------------------------------

    def build_dataset(self, cfg: MedicalConfig, data: str):
        import torch

        from . import sources

        if cfg.modality == "auto" or cfg.fov_mm <= 0:
            cfg = self.resolve_config(cfg, data)
        found = sources.load(data, slice_settings(cfg), maps=map_names(cfg), frame=cfg.frame)
        return torch.from_numpy(found.slices)

    def prepare_batch(self, cfg: MedicalConfig, batch):
        real, cond = super().prepare_batch(cfg, batch)  # int16 codes to [-1, 1)
        if cfg.task == "generate":
            return real, cond
        from .corruptions import corrupt

        return real, (corrupt(real, cfg),)

    # -- networks: ganx.nn's, as the image domain builds them --------------------------------------

    def build_generator(self, cfg: MedicalConfig):
        if cfg.task != "generate":
            from ganx.nn import UNetGenerator

            from .corruptions import input_channels

            return UNetGenerator(input_channels(cfg.task), 1, cfg.resolution, cfg.width,
                                 cfg.task)
        if cfg.arch == "resnet":
            from ganx.nn import ResNetGenerator

            return ResNetGenerator(cfg.latent_dim, channels(cfg), cfg.resolution, cfg.width)
        from ganx.nn import DCGANGenerator

        return DCGANGenerator(cfg.latent_dim, channels(cfg), cfg.resolution, cfg.width)

    def build_discriminator(self, cfg: MedicalConfig):
        from ganx.nn import AugmentedDiscriminator, parse_policy

        if cfg.task != "generate":
            from ganx.nn import PatchDiscriminator

            from .corruptions import input_channels

            d = PatchDiscriminator(1, input_channels(cfg.task), cfg.width)
        elif cfg.arch == "resnet":
            from ganx.nn import ResNetDiscriminator

            d = ResNetDiscriminator(channels(cfg), cfg.resolution, cfg.width)
        else:
            from ganx.nn import DCGANDiscriminator

            d = DCGANDiscriminator(channels(cfg), cfg.resolution, cfg.width)
        policy = parse_policy(cfg.augment)
        return AugmentedDiscriminator(d, policy) if policy else d

    def sample_latent(self, cfg: MedicalConfig, n: int, *, device, generator):
        if RESTORATION.restoring(cfg):
            return RESTORATION.sample_latent(n, device)  # the U-Net needs no noise
        return super().sample_latent(cfg, n, device=device, generator=generator)

    def extra_generator_losses(self, cfg: MedicalConfig, real, conditions, fake,
                               generator_net=None):
        if not RESTORATION.restoring(cfg):
            return {}
        return RESTORATION.l1_loss(real, fake, cfg.l1_weight)

    def default_metrics(self, cfg: MedicalConfig):
        return ["medical-fid"] if cfg.task == "generate" else ["medical-restoration"]

    def evaluation_metrics(self, cfg: MedicalConfig):
        return ["medical-memorisation"] if cfg.task == "generate" else []

    # -- sampling ---------------------------------------------------------------------------------

    def generate(self, cfg: MedicalConfig, generator_net, n: int, *, device, rng,
                 reference=None, first: int = 0):
        if RESTORATION.restoring(cfg):
            return RESTORATION.generate(cfg, generator_net, n, device=device, reference=reference)
        return generator_net(self.sample_latent(cfg, n, device=device, generator=rng))

    def write_samples(self, cfg: MedicalConfig, samples, out_dir: Path, tag: str,
                      reference=None) -> list[Path]:
        from . import writer

        paths = []
        if cfg.task != "generate" and reference is not None:
            real, (corrupted,) = reference
            n = len(samples)
            paths.append(writer.save_rows(cfg, [corrupted[:n, :1], samples, real[:n]],
                                          out_dir / f"{tag}.png"))
        else:
            paths += writer.save_grids(cfg, samples, out_dir, tag, math.ceil(
                math.sqrt(len(samples))), map_names(cfg))
        paths += writer.save_volumes(cfg, samples, out_dir, tag, map_names(cfg))
        return paths

    def restore_files(self, cfg: MedicalConfig, generator_net, source: Path, out_dir: Path,
                      device) -> list[Path]:
        from .restore import restore_files

        return restore_files(cfg, generator_net, source, out_dir, device)


# -- helpers ------------------------------------------------------------------------------------

_MAP_NAME = re.compile(r"^[A-Za-z0-9-]+$")


def _validate(cfg: MedicalConfig) -> None:
    if cfg.resolution not in (16, 32, 64, 128):
        raise ConfigError(f"resolution {cfg.resolution}: use 16, 32, 64 or 128")
    low, high = cfg.percentiles
    if not 0 <= low < high <= 100:
        raise ConfigError(f"percentiles {low},{high}: use two numbers 0 <= low < high <= 100")
    if not 0 <= cfg.min_tissue < 1:
        raise ConfigError(f"min_tissue {cfg.min_tissue}: use a share from 0 up to (not) 1")
    if cfg.fov_mm < 0:
        raise ConfigError(f"fov_mm {cfg.fov_mm}: use a size in mm, or 0 (from the data)")
    if cfg.frame < -1:
        raise ConfigError(f"frame {cfg.frame}: use a volume index from 0, or -1 (skip 4-D)")
    bad = [m for m in map_names(cfg) if not _MAP_NAME.match(m)]
    if bad:
        raise ConfigError(f"maps {cfg.maps!r}: {bad[0]!r} is not a file-name suffix (letters,"
                          " digits and '-')")
    if map_names(cfg) and cfg.task != "generate":
        raise ConfigError(f"maps applies to task=generate only (task={cfg.task})")
    if cfg.task == "inpaint" and not 0 < cfg.mask_size < 1:
        raise ConfigError(f"mask_size {cfg.mask_size}: use a share between 0 and 1")
    if cfg.task == "denoise" and not 0 < cfg.dose_fraction < 1:
        raise ConfigError(f"dose_fraction {cfg.dose_fraction}: use a share between 0 and 1")
    if cfg.ct_noise_hu < 0 or cfg.noise_sigma < 0:
        raise ConfigError("ct_noise_hu and noise_sigma must not be negative")
    from ganx.nn import parse_policy

    try:
        parse_policy(cfg.augment)
    except ValueError as exc:
        raise ConfigError(f"augment {cfg.augment!r}: {exc}") from None


def _modality_from(found, data: str) -> str:
    from . import sources

    declared = {m: n for m, n in found.modalities.items() if m}
    if len(declared) > 1:
        listed = " and ".join(f"{m} ({n} files)" for m, n in sorted(declared.items()))
        raise ConfigError(f"--data {data}: found {listed}; choose one with --set modality="
                          f"{'|'.join(sorted(declared))} (files of the others are skipped)")
    if declared:
        return next(iter(declared))
    guessed = sources.guess_nifti_modality(found.niftis)
    if guessed is not None:
        return guessed
    raise ConfigError(f"--data {data or sources.DEFAULT}: no CT, MR or radiograph images found"
                      " (see the DICOM Modality of the files)")

