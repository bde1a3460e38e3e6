"""The entry point ganx loads: registers the `toy` domain and its metrics. No torch at import."""

from __future__ import annotations

import ganx

from .domain import ToyDomain


@ganx.hookimpl
def ganx_register_domains(register):
    register(ToyDomain())


@ganx.hookimpl
def ganx_register_metrics(register):
    # a lazy reference: the metric module imports torch, discovery must not
    register("toy-modes", "ganx_toy.metrics:mode_metrics")
    register("toy-frechet", "ganx_toy.metrics:point_metrics")
