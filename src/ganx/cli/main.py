"""`ganx`: the command group, error handling and exit codes.

Exit codes: 0 success; 1 the run failed; 2 usage or configuration error; 130/143 interrupted
after a clean snapshot. Errors print one line; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from ganx import __version__
from ganx.core.errors import GanxError, TrainingInterrupted
from ganx.plugins.host import get_host

from . import commands


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "--version", prog_name="ganx")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """ganx trains generative adversarial networks in any domain through plugins.

    \b
      ganx plugins                      what is installed
      ganx train --plugin toy           train (see: ganx train --help)
      ganx sample runs/toy-... -n 64    draw samples from a trained run
    """


for command in commands.ALL:
    cli.add_command(command)


def _setup_logging() -> None:
    logger = logging.getLogger("ganx")
    if not any(getattr(h, "_ganx_console", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._ganx_console = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    if debug:  # plugin load errors then show their tracebacks too (here and in torchrun's workers)
        os.environ["GANX_DEBUG"] = "1"
    _setup_logging()
    try:
        get_host().add_commands(cli)
        cli.main(args=args, prog_name="ganx", standalone_mode=False)
    except TrainingInterrupted as exc:
        click.echo(f"ganx: {exc}; continue with --resume", err=True)
        sys.exit(exc.exit_code)
    except GanxError as exc:
        if debug:
            raise
        click.echo(f"ganx: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("ganx: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("ganx: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        click.echo(f"ganx: internal error: {type(exc).__name__}: {exc} (rerun with --debug for"
                   " the traceback and report it)", err=True)
        sys.exit(1)
    sys.exit(0)
