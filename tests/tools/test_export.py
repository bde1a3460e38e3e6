"""`ganx export`: the export matches `ganx.load(RUN).generate` on the same latents (onnxruntime
on the CPU, fp32, max abs difference <= 1e-4), and runs it cannot export are refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

import ganx
from ganx.core.errors import ConfigError
from ganx.tools.export import conditional_labels, export, export_parity
from ganx.tools.latent import seed_latents

from ..conftest import run_ganx

TOLERANCE = 1e-4


@pytest.mark.parametrize("kind", ["image", "image-stylegan2", "image-conditional", "medical",
                                  "audio-wavegan"])
def test_onnx_export_matches_generate(trained, tmp_path, kind):
    model = ganx.load(trained(kind))
    path = export(model, "onnx", tmp_path / "g.onnx")
    assert export_parity(model, path, "onnx", n=5, seed=3) <= TOLERANCE  # traced at batch 2


@pytest.mark.parametrize("kind", ["image", "audio"])
def test_torchscript_export_matches_generate(trained, tmp_path, kind):
    model = ganx.load(trained(kind))
    path = export(model, "torchscript", tmp_path / "g.pt")
    assert export_parity(model, path, "torchscript", n=3, seed=1) <= TOLERANCE


def test_onnx_export_runs_with_onnxruntime_alone(trained, tmp_path):
    """What the docs show: inputs `latent` and `label`, output `samples` in [-1, 1]."""
    import onnxruntime as ort

    model = ganx.load(trained("image-conditional"))
    path = export(model, "onnx", tmp_path / "g.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["latent", "label"]
    latent = np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32)
    (samples,) = session.run(None, {"latent": latent, "label": np.array([0, 1, 2])})
    assert samples.shape == (3, 1, 16, 16)
    assert samples.min() >= -1 and samples.max() <= 1
    expected = conditional_labels(model, 3)
    assert expected is not None and expected.tolist() == [0, 1, 2]
    z = seed_latents(model, 3, 0)
    assert z.shape == (3, 16)


def test_the_cli_exports_and_reports_parity(trained, tmp_path):
    out = tmp_path / "model.onnx"
    result = run_ganx("export", str(trained("image")), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.is_file() and result.stdout.strip() == str(out)
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("parity:")]
    diff = float(line.split("= ")[1].split()[0])
    assert diff <= TOLERANCE


def test_text_is_refused_in_one_line(trained, tmp_path):
    result = run_ganx("export", str(trained("text")), "--out", str(tmp_path / "t.onnx"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "autoregressive token sampling" in result.stderr


def test_specgan_to_onnx_is_refused_with_the_reason(trained, tmp_path):
    with pytest.raises(ConfigError, match=r"complex numbers.*Griffin-Lim.*torchscript"):
        export(ganx.load(trained("audio")), "onnx", tmp_path / "a.onnx")


def test_a_restoration_run_is_refused(trained, tmp_path):
    with pytest.raises(ConfigError, match=r"restoration run .task=denoise. has no latent"):
        export(ganx.load(trained("image-denoise")), "onnx", tmp_path / "r.onnx")


def test_an_export_that_does_not_reproduce_generate_is_refused_and_deleted(trained, tmp_path):
    """DDSP seeds its noise from a hash of each latent: a trace freezes the traced latents'
    noise, so the export is checked on new latents and refused."""
    model = ganx.load(trained("audio-ddsp"))
    for fmt in ("onnx", "torchscript"):
        out = tmp_path / f"d.{fmt}"
        with pytest.raises(ConfigError, match="would not reproduce generate on new latents"):
            export(model, fmt, out)
        assert not out.exists()
