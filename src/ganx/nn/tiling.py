"""Restoring an image of any size with a generator trained on square tiles.

The image is padded so that tiles of the model's resolution, half a tile apart, cover it; each
tile is restored, and the overlapping outputs are blended with a Hann window, so tile borders
leave no seams (every pixel is a smooth mix of the tiles that cover it). Used to restore a
user's own files of any size with a model trained on fixed-size crops (the image domain's
photos, the medical domain's slices).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def padded_size(n: int, tile: int, stride: int) -> int:
    """The smallest size >= n that tiles of `tile` pixels, `stride` apart, cover exactly."""
    return tile if n <= tile else tile + math.ceil((n - tile) / stride) * stride


def blend_window(tile: int) -> torch.Tensor:
    """(tile, tile) weights for blending overlapping tiles: a Hann window, floored so that image
    borders (covered by one tile only) keep a usable weight."""
    hann = torch.hann_window(tile, periodic=False).clamp_min(1e-2)
    return hann[:, None] * hann[None, :]


@torch.no_grad()
def restore_image(generator: torch.nn.Module, corrupted: torch.Tensor, resolution: int,
                  channels: int, device: torch.device, batch_size: int = 64) -> torch.Tensor:
    """Restore one (C', H, W) corrupted input in overlapping tiles (half a tile apart), blended
    with a Hann window so that tile borders leave no seams; returns (channels, H, W).

    `generator(z, tiles)` takes an empty latent (N, 0) and (N, C', resolution, resolution) tiles
    and returns (N, channels, resolution, resolution)."""
    _, h, w = corrupted.shape
    stride = max(1, resolution // 2)
    full_h, full_w = padded_size(h, resolution, stride), padded_size(w, resolution, stride)
    x = corrupted[None]
    pad_h, pad_w = full_h - h, full_w - w
    if pad_h or pad_w:
        # reflect needs the padding to be shorter than the image; tiny images replicate instead
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    columns = F.unfold(x, resolution, stride=stride)[0]  # (C' * r * r, tiles)
    tiles = columns.T.reshape(columns.shape[1], x.shape[1], resolution, resolution)
    outputs = []
    for start in range(0, len(tiles), batch_size):
        part = tiles[start: start + batch_size].to(device)
        outputs.append(generator(torch.empty(len(part), 0, device=device), part).float().cpu())
    window = blend_window(resolution)
    weighted = (torch.cat(outputs) * window).reshape(len(tiles), -1).T[None]
    total = F.fold(weighted, (full_h, full_w), resolution, stride=stride)
    weights = F.fold(window.reshape(1, -1, 1).expand(1, -1, len(tiles)), (full_h, full_w),
                     resolution, stride=stride)
    return (total / weights)[0, :, :h, :w]
