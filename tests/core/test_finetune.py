"""Fine-tuning: a new run starts from another run's G, D and G_ema (`init`), with fresh
optimizers and step 0, optionally with the discriminator's first layers frozen (FreezeD)."""

from __future__ import annotations

import pytest
import torch

import ganx
from ganx.core.checkpoint import load_checkpoint
from ganx_toy import plugin as toy_plugin

from ..conftest import SMALL, TOY_SMALL, run_ganx


@pytest.fixture
def source(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"))
    result = ganx.train("toy", host=host, run_dir=str(tmp_path / "source"), settings=TOY_SMALL,
                        **SMALL)
    return host, result


def test_init_starts_from_the_other_runs_weights_with_fresh_optimizers(source, tmp_path):
    host, first = source
    result = ganx.train("toy", host=host, run_dir=str(tmp_path / "tuned"), settings=TOY_SMALL,
                        init=str(first.run_dir), **{**SMALL, "steps": 5})
    start = load_checkpoint(tmp_path / "tuned" / "checkpoints" / "step-00000000.pt")
    origin = load_checkpoint(first.checkpoint)
    for net in ("G", "D", "G_ema"):
        for name, tensor in origin[net].items():
            assert torch.equal(start[net][name], tensor), (net, name)
    assert start["step"] == 0 and start["opt_g"]["state"] == {}  # fresh Adam
    assert result.step == 5


def test_freeze_d_keeps_the_first_layers_fixed(source, tmp_path):
    host, first = source
    ganx.train("toy", host=host, run_dir=str(tmp_path / "tuned"), settings=TOY_SMALL,
               init=str(first.checkpoint), freeze_d=1, **{**SMALL, "steps": 5})
    before = load_checkpoint(tmp_path / "tuned" / "checkpoints" / "step-00000000.pt")["D"]
    after = load_checkpoint(tmp_path / "tuned" / "checkpoints" / "step-00000005.pt")["D"]
    assert torch.equal(before["net.0.weight"], after["net.0.weight"])  # layer 1: frozen
    assert not torch.equal(before["net.2.weight"], after["net.2.weight"])  # layer 2: trained


def test_init_with_another_architecture_is_one_line(source, tmp_path):
    _, first = source
    result = run_ganx("train", "--plugin", "toy", "--init", str(first.run_dir), "--set",
                      "n_points=256", "--set", "hidden=8", "--set", "depth=2", "--steps", "2",
                      "--device", "cpu", "--run-dir", str(tmp_path / "wide"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("ganx: error:")]
    assert "parameter 'net.0.weight' is (16, 4) there and (8, 4) here" in line


@pytest.mark.parametrize(("args", "message"), [
    (["--init", "nowhere"], "init nowhere: does not exist"),
    (["--set", "freeze_d=9"], "freeze_d 9: this discriminator has"),
])
def test_bad_init_and_freeze_values_are_one_line(tmp_path, args, message):
    result = run_ganx("train", "--plugin", "toy", *args, "--set", "n_points=256", "--set",
                      "hidden=8", "--set", "depth=2", "--steps", "2", "--device", "cpu",
                      "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
