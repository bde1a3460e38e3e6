"""The latents of a trained generator: the latents `generate` draws for a seed, decoding given
latents through the domain's own `generate` (so its post-processing applies: Griffin-Lim for
SpecGAN, token sampling for text), the truncation trick, and interpolation paths.

A latent reaches the domain's `generate` through its `sample_latent`: `decode` calls `generate`
on a copy of the domain whose `sample_latent` returns the given latents. A domain whose
`generate` draws its latent some other way cannot be decoded, and `decode` says so.

Truncation: with a mapping network (a generator with `mapping`, `synthesis` and a tracked
`w_avg`, such as `ganx.nn.StyleGAN2Generator`), w moves toward `w_avg`:
`w' = w_avg + psi (w - w_avg)`. Without one, the latent moves toward the prior's mean, zero for
the standard normal the built-in domains draw from: `z' = psi z`."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ganx.core.calls import call_domain
from ganx.core.domain import describe
from ganx.core.errors import ConfigError, RunError

if TYPE_CHECKING:
    from ganx.api import TrainedGenerator

__all__ = [
    "conditional_labels",
    "decode",
    "generate",
    "has_mapping",
    "interpolation_path",
    "latent_kind",
    "lerp",
    "refuse_restoration",
    "seed_latents",
    "slerp",
    "to_w",
    "truncate",
    "write_truncated",
]

Forward = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def refuse_restoration(model: TrainedGenerator, command: str) -> None:
    """Latent tools need a generator driven by a latent: restoration runs have none."""
    task = getattr(model.config, "task", "generate")
    if task != "generate":
        raise ConfigError(f"{model.path}: a restoration run (task={task}) has no latent, so"
                          f" `{command}` does not apply; restore files with"
                          " `ganx sample RUN --input FILE_OR_FOLDER`")


def has_mapping(net: nn.Module) -> bool:
    """Whether `net` has a mapping network (z -> w) and a tracked mean of w."""
    return all(hasattr(net, name) for name in ("mapping", "synthesis", "w_avg"))


def latent_kind(model: TrainedGenerator) -> str:
    """"w" when the generator has a mapping network (interpolate and truncate there), else "z"."""
    return "w" if has_mapping(model.generator) else "z"


def seed_latents(model: TrainedGenerator, n: int, seed: int) -> torch.Tensor:
    """The `n` latents `model.generate(n, seed=seed, batch_size=n)` draws, on the model's device."""
    rng = torch.Generator(model.device).manual_seed(seed)
    z: torch.Tensor = call_domain(model.domain, "sample_latent", model.config, n,
                                  device=model.device, generator=rng)
    return z


class _Forward(nn.Module):
    """A generator stand-in: calls `fn(z, labels)`; labels given to `decode` replace the ones
    the domain passes (the domain's own labels come from its settings)."""

    def __init__(self, net: nn.Module, fn: Forward | nn.Module,
                 labels: torch.Tensor | None) -> None:
        super().__init__()
        self.net, self.fn, self.labels = net, fn, labels

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.labels is not None:
            if labels is None:
                raise ConfigError("labels were given but this run is not class-conditional")
            labels = self.labels
        return self.fn(z, labels)


def _generate(model: TrainedGenerator, z: torch.Tensor, net: nn.Module, seed: int,
              first: int = 0) -> torch.Tensor:
    """The domain's `generate` on a copy whose `sample_latent` returns `z`."""
    used: list[bool] = []

    def given(cfg: Any, n: int, *, device: Any, generator: Any) -> torch.Tensor:
        used.append(True)
        return z

    domain = copy.copy(model.domain)
    domain.sample_latent = given  # type: ignore[method-assign]
    rng = torch.Generator(z.device).manual_seed(seed)
    out: torch.Tensor = call_domain(domain, "generate", model.config, net, len(z),
                                    device=z.device, rng=rng, first=first)
    if not used:
        raise RunError(f"{describe(model.domain)}: generate does not draw its latent through"
                       " sample_latent, so given latents cannot be decoded")
    return out


def to_w(model: TrainedGenerator, z: torch.Tensor,
         labels: torch.Tensor | None = None) -> torch.Tensor:
    """w for latents `z` (generators with a mapping network only)."""
    net = model.generator
    if not has_mapping(net):
        raise ConfigError(f"{model.path}: this generator has no mapping network (no w)")
    classes: int = getattr(getattr(net, "mapping_net", None), "num_classes", 0)
    if labels is None and classes:
        labels = _domain_labels(model, len(z))
    w: torch.Tensor = net.mapping(z.to(model.device),  # type: ignore[operator]
                                  None if labels is None else labels.to(model.device))
    return w


class _Captured(Exception):
    """Stops a probing `generate` once the generator was called."""


def _domain_labels(model: TrainedGenerator, n: int) -> torch.Tensor:
    """The labels the domain gives n samples (captured from its own generate call)."""
    seen: list[torch.Tensor | None] = []

    def capture(z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        seen.append(labels)
        raise _Captured  # the domain's post-processing need not run

    probe = torch.zeros(n, 1, device=model.device)
    try:
        _generate(model, probe, _Forward(model.generator, capture, None), 0)
    except RunError as exc:
        if not isinstance(exc.__cause__, _Captured):
            raise
    if not seen:
        raise RunError(f"{describe(model.domain)}: generate does not call its generator")
    if seen[0] is None:
        raise RunError(f"{describe(model.domain)}: this run is not class-conditional")
    return seen[0]


def conditional_labels(model: TrainedGenerator, n: int) -> torch.Tensor | None:
    """The labels a conditional run's `generate` gives samples 0 to n - 1; None when the run is
    not class-conditional."""
    try:
        return _domain_labels(model, n)
    except RunError:
        return None


def truncate(model: TrainedGenerator, w_or_z: torch.Tensor, psi: float) -> torch.Tensor:
    """The truncation trick on w (toward `w_avg`) or on z (toward zero)."""
    if psi == 1.0:
        return w_or_z
    if latent_kind(model) == "w":
        w_avg: torch.Tensor = getattr(model.generator, "w_avg")  # noqa: B009
        w_avg = w_avg.to(w_or_z)
        return torch.lerp(w_avg.expand_as(w_or_z), w_or_z, psi)
    return w_or_z * psi


def decode(model: TrainedGenerator, latents: torch.Tensor, *, labels: torch.Tensor | None = None,
           psi: float = 1.0, space: str = "z", seed: int = 0, first: int = 0,
           grad: bool = False) -> torch.Tensor:
    """Samples (on the model's device, float) for given latents through the domain's `generate`.

    `space` "z": latents as `sample_latent` draws them; "w": intermediate latents of a mapping
    network. `psi` below 1 truncates (see the module doc). `labels` (N,) replace the classes a
    conditional run would give samples `first` to `first + N - 1`. `seed` drives any other
    randomness the domain draws (text sampling). `grad`: keep the graph (for inversion)."""
    net = model.generator
    latents = latents.to(model.device)
    lab = None if labels is None else labels.to(model.device).long()
    if space == "w" or (psi != 1.0 and has_mapping(net)):
        fn: Forward | nn.Module = _w_forward(model, psi, given_w=space == "w")
    else:
        fn = net
        latents = truncate(model, latents, psi)
    stand_in = net if lab is None and fn is net else _Forward(net, fn, lab)
    with torch.set_grad_enabled(grad):
        return _generate(model, latents, stand_in, seed, first).float()


def generate(model: TrainedGenerator, n: int, *, seed: int = 0, psi: float = 1.0,
             batch_size: int | None = None) -> torch.Tensor:
    """`model.generate(n, seed=seed)` with the truncation trick (the same latents, chunks and
    classes; psi 1 gives the same samples), on the CPU."""
    batch = batch_size or model.train_config.batch_size
    if psi == 1.0:
        return model.generate(n, seed=seed, batch_size=batch)
    refuse_restoration(model, "--truncation")
    rng = torch.Generator(model.device).manual_seed(seed)
    chunks = []
    for start in range(0, n, batch):
        k = min(batch, n - start)
        z = call_domain(model.domain, "sample_latent", model.config, k, device=model.device,
                        generator=rng)
        chunks.append(decode(model, z, psi=psi, seed=seed, first=start).cpu())
    return torch.cat(chunks)


def _w_forward(model: TrainedGenerator, psi: float, *, given_w: bool) -> Forward:
    net = model.generator
    if not has_mapping(net):
        raise ConfigError(f"{model.path}: this generator has no mapping network, so latents in"
                          " w do not apply")

    def forward(x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        w = x if given_w else net.mapping(x, labels)  # type: ignore[operator]
        out: torch.Tensor = net.synthesis(truncate(model, w, psi))  # type: ignore[operator]
        return out

    return forward


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    return torch.lerp(a, b, t)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation per row (keeps a Gaussian latent's norm where lerp shrinks it);
    lerp where the two are (anti)parallel."""
    a_flat, b_flat = a.reshape(len(a), -1), b.reshape(len(b), -1)
    cos = torch.nn.functional.cosine_similarity(a_flat, b_flat, dim=1).clamp(-1, 1)
    omega = torch.acos(cos)[:, None]
    sin = torch.sin(omega)
    safe = sin.abs() > 1e-6
    ratio_a = torch.where(safe, torch.sin((1 - t) * omega) / sin.clamp_min(1e-12), 1 - t)
    ratio_b = torch.where(safe, torch.sin(t * omega) / sin.clamp_min(1e-12), t)
    return (ratio_a * a_flat + ratio_b * b_flat).reshape(a.shape)


def interpolation_path(ends: list[torch.Tensor], frames: int, space: str) -> torch.Tensor:
    """`frames` latents along the path through `ends` (each (1, ...)): slerp in z, lerp in w;
    the ends themselves are the first and last frame."""
    if len(ends) < 2 or frames < len(ends):
        raise ConfigError(f"interpolation needs at least 2 end points and as many frames"
                          f" (got {len(ends)} end points, {frames} frames)")
    mix = slerp if space == "z" else lerp
    out = []
    segments = len(ends) - 1
    for i in range(frames):
        position = i * segments / (frames - 1)
        k = min(math.floor(position), segments - 1)
        out.append(mix(ends[k], ends[k + 1], position - k))
    return torch.cat(out)


def write_truncated(model: TrainedGenerator, out_dir: Path, n: int, *, seed: int,
                    psi: float) -> list[Path]:
    """`ganx sample --truncation PSI`: `n` truncated samples through the domain's writer."""
    if not 0.0 <= psi <= 1.0:
        raise ConfigError(f"--truncation {psi}: use a value from 0 (the mean) to 1 (off)")
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = generate(model, n, seed=seed, psi=psi)
    paths: list[Path] = call_domain(model.domain, "write_samples", model.config, samples,
                                    out_dir, "sample")
    return paths
