"""Image sample writing: tensors in [-1, 1] to PNG files."""

from __future__ import annotations

from pathlib import Path

import torch


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) floats in [-1, 1] to uint8 in [0, 255], rounding to nearest."""
    return images.float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)


def save_grid(images: torch.Tensor, path: Path, nrow: int, padding: int = 2) -> None:
    from PIL import Image
    from torchvision.utils import make_grid

    grid = make_grid(to_uint8(images), nrow=max(1, nrow), padding=padding, pad_value=255)
    array = grid.permute(1, 2, 0).numpy()
    mode = "RGB"
    if images.shape[1] == 1:
        array, mode = array[:, :, 0], "L"
    Image.fromarray(array, mode).save(path, format="PNG")
