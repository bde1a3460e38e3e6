"""Restoring a user's own image files of any size with a trained restoration generator.

Each file is the degraded input itself: a noisy photo (denoise), a small image (superres: it is
first upsampled by `scale`, so the output is `scale` times larger), or an image with holes
(inpaint: a mask file `NAME.mask.png` beside it marks the holes in black). The image is
reflect-padded so that tiles of the model's resolution, half a tile apart, cover it; restored
tile by tile, blended with a Hann window (no seams at tile borders), cropped back and written as
PNG, keeping the folder structure under the output folder (the walk over the files is
`ganx.restoration.FileRestorer`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganx.metrics import to_uint8
from ganx.nn import restore_image
from ganx.restoration import FileRestorer, SkipInput

from .sources import IMAGE_EXTENSIONS

MASK_SUFFIX = ".mask.png"


def _read(path: Path, mode: str) -> torch.Tensor:
    from PIL import Image

    try:
        with Image.open(path) as im:
            array = np.asarray(im.convert(mode), dtype=np.uint8)
    except OSError as exc:  # unreadable or not an image
        raise SkipInput(str(exc)) from None
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(array.copy()).float().div(127.5).sub(1.0)


def _write(image: torch.Tensor, path: Path) -> None:
    from PIL import Image

    array = to_uint8(image[None])[0].numpy()
    if array.shape[0] == 1:
        Image.fromarray(array[0], "L").save(path, format="PNG")
    else:
        Image.fromarray(array.transpose(1, 2, 0), "RGB").save(path, format="PNG")


def degraded_input(path: Path, cfg, mode: str) -> torch.Tensor:
    """The generator's input for a user's file; SkipInput when it cannot be made."""
    image = _read(path, mode)
    if cfg.task == "denoise":
        return image
    if cfg.task == "superres":
        return F.interpolate(image[None], scale_factor=cfg.scale, mode="bilinear",
                             align_corners=False)[0]
    mask_path = path.with_name(path.stem + MASK_SUFFIX)
    if not mask_path.is_file():
        raise SkipInput(f"inpainting needs a mask {mask_path.name} (black = hole)")
    known = (_read(mask_path, "L") > 0).float()
    if known.shape[-2:] != image.shape[-2:]:
        raise SkipInput(f"its mask is {known.shape[-1]}x{known.shape[-2]}, the image"
                        f" {image.shape[-1]}x{image.shape[-2]}")
    return torch.cat([image * known, known])


def image_restorer(cfg, generator: torch.nn.Module, device: torch.device
                   ) -> FileRestorer[torch.Tensor]:
    """The `--input` walk of a restoration run: image files in, PNG files out."""
    mode = "L" if cfg.channels == 1 else "RGB"

    def restore(path: Path) -> torch.Tensor:
        corrupted = degraded_input(path, cfg, mode)
        return restore_image(generator, corrupted, cfg.resolution, cfg.channels, device)

    return FileRestorer(suffixes=IMAGE_EXTENSIONS, output_suffix=".png", restore=restore,
                        write=_write, kind="image", companions=(MASK_SUFFIX,))
