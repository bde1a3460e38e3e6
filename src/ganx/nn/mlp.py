"""A multilayer perceptron: `depth` hidden layers of `hidden` units with LeakyReLU between them.

The building block of generators and discriminators on vectors (points, tabular rows, latent
codes). It is an `nn.Sequential`, so its parameters are named `0.weight`, `0.bias`, `2.weight`,
... (layer index in the sequence), the same as a hand-built `nn.Sequential` of these layers:
snapshots of networks that built one by hand load into it unchanged.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from torch import nn


class MLP(nn.Sequential):
    """`in_features` to `out_features` through `depth` hidden layers of `hidden` units, each a
    Linear followed by LeakyReLU(`negative_slope`); the output layer is Linear with no
    activation (a discriminator's logits, a generator's values before any scaling).
    `depth=0` is a single Linear layer. Layers keep PyTorch's default initialisation.
    """

    def __init__(self, in_features: int, out_features: int, hidden: int = 64, depth: int = 2,
                 negative_slope: float = 0.2) -> None:
        for name, value in (("in_features", in_features), ("out_features", out_features),
                            ("hidden", hidden)):
            if value < 1:
                raise ValueError(f"MLP {name} must be at least 1, got {value}")
        if depth < 0:
            raise ValueError(f"MLP depth must be 0 or more, got {depth}")
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(negative_slope)]
            width = hidden
        layers.append(nn.Linear(width, out_features))
        super().__init__(*layers)

    def layers(self) -> list[nn.Module]:
        """Its Linear layers from the input on (what FreezeD counts)."""
        return [m for m in self if isinstance(m, nn.Linear)]

    def __getitem__(self, idx: Any) -> Any:
        # a slice is a plain nn.Sequential of those layers (with their names), e.g. `net[:-1]`
        # for a discriminator's features before its output layer
        if isinstance(idx, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)
