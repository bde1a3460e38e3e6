"""A StyleGAN2-class generator (Karras et al. 2020, "Analyzing and Improving the Image Quality of
StyleGAN"), written for ganx from the paper.

- A mapping network turns the latent z (and, for a conditional model, an embedded class) into
  an intermediate latent w; its running mean `w_avg` is tracked for the truncation trick.
- The synthesis network starts from a learned 4x4 constant and doubles the resolution per block;
  each layer's convolution is modulated by a style (an affine map of w) and demodulated, then
  gets per-pixel noise scaled by a learned strength; every block adds an RGB image (toRGB) to the
  upsampled image of the block before (skip-connection outputs).
- Style mixing regularisation: while training, a share of samples switch to the w of a second
  latent from a random layer on.

The interface the latent tools use: `mapping(z, *conditions) -> w` of shape (N, w_dim),
`synthesis(w) -> images` (w of shape (N, w_dim), or (N, num_ws, w_dim) with one w per layer),
the buffer `w_avg`, and `G(z, *conditions) == synthesis(mapping(z, *conditions))` in eval mode.
Randomness (noise, style mixing) comes from torch's global generator in training mode, which the
engine seeds and checkpoints; in eval mode the noise is a fixed buffer, so a latent always gives
the same image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .equalized import EqualLinear, leaky


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """z (N, z_dim) [+ class labels] -> w (N, w_dim) through `layers` equalized-lr layers with a
    learning-rate multiplier of 0.01; tracks the running mean of w while training."""

    w_avg: torch.Tensor

    def __init__(self, z_dim: int, w_dim: int, num_classes: int = 0, layers: int = 2,
                 w_avg_beta: float = 0.995) -> None:
        super().__init__()
        self.num_classes, self.w_avg_beta = num_classes, w_avg_beta
        self.embed = EqualLinear(num_classes, z_dim) if num_classes else None
        width = z_dim * (2 if num_classes else 1)
        self.net = nn.Sequential(*(
            EqualLinear(width if i == 0 else w_dim, w_dim, lr_multiplier=0.01, activation=True)
            for i in range(layers)))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                update_average: bool = True) -> torch.Tensor:
        x = normalize_2nd_moment(z)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels")
            onehot = F.one_hot(labels.long(), self.num_classes).to(z.dtype)
            x = torch.cat([x, normalize_2nd_moment(self.embed(onehot))], dim=1)
        w: torch.Tensor = self.net(x)
        if self.training and update_average:
            self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        return w


class ModulatedConv2d(nn.Module):
    """A convolution whose input channels are scaled by a per-sample style and whose output is
    demodulated (rescaled to unit expected variance), written as scale -> conv -> rescale so it
    runs as one ordinary convolution for the whole batch."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, w_dim: int, *,
                 demodulate: bool = True, up: bool = False) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.demodulate, self.up, self.padding = demodulate, up, kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # (N, in)
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        weight = self.weight * self.weight_gain
        out = F.conv2d(x * styles[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:
            # sum over (in, kh, kw) of (weight * style)^2, per sample and output channel
            # (in fp32: under bf16 the sum of squares would lose the small terms)
            power = styles.float().square() @ weight.float().square().sum(dim=(2, 3)).t()
            out = out * (power + 1e-8).rsqrt().to(out.dtype)[:, :, None, None]
        return out


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution, per-pixel noise with a learned strength, bias, leaky ReLU."""

    noise_const: torch.Tensor

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 up: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = self.conv(x, w)
        if self.training:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device,
                                dtype=x.dtype)
        else:
            noise = self.noise_const.to(x.dtype)
        return leaky(x + noise * self.noise_strength + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    def __init__(self, in_channels: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.conv(x, w) + self.bias[None, :, None, None]
        return out


class SynthesisBlock(nn.Module):
    """One resolution: (upsampling) two synthesis layers and a toRGB added to the image so far.
    The 4x4 block starts from a learned constant and has one layer."""

    def __init__(self, in_channels: int, out_channels: int, channels: int, w_dim: int,
                 resolution: int) -> None:
        super().__init__()
        self.first = resolution == 4
        if self.first:
            self.const = nn.Parameter(torch.randn(out_channels, 4, 4))
            self.layers = nn.ModuleList([SynthesisLayer(out_channels, out_channels, w_dim, 4)])
        else:
            self.layers = nn.ModuleList([
                SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=True),
                SynthesisLayer(out_channels, out_channels, w_dim, resolution)])
        self.torgb = ToRGB(out_channels, channels, w_dim)
        self.num_ws = len(self.layers) + 1

    def forward(self, x: torch.Tensor | None, image: torch.Tensor | None,
                ws: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.first:
            x = self.const[None].expand(ws.shape[0], -1, -1, -1).to(ws.dtype)
        assert x is not None
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i])
        assert x is not None
        rgb = self.torgb(x, ws[:, len(self.layers)])
        if image is not None:
            rgb = rgb + F.interpolate(image, scale_factor=2.0, mode="bilinear",
                                      align_corners=False)
        return x, rgb


def stylegan_channels(resolution: int, width: int, at: int) -> int:
    """Feature channels at resolution `at`: `width` at full resolution, doubling as the
    resolution halves, at most 4 x `width`."""
    return min(width * (resolution // at), 4 * width)


class SynthesisNetwork(nn.Module):
    def __init__(self, w_dim: int, channels: int, resolution: int, width: int) -> None:
        super().__init__()
        sizes = [2 ** i for i in range(2, int(math.log2(resolution)) + 1)]
        blocks, previous = [], 0
        for size in sizes:
            out = stylegan_channels(resolution, width, size)
            blocks.append(SynthesisBlock(previous, out, channels, w_dim, size))
            previous = out
        self.blocks = nn.ModuleList(blocks)
        self.block_ws = [b.num_ws for b in blocks]
        self.num_ws = sum(len(b.layers) for b in blocks) + 1  # toRGBs share the next layer's w

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        x: torch.Tensor | None = None
        image: torch.Tensor | None = None
        start = 0
        for block, count in zip(self.blocks, self.block_ws, strict=True):
            x, image = block(x, image, ws[:, start: start + count])
            start += count - 1  # a block's toRGB and the next block's first layer share
        assert image is not None
        return image


class StyleGAN2Generator(nn.Module):
    """Latents (N, latent_dim) [+ class labels (N,)] to images (N, channels, resolution,
    resolution), 8 to 256 px. `width` is the channels at full resolution (doubling as the
    resolution halves, at most 4 x width); `w_dim` defaults to `latent_dim`; `style_mixing` is the
    share of training samples that switch to a second latent's w at a random layer."""

    def __init__(self, latent_dim: int, channels: int, resolution: int, width: int = 64,
                 num_classes: int = 0, *, w_dim: int = 0, mapping_layers: int = 2,
                 style_mixing: float = 0.9) -> None:
        super().__init__()
        if resolution < 8 or resolution > 256 or resolution & (resolution - 1):
            raise ValueError(f"StyleGAN2Generator: resolution {resolution}; use a power of two"
                             " from 8 to 256")
        w_dim = w_dim or latent_dim
        self.mapping_net = MappingNetwork(latent_dim, w_dim, num_classes, mapping_layers)
        self.synthesis_net = SynthesisNetwork(w_dim, channels, resolution, width)
        self.num_ws, self.style_mixing = self.synthesis_net.num_ws, style_mixing
        self.latent_dim = latent_dim

    @property
    def w_avg(self) -> torch.Tensor:
        """The running mean of w (the truncation trick's centre)."""
        w_avg: torch.Tensor = self.mapping_net.w_avg
        return w_avg

    def mapping(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        w: torch.Tensor = self.mapping_net(z, labels)
        return w

    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        """Images from w: (N, w_dim), the same w for every layer, or (N, num_ws, w_dim)."""
        ws = w.unsqueeze(1).expand(-1, self.num_ws, -1) if w.dim() == 2 else w
        image: torch.Tensor = self.synthesis_net(ws)
        return image

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        w = self.mapping(z, labels)
        if not (self.training and self.style_mixing > 0):
            return self.synthesis(w)
        return self.synthesis(self._mixed(w, labels))

    def _mixed(self, w: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Style mixing regularisation, without a host sync: a random share of the samples take
        a second latent's w from a random layer on."""
        n, device = w.shape[0], w.device
        z2 = torch.randn(n, self.latent_dim, device=device, dtype=w.dtype)
        w2 = self.mapping_net(z2, labels, update_average=False)
        cutoff = torch.randint(1, self.num_ws, (n, 1), device=device)
        mixing = torch.rand(n, 1, device=device) < self.style_mixing
        second = (torch.arange(self.num_ws, device=device)[None] >= cutoff) & mixing
        return torch.where(second[:, :, None], w2[:, None], w[:, None])
