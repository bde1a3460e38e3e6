"""Built-in plugin `audio`: waveform GANs, denoising and vocoding on folders of recordings and on
spoken digits synthesised with espeak-ng.

Loaded through ganx's own entry point like any third-party plugin; nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ganx.core.domain import Domain
from ganx.plugins.hookspecs import hookimpl

from .domain import AudioDomain


@hookimpl
def ganx_register_domains(register: Callable[[Domain], None]) -> None:
    register(AudioDomain())


@hookimpl
def ganx_register_metrics(register: Callable[[str, Any], None]) -> None:
    # lazy "module:attribute" references: the metric modules import torch, discovery must not
    register("audio-gen", "ganx.plugins.audio.metrics:generation_metrics")
    register("audio-restoration", "ganx.plugins.audio.restoration_metrics:restoration_metrics")
