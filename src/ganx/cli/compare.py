"""`ganx compare RUN_A RUN_B ...`: the runs' latest metrics in one table and their evaluation
curves in one HTML page, refused when the values were measured under different protocols."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path())
@click.option("--out", type=click.Path(dir_okay=False), default="compare.html",
              show_default=True, help="Where to write the HTML page with the curves.")
def compare(runs: tuple[str, ...], out: str) -> None:
    """Compare runs: their latest metrics side by side, and their curves in one HTML page.

    Refuses (one line, naming the field) when the runs' values were measured differently:
    another feature network, resize, sample count, reference set, precision, device or version.
    """
    from ganx.report.compare import compare_runs, comparison_table, write_comparison

    compared = compare_runs([Path(run) for run in runs])
    click.echo(comparison_table(compared))
    click.echo(f"curves: {write_comparison(compared, out)}")
