"""`ganx export`: a run's EMA generator and its domain's post-processing as one graph, latent
(+ label) in, samples out, as ONNX or TorchScript, checked against `ganx.load(RUN).generate`.

The graph is the domain's own `generate` traced with given latents (`ganx.tools.latent.decode`),
so it returns exactly what `generate` returns (images in [-1, 1], waveforms, volumes). Inputs:
`latent` (N, latent...) float32 and, for class-conditional runs, `label` (N,) int64; output:
`samples`. The batch dimension is dynamic."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from ganx.core.domain import describe
from ganx.core.errors import ConfigError, RunError

from .latent import conditional_labels, decode, refuse_restoration, seed_latents

if TYPE_CHECKING:
    from ganx.api import TrainedGenerator

__all__ = ["FORMATS", "export", "export_checked", "export_parity", "run_export"]

FORMATS = ("onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}
OPSET = 18
VERIFY_TOLERANCE = 1e-3
"""Largest difference from `generate` an export may show on new latents before it is refused
(a faithful fp32 export is within about 1e-6; the tests hold it to 1e-4)."""


class Sampler(nn.Module):
    """latent [, label] -> samples through the domain's `generate`."""

    def __init__(self, model: TrainedGenerator) -> None:
        super().__init__()
        self.model = model
        self.generator = model.generator  # registered, so its weights are the graph's

    def forward(self, latent: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return decode(self.model, latent, labels=label)


def check_exportable(model: TrainedGenerator) -> None:
    """Refuse runs whose samples are not a function of the latent (and label) alone."""
    refuse_restoration(model, "ganx export")
    z = seed_latents(model, 2, 0)
    labels = conditional_labels(model, 2)
    first = decode(model, z, labels=labels, seed=1)
    second = decode(model, z, labels=labels, seed=2)
    if not torch.equal(first, second):
        raise ConfigError(
            f"{describe(model.domain)}: its samples draw random numbers beyond the latent"
            " (text: autoregressive token sampling, one softmax draw per position in a loop), so"
            " there is no single graph from latent to samples to export")


def run_export(model: TrainedGenerator, fmt: str, out: Path) -> Path:
    """Write the export of `model` to `out`; returns `out`."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt}: use one of {', '.join(FORMATS)}")
    check_exportable(model)
    sampler = Sampler(model).eval()
    z = seed_latents(model, 2, 0)
    labels = conditional_labels(model, 2)
    args: tuple[torch.Tensor, ...] = (z,) if labels is None else (z, labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # tracing warns of every Python value it freezes
        warnings.simplefilter("ignore")
        _check_traceable(sampler, args, model)
        _write(sampler, args, out, model, fmt)
    return out


def _refuse_not_one_graph(model: TrainedGenerator, fmt: str, why: str) -> ConfigError:
    return ConfigError(
        f"{describe(model.domain)}: a {fmt} export would not reproduce generate on new latents"
        f" ({why}): part of the output is computed outside torch operations (audio"
        " generator=ddsp seeds its noise from a hash of each latent), so it is not one graph")


def _check_traceable(sampler: Sampler, args: tuple[torch.Tensor, ...],
                     model: TrainedGenerator) -> None:
    """A trace (what both formats record) must reproduce `generate` on latents other than the
    traced ones, or the export is refused."""
    z = seed_latents(model, 3, 1)
    labels = conditional_labels(model, 3)
    new = (z,) if labels is None else (z, labels)
    with torch.no_grad():
        traced = torch.jit.trace(sampler, args, check_trace=False)  # type: ignore[no-untyped-call]
        try:
            diff = float((traced(*new).float() - sampler(*new)).abs().max())
            why = f"max |trace - generate| = {diff:.3g}"
        except RuntimeError as exc:  # e.g. a size the trace froze
            diff, why = math.inf, f"the trace fails on them: {_first_line(exc)}"
    if not diff <= VERIFY_TOLERANCE:
        raise _refuse_not_one_graph(model, "traced", why)


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1][:160] if lines else ''}"


def _write(sampler: Sampler, args: tuple[torch.Tensor, ...], out: Path, model: TrainedGenerator,
           fmt: str) -> None:
    if fmt == "torchscript":
        with torch.no_grad():
            traced = torch.jit.trace(  # type: ignore[no-untyped-call]
                sampler, args, check_trace=False)
        traced.save(str(out))
    else:
        _onnx(sampler, args, out, model)


def _onnx(sampler: Sampler, args: tuple[torch.Tensor, ...], out: Path,
          model: TrainedGenerator) -> None:
    names = ["latent", "label"][: len(args)]
    axes = {name: {0: "batch"} for name in [*names, "samples"]}
    try:
        with torch.no_grad():
            torch.onnx.export(sampler, args, str(out), input_names=names,
                              output_names=["samples"], dynamic_axes=axes,
                              opset_version=OPSET, dynamo=False)
    except Exception as exc:
        text = str(exc).strip()
        if "Complex" in text:
            why = ("it computes with complex numbers (an STFT: SpecGAN's Griffin-Lim), which"
                   " ONNX has no type for")
        else:
            why = f"{type(exc).__name__}: {text.splitlines()[0][:200] if text else ''}"
        raise ConfigError(f"{describe(model.domain)}: this generator does not export to ONNX:"
                          f" {why}; use --format torchscript") from None


def export(model: TrainedGenerator, fmt: str = "onnx", out: str | Path | None = None) -> Path:
    """Export `model` (`ganx.load(RUN)`) to `out` [default: RUN/export/generator.onnx|.pt]."""
    return export_checked(model, fmt, out)[0]


def export_checked(model: TrainedGenerator, fmt: str = "onnx",
                   out: str | Path | None = None) -> tuple[Path, float]:
    """`export`, then the export run on latents other than the traced ones against `generate`
    (`export_parity`): an export that does not reproduce `generate` is deleted and refused.
    Returns the path and the largest difference."""
    if out is None:
        folder = model.path.parent.parent if model.path.parent.name == "checkpoints" \
            else model.path.parent
        out = folder / "export" / f"generator{SUFFIX.get(fmt, '')}"
    path = run_export(model, fmt, Path(out))
    try:
        diff = export_parity(model, path, fmt, n=3, seed=1)
    except Exception as exc:  # e.g. a traced constant the runtime cannot hold
        diff, why = math.inf, _first_line(exc)
    else:
        why = f"max |export - generate| = {diff:.3g}"
    if not diff <= VERIFY_TOLERANCE:
        path.unlink(missing_ok=True)
        raise _refuse_not_one_graph(model, fmt, why)
    return path, diff


def export_parity(model: TrainedGenerator, path: Path, fmt: str, n: int = 4,
                  seed: int = 0) -> float:
    """Max |export(latents) - model.generate(n, seed)| over the latents `generate` draws."""
    expected = model.generate(n, seed=seed, batch_size=n)
    z = seed_latents(model, n, seed).cpu()
    labels = conditional_labels(model, n)
    inputs = [z] if labels is None else [z, labels.cpu()]
    if fmt == "torchscript":
        loaded = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
        with torch.no_grad():
            got = loaded(*[t.to(model.device) for t in inputs]).float().cpu()
    else:
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs, strict=True)}
        got = torch.from_numpy(session.run(None, feeds)[0])
    if got.shape != expected.shape:
        raise RunError(f"{path}: the export gives shape {tuple(got.shape)}, generate gives"
                       f" {tuple(expected.shape)}")
    return float((got - expected).abs().max())
