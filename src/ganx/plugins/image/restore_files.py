"""Restoring a user's own image files of any size with a trained restoration generator.

Each file is the degraded input itself: a noisy photo (denoise), a small image (superres: it is
first upsampled by `scale`, so the output is `scale` times larger), or an image with holes
(inpaint: a mask file `NAME.mask.png` beside it marks the holes in black). The image is
reflect-padded so that tiles of the model's resolution, half a tile apart, cover it; restored
tile by tile, blended with a Hann window (no seams at tile borders), cropped back and written as
PNG, keeping the folder structure under the output folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganx.core.errors import ConfigError
from ganx.metrics import to_uint8

from .sources import list_image_files
from .tiling import restore_image

log = logging.getLogger("ganx")
MASK_SUFFIX = ".mask.png"


def _read(path: Path, mode: str) -> torch.Tensor:
    from PIL import Image

    with Image.open(path) as im:
        array = np.asarray(im.convert(mode), dtype=np.uint8)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(array.copy()).float().div(127.5).sub(1.0)


def _write(image: torch.Tensor, path: Path) -> None:
    from PIL import Image

    array = to_uint8(image[None])[0].numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.shape[0] == 1:
        Image.fromarray(array[0], "L").save(path, format="PNG")
    else:
        Image.fromarray(array.transpose(1, 2, 0), "RGB").save(path, format="PNG")


def degraded_input(path: Path, cfg, mode: str) -> torch.Tensor | None:
    """The generator's input for a user's file, or None when it cannot be made (reported)."""
    image = _read(path, mode)
    if cfg.task == "denoise":
        return image
    if cfg.task == "superres":
        return F.interpolate(image[None], scale_factor=cfg.scale, mode="bilinear",
                             align_corners=False)[0]
    mask_path = path.with_name(path.stem + MASK_SUFFIX)
    if not mask_path.is_file():
        log.warning("skipping %s: inpainting needs a mask %s (black = hole)", path, mask_path.name)
        return None
    known = (_read(mask_path, "L") > 0).float()
    if known.shape[-2:] != image.shape[-2:]:
        log.warning("skipping %s: its mask is %dx%d, the image %dx%d", path, known.shape[-1],
                    known.shape[-2], image.shape[-1], image.shape[-2])
        return None
    return torch.cat([image * known, known])


def restore_files(cfg, generator: torch.nn.Module, source: Path, out_dir: Path,
                  device: torch.device) -> list[Path]:
    if cfg.task == "generate":
        raise ConfigError("--input restores images; this run generates them (task=generate)")
    if source.is_file():
        root, files = source.parent, [source]
    elif source.is_dir():
        root = source
        files = [f for f in list_image_files(source) if not f.name.endswith(MASK_SUFFIX)]
    else:
        raise ConfigError(f"--input {source}: no such file or folder")
    if not files:
        raise ConfigError(f"--input {source}: no image files found")
    mode = "L" if cfg.channels == 1 else "RGB"
    written = []
    for path in files:
        try:
            corrupted = degraded_input(path, cfg, mode)
        except OSError as exc:  # unreadable or not an image
            log.warning("skipping %s: %s", path, exc)
            continue
        if corrupted is None:
            continue
        restored = restore_image(generator, corrupted, cfg.resolution, cfg.channels, device)
        target = out_dir / path.relative_to(root).with_suffix(".png")
        _write(restored, target)
        written.append(target)
    if not written:
        raise ConfigError(f"--input {source}: no file could be restored (see the warnings)")
    return written
