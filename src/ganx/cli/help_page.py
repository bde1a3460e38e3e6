"""docs/reference/cli-help.md: every command's `--help`, as the CLI prints it.

Regenerate with `python -m ganx.cli.help_page > docs/reference/cli-help.md`; tests/docs/test_docs.py
fails when the page and the CLI disagree. The width is fixed so the text does not depend on the
terminal it was made in.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

WIDTH = 100

HEADER = """# CLI `--help`, in full

Generated from the commands themselves (`python -m ganx.cli.help_page >
docs/reference/cli-help.md`) and checked by the tests, so it is always what `ganx ... --help`
prints. The [CLI reference](cli.md) explains the commands with examples.
"""


def _context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    # as the command line makes it (context settings applied), without parsing anything
    return command.make_context(name, [], parent=parent, resilient_parsing=True,
                                terminal_width=WIDTH, max_content_width=WIDTH)


def _commands(group: click.Group, ctx: click.Context) -> Iterator[click.Context]:
    for name in sorted(group.commands):
        sub = _context(group.commands[name], name, ctx)
        yield sub
        if isinstance(sub.command, click.Group):
            yield from _commands(sub.command, sub)


def help_page(cli: click.Group) -> str:
    """The page for `cli`: ganx's own commands (plugins may add more on a given machine)."""
    root = _context(cli, "ganx", None)
    parts = [HEADER]
    for ctx in [root, *_commands(cli, root)]:
        parts.append(f"## `{ctx.command_path}`\n\n```\n{ctx.command.get_help(ctx)}\n```\n")
    return "\n".join(parts)


def main() -> None:
    from .main import cli

    print(help_page(cli), end="")


if __name__ == "__main__":
    main()
