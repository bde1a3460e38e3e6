"""DCGAN generator and discriminator (Radford et al. 2016) for 32, 64 and 128 px.

The generator projects the latent to 4x4 and doubles the resolution with stride-2 transposed
convolutions (BatchNorm + ReLU), ending in tanh; the discriminator mirrors it with stride-2
convolutions (BatchNorm after the first + LeakyReLU 0.2) and returns one logit per image.
With `spectral=True` the discriminator drops BatchNorm and puts spectral normalisation on every
layer instead (SN-DCGAN, Miyato et al. 2018). With `num_classes`, G concatenates a learned label
embedding to z and D adds a projection term (Miyato & Koyama 2018) to its logit.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .layers import weight_layers


def _levels(resolution: int) -> int:
    levels = int(math.log2(resolution)) - 2
    if 2 ** (levels + 2) != resolution or levels < 2:
        raise ValueError(f"resolution must be a power of two from 16 up, got {resolution}")
    return levels


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: N(0, 0.02) weights, BatchNorm gain N(1, 0.02)."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _spectral(module: nn.Module) -> nn.Module:
    """`module` initialised as DCGAN does, then spectrally normalised (initialising afterwards
    would write to the computed weight, not to the parameter behind it)."""
    dcgan_init(module)
    return spectral_norm(module)


class DCGANGenerator(nn.Module):
    """Latent (N, latent_dim) to images (N, channels, resolution, resolution) in [-1, 1].

    `resolution` is a power of two from 16 up; `width` is the channels of the last hidden layer
    (ngf in the paper), doubled at each coarser level. With `num_classes`, call it as
    `G(z, labels)`: a learned label embedding is concatenated to z.
    """

    def __init__(self, latent_dim: int, channels: int, resolution: int, width: int = 64,
                 num_classes: int = 0) -> None:
        super().__init__()
        levels = _levels(resolution)
        widths = [width * 2 ** i for i in reversed(range(levels))]  # e.g. 512, 256, 128, 64
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        in_dim = latent_dim * (2 if num_classes else 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
        ]
        for w_in, w_out in itertools.pairwise(widths):
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(w_out), nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels")
            z = torch.cat([z, self.embed(labels)], dim=1)
        images: torch.Tensor = self.net(z[:, :, None, None])
        return images


class DCGANDiscriminator(nn.Module):
    """Images (N, channels, resolution, resolution) to one logit each, shape (N,).

    `width` is the channels of the first layer (ndf in the paper), doubled at each level.
    `spectral=True`: spectral normalisation on every layer and no BatchNorm (SN-DCGAN). With
    `num_classes`, call it as `D(x, labels)`: a projection term is added to the logit.
    """

    def __init__(self, channels: int, resolution: int, width: int = 64,
                 num_classes: int = 0, spectral: bool = False) -> None:
        super().__init__()
        levels = _levels(resolution)
        widths = [width * 2 ** i for i in range(levels)]  # e.g. 64, 128, 256, 512
        # spectral norm bounds each layer's Lipschitz constant; BatchNorm would undo that bound
        norm = _spectral if spectral else (lambda module: module)
        layers: list[nn.Module] = [norm(nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False)),
                                   nn.LeakyReLU(0.2, inplace=True)]
        for w_in, w_out in itertools.pairwise(widths):
            layers.append(norm(nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False)))
            if not spectral:
                layers.append(nn.BatchNorm2d(w_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        self.features = nn.Sequential(*layers)
        self.head = norm(nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False))  # 4x4 -> 1x1
        self.embed = norm(nn.Embedding(num_classes, widths[-1])) if num_classes else None
        if not spectral:
            self.apply(dcgan_init)
            if isinstance(self.embed, nn.Embedding):  # torch's N(0, 1): ~100x the head's logit
                nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def layers(self) -> list[nn.Module]:
        """Its layers from the input on (see `ganx.nn.layers`)."""
        last = [self.head] + ([self.embed] if self.embed is not None else [])
        return weight_layers([*self.features, *last])

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        logits: torch.Tensor = self.head(h).flatten(1).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            logits = logits + (self.embed(labels) * h.sum(dim=(2, 3))).sum(1)
        return logits
