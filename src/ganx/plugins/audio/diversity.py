"""The mode-seeking term (Mao et al. 2019, MSGAN) against per-class collapse: a generator that
maps different latents of one digit to near copies pays for it.

MSGAN divides the distance between two samples by the distance between their latents and adds
the inverse of that ratio to the generator's loss. Here the pairs are the clips of one training
batch asked for the same class (all pairs, when the run is unconditional), so no extra generator
pass is needed; independent Gaussian latents are all about the same distance apart, so the ratio
is the samples' distance up to a constant."""

from __future__ import annotations

import torch

EPSILON = 1e-5


def same_class_pairs(labels: torch.Tensor | None, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Index pairs (i, j), i < j, of the samples asked for the same class (all pairs if no
    labels)."""
    i, j = torch.triu_indices(n, n, offset=1)
    if labels is not None:
        labels = labels.to("cpu")
        keep = labels[i] == labels[j]
        i, j = i[keep], j[keep]
    return i, j


def mode_seeking_loss(fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Mean over same-class pairs of 1 / (mean absolute difference of the two samples), in fp32;
    zero (still part of the graph) when the batch has no such pair."""
    i, j = same_class_pairs(labels, fake.shape[0])
    flat = fake.float().flatten(1)
    if len(i) == 0:
        return flat.sum() * 0.0
    i, j = i.to(fake.device), j.to(fake.device)
    distance = (flat[i] - flat[j]).abs().mean(dim=1)
    return (1.0 / (distance + EPSILON)).mean()
