"""Built-in plugin `medical`: GANs on CT, MR and radiograph slices from NIfTI volumes and DICOM
files or series, with modality-aware intensities, generation and restoration.

Loaded through ganx's own entry point like any third-party plugin; nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ganx.core.domain import Domain
from ganx.plugins.hookspecs import hookimpl

from .domain import MedicalDomain


@hookimpl
def ganx_register_domains(register: Callable[[Domain], None]) -> None:
    register(MedicalDomain())


@hookimpl
def ganx_register_metrics(register: Callable[[str, Any], None]) -> None:
    # lazy "module:attribute" references: the metrics module imports torch, discovery must not
    register("medical-fid", "ganx.plugins.medical.metrics:generation_metrics")
    register("medical-restoration", "ganx.plugins.medical.metrics:restoration_metrics")
    register("medical-memorisation", "ganx.plugins.medical.memorisation:memorisation_metrics")
