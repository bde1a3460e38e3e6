"""`ganx serve`: a local demo page and JSON API for a trained run."""

from __future__ import annotations

import ipaddress

import click


@click.command()
@click.argument("run", type=click.Path())
@click.option("--host", default="127.0.0.1",
              help="Address to listen on; the default answers this machine only.")
@click.option("--port", type=int, default=8000, help="Port to listen on.")
@click.option("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps.")
def serve(run, host, port, device) -> None:
    """Serve a page and a JSON API for a trained run: sample grids by seed, truncation,
    classes, interpolation, audio players, text prompts, and the run's report. Stops cleanly
    on Ctrl-C or SIGTERM."""
    import ganx
    from ganx.tools.serve import serve as run_server

    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        click.echo(f"ganx: warning: serving on {host}: anyone who can reach this address can"
                   " use the page (there is no authentication)", err=True)
    model = ganx.load(run, device=device)
    click.echo(f"serving {model.path} on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    signum = run_server(model, host, port)
    click.echo(f"ganx serve: stopped{f' (signal {signum})' if signum else ''}", err=True)
