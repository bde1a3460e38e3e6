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
    labels), on the CPU."""
    i, j = torch.triu_indices(n, n, offset=1)
    if labels is not None:
        labels = labels.to("cpu")
        keep = labels[i] == labels[j]
        i, j = i[keep], j[keep]
    return i, j


def mode_seeking_loss(fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Mean over same-class pairs of 1 / (mean absolute difference of the two samples), in fp32;
    zero (still part of the graph) when the batch has no such pair."""
    if fake.device.type == "cpu":
        return _selected_pairs_loss(fake, labels)
    return _masked_pairs_loss(fake, labels)


def _selected_pairs_loss(fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """The same-class pairs selected by index: the cheapest on a CPU, but their count is read
    on the host (a device synchronisation at every generator step on a GPU)."""
    i, j = same_class_pairs(labels, fake.shape[0])
    flat = fake.float().flatten(1)
    if len(i) == 0:
        return flat.sum() * 0.0
    i, j = i.to(fake.device), j.to(fake.device)
    return (1.0 / ((flat[i] - flat[j]).abs().mean(dim=1) + EPSILON)).mean()


def _masked_pairs_loss(fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Every pair's distance, the pairs of different classes masked out: no value leaves the
    device. About 4x the CPU time of selecting (spectrogram batches of 16), so for accelerators."""
    n = fake.shape[0]
    flat = fake.float().flatten(1)
    # (n, n) L1 distances without an (n^2, features) intermediate
    distance = torch.cdist(flat.unsqueeze(0), flat.unsqueeze(0), p=1.0)[0] / flat.shape[1]
    pair = torch.ones(n, n, dtype=torch.bool, device=fake.device).triu(1)
    if labels is not None:
        pair = pair & (labels.view(-1, 1) == labels.view(1, -1))
    weight = pair.to(distance.dtype)
    # the clamp keeps a batch without a pair at 0 (all weights zero) and in the graph
    return (weight / (distance + EPSILON)).sum() / weight.sum().clamp(min=1.0)
