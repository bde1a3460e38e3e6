"""`ganx interpolate` and `ganx invert`: the latent tools (library: `ganx.tools`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


class _Several(click.Option):
    """An option taking every value up to the next option: `--seeds 1 2 latent.npy`."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is None:
                continue
            original = option.process

            def process(value: Any, state: Any, original: Any = original) -> None:
                values = [value]
                while state.rargs and not state.rargs[0].startswith("-"):
                    values.append(state.rargs.pop(0))
                original(tuple(values), state)

            option.process = process

    def type_cast_value(self, ctx: click.Context, value: Any) -> Any:
        if value is None or value == ():
            return ()
        return tuple(str(v) for v in (value if isinstance(value, tuple | list) else [value]))


def _default_out(run: str, name: str) -> Path:
    return Path(run) / name if Path(run).is_dir() else Path(run).parent / name


@click.command()
@click.argument("run", type=click.Path())
@click.option("--seeds", "ends", cls=_Several, required=True,
              help="End points, two or more: seeds (the first sample of `ganx sample --seed S`)"
                   " or .npy latents from `ganx invert`, e.g. --seeds 1 7 face.w.npy.")
@click.option("--frames", type=int, default=16, help="Frames along the whole path (2 to 512).")
@click.option("--out", type=click.Path(file_okay=False),
              help="Output folder.  [default: RUN/interpolation]")
@click.option("--truncation", "psi", type=float, default=1.0,
              help="Truncation trick on every frame, as for `ganx sample`.")
@click.option("--label", type=int, help="Class-conditional runs: the class to hold along the "
                                         "path.  [default: the run's label, else class 0]")
def interpolate(run, ends, frames, out, psi, label) -> None:
    """Samples along a path through latents: slerp in z, lerp in w (mapping networks); writes
    the frames as the domain writes samples, plus a strip and a GIF/WebP animation for pictures
    or one concatenated WAV for audio."""
    import ganx
    from ganx.core.errors import ConfigError
    from ganx.tools.interpolate import hold_class, write_interpolation
    from ganx.tools.interpolate import interpolate as run_path

    if len(ends) < 2:
        raise ConfigError(f"--seeds: give at least two end points, got {len(ends)}")
    settings = {} if label is None else {"label": label}
    model = hold_class(ganx.load(run, settings=settings))
    samples = run_path(model, list(ends), frames, psi=psi)
    for path in write_interpolation(model, samples, Path(out) if out else
                                    _default_out(run, "interpolation")):
        click.echo(str(path))


@click.command()
@click.argument("run", type=click.Path())
@click.option("--input", "source", type=click.Path(), required=True,
              help="An image (or a medical volume) or a folder of them, read like the run's data.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Output folder.  [default: RUN/inverted]")
@click.option("--steps", type=int, default=200, help="Optimisation steps.")
@click.option("--lr", type=float, default=0.05, help="Adam learning rate on the latent.")
@click.option("--features", type=click.Choice(["classifier", "inception", "random", "none"]),
              default="classifier",
              help="Feature network of the perceptual term (all ship with ganx).")
@click.option("--feature-weight", type=float, default=1.0,
              help="Weight of the feature distance against the pixel MSE.")
@click.option("-n", "limit", type=int, default=16, help="Invert at most this many items.")
def invert(run, source, out, steps, lr, features, feature_weight, limit) -> None:
    """Find latents that reconstruct your images (image and medical runs): writes NAME.z.npy
    or NAME.w.npy per item (end points for `ganx interpolate`) and the reconstructions, and
    prints PSNR/SSIM."""
    import ganx
    from ganx.core.errors import ConfigError
    from ganx.tools.invert import invert as run_inversion
    from ganx.tools.invert import read_targets, write_inversion

    if limit < 1:
        raise ConfigError(f"-n {limit}: use 1 or more")
    model = ganx.load(run)
    targets, names = read_targets(model, Path(source), limit)
    result = run_inversion(model, targets, steps=steps, lr=lr, features=features,
                           feature_weight=feature_weight)
    for path in write_inversion(model, result, names,
                                Path(out) if out else _default_out(run, "inverted")):
        click.echo(str(path))
    for name, p, s in zip(names, result.psnr, result.ssim, strict=True):
        click.echo(f"{name}: PSNR {p:.2f} dB, SSIM {s:.3f}", err=True)
