"""`ganx.nn`: network building blocks for GAN domains, built-in and third-party alike.

- Generators and discriminators: DCGAN (`DCGANGenerator`, `DCGANDiscriminator`, with spectral
  norm and projection conditioning), ResNet/SNGAN (`ResNetGenerator`, `ResNetDiscriminator`),
  pix2pix restoration networks (`UNetGenerator`, `PatchDiscriminator`) and `MLP`.
- `AugmentedDiscriminator` and `parse_policy`: DiffAugment for small datasets.
- `restore_image`: restoring an image of any size in overlapping tiles (`ganx sample --input`).
- `corrupt`, `inpaint`, `denoise`, `superres`, `input_channels`, `visible`: the corruptions of
  the image restoration tasks.

Importing this package imports torch. A plugin's `__init__` and domain module must not (plugin
discovery stays fast): import `ganx.nn` inside the builders, as the built-in domains do.
"""

from __future__ import annotations

from .augment import POLICIES, AugmentedDiscriminator, parse_policy
from .corruptions import corrupt, denoise, inpaint, input_channels, superres, visible
from .dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_init
from .mlp import MLP
from .resnet import ResNetDiscriminator, ResNetGenerator
from .tiling import restore_image
from .unet import PatchDiscriminator, UNetGenerator

__all__ = [
    "MLP",
    "POLICIES",
    "AugmentedDiscriminator",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "PatchDiscriminator",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "UNetGenerator",
    "corrupt",
    "dcgan_init",
    "denoise",
    "inpaint",
    "input_channels",
    "parse_policy",
    "restore_image",
    "superres",
    "visible",
]
