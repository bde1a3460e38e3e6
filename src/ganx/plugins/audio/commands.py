"""`ganx data prepare NAME`: make a named dataset ready in the ganx cache ahead of training.

Generic over domains: it asks every installed domain that lists NAME in `datasets()` and has a
`prepare_dataset(name, cfg)` method to prepare it. Added to the `data` group by the audio plugin
(the first domain that needs it) unless the command line already has one.
"""

from __future__ import annotations

from typing import Any

import click


@click.command("prepare")
@click.argument("name")
@click.option("--plugin", "-p", help="The domain that knows NAME.  [default: any that does]")
@click.option("--set", "set_pairs", multiple=True, metavar="KEY=VALUE",
              help="Domain settings of the dataset, e.g. --set digits_clips=8000; repeatable.")
def prepare(name: str, plugin: str | None, set_pairs: tuple[str, ...]) -> None:
    """Prepare a named dataset (e.g. synthesise spoken-digits) in the ganx cache."""
    from ganx.core.config import apply_settings, parse_set_options
    from ganx.core.errors import ConfigError, did_you_mean
    from ganx.plugins.host import get_host

    host = get_host()
    names = [plugin] if plugin else host.domains.names()
    known: list[str] = []
    for domain_name in names:
        domain = host.domain(domain_name)
        listed = [d[0] for d in domain.datasets()]
        preparer = getattr(domain, "prepare_dataset", None)
        if preparer is None:
            continue
        known += listed
        if name in listed:
            cfg = apply_settings(domain.Config(), parse_set_options(set_pairs), "--set")
            click.echo(str(preparer(name, cfg)))
            return
    raise ConfigError(f"no installed domain prepares a dataset named {name!r}"
                      f"{did_you_mean(name, known)} (preparable: {', '.join(known) or 'none'})")


def add_prepare_command(cli: Any) -> None:
    group = getattr(cli, "commands", {}).get("data")
    if isinstance(group, click.Group) and "prepare" not in group.commands:
        group.add_command(prepare)
