"""The shapes of what plugins register, as typing protocols (no torch at run time): an
adversarial loss (`ganx_register_losses`) and an evaluation metric (`ganx_register_metrics`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch


class AdversarialLoss(Protocol):
    """What a registered loss provides. Logits arrive as fp32 tensors of any shape."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor: ...

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor: ...


class Metric(Protocol):
    """What a registered metric is: called with generated and real samples (CPU float tensors)
    and the domain config, it returns result names and values."""

    def __call__(self, fake: torch.Tensor, real: torch.Tensor,
                 config: Any) -> Mapping[str, float]: ...
