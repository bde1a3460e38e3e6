"""`compile=true`: torch.compile the networks, and fall back to eager cleanly when it fails."""

from __future__ import annotations

import pytest
import torch

import ganx
from ganx.core.checkpoint import load_checkpoint
from ganx_toy import plugin as toy_plugin

from ..conftest import SMALL, TOY_SMALL


class Uncompilable(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, *args):
        raise RuntimeError("simulated inductor failure")


def test_a_failing_compile_falls_back_to_eager_exactly(host_with, tmp_path, monkeypatch,
                                                        caplog):
    host = host_with((toy_plugin, "toy"))
    eager = ganx.train("toy", host=host, run_dir=str(tmp_path / "eager"), settings=TOY_SMALL,
                       **SMALL)
    monkeypatch.setattr(torch, "compile", lambda module, **kw: Uncompilable(module))
    fallback = ganx.train("toy", host=host, run_dir=str(tmp_path / "fallback"),
                          settings=TOY_SMALL, compile=True, **SMALL)
    assert "torch.compile failed (RuntimeError: simulated inductor failure)" in caplog.text
    a, b = load_checkpoint(eager.checkpoint), load_checkpoint(fallback.checkpoint)
    for key in ("G", "D"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name}"


@pytest.mark.slow
def test_compile_trains_on_cpu(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"))
    result = ganx.train("toy", host=host, run_dir=str(tmp_path / "run"), settings=TOY_SMALL,
                        compile=True, **SMALL)
    assert result.step == SMALL["steps"]
