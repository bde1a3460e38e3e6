"""`ganx interpolate`: samples along a path through latents (seeds or `.npy` latents from
`ganx invert`), written as the domain writes samples plus, by the samples' shape: pictures
(N, C, H, W) as a one-row strip and an animation (GIF and WebP); clips (N, C, T) as one
concatenated WAV after the domain's one-file-per-frame.

An end point given as a seed S is the latent of the first sample of `ganx sample --seed S`.
Paths are slerp in z (Gaussian latents keep their norm) and lerp in w for generators with a
mapping network; a class-conditional run keeps one class along the path."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganx.core.calls import call_domain
from ganx.core.errors import ConfigError

from .latent import (
    conditional_labels,
    decode,
    interpolation_path,
    latent_kind,
    refuse_restoration,
    seed_latents,
    to_w,
)

if TYPE_CHECKING:
    from ganx.api import TrainedGenerator

__all__ = ["MAX_FRAMES", "end_latent", "hold_class", "interpolate", "write_interpolation"]

MAX_FRAMES = 512
FRAME_MS = 80


def hold_class(model: TrainedGenerator) -> TrainedGenerator:
    """A class-conditional run that cycles through its classes (`label` -1) holds class 0, so
    that the frames and the names the domain's writer gives them agree."""
    refuse_restoration(model, "ganx interpolate")
    label = getattr(model.config, "label", None)
    if label != -1 or conditional_labels(model, 1) is None:
        return model
    return dataclasses.replace(model, config=dataclasses.replace(
        model.config, label=0))  # type: ignore[call-arg]


def end_latent(model: TrainedGenerator, end: str) -> tuple[torch.Tensor, str]:
    """(latent (1, ...), space) for an end point: a seed, or a `.npy` file (`NAME.w.npy` holds
    a w, any other `.npy` a z)."""
    if end.endswith(".npy"):
        path = Path(end)
        if not path.is_file():
            raise ConfigError(f"--seeds {end}: no such file")
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--seeds {end}: not a .npy array ({exc})") from None
        latent = torch.from_numpy(np.asarray(array, dtype=np.float32))
        if latent.ndim == 1:
            latent = latent[None]
        return latent[:1].to(model.device), "w" if path.name.endswith(".w.npy") else "z"
    try:
        seed = int(end)
    except ValueError:
        raise ConfigError(f"--seeds {end}: give integer seeds or .npy latent files") from None
    return seed_latents(model, 1, seed), "z"


def interpolate(model: TrainedGenerator, ends: list[str], frames: int, *,
                psi: float = 1.0) -> torch.Tensor:
    """`frames` samples (CPU) along the path through `ends`."""
    refuse_restoration(model, "ganx interpolate")
    if not 2 <= frames <= MAX_FRAMES:
        raise ConfigError(f"--frames {frames}: use 2 to {MAX_FRAMES}")
    space = latent_kind(model)
    labels = conditional_labels(model, 1)
    points = []
    for end in ends:
        latent, kind = end_latent(model, end)
        if kind == "w" and space == "z":
            raise ConfigError(f"--seeds {end}: a latent in w, but this generator has no mapping"
                              " network")
        if kind == "z" and space == "w":
            latent = to_w(model, latent, labels)
        points.append(latent)
    if len({tuple(p.shape) for p in points}) > 1:
        raise ConfigError(f"--seeds: the end points have different shapes"
                          f" ({', '.join(str(tuple(p.shape)) for p in points)})")
    path = interpolation_path(points, frames, space)
    frame_labels = None if labels is None else labels[:1].expand(frames)
    return decode(model, path, labels=frame_labels, psi=psi, space=space).cpu()


def write_interpolation(model: TrainedGenerator, samples: torch.Tensor,
                        out_dir: Path) -> list[Path]:
    """The domain's files for the frames, plus a strip and animations or a concatenated WAV."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = list(call_domain(model.domain, "write_samples", model.config, samples,
                                         out_dir, "frames"))
    if samples.ndim == 4:
        paths += _pictures(samples, out_dir)
    sample_rate = getattr(model.config, "sample_rate", None)
    if samples.ndim == 3 and isinstance(sample_rate, int):
        from ganx.metrics import write_wav

        joined = torch.cat(list(samples), dim=-1)
        paths.append(write_wav(out_dir / "interpolation.wav", joined, sample_rate))
    return paths


def _pictures(samples: torch.Tensor, out_dir: Path) -> list[Path]:
    from PIL import Image

    from ganx.metrics import save_image_grid
    from ganx.metrics.writers import to_uint8

    shown = samples if samples.shape[1] in (1, 3) else samples[:, :1]
    strip = save_image_grid(shown, out_dir / "strip.png", nrow=len(shown))
    pixels = to_uint8(shown).permute(0, 2, 3, 1).numpy()
    frames = [Image.fromarray(p[..., 0] if p.shape[-1] == 1 else p) for p in pixels]
    scale = max(1, 128 // frames[0].width)
    size = (frames[0].width * scale, frames[0].height * scale)
    frames = [f.resize(size, Image.Resampling.NEAREST) for f in frames]
    paths = [strip]
    for name in ("interpolation.gif", "interpolation.webp"):
        path = out_dir / name
        options: dict[str, Any] = {"lossless": True} if name.endswith(".webp") else {}
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=FRAME_MS,
                       loop=0, **options)
        paths.append(path)
    return paths
