"""`ganx export`: a trained generator as one ONNX or TorchScript graph."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript"]), default="onnx",
              help="onnx (run it with onnxruntime, no ganx or torch needed) or torchscript.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="File to write.  [default: RUN/export/generator.onnx or .pt]")
def export(run, fmt, out) -> None:
    """Export a run's EMA generator and its domain's post-processing as one graph: latent
    (+ label for class-conditional runs) in, samples out. The export is run on new latents and
    compared with `generate` before this returns; the largest difference is printed."""
    import ganx
    from ganx.tools.export import export_checked

    model = ganx.load(run)
    path, diff = export_checked(model, fmt, Path(out) if out else None)
    click.echo(str(path))
    click.echo(f"parity: max |export - generate| = {diff:.3g} on 3 samples", err=True)
