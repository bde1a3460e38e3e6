"""The hooks a ganx plugin may implement. Each docstring is that hook's reference.

A plugin is a module (or object) with functions decorated by `ganx.hookimpl` and named after
these hooks; it is found through an entry point of group `ganx`. A hookimpl may accept any subset
of a hook's arguments. Keep plugin modules free of top-level torch imports: `ganx --help` and
`ganx plugins` load every plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from ganx.core.domain import Domain

PROJECT = "ganx"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ganx_register_domains(register: Callable[[Domain], None]) -> None:
    """Register domains: call `register(MyDomain())` once per domain.

    The domain's `name` becomes the `--plugin` value. Registering a name another plugin already
    registered is reported as a load error of the later plugin.
    """


@hookspec
def ganx_register_losses(register: Callable[[str, Any], None]) -> None:
    """Register adversarial losses: `register(name, loss)`.

    `loss` is an object with `d_loss(real_logits, fake_logits)` and `g_loss(fake_logits)`, each
    returning a scalar tensor (see `ganx.core.losses.AdversarialLoss`), or a class producing one,
    or a string "package.module:attribute" naming either, imported on first use (keeps torch out
    of discovery). Select it with `--set loss=NAME`.
    """


@hookspec
def ganx_register_metrics(register: Callable[[str, Any], None]) -> None:
    """Register evaluation metrics: `register(name, metric)`.

    `metric(fake, real, config)` receives generated and real samples (CPU float tensors) and the
    domain config, and returns a mapping of result names to floats. As with losses, `metric` may
    be a "package.module:attribute" string imported on first use. A domain lists the metrics it
    evaluates by default in `Domain.default_metrics`.
    """


@hookspec
def ganx_register_callbacks(register: Callable[[str, Any], None]) -> None:
    """Register run callbacks: `register(name, factory)`.

    `factory()` makes a fresh `ganx.Callback` for each run (a `Callback` subclass is such a
    factory), or is a "package.module:attribute" string naming one, imported on first use. Every
    run of every domain then calls the callback at its start and end, at each record written to
    metrics.jsonl and after each snapshot; `run.request_stop(reason)` ends the run early with a
    snapshot. The built-in `engine` plugin registers TensorBoard this way.
    """


@hookspec
def ganx_register_commands(cli: click.Group) -> None:
    """Add subcommands to the `ganx` command line: `@cli.command() def mycommand(): ...`.

    Import torch inside the command body, never at module level.
    """


HOOK_NAMES = tuple(name for name in dir() if name.startswith("ganx_"))
