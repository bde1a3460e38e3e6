"""Layers with an equalized learning rate (Karras et al. 2018, used throughout StyleGAN2).

Weights are stored with unit variance and scaled by He's constant at run time, so Adam's
per-parameter step sizes act alike on every layer whatever its fan-in; `lr_multiplier` slows a
layer down further (StyleGAN's mapping network uses 0.01).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

GAIN = math.sqrt(2.0)
"""The gain that keeps activations' variance through a leaky ReLU (slope 0.2)."""


def leaky(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU (0.2) times `GAIN`."""
    return F.leaky_relu(x, 0.2) * GAIN


class EqualLinear(nn.Module):
    """A linear layer with an equalized learning rate, optionally followed by `leaky`."""

    def __init__(self, in_features: int, out_features: int, *, bias_init: float = 0.0,
                 lr_multiplier: float = 1.0, activation: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_multiplier))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)
        return leaky(out) if self.activation else out


class EqualConv2d(nn.Module):
    """A convolution ('same' padding) with an equalized learning rate, optionally followed by
    `leaky`; `down=True` halves the resolution first (2x2 average pooling, a box filter), so the
    convolution runs at the lower resolution: a quarter of the work of convolving first."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, bias: bool = True,
                 activation: bool = False, down: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.activation, self.down, self.padding = activation, down, kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = F.avg_pool2d(x, 2)
        out = F.conv2d(x, self.weight * self.weight_gain, self.bias, padding=self.padding)
        return leaky(out) if self.activation else out
