"""The `toy` domain: a GAN on 2-D points, from a Gaussian mixture with exact mode metrics or from
the user's own CSV file. torch is imported inside the builders.

It keeps one piece of state learned from the data (`fit_state`): where the points lie and how far
they spread, so the networks work in unit scale. ganx saves it in the run and hands it back as
`cfg.fitted` when the run is resumed, sampled or evaluated, with or without the data."""

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


def _mixture_scale(cfg: ToyConfig) -> float:
    """Per-coordinate spread of the mixture's centres."""
    from . import mixtures

    return float(mixtures.centers(cfg.mixture).std())


def _placement(cfg: ToyConfig) -> tuple[tuple[float, float], float]:
    """(offset, scale) that bring the data to unit scale: G's output is scaled up and shifted,
    D's input shifted and scaled down. Runs from before fitted state kept none: for them it is
    the mixture's spread around the origin, which is what they trained with."""
    if not cfg.normalize:
        return (0.0, 0.0), 1.0
    if not cfg.fitted:
        return (0.0, 0.0), _mixture_scale(cfg)
    x, y = cfg.fitted["offset"]
    return (float(x), float(y)), float(cfg.fitted["scale"])


class ToyDomain(ganx.Domain[ToyConfig]):
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

    def _points(self, cfg: ToyConfig, data: str):
        from . import mixtures, points

        if data:  # the user's own points
            return points.read_points(data)
        if cfg.n_points < 1:
            raise ganx.ConfigError(f"n_points must be at least 1, got {cfg.n_points}")
        return mixtures.sample(cfg.mixture, cfg.n_points, cfg.data_seed)

    def resolve_config(self, cfg: ToyConfig, data: str) -> ToyConfig:
        if data and not Path(data).expanduser().is_file():
            from . import points

            points.read_points(data)  # raises the one-line error naming the file
        return cfg

    def fit_state(self, cfg: ToyConfig, data: str) -> dict[str, Any]:
        if not data:  # a mixture: its known centre (the origin) and the spread of its modes
            return {"offset": [0.0, 0.0], "scale": _mixture_scale(cfg), "source": cfg.mixture}
        xy = self._points(cfg, data)
        return {"offset": [float(v) for v in xy.mean(0)], "scale": float(xy.std(0).mean()),
                "source": Path(data).name}

    def build_dataset(self, cfg: ToyConfig, data: str):
        import torch

        return torch.from_numpy(self._points(cfg, data))

    def build_generator(self, cfg: ToyConfig):
        from .models import Generator

        offset, scale = _placement(cfg)
        return Generator(cfg.latent_dim, cfg.hidden, cfg.depth, scale, offset)

    def build_discriminator(self, cfg: ToyConfig):
        from .models import Discriminator

        offset, scale = _placement(cfg)
        return Discriminator(cfg.hidden, cfg.depth, scale, offset)

    def default_metrics(self, cfg: ToyConfig):
        # mode coverage needs the mixture's known modes; a user's points get the Frechet distance
        from_file = cfg.fitted.get("source", cfg.mixture) not in ("ring", "grid")
        return ["toy-frechet"] if from_file else ["toy-modes"]

    def write_samples(self, cfg: ToyConfig, samples, out_dir: Path, tag: str,
                      reference=None) -> list[Path]:
        from . import mixtures
        from .plot import scatter_png

        points = samples.reshape(-1, 2).numpy()
        csv = out_dir / f"{tag}.csv"
        csv.write_text("x,y\n" + "".join(f"{x:.6f},{y:.6f}\n" for x, y in points))
        png = out_dir / f"{tag}.png"
        if reference is not None and cfg.fitted.get("source") not in (None, "ring", "grid"):
            marks = reference[0].reshape(-1, 2).numpy()  # the user's points, as drawn from
        else:
            marks = mixtures.centers(cfg.mixture)
        scatter_png(points, marks, png)
        return [csv, png]
