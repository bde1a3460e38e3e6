"""StyleGAN2's path-length regulariser (Karras et al. 2020, section 3.2): the generator is pushed
to have, at every w, a Jacobian J_w whose product with a random image-space direction y has the
same length, so a fixed step in w moves the image by a fixed amount.

    a = the running mean of |J_w^T y|,   penalty = (|J_w^T y| - a)^2,   y ~ N(0, I) / sqrt(H W)

It needs a generator split into `mapping(z, *conditions) -> w` and `synthesis(ws) -> images`
(StyleGAN2-class: the image domain's `arch=stylegan2`, and any plugin's generator with the same
two methods). With a `num_ws` attribute the gradient is taken per layer, w broadcast to
(N, num_ws, w_dim), and the length is the root of the squared norm's mean over layers, as in
StyleGAN2's published code; style mixing is not applied in this pass.
"""

from __future__ import annotations

import math
from typing import Protocol, cast

import torch
from torch import nn

from .errors import ConfigError

PL_DECAY = 0.01
"""How far the running mean of the path lengths moves toward each batch's mean (StyleGAN2)."""
PL_BATCH_SHRINK = 2
"""The regulariser's batch is the training batch divided by this (StyleGAN2: a cheaper pass)."""


class StyleGenerator(Protocol):
    """The two halves of a StyleGAN-class generator the regulariser differentiates through."""

    def mapping(self, z: torch.Tensor, *conditions: torch.Tensor) -> torch.Tensor: ...

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor: ...


def check_generator(G: nn.Module, domain_name: str) -> None:
    """Refuse a generator the regulariser cannot take apart, before training starts."""
    missing = [m for m in ("mapping", "synthesis") if not callable(getattr(G, m, None))]
    if missing:
        raise ConfigError(
            f"pl_weight: the path-length regulariser needs a generator with mapping() and"
            f" synthesis() (a StyleGAN2-class one, e.g. the image domain's arch=stylegan2);"
            f" domain '{domain_name}' built {type(G).__name__}, which lacks"
            f" {' and '.join(missing)}; set pl_weight=0")


def path_lengths(G: nn.Module, z: torch.Tensor, cond: tuple[torch.Tensor, ...],
                 noise: torch.Generator | None = None) -> torch.Tensor:
    """|J_w^T y| per sample, differentiable (for the penalty's backward through G)."""
    halves = cast(StyleGenerator, G)
    w = halves.mapping(z, *cond)
    num_ws = getattr(G, "num_ws", None)
    ws = w[:, None].expand(-1, num_ws, -1) if w.dim() == 2 and num_ws else w
    if not ws.requires_grad:  # a mapping without parameters (w = z)
        ws = ws.detach().requires_grad_()
    images = halves.synthesis(ws)
    y = torch.randn(images.shape, generator=noise, device=images.device, dtype=images.dtype)
    y = y / math.sqrt(images[0, 0].numel())
    (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
    if grad.dim() > 2:  # (N, num_ws, w_dim): the squared norm's mean over the layers
        return grad.square().sum(2).mean(1).sqrt()
    return grad.square().sum(1).sqrt()


def path_length_penalty(lengths: torch.Tensor, pl_mean: torch.Tensor) -> torch.Tensor:
    """(length - a)^2 averaged over the batch, after moving the running mean `a` (in place, kept
    in snapshots) toward this batch's mean lengths."""
    pl_mean.lerp_(lengths.detach().mean().to(pl_mean.dtype), PL_DECAY)
    return (lengths - pl_mean).square().mean()
