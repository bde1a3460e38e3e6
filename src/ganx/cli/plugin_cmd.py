"""`ganx plugin new NAME`: start a domain plugin package from a working template."""

from __future__ import annotations

import click


@click.group()
def plugin() -> None:
    """Create domain plugin packages."""


@plugin.command("new")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=".",
              show_default=True, help="Folder to create ganx-NAME/ in.")
def new(name, directory) -> None:
    """Write ganx-NAME/: a plugin package that trains as it is (pyproject with the ganx entry
    point, a Domain with generator, discriminator, data and sample writer, a metric, tests using
    ganx.testing, README)."""
    from ganx.plugin_template import create_plugin

    path = create_plugin(name, directory)
    click.echo(f"wrote {path}")
    click.echo("next:")
    click.echo(f"  pip install -e {path}")
    click.echo(f"  pytest {path / 'tests'}")
    click.echo(f"  ganx train --plugin {name} --steps 500")
