"""`ganx.nn`: network building blocks for GAN domains, built-in and third-party alike.

- Generators and discriminators: DCGAN (`DCGANGenerator`, `DCGANDiscriminator`, with spectral
  norm and projection conditioning), ResNet/SNGAN (`ResNetGenerator`, `ResNetDiscriminator`),
  pix2pix restoration networks (`UNetGenerator`, `PatchDiscriminator`) and `MLP`.
- StyleGAN2 (`StyleGAN2Generator` with its `MappingNetwork`, `StyleGAN2Discriminator`) and
  the equalized-learning-rate layers they are made of (`EqualLinear`, `EqualConv2d`).
- `AdaptiveAugment`: adaptive discriminator augmentation (ADA); `AugmentedDiscriminator` and
  `parse_policy`: DiffAugment. Both for small datasets.
- `weight_layers`: a discriminator's layers as FreezeD counts them.
- `restore_image`: restoring an image of any size in overlapping tiles (`ganx sample --input`).
- `corrupt`, `inpaint`, `denoise`, `superres`, `input_channels`, `visible`: the corruptions of
  the image restoration tasks.

Importing this package imports torch. A plugin's `__init__` and domain module must not (plugin
discovery stays fast): import `ganx.nn` inside the builders, as the built-in domains do.
"""

from __future__ import annotations

from .ada import AdaptiveAugment
from .augment import POLICIES, AugmentedDiscriminator, parse_policy
from .corruptions import corrupt, denoise, inpaint, input_channels, superres, visible
from .dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_init
from .equalized import EqualConv2d, EqualLinear
from .layers import weight_layers
from .mlp import MLP
from .resnet import ResNetDiscriminator, ResNetGenerator
from .stylegan2 import MappingNetwork, StyleGAN2Generator
from .stylegan2_d import StyleGAN2Discriminator, minibatch_std
from .tiling import restore_image
from .unet import PatchDiscriminator, UNetGenerator

__all__ = [
    "MLP",
    "POLICIES",
    "AdaptiveAugment",
    "AugmentedDiscriminator",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "EqualConv2d",
    "EqualLinear",
    "MappingNetwork",
    "PatchDiscriminator",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "StyleGAN2Discriminator",
    "StyleGAN2Generator",
    "UNetGenerator",
    "corrupt",
    "dcgan_init",
    "denoise",
    "inpaint",
    "input_channels",
    "minibatch_std",
    "parse_policy",
    "restore_image",
    "superres",
    "visible",
    "weight_layers",
]
