"""A discriminator's layers, from its input on: what FreezeD (the engine's `freeze_d`) counts.

Every discriminator in `ganx.nn` has a `layers()` method returning them; a layer is a weight
layer with the normalisation that follows it (a convolution and its BatchNorm count as one).
A third-party discriminator may define `layers()` the same way; without it the engine counts its
child modules.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from ganx.core.networks import discriminator_layers

__all__ = ["WEIGHTED", "discriminator_layers", "weight_layers"]

WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)


def weight_layers(modules: Iterable[nn.Module]) -> list[nn.Module]:
    """`modules` grouped into layers: each weight layer (convolution, linear, embedding) with
    the parameterised modules after it up to the next weight layer (BatchNorm)."""
    groups: list[list[nn.Module]] = []
    for module in modules:
        if isinstance(module, WEIGHTED):  # spectral-norm layers keep (a subclass of) their class
            groups.append([module])
        elif groups and any(True for _ in module.parameters()):
            groups[-1].append(module)
    return [group[0] if len(group) == 1 else nn.Sequential(*group) for group in groups]
