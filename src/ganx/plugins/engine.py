"""Built-in plugin `engine`: registers the engine's adversarial losses by name, and the
TensorBoard run callback.

It loads through ganx's own entry point, like any third-party plugin, and references the loss
classes lazily so plugin discovery does not import torch.
"""

from __future__ import annotations

from collections.abc import Callable

from ganx.plugins.hookspecs import hookimpl

BUILTIN_LOSSES = {
    "nonsaturating": "ganx.core.losses:NonSaturating",
    "minimax": "ganx.core.losses:Minimax",
    "hinge": "ganx.core.losses:Hinge",
    "wasserstein": "ganx.core.losses:Wasserstein",
    "lsgan": "ganx.core.losses:LeastSquares",
    "rpgan": "ganx.core.losses:RelativisticPairing",
}


@hookimpl
def ganx_register_losses(register: Callable[[str, str], None]) -> None:
    for name, target in BUILTIN_LOSSES.items():
        register(name, target)


@hookimpl
def ganx_register_callbacks(register: Callable[[str, str], None]) -> None:
    register("tensorboard", "ganx.core.tensorboard:TensorBoardCallback")
