"""The `toy` domain: a GAN on 2-D Gaussian mixtures. torch is imported inside the builders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import ganx


@dataclass
class ToyConfig(ganx.DomainConfig):
    mixture: Literal["ring", "grid"] = "ring"
    """ring: 8 modes on a circle of radius 2 (std 0.02); grid: 5x5 modes 2 apart (std 0.05)."""
    n_points: int = 50_000
    """Training points drawn from the mixture."""
    data_seed: int = 0
    """Seed of the training points (independent of the run's seed)."""
    normalize: bool = True
    """Networks work in unit scale: G's output is scaled up and D's input down to match."""
    latent_dim: int = 4
    hidden: int = 128
    depth: int = 3


def _scale(cfg: ToyConfig) -> float:
    """Per-coordinate spread of the mixture's centres: the networks work in unit scale."""
    from . import mixtures

    return float(mixtures.centers(cfg.mixture).std()) if cfg.normalize else 1.0


class ToyDomain(ganx.Domain):
    name = "toy"
    description = "2-D Gaussian mixtures (8-mode ring, 25-mode grid) with exact mode metrics"
    Config = ToyConfig
    # Measured on the 25-mode grid (benchmarks/toy_modes.py): Adam beta1 0.5, a discriminator
    # learning rate twice the generator's and a light R1 reach 25/25 modes in 10k steps.
    train_defaults: ClassVar[dict[str, Any]] = {
        "steps": 10_000, "batch_size": 512, "g_lr": 1e-3, "d_lr": 2e-3, "betas": (0.5, 0.99),
        "r1_gamma": 0.1, "eval_samples": 2500, "log_every": 500, "sample_every": 2000,
        "checkpoint_every": 2000,
    }

    def build_dataset(self, cfg: ToyConfig, data: str):
        import torch

        from . import mixtures

        if data:
            raise ganx.ConfigError(
                f"--data {data!r}: the toy domain generates its data; choose it with"
                " --set mixture=ring or --set mixture=grid"
            )
        if cfg.n_points < 1:
            raise ganx.ConfigError(f"n_points must be at least 1, got {cfg.n_points}")
        return torch.from_numpy(mixtures.sample(cfg.mixture, cfg.n_points, cfg.data_seed))

    def build_generator(self, cfg: ToyConfig):
        from .models import Generator

        return Generator(cfg.latent_dim, cfg.hidden, cfg.depth, _scale(cfg))

    def build_discriminator(self, cfg: ToyConfig):
        from .models import Discriminator

        return Discriminator(cfg.hidden, cfg.depth, _scale(cfg))

    def default_metrics(self, cfg: ToyConfig):
        return ["toy-modes"]

    def write_samples(self, cfg: ToyConfig, samples, out_dir: Path, tag: str,
                      reference=None) -> list[Path]:
        from . import mixtures
        from .plot import scatter_png

        points = samples.reshape(-1, 2).numpy()
        csv = out_dir / f"{tag}.csv"
        csv.write_text("x,y\n" + "".join(f"{x:.6f},{y:.6f}\n" for x, y in points))
        png = out_dir / f"{tag}.png"
        scatter_png(points, mixtures.centers(cfg.mixture), png)
        return [csv, png]
