"""Built-in plugin `image`: GANs on folders of images and named image datasets.

Loaded through ganx's own entry point like any third-party plugin; nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

from ganx.core.domain import Domain
from ganx.plugins.hookspecs import hookimpl

from .domain import ImageDomain


@hookimpl
def ganx_register_domains(register: Callable[[Domain], None]) -> None:
    register(ImageDomain())
