"""The commands that use a trained run: export (and the latent tools, serve), registered in
`commands.ALL`."""

from __future__ import annotations

from .export_cmd import export
from .latent_cmd import interpolate, invert
from .serve_cmd import serve

TOOLS = [export, interpolate, invert, serve]
