"""Adversarial losses on logits, and the gradient penalties (which run in fp32).

Each loss turns discriminator logits into D and G objectives. They are registered by name by the
built-in `engine` plugin (`ganx.plugins.engine`), through the same hook third parties use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .domain import DiscriminatorOutput
from .errors import ConfigError
from .protocols import AdversarialLoss

__all__ = ["AdversarialLoss", "Hinge", "LeastSquares", "Minimax", "NonSaturating",
           "RelativisticPairing", "Wasserstein", "d_loss_over", "decision_boundary",
           "feature_matching", "g_loss_over",
           "gradient_penalty", "is_paired", "lecam_penalty", "r1_penalty", "split_output"]


class NonSaturating:
    """Goodfellow et al. 2014 with the non-saturating G objective: softplus(-D(G(z)))."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake_logits).mean()


class Minimax(NonSaturating):
    """The original minimax G objective: -log(1 - sigmoid(D(G(z)))), i.e. -softplus(D(G(z)))."""

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -F.softplus(fake_logits).mean()


class Hinge:
    """Hinge loss (Lim & Ye 2017; SNGAN, BigGAN)."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()


class Wasserstein:
    """WGAN critic loss; pair it with `gp_weight` (WGAN-GP)."""

    boundary = None  # a critic's values have no fixed real/fake threshold

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return fake_logits.mean() - real_logits.mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()


class LeastSquares:
    """LSGAN (Mao et al. 2017) with targets 1 for real and 0 for fake."""

    boundary = 0.5  # halfway between the targets

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((real_logits - 1.0).square().mean() + fake_logits.square().mean())

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * (fake_logits - 1.0).square().mean()


class RelativisticPairing:
    """RpGAN (Jolicoeur-Martineau 2018), the loss of R3GAN (Huang et al. 2024): each real sample
    is paired with a generated one and D is trained to rate the real one higher,
    softplus(-(D(x) - D(G(z)))); G the reverse. Paired losses see both sides in the G step too.
    R3GAN pairs it with R1 and R2 (`r1_gamma`, `r2_gamma`)."""

    paired = True
    boundary = None  # only differences of logits are trained; their level drifts

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-(real_logits - fake_logits)).mean()

    def g_loss(self, fake_logits: torch.Tensor,
               real_logits: torch.Tensor | None = None) -> torch.Tensor:
        if real_logits is None:
            raise ConfigError("loss rpgan pairs generated with real samples; the engine passes"
                              " D's real logits to its g_loss")
        return F.softplus(-(fake_logits - real_logits)).mean()


def is_paired(loss: AdversarialLoss) -> bool:
    """Whether the loss's `g_loss(fake_logits, real_logits)` needs D's logits on real data."""
    return bool(getattr(loss, "paired", False))


def decision_boundary(loss: AdversarialLoss) -> float | None:
    """The logit at which D is undecided between real and generated under `loss` (0 unless the
    loss sets `boundary`); None when the loss fixes no such level (WGAN, relativistic)."""
    boundary = getattr(loss, "boundary", 0.0)
    return None if boundary is None else float(boundary)


def split_output(out: Any) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """A discriminator's output as (logits per sub-discriminator, feature maps), in fp32.
    Raises TypeError for anything but a tensor, a list/tuple of tensors or a DiscriminatorOutput."""
    if isinstance(out, torch.Tensor):
        return [out.float()], []
    if isinstance(out, DiscriminatorOutput):
        logits, features = list(out.logits), list(out.features)
    elif isinstance(out, (list, tuple)):
        logits, features = list(out), []
    else:
        raise TypeError(f"returned {type(out).__name__}, not a tensor, a list of tensors or a"
                        " DiscriminatorOutput")
    if not logits or not all(isinstance(t, torch.Tensor) for t in logits + features):
        raise TypeError("returned an output whose logits/features are not all tensors")
    return [t.float() for t in logits], features


def d_loss_over(loss: AdversarialLoss, real_logits: list[torch.Tensor],
                fake_logits: list[torch.Tensor]) -> torch.Tensor:
    """The discriminator loss summed over sub-discriminators."""
    terms = [loss.d_loss(r, f) for r, f in zip(real_logits, fake_logits, strict=True)]
    return torch.stack(terms).sum() if len(terms) > 1 else terms[0]


def g_loss_over(loss: AdversarialLoss, fake_logits: list[torch.Tensor],
                real_logits: list[torch.Tensor] | None = None) -> torch.Tensor:
    """The generator loss summed over sub-discriminators (paired with D's logits on real data
    for a paired loss)."""
    if real_logits is not None:
        paired = [loss.g_loss(f, r)  # type: ignore[call-arg]
                  for f, r in zip(fake_logits, real_logits, strict=True)]
        return torch.stack(paired).sum() if len(paired) > 1 else paired[0]
    terms = [loss.g_loss(f) for f in fake_logits]
    return torch.stack(terms).sum() if len(terms) > 1 else terms[0]


def lecam_penalty(real_logits: list[torch.Tensor], fake_logits: list[torch.Tensor],
                  averages: torch.Tensor, decay: float) -> torch.Tensor:
    """LeCam regularisation (Tseng et al. 2021): ||D(x) - a_fake||^2 + ||D(G(z)) - a_real||^2,
    where `averages` = (a_real, a_fake) are moving averages of D's mean outputs, updated here in
    place (on the device, no host sync)."""
    real = torch.stack([t.detach().mean() for t in real_logits]).mean()
    fake = torch.stack([t.detach().mean() for t in fake_logits]).mean()
    averages.mul_(decay).add_(torch.stack([real, fake]) * (1.0 - decay))
    a_real, a_fake = averages[0], averages[1]
    terms = [(r - a_fake).square().mean() + (f - a_real).square().mean()
             for r, f in zip(real_logits, fake_logits, strict=True)]
    return torch.stack(terms).sum()


def feature_matching(fake_features: list[torch.Tensor],
                     real_features: list[torch.Tensor]) -> torch.Tensor:
    """Sum over feature maps of the mean absolute difference (as in MelGAN and HiFi-GAN)."""
    terms = [(f.float() - r.detach().float()).abs().mean()
             for f, r in zip(fake_features, real_features, strict=True)]
    return torch.stack(terms).sum()


def _logit_sum(out: Any) -> torch.Tensor:
    return torch.stack([t.sum() for t in split_output(out)[0]]).sum()


def _grad_norm_sq(outputs: Any, inputs: torch.Tensor) -> torch.Tensor:
    (grad,) = torch.autograd.grad(_logit_sum(outputs), inputs, create_graph=True)
    return grad.flatten(1).square().sum(1)


def r1_penalty(discriminator: Callable[..., Any], real: torch.Tensor,
               conditions: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Mean squared gradient norm of D at real samples (Mescheder et al. 2018). Call in fp32.
    Given generated samples it is R2, the same penalty on the other side (R3GAN)."""
    real = real.detach().float().requires_grad_(True)
    return _grad_norm_sq(discriminator(real, *conditions), real).mean()


def gradient_penalty(
    discriminator: Callable[..., Any], real: torch.Tensor, fake: torch.Tensor,
    conditions: tuple[torch.Tensor, ...],
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP: (||grad D(x_hat)|| - 1)^2 at random interpolates (Gulrajani et al. 2017)."""
    if real.shape != fake.shape:
        raise ConfigError(f"gp_weight: WGAN-GP mixes real and generated samples, but this"
                          f" generator's {tuple(fake.shape[1:])} differ in shape from the data's"
                          f" {tuple(real.shape[1:])}; use r1_gamma instead")
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, device=real.device, generator=generator)
    mixed = torch.lerp(real.detach().float(), fake.detach().float(), alpha).requires_grad_(True)
    norm = _grad_norm_sq(discriminator(mixed, *conditions), mixed).add(1e-12).sqrt()
    return (norm - 1.0).square().mean()
