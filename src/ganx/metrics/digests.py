"""Checksums that name what a cached result was made from: arrays, files and network weights.

A feature extractor's `digest` and a reference set's data digest together key the cached
reference statistics (`ganx.metrics.reference_stats`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torch import nn


def array_digest(*arrays: Any) -> str:
    """SHA-256 (hex) of arrays: their dtypes, shapes and bytes, in order."""
    digest = hashlib.sha256()
    for item in arrays:
        array = np.ascontiguousarray(item)
        digest.update(f"{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB blocks (`algorithm`: any hashlib name)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_digest(module: nn.Module) -> str:
    """SHA-256 (hex) of a network's parameters and buffers, in state-dict order."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
