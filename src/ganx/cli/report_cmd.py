"""`ganx report RUN`: the run's report, one self-contained HTML page."""

from __future__ import annotations

import click


@click.command()
@click.argument("run", type=click.Path())
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write the page here.  [default: RUN/report.html]")
@click.option("--snapshots", type=int, default=12, show_default=True,
              help="Snapshots of each sample picture shown over time (evenly spaced, always "
                   "with the newest).")
def report(run, out, snapshots) -> None:
    """Write a run's report: curves, samples over time, config and environment in one HTML page
    that works offline. Cheap enough to rerun while the run is going."""
    from ganx.report import write_report

    if snapshots < 1:
        raise click.BadParameter("must be at least 1", param_hint="--snapshots")
    path = write_report(run, out, snapshots=snapshots)
    click.echo(str(path))
