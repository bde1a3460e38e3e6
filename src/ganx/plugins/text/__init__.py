"""Built-in plugin `text`: transformer GANs over tokens, on text files, folders and JSON lines.

Loaded through ganx's own entry point like any third-party plugin; nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ganx.core.domain import Domain
from ganx.plugins.hookspecs import hookimpl

from .domain import TextDomain


@hookimpl
def ganx_register_domains(register: Callable[[Domain], None]) -> None:
    register(TextDomain())


@hookimpl
def ganx_register_metrics(register: Callable[[str, Any], None]) -> None:
    # lazy "module:attribute" references: the metric modules import torch, discovery must not
    register("text-bleu", "ganx.plugins.text.metrics:text_metrics")
    register("text-embedding", "ganx.plugins.text.embedding:embedding_metrics")
