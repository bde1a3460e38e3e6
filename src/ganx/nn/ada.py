"""Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data"), written for ganx from the paper.

Every image the discriminator sees, real or generated, in D and G steps alike, is augmented
with probability p per transform: flips, 90-degree rotations and integer translations (blit),
isotropic and anisotropic scaling, rotation and fractional translation (geometric), and
brightness, contrast and saturation (colour). The geometric transforms compose into one affine
map per image applied with differentiable resampling, so gradients reach the generator. The
augmentations leak nothing into generated images as long as p stays below about 0.8.

p adapts to the overfitting heuristic r_t = E[sign(D(real))]: every `interval` discriminator
steps, p moves up when r_t is above `target` (D is too sure of the real images) and down
otherwise, by as much as lets it go from 0 to 1 in `speed_kimg` thousand real images. p and the
heuristic are buffers (saved in snapshots; a resumed run continues with the same p) and are
updated on the device without a host sync. Randomness comes from torch's global generator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganx.core.networks import discriminator_layers


def _bernoulli(n: int, p: torch.Tensor, device: torch.device) -> torch.Tensor:
    return (torch.rand(n, device=device) < p).float()


def _lognormal(n: int, std: float, device: torch.device) -> torch.Tensor:
    return torch.exp2(torch.randn(n, device=device) * std)


def geometric_matrix(n: int, p: torch.Tensor, size: int, device: torch.device) -> torch.Tensor:
    """(n, 2, 3) affine maps in affine_grid's normalised coordinates, each transform applied
    with probability p (rotation with 1 - sqrt(1 - p), as it is drawn twice in the paper)."""
    eye = torch.eye(3, device=device).expand(n, 3, 3)
    m = eye.clone()

    def then(t: torch.Tensor) -> None:
        nonlocal m
        m = m @ t

    def diag(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
        t = eye.clone()
        t[:, 0, 0], t[:, 1, 1] = sx, sy
        return t

    def rot(theta: torch.Tensor) -> torch.Tensor:
        t = eye.clone()
        t[:, 0, 0], t[:, 0, 1] = torch.cos(theta), -torch.sin(theta)
        t[:, 1, 0], t[:, 1, 1] = torch.sin(theta), torch.cos(theta)
        return t

    def shift(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
        t = eye.clone()
        t[:, 0, 2], t[:, 1, 2] = tx, ty
        return t

    flip = 1 - 2 * _bernoulli(n, p, device) * (torch.rand(n, device=device) < 0.5).float()
    then(diag(flip, torch.ones(n, device=device)))
    quarter = torch.randint(0, 4, (n,), device=device).float() * _bernoulli(n, p, device)
    then(rot(quarter * (math.pi / 2)))
    pixel = 2.0 / size  # one pixel in normalised coordinates
    steps = torch.round((torch.rand(n, 2, device=device) * 2 - 1) * 0.125 * size)
    on = _bernoulli(n, p, device)[:, None]
    then(shift(steps[:, 0] * pixel * on[:, 0], steps[:, 1] * pixel * on[:, 0]))
    iso = torch.where(_bernoulli(n, p, device) > 0, _lognormal(n, 0.2, device), 1.0)
    then(diag(iso, iso))
    p_rot = 1 - torch.sqrt((1 - p).clamp(min=0))
    angle = (torch.rand(n, device=device) * 2 - 1) * math.pi * _bernoulli(n, p_rot, device)
    then(rot(angle))
    aniso = torch.where(_bernoulli(n, p, device) > 0, _lognormal(n, 0.2, device), 1.0)
    then(diag(aniso, 1 / aniso))
    post = (torch.rand(n, device=device) * 2 - 1) * math.pi * _bernoulli(n, p_rot, device)
    then(rot(post))
    frac = torch.randn(n, 2, device=device) * 0.125 * 2 * _bernoulli(n, p, device)[:, None]
    then(shift(frac[:, 0], frac[:, 1]))
    return m[:, :2, :]


def color_transform(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Brightness (+N(0, 0.2)), contrast (x lognormal, std 0.5 octaves) and, for colour images,
    saturation (x lognormal, std 1 octave), each with probability p, per image."""
    n, device = x.shape[0], x.device
    brightness = torch.randn(n, device=device) * 0.2 * _bernoulli(n, p, device)
    x = x + brightness[:, None, None, None].to(x.dtype)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = torch.where(_bernoulli(n, p, device) > 0, _lognormal(n, 0.5, device), 1.0)
    x = (x - mean) * contrast[:, None, None, None].to(x.dtype) + mean
    if x.shape[1] == 3:
        grey = x.mean(dim=1, keepdim=True)
        saturation = torch.where(_bernoulli(n, p, device) > 0, _lognormal(n, 1.0, device), 1.0)
        x = (x - grey) * saturation[:, None, None, None].to(x.dtype) + grey
    return x


def _reflect(coord: torch.Tensor, size: int) -> torch.Tensor:
    """Pixel coordinates mirrored into [-0.5, size - 0.5] (reflection about the image edges)."""
    span = float(size)
    t = torch.remainder(coord + 0.5, 2 * span)
    return torch.where(t > span, 2 * span - t, t) - 0.5


def bilinear_sample(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """`F.grid_sample(x, grid, "bilinear", "reflection", align_corners=False)` written with
    gathers, so it is twice differentiable with respect to `x`: R1's gradient penalty takes the
    gradient of a gradient through the augmentation, which PyTorch's grid_sample does not
    support."""
    n, c, h, w = x.shape
    # pixel indices from bf16 coordinates would round past the image: at least fp32
    grid = grid.to(torch.promote_types(grid.dtype, torch.float32))
    ix = _reflect(((grid[..., 0] + 1) * w - 1) / 2, w)
    iy = _reflect(((grid[..., 1] + 1) * h - 1) / 2, h)
    x0, y0 = ix.floor(), iy.floor()
    wx, wy = (ix - x0).to(x.dtype), (iy - y0).to(x.dtype)
    flat = x.reshape(n, c, h * w)

    def tap(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        index = (ys.clamp(0, h - 1) * w + xs.clamp(0, w - 1)).long().reshape(n, 1, -1)
        return flat.gather(2, index.expand(n, c, -1)).reshape(n, c, *ix.shape[1:])

    top = tap(x0, y0) * (1 - wx)[:, None] + tap(x0 + 1, y0) * wx[:, None]
    bottom = tap(x0, y0 + 1) * (1 - wx)[:, None] + tap(x0 + 1, y0 + 1) * wx[:, None]
    return top * (1 - wy)[:, None] + bottom * wy[:, None]


def augment(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """`x` (N, C, H, W) through the geometric and colour transforms, each with probability p."""
    n, _, h, w = x.shape
    # the geometry in fp32 whatever the precision policy: under bf16 autocast the matrix
    # products would round sampling positions by whole pixels
    with torch.autocast(x.device.type, enabled=False):
        theta = geometric_matrix(n, p.float(), max(h, w), x.device)
        grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)
    return color_transform(bilinear_sample(x, grid), p)


class AdaptiveAugment(nn.Module):
    """Wraps a discriminator: in training mode its inputs are augmented with the adaptive p."""

    p: torch.Tensor
    rt: torch.Tensor
    sign_sum: torch.Tensor
    seen: torch.Tensor
    calls: torch.Tensor

    def __init__(self, discriminator: nn.Module, *, target: float = 0.6, interval: int = 4,
                 speed_kimg: float = 100.0, initial_p: float = 0.0) -> None:
        super().__init__()
        self.discriminator = discriminator
        self.target, self.interval, self.speed_kimg = target, interval, speed_kimg
        self.register_buffer("p", torch.tensor(float(initial_p)))
        self.register_buffer("rt", torch.tensor(0.0))
        self.register_buffer("sign_sum", torch.tensor(0.0))
        self.register_buffer("seen", torch.tensor(0.0))
        self.register_buffer("calls", torch.tensor(0))

    def layers(self) -> list[nn.Module]:
        return discriminator_layers(self.discriminator)

    def forward(self, x: torch.Tensor, *conditions: torch.Tensor) -> torch.Tensor:
        if self.training:
            x = augment(x, self.p)
        logits: torch.Tensor = self.discriminator(x, *conditions)
        return logits

    @torch.no_grad()
    def observe_real_logits(self, logits: list[torch.Tensor]) -> None:
        """The engine hands D's logits on each real batch here; every `interval` batches p moves
        by sign(r_t - target) x (images seen) / (speed_kimg x 1000), clamped to [0, 1]."""
        first = logits[0].float()
        self.sign_sum += first.sign().sum()
        self.seen += first.numel()
        self.calls += 1
        due = self.calls % self.interval == 0
        rt = self.sign_sum / self.seen.clamp(min=1)
        step = torch.sign(rt - self.target) * self.seen / (self.speed_kimg * 1000)
        self.p.copy_(torch.where(due, (self.p + step).clamp(0, 1), self.p))
        self.rt.copy_(torch.where(due, rt, self.rt))
        self.sign_sum.copy_(torch.where(due, torch.zeros_like(self.sign_sum), self.sign_sum))
        self.seen.copy_(torch.where(due, torch.zeros_like(self.seen), self.seen))

    def training_stats(self) -> dict[str, torch.Tensor]:
        """Logged by the engine: p and the last r_t."""
        return {"ada_p": self.p, "ada_rt": self.rt}
