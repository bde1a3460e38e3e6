"""Engine options any domain can use: the relativistic pairing loss with R1 + R2 (R3GAN), LeCam
regularisation, and their state kept through resume."""

from __future__ import annotations

import json

import pytest
import torch

import ganx
from ganx.core.checkpoint import load_checkpoint
from ganx.core.losses import RelativisticPairing, g_loss_over, lecam_penalty
from ganx_toy import plugin as toy_plugin

from ..conftest import SMALL, TOY_SMALL


def rows(run_dir):
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_relativistic_pairing_rates_each_fake_against_a_real():
    loss = RelativisticPairing()
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 0.0])
    expected_d = torch.nn.functional.softplus(-(real - fake)).mean()
    assert torch.allclose(loss.d_loss(real, fake), expected_d)
    assert torch.allclose(g_loss_over(loss, [fake], [real]),
                          torch.nn.functional.softplus(-(fake - real)).mean())
    with pytest.raises(ganx.ConfigError, match="pairs generated with real samples"):
        loss.g_loss(fake)


def test_lecam_pulls_outputs_toward_the_other_sides_average():
    averages = torch.zeros(2)
    real, fake = [torch.full((4,), 1.0)], [torch.full((4,), -1.0)]
    penalty = lecam_penalty(real, fake, averages, decay=0.5)
    assert averages.tolist() == [0.5, -0.5]  # moved halfway toward the batch means
    # ||D(x) - a_fake||^2 + ||D(G(z)) - a_real||^2 = 1.5^2 + 1.5^2
    assert penalty.item() == pytest.approx(4.5)


def test_r3gan_trains_with_r1_and_r2_and_resumes_exactly(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"))
    settings = {**TOY_SMALL, "loss": "rpgan", "r1_gamma": 0.1, "r2_gamma": 0.1,
                "r1_interval": 1, "lecam_weight": 0.1}
    ganx.train("toy", host=host, run_dir=str(tmp_path / "once"), settings=settings, **SMALL)
    ganx.train("toy", host=host, run_dir=str(tmp_path / "twice"), settings=settings,
               **{**SMALL, "steps": 10})
    ganx.train("toy", host=host, run_dir=str(tmp_path / "twice"), settings=settings,
               resume=True, **SMALL)
    logged = [r for r in rows(tmp_path / "once") if r["kind"] == "train"]
    assert all({"r1", "r2", "lecam"} <= r.keys() for r in logged)
    once = load_checkpoint(tmp_path / "once" / "checkpoints" / "step-00000020.pt")
    twice = load_checkpoint(tmp_path / "twice" / "checkpoints" / "step-00000020.pt")
    assert torch.equal(once["lecam"], twice["lecam"])
    for name, tensor in once["G"].items():
        assert torch.equal(tensor, twice["G"][name]), name


def test_lazy_r2_runs_in_the_regulariser_phase(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"))
    ganx.train("toy", host=host, run_dir=str(tmp_path / "run"),
               settings={**TOY_SMALL, "r1_gamma": 0.0, "r2_gamma": 1.0, "r1_interval": 5},
               **{**SMALL, "log_every": 5})
    logged = [r for r in rows(tmp_path / "run") if r["kind"] == "train"]
    assert all("r2" in r and "r1" not in r for r in logged)
