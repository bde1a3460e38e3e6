"""Built-in plugin `image`: GANs on folders of images and named image datasets.

Loaded through ganx's own entry point like any third-party plugin; nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ganx.core.domain import Domain
from ganx.plugins.hookspecs import hookimpl

from .domain import ImageDomain


@hookimpl
def ganx_register_domains(register: Callable[[Domain], None]) -> None:
    register(ImageDomain())


@hookimpl
def ganx_register_metrics(register: Callable[[str, Any], None]) -> None:
    # a lazy "module:attribute": the metrics module imports torch, discovery must not
    register("image-fid", "ganx.plugins.image.metrics:image_metrics")
    register("image-restoration", "ganx.plugins.image.restoration_metrics:restoration_metrics")
    register("image-memorisation", "ganx.plugins.image.memorisation:memorisation_metrics")
