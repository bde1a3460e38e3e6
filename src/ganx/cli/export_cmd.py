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
@click.option("--check/--no-check", default=True,
              help="Compare the export with `generate` on 4 latents and print the largest "
                   "difference.")
def export(run, fmt, out, check) -> None:
    """Export a run's EMA generator and its domain's post-processing as one graph: latent
    (+ label for class-conditional runs) in, samples out."""
    import ganx
    from ganx.tools.export import export as write_export
    from ganx.tools.export import export_parity

    model = ganx.load(run)
    path = write_export(model, fmt, Path(out) if out else None)
    click.echo(str(path))
    if check:
        diff = export_parity(model, path, fmt)
        click.echo(f"parity: max |export - generate| = {diff:.3g} on 4 samples", err=True)
