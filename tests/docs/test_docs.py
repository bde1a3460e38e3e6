"""The reference docs match the code: config fields, CLI commands and options."""

from __future__ import annotations

import dataclasses
import re

import click

from ganx.cli.help_page import help_page
from ganx.cli.main import cli
from ganx.core.config import TrainConfig, field_docs

from ..conftest import REPO


def config_table() -> str:
    docs = field_docs(TrainConfig)
    rows = ["| field | default | meaning |", "|---|---|---|"]
    for f in dataclasses.fields(TrainConfig):
        default = f.default
        shown = f"`{list(default)}`" if isinstance(default, tuple) else f"`{default!r}`"
        rows.append(f"| `{f.name}` | {shown} | {docs.get(f.name, '')} |")
    return "\n".join(rows)


def test_config_reference_lists_every_engine_field():
    text = (REPO / "docs" / "reference" / "config.md").read_text()
    expected = config_table()
    assert expected in text, f"regenerate the table in docs/reference/config.md:\n{expected}"


def test_cli_reference_covers_every_command_and_option():
    text = (REPO / "docs" / "reference" / "cli.md").read_text()

    def walk(group: click.Group, prefix: str):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from walk(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", command

    for name, command in walk(cli, ""):
        assert f"## `ganx {name}" in text, f"ganx {name} is not documented"
        for param in command.params:
            if isinstance(param, click.Option):
                assert any(re.search(re.escape(opt) + r"\b", text) for opt in param.opts), (
                    f"ganx {name} {param.opts[0]} is not documented")


def test_cli_help_page_is_what_the_cli_prints():
    page = (REPO / "docs" / "reference" / "cli-help.md").read_text()
    assert page == help_page(cli), (
        "regenerate: python -m ganx.cli.help_page > docs/reference/cli-help.md")
    assert "## `ganx train`" in page and "--resume" in page
